import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TetherApi } from '@tether/server-sdk';
import {
  ClusterNode,
  FaultProxy,
  TEST_PROJECT,
  clusterPrefix,
  startTestServer,
  waitFor,
  type TestServer,
} from '@tether/testkit';
import type { Session, SessionEvents } from '../src/index.js';

/**
 * Three real `tether serve --cluster` processes on the real Redis at 127.0.0.1:6379 (.ci/run
 * starts one), each test in its own key prefix. Clients reach node 0 through a FaultProxy, so
 * a test can make that path die as a network does.
 */
const REDIS = process.env.TETHER_TEST_REDIS ?? 'redis://127.0.0.1:6379';

describe('a cluster of three nodes on Redis', () => {
  let nodes: ClusterNode[];
  let proxy: FaultProxy;
  /** A test server only for its API client, tokens and session ids (it shares the project). */
  let t: TestServer;
  let sessionId: string;

  beforeEach(async () => {
    const prefix = clusterPrefix();
    // A 5 s window, so a connection that never returns is ended within a test.
    const args = ['--reconnect-window', '5000', ...(process.env.DBG ? ['--log-level', 'debug'] : [])];
    nodes = await Promise.all([0, 1, 2].map(() => ClusterNode.start({ redisUrl: REDIS, prefix, args })));
    proxy = await FaultProxy.start({ target: { host: '127.0.0.1', port: nodes[0]!.port } });
    t = await startTestServer();
    sessionId = await t.createSession();
  });

  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail')
      for (const [i, n] of nodes.entries()) console.log(`--- node ${i}\n${n.log}`);
    await t.close();
    await proxy.close();
    await Promise.all(nodes.map((n) => n.kill('SIGKILL')));
  });

  const join = (url: string | string[], data: string) =>
    t.join(sessionId, { url, data, rejoinOnResumeFailure: false });

  /** Every signal `to` receives, by type, as `data` strings. */
  const inbox = (s: Session, type: string) => {
    const got: string[] = [];
    s.on(`signal:${type}`, (e: SessionEvents['signal']) => got.push(e.data));
    return got;
  };

  it('clients on different nodes see one session: presence in join order, signals exactly once and in order, to: across nodes', async () => {
    const a = await join(nodes[0]!.url, 'a');
    const b = await join(nodes[1]!.url, 'b');
    const c = await join(nodes[2]!.url, 'c');
    for (const s of [a, b, c])
      await waitFor(() => s.connections.length === 3, `${s.connection?.data} sees all three`);
    // Each sees the others in join order, whichever node it is on.
    const others = (s: Session) =>
      s.connections.filter((x) => x.connectionId !== s.connection?.connectionId).map((x) => x.data);
    expect(others(a)).toEqual(['b', 'c']);
    expect(others(b)).toEqual(['a', 'c']);
    expect(others(c)).toEqual(['a', 'b']);

    const atB = inbox(b, 'n');
    const atC = inbox(c, 'n');
    const direct = inbox(c, 'd');
    const sends = [];
    for (let i = 0; i < 100; i++) sends.push(a.signal({ type: 'n', data: String(i) }));
    sends.push(b.signal({ type: 'd', data: 'only-c', to: c.connection!.connectionId }));
    await Promise.all(sends);
    const all = Array.from({ length: 100 }, (_, i) => String(i));
    await waitFor(() => atB.length === 100 && atC.length === 100 && direct.length === 1, 'every signal');
    expect(atB).toEqual(all);
    expect(atC).toEqual(all);
    expect(direct).toEqual(['only-c']);
    // Any node's HTTP API sees the one session.
    const api = new TetherApi({ url: nodes[1]!.url, ...TEST_PROJECT });
    expect((await api.listConnections(sessionId)).map((x) => x.data)).toEqual(['a', 'b', 'c']);
  }, 30_000);

  it('a client whose node path dies resumes on another node: same connection, nothing lost either way', async () => {
    const mover = await join([proxy.url, nodes[1]!.url], 'mover');
    const peer = await join(nodes[2]!.url, 'peer');
    await waitFor(() => mover.connections.length === 2 && peer.connections.length === 2, 'both see both');
    const id = mover.connection!.connectionId;
    const atMover = inbox(mover, 'down');
    const atPeer = inbox(peer, 'up');
    const back = new Promise<SessionEvents['sessionReconnected']>((r) => mover.once('sessionReconnected', r));

    // Signals flow both ways while the path is cut and the client moves.
    proxy.blackhole();
    const sent = { down: 0, up: 0 };
    const flow = setInterval(() => {
      void peer.signal({ type: 'down', data: String(sent.down++) });
      void mover.signal({ type: 'up', data: String(sent.up++) }).catch(() => undefined);
    }, 50);
    const e = await back;
    await new Promise((r) => setTimeout(r, 500));
    clearInterval(flow);
    expect(e.rejoined).toBe(false);
    expect(mover.connection!.connectionId).toBe(id);
    await waitFor(
      () => atMover.length === sent.down && atPeer.length === sent.up,
      'every signal, both ways',
    ).catch((err: Error) => {
      const missing = (got: string[], n: number) =>
        Array.from({ length: n }, (_, i) => String(i)).filter((x) => !got.includes(x));
      throw new Error(
        `${err.message}: down ${atMover.length}/${sent.down} (missing ${missing(atMover, sent.down).join(',')}), up ${atPeer.length}/${sent.up} (missing ${missing(atPeer, sent.up).join(',')})`,
      );
    });
    expect(atMover).toEqual(Array.from({ length: sent.down }, (_, i) => String(i)));
    expect(atPeer).toEqual(Array.from({ length: sent.up }, (_, i) => String(i)));
    // The peer saw an interruption at most, never a departure.
    expect(peer.connections.map((x) => x.connectionId)).toContain(id);
  }, 30_000);

  it('a node killed (SIGKILL) while signals flow: its clients resume on the others with nothing lost; one that never returns is ended by a survivor, no ghost', async () => {
    const [n0, n1, n2] = nodes as [ClusterNode, ClusterNode, ClusterNode];
    const a = await join([n0.url, n1.url, n2.url], 'a');
    const b = await join(n1.url, 'b');
    const c = await join(n2.url, 'c');
    // d reaches node 0 through the proxy only, and its path never comes back.
    const d = await join(proxy.url, 'd');
    for (const s of [a, b, c, d]) await waitFor(() => s.connections.length === 4, 'all four');
    const aId = a.connection!.connectionId;
    const dId = d.connection!.connectionId;
    const destroyed: Array<{ id: string; reason: string; at: number }> = [];
    for (const s of [b, c])
      s.on('connectionDestroyed', (e) =>
        destroyed.push({ id: e.connection.connectionId, reason: e.reason, at: Date.now() }),
      );
    const atA = inbox(a, 'ba');
    const atB = inbox(b, 'ab');
    const atC = inbox(c, 'ab');
    const sent = { ab: 0, ba: 0 };
    const flow = setInterval(() => {
      void a.signal({ type: 'ab', data: String(sent.ab++) }).catch(() => undefined);
      void b.signal({ type: 'ba', data: String(sent.ba++) });
    }, 40);
    await new Promise((r) => setTimeout(r, 300));
    proxy.blackhole();
    const back = new Promise<SessionEvents['sessionReconnected']>((r) => a.once('sessionReconnected', r));
    const killedAt = Date.now();
    await n0.kill('SIGKILL');
    expect((await back).rejoined).toBe(false);
    expect(a.connection!.connectionId).toBe(aId);
    await new Promise((r) => setTimeout(r, 500));
    clearInterval(flow);
    const seq = (n: number) => Array.from({ length: n }, (_, i) => String(i));
    await waitFor(
      () => atB.length === sent.ab && atC.length === sent.ab && atA.length === sent.ba,
      'every signal',
    );
    expect(atB).toEqual(seq(sent.ab));
    expect(atC).toEqual(seq(sent.ab));
    expect(atA).toEqual(seq(sent.ba));

    // d's window (5 s here) passes on a survivor: everyone is told, with the reason.
    await waitFor(
      () => destroyed.filter((x) => x.id === dId).length === 2,
      'd destroyed for b and c',
      20_000,
    );
    expect(destroyed.every((x) => x.id === dId && x.reason === 'networkDisconnected')).toBe(true);
    expect(Math.min(...destroyed.map((x) => x.at)) - killedAt).toBeGreaterThanOrEqual(4000);
    const api = new TetherApi({ url: n2.url, ...TEST_PROJECT });
    expect((await api.listConnections(sessionId)).map((x) => x.data).sort()).toEqual(['a', 'b', 'c']);
    for (const s of [a, b, c]) expect(s.connections.map((x) => x.data).sort()).toEqual(['a', 'b', 'c']);
  }, 60_000);

  it('a node cut off from Redis says so and refuses joins with CLUSTER_UNAVAILABLE, then serves again when Redis is back', async () => {
    const [, n1] = nodes as [ClusterNode, ClusterNode];
    const redisPath = await FaultProxy.start({ target: { host: '127.0.0.1', port: 6379 } });
    const lonely = await ClusterNode.start({
      redisUrl: `redis://127.0.0.1:${redisPath.port}`,
      prefix: clusterPrefix(),
    });
    try {
      expect((await fetch(`${lonely.url}/health`)).status).toBe(200);
      // The path to Redis dies as a network does: no FIN, no RST.
      redisPath.blackhole({ newConnections: 'blackhole' });
      await waitFor(
        async () => (await fetch(`${lonely.url}/health`)).status === 503,
        'the node reports Redis lost',
        15_000,
      );
      const metrics = await (await fetch(`${lonely.url}/metrics`)).text();
      expect(metrics.split('\n').filter((l) => l.startsWith('tether_cluster_available'))).toEqual([
        'tether_cluster_available 0',
      ]);
      await expect(join(lonely.url, 'refused')).rejects.toMatchObject({ code: 'CLUSTER_UNAVAILABLE' });
      expect(lonely.log).toMatch(/lost the cluster's Redis/);
      // A client given another node as well goes there.
      const s = await join([lonely.url, n1.url], 'elsewhere');
      expect(s.state).toBe('connected');

      redisPath.reset();
      redisPath.restore();
      await waitFor(
        async () => (await fetch(`${lonely.url}/health`)).status === 200,
        'the node serves again',
        20_000,
      );
      expect((await join(lonely.url, 'back')).state).toBe('connected');
    } finally {
      await lonely.kill('SIGKILL');
      await redisPath.close();
    }
  }, 60_000);
});
