import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, type TetherServer } from '@tether/server';
import { FaultProxy } from '@tether/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { launchDevice, requireChromium, type Device } from './browser.js';
import { ARTIFACTS, DemoPage, eventually } from './demo-page.js';
import { MediaCut, TRACK_PEERS, mediaPorts } from './media-cut.js';

const demoDir = fileURLToPath(new URL('../apps/demo', import.meta.url));
const sdkDir = fileURLToPath(new URL('../packages/client/dist/browser', import.meta.url));

const SESSION = 'e2e-standup';

/**
 * The demo page in two real Chromiums (Debian's, fake camera and microphone) against a real
 * server on the development project. Alice reaches the server through a fault proxy and her
 * media through UDP ports the test can drop, so her whole network can be cut: signalling
 * (proxy blackhole), the browser's own view (offline) and media (nftables).
 */
describe('demo page in Chromium', () => {
  let server: TetherServer;
  let proxy: FaultProxy;
  let dataDir: string;
  let aliceDevice: Device;
  let bobDevice: Device;
  let alice: DemoPage;
  let bob: DemoPage;
  const media = new MediaCut();
  const pageErrors: string[] = [];
  const consoleLog: string[] = [];

  beforeAll(async () => {
    requireChromium();
    MediaCut.check();
    for (const file of [join(demoDir, 'dist', 'app.js'), join(sdkDir, 'tether.js')])
      if (!existsSync(file))
        throw new Error(`${file} is missing: run \`npm run build\` first (npm test does)`);
    dataDir = mkdtempSync(join(tmpdir(), 'tether-e2e-data-'));
    server = await startServer({
      port: 0,
      host: '127.0.0.1',
      dataDir,
      logLevel: 'silent',
      demo: { dir: demoDir, sdkDir },
    });
    proxy = await FaultProxy.start({ target: { host: '127.0.0.1', port: server.port } });
    [aliceDevice, bobDevice] = await Promise.all([
      launchDevice({ viewport: { width: 1280, height: 800 }, initScript: TRACK_PEERS }),
      launchDevice({ viewport: { width: 390, height: 844 } }), // a phone
    ]);
    alice = new DemoPage(aliceDevice.page, 'Alice');
    bob = new DemoPage(bobDevice.page, 'Bob');
    for (const p of [alice, bob]) {
      p.page.on('pageerror', (err) => pageErrors.push(`${p.name}: ${err.message}`));
      p.page.on('console', (msg) =>
        consoleLog.push(`${new Date().toISOString()} ${p.name} ${msg.type()}: ${msg.text()}`),
      );
    }
    await alice.open(`http://127.0.0.1:${proxy.port}/?session=${SESSION}`);
    await bob.open(`${server.url}/?session=${SESSION}`);
  }, 60_000);

  afterEach(async (ctx) => {
    if (ctx.task.result?.state !== 'fail') return;
    const step = `failed-${ctx.task.name.slice(0, 24).replace(/\W+/g, '-')}`;
    await Promise.all([alice?.screenshot(step), bob?.screenshot(step)].map((p) => p?.catch(() => undefined)));
  });

  afterAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    writeFileSync(join(ARTIFACTS, 'console.log'), consoleLog.join('\n') + '\n');
    media.restore();
    await Promise.all([aliceDevice?.close(), bobDevice?.close()]);
    await proxy?.close();
    await server?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('the ESM build loads in the browser with the same exports as the script-tag build', async () => {
    // A string, so vitest's transform does not rewrite the page's dynamic import.
    const { esm, script } = (await bob.page.evaluate(
      `import('/sdk/tether.esm.js').then((m) => ({ esm: Object.keys(m).sort(), script: Object.keys(window.Tether).sort() }))`,
    )) as { esm: string[]; script: string[] };
    expect(esm).toEqual(script);
    expect(script).toEqual(
      expect.arrayContaining(['Session', 'Publisher', 'Subscriber', 'TetherError', 'REASONS']),
    );
  });

  it('two pages join the same session and each sees the other’s video playing (decoded frames)', async () => {
    await alice.screenshot('00-join');
    await bob.screenshot('00-join');
    await alice.join(SESSION);
    await bob.join(SESSION);
    for (const [me, other] of [
      [alice, bob],
      [bob, alice],
    ] as const) {
      await eventually(
        `${me.name} to list ${other.name} as connected`,
        async () => (await me.participants())[other.name] === 'connected',
      );
      await me.videoPlays(other.name);
    }
    const seen = await alice.video('Bob');
    expect(seen.width).toBeGreaterThan(0);
    expect(seen.framesAfter).toBeGreaterThan(seen.framesBefore);
    await alice.screenshot('01-joined');
    await bob.screenshot('01-joined');
  }, 90_000);

  it('chat goes both ways, each message shown once', async () => {
    await alice.say('Hi Bob, can you see me?');
    await bob.say('Loud and clear, Alice.');
    for (const p of [alice, bob])
      await eventually(`${p.name} to show both messages`, async () => {
        const texts = (await p.messages()).map((m) => m.text);
        return texts.includes('Hi Bob, can you see me?') && texts.includes('Loud and clear, Alice.');
      });
    expect((await alice.messages()).map((m) => [m.from, m.text])).toEqual([
      ['You', 'Hi Bob, can you see me?'],
      ['Bob', 'Loud and clear, Alice.'],
    ]);
    expect((await bob.messages()).map((m) => [m.from, m.text])).toEqual([
      ['Alice', 'Hi Bob, can you see me?'],
      ['You', 'Loud and clear, Alice.'],
    ]);
    await eventually(
      'Alice’s message to be confirmed sent',
      async () => (await alice.messages())[0]?.status === 'sent',
    );
    await alice.screenshot('02-chat');
    await bob.screenshot('02-chat');
  }, 30_000);

  it('when Alice’s network is cut, her banner says reconnecting and Bob sees her reconnecting, her video overlaid', async () => {
    const ports = await mediaPorts(alice.page);
    media.cut(ports);
    proxy.blackhole();
    await aliceDevice.context.setOffline(true);

    await eventually('Alice’s banner to say reconnecting', async () => {
      const b = await alice.banner();
      return b?.kind === 'reconnecting' && /Reconnecting/.test(b.text);
    });
    expect(await alice.state()).toBe('reconnecting');
    // Sent while cut off: queued by Alice's SDK, delivered to the cut-off Alice by the server later.
    await alice.say('sent by Alice while offline 1');
    await bob.say('sent by Bob while Alice is away 1');
    await alice.say('sent by Alice while offline 2');
    await bob.say('sent by Bob while Alice is away 2');
    await eventually('Alice’s messages to show as queued', async () =>
      (await alice.messages())
        .filter((m) => m.text.startsWith('sent by Alice while offline'))
        .every((m) => m.status === 'queued'),
    );

    await eventually(
      'Bob to show Alice as reconnecting',
      async () => (await bob.participants()).Alice === 'reconnecting',
    );
    await eventually('Bob’s tile of Alice to show the reconnecting overlay', () => bob.videoDropped('Alice'));
    await eventually('Alice’s tile of Bob to show the reconnecting overlay', () => alice.videoDropped('Bob'));
    expect((await bob.participants()).Bob).toBe('connected');
    await alice.screenshot('03-cut');
    await bob.screenshot('03-cut');
  }, 60_000);

  it('when the network returns both recover: messages sent during the cut arrive exactly once, in order, and video plays again', async () => {
    media.restore();
    proxy.restore();
    await aliceDevice.context.setOffline(false);

    await eventually(
      'Alice’s banner to say reconnected',
      async () => (await alice.banner())?.kind === 'reconnected',
    );
    expect((await alice.banner())?.text).toMatch(
      /Reconnected after \d+\.\d s — same connection, nothing lost/,
    );
    await eventually(
      'Bob to show Alice as connected again',
      async () => (await bob.participants()).Alice === 'connected',
    );
    await alice.screenshot('04-reconnected');
    await bob.screenshot('04-reconnected');

    const duringCut = [
      'sent by Alice while offline 1',
      'sent by Alice while offline 2',
      'sent by Bob while Alice is away 1',
      'sent by Bob while Alice is away 2',
    ];
    for (const p of [alice, bob])
      await eventually(`${p.name} to show every message sent during the cut`, async () => {
        const texts = (await p.messages()).map((m) => m.text);
        return duringCut.every((t) => texts.includes(t));
      });
    await eventually('Alice’s queued messages to be confirmed sent', async () =>
      (await alice.messages()).filter((m) => m.mine).every((m) => m.status === 'sent'),
    );

    for (const p of [alice, bob]) {
      await p.videoPlays(p === alice ? 'Bob' : 'Alice', 30_000);
      expect(await p.videoDropped(p === alice ? 'Bob' : 'Alice')).toBe(false);
    }
    // Let late duplicates, if any, arrive before counting.
    await new Promise((r) => setTimeout(r, 1000));
    for (const p of [alice, bob]) {
      const texts = (await p.messages()).map((m) => m.text);
      for (const t of [...duringCut, 'Hi Bob, can you see me?', 'Loud and clear, Alice.'])
        expect(
          texts.filter((x) => x === t),
          `${p.name} shows "${t}" exactly once`,
        ).toHaveLength(1);
      // Per sender, in the order sent.
      for (const who of ['Alice', 'Bob']) {
        const mine = texts.filter((t) => t.startsWith(`sent by ${who}`));
        expect(mine).toEqual(duringCut.filter((t) => t.startsWith(`sent by ${who}`)));
      }
    }
    expect(await alice.state()).toBe('connected');
    expect(await bob.participants()).toEqual({ Alice: 'connected', Bob: 'connected' });
    const meter = await alice.meter();
    expect(meter.drops).toBe(1);
    expect(meter.awaySeconds).toBeGreaterThan(0);
    await alice.screenshot('05-recovered');
    await bob.screenshot('05-recovered');
    expect(pageErrors).toEqual([]);
  }, 90_000);

  it('when Bob leaves, Alice sees him go and his video removed, and Bob is back at the join form', async () => {
    await bob.page.click('[data-testid=leave]');
    await eventually('Bob to be back at the join form', () => bob.page.isVisible('#join-form'));
    await eventually(
      'Alice to list only herself',
      async () => Object.keys(await alice.participants()).join() === 'Alice',
    );
    await eventually(
      'Bob’s tile to be gone',
      async () => (await alice.page.$$('[data-testid=tile]:not([data-self])')).length === 0,
    );
    expect((await alice.page.textContent('[data-testid=chat-log]')) ?? '').toContain('Bob left.');
    await alice.screenshot('06-left');
    expect(pageErrors).toEqual([]);
  }, 30_000);
});
