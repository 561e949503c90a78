import fc from 'fast-check';
import { WebSocket as NodeWebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Session, type SessionOptions } from '@tether/client';
import { TetherApi, createToken } from '@tether/server-sdk';
import {
  ClusterNode,
  FaultProxy,
  TEST_PROJECT,
  clusterPrefix,
  hold,
  testCodec,
  waitFor,
} from '@tether/testkit';

/**
 * The cluster counterpart of exactly-once.property.test.ts: fast-check writes a schedule for
 * three real `tether serve --cluster` processes on the real Redis and four clients, and the
 * guarantees must hold whatever it writes. Each client reaches each node through its own
 * FaultProxy (its URL list is its three proxies), so one client's path to one node can die
 * while everyone else's lives. Faults: a client's current path cut (held blackhole, restored
 * later or only at the end; a dead path; an RST), a client gone for good (every path cut,
 * never restored: a ghost unless the cluster ends it), nodes SIGKILLed or drained (SIGTERM)
 * and restarted in place. A fault is only done if every remaining client keeps an open path
 * to a live node: a client with nowhere to go would rightly lose its connection.
 *
 * Explore with TETHER_PROPERTY_SEED=<n> (and TETHER_PROPERTY_RUNS=<n>); a failure prints the
 * seed, the schedule, what was done of it, and the nodes' logs.
 */
const REDIS = process.env.TETHER_TEST_REDIS ?? 'redis://127.0.0.1:6379';
const SEED = Number(process.env.TETHER_PROPERTY_SEED ?? 1111);
const RUNS = Number(process.env.TETHER_PROPERTY_RUNS ?? 5);
const NODES = 3;
const CLIENTS = 4;
const WINDOW_MS = 4000;
const ARGS = [
  '--reconnect-window',
  String(WINDOW_MS),
  '--heartbeat-interval',
  '250',
  '--heartbeat-timeout',
  '1000',
];

type Step =
  /** `count` signals in a row, without waiting for their answers. */
  | { kind: 'send'; from: number; to: number | null; retry: boolean; count: number }
  /** The client's current path: held (restored after `restoreMs`, or only when the schedule ends), dead, or reset. */
  | { kind: 'cut'; who: number; mode: 'blackhole' | 'switch' | 'reset'; restoreMs: number | null }
  | { kind: 'pause'; ms: number }
  | { kind: 'kill'; node: number; signal: 'SIGKILL' | 'SIGTERM' }
  | { kind: 'restart'; node: number }
  /** Every path of the client dies for good: the cluster must end its connection after the window. */
  | { kind: 'vanish'; who: number };

const client = fc.nat(CLIENTS - 1);
const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('send' as const),
      from: client,
      to: fc.option(client, { nil: null }),
      retry: fc.boolean(),
      count: fc.integer({ min: 1, max: 4 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('cut' as const),
      who: client,
      mode: fc.constantFrom('blackhole' as const, 'blackhole' as const, 'switch' as const, 'reset' as const),
      restoreMs: fc.option(fc.integer({ min: 100, max: 2500 }), { nil: null }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('pause' as const), ms: fc.integer({ min: 50, max: 500 }) }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('kill' as const),
      node: fc.nat(NODES - 1),
      signal: fc.constantFrom('SIGKILL' as const, 'SIGTERM' as const),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('restart' as const), node: fc.nat(NODES - 1) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('vanish' as const), who: client }) },
);

/**
 * A schedule: random steps, with a SIGKILL, a drain and a vanishing client among them at
 * random places, so every run has each (unless the reachability rule skips one).
 */
const schedule: fc.Arbitrary<Step[]> = fc
  .tuple(
    fc.array(step, { minLength: 16, maxLength: 32 }),
    fc.tuple(
      fc.record({
        kind: fc.constant('kill' as const),
        node: fc.nat(NODES - 1),
        signal: fc.constant('SIGKILL' as const),
      }),
      fc.record({
        kind: fc.constant('kill' as const),
        node: fc.nat(NODES - 1),
        signal: fc.constant('SIGTERM' as const),
      }),
      fc.record({ kind: fc.constant('vanish' as const), who: client }),
    ),
    fc.array(fc.nat(), { minLength: 3, maxLength: 3 }),
  )
  .map(([steps, faults, places]) => {
    const out: Step[] = [...steps];
    faults.forEach((f, i) => out.splice(places[i]! % (out.length + 1), 0, f));
    return out;
  });

