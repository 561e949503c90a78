import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createSessionId, createToken } from '@tether/auth';
import { startServer, type TetherServer } from '@tether/server';
import { FaultProxy } from '@tether/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchDevice, requireChromium, type Device } from './browser.js';
import { MediaCut, TRACK_PEERS, mediaPorts } from './media-cut.js';
import { AppServer, OTPage, appHtml } from './opentok-page.js';

const demoDir = fileURLToPath(new URL('../apps/demo', import.meta.url));
const sdkDir = fileURLToPath(new URL('../packages/client/dist/browser', import.meta.url));
const opentokDir = fileURLToPath(new URL('../packages/opentok/dist/browser', import.meta.url));

/** Short, so that a cut outlasts it while staying well inside the session's 30 s reconnect window. */
const MEDIA_WINDOW_MS = 3000;

/**
 * The same OpenTok pages as opentok.e2e.test.ts, with a network cut longer than the media window
 * (but not the session's): the connection survives, media is given up on and made again. What
 * an OpenTok app sees of that is OpenTok's own vocabulary — the old stream destroyed, a new one
 * created, subscribed to by the app's own streamCreated handler — and nobody leaves.
 */
describe('an OpenTok app when media outlasts its window', () => {
  let server: TetherServer;
  let proxy: FaultProxy;
  let app: AppServer;
  let dataDir: string;
  let aliceDevice: Device;
  let bobDevice: Device;
  let alice: OTPage;
  let bob: OTPage;
  const media = new MediaCut();
  const pageErrors: string[] = [];

  beforeAll(async () => {
    requireChromium();
    MediaCut.check();
    if (!existsSync(join(opentokDir, 'opentok.js')))
      throw new Error(`${opentokDir}/opentok.js is missing: run \`npm run build\` first (npm test does)`);
    dataDir = mkdtempSync(join(tmpdir(), 'tether-e2e-otmedia-'));
    server = await startServer({
      port: 0,
      host: '127.0.0.1',
      dataDir,
      logLevel: 'silent',
      transport: { mediaWindowMs: MEDIA_WINDOW_MS },
      demo: { dir: demoDir, sdkDir, opentokDir },
    });
    proxy = await FaultProxy.start({ target: { host: '127.0.0.1', port: server.port } });
    app = await AppServer.start();
    const project = server.devProject!;
    const sessionId = createSessionId({ ...project, mediaMode: 'routed' });
    const config = async (name: string) => ({
      apiKey: project.apiKey,
      sessionId,
      name,
      token: await createToken({ ...project, sessionId, role: 'publisher', data: name }),
    });
    const aliceUrl = app.page(
      '/alice.html',
      appHtml(`http://127.0.0.1:${proxy.port}/sdk/opentok.js`, await config('Alice')),
    );
    const bobUrl = app.page('/bob.html', appHtml(`${server.url}/sdk/opentok.js`, await config('Bob')));
    [aliceDevice, bobDevice] = await Promise.all([
      launchDevice({ viewport: { width: 800, height: 600 }, initScript: TRACK_PEERS }),
      launchDevice({ viewport: { width: 800, height: 600 } }),
    ]);
    alice = new OTPage(aliceDevice.page, 'Alice');
    bob = new OTPage(bobDevice.page, 'Bob');
    for (const p of [alice, bob])
      p.page.on('pageerror', (err) => pageErrors.push(`${p.name}: ${err.message}`));
    await alice.page.goto(aliceUrl);
    await bob.page.goto(bobUrl);
    for (const p of [alice, bob]) {
      await p.sees('publisherReady');
      await p.page.evaluate(() => (window as unknown as { join(): void }).join());
    }
    for (const [me, other] of [
      [alice, bob],
      [bob, alice],
    ] as const) {
      await me.sees('subscribed', { name: other.name }, 1, 30_000);
      await me.videoPlays('#subscribers .OT_subscriber', 30_000);
    }
  }, 90_000);

  afterAll(async () => {
    media.restore();
    await Promise.all([aliceDevice?.close(), bobDevice?.close()]);
    await proxy?.close();
    await app?.close();
    await server?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('Alice’s stream is destroyed and published anew, Bob’s page subscribes to the new one and plays it; nobody leaves', async () => {
    media.cut(await mediaPorts(alice.page));
    proxy.blackhole();
    await aliceDevice.context.setOffline(true);
    await alice.sees('sessionReconnecting');
    await alice.sees('subscriberDisconnected', { name: 'Bob' });
    // Past the media window, then the network returns.
    await new Promise((r) => setTimeout(r, MEDIA_WINDOW_MS + 3000));
    media.restore();
    proxy.restore();
    await aliceDevice.context.setOffline(false);

    await alice.sees('sessionReconnected', {}, 1, 30_000);
    await alice.sees('unpublished', { name: 'Alice', reason: 'networkDisconnected' }, 1, 30_000);
    await alice.sees('published', { name: 'Alice' }, 2, 30_000);
    await bob.sees('streamDestroyed', { name: 'Alice', reason: 'networkDisconnected' }, 1, 30_000);
    await bob.sees('subscribed', { name: 'Alice' }, 2, 30_000);
    await bob.videoPlays('#subscribers .OT_subscriber', 30_000);
    // Alice's own subscriber gave up on Bob's stream and subscribed again: connected once more.
    await alice.sees('subscriberConnected', { name: 'Bob' }, 1, 30_000);
    await alice.videoPlays('#subscribers .OT_subscriber', 30_000);

    // One widget per stream on each page; the old one went with its stream.
    expect(await bob.widgets('#subscribers > .OT_subscriber')).toHaveLength(1);
    expect(await alice.widgets('#subscribers > .OT_subscriber')).toHaveLength(1);
    // Alice's preview stayed on her page throughout.
    expect(await alice.widgets('#publisher > .OT_publisher')).toHaveLength(1);
    for (const p of [alice, bob]) {
      const seen = (await p.log()).map((e) => e.what);
      expect(seen).not.toContain('connectionDestroyed');
      expect(seen).not.toContain('sessionDisconnected');
      expect(seen.filter((w) => w === 'sessionConnected')).toHaveLength(1);
    }
    expect(pageErrors).toEqual([]);
  }, 90_000);
});
