import { createSessionId, createToken } from '@tether/auth';
import { Session, type SessionEvents, type Subscriber } from '@tether/client';
import type { LoadOptions } from './options.js';
import { CutProxy } from './proxy.js';
import { SyntheticMedia, countPackets, weriftRtc } from './media.js';
import { Tally, percentile } from './tally.js';

export interface LoadReport {
  clients: number;
  sessions: number;
  connectMs: number;
  sendingMs: number;
  signalsSent: number;
  deliveries: number;
  deliveriesPerSecond: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  lost: number;
  duplicates: number;
  reordered: number;
  refused: number;
  /** Sent, and neither accepted nor refused by the end of the drain. */
  unsettled: number;
  cuts: number;
  /** From `sessionReconnecting` to `sessionReconnected`. */
  reconnects: { count: number; p50Ms: number; p99Ms: number; maxMs: number };
  /** From a cut to each client's `sessionReconnected`: noticing the dead path, and resuming. */
  recoveryMs: { p50: number; p99: number; max: number };
  ended: number;
  media: { publishers: number; subscribers: number; packetsReceived: number; playing: number };
}

interface Member {
  id: string;
  session: Session;
  sessionIndex: number;
  n: number;
}

const SIGNAL_TYPE = 'load';

/**
 * One load run: M sessions, N clients spread over them, each sending signals at a rate to
 * its session, optional publishers of synthetic media and subscribers of them, optional cuts
 * of every client's path. Every client joins and sees its session whole before the first
 * signal, so each one should reach every other member of its session exactly once.
 */
