import { spawn } from 'node:child_process';
import type { Logger } from 'pino';

/** One stream's file, placed on the archive's timeline. */
export interface ComposeInput {
  path: string;
  /** ms after the archive's start when it appears. */
  startOffset: number;
  /** ms after the archive's start when it left (absent: it stayed to the end). */
  stopOffset?: number;
  hasAudio: boolean;
  hasVideo: boolean;
}

export interface ComposeJob {
  inputs: ComposeInput[];
  output: string;
  /** The archive's length, seconds. */
  duration: number;
  width: number;
  height: number;
  hasAudio: boolean;
  hasVideo: boolean;
}

/** Frames per second of a composed archive. */
const FPS = 15;

/** The `bestFit` grid: as square as the count allows, wider than tall (columns first). */
export function bestFit(n: number): { cols: number; rows: number } {
  const cols = Math.max(1, Math.ceil(Math.sqrt(n)));
  return { cols, rows: Math.max(1, Math.ceil(n / cols)) };
}

/** A stretch of the archive during which the same streams are shown (indexes into the video inputs). */
export interface LayoutSegment {
  from: number;
  to: number;
  shown: number[];
}

/**
 * Where the grid changes: each time a stream appears or leaves, the streams shown are laid out
 * again (`bestFit` of those present), as a composed archive shows a call as it was.
 */
export function layoutSegments(inputs: ComposeInput[], durationMs: number): LayoutSegment[] {
  const span = (x: ComposeInput) => ({
    from: x.startOffset,
    to: Math.min(x.stopOffset ?? durationMs, durationMs),
  });
  const cuts = [...new Set([0, durationMs, ...inputs.flatMap((x) => [span(x).from, span(x).to])])]
    .filter((t) => t >= 0 && t <= durationMs)
    .sort((a, b) => a - b);
  const segments: LayoutSegment[] = [];
  for (let c = 1; c < cuts.length; c++) {
    const from = cuts[c - 1] as number;
    const to = cuts[c] as number;
    const shown = inputs.flatMap((x, k) => (span(x).from <= from && span(x).to >= to ? [k] : []));
    const prev = segments.at(-1);
    if (prev && prev.to === from && prev.shown.join() === shown.join()) prev.to = to;
    else if (shown.length > 0) segments.push({ from, to, shown });
  }
  return segments;
}

