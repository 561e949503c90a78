import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { MediaStreamTrack, RtpPacket } from 'werift';

/**
 * Real VP8 and Opus RTP, encoded live by ffmpeg (Debian's /usr/bin/ffmpeg) from its test
 * pattern and a sine tone, fed into werift tracks: what a camera and a microphone publish,
 * for tests whose receivers decode (recordings checked with ffprobe). A key frame every
 * `keyframeEverySec` (ffmpeg's RTP output cannot answer a PLI).
 */
export class EncodedSource {
  readonly audio = new MediaStreamTrack({ kind: 'audio' });
  readonly video = new MediaStreamTrack({ kind: 'video' });
  /** RTP packets fed to the tracks, per kind. */
  readonly sent = { audio: 0, video: 0 };
  private ffmpeg: ChildProcess | undefined;
  private readonly sockets: Socket[] = [];
  private paused = false;
  /** [wall ms, RTP timestamp] of the audio fed, bounded (the last ~3 minutes). */
  private readonly audioLog: Array<[number, number]> = [];

  constructor(
    private readonly opts: { width?: number; height?: number; fps?: number; keyframeEverySec?: number } = {},
  ) {}

  get tracks(): globalThis.MediaStreamTrack[] {
    return [this.audio, this.video] as unknown as globalThis.MediaStreamTrack[];
  }

  async start(): Promise<void> {
    const [videoPort, audioPort] = await Promise.all([this.listen('video'), this.listen('audio')]);
    const { width = 320, height = 240, fps = 10, keyframeEverySec = 1 } = this.opts;
    const args = [
      ...['-hide_banner', '-nostdin', '-loglevel', 'error', '-re'],
      // Bounded (10 min): an encoder whose parent was killed cannot run on for ever.
      ...['-f', 'lavfi', '-t', '600', '-i', `testsrc=size=${width}x${height}:rate=${fps}`],
      ...['-f', 'lavfi', '-t', '600', '-i', 'sine=frequency=440:sample_rate=48000'],
      ...['-map', '0:v', '-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '16', '-b:v', '200k'],
      ...['-g', String(fps * keyframeEverySec), '-an', '-f', 'rtp', '-payload_type', '96'],
      `rtp://127.0.0.1:${videoPort}?pkt_size=1200`,
      ...['-map', '1:a', '-c:a', 'libopus', '-b:a', '32k', '-ac', '2', '-vn', '-f', 'rtp'],
      ...['-payload_type', '111', `rtp://127.0.0.1:${audioPort}?pkt_size=1200`],
    ];
    this.ffmpeg = spawn('ffmpeg', args, { stdio: ['ignore', 'ignore', 'inherit'] });
  }

  /** Stops feeding the tracks (the encoder goes on): the publisher sends nothing while paused. */
  pause(paused: boolean): void {
    this.paused = paused;
  }

  /**
   * Seconds of media fed between two wall-clock times (by the audio's RTP timestamps): what a
   * recording of that span can hold. Less than the span when the encoder fell behind real time
   * (a loaded machine), so tests compare files with it.
   */
  mediaSeconds(fromMs: number, toMs: number): number {
    const fed = this.audioLog.filter(([at]) => at >= fromMs && at <= toMs);
    const first = fed[0];
    const last = fed.at(-1);
    if (!first || !last) return 0;
    return ((last[1] - first[1]) >>> 0) / 48000 + 0.02;
  }

  stop(): void {
    this.ffmpeg?.kill('SIGKILL');
    this.ffmpeg = undefined;
    for (const s of this.sockets.splice(0)) s.close();
  }

  private listen(kind: 'audio' | 'video'): Promise<number> {
    const socket = createSocket('udp4');
    this.sockets.push(socket);
    const track = kind === 'audio' ? this.audio : this.video;
    socket.on('message', (data) => {
      if (this.paused) return;
      const rtp = RtpPacket.deSerialize(data);
      // ffmpeg also sends RTCP on port + 1; an RTP port only carries RTP (version 2, payload 96/111).
      if (rtp.header.payloadType !== 96 && rtp.header.payloadType !== 111) return;
      this.sent[kind]++;
      if (kind === 'audio') {
        this.audioLog.push([Date.now(), rtp.header.timestamp]);
        if (this.audioLog.length > 10_000) this.audioLog.splice(0, 1000);
      }
      track.writeRtp(rtp);
    });
    return new Promise((resolve) =>
      socket.bind(0, '127.0.0.1', () => resolve((socket.address() as AddressInfo).port)),
    );
  }
}
