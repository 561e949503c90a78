/**
 * Media faults on the real packet path: clients run in their own processes (testkit agents),
 * some inside network namespaces whose packets nft drops (both directions, no RST), against a
 * real server with its werift SFU. Assertions wait for events; the only fixed waits are the
 * deliberate durations of the cuts. Needs root, `ip` and `nft`, and a build (`npm test` builds).
 */
import { afterEach, describe, expect, it, onTestFailed } from 'vitest';
import {
  Agent,
  destroyAllNetns,
  hold,
  Netns,
  netnsUnavailable,
  now,
  startTestServer,
  type AgentEvent,
  type CutKind,
  type TestServer,
} from '@tether/testkit';
import type { ServerOptions } from '@tether/server';

const unavailable = netnsUnavailable();
// Never skipped: a machine without them fails here, saying what to install (.ci/run installs nftables).
if (unavailable)
  throw new Error(
    `media-faults needs network namespaces and nft (run as root, apt-get install nftables): ${unavailable}`,
  );

interface Party {
  name: string;
  agent: Agent;
  ns: Netns | undefined;
  cut(kind: CutKind): Promise<number>;
  heal(): Promise<number>;
}

interface SubStats {
  state: string;
  audio: number;
  video: number;
  total: number;
  counters: { audio: number; video: number };
}

interface Continuity {
  ok: boolean;
  complete: boolean;
  missing: number;
  duplicates: number;
  n: number;
  first: number | null;
  gaps: unknown[];
}

