import { execFile } from 'node:child_process';
import { rename, rm } from 'node:fs/promises';
import { promisify } from 'node:util';
import type { ArchiveStream } from '@tether/protocol';
import type { ArchiveStorage } from './storage.js';
import type { ArchiveRecord } from './store.js';

const run = promisify(execFile);

/** A file's length in seconds, as ffprobe reads it; undefined if it cannot. */
export async function probeDuration(path: string, ffprobe = 'ffprobe'): Promise<number | undefined> {
  const { stdout } = await run(ffprobe, [
    ...['-v', 'error', '-show_entries', 'format=duration', '-of', 'default=nw=1:nk=1', path],
  ]).catch(() => ({ stdout: '' }));
  const seconds = Number.parseFloat(stdout);
  return Number.isFinite(seconds) ? seconds : undefined;
}

/**
 * The files of an archive whose server died while it recorded: each was written as it went,
 * so it holds a playable prefix but no length and no index. ffmpeg copies each (no
 * re-encoding) into a complete file with both; its length gives the stream's end.
 */
export async function recoverFiles(
  record: ArchiveRecord,
  storage: ArchiveStorage,
  ffmpeg = 'ffmpeg',
): Promise<{ streams: ArchiveStream[]; duration: number }> {
  const ffprobe = ffmpeg.replace(/ffmpeg$/, 'ffprobe');
  const streams: ArchiveStream[] = [];
  for (const stream of record.streams) {
    const path = storage.pathFor(record.id, stream.file);
    const repaired = `${path}.repaired`;
    const copied = await run(ffmpeg, [
      ...['-hide_banner', '-nostdin', '-v', 'error', '-y', '-i', path, '-c', 'copy', '-f', 'webm', repaired],
    ]).then(
      () => true,
      () => false,
    );
    if (copied) await rename(repaired, path);
    else await rm(repaired, { force: true });
    const seconds = copied ? await probeDuration(path, ffprobe) : undefined;
    const size = (await storage.size(record.id, stream.file)) ?? 0;
    streams.push({
      ...stream,
      size,
      ...(seconds !== undefined ? { stopOffset: stream.startOffset + Math.round(seconds * 1000) } : {}),
    });
  }
  const end = Math.max(0, ...streams.map((s) => s.stopOffset ?? s.startOffset));
  return { streams, duration: end / 1000 };
}
