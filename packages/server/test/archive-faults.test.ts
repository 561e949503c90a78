/**
 * A recording across a publisher's network drop, on the real packet path: the publisher runs
 * in its own process inside a network namespace whose packets nft drops for 3 s (both ways,
 * signalling and media). Its file must stay valid — every frame decodes — with a gap where the
 * media was cut, and go on after it. Needs root, `ip`, `nft` and ffmpeg, and a build.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Archive } from '@tether/protocol';
import { afterEach, describe, expect, it, onTestFailed, onTestFinished } from 'vitest';
import {
  Agent,
  destroyAllNetns,
  hold,
  Netns,
  netnsUnavailable,
  now,
  startTestServer,
  waitFor,
  type TestServer,
} from '@tether/testkit';
import { bytesOf, codecs, decodeErrors, probe } from './archive-media.js';

const unavailable = netnsUnavailable();
if (unavailable)
  throw new Error(
    `archive-faults needs network namespaces and nft (run as root, apt-get install nftables): ${unavailable}`,
  );

/** Audio packet times of a file, seconds. */
async function audioTimes(path: string): Promise<number[]> {
  const { stdout } = await promisify(execFile)('ffprobe', [
    ...['-v', 'error', '-select_streams', 'a', '-show_entries', 'packet=pts_time', '-of', 'csv=p=0', path],
  ]);
  return stdout.split('\n').filter(Boolean).map(Number);
}

describe('an archive across a publisher network drop (network namespace, nft)', () => {
  let t: TestServer | undefined;
  afterEach(async () => {
    await destroyAllNetns();
    await t?.close();
    t = undefined;
  });

  it('a publisher cut off for 3 s leaves a gap in its file, never a broken one, and the file goes on after it', async () => {
    t = await startTestServer({ host: '0.0.0.0' });
    const srv = t;
    const sessionId = await srv.createSession({ mediaMode: 'routed' });
    const ns = await Netns.create();
    const agent = await Agent.start({ label: 'pub', netns: ns });
    onTestFailed(() => console.log(`--- pub: last events\n${agent.recent(40)}\n${agent.stderrTail()}`));
    await agent.call('join', {
      url: agent.serverUrl(srv.server.port),
      sessionId,
      token: await srv.token(sessionId, 'publisher', 'pub'),
    });
    const { stream } = await agent.call('publish', { name: 'cam', encoded: true });
    const room = srv.server.hub.room(sessionId);
    await waitFor(() => room?.media.isHome === true && room.streams.has(stream.streamId), 'the stream');

    const started = await srv.api.startArchive({ sessionId, outputMode: 'individual' });
    await waitFor(
      async () => (await srv.api.getArchive(started.id)).streams.length === 1,
      'recording',
      15_000,
    );
    await hold(3000);
    const m = agent.mark();
    await ns.cut('all');
    const cutAt = now();
    await hold(3000 - (now() - cutAt));
    expect(await ns.dropped()).toBeGreaterThan(0);
    await ns.heal();
    // Its session resumes, and its media comes back on the same stream (an ICE restart).
    await agent.next('session.sessionReconnected', undefined, { after: m });
    await waitFor(() => srv.server.hub.room(sessionId)?.media.isHome === true, 'media home');
    await hold(5000);
    await srv.api.stopArchive(started.id);
    let archive: Archive | undefined;
    await waitFor(
      async () => ['available', 'failed'].includes((archive = await srv.api.getArchive(started.id)).status),
      'archive finished',
      30_000,
    );
    if (!archive) throw new Error('no archive');
    expect(archive.status).toBe('available');
    // One file: the same receiving end all along (no stream destroyed, no fresh publish).
    expect(archive.streams.map((s) => s.streamId)).toEqual([stream.streamId]);
    const [s] = archive.streams;
    const dir = mkdtempSync(join(tmpdir(), 'tether-archive-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, `${archive.id}-${s!.file}`);
    await writeFile(path, await bytesOf(await srv.api.downloadArchive(archive.id, { file: s!.file })));
    expect(codecs(await probe(path))).toEqual(['audio:opus', 'video:vp8']);
    expect(await decodeErrors(path)).toBe('');
    const times = await audioTimes(path);
    let gap = { at: 0, length: 0 };
    for (let i = 1; i < times.length; i++) {
      const length = times[i]! - times[i - 1]!;
      if (length > gap.length) gap = { at: times[i - 1]!, length };
    }
    // A gap of about the cut (the media stops a little before the cut is noticed and resumes after the heal).
    expect(gap.length).toBeGreaterThan(2.5);
    expect(gap.length).toBeLessThan(8);
    // Before it ~3 s recorded, after it the media went on for seconds more.
    expect(gap.at).toBeGreaterThan(2);
    const after = times.filter((x) => x > gap.at + gap.length);
    expect(after.length).toBeGreaterThan(100); // > 2 s of 20 ms packets
  }, 90_000);
});
