/**
 * Routed media leaves nothing behind on any exit path: after each, the SFU holds no ingest and
 * no egress, the room no subscription, and this process — which runs the server and nothing
 * else: every client is a testkit agent in its own process — is back to the UDP sockets and
 * timers it had before any media. Clients are checked too: an agent that unpublished or
 * unsubscribed is back to its own UDP sockets.
 *
 * Needs a build (agents run the built SDK; `npm test` builds) and, for the one path that cuts a
 * client's network, root with `ip` and `nft`.
 */
import { promisify } from 'node:util';
import timers from 'node:timers';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  Agent,
  destroyAllNetns,
  Netns,
  netnsUnavailable,
  startTestServer,
  udpSocketCount,
  waitFor,
  type TestServer,
} from '@tether/testkit';
import type { Room } from '../src/room.js';
import type { Sfu } from '../src/media/sfu.js';

// ---------------------------------------------------------------- every timer of this process

/** Timers set and not yet fired or cleared, unref'd ones included (getActiveResourcesInfo skips those). */
const liveTimers = new Set<unknown>();
{
  const g = globalThis as Record<string, any>;
  const original = {
    setTimeout: g.setTimeout,
    setInterval: g.setInterval,
    clearTimeout: g.clearTimeout,
    clearInterval: g.clearInterval,
  };
  const setTimeoutTracked = function (
    this: unknown,
    fn: (...a: unknown[]) => void,
    ms?: number,
    ...args: unknown[]
  ) {
    const handle = original.setTimeout.call(
      this,
      function (this: unknown, ...a: unknown[]) {
        liveTimers.delete(handle);
        return typeof fn === 'function' ? fn.apply(this, a) : undefined;
      },
      ms,
      ...args,
    );
    liveTimers.add(handle);
    return handle;
  };
  (setTimeoutTracked as any)[promisify.custom] = original.setTimeout[promisify.custom];
  const setIntervalTracked = function (this: unknown, ...a: unknown[]) {
    const handle = original.setInterval.apply(this, a);
    liveTimers.add(handle);
    return handle;
  };
  const clearTracked = (clear: (h: unknown) => void) =>
    function (this: unknown, handle: unknown) {
      liveTimers.delete(handle);
      return clear.call(this, handle);
    };
  const patched = {
    setTimeout: setTimeoutTracked,
    setInterval: setIntervalTracked,
    clearTimeout: clearTracked(original.clearTimeout),
    clearInterval: clearTracked(original.clearInterval),
  };
  Object.assign(g, patched);
  Object.assign(timers, patched);
}

/** What this process holds: UDP sockets (all of them, from /proc), timers (all), ref'd timers. */
function resources() {
  const info = process.getActiveResourcesInfo();
  return {
    udp: udpSocketCount(),
    timers: liveTimers.size,
    refTimers: info.filter((r) => r === 'Timeout').length,
  };
}
type Resources = ReturnType<typeof resources>;

const unavailable = netnsUnavailable();
// Never skipped: a machine without them fails here, saying what to install (.ci/run installs nftables).
if (unavailable)
  throw new Error(
    `media-leaks needs network namespaces and nft (run as root, apt-get install nftables): ${unavailable}`,
  );

