import { describe, expect, it, type TestContext } from 'vitest';
import { FaultProxy, hold, startTestServer, waitFor, type TestServer } from '@tether/testkit';
import { DEFAULTS } from '@tether/server';
import type { Session } from '../src/index.js';

/**
 * The heartbeat over slow links, with the timers as shipped (beat every 500 ms, timeout 2.25 s
 * raised from the measured round trip up to 15 s): a live path, however slow or congested,
 * is never called dead, and a dead one is noticed — within 2.5 s on a healthy link.
 */

const { heartbeatTimeoutMs: FLOOR_MS, heartbeatIntervalMs: INTERVAL_MS } = DEFAULTS.transport;
/** What the brief promises for a healthy link: the floor, plus what timers may run late by. */
const HEALTHY_DETECTION_MS = 2500;
const ONE_WAY_MS = 1500;
/**
 * On a path with a 3 s round trip, measured for 20 s and more: the silence that means death is
 * interval + srtt + 4·rttvar (RFC 6298), with srtt ≈ 3 s. rttvar starts at half the first
 * sample (the handshake's) and loses a quarter per sample, one per round trip: after the ~9
 * samples of this test 4·rttvar is ~0.5 s, plus loopback timer jitter. 5 s allows it 1.5 s,
 * a third of the 15 s ceiling.
 */
const SLOW_DETECTION_MS = 5000;

interface Log {
  events: string[];
  exceptions: string[];
  /** `from:index` of every signal, in arrival order. */
  signals: string[];
  /** Per sender, the longest a signal took to arrive (from the send time it carries). */
  longestWaitMs: Map<string, number>;
}

function record(session: Session): Log {
  const log: Log = { events: [], exceptions: [], signals: [], longestWaitMs: new Map() };
  for (const name of [
    'sessionReconnecting',
    'sessionReconnected',
    'sessionDisconnected',
    'connectionReconnecting',
    'connectionReconnected',
    'connectionDestroyed',
  ] as const)
    session.on(name, () => log.events.push(name));
  session.on('exception', (e) => log.exceptions.push(`${e.code}: ${e.message}`));
  session.on('signal', (e) => {
    const from = e.from?.data ?? 'server';
    const [index, sentAt] = e.data.split('|');
    log.signals.push(`${from}:${index}`);
    const waited = Date.now() - Number(sentAt);
    log.longestWaitMs.set(from, Math.max(waited, log.longestWaitMs.get(from) ?? 0));
  });
  return log;
}

/** A server and `proxies` proxies to it, closed when the test ends (its own context: tests run concurrently). */
async function setup(
  ctx: TestContext,
  proxies: number,
): Promise<{ t: TestServer; sessionId: string; proxies: FaultProxy[] }> {
  const t = await startTestServer();
  const started = await Promise.all(
    Array.from({ length: proxies }, () =>
      FaultProxy.start({ target: { host: '127.0.0.1', port: t.server.port } }),
    ),
  );
  ctx.onTestFinished(async () => {
    await t.close();
    await Promise.all(started.map((p) => p.close()));
  });
  return { t, sessionId: await t.createSession(), proxies: started };
}

/** Both see each other: every later event is about the path, not the join. */
async function joinedBoth(a: Session, b: Session): Promise<void> {
  await waitFor(
    () => a.connections.some((c) => c.data === 'b') && b.connections.some((c) => c.data === 'a'),
    'a and b see each other',
    10_000,
  );
}

/** `n` signals from `from`, one every `everyMs`, each with its index and `pad` bytes of padding. */
async function stream(from: Session, n: number, everyMs: number, pad = 0): Promise<void> {
  const sent: Promise<void>[] = [];
  const padding = 'x'.repeat(pad);
  for (let i = 0; i < n; i++) {
    sent.push(from.signal({ type: 'chat', data: `${i}|${Date.now()}|${padding}` }));
    await hold(everyMs);
  }
  await Promise.all(sent);
}

function expected(from: string, n: number): string[] {
  return Array.from({ length: n }, (_, i) => `${from}:${i}`);
}

