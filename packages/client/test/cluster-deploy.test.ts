import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ClusterNode, clusterPrefix, startTestServer, waitFor, type TestServer } from '@tether/testkit';
import type { Session, SessionEvents } from '../src/index.js';

/** Deploys of a three-node cluster (real processes, the real Redis): drains and a rolling restart. */
const REDIS = process.env.TETHER_TEST_REDIS ?? 'redis://127.0.0.1:6379';

describe('deploying a cluster', () => {
  let prefix: string;
  let nodes: ClusterNode[];
  let t: TestServer;
  let sessionId: string;

  beforeEach(async () => {
    prefix = clusterPrefix();
    nodes = await Promise.all([0, 1, 2].map(() => ClusterNode.start({ redisUrl: REDIS, prefix })));
    t = await startTestServer();
    sessionId = await t.createSession();
  });

  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail')
      for (const [i, n] of nodes.entries()) console.log(`--- node ${i}\n${n.log}`);
    await t.close();
    await Promise.all(nodes.map((n) => n.kill('SIGKILL')));
  });

  const urls = () => nodes.map((n) => n.url);
  const join = (url: string | string[], data: string) => t.join(sessionId, { url, data });
  const inbox = (s: Session, type: string) => {
    const got: string[] = [];
    s.on(`signal:${type}`, (e: SessionEvents['signal']) => got.push(e.data));
    return got;
  };
  const seq = (n: number) => Array.from({ length: n }, (_, i) => String(i));

  it('SIGTERM drains a node: its client resumes on another at once, nobody sees it go, nothing is lost, the node exits 0', async () => {
    const a = await join(urls(), 'a'); // on node 0, the first URL
    const b = await join(nodes[1]!.url, 'b');
    await waitFor(() => a.connections.length === 2 && b.connections.length === 2, 'both see both');
    const id = a.connection!.connectionId;
    const seenByB: string[] = [];
    for (const name of ['connectionReconnecting', 'connectionReconnected', 'connectionDestroyed'] as const)
      b.on(name, () => seenByB.push(name));
    const atA = inbox(a, 'ba');
    const atB = inbox(b, 'ab');
    const sent = { ab: 0, ba: 0 };
    const flow = setInterval(() => {
      void a.signal({ type: 'ab', data: String(sent.ab++) });
      void b.signal({ type: 'ba', data: String(sent.ba++) });
    }, 40);
    await new Promise((r) => setTimeout(r, 300));
    const lost = new Promise<SessionEvents['sessionReconnecting']>((r) => a.once('sessionReconnecting', r));
    const back = new Promise<SessionEvents['sessionReconnected']>((r) => a.once('sessionReconnected', r));
    const termAt = Date.now();
    const exited = nodes[0]!.kill('SIGTERM');
    expect((await lost).cause).toBe('serverDraining');
    expect((await back).rejoined).toBe(false);
    const movedMs = Date.now() - termAt;
    expect(a.connection!.connectionId).toBe(id);
    expect(await exited).toEqual({ code: 0, signal: null });
    expect(nodes[0]!.log).toMatch(/Drained: every client moved/);
    await new Promise((r) => setTimeout(r, 300));
    clearInterval(flow);
    await waitFor(() => atA.length === sent.ba && atB.length === sent.ab, 'every signal, both ways');
    expect(atA).toEqual(seq(sent.ba));
    expect(atB).toEqual(seq(sent.ab));
    expect(seenByB).toEqual([]);
    expect(movedMs).toBeLessThan(2000);
  }, 30_000);

  it('a rolling restart of every node under load loses nothing', async () => {
    const ports = nodes.map((n) => n.port);
    const clients = await Promise.all(
      ['p', 'q', 'r'].map((d, i) => join([...urls().slice(i), ...urls().slice(0, i)], d)),
    );
    await waitFor(() => clients.every((c) => c.connections.length === 3), 'all see all');
    const ids = clients.map((c) => c.connection!.connectionId);
    const got = clients.map((c) => inbox(c, 'n'));
    const sent = [0, 0, 0];
    const flow = setInterval(() => {
      for (const [i, c] of clients.entries()) void c.signal({ type: 'n', data: `${i}:${sent[i]!++}` });
    }, 50);
    for (let i = 0; i < 3; i++) {
      await nodes[i]!.kill('SIGTERM');
      nodes[i] = await ClusterNode.start({ redisUrl: REDIS, prefix, port: ports[i] });
      await new Promise((r) => setTimeout(r, 300));
    }
    clearInterval(flow);
    const total = sent.reduce((x, y) => x + y, 0);
    await waitFor(() => got.every((g) => g.length === total), 'every signal at every client', 20_000);
    for (const g of got)
      for (let i = 0; i < 3; i++)
        expect(g.filter((s) => s.startsWith(`${i}:`))).toEqual(seq(sent[i]!).map((n) => `${i}:${n}`));
    expect(clients.map((c) => c.connection!.connectionId)).toEqual(ids);
    for (const c of clients) expect(c.state).toBe('connected');
  }, 90_000);
});
