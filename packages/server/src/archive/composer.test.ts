import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { bestFit, compose, composeArgs, layoutSegments, type ComposeJob } from './composer.js';

const run = promisify(execFile);
const log = pino({ level: 'silent' });

describe('bestFit', () => {
  it('lays streams in a grid as square as their count allows, wider than tall', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 9, 10].map((n) => bestFit(n))).toEqual([
      { cols: 1, rows: 1 },
      { cols: 2, rows: 1 },
      { cols: 2, rows: 2 },
      { cols: 2, rows: 2 },
      { cols: 3, rows: 2 },
      { cols: 3, rows: 2 },
      { cols: 3, rows: 3 },
      { cols: 3, rows: 3 },
      { cols: 4, rows: 3 },
    ]);
  });
});

describe('layoutSegments', () => {
  it('lays the streams out again each time one comes or goes', () => {
    const at = (startOffset: number, stopOffset?: number) => ({
      path: 'x',
      startOffset,
      ...(stopOffset !== undefined ? { stopOffset } : {}),
      hasAudio: true,
      hasVideo: true,
    });
    // A all along, B from 2 s to 5 s, C from 6 s; 8 s in all; nothing shown before A's first frame.
    expect(layoutSegments([at(300), at(2000, 5000), at(6000)], 8000)).toEqual([
      { from: 300, to: 2000, shown: [0] },
      { from: 2000, to: 5000, shown: [0, 1] },
      { from: 5000, to: 6000, shown: [0] },
      { from: 6000, to: 8000, shown: [0, 2] },
    ]);
    expect(layoutSegments([at(1000, 2000), at(3000)], 4000)).toEqual([
      { from: 1000, to: 2000, shown: [0] },
      { from: 3000, to: 4000, shown: [1] },
    ]);
  });
});

describe('compose (ffmpeg)', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const job = (over: Partial<ComposeJob>): ComposeJob => {
    const dir = mkdtempSync(join(tmpdir(), 'tether-compose-'));
    dirs.push(dir);
    return {
      inputs: [],
      output: join(dir, 'out.webm'),
      duration: 2,
      width: 640,
      height: 480,
      hasAudio: true,
      hasVideo: true,
      ...over,
    };
  };
  const probe = async (path: string) => {
    const { stdout } = await run('ffprobe', [
      ...[
        '-v',
        'error',
        '-show_entries',
        'format=duration:stream=codec_name,width,height',
        '-of',
        'json',
        path,
      ],
    ]);
    return JSON.parse(stdout) as {
      format: { duration: string };
      streams: { codec_name: string; width?: number }[];
    };
  };

  it('places each stream from its offset: its video shifted by it, its audio delayed by it', () => {
    const args = composeArgs(
      job({
        inputs: [
          { path: 'a.webm', startOffset: 0, hasAudio: true, hasVideo: true },
          { path: 'b.webm', startOffset: 2500, hasAudio: true, hasVideo: false },
        ],
      }),
    ).join(' ');
    expect(args).toContain('[0:v]fps=15,setpts=PTS+0.000/TB,split=1');
    expect(args).toContain('[1:a]aresample=48000:async=1:first_pts=0,adelay=2500:all=1');
    expect(args).not.toContain('[1:v]');
  });

  it('with no stream at all: black and silence, as long as the archive, VP8 and Opus', async () => {
    const j = job({ duration: 2 });
    await compose(j, log);
    const p = await probe(j.output);
    expect(p.streams.map((s) => s.codec_name).sort()).toEqual(['opus', 'vp8']);
    expect(Number(p.format.duration)).toBeCloseTo(2, 1);
  });

  it('hasVideo false: an audio-only file; hasAudio false: a video-only one', async () => {
    const audio = job({ hasVideo: false });
    await compose(audio, log);
    expect((await probe(audio.output)).streams.map((s) => s.codec_name)).toEqual(['opus']);
    const video = job({ hasAudio: false, width: 1280, height: 720 });
    await compose(video, log);
    expect((await probe(video.output)).streams).toMatchObject([{ codec_name: 'vp8', width: 1280 }]);
  });

  it('a stream whose video changes size midway (a browser adapting to its bandwidth) leaves the mixed audio whole', async () => {
    // Chromium starts small and steps its resolution up as its bandwidth estimate grows; ffmpeg
    // rebuilds the whole filter graph at such a change unless told not to, and the audio mix
    // restarted with it (its timestamps stood still for seconds, the file held twice the sound).
    const j = job({ duration: 3 });
    const dir = join(j.output, '..');
    const part = async (name: string, size: string) => {
      const path = join(dir, name);
      await run('ffmpeg', [
        ...['-v', 'error', '-f', 'lavfi', '-i', `testsrc=s=${size}:r=20:d=1.5`],
        ...['-f', 'lavfi', '-i', 'sine=f=440:r=48000:d=1.5', '-ac', '2'],
        ...['-c:v', 'libvpx', '-deadline', 'realtime', '-c:a', 'libopus', '-f', 'webm', path],
      ]);
      return path;
    };
    const list = join(dir, 'parts.txt');
    writeFileSync(
      list,
      `file '${await part('small.webm', '320x180')}'\nfile '${await part('large.webm', '480x270')}'\n`,
    );
    const stepping = join(dir, 'stepping.webm');
    await run('ffmpeg', ['-v', 'error', '-f', 'concat', '-safe', '0', '-i', list, '-c', 'copy', stepping]);
    const steady = await part('steady.webm', '320x240');
    j.inputs = [
      { path: stepping, startOffset: 0, hasAudio: true, hasVideo: true },
      { path: steady, startOffset: 0, stopOffset: 1500, hasAudio: true, hasVideo: true },
    ];
    await compose(j, log);
    const { stdout } = await run('ffprobe', [
      ...['-v', 'error', '-select_streams', 'a', '-show_entries', 'packet=pts', '-of', 'csv=p=0', j.output],
    ]);
    const pts = stdout
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => Number(l.split(',')[0]));
    const stalled = pts.filter((t, k) => k > 0 && t <= (pts[k - 1] as number)).length;
    expect(stalled).toBe(0);
    // 20 ms Opus frames over the archive's 3 s, no more.
    expect(pts.length).toBeGreaterThanOrEqual(148);
    expect(pts.length).toBeLessThanOrEqual(152);
    const decoded = await run('ffmpeg', ['-nostdin', '-v', 'error', '-i', j.output, '-f', 'null', '-']);
    expect(decoded.stderr.trim()).toBe('');
  });
});
