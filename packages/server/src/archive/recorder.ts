import { open as openFile, stat } from 'node:fs/promises';
import type { Clock, TimerHandle } from '@tether/protocol';
import {
  MediaStreamTrack,
  RTCRtpCodecParameters,
  Vp8RtpPayload,
  type RtcpPacket,
  type RtpPacket,
} from 'werift';
import { MediaRecorder } from 'werift/nonstandard';
import type { IngestListener, IngestSource, Kind } from '../media/sfu.js';

/**
 * After a stream's first packet, how long its other kind (and video's first key frame) may
 * take to show up before the file starts without them.
 */
export const KIND_WAIT_MS = 2000;
/** The frame size written when no key frame told it. */
const DEFAULT_SIZE = { width: 640, height: 480 };
/** Where werift's WebM writer puts the Segment's size: 8 bytes, rewritten as "unknown" (see finish). */
const SEGMENT_SIZE_AT = 40;
const UNKNOWN_SIZE = Buffer.from([0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
/** Packets held per kind while the file is being opened (a few hundred ms of media); past it they are dropped. */
const MAX_HELD = 512;

type RecorderState = 'waiting' | 'opening' | 'recording' | 'stopped';

/** What one file of a stream came to. */
export interface RecordedFile {
  /** Clock ms when its first packet was written (undefined: nothing arrived, no file). */
  startedAt: number | undefined;
  stoppedAt: number;
  kinds: Kind[];
  size: number;
}

/** The frame size a VP8 key frame's first packet carries (RFC 6386 §9.1), if it is one. */
export function vp8KeyframeSize(rtp: RtpPacket): { width: number; height: number } | undefined {
  const vp8 = Vp8RtpPayload.deSerialize(rtp.payload);
  if (!vp8.isKeyframe || vp8.payload.length < 10) return undefined;
  const p = vp8.payload;
  if (p[3] !== 0x9d || p[4] !== 0x01 || p[5] !== 0x2a) return undefined;
  return { width: p.readUInt16LE(6) & 0x3fff, height: p.readUInt16LE(8) & 0x3fff };
}

function codecOf(kind: Kind, payloadType: number): RTCRtpCodecParameters {
  // Tether negotiates Opus and VP8 only (MEDIA_NEGOTIATION_FAILED otherwise).
  return kind === 'audio'
    ? new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48000, channels: 2, payloadType })
    : new RTCRtpCodecParameters({ mimeType: 'video/VP8', clockRate: 90000, payloadType });
}

/**
 * Records one receiving end of a stream into one WebM file, as published: VP8 and Opus frames
 * taken from RTP (werift's jitter buffer, depacketizer, lip sync and WebM writer), never
 * re-encoded. The file holds the kinds that arrive (of `kinds`): it opens once each has sent
 * a packet (video: its first key frame), or KIND_WAIT_MS after the first. Frame times come from
 * the RTP timestamps, which go on advancing at the publisher while its network is down, so a
 * gap in its media is a gap in the file's timeline, and the file goes on when its media resumes. The file is written as it goes (a server that dies
 * leaves a playable prefix); stop() finishes it (duration, cues).
 */
export class StreamRecorder implements IngestListener {
  private state: RecorderState = 'waiting';
  private readonly first = new Map<Kind, number>();
  private readonly held = new Map<Kind, RtpPacket[]>();
  /** When the first packet held of each kind arrived: the file's time 0 is the earliest. */
  private readonly heldSince = new Map<Kind, number>();
  private readonly mirrors = new Map<Kind, MediaStreamTrack>();
  /** From video's first key frame: the file starts there. */
  private size: { width: number; height: number } | undefined;
  private recorder: MediaRecorder | undefined;
  private waitTimer: TimerHandle | undefined;
  private startedAt: number | undefined;
  private lastAudioSeq: number | undefined;
  private stopping: Promise<RecordedFile> | undefined;
  private readonly unlisten: () => void;

  constructor(
    private readonly source: IngestSource,
    readonly path: string,
    private readonly kinds: readonly Kind[],
    private readonly clock: Clock,
    /** The file opened: its first packets are in. */
    private readonly onStart: (startedAt: number, kinds: Kind[]) => void,
    /** The receiving end closed by itself (the stream ended or was published afresh). */
    private readonly onClosed: () => void,
    private readonly onError: (err: unknown) => void,
  ) {
    this.unlisten = source.listen(this);
    // A recording that starts mid-stream needs a key frame to begin its video with.
    if (kinds.includes('video')) source.requestKeyframe();
  }