async function interruptions(t: TestServer): Promise<number> {
  const text = await (await fetch(`${t.url}/metrics`)).text();
  const m = /^tether_interruptions_total (\d+)$/m.exec(text);
  if (!m) throw new Error('tether_interruptions_total missing from /metrics');
  return Number(m[1]);
}

/** Milliseconds from `since` until `cond`, failing after `timeoutMs`. */
async function msUntil(cond: () => boolean, what: string, since: number, timeoutMs: number): Promise<number> {
  await waitFor(cond, what, timeoutMs);
  return Date.now() - since;
}

describe.concurrent('heartbeats over slow links', () => {
  it(
    'keeps a 1.5 s-each-way link up through 20 s of signals both ways and a jump from 0 to 1.5 s, then notices it die',
    { timeout: 60_000 },
    async (ctx) => {
      const { t, sessionId, proxies } = await setup(ctx, 2);
      const [slowFromStart, jumping] = proxies as [FaultProxy, FaultProxy];
      // b's path goes from loopback to 1.5 s each way while idle: the first frames after the
      // jump arrive 1.5 s + up to one beat interval after the last before it, a silence no
      // measurement can foresee (nothing sent after the jump comes back sooner). Meanwhile a
      // joins over its slow path: its handshake alone takes two 3 s round trips.
      slowFromStart.delay(ONE_WAY_MS);
      const b = await t.join(sessionId, { data: 'b', url: jumping.url });
      const bLog = record(b);
      const aJoined = t.join(sessionId, { data: 'a', url: slowFromStart.url });
      await hold(2 * INTERVAL_MS);
      jumping.delay(ONE_WAY_MS);
      const [a] = await Promise.all([aJoined, hold(ONE_WAY_MS + 2 * INTERVAL_MS)]);
      const aLog = record(a);
      await joinedBoth(a, b);

      // 20 s of signals both ways, 10 a second each: every one crosses two slow paths.
      const n = 200;
      const startedAt = Date.now();
      await Promise.all([stream(a, n, 100), stream(b, n, 100)]);
      await waitFor(
        () => aLog.signals.length === 2 * n && bLog.signals.length === 2 * n,
        'every signal on both sides',
        15_000,
      );
      expect(Date.now() - startedAt).toBeGreaterThanOrEqual(20_000);
      for (const log of [aLog, bLog]) {
        expect(log.signals.filter((s) => s.startsWith('a:'))).toEqual(expected('a', n));
        expect(log.signals.filter((s) => s.startsWith('b:'))).toEqual(expected('b', n));
      }
      expect(aLog.events).toEqual([]);
      expect(bLog.events).toEqual([]);
      expect(aLog.exceptions).toEqual([]);
      expect(bLog.exceptions).toEqual([]);
      expect(await interruptions(t)).toBe(0);

      // The counterpart: the same slow path, dead, is noticed by both ends within the bound.
      slowFromStart.blackhole();
      const cutAt = Date.now();
      const clientMs = await msUntil(
        () => aLog.events.includes('sessionReconnecting'),
        'a notices its dead path',
        cutAt,
        SLOW_DETECTION_MS + 1000,
      );
      const serverMs = await msUntil(
        () => bLog.events.includes('connectionReconnecting'),
        'b is told a is reconnecting',
        cutAt,
        SLOW_DETECTION_MS + ONE_WAY_MS + 1000,
      );
      console.info(
        `slow link (3 s round trip): client noticed the dead path in ${clientMs} ms, the server in ≤ ${serverMs - ONE_WAY_MS} ms (b told after ${serverMs} ms over its 1.5 s path)`,
      );
      expect(clientMs).toBeLessThanOrEqual(SLOW_DETECTION_MS);
      // b hears it over its own 1.5 s path.
      expect(serverMs - ONE_WAY_MS).toBeLessThanOrEqual(SLOW_DETECTION_MS);
      // Not the floor: the timeout was raised by the measured round trip (else the jump would have killed it).
      expect(clientMs).toBeGreaterThan(FLOOR_MS);
    },
  );

  it(
    'keeps a link throttled to 64 kbit/s, saturated both ways, up: heartbeats queue behind data and nothing is lost',
    { timeout: 60_000 },
    async (ctx) => {
      const { t, sessionId, proxies } = await setup(ctx, 1);
      const throttled = proxies[0] as FaultProxy;
      throttled.throttle(8000);
      const [a, b] = await Promise.all([
        t.join(sessionId, { data: 'a', url: throttled.url }),
        t.join(sessionId, { data: 'b' }),
      ]);
      await joinedBoth(a, b);
      const aLog = record(a);
      const bLog = record(b);

      // ~12 KB/s offered each way (1 KB signals, 10 a second, for 8 s) into 8 KB/s.
      const n = 80;
      await Promise.all([stream(a, n, 100, 1000), stream(b, n, 100, 1000)]);
      await waitFor(
        () => aLog.signals.length === 2 * n && bLog.signals.length === 2 * n,
        'every signal on both sides',
        30_000,
      );
      for (const log of [aLog, bLog]) {
        expect(log.signals.filter((s) => s.startsWith('a:'))).toEqual(expected('a', n));
        expect(log.signals.filter((s) => s.startsWith('b:'))).toEqual(expected('b', n));
      }
      // The path was saturated both ways: signals (and the beats and pongs behind them) waited in
      // its queue longer than the heartbeat floor, so a timer that waited for pongs would have fired.
      const upMs = bLog.longestWaitMs.get('a') ?? 0;
      const downMs = aLog.longestWaitMs.get('b') ?? 0;
      console.info(`64 kbit/s link: longest wait up ${upMs} ms, down ${downMs} ms`);
      expect(upMs).toBeGreaterThan(FLOOR_MS);
      expect(downMs).toBeGreaterThan(FLOOR_MS);
      expect(aLog.events).toEqual([]);
      expect(bLog.events).toEqual([]);
      expect(aLog.exceptions).toEqual([]);
      expect(bLog.exceptions).toEqual([]);
      expect(await interruptions(t)).toBe(0);
    },
  );

  it(
    'notices a dead healthy link within 2.5 s on both ends while signals flow, and loses none of them',
    { timeout: 30_000 },
    async (ctx) => {
      const { t, sessionId, proxies } = await setup(ctx, 1);
      const proxy = proxies[0] as FaultProxy;
      const [a, b] = await Promise.all([
        t.join(sessionId, { data: 'a', url: proxy.url }),
        t.join(sessionId, { data: 'b' }),
      ]);
      await joinedBoth(a, b);
      const aLog = record(a);
      const bLog = record(b);
      const n = 60;
      // Frames flow up to the cut, so the silence starts at the cut itself: the longest detection.
      const flowing = Promise.all([stream(a, n, 50), stream(b, n, 50)]);
      await hold(1000);
      proxy.blackhole();
      const cutAt = Date.now();
      const clientMs = await msUntil(
        () => aLog.events.includes('sessionReconnecting'),
        'a notices',
        cutAt,
        5000,
      );
      const serverMs = await msUntil(
        () => bLog.events.includes('connectionReconnecting'),
        'the server notices',
        cutAt,
        5000,
      );
      console.info(
        `healthy link: client noticed the dead path in ${clientMs} ms, the server in ${serverMs} ms`,
      );
      expect(clientMs).toBeLessThanOrEqual(HEALTHY_DETECTION_MS);
      expect(serverMs).toBeLessThanOrEqual(HEALTHY_DETECTION_MS);
      proxy.restore();
      await flowing;
      await waitFor(() => aLog.signals.length === 2 * n && bLog.signals.length === 2 * n, 'every signal');
      for (const log of [aLog, bLog]) {
        expect(log.signals.filter((s) => s.startsWith('a:'))).toEqual(expected('a', n));
        expect(log.signals.filter((s) => s.startsWith('b:'))).toEqual(expected('b', n));
      }
    },
  );
});