describe('media faults on the real packet path (network namespaces, nft)', () => {
  let t: TestServer | undefined;
  let parties: Party[] = [];

  afterEach(async () => {
    parties = [];
    await destroyAllNetns();
    await t?.close();
    t = undefined;
  });

  async function server(options: ServerOptions = {}): Promise<TestServer> {
    // 0.0.0.0: reachable from the namespaces through their veth; werift gathers the veth addresses too.
    t = await startTestServer({ host: '0.0.0.0', ...options });
    return t;
  }

  async function party(name: string, inNamespace: boolean): Promise<Party> {
    const ns = inNamespace ? await Netns.create() : undefined;
    const agent = await Agent.start({ label: name, ...(ns ? { netns: ns } : {}) });
    const p: Party = {
      name,
      agent,
      ns,
      async cut(kind) {
        if (!ns) throw new Error(`${name} is not in a namespace`);
        await ns.cut(kind);
        return now();
      },
      async heal() {
        if (!ns) throw new Error(`${name} is not in a namespace`);
        await ns.heal();
        return now();
      },
    };
    parties.push(p);
    onTestFailed(() => {
      console.log(
        `--- ${name}${ns ? ` (${ns.name}, ${ns.address})` : ''}: last events\n${agent.recent(40)}\n${agent.stderrTail()}`,
      );
    });
    return p;
  }

  async function join(srv: TestServer, sessionId: string, parties: Party[]): Promise<void> {
    await Promise.all(
      parties.map(async (p) =>
        p.agent.call('join', {
          url: p.agent.serverUrl(srv.server.port),
          sessionId,
          token: await srv.token(sessionId, 'publisher', p.name),
        }),
      ),
    );
  }

  async function sub(p: Party, key = 's'): Promise<SubStats> {
    const stats = await p.agent.call('stats');
    return stats.subs[key];
  }

  /** Waits until `n` more audio packets (and some video) have arrived at `p` than now. */
  async function more(p: Party, n: number, what: string, timeoutMs = 15_000): Promise<SubStats> {
    const start = await sub(p);
    let last = start;
    await p.agent.until(
      async () => {
        last = await sub(p);
        return last.audio >= start.audio + n && last.video > start.video;
      },
      `${p.name}: ${n} more packets (${what})`,
      timeoutMs,
    );
    return last;
  }

  function continuity(
    p: Party,
    kind: 'audio' | 'video',
    opts: { from?: number; since?: number } = {},
  ): Promise<Continuity> {
    return p.agent.call('continuity', { sub: 's', kind, ...opts });
  }

  /** Publishes from `pub` and subscribes every other party; resolves once media flows everywhere. */
  async function flowing(pub: Party, subs: Party[]): Promise<string> {
    const { stream } = await pub.agent.call('publish', { name: 'gen' });
    await Promise.all(subs.map((s) => s.agent.call('subscribe', { streamId: stream.streamId, key: 's' })));
    await Promise.all(subs.map((s) => more(s, 50, 'before the cut')));
    return stream.streamId;
  }

  /** What recovery looks like from an agent: any of these during a window means it is still going on. */
  const RECOVERY = new Set([
    'rtc.iceRestart',
    'rtc.restartOffer',
    'rtc.ice',
    'flow',
    'subscriber.disconnected',
    'subscriber.connected',
    'session.sessionReconnecting',
    'session.sessionReconnected',
  ]);

  /**
   * After a recovery: media reaches a steady state where a whole second of audio is gapless
   * and no video counter is missing. A window during which any party was still recovering
   * (an ICE restart finishing after media came back on the old path, a resume) does not count;
   * at most 5 windows are tried. Returns how many windows it took.
   */
  async function continuousNow(p: Party, all: Party[]): Promise<number> {
    for (let round = 1; ; round++) {
      const marks = all.map((x) => x.agent.mark());
      await more(p, 60, 'after recovery');
      const busy = all.flatMap((x, k) =>
        x.agent.events
          .slice(marks[k])
          .filter((e) => RECOVERY.has(e.ev))
          .map((e) => `${x.name}:${e.ev}`),
      );
      if (busy.length > 0) {
        if (round < 5) continue;
        throw new Error(`${p.name}: still recovering after ${round} windows (${busy.join(', ')})`);
      }
      const audio = await continuity(p, 'audio', { from: -50 });
      expect(audio, `${p.name} audio after recovery`).toMatchObject({ ok: true, n: 50 });
      // Video may carry retransmissions (NACK) of older packets: check the same counters, in any order.
      const video = await continuity(p, 'video', { since: audio.first! });
      expect(video.complete, `${p.name} video after recovery: ${JSON.stringify(video)}`).toBe(true);
      return round;
    }
  }

  const after = (e: AgentEvent) => ({ after: e.i + 1 });

  for (const mediaMode of ['routed', 'relayed'] as const) {
    it(`${mediaMode}: a subscriber whose media path dies for 3 s recovers by itself (ICE restart), the other never notices`, async () => {
      // Only the UDP path dies (a firewall or NAT change): signalling stays up, so the SDK restarts
      // ICE at once. A whole-link cut of 3 s is the next test: signalling notices it too.
      const srv = await server();
      const sessionId = await srv.createSession({ mediaMode });
      const [pub, s1, s2] = await Promise.all([party('pub', false), party('s1', true), party('s2', false)]);
      await join(srv, sessionId, [pub, s1, s2]);
      await flowing(pub, [s1, s2]);

      const m = s1.agent.mark();
      const others = [pub.agent.mark(), s2.agent.mark()];
      const cutAt = await s1.cut('udp');
      const down = await s1.agent.next('subscriber.disconnected', undefined, { after: m });
      expect(down.data.cause).toBe('local');
      expect(down.at - cutAt).toBeLessThan(3000);
      await hold(3000 - (now() - cutAt));
      expect(await s1.ns!.dropped()).toBeGreaterThan(0);
      const healAt = await s1.heal();

      const up = await s1.agent.next('subscriber.connected', undefined, after(down));
      expect(up.at).toBeGreaterThanOrEqual(healAt - 50);
      // The SDK restarted ICE by itself (a new ufrag reached the subscriber's peer connection).
      const restart = await s1.agent.next('rtc.iceRestart', undefined, { after: m });
      expect(restart.at).toBeGreaterThan(cutAt);
      await continuousNow(s1, [pub, s1, s2]);
      expect((await sub(s1)).state).toBe('playing');
      expect((await s1.agent.call('stats')).session).toBe('connected');

      // The other subscriber saw nothing: no interruption, not one audio packet missing.
      expect(s2.agent.all('subscriber.disconnected')).toEqual([]);
      expect(s2.agent.all('rtc.iceRestart', undefined, others[1])).toEqual([]);
      expect(await continuity(s2, 'audio')).toMatchObject({ ok: true });
      // Nor did the publisher: it kept publishing throughout.
      expect(pub.agent.all('publisher.stateChanged', undefined, others[0])).toEqual([]);
    }, 60_000);

    it(`${mediaMode}: a subscriber cut off entirely for 3 s: its session and its media both come back, the other never notices`, async () => {
      const srv = await server();
      const sessionId = await srv.createSession({ mediaMode });
      const [pub, s1, s2] = await Promise.all([party('pub', false), party('s1', true), party('s2', false)]);
      await join(srv, sessionId, [pub, s1, s2]);
      await flowing(pub, [s1, s2]);

      const m = s1.agent.mark();
      const others = [pub.agent.mark(), s2.agent.mark()];
      const cutAt = await s1.cut('all');
      // Signalling notices within the heartbeat's 2.25 s floor; media within its own watch.
      const lost = await s1.agent.next('session.sessionReconnecting', undefined, { after: m });
      expect(lost.at - cutAt).toBeLessThan(3000);
      const down = await s1.agent.next('subscriber.disconnected', undefined, { after: m });
      expect(down.data.cause).toBe('local');
      await hold(3000 - (now() - cutAt));
      expect(await s1.ns!.dropped()).toBeGreaterThan(0);
      const healAt = await s1.heal();

      const back = await s1.agent.next('session.sessionReconnected', undefined, after(lost));
      expect(back.data.rejoined).toBe(false);
      const up = await s1.agent.next('subscriber.connected', undefined, after(down));
      expect(up.at).toBeGreaterThanOrEqual(healAt - 50);
      await continuousNow(s1, [pub, s1, s2]);
      expect((await sub(s1)).state).toBe('playing');
      expect(s1.agent.all('subscriber.destroyed')).toEqual([]);

      // The others saw the connection's interruption, nothing of their own media.
      expect(s2.agent.all('subscriber.disconnected')).toEqual([]);
      expect(s2.agent.all('rtc.iceRestart', undefined, others[1])).toEqual([]);
      expect(await continuity(s2, 'audio')).toMatchObject({ ok: true });
      expect(pub.agent.all('publisher.stateChanged', undefined, others[0])).toEqual([]);
    }, 60_000);

    it(`${mediaMode}: the publisher cut off for 3 s: both subscribers see the drop and the return`, async () => {
      const srv = await server();
      const sessionId = await srv.createSession({ mediaMode });
      const [pub, s1, s2] = await Promise.all([party('pub', true), party('s1', false), party('s2', false)]);
      await join(srv, sessionId, [pub, s1, s2]);
      await flowing(pub, [s1, s2]);

      const marks = [s1.agent.mark(), s2.agent.mark()];
      const cutAt = await pub.cut('all');
      const downs = await Promise.all(
        [s1, s2].map((s, k) => s.agent.next('subscriber.disconnected', undefined, { after: marks[k] })),
      );
      for (const d of downs) {
        // Routed: the server tells them the publisher's media stopped. Relayed: a peer sees only its own path.
        if (mediaMode === 'routed') expect(d.data.cause).toBe('publisher');
        expect(d.at - cutAt).toBeLessThan(3000);
      }
      await hold(3000 - (now() - cutAt));
      const healAt = await pub.heal();

      const ups = await Promise.all(
        [s1, s2].map((s, k) => s.agent.next('subscriber.connected', undefined, after(downs[k]!))),
      );
      for (const u of ups) expect(u.at).toBeGreaterThanOrEqual(healAt - 50);
      for (const s of [s1, s2]) {
        await continuousNow(s, [pub, s1, s2]);
        expect(s.agent.all('subscriber.destroyed')).toEqual([]);
      }
      expect((await pub.agent.call('stats')).publisher.state).toBe('publishing');
    }, 60_000);

    it(`${mediaMode}: cutting signalling (TCP) alone never interrupts media; the sessions resume`, async () => {
      // Heartbeats notice the dead transport within 2 s, well inside the 5 s cut.
      const srv = await server({ transport: { heartbeatIntervalMs: 500, heartbeatTimeoutMs: 2000 } });
      const sessionId = await srv.createSession({ mediaMode });
      const [pub, s1, s2] = await Promise.all([party('pub', true), party('s1', true), party('s2', false)]);
      await join(srv, sessionId, [pub, s1, s2]);
      await flowing(pub, [s1, s2]);

      const marks = [pub, s1, s2].map((p) => p.agent.mark());
      await Promise.all([pub.cut('tcp'), s1.cut('tcp')]);
      // Both cut-off clients lose their signalling …
      const lost = await Promise.all(
        [pub, s1].map((p, k) => p.agent.next('session.sessionReconnecting', undefined, { after: marks[k] })),
      );
      // … while media keeps arriving at both subscribers, the one behind the cut included.
      await Promise.all([s1, s2].map((s) => more(s, 100, 'during the TCP cut', 4000)));
      expect(await pub.ns!.dropped()).toBeGreaterThan(0);
      await hold(5000 - (now() - Math.min(...lost.map((e) => e.at))));
      await Promise.all([pub.heal(), s1.heal()]);

      for (const [k, p] of [pub, s1].entries()) {
        const back = await p.agent.next('session.sessionReconnected', undefined, after(lost[k]!));
        expect(back.data.rejoined).toBe(false);
      }
      await Promise.all([s1, s2].map((s) => more(s, 50, 'after the TCP cut')));
      for (const [k, p] of [pub, s1, s2].entries()) {
        expect(p.agent.all('subscriber.disconnected', undefined, marks[k])).toEqual([]);
        expect(p.agent.all('rtc.iceRestart', undefined, marks[k])).toEqual([]);
      }
      // Not one audio packet lost at either subscriber, across the whole cut.
      for (const s of [s1, s2]) expect(await continuity(s, 'audio')).toMatchObject({ ok: true });
      expect((await pub.agent.call('stats')).publisher.state).toBe('publishing');
    }, 60_000);
  }

  it('routed: past the media window the publisher gives up (MEDIA_TIMEOUT), the others see streamDestroyed, and it publishes again when back', async () => {
    // Media window 4 s (+1.5 s of silence before it starts); the session's own window is much longer, so it survives.
    const srv = await server({ transport: { mediaWindowMs: 4000, reconnectWindowMs: 60_000 } });
    const sessionId = await srv.createSession({ mediaMode: 'routed' });
    const [pub, s1, s2] = await Promise.all([party('pub', true), party('s1', false), party('s2', false)]);
    await join(srv, sessionId, [pub, s1, s2]);
    const streamId = await flowing(pub, [s1, s2]);

    const marks = [pub, s1, s2].map((p) => p.agent.mark());
    const cutAt = await pub.cut('all');
    const gone = await Promise.all(
      [s1, s2].map((s, k) =>
        s.agent.next('session.streamDestroyed', (e: any) => e.stream.streamId === streamId, {
          after: marks[k + 1],
          timeoutMs: 15_000,
        }),
      ),
    );
    for (const g of gone) {
      expect(g.data.reason).toBe('networkDisconnected');
      expect(g.at - cutAt).toBeGreaterThanOrEqual(5000); // 1.5 s of silence + the 4 s window, minus timer slack
    }
    for (const [k, s] of [s1, s2].entries()) {
      const destroyed = await s.agent.next('subscriber.destroyed', undefined, { after: marks[k + 1] });
      expect(destroyed.data.reason).toBe('networkDisconnected');
    }
    const { streams } = await srv.server.hub.sessions.state(sessionId);
    expect(streams.map((s) => s.streamId)).not.toContain(streamId);
    await hold(Math.max(0, 7000 - (now() - cutAt)));
    const healAt = await pub.heal();

    const timeout = await pub.agent.next('publisher.stateChanged', (e: any) => e.state === 'noPublish', {
      after: marks[0],
    });
    expect(timeout.data.code).toBe('MEDIA_TIMEOUT');
    const again = await pub.agent.next(
      'publisher.stateChanged',
      (e: any) => e.state === 'publishing',
      after(timeout),
    );
    expect(again.at).toBeGreaterThan(healAt);
    // The session itself survived: same connection, resumed.
    expect(pub.agent.all('session.sessionDisconnected')).toEqual([]);
    const created = await Promise.all(
      [s1, s2].map((s, k) =>
        s.agent.next('session.streamCreated', (e: any) => e.stream.streamId !== streamId, {
          after: marks[k + 1],
        }),
      ),
    );
    const newId = created[0]!.data.stream.streamId as string;
    expect(created[1]!.data.stream.streamId).toBe(newId);
    expect((await pub.agent.call('stats')).publisher).toMatchObject({ state: 'publishing', streamId: newId });
    // The new stream plays.
    await s1.agent.call('subscribe', { streamId: newId, key: 's2' });
    await s1.agent.until(
      async () => (await s1.agent.call('stats')).subs.s2.audio > 50,
      'packets of the new stream',
    );
    const room = srv.server.hub.room(sessionId)!;
    const sfu = (room.media as unknown as { sfu: { stats(): { ingests: number; egresses: number } } }).sfu;
    expect(sfu.stats()).toMatchObject({ ingests: 1, egresses: 1 });
  }, 60_000);
});
