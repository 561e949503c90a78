import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TetherApi } from '@tether/server-sdk';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ClusterNode,
  RtpSource,
  TEST_PROJECT,
  clusterPrefix,
  startTestServer,
  waitFor,
  weriftRtc,
  type TestServer,
} from '@tether/testkit';

/**
 * Archives in a cluster: two real `tether serve --cluster` nodes on the real Redis, each with a
 * data directory of its own. The publisher is on node A, so A runs the session's SFU and records
 * it; the archive is started and stopped through node B, which passes the request to A through
 * the session's log and reads the outcome from the archive records in Redis. A client on B hears
 * `archiveStarted` / `archiveStopped` as well.
 */
const REDIS = process.env.TETHER_TEST_REDIS ?? 'redis://127.0.0.1:6379';

describe('archives across a cluster of two nodes', () => {
  let nodes: ClusterNode[];
  let t: TestServer;
  const dirs: string[] = [];
  const source = new RtpSource();

  beforeEach(async () => {
    const prefix = clusterPrefix();
    nodes = await Promise.all(
      [0, 1].map(() => {
        const dir = mkdtempSync(join(tmpdir(), 'tether-node-'));
        dirs.push(dir);
        return ClusterNode.start({ redisUrl: REDIS, prefix, args: ['--data-dir', dir] });
      }),
    );
    t = await startTestServer();
    source.start();
  });

  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail')
      for (const [i, n] of nodes.entries()) console.log(`--- node ${i}\n${n.log}`);
    source.stop();
    await t.close();
    await Promise.all(nodes.map((n) => n.kill('SIGKILL')));
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('started and stopped through the node that does not run the media; recorded where it runs', async () => {
    const [a, b] = nodes as [ClusterNode, ClusterNode];
    const api = (node: ClusterNode) => new TetherApi({ url: node.url, ...TEST_PROJECT });
    const { sessionId } = await api(a).createSession({ mediaMode: 'routed' });
    const pub = await t.join(sessionId, { url: a.url, data: 'pub', rtc: weriftRtc });
    await pub.publish(pub.initPublisher({ name: 'gen', tracks: source.tracks }));
    const watcher = await t.join(sessionId, { url: b.url, data: 'watcher' });
    const heard: string[] = [];
    watcher.on('archiveStarted', ({ id }) => heard.push(`started ${id}`));
    watcher.on('archiveStopped', ({ id }) => heard.push(`stopped ${id}`));

    const started = await api(b).startArchive({ sessionId, name: 'far', outputMode: 'individual' });
    expect(started).toMatchObject({ status: 'started', name: 'far', sessionId });
    await waitFor(() => heard.length === 1, 'archiveStarted on node B');
    expect(
      (
        await api(b)
          .startArchive({ sessionId })
          .catch((e: { code: string }) => e)
      ).code,
    ).toBe('ARCHIVE_ALREADY_RECORDING');
    await waitFor(
      async () => (await api(b).getArchive(started.id)).streams.length === 1,
      'the stream recorded',
    );
    const stopped = await api(b).stopArchive(started.id);
    expect(stopped.status).not.toBe('started');
    await waitFor(() => heard.length === 2, 'archiveStopped on node B');
    expect(heard).toEqual([`started ${started.id}`, `stopped ${started.id}`]);
    await waitFor(async () => (await api(b).getArchive(started.id)).status === 'available', 'available');

    // Node B lists it (the records are in Redis); the file is on node A, which serves it.
    expect((await api(b).listArchives({ sessionId })).items.map((x) => x.id)).toEqual([started.id]);
    const archive = await api(a).getArchive(started.id);
    const file = archive.streams[0]?.file as string;
    const bytes = await (await api(a).downloadArchive(archive.id, { file })).arrayBuffer();
    expect(bytes.byteLength).toBe(archive.streams[0]?.size);
  }, 60_000);
});
