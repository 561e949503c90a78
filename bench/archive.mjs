#!/usr/bin/env node
/**
 * bench/archive.mjs — what recording costs the server, against plain ffmpeg on the same media.
 *
 *   node bench/archive.mjs [--streams 1,4,8,16] [--seconds 10] [--reps 3]
 *
 * Real VP8/Opus (Debian's ffmpeg encodes a test pattern and a tone once, 320x240 at 15 fps;
 * the packets are captured and replayed by K werift publishers in this process, so encoding
 * costs the server nothing), K routed sessions with one publisher each, on a Tether server in
 * its own process.
 *
 * (a) individual: K archives at once, one WebM per stream written from RTP without re-encoding.
 *     Server CPU (its process, /proc) over the recording, less the same K streams forwarded
 *     without recording; frames in each file (ffprobe) against frames the publisher sent while
 *     it recorded, and any decode error (ffmpeg -v error). → streams one core records.
 *     Peer: plain ffmpeg remuxing (-c copy) one of the files: its CPU per minute of media.
 * (b) composed: the composing ffmpeg's CPU (user + sys, through a wrapper that reports it) per
 *     minute of media, against the same remux.
 */
import { Buffer } from 'node:buffer';
import { execFileSync, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { clearInterval, setInterval } from 'node:timers';
import { parseArgs } from 'node:util';
import { childRole, exitOnInterrupt, forkChild, serveParent } from './lib/child.mjs';
import { BENCH_PROJECT } from './lib/project.mjs';
import { median } from './lib/stats.mjs';

const SELF = fileURLToPath(import.meta.url);
const child = childRole();
const CLK_TCK = 100;

if (child?.role === 'server') {
  const { startServer } = await import('@tether/server');
  const [dataDir, ffmpeg] = child.args;
  const server = await startServer({
    port: 0,
    host: '127.0.0.1',
    projects: [BENCH_PROJECT],
    dataDir,
    logLevel: 'warn',
    archives: { ffmpeg },
  });
  serveParent({ url: server.url, pid: process.pid }, { close: async () => (await server.close(), {}) });
} else await main();

/** CPU seconds (user + system, all threads) a process has used. */
function cpuOf(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

/** ffmpeg encodes a few seconds once; the RTP packets, with their arrival offsets. */
async function capture(seconds) {
  const packets = { video: [], audio: [] };
  const socks = await Promise.all(
    ['video', 'audio'].map(
      (kind) =>
        new Promise((resolve) => {
          const s = createSocket('udp4');
          const t0 = Date.now();
          s.on('message', (m) => packets[kind].push({ at: Date.now() - t0, buf: Buffer.from(m) }));
          s.bind(0, '127.0.0.1', () => resolve(s));
        }),
    ),
  );
  const [vp, ap] = socks.map((s) => s.address().port);
  const ff = spawn(
    'ffmpeg',
    [
      ...['-hide_banner', '-nostdin', '-loglevel', 'error', '-re'],
      ...['-f', 'lavfi', '-t', String(seconds), '-i', 'testsrc=size=320x240:rate=15'],
      ...['-f', 'lavfi', '-t', String(seconds), '-i', 'sine=frequency=440:sample_rate=48000'],
      ...['-map', '0:v', '-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '16', '-b:v', '300k'],
      ...['-g', '15', '-an', '-f', 'rtp', '-payload_type', '96', `rtp://127.0.0.1:${vp}?pkt_size=1200`],
      ...['-map', '1:a', '-c:a', 'libopus', '-b:a', '32k', '-ac', '2', '-vn', '-f', 'rtp'],
      ...['-payload_type', '111', `rtp://127.0.0.1:${ap}?pkt_size=1200`],
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  await new Promise((r) => ff.once('exit', r));
  for (const s of socks) s.close();
  return packets;
}

/** Replays the captured packets into a werift track, looping, numbering on; counts video frames. */
function replay(werift, packets, track, kind, counter) {
  const list = packets[kind];
  const span = list.at(-1).at + (kind === 'video' ? 66 : 20);
  const clock = kind === 'video' ? 90 : 48;
  const first = werift.RtpPacket.deSerialize(list[0].buf);
  const seqs = list.length;
  let loop = 0;
  let i = 0;
  const t0 = Date.now();
  const timer = setInterval(() => {
    const now = Date.now() - t0;
    while (list[i] && loop * span + list[i].at <= now) {
      const p = werift.RtpPacket.deSerialize(list[i].buf);
      p.header.sequenceNumber = (first.header.sequenceNumber + loop * seqs + i) & 0xffff;
      p.header.timestamp = (p.header.timestamp + loop * span * clock) >>> 0;
      track.writeRtp(p);
      if (kind === 'video' && p.header.marker) counter.frames.push(Date.now());
      if (kind === 'video' && isVp8KeyframeStart(p.payload)) counter.keyframes.push(Date.now());
      if (++i === list.length) {
        i = 0;
        loop++;
      }
    }
  }, 5);
  return () => clearInterval(timer);
}

async function main() {
  const { values } = parseArgs({
    options: {
      streams: { type: 'string', default: '1,4,8,16' },
      seconds: { type: 'string', default: '10' },
      reps: { type: 'string', default: '3' },
    },
  });
  const counts = values.streams.split(',').map(Number);
  const seconds = Number(values.seconds);
  const reps = Number(values.reps);
  const werift = await import('werift');
  const { Session } = await import('@tether/client');
  const { TetherApi } = await import('@tether/server-sdk');
  const { createSessionId, createToken } = await import('@tether/auth');
  const rtc = { RTCPeerConnection: werift.RTCPeerConnection };

  const work = mkdtempSync(join(tmpdir(), 'tether-bench-archive-'));
  exitOnInterrupt(() => rmSync(work, { recursive: true, force: true }));
  // The composer's ffmpeg through a wrapper that appends the CPU seconds (user + system) it used.
  const timesLog = join(work, 'ffmpeg-times.log');
  const wrapper = join(work, 'ffmpeg');
  const cpuPy = join(work, 'cpu.py');
  writeFileSync(
    cpuPy,
    'import resource, subprocess, sys\n' +
      'rc = subprocess.call(sys.argv[2:])\n' +
      'u = resource.getrusage(resource.RUSAGE_CHILDREN)\n' +
      "open(sys.argv[1], 'a').write(str(u.ru_utime + u.ru_stime) + chr(10))\n" +
      'sys.exit(rc)\n',
  );
  writeFileSync(wrapper, `#!/bin/sh\nexec python3 ${cpuPy} ${timesLog} /usr/bin/ffmpeg "$@"\n`);
  chmodSync(wrapper, 0o755);

  process.stderr.write('capturing 6 s of VP8/Opus from ffmpeg…\n');
  const packets = await capture(6);
  const rows = [];
  for (const k of counts)
    for (let rep = 0; rep < reps; rep++) {
      const dataDir = mkdtempSync(join(work, 'data-'));
      const server = await forkChild(SELF, 'server', [dataDir, wrapper]);
      const api = new TetherApi({ url: server.info.url, ...BENCH_PROJECT });
      const pubs = [];
      try {
        for (let j = 0; j < k; j++) {
          const sessionId = createSessionId({ ...BENCH_PROJECT, mediaMode: 'routed' });
          const s = new Session({ url: server.info.url, sessionId, rtc });
          await s.connect(await createToken({ ...BENCH_PROJECT, sessionId }));
          const audio = new werift.MediaStreamTrack({ kind: 'audio' });
          const video = new werift.MediaStreamTrack({ kind: 'video' });
          const counter = { frames: [], keyframes: [] };
          const stops = [
            replay(werift, packets, video, 'video', counter),
            replay(werift, packets, audio, 'audio', counter),
          ];
          await s.publish(s.initPublisher({ name: `p${j}`, tracks: [audio, video] }));
          pubs.push({ s, sessionId, counter, stops });
        }
        await new Promise((r) => setTimeout(r, 1500));
        // Forwarding alone, as long as the recording will be: the baseline.
        let c0 = cpuOf(server.info.pid);
        await new Promise((r) => setTimeout(r, seconds * 1000));
        const forwardCpu = cpuOf(server.info.pid) - c0;
        c0 = cpuOf(server.info.pid);
        const t0 = Date.now();
        const archives = await Promise.all(
          pubs.map((p) => api.startArchive({ sessionId: p.sessionId, outputMode: 'individual' })),
        );
        // A file starts at a key frame (one a second here): frames before the first one after the
        // start cannot be in it, and are not counted as lost.
        const started = Date.now();
        await new Promise((r) => setTimeout(r, seconds * 1000));
        // Frames sent up to the stop call (less what can be on its way on loopback, 50 ms) must be in the files.
        const stopAt = Date.now() - 50;
        await Promise.all(archives.map((a) => api.stopArchive(a.id)));
        const t1 = Date.now();
        const recordCpu = cpuOf(server.info.pid) - c0;
        // Files: frames against frames sent while recording, and decode errors.
        let framesIn = 0;
        let framesOut = 0;
        let errors = 0;
        let file;
        for (const [j, a] of archives.entries()) {
          let got;
          for (let tries = 0; tries < 100; tries++) {
            got = await api.getArchive(a.id);
            if (got.status === 'available' || got.status === 'failed') break;
            await new Promise((r) => setTimeout(r, 100));
          }
          const stream = got.streams?.[0];
          file = join(dataDir, 'archives', a.id, `${stream.streamId}.webm`);
          const from = pubs[j].counter.keyframes.find((at) => at >= started) ?? started;
          framesIn += pubs[j].counter.frames.filter((at) => at >= from && at <= stopAt).length;
          framesOut += Number(
            execFileSync('ffprobe', [
              ...['-v', 'error', '-count_frames', '-select_streams', 'v:0'],
              ...['-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0', file],
            ])
              .toString()
              .trim(),
          );
          errors += execFileSync('ffmpeg', ['-v', 'error', '-i', file, '-f', 'null', '-'], {
            stdio: ['ignore', 'pipe', 'pipe'],
          }).length;
        }
        // The peer: plain ffmpeg remuxing one of the files (its CPU, per minute of media).
        // Twenty times over: one remux of seconds of media is near the clock tick.
        writeFileSync(timesLog, '');
        for (let i = 0; i < 20; i++)
          execFileSync(wrapper, ['-v', 'error', '-y', '-i', file, '-c', 'copy', join(work, 'remux.webm')]);
        const remuxCpu = cpuLogged(timesLog) / 20;
        // Composed: one archive over all K streams is not a session; compose one session's stream
        // is what ffmpeg does per stream: measured on the first session, after the rest.
        writeFileSync(timesLog, '');
        const composed = await api.startArchive({ sessionId: pubs[0].sessionId, outputMode: 'composed' });
        await new Promise((r) => setTimeout(r, seconds * 1000));
        await api.stopArchive(composed.id);
        for (let tries = 0; tries < 600; tries++) {
          const got = await api.getArchive(composed.id);
          if (got.status === 'available' || got.status === 'failed') break;
          await new Promise((r) => setTimeout(r, 100));
        }
        const composeCpu = cpuLogged(timesLog);
        const mediaMinutes = (t1 - t0) / 60_000;
        rows.push({
          k,
          rep,
          perStreamCpuPerMin: (recordCpu - forwardCpu) / k / mediaMinutes,
          framesIn,
          framesOut,
          errors,
          remuxCpuPerMin: remuxCpu / mediaMinutes,
          composeCpuPerMin: composeCpu / (seconds / 60),
        });
        process.stderr.write(`K=${k} rep ${rep + 1}/${reps}: ${JSON.stringify(rows.at(-1))}\n`);
      } finally {
        for (const p of pubs) {
          for (const stop of p.stops) stop();
          p.s.disconnect();
        }
        await server.stop();
      }
    }
  console.log(
    '\n| K streams | recording CPU per stream, s per media-minute | ffmpeg -c copy, same | frames kept | decode errors | composed ffmpeg, s per media-minute | composed / remux |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  for (const k of counts) {
    const r = rows.filter((x) => x.k === k);
    const rec = median(r.map((x) => x.perStreamCpuPerMin));
    const remux = median(r.map((x) => x.remuxCpuPerMin));
    const comp = median(r.map((x) => x.composeCpuPerMin));
    // A file may hold the frames sent after the stop call too (written until the stop lands): at most 100 %.
    const kept = Math.min(1, r.reduce((s, x) => s + x.framesOut, 0) / r.reduce((s, x) => s + x.framesIn, 0));
    const short = r.reduce((s, x) => s + Math.max(0, x.framesIn - x.framesOut), 0);
    const errs = r.reduce((s, x) => s + x.errors, 0);
    console.log(
      `| ${k} | ${rec.toFixed(3)} (one core: ${Math.floor(60 / rec)} streams) | ${remux.toFixed(3)} | ${(kept * 100).toFixed(1)} % (${short} short) | ${errs} | ${comp.toFixed(2)} | ${(comp / remux).toFixed(0)}× |`,
    );
  }
  if (!process.env.KEEP) rmSync(work, { recursive: true, force: true });
  else console.log(`kept ${work}`);
  process.exit(0);
}

/** Whether a VP8 RTP payload starts a key frame (RFC 7741: S bit, partition 0, P bit clear). */
function isVp8KeyframeStart(payload) {
  const b0 = payload[0];
  if (!(b0 & 0x10) || (b0 & 0x07) !== 0) return false;
  let i = 1;
  if (b0 & 0x80) {
    const x = payload[i++];
    if (x & 0x80) i += payload[i] & 0x80 ? 2 : 1;
    if (x & 0x40) i++;
    if (x & 0x30) i++;
  }
  return (payload[i] & 0x01) === 0;
}

/** The CPU seconds the wrapper logged, summed. */
function cpuLogged(file) {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .reduce((sum, line) => sum + Number(line), 0);
}
