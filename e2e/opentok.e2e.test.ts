import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createSessionId, createToken } from '@tether/auth';
import { startServer, type TetherServer } from '@tether/server';
import { FaultProxy } from '@tether/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { launchDevice, requireChromium, type Device } from './browser.js';
import { ARTIFACTS } from './demo-page.js';
import { MediaCut, TRACK_PEERS, mediaPorts } from './media-cut.js';
import { AppServer, OTPage, appHtml } from './opentok-page.js';

const demoDir = fileURLToPath(new URL('../apps/demo', import.meta.url));
const sdkDir = fileURLToPath(new URL('../packages/client/dist/browser', import.meta.url));
const opentokDir = fileURLToPath(new URL('../packages/opentok/dist/browser', import.meta.url));

/**
 * Two OpenTok application pages (plain `OT` calls, OpenTok's script tag pointed at Tether) in two
 * real Chromiums with fake cameras, served from the application's own origin and loading
 * /sdk/opentok.js cross-origin. Alice reaches Tether through a fault proxy and her media through
 * UDP ports the test can drop, so her whole network can be cut: signalling (proxy blackhole),
 * the browser's own view (offline) and media (nftables).
 */
describe('an OpenTok app on /sdk/opentok.js in Chromium', () => {
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
  const consoleLog: string[] = [];

  beforeAll(async () => {
    requireChromium();
    MediaCut.check();
    if (!existsSync(join(opentokDir, 'opentok.js')))
      throw new Error(`${opentokDir}/opentok.js is missing: run \`npm run build\` first (npm test does)`);
    dataDir = mkdtempSync(join(tmpdir(), 'tether-e2e-ot-'));
    server = await startServer({
      port: 0,
      host: '127.0.0.1',
      dataDir,
      logLevel: 'silent',
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
      token: await createToken({ ...project, sessionId, role: 'moderator', data: name }),
    });
    // Alice's script (so her WebSocket) comes through the proxy; Bob's straight from the server.
    const aliceUrl = app.page(
      '/alice.html',
      appHtml(`http://127.0.0.1:${proxy.port}/sdk/opentok.js`, await config('Alice')),
    );
    const bobUrl = app.page('/bob.html', appHtml(`${server.url}/sdk/opentok.js`, await config('Bob')));
    [aliceDevice, bobDevice] = await Promise.all([
      launchDevice({ viewport: { width: 1000, height: 700 }, initScript: TRACK_PEERS }),
      launchDevice({ viewport: { width: 1000, height: 700 } }),
    ]);
    alice = new OTPage(aliceDevice.page, 'Alice');
    bob = new OTPage(bobDevice.page, 'Bob');
    for (const p of [alice, bob]) {
      p.page.on('pageerror', (err) => pageErrors.push(`${p.name}: ${err.message}`));
      p.page.on('console', (msg) =>
        consoleLog.push(`${new Date().toISOString()} ${p.name} ${msg.type()}: ${msg.text()}`),
      );
    }
    await alice.page.goto(aliceUrl);
    await bob.page.goto(bobUrl);
  }, 60_000);

  afterEach(async (ctx) => {
    if (ctx.task.result?.state !== 'fail') return;
    const step = `ot-failed-${ctx.task.name.slice(0, 24).replace(/\W+/g, '-')}`;
    await Promise.all([shot(alice, step), shot(bob, step)].map((p) => p.catch(() => undefined)));
  });

  afterAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    writeFileSync(join(ARTIFACTS, 'opentok-console.log'), consoleLog.join('\n') + '\n');
    media.restore();
    await Promise.all([aliceDevice?.close(), bobDevice?.close()]);
    await proxy?.close();
    await app?.close();
    await server?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  async function shot(p: OTPage | undefined, step: string): Promise<void> {
    if (!p) return;
    mkdirSync(ARTIFACTS, { recursive: true });
    await p.page.screenshot({ path: `${ARTIFACTS}${step}-${p.name.toLowerCase()}.png`, fullPage: true });
  }

  it('loads cross-origin as a global OT and shows the camera preview in an OT_publisher widget before connecting', async () => {
    const origin = await bob.page.evaluate(() => location.origin);
    expect(origin).toBe(app.origin);
    expect(origin).not.toBe(server.url);
    const env = await bob.page.evaluate(async () => {
      const OT = (window as unknown as { OT: any }).OT;
      const devices: { kind: string }[] = await OT.getDevices();
      return {
        type: typeof OT.initSession,
        requirements: OT.checkSystemRequirements(),
        kinds: [...new Set(devices.map((d) => d.kind))].sort(),
      };
    });
    expect(env).toEqual({ type: 'function', requirements: 1, kinds: ['audioInput', 'videoInput'] });
    for (const p of [alice, bob]) {
      await p.sees('publisherReady');
      await p.videoPlays('#publisher .OT_publisher');
      const [widget] = await p.widgets('#publisher > .OT_publisher');
      expect(widget).toMatchObject({ width: 320, height: 240, videoClass: 'OT_video-element', name: p.name });
      expect(widget!.classes).not.toContain('OT_loading');
      expect(widget!.classes).toContain('OT_publisher');
      expect(await p.page.$$('.OT_archiving.OT_archiving-off')).toHaveLength(1);
      expect((await p.log()).map((e) => e.what)).toEqual([
        'accessAllowed',
        'publisherVideoElementCreated',
        'publisherReady',
      ]);
    }
    await shot(bob, 'ot-00-preview');
  }, 30_000);

  it('two pages connect, each gets connectionCreated for both (its own too), and sees the other’s video in an OT_subscriber widget', async () => {
    await alice.page.evaluate(() => (window as unknown as { join(): void }).join());
    await alice.sees('published', { name: 'Alice' });
    await bob.page.evaluate(() => (window as unknown as { join(): void }).join());
    for (const [me, other] of [
      [alice, bob],
      [bob, alice],
    ] as const) {
      await me.sees('subscribed', { name: other.name });
      await me.videoPlays('#subscribers .OT_subscriber');
      const [widget] = await me.widgets('#subscribers > .OT_subscriber');
      expect(widget).toMatchObject({
        width: 320,
        height: 240,
        videoClass: 'OT_video-element',
        name: other.name,
      });
      expect(widget!.classes).not.toContain('OT_loading');
      await me.sees('connectionCreated', { data: other.name, mine: false });
      expect(await me.entries('connectionCreated')).toEqual([
        { what: 'connectionCreated', data: me.name, mine: true },
        { what: 'connectionCreated', data: other.name, mine: false },
      ]);
      expect(await me.entries('subscriberVideoElementCreated')).toEqual([
        { what: 'subscriberVideoElementCreated', name: other.name },
      ]);
      expect(await me.entries('sessionConnected')).toEqual([
        { what: 'sessionConnected', type: 'sessionConnected', targetIsSession: true },
      ]);
      expect(await me.entries('connected')).toEqual([{ what: 'connected', publish: 1 }]);
      // Others' streams only: one's own is the Publisher's streamCreated.
      expect(await me.entries('streamCreated')).toEqual([
        { what: 'streamCreated', name: other.name, hasVideo: true },
      ]);
    }
    await shot(alice, 'ot-01-joined');
    await shot(bob, 'ot-01-joined');
  }, 60_000);

  it('signals go both ways and reach their sender too, with event.from === session.connection', async () => {
    expect(await alice.sendChat('Hi Bob')).toBeNull();
    expect(await bob.sendChat('Hi Alice')).toBeNull();
    for (const p of [alice, bob]) {
      await p.sees('chat', {}, 2);
      expect(await p.entries('chat')).toEqual([
        { what: 'chat', type: 'signal:chat', data: 'Hi Bob', from: 'Alice', mine: p === alice },
        { what: 'chat', type: 'signal:chat', data: 'Hi Alice', from: 'Bob', mine: p === bob },
      ]);
    }
  }, 30_000);

  it('when Alice’s network is cut: sessionReconnecting, retryAfterReconnect: false refused, subscribers disconnected on both sides, Bob sees no one leave', async () => {
    media.cut(await mediaPorts(alice.page));
    proxy.blackhole();
    await aliceDevice.context.setOffline(true);

    await alice.sees('sessionReconnecting');
    expect(await alice.sendChat('not queued', false)).toEqual({ name: 'OT_NOT_CONNECTED', code: 500 });
    await alice.sendChatLater('queued by Alice 1');
    await alice.sendChatLater('queued by Alice 2');
    expect(await bob.sendChat('sent by Bob while Alice is away')).toBeNull();

    await bob.sees('subscriberDisconnected', { name: 'Alice' });
    await alice.sees('subscriberDisconnected', { name: 'Bob' });
    const bobSaw = (await bob.log()).map((e) => e.what);
    expect(bobSaw).not.toContain('connectionDestroyed');
    expect(bobSaw).not.toContain('streamDestroyed');
    expect(bobSaw).not.toContain('subscriberDestroyed');
    await shot(alice, 'ot-02-cut');
    await shot(bob, 'ot-02-cut');
  }, 60_000);

  it('when the network returns: sessionReconnected, queued signals delivered once in order, subscribers connected and playing again', async () => {
    media.restore();
    proxy.restore();
    await aliceDevice.context.setOffline(false);

    await alice.sees('sessionReconnected', {}, 1, 30_000);
    expect(await alice.pendingChats()).toEqual([null, null]);
    await bob.sees('subscriberConnected', { name: 'Alice' }, 1, 30_000);
    await alice.sees('subscriberConnected', { name: 'Bob' }, 1, 30_000);
    await alice.videoPlays('#subscribers .OT_subscriber', 30_000);
    await bob.videoPlays('#subscribers .OT_subscriber', 30_000);

    const expected = [
      'Hi Bob',
      'Hi Alice',
      'queued by Alice 1',
      'queued by Alice 2',
      'sent by Bob while Alice is away',
    ];
    for (const p of [alice, bob]) {
      await p.sees('chat', {}, expected.length);
      const texts = (await p.entries('chat')).map((e) => e.data as string);
      expect([...texts].sort()).toEqual([...expected].sort());
      // Alice's own, in the order sent.
      expect(texts.filter((t) => t.startsWith('queued'))).toEqual(['queued by Alice 1', 'queued by Alice 2']);
      expect(texts).not.toContain('not queued');
    }
    // Nobody left, nobody re-joined: the same connection, the same streams.
    for (const p of [alice, bob]) {
      const seen = (await p.log()).map((e) => e.what);
      expect(seen.filter((w) => w === 'sessionConnected')).toHaveLength(1);
      expect(seen).not.toContain('connectionDestroyed');
      expect(seen).not.toContain('streamDestroyed');
      expect(seen.filter((w) => w === 'streamCreated')).toHaveLength(1);
    }
    expect(await bob.entries('sessionReconnecting')).toEqual([]);
    await shot(alice, 'ot-03-recovered');
    await shot(bob, 'ot-03-recovered');
  }, 90_000);

  it('when Bob leaves: he gets sessionDisconnected, Alice streamDestroyed and connectionDestroyed (clientDisconnected) and his widget goes', async () => {
    await bob.page.evaluate(() => (window as unknown as { leave(): void }).leave());
    await bob.sees('sessionDisconnected', { reason: 'clientDisconnected' });
    await alice.sees('streamDestroyed', { name: 'Bob', reason: 'clientDisconnected' });
    await alice.sees('connectionDestroyed', { data: 'Bob', reason: 'clientDisconnected' });
    await alice.sees('subscriberDestroyed', { name: 'Bob' });
    expect(await alice.widgets('#subscribers > .OT_subscriber')).toEqual([]);
    expect(await bob.widgets('#subscribers > .OT_subscriber')).toEqual([]);
    expect((await alice.log()).filter((e) => e.what === 'error' || e.what === 'exception')).toEqual([]);
    expect(pageErrors).toEqual([]);
  }, 30_000);
});
