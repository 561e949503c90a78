import { mkdtempSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import type { Archive } from '@tether/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hold, startTestServer, waitFor, type TestServer } from '@tether/testkit';
import { bytesOf, codecs, decodeErrors, probe, publisher } from './archive-media.js';

/** The test source's key-frame interval, and some. */
const KEYFRAME_MS = 1300;

/**
 * Archives of real media: werift publishers sending VP8 and Opus (encoded live by ffmpeg),
 * recorded by the SFU's node, each file checked with ffprobe and decoded whole by ffmpeg.
 */
describe('archives of real media', () => {
  let t: TestServer;
  let dir: string;
  const stops: Array<() => void> = [];
  beforeEach(async () => {
    t = await startTestServer();
    dir = mkdtempSync(join(tmpdir(), 'tether-archive-'));
  });
  afterEach(async () => {
    for (const stop of stops.splice(0)) stop();
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function fileOf(archive: Archive, file: string): Promise<string> {
    const path = join(dir, `${archive.id}-${file}`);
    await writeFile(path, await bytesOf(await t.api.downloadArchive(archive.id, { file })));
    return path;
  }

  async function available(id: string, timeoutMs = 30_000): Promise<Archive> {
    let archive: Archive | undefined;
    await waitFor(
      async () => ['available', 'failed'].includes((archive = await t.api.getArchive(id)).status),
      'archive finished',
      timeoutMs,
    );
    return archive as Archive;
  }

  /** A: publishing all along. B: joins 2 s in, unpublishes 5 s in. Stopped 8 s in. */
  async function record(outputMode: 'individual' | 'composed') {
    const sessionId = await t.createSession({ mediaMode: 'routed' });
    const a = await publisher(t, sessionId, 'A');
    stops.push(a.stop);
    await waitFor(() => t.server.hub.room(sessionId)?.media.isHome === true, 'media home');
    const t0 = Date.now();
    const started = await t.api.startArchive({ sessionId, name: 'two', outputMode });
    expect(started).toMatchObject({ status: 'started', outputMode, name: 'two', duration: 0 });
    await hold(2000);
    const b = await publisher(t, sessionId, 'B');
    stops.push(b.stop);
    const bAt = Date.now() - t0;
    await hold(3000);
    await b.session.unpublish(b.publisher);
    const bGone = Date.now() - t0;
    await hold(8000 - (Date.now() - t0));
    const stopped = await t.api.stopArchive(started.id);
    const elapsed = (Date.now() - t0) / 1000;
    expect(stopped.status).toBe('stopped');
    return { a, b, started, stopped, elapsed, bAt, bGone };
  }

  it('individual: one WebM per stream, VP8/Opus as published, each stream from when it came to when it left', async () => {
    const { a, b, started, elapsed, bAt, bGone } = await record('individual');
    const archive = await available(started.id);
    expect(archive.status).toBe('available');
    expect(archive.duration).toBeGreaterThan(elapsed * 0.95);
    expect(archive.duration).toBeLessThan(elapsed * 1.05);
    const sa = archive.streams.find((s) => s.streamId === a.streamId);
    const sb = archive.streams.find((s) => s.streamId === b.streamId);
    expect(archive.streams).toHaveLength(2);
    if (!sa || !sb) throw new Error('a stream is missing');
    expect(sa).toMatchObject({ name: 'A', hasAudio: true, hasVideo: true });
    // A stream's file begins at its first key frame: the test source sends one a second (it cannot answer a PLI).
    expect(sa.startOffset).toBeLessThan(KEYFRAME_MS);
    expect(sb.startOffset).toBeGreaterThanOrEqual(bAt - 300);
    expect(sb.startOffset).toBeLessThan(bAt + KEYFRAME_MS);
    expect(Math.abs((sb.stopOffset ?? 0) - bGone)).toBeLessThan(500);
    expect(archive.size).toBe(sa.size + sb.size);
    // Each file holds all the media its publisher sent while it was recorded: within 5 % of it
    // (that is the recording time, less whatever a loaded machine's encoder fell behind by).
    for (const [s, source] of [
      [sa, a.source],
      [sb, b.source],
    ] as const) {
      const from = archive.createdAt + s.startOffset;
      const seconds = source.mediaSeconds(from, archive.createdAt + (s.stopOffset ?? 0));
      expect(seconds).toBeGreaterThan(((s.stopOffset ?? 0) - s.startOffset) / 1000 / 2);
      const path = await fileOf(archive, s.file);
      const p = await probe(path);
      expect(codecs(p)).toEqual(['audio:opus', 'video:vp8']);
      expect(p.streams.find((x) => x.codec_type === 'video')).toMatchObject({ width: 320, height: 240 });
      expect(p.duration).toBeGreaterThan(seconds * 0.95);
      expect(p.duration).toBeLessThan(seconds * 1.05);
      expect(await decodeErrors(path)).toBe('');
    }
  }, 60_000);

  it('composed: one WebM of every stream in a bestFit grid, the audio mixed, as long as the recording', async () => {
    const { started, elapsed } = await record('composed');
    const archive = await available(started.id, 60_000);
    expect(archive.status).toBe('available');
    const path = await fileOf(archive, 'archive.webm');
    const p = await probe(path);
    expect(codecs(p)).toEqual(['audio:opus', 'video:vp8']);
    expect(p.streams.find((x) => x.codec_type === 'video')).toMatchObject({ width: 640, height: 480 });
    expect(p.duration).toBeGreaterThan(elapsed * 0.95);
    expect(p.duration).toBeLessThan(elapsed * 1.05);
    expect(await decodeErrors(path)).toBe('');
  }, 90_000);
});
