import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CallbackPayload } from '@tether/protocol';
import { TetherApi } from '@tether/server-sdk';
import {
  CallbackReceiver,
  ClusterNode,
  TEST_PROJECT,
  clusterPrefix,
  startTestServer,
  waitFor,
  type TestServer,
} from '@tether/testkit';

/**
 * Two real `tether serve --cluster --callback-url` processes on the real Redis: every node
 * follows the session's log, but each event is sent by the node that appended it — so once,
 * also when a survivor ends the connection of a node that died.
 */
const REDIS = process.env.TETHER_TEST_REDIS ?? 'redis://127.0.0.1:6379';

const key = (p: CallbackPayload) =>
  p.event === 'archive'
    ? `archive:${p.archive.id}`
    : `${p.event}:${p.connection.data}${'stream' in p ? `/${p.stream.name}` : ''}${'reason' in p ? `:${p.reason}` : ''}`;

describe('callbacks from a cluster of two nodes on Redis', () => {
  let nodes: ClusterNode[];
  let receiver: CallbackReceiver;
  let t: TestServer;

  beforeEach(async () => {
    receiver = await CallbackReceiver.start();
    const prefix = clusterPrefix();
    const args = ['--reconnect-window', '3000', '--callback-url', receiver.url];
    nodes = await Promise.all([0, 1].map(() => ClusterNode.start({ redisUrl: REDIS, prefix, args })));
    // Only for tokens, session ids and the API client (no callbacks of its own).
    t = await startTestServer();
  });

  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail')
      for (const [i, n] of nodes.entries()) console.log(`--- node ${i}\n${n.log}`);
    await t.close();
    await Promise.all(nodes.map((n) => n.kill('SIGKILL')));
    await receiver.close();
  });

  it('sends each event exactly once, by the node where it happened; a dead node’s connection is ended (and reported) by the survivor', async () => {
    const [n0, n1] = nodes as [ClusterNode, ClusterNode];
    const sessionId = await t.createSession({ mediaMode: 'relayed' });
    const delivered = () => receiver.delivered(TEST_PROJECT.apiSecret).map(key);
    const opts = { rejoinOnResumeFailure: false } as const;

    // a is on node 0 only (and stays away when node 0 dies); b and c on node 1.
    const a = await t.join(sessionId, { url: n0.url, data: 'a', ...opts });
    const b = await t.join(sessionId, { url: n1.url, data: 'b', ...opts });
    await waitFor(() => a.connections.length === 2 && b.connections.length === 2, 'a and b see each other');
    await a.publish({ name: 'cam-a' });
    const c = await t.join(sessionId, { url: n1.url, data: 'c', ...opts });
    await waitFor(() => a.connections.length === 3, 'a sees c');
    c.disconnect();
    // Asked of node 0, done by b's node (1): sent by node 1.
    await new TetherApi({ url: n0.url, ...TEST_PROJECT }).forceDisconnect(
      sessionId,
      b.connection!.connectionId,
    );
    await waitFor(() => delivered().length === 6, 'six callbacks before the crash');

    // Node 0 dies with a's connection; node 1 takes it over and ends it when its window passes.
    await n0.kill('SIGKILL');
    await waitFor(() => delivered().length === 8, 'the survivor ends a', 30_000);
    expect([...delivered()].sort()).toEqual(
      [
        'connectionCreated:a',
        'connectionCreated:b',
        'streamCreated:a/cam-a',
        'connectionCreated:c',
        'connectionDestroyed:c:clientDisconnected',
        'connectionDestroyed:b:forceDisconnected',
        'streamDestroyed:a/cam-a:networkDisconnected',
        'connectionDestroyed:a:networkDisconnected',
      ].sort(),
    );
    // Per project, in order: a's stream goes before a.
    expect(delivered().slice(-2)).toEqual([
      'streamDestroyed:a/cam-a:networkDisconnected',
      'connectionDestroyed:a:networkDisconnected',
    ]);
    // Node 1 sent exactly its six (b, c, their ends, and a's two) and holds nothing more: it
    // followed every entry of node 0 too, and queued none of them.
    const metric = async (name: string) => {
      const text = await (await fetch(`${n1.url}/metrics`)).text();
      return Number(new RegExp(`^${name} (\\d+)`, 'm').exec(text)?.[1]);
    };
    await waitFor(async () => (await metric('tether_callbacks_queued')) === 0, 'node 1 idle');
    expect(await metric('tether_callbacks_delivered_total')).toBe(6);
    expect(receiver.received).toHaveLength(8);
    expect(new Set(receiver.received.map((r) => r.headers['tether-callback-id'])).size).toBe(8);
  }, 60_000);
});