/** ffmpeg's arguments for a job: the grid over black, the audio mixed, VP8 and Opus in WebM. */
export function composeArgs(job: ComposeJob): string[] {
  const args = ['-hide_banner', '-nostdin', '-loglevel', 'error', '-progress', 'pipe:1', '-y'];
  // A browser steps its video's size up and down with its bandwidth estimate. At such a change
  // ffmpeg rebuilds the whole filter graph by default, and the audio mix restarts with it (its
  // timestamps stand still while it mixes the seconds again). Without the rebuild the frames of
  // the new size go on through fps/setpts/split, which do not care, to scale, which takes them.
  for (const input of job.inputs) args.push('-reinit_filter', '0', '-i', input.path);
  const filters: string[] = [];
  const d = job.duration.toFixed(3);
  const videos = job.hasVideo
    ? job.inputs.map((input, i) => ({ input, i })).filter((v) => v.input.hasVideo)
    : [];
  const audios = job.hasAudio
    ? job.inputs.map((input, i) => ({ input, i })).filter((a) => a.input.hasAudio)
    : [];
  if (job.hasVideo) {
    filters.push(`color=c=black:s=${job.width}x${job.height}:r=${FPS}:d=${d}[base]`);
    const segments = layoutSegments(
      videos.map(({ input }) => input),
      job.duration * 1000,
    );
    // Each stream's video, placed on the archive's timeline, once per segment it is shown in.
    videos.forEach(({ input, i }, k) => {
      const uses = segments.filter((seg) => seg.shown.includes(k)).length;
      const at = (input.startOffset / 1000).toFixed(3);
      const outs = Array.from({ length: uses }, (_, u) => `[s${k}_${u}]`).join('');
      if (uses > 0) filters.push(`[${i}:v]fps=${FPS},setpts=PTS+${at}/TB,split=${uses}${outs}`);
      else filters.push(`[${i}:v]nullsink`);
    });
    const used = new Map<number, number>();
    let last = 'base';
    let n = 0;
    for (const seg of segments) {
      const { cols, rows } = bestFit(seg.shown.length);
      // Even tile sizes: VP8 in yuv420p wants them.
      const w = Math.floor(job.width / cols / 2) * 2;
      const h = Math.floor(job.height / rows / 2) * 2;
      const from = (seg.from / 1000).toFixed(3);
      const to = (seg.to / 1000).toFixed(3);
      seg.shown.forEach((k, place) => {
        const u = used.get(k) ?? 0;
        used.set(k, u + 1);
        filters.push(
          `[s${k}_${u}]scale=${w}:${h}:force_original_aspect_ratio=decrease,pad=${w}:${h}:(ow-iw)/2:(oh-ih)/2[t${n}]`,
        );
        const x = (place % cols) * w + Math.floor((job.width - cols * w) / 2);
        const y = Math.floor(place / cols) * h + Math.floor((job.height - rows * h) / 2);
        filters.push(
          `[${last}][t${n}]overlay=x=${x}:y=${y}:eof_action=pass:repeatlast=0:enable='between(t,${from},${to})'[o${n}]`,
        );
        last = `o${n}`;
        n++;
      });
    }
    // VP8 without an alpha plane (overlay's output may carry one).
    filters.push(`[${last}]format=yuv420p[vout]`);
  }
  if (job.hasAudio) {
    audios.forEach(({ input, i }, k) => {
      const at = Math.round(input.startOffset);
      // Gaps in a file's audio (its publisher's network dropped) become silence.
      filters.push(`[${i}:a]aresample=48000:async=1:first_pts=0,adelay=${at}:all=1[a${k}]`);
    });
    const silence = `anullsrc=r=48000:cl=stereo,atrim=duration=${d}`;
    // Opus takes 20 ms frames (960 samples): a source of other sizes (anullsrc's 1024) is cut to them.
    const frames = 'asetnsamples=n=960:p=0';
    if (audios.length === 0) filters.push(`${silence},${frames}[aout]`);
    else
      filters.push(
        `${silence}[quiet];[quiet]${audios.map((_, k) => `[a${k}]`).join('')}` +
          `amix=inputs=${audios.length + 1}:duration=first:dropout_transition=0:normalize=0,${frames}[aout]`,
      );
  }
  args.push('-filter_complex', filters.join(';'));
  if (job.hasVideo)
    args.push('-map', '[vout]', '-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '1M');
  if (job.hasAudio) args.push('-map', '[aout]', '-c:a', 'libopus', '-b:a', '64k');
  args.push('-t', d, '-f', 'webm', job.output);
  return args;
}

/**
 * Composes an archive's stream files into one (ffmpeg, Debian's /usr/bin/ffmpeg): streams
 * tiled in a `bestFit` grid, each in its place from when it appeared to when it left (black
 * around and after), the audio of all mixed. Progress goes to the log as ffmpeg reports it.
 */
export function compose(job: ComposeJob, log: Logger, ffmpeg = 'ffmpeg'): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(ffmpeg, composeArgs(job), { stdio: ['ignore', 'pipe', 'pipe'] });
    let errors = '';
    let lastLogged = -1;
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      if (errors.length < 4096) errors += chunk;
    });
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      const m = /out_time_us=(\d+)/.exec(chunk);
      if (!m || job.duration <= 0) return;
      const percent = Math.min(100, Math.floor(Number(m[1]) / 1e4 / job.duration));
      if (percent >= lastLogged + 10) {
        lastLogged = percent;
        log.info({ output: job.output, percent }, 'archive: composing');
      }
    });
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`ffmpeg exited ${code}: ${errors.trim()}`)),
    );
  });
}