interface Sent {
  from: number;
  to: number | null;
  data: string;
  retry: boolean;
  /** `orphaned`: unanswered when its sender vanished; it may arrive (once, everywhere intended) or not. */
  outcome: 'pending' | 'resolved' | 'rejected' | 'orphaned';
  code?: string;
}

/**
 * A `ws` socket that reports its URL when it gets an answer (only a handshake's winner does),
 * and every frame it gets after.
 */
function answeredSocket(
  onAnswer: (url: string) => void,
  onFrame: () => void,
): NonNullable<SessionOptions['WebSocket']> {
  class Answered extends NodeWebSocket {
    constructor(url: string) {
      super(url);
      this.once('message', () => onAnswer(url));
      this.on('message', onFrame);
    }
  }
  return Answered as unknown as NonNullable<SessionOptions['WebSocket']>;
}

const stats = {
  runs: 0,
  sent: 0,
  reconnects: 0,
  moves: 0,
  kills: 0,
  drains: 0,
  restarts: 0,
  vanished: 0,
  cuts: 0,
};

describe('a cluster under random faults (property)', () => {
  const prefix = clusterPrefix();
  const nodes: ClusterNode[] = [];
  let ports: number[] = [];
  /** up: serving; draining: SIGTERMed, not yet exited; down: exited. */
  const state: Array<'up' | 'draining' | 'down'> = [];

  const startNode = async (n: number) => {
    nodes[n] = await ClusterNode.start({ redisUrl: REDIS, prefix, args: ARGS, port: ports[n] });
    state[n] = 'up';
  };

  beforeAll(async () => {
    await Promise.all(Array.from({ length: NODES }, (_, n) => startNode(n)));
    ports = nodes.map((n) => n.port);
  }, 30_000);
  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.kill('SIGKILL')));
  });

  it('every accepted signal reaches each member exactly once, in order per sender; rosters equal the API; no ghost; ids kept', async () => {
    const property = fc.asyncProperty(schedule, async (steps) => {
      const trace: string[] = [];
      const t0 = Date.now();
      const log = (line: string) => trace.push(`${String(Date.now() - t0).padStart(6)} ms ${line}`);
      const api = () => new TetherApi({ url: nodes[state.indexOf('up')]!.url, ...TEST_PROJECT });
      const { sessionId } = await api().createSession();
      const proxies = await Promise.all(
        Array.from({ length: CLIENTS }, () =>
          Promise.all(ports.map((port) => FaultProxy.start({ target: { host: '127.0.0.1', port } }))),
        ),
      );
      const cut = proxies.map((ps) => ps.map(() => false));
      const vanished = proxies.map(() => false);
      /** The node whose proxy last answered each client. */
      const at: number[] = [];
      const clients: Session[] = [];
      const received: string[][] = proxies.map(() => []);
      /** Who heard which connection end, why, and when. */
      const destroyed: Array<{ by: number; id: string; reason: string; at: number }> = [];
      /** When each client last heard its node (a heartbeat at least every 250 ms while its path lives). */
      const heard: number[] = [];
      const restores: Array<Promise<void>> = [];
      const exits: Array<Promise<unknown> | undefined> = [];
      const sent: Sent[] = [];
      let reconnects = 0;
      let moves = 0;
      /** Every client still meant to be here keeps an open path to a serving node. */
      const reachable = () =>
        clients.every((_, c) => vanished[c] || ports.some((_, n) => state[n] === 'up' && !cut[c]![n]));
      try {
        for (let c = 0; c < CLIENTS; c++) {
          // Client c prefers node c % 3, then the next ones: the clients start spread over the nodes.
          const order = ports.map((_, k) => (c + k) % NODES);
          const session = new Session({
            url: order.map((n) => proxies[c]![n]!.url),
            sessionId,
            codec: testCodec(),
            rejoinOnResumeFailure: false,
            WebSocket: answeredSocket(
              (url) => {
                const n = proxies[c]!.findIndex((p) => url.startsWith(`${p.url}/`));
                if (at[c] !== undefined && at[c] !== n) moves++;
                at[c] = n;
              },
              () => (heard[c] = Date.now()),
            ),
          });
          session.on('signal', (e) => received[c]!.push(e.data));
          session.on('sessionReconnected', () => reconnects++);
          session.on('connectionDestroyed', (e) =>
            destroyed.push({ by: c, id: e.connection.connectionId, reason: e.reason, at: Date.now() }),
          );
          clients.push(session);
          await session.connect(await createToken({ ...TEST_PROJECT, sessionId, data: `c${c}` }));
        }
        await waitFor(() => clients.every((s) => s.connections.length === CLIENTS), 'all see all', 10_000);
        const ids = clients.map((s) => s.connection!.connectionId);
        log(`joined ${ids.map((id, c) => `c${c}=${id}@n${at[c]}`).join(' ')}`);

        let seq = 0;
        for (const s of steps) {
          if (s.kind === 'pause') await hold(s.ms);
          else if (s.kind === 'send') {
            if (vanished[s.from]) continue;
            for (let k = 0; k < s.count; k++) {
              const entry: Sent = {
                from: s.from,
                to: s.to,
                retry: s.retry,
                data: `${s.from}:${seq++}`,
                outcome: 'pending',
              };
              sent.push(entry);
              const to = s.to === null ? {} : { to: ids[s.to] };
              clients[s.from]!.signal(
                { type: 'p', data: entry.data, ...to },
                { retryAfterReconnect: s.retry },
              ).then(
                () => (entry.outcome = 'resolved'),
                (err: { code?: string }) => {
                  if (entry.outcome !== 'pending') return;
                  entry.outcome = 'rejected';
                  entry.code = err.code;
                },
              );
            }
          } else if (s.kind === 'cut') {
            const n = at[s.who]!;
            const proxy = proxies[s.who]![n]!;
            if (vanished[s.who] || cut[s.who]![n]) continue;
            if (s.mode === 'switch') proxy.switchPath();
            else if (s.mode === 'reset') proxy.reset();
            else {
              cut[s.who]![n] = true;
              if (!reachable()) {
                cut[s.who]![n] = false;
                log(`skip cut c${s.who}→n${n}: it would have nowhere to go`);
                continue;
              }
              proxy.blackhole();
              if (s.restoreMs !== null)
                restores.push(
                  hold(s.restoreMs).then(() => {
                    if (vanished[s.who]) return;
                    proxy.restore();
                    cut[s.who]![n] = false;
                    log(`restored c${s.who}→n${n}`);
                  }),
                );
            }
            stats.cuts++;
            log(
              `cut c${s.who}→n${n} ${s.mode} ${s.mode === 'blackhole' ? `restore ${s.restoreMs ?? 'at the end'}` : ''}`,
            );
          } else if (s.kind === 'kill') {
            if (state[s.node] !== 'up') continue;
            state[s.node] = s.signal === 'SIGKILL' ? 'down' : 'draining';
            if (!reachable()) {
              state[s.node] = 'up';
              log(`skip ${s.signal} n${s.node}: a client would have nowhere to go`);
              continue;
            }
            const node = s.node;
            const exited = nodes[node]!.kill(s.signal).then((e) => {
              state[node] = 'down';
              log(`n${node} exited ${JSON.stringify(e)}`);
            });
            exits[node] = exited;
            if (s.signal === 'SIGKILL') await exited;
            if (s.signal === 'SIGKILL') stats.kills++;
            else stats.drains++;
            log(`${s.signal} n${node}`);
          } else if (s.kind === 'restart') {
            if (state[s.node] !== 'down') continue;
            await startNode(s.node);
            stats.restarts++;
            log(`restarted n${s.node}`);
          } else {
            if (vanished.some(Boolean) || vanished[s.who]) continue;
            vanished[s.who] = true;
            for (const x of sent) if (x.from === s.who && x.outcome === 'pending') x.outcome = 'orphaned';
            for (const [n, p] of proxies[s.who]!.entries()) {
              p.blackhole();
              cut[s.who]![n] = true;
            }
            stats.vanished++;
            log(`vanish c${s.who}`);
          }
        }

        // Heal: every path but the vanished client's, every node (a draining one once it has exited).
        await Promise.all(restores);
        for (const [c, ps] of proxies.entries())
          if (!vanished[c])
            for (const [n, p] of ps.entries()) {
              p.restore();
              cut[c]![n] = false;
            }
        await Promise.all(exits);
        for (let n = 0; n < NODES; n++) if (state[n] === 'down') await startNode(n);
        log('healed');
        const live = clients.filter((_, c) => !vanished[c]);
        const liveIds = ids.filter((_, c) => !vanished[c]).sort();
        await waitFor(() => sent.every((s) => s.outcome !== 'pending'), 'every send settled', 30_000);
        await waitFor(
          () => live.every((s) => s.state === 'connected' && !s.connections.some((x) => x.reconnecting)),
          'every client connected, no one reconnecting',
          30_000,
        );
        log('everyone connected');
        // A fence from each client to everyone: in-order delivery means all before it has arrived.
        await Promise.all(live.map((s, i) => s.signal({ type: 'p', data: `fence${i}` })));
        await waitFor(
          () =>
            clients.every((_, r) => vanished[r] || live.every((_, i) => received[r]!.includes(`fence${i}`))),
          'fences',
          30_000,
        );
        // No ghost: a vanished client's connection is ended once its window has passed (by its
        // owner, or by whichever node took it over if its owner was killed); it knows it too.
        await waitFor(
          async () =>
            clients.every((s, c) => !vanished[c] || s.state === 'disconnected') &&
            live.every(
              (s) =>
                s.connections
                  .map((x) => x.connectionId)
                  .sort()
                  .join() === liveIds.join(),
            ) &&
            (await api().listConnections(sessionId))
              .map((x) => `${x.connectionId}${x.reconnecting ? '?' : ''}`)
              .sort()
              .join() === liveIds.join(),
          'rosters and the API list exactly the clients still here, none reconnecting',
          WINDOW_MS + 20_000,
        );
        log('settled');

        for (let r = 0; r < CLIENTS; r++) {
          const got = received[r]!.filter((d) => !d.startsWith('fence'));
          expect(new Set(got).size, `c${r} got no duplicates`).toBe(got.length);
          for (let from = 0; from < CLIENTS; from++) {
            const intended = sent.filter((s) => s.from === from && (s.to === null || s.to === r));
            const fromSender = got.filter((d) => d.startsWith(`${from}:`));
            expect(fromSender, `c${r} from c${from}: only intended ones, in send order`).toEqual(
              intended.map((s) => s.data).filter((d) => fromSender.includes(d)),
            );
            if (vanished[r]) continue; // what reached it before it went is all it could get
            const mayArrive = new Set(intended.filter((s) => s.outcome === 'orphaned').map((s) => s.data));
            expect(
              fromSender.filter((d) => !mayArrive.has(d)),
              `c${r} from c${from}: every accepted signal, once`,
            ).toEqual(intended.filter((s) => s.outcome === 'resolved').map((s) => s.data));
          }
        }
        // Rejections only from retryAfterReconnect: false while reconnecting, or a target that went.
        for (const s of sent.filter((x) => x.outcome === 'rejected'))
          expect(s.retry === false || (s.to !== null && vanished[s.to]), `${s.data} rejected ${s.code}`).toBe(
            true,
          );
        // Ids kept across every resume, and nobody but the vanished was ever destroyed for anyone.
        expect(live.map((s) => s.connection!.connectionId).sort()).toEqual(liveIds);
        expect(destroyed.filter((x) => liveIds.includes(x.id))).toEqual([]);
        // The vanished one was ended for each client still here, once, for its network, and not
        // before its window: the node lost its transport at the earliest when it last heard the
        // node (less the way from node to client, given a heartbeat).
        for (const [c, id] of ids.entries()) {
          if (!vanished[c]) continue;
          const ends = destroyed.filter((x) => x.id === id);
          expect(ends.map((x) => `c${x.by} ${x.reason}`).sort()).toEqual(
            clients.flatMap((_, by) => (vanished[by] ? [] : [`c${by} networkDisconnected`])),
          );
          expect(Math.min(...ends.map((x) => x.at)) - heard[c]!).toBeGreaterThanOrEqual(WINDOW_MS - 250);
        }
        stats.runs++;
        stats.sent += sent.length;
        stats.reconnects += reconnects;
        stats.moves += moves;
      } catch (err) {
        console.log(
          [
            `cluster property failed (seed ${SEED}); schedule:`,
            JSON.stringify(steps),
            'done:',
            ...trace,
            `sent: ${JSON.stringify(sent)}`,
            ...received.map((r, c) => `c${c} state ${clients[c]?.state} got ${r.join(' ')}`),
            ...nodes.map((n, i) => `--- node ${i} (${state[i]})\n${n.log.slice(-4000)}`),
          ].join('\n'),
        );
        throw err;
      } finally {
        for (const s of clients) s.disconnect();
        await Promise.all(proxies.flat().map((p) => p.close()));
      }
    });
    await fc.assert(property, { seed: SEED, numRuns: RUNS, endOnFailure: true });
    console.log(`cluster property: seed ${SEED}, ${JSON.stringify(stats)}`);
    // The property must have exercised what it claims to.
    expect(stats.moves).toBeGreaterThan(0);
    expect(stats.kills).toBeGreaterThan(0);
    expect(stats.drains).toBeGreaterThan(0);
    expect(stats.vanished).toBeGreaterThan(0);
  }, 180_000);
});