describe('routed media: nothing leaks on any exit path', () => {
  let t: TestServer;
  let sessionId: string;
  let room: Room;
  let observer: Agent;
  let base: Resources;

  const sfu = () => (room.media as unknown as { sfu: Sfu }).sfu;
  const subscriptionIds = () => [
    ...(room.media as unknown as { subscriptions: Map<string, unknown> }).subscriptions.keys(),
  ];

  beforeEach(async () => {
    // Short windows so that the give-up paths are quick: media 2.5 s (after 1.5 s of silence), session 3 s.
    t = await startTestServer({
      host: '0.0.0.0',
      transport: { mediaWindowMs: 2500, reconnectWindowMs: 3000 },
    });
    sessionId = await t.createSession({ mediaMode: 'routed' });
    // A moderator that stays throughout: the room lives on, so every cleanup below is the exit
    // path's own, not the room's closing.
    observer = await agent('observer', 'moderator');
    room = t.server.hub.room(sessionId)!;
  });

  afterEach(async () => {
    await destroyAllNetns();
    await t.close();
  });

  async function agent(
    name: string,
    role: 'publisher' | 'moderator' = 'publisher',
    netns?: Netns,
  ): Promise<Agent> {
    const a = await Agent.start({ label: name, ...(netns ? { netns } : {}) });
    await a.call('join', {
      url: a.serverUrl(t.server.port),
      sessionId,
      token: await t.token(sessionId, role, name),
    });
    return a;
  }

  /** A publisher and a subscriber with media flowing; checks that media did take resources here. */
  async function mediaUp(opts: { subNetns?: Netns; republish?: boolean } = {}) {
    const pub = await agent('pub');
    const sub = await agent('sub', 'publisher', opts.subNetns);
    // The baseline: everyone connected, no media yet (each connection has timers of its own).
    base = resources();
    const clientBase = {
      pub: (await pub.call('resources')).udpSockets as number,
      sub: (await sub.call('resources')).udpSockets as number,
    };
    const { stream } = await pub.call('publish', { republish: opts.republish ?? true });
    await sub.call('subscribe', { streamId: stream.streamId, key: 's' });
    await sub.until(async () => (await sub.call('stats')).subs.s.audio > 20, 'packets at the subscriber');
    expect(sfu().stats()).toMatchObject({ ingests: 1, egresses: 1 });
    expect(room.media.subscriptionCount).toBe(1);
    const during = resources();
    expect(during.udp).toBeGreaterThan(base.udp);
    expect(during.timers).toBeGreaterThan(base.timers);
    return { pub, sub, streamId: stream.streamId as string, clientBase };
  }

  /** The SFU and the room are empty, and this process is back to its baseline. */
  async function clean(what: string): Promise<void> {
    await waitFor(
      () =>
        sfu().stats().ingests === 0 &&
        sfu().stats().egresses === 0 &&
        room.media.subscriptionCount === 0 &&
        room.streams.size === 0,
      `${what}: SFU and room empty (${JSON.stringify(sfu().stats())}, ${room.media.subscriptionCount} subscriptions)`,
    );
    await waitFor(
      () => resources().udp <= base.udp,
      `${what}: UDP sockets back to ${base.udp} (now ${resources().udp})`,
    );
    await waitFor(
      () => resources().timers <= base.timers && resources().refTimers <= base.refTimers,
      `${what}: timers back to ${JSON.stringify(base)} (now ${JSON.stringify(resources())})`,
    );
    expect(resources().udp).toBe(base.udp);
    // The room itself lives on with its moderator.
    expect(t.server.hub.room(sessionId)).toBe(room);
  }

  async function clientBack(a: Agent, udp: number, what: string): Promise<void> {
    await a.until(
      async () => (await a.call('resources')).udpSockets <= udp,
      `${what}: ${a.label}'s UDP sockets back to ${udp}`,
      10_000,
      100,
    );
  }

  it('unpublish', async () => {
    const { pub, sub, clientBase } = await mediaUp();
    const gone = sub.next('subscriber.destroyed');
    await pub.call('unpublish');
    expect((await gone).data.reason).toBe('clientDisconnected');
    await clean('unpublish');
    await clientBack(pub, clientBase.pub, 'unpublish');
    await clientBack(sub, clientBase.sub, 'unpublish');
  }, 60_000);

  it('unsubscribe (the stream stays), then unpublish', async () => {
    const { pub, sub, clientBase } = await mediaUp();
    await sub.call('unsubscribe', { sub: 's' });
    await waitFor(() => sfu().stats().egresses === 0 && room.media.subscriptionCount === 0, 'egress closed');
    expect(sfu().stats().ingests).toBe(1);
    await clientBack(sub, clientBase.sub, 'unsubscribe');
    await pub.call('unpublish');
    await clean('unsubscribe');
  }, 60_000);

  it('leave: the subscriber, then the publisher, disconnect', async () => {
    const { pub, sub } = await mediaUp();
    await sub.call('leave');
    await waitFor(
      () => sfu().stats().egresses === 0 && room.media.subscriptionCount === 0,
      'egress closed on leave',
    );
    await pub.call('leave');
    await clean('leave');
  }, 60_000);

  it('give-up of the stream: the publisher goes silent past the media window', async () => {
    const { pub, sub, clientBase } = await mediaUp({ republish: false });
    await pub.call('pauseSource');
    const gone = await sub.next('subscriber.destroyed', undefined, { timeoutMs: 15_000 });
    expect(gone.data.reason).toBe('networkDisconnected');
    const noPublish = await pub.next('publisher.stateChanged', (e: any) => e.state === 'noPublish', {
      timeoutMs: 15_000,
    });
    expect(noPublish.data.code).toBe('MEDIA_TIMEOUT');
    await clean('stream give-up');
    await clientBack(pub, clientBase.pub, 'stream give-up');
  }, 60_000);

  it('give-up of a subscription: a subscriber whose own path stays down past the media window, then resubscribes', async () => {
    const ns = await Netns.create();
    const { pub, sub } = await mediaUp({ subNetns: ns });
    const [old] = subscriptionIds();
    // UDP only: its signalling stays up, so the subscriber gives up on media alone and resubscribes at once.
    const m = sub.mark();
    await ns.cut('udp');
    const gaveUp = await sub.next('subscriber.stateChanged', (e: any) => e.state === 'noPlay', {
      after: m,
      timeoutMs: 15_000,
    });
    expect(gaveUp.data.code).toBe('MEDIA_TIMEOUT');
    // It asked for a new subscription, and the one it gave up on is gone: one egress, not two.
    await waitFor(
      () => subscriptionIds().length === 1 && subscriptionIds()[0] !== old,
      `the old subscription replaced (${subscriptionIds()})`,
    );
    expect(sfu().stats()).toMatchObject({ ingests: 1, egresses: 1 });
    await ns.heal();
    await sub.next('subscriber.stateChanged', (e: any) => e.state === 'playing', { after: gaveUp.i + 1 });
    expect(sfu().stats()).toMatchObject({ ingests: 1, egresses: 1 });
    expect(room.media.subscriptionCount).toBe(1);
    await sub.call('leave');
    await pub.call('unpublish');
    await clean('subscription give-up');
  }, 60_000);

  it('a subscription that never plays (ICE cannot connect) is not left behind', async () => {
    const ns = await Netns.create();
    const pub = await agent('pub');
    const sub = await agent('sub', 'publisher', ns);
    base = resources();
    const { stream } = await pub.call('publish', {});
    await ns.cut('udp');
    await expect(sub.call('subscribe', { streamId: stream.streamId, key: 's' }, 30_000)).rejects.toThrow(
      /MEDIA_NEGOTIATION_FAILED/,
    );
    await waitFor(
      () => room.media.subscriptionCount === 0 && sfu().stats().egresses === 0,
      `no subscription left (${subscriptionIds()})`,
    );
    await ns.heal();
    await pub.call('unpublish');
    await clean('subscription that never played');
  }, 60_000);

  it('give-up of the session: both clients vanish (killed) and their reconnect window passes', async () => {
    const { pub, sub } = await mediaUp();
    await Promise.all([pub.kill(), sub.kill()]);
    await waitFor(() => room.connectionList().length === 1, 'connections destroyed after the window', 15_000);
    await clean('session give-up');
  }, 60_000);

  it('force-unpublish by a moderator (client API)', async () => {
    const { pub, sub, streamId, clientBase } = await mediaUp();
    await observer.call('forceUnpublish', { streamId });
    const stopped = await pub.next('publisher.stateChanged', (e: any) => e.state === 'noPublish');
    expect(stopped.data.code).toBeUndefined();
    expect((await sub.next('subscriber.destroyed')).data.reason).toBe('forceUnpublished');
    await clean('force-unpublish (client)');
    await clientBack(pub, clientBase.pub, 'force-unpublish (client)');
    await clientBack(sub, clientBase.sub, 'force-unpublish (client)');
    // Force-unpublished means stopped: it is not published again behind the moderator's back.
    expect(pub.all('publisher.stateChanged', (e: any) => e.state === 'publishRequesting', stopped.i)).toEqual(
      [],
    );
  }, 60_000);

  it('force-unpublish through the HTTP API', async () => {
    const { pub, sub, streamId } = await mediaUp();
    await t.api.forceUnpublish(sessionId, streamId);
    await pub.next('publisher.stateChanged', (e: any) => e.state === 'noPublish');
    expect((await sub.next('subscriber.destroyed')).data.reason).toBe('forceUnpublished');
    await clean('force-unpublish (HTTP)');
  }, 60_000);
});
