import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ClusterNode,
  Haproxy,
  clusterPrefix,
  startTestServer,
  waitFor,
  type TestServer,
} from '@tether/testkit';
import type { Session, SessionEvents } from '../src/index.js';

/**
 * Behind a real load balancer (HAProxy from Debian's packages, .ci/run installs it), which is
 * how users deploy a cluster: the SDK knows one URL, and the balancer picks the node.
 */
const REDIS = process.env.TETHER_TEST_REDIS ?? 'redis://127.0.0.1:6379';

describe('a cluster behind HAProxy', () => {
  let nodes: ClusterNode[];
  let lb: Haproxy;
  let t: TestServer;
  let sessionId: string;

  beforeEach(async () => {
    const prefix = clusterPrefix();
    nodes = await Promise.all([0, 1, 2].map(() => ClusterNode.start({ redisUrl: REDIS, prefix })));
    lb = await Haproxy.start(nodes);
    t = await startTestServer();
    sessionId = await t.createSession();
  });

  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail') {
      console.log(`--- haproxy\n${lb.log}`);
      for (const [i, n] of nodes.entries()) console.log(`--- node ${i}\n${n.log}`);
    }
    await t.close();
    await lb.stop();
    await Promise.all(nodes.map((n) => n.kill('SIGKILL')));
  });

  const inbox = (s: Session, type: string) => {
    const got: string[] = [];
    s.on(`signal:${type}`, (e: SessionEvents['signal']) => got.push(e.data));
    return got;
  };

  it('clients spread over the nodes see one session, and when a node dies its clients come back through the balancer with nothing lost', async () => {
    const clients = await Promise.all(
      ['a', 'b', 'c', 'd'].map((d) => t.join(sessionId, { url: lb.url, data: d })),
    );
    await waitFor(() => clients.every((c) => c.connections.length === 4), 'all see all');
    const ids = clients.map((c) => c.connection!.connectionId);
    const got = clients.map((c) => inbox(c, 'n'));
    const sent = [0, 0, 0, 0];
    const flow = setInterval(() => {
      for (const [i, c] of clients.entries()) void c.signal({ type: 'n', data: `${i}:${sent[i]!++}` });
    }, 50);
    await new Promise((r) => setTimeout(r, 300));
    const moved = new Set<number>();
    for (const [i, c] of clients.entries()) c.on('sessionReconnecting', () => moved.add(i));
    await nodes[0]!.kill('SIGKILL');
    // The clients node 0 held are back (the others never left).
    await waitFor(() => clients.every((c) => c.state === 'connected'), 'everyone connected again', 15_000);
    await new Promise((r) => setTimeout(r, 500));
    clearInterval(flow);
    const total = sent.reduce((x, y) => x + y, 0);
    await waitFor(() => got.every((g) => g.length === total), 'every signal at every client', 20_000);
    const seq = (i: number) => Array.from({ length: sent[i]! }, (_, n) => `${i}:${n}`);
    for (const g of got)
      for (let i = 0; i < 4; i++) expect(g.filter((s) => s.startsWith(`${i}:`))).toEqual(seq(i));
    expect(clients.map((c) => c.connection!.connectionId)).toEqual(ids);
    expect(clients.filter((c) => c.connections.length === 4).length).toBe(4);
    // Round robin had put some of them on node 0: those moved, the others never noticed.
    expect(moved.size).toBeGreaterThanOrEqual(1);
    expect(moved.size).toBeLessThan(4);
  }, 60_000);
});