export async function runLoad(
  opts: LoadOptions,
  credentials: { apiKey: string; apiSecret: string },
  progress: (line: string) => void,
): Promise<LoadReport> {
  const target = new URL(opts.url);
  const proxy =
    opts.cutEveryMs > 0
      ? await CutProxy.start({ host: target.hostname, port: Number(target.port || 80) })
      : undefined;
  const url = proxy ? `http://127.0.0.1:${proxy.port}` : opts.url;
  const tally = new Tally();
  const sessionIds = Array.from({ length: opts.sessions }, () =>
    createSessionId({ ...credentials, mediaMode: 'routed' }),
  );
  const members: Member[] = [];
  const media: SyntheticMedia[] = [];
  const subscribers: Subscriber[] = [];
  let packetsReceived = 0;
  let ended = 0;
  const away = new Map<Member, number>();
  let lastCutAt: number | undefined;
  const recoveries: number[] = [];
  let stop = false;
  /** Signals sent whose fate (accepted or refused) is not known yet: queued while reconnecting, or on the wire. */
  let unsettled = 0;
  const timers: ReturnType<typeof setInterval>[] = [];

  try {
    // Join, a hundred at a time.
    const started = Date.now();
    for (let i = 0; i < opts.clients; i += 100) {
      const batch = [];
      for (let j = i; j < Math.min(opts.clients, i + 100); j++) batch.push(join(j));
      await Promise.all(batch);
      progress(`joined ${members.length}/${opts.clients}`);
    }
    const perSession = new Map<number, number>();
    for (const m of members) perSession.set(m.sessionIndex, (perSession.get(m.sessionIndex) ?? 0) + 1);
    await until(
      () => members.every((m) => m.session.connections.length === perSession.get(m.sessionIndex)),
      60_000,
      () => 'every client sees its whole session',
    );
    const connectMs = Date.now() - started;
    for (const m of members) tally.member(m.id);

    await startMedia();

    // Send.
    const sendStart = Date.now();
    const pad = 'x'.repeat(Math.max(0, opts.size - 40));
    if (opts.rate > 0)
      for (const m of members) {
        const period = 1000 / opts.rate;
        const tick = () => {
          if (stop) return;
          const n = ++m.n;
          unsettled++;
          m.session
            .signal({ type: SIGNAL_TYPE, data: `${m.id}|${n}|${Date.now()}|${pad}` })
            .then(
              () => tally.accept(m.id, sessionIds[m.sessionIndex]!, n),
              () => tally.refused++,
            )
            .finally(() => unsettled--);
        };
        const first = setTimeout(() => timers.push(setInterval(tick, period)), Math.random() * period);
        timers.push(first as unknown as ReturnType<typeof setInterval>);
      }
    let cuts = 0;
    if (proxy)
      timers.push(
        setInterval(() => {
          if (proxy.cut() === 0) return;
          cuts++;
          lastCutAt = Date.now();
        }, opts.cutEveryMs),
      );
    let lastDeliveries = 0;
    timers.push(
      setInterval(() => {
        const d = tally.deliveries;
        const t = Math.round((Date.now() - sendStart) / 1000);
        progress(
          `t=${t}s  clients ${members.length - away.size - ended}/${members.length} up, ${away.size} reconnecting, ${ended} ended  ` +
            `deliveries ${d} (${d - lastDeliveries}/s)  p50 ${fmt(percentile(tally.latencies.slice(-5000), 50))} ms  ` +
            `dup ${tally.duplicates}  cuts ${cuts}${opts.publishers ? `  rtp in ${packetsReceived}` : ''}`,
        );
        lastDeliveries = d;
      }, 1000),
    );
    await sleep(opts.durationMs);
    stop = true;
    const sendingMs = Date.now() - sendStart;
    for (const t of timers) clearInterval(t);
    const memberOf = new Map(members.map((m) => [m.id, sessionIds[m.sessionIndex]!]));
    // What is still on its way: until every signal was accepted (or refused) and every accepted
    // one arrived, or the drain time passed.
    await until(
      () => unsettled === 0 && away.size === 0 && tally.missing(memberOf) === 0,
      opts.drainMs,
      () => '',
    ).catch(() => undefined);
    const sent = members.reduce((s, m) => s + m.n, 0);
    const lat = tally.latencies;
    const rec = tally.reconnects;
    return {
      clients: opts.clients,
      sessions: opts.sessions,
      connectMs,
      sendingMs,
      signalsSent: sent,
      deliveries: tally.deliveries,
      deliveriesPerSecond: Math.round(tally.deliveries / (sendingMs / 1000)),
      latencyMs: {
        p50: percentile(lat, 50),
        p90: percentile(lat, 90),
        p99: percentile(lat, 99),
        max: lat.length ? Math.max(...lat) : Number.NaN,
      },
      lost: tally.missing(memberOf),
      duplicates: tally.duplicates,
      reordered: tally.reordered,
      refused: tally.refused,
      unsettled,
      cuts,
      reconnects: {
        count: rec.length,
        p50Ms: percentile(rec, 50),
        p99Ms: percentile(rec, 99),
        maxMs: rec.length ? Math.max(...rec) : Number.NaN,
      },
      recoveryMs: {
        p50: percentile(recoveries, 50),
        p99: percentile(recoveries, 99),
        max: recoveries.length ? Math.max(...recoveries) : Number.NaN,
      },
      ended,
      media: {
        publishers: media.length,
        subscribers: subscribers.length,
        packetsReceived,
        playing: subscribers.filter((s) => s.state === 'playing').length,
      },
    };
  } finally {
    stop = true;
    for (const t of timers) clearInterval(t);
    for (const m of media) m.stop();
    for (const m of members) m.session.disconnect();
    await proxy?.close();
  }

  async function join(i: number): Promise<void> {
    const sessionIndex = i % opts.sessions;
    const sessionId = sessionIds[sessionIndex]!;
    const id = `c${i}`;
    const session = new Session({ url, sessionId, rtc: weriftRtc });
    const member: Member = { id, session, sessionIndex, n: 0 };
    session.on(`signal:${SIGNAL_TYPE}`, (e: SessionEvents['signal']) => {
      const [sender, n, at] = e.data.split('|', 3);
      // One's own signals come back too; what counts is the others'.
      if (sender !== id) tally.received(id, sender!, Number(n), Number(at), Date.now());
    });
    session.on('sessionReconnecting', () => away.set(member, Date.now()));
    session.on('sessionReconnected', () => {
      const since = away.get(member);
      away.delete(member);
      if (since !== undefined) tally.reconnects.push(Date.now() - since);
      if (lastCutAt !== undefined) recoveries.push(Date.now() - lastCutAt);
    });
    session.on('sessionDisconnected', () => {
      away.delete(member);
      if (!stop) ended++;
    });
    await session.connect(await createToken({ ...credentials, sessionId, data: id }));
    members.push(member);
  }

  /** The first members of each session publish; the next ones subscribe to every stream of theirs. */
  async function startMedia(): Promise<void> {
    if (opts.publishers === 0) return;
    const bySession = new Map<number, Member[]>();
    for (const m of members) bySession.set(m.sessionIndex, [...(bySession.get(m.sessionIndex) ?? []), m]);
    for (const list of bySession.values()) {
      for (const m of list.slice(0, opts.publishers)) {
        const source = new SyntheticMedia();
        source.start();
        media.push(source);
        await m.session.publish(m.session.initPublisher({ name: m.id, tracks: source.tracks }));
      }
      for (const m of list.slice(opts.publishers, opts.publishers + opts.subscribers)) {
        await until(
          () => m.session.streams.length >= opts.publishers,
          20_000,
          () => `${m.id} sees the streams`,
        );
        for (const stream of m.session.streams) {
          const sub = await m.session.subscribe(stream);
          subscribers.push(sub);
          for (const track of sub.tracks) countPackets(track, () => packetsReceived++);
          sub.on('track', ({ track }) => countPackets(track, () => packetsReceived++));
        }
      }
    }
    progress(`media: ${media.length} publishers, ${subscribers.length} subscriptions`);
  }
}

function fmt(n: number): string {
  return Number.isNaN(n) ? '-' : n.toFixed(0);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`tether load: timed out waiting until ${what()}`);
    await sleep(50);
  }
}