  rtp(kind: Kind, rtp: RtpPacket): void {
    if (!this.kinds.includes(kind) || this.state === 'stopped') return;
    if (kind === 'audio' && !this.audioInOrder(rtp.header.sequenceNumber)) return;
    if (this.state === 'recording') {
      this.mirrors.get(kind)?.onReceiveRtp.execute(rtp.clone());
      return;
    }
    if (this.state === 'waiting' && !this.first.has(kind)) {
      this.first.set(kind, rtp.header.payloadType);
      if (this.first.size === 1) this.waitTimer = this.clock.setTimeout(() => this.open(), KIND_WAIT_MS);
    }
    const held = this.held.get(kind) ?? [];
    if (kind === 'video' && this.state === 'waiting' && !this.size) {
      // Video before its first key frame cannot be decoded (the writer would drop it): start there.
      const size = vp8KeyframeSize(rtp);
      if (!size) return;
      this.size = size;
      // Audio and video both begin here: with frame times from RTP timestamps, each kind's
      // first frame is its time 0, so they must begin together.
      held.length = 0;
      this.held.delete('audio');
      this.heldSince.clear();
    }
    if (!this.heldSince.has(kind)) this.heldSince.set(kind, this.clock.now());
    if (held.length < MAX_HELD) held.push(rtp.clone());
    this.held.set(kind, held);
    const videoReady = !this.kinds.includes('video') || this.size !== undefined;
    if (this.state === 'waiting' && this.first.size === this.kinds.length && videoReady) this.open();
  }

  /**
   * Audio has no jitter buffer on its way to the file (video has werift's): a packet older than
   * the last one written (a retransmission, a reordering) would put a frame back in time, which
   * breaks the file's timeline for players and for composing. It is dropped (20 ms of sound).
   */
  private audioInOrder(seq: number): boolean {
    const last = this.lastAudioSeq;
    if (last !== undefined) {
      const ahead = (seq - last + 0x10000) % 0x10000;
      if (ahead === 0 || ahead >= 0x8000) return false;
    }
    this.lastAudioSeq = seq;
    return true;
  }

  rtcp(kind: Kind, rtcp: RtcpPacket): void {
    if (!this.kinds.includes(kind) || this.state === 'stopped') return;
    if (this.state === 'recording') this.mirrors.get(kind)?.onReceiveRtcp.execute(rtcp);
  }

  closed(): void {
    this.onClosed();
  }

  private open(): void {
    if (this.state !== 'waiting') return;
    if (this.waitTimer !== undefined) this.clock.clearTimeout(this.waitTimer);
    this.state = 'opening';
    // Video that never sent a key frame in time is left out (it could not be decoded).
    const kinds = this.kinds.filter((k) => this.first.has(k) && (k !== 'video' || this.size));
    for (const kind of kinds) {
      const track = new MediaStreamTrack({ kind, codec: codecOf(kind, this.first.get(kind) as number) });
      this.mirrors.set(kind, track);
    }
    const recorder = new MediaRecorder({
      numOfTracks: kinds.length,
      path: this.path,
      ...(this.size ?? DEFAULT_SIZE),
      // Frame times from RTP timestamps (the publisher's media clock), not from its RTCP sender
      // reports: a sender report stamped late (a publisher whose event loop stalled) would
      // shift every frame after it, and the file would come out longer than the recording.
      disableNtp: true,
      // werift's lip sync holds frames in a buffer it drops at the end (the file would lose its last seconds);
      // both kinds begin together on the same media clock, so nothing needs re-syncing.
      disableLipSync: true,
    });
    this.recorder = recorder;
    recorder.onError.subscribe((err) => this.onError(err));
    // addTrack resolves once the writer listens to every track: what was held goes in then.
    void (async () => {
      for (const kind of kinds) await recorder.addTrack(this.mirrors.get(kind) as MediaStreamTrack);
    })().then(
      () => {
        if (this.state !== 'opening') return;
        this.state = 'recording';
        this.startedAt = Math.min(...kinds.map((k) => this.heldSince.get(k) ?? this.clock.now()));
        for (const kind of kinds) {
          const track = this.mirrors.get(kind) as MediaStreamTrack;
          for (const rtp of this.held.get(kind) ?? []) track.onReceiveRtp.execute(rtp);
        }
        this.held.clear();
        this.onStart(this.startedAt, kinds);
      },
      (err: unknown) => this.onError(err),
    );
  }

  /** Finishes the file (idempotent): what it came to. */
  stop(): Promise<RecordedFile> {
    this.stopping ??= this.finish();
    return this.stopping;
  }

  private async finish(): Promise<RecordedFile> {
    const wasRecording = this.state === 'recording';
    this.state = 'stopped';
    this.unlisten();
    if (this.waitTimer !== undefined) this.clock.clearTimeout(this.waitTimer);
    this.held.clear();
    const stoppedAt = this.clock.now();
    const kinds = [...this.mirrors.keys()];
    if (!this.recorder || !wasRecording) {
      await this.recorder?.stop().catch(() => undefined);
      return { startedAt: undefined, stoppedAt, kinds: [], size: 0 };
    }
    await this.recorder.stop();
    // werift gives the Segment a size when it ends, but its Clusters have none, which players
    // read as an error ("unknown-sized element inside parent with finite size"): an unknown
    // Segment size, as a live WebM has, is valid with them, and its Duration stays.
    const file = await openFile(this.path, 'r+');
    await file.write(UNKNOWN_SIZE, 0, UNKNOWN_SIZE.length, SEGMENT_SIZE_AT).finally(() => file.close());
    const size = await stat(this.path).then(
      (s) => s.size,
      () => 0,
    );
    return { startedAt: this.startedAt, stoppedAt, kinds, size };
  }
}
