import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, type TetherServer } from '@tether/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchDevice, requireChromium, type Device } from './browser.js';
import { DemoPage, eventually } from './demo-page.js';

const demoDir = fileURLToPath(new URL('../apps/demo', import.meta.url));
const sdkDir = fileURLToPath(new URL('../packages/client/dist/browser', import.meta.url));
const SESSION = 'e2e-reload';

/** What Bob's SDK told him about other connections, in order. */
const WATCH = `(() => {
  window.__seen = [];
  const s = window.tetherDemo.session;
  for (const name of ['connectionCreated', 'connectionDestroyed', 'connectionReconnecting', 'connectionReconnected'])
    s.on(name, (e) => window.__seen.push(name + ':' + e.connection.data));
})()`;

describe('a page reload resumes the connection (recovery key in sessionStorage)', () => {
  let server: TetherServer;
  let dataDir: string;
  let devices: Device[] = [];
  let alice: DemoPage;
  let bob: DemoPage;

  beforeAll(async () => {
    requireChromium();
    dataDir = mkdtempSync(join(tmpdir(), 'tether-e2e-reload-'));
    server = await startServer({
      port: 0,
      host: '127.0.0.1',
      dataDir,
      logLevel: 'silent',
      demo: { dir: demoDir, sdkDir },
    });
    devices = await Promise.all([
      launchDevice({ viewport: { width: 1024, height: 768 } }),
      launchDevice({ viewport: { width: 390, height: 844 } }),
    ]);
    alice = new DemoPage(devices[0]!.page, 'Alice');
    bob = new DemoPage(devices[1]!.page, 'Bob');
    for (const p of [alice, bob]) {
      await p.open(`${server.url}/?session=${SESSION}`);
      await p.page.uncheck('#join-media'); // signalling only: this test is about the connection
      await p.join(SESSION);
    }
    await bob.page.evaluate(WATCH);
  }, 60_000);

  afterAll(async () => {
    await Promise.all(devices.map((d) => d.close()));
    await server?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('Alice reloads mid-conversation: same connection, nothing lost or doubled, Bob sees only an interruption', async () => {
    const connectionId = () =>
      alice.page.evaluate(() => window.tetherDemo?.session.connection?.connectionId ?? null);
    const before = await connectionId();
    expect(before).toBeTruthy();
    await alice.say('one');
    await eventually('Bob to show Alice’s first message', async () =>
      (await bob.messages()).some((m) => m.text === 'one'),
    );

    // Her last message goes out as the page reloads; Bob keeps talking while she is away.
    await alice.say('sent as I reload');
    await Promise.all([
      alice.page.reload(),
      (async () => {
        for (const text of ['while you reload 1', 'while you reload 2', 'while you reload 3'])
          await bob.say(text);
      })(),
    ]);

    await eventually('Alice to be connected again', async () => (await alice.state()) === 'connected');
    expect(await connectionId()).toBe(before);
    await eventually('Alice to show Bob’s messages', async () =>
      (await alice.messages()).some((m) => m.text === 'while you reload 3'),
    );
    await eventually('Bob to show Alice’s last message', async () =>
      (await bob.messages()).some((m) => m.text === 'sent as I reload'),
    );
    await bob.say('welcome back');
    await eventually('Alice to show the message after her return', async () =>
      (await alice.messages()).some((m) => m.text === 'welcome back'),
    );

    const aliceTexts = (await alice.messages()).filter((m) => m.from === 'Bob').map((m) => m.text);
    // What the old page had not shown arrives once, in order; nothing it showed comes back.
    expect(aliceTexts.filter((t) => t.startsWith('while you reload'))).toEqual([
      'while you reload 1',
      'while you reload 2',
      'while you reload 3',
    ]);
    expect(aliceTexts.at(-1)).toBe('welcome back');
    const bobTexts = (await bob.messages()).map((m) => m.text);
    expect(bobTexts.filter((t) => t === 'sent as I reload')).toHaveLength(1);
    expect(bobTexts.filter((t) => t === 'one')).toHaveLength(1);

    const seen = (await bob.page.evaluate('window.__seen')) as string[];
    expect(seen).toContain('connectionReconnecting:Alice');
    expect(seen.at(-1)).toBe('connectionReconnected:Alice');
    expect(
      seen.filter((e) => e.startsWith('connectionDestroyed') || e.startsWith('connectionCreated')),
    ).toEqual([]);
    await eventually('Bob to list Alice once, connected', async () => {
      const people = await bob.participants();
      return people.Alice === 'connected' && Object.keys(people).length === 2;
    });
  }, 60_000);
});
