import { randomUUID } from 'node:crypto';
import { TetherError, type Clock, type TimerHandle } from '@tether/protocol';
import { gatheredSdp, peerConfig, resumeIceChecks } from '@tether/webrtc';
import type { Logger } from 'pino';
import {
  MediaStreamTrack,
  RTCPeerConnection,
  type RTCRtpTransceiver,
  type RtcpPacket,
  type RtpPacket,
} from 'werift';
import { PacketActivity } from './activity.js';

export interface SfuOptions {
  clock: Clock;
  log: Logger;
  /** No packet from a publisher for this long: its media is interrupted. */
  mediaTimeoutMs: number;
  /** Interrupted for this long: the stream is given up. */
  mediaWindowMs: number;
  /** The addresses werift may gather ICE candidates on (default: all IPv4 interfaces). */
  iceAdditionalHostAddresses?: string[];
}

export interface SfuHooks {
  /** A publisher's media stopped or resumed. */
  onFlowing(streamId: string, flowing: boolean): void;
  /** A publisher's media stayed interrupted past the media window. */
  onGiveUp(streamId: string): void;
}

export type Kind = 'audio' | 'video';

/** What a recording hears of one receiving end (archive/recording.ts). */
export interface IngestListener {
  rtp(kind: Kind, rtp: RtpPacket): void;
  rtcp(kind: Kind, rtcp: RtcpPacket): void;
  /** The receiving end closed: its stream ended, or a fresh one replaced it. */
  closed(): void;
}

/** One publisher's receiving end, as a recording taps it: its RTP as it arrives, never decoded. */
export interface IngestSource {
  readonly streamId: string;
  listen(listener: IngestListener): () => void;
  requestKeyframe(): void;
}

/** Hears of every receiving end the SFU makes: a recording of the session. */
export interface MediaTap {
  ingest(source: IngestSource): void;
}

/** How long a subscriber to a stream announced but not yet negotiated waits for its publisher's offer. */
export const EARLY_SUBSCRIBER_WAIT_MS = 10_000;

/** The server end of one published stream: receives its RTP and fans it out. */
class Ingest implements IngestSource {
  readonly pc: RTCPeerConnection;
  readonly outputs = new Map<string, Egress>();
  private readonly listeners = new Set<IngestListener>();
  readonly activity: PacketActivity;
  private readonly ssrcs = new Map<Kind, { ssrc: number; transceiver: RTCRtpTransceiver }>();
  windowTimer: TimerHandle | undefined;

  constructor(
    readonly streamId: string,
    private readonly opts: SfuOptions,
    hooks: SfuHooks,
  ) {
    this.pc = new RTCPeerConnection(sfuPeer());
    this.activity = new PacketActivity(opts.clock, opts.mediaTimeoutMs, (flowing) => {
      if (this.windowTimer !== undefined) opts.clock.clearTimeout(this.windowTimer);
      this.windowTimer = undefined;
      if (!flowing)
        this.windowTimer = opts.clock.setTimeout(() => hooks.onGiveUp(streamId), opts.mediaWindowMs);
      hooks.onFlowing(streamId, flowing);
    });
    this.pc.onTrack.subscribe((track) => {
      const kind = track.kind as Kind;
      const transceiver = this.pc.getTransceivers().find((t) => t.receiver.tracks.includes(track));
      if (transceiver && track.ssrc !== undefined) this.ssrcs.set(kind, { ssrc: track.ssrc, transceiver });
      track.onReceiveRtp.subscribe((rtp: RtpPacket) => {
        this.activity.touch();
        for (const out of this.outputs.values()) out.forward(kind, rtp);
        for (const l of this.listeners) l.rtp(kind, rtp);
      });
      track.onReceiveRtcp.subscribe((rtcp: RtcpPacket) => {
        for (const l of this.listeners) l.rtcp(kind, rtcp);
      });
    });
  }

  listen(listener: IngestListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Asks the publisher for a key frame, so a new or recovered subscriber can decode at once. */
  requestKeyframe(): void {
    const video = this.ssrcs.get('video');
    if (video) video.transceiver.receiver.sendRtcpPLI(video.ssrc).catch(() => undefined);
  }

  close(): void {
    for (const l of this.listeners) l.closed();
    this.listeners.clear();
    this.activity.close();
    if (this.windowTimer !== undefined) this.opts.clock.clearTimeout(this.windowTimer);
    for (const out of this.outputs.values()) out.close();
    this.outputs.clear();
    void this.pc.close();
  }
}

/** The server end of one subscription: sends a stream's RTP to one subscriber. */
class Egress {
  readonly pc: RTCPeerConnection;
  private readonly tracks = new Map<Kind, MediaStreamTrack>();
  packetsOut = 0;

  constructor(
    readonly subscriptionId: string,
    /** Replaced when its publisher publishes again on a fresh peer connection. */
    public ingest: Ingest,
  ) {
    this.pc = new RTCPeerConnection(sfuPeer());
    for (const kind of ['audio', 'video'] as const) {
      const track = new MediaStreamTrack({ kind });
      this.tracks.set(kind, track);
      const transceiver = this.pc.addTransceiver(track, { direction: 'sendonly' });
      // A subscriber whose decoder lost its reference frames asks for a key frame: pass it on.
      if (kind === 'video')
        transceiver.sender.onPictureLossIndication.subscribe(() => this.ingest.requestKeyframe());
    }
    this.pc.connectionStateChange.subscribe((state) => {
      if (state === 'connected') this.ingest.requestKeyframe();
    });
  }

  forward(kind: Kind, rtp: RtpPacket): void {
    if (this.pc.connectionState !== 'connected') return;
    this.tracks.get(kind)?.writeRtp(rtp);
    this.packetsOut++;
  }

  close(): void {
    void this.pc.close();
  }
}

/** Host candidates over IPv4 suffice for a self-hosted SFU. A fresh object each time: werift keeps what it is given. */
function sfuPeer() {
  return { ...peerConfig(), iceUseIpv4: true, iceUseIpv6: false };
}

async function negotiate<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof TetherError) throw err;
    throw new TetherError('MEDIA_NEGOTIATION_FAILED', `${what}: ${(err as Error).message}`);
  }
}

/**
 * The selective forwarding unit of routed sessions, built on werift: one receiving peer
 * connection per published stream, one sending peer connection per subscription, RTP
 * forwarded as it is (never decoded). Media recovers on its own path: publishers and
 * subscribers restart ICE by renegotiating through the (resumed) signalling.
 */
export class Sfu {
  private readonly ingests = new Map<string, Ingest>();
  private readonly egresses = new Map<string, Egress>();
  /** Subscribers waiting for a stream's media to arrive. */
  private readonly waiting = new Map<string, Array<() => void>>();
  /** Streams whose media was on another node (the media moved here): each gives up unless published again in time. */
  private readonly expected = new Map<string, TimerHandle>();
  /** A recording of the session: it hears of every receiving end. */
  private tap: MediaTap | undefined;

  constructor(
    private readonly opts: SfuOptions,
    private readonly hooks: SfuHooks,
  ) {}

  /**
   * Publisher offer → answer. An ICE restart renegotiates the receiving end there is; `fresh`
   * (an offer from a new peer connection) replaces it, keeping its subscribers. A stream whose
   * media moved here must come fresh: an ICE restart of a peer connection whose other end was
   * on the node that is gone cannot succeed (MEDIA_MOVED).
   */
  async publish(streamId: string, offer: string, fresh = false): Promise<string> {
    let ingest = this.ingests.get(streamId);
    if (!ingest && this.expected.has(streamId) && !fresh)
      throw new TetherError('MEDIA_MOVED', 'publish again on a fresh peer connection');
    if (ingest && fresh) {
      const old = ingest;
      ingest = new Ingest(streamId, this.opts, this.hooks);
      for (const [id, out] of old.outputs) {
        ingest.outputs.set(id, out);
        out.ingest = ingest;
      }
      old.outputs.clear();
      old.close();
      this.ingests.set(streamId, ingest);
      this.tap?.ingest(ingest);
    }
    if (!ingest) {
      this.unexpect(streamId);
      ingest = new Ingest(streamId, this.opts, this.hooks);
      this.ingests.set(streamId, ingest);
      this.tap?.ingest(ingest);
      for (const wake of this.waiting.get(streamId) ?? []) wake();
      this.waiting.delete(streamId);
    }
    const pc = ingest.pc;
    return negotiate('publish', async () => {
      await pc.setRemoteDescription({ type: 'offer', sdp: offer });
      await pc.setLocalDescription(await pc.createAnswer());
      const sdp = await gatheredSdp(pc, this.opts.clock);
      resumeIceChecks(pc);
      return sdp;
    });
  }

  /**
   * The media moved here: the stream's publisher publishes again (fresh) within the media
   * window, or the stream is given up, as one whose media stopped.
   */
  expect(streamId: string): void {
    if (this.ingests.has(streamId) || this.expected.has(streamId)) return;
    this.expected.set(
      streamId,
      this.opts.clock.setTimeout(() => {
        this.expected.delete(streamId);
        this.hooks.onGiveUp(streamId);
      }, this.opts.mediaWindowMs),
    );
  }

  private unexpect(streamId: string): void {
    const timer = this.expected.get(streamId);
    if (timer !== undefined) this.opts.clock.clearTimeout(timer);
    this.expected.delete(streamId);
  }

  /** A recording starts (or, undefined, stops): it hears of the receiving ends there are, then of each new one. */
  setTap(tap: MediaTap | undefined): void {
    this.tap = tap;
    if (tap) for (const ingest of this.ingests.values()) tap.ingest(ingest);
  }

  isFlowing(streamId: string): boolean {
    return this.ingests.get(streamId)?.activity.flowing ?? false;
  }

  /** A new subscription → the server's offer. */
  async subscribe(streamId: string): Promise<{ subscriptionId: string; sdp: string }> {
    // A stream is announced before its publisher's offer arrives: an early subscriber waits for it.
    if (!this.ingests.has(streamId)) await this.ingestOf(streamId, EARLY_SUBSCRIBER_WAIT_MS);
    const ingest = this.ingests.get(streamId);
    if (!ingest) throw new TetherError('STREAM_NOT_FOUND', `${streamId} has no media yet`);
    const egress = new Egress(randomUUID(), ingest);
    this.egresses.set(egress.subscriptionId, egress);
    ingest.outputs.set(egress.subscriptionId, egress);
    const sdp = await negotiate('subscribe', async () => {
      await egress.pc.setLocalDescription(await egress.pc.createOffer());
      return gatheredSdp(egress.pc, this.opts.clock);
    });
    return { subscriptionId: egress.subscriptionId, sdp };
  }

  async answer(subscriptionId: string, answer: string): Promise<void> {
    const egress = this.egress(subscriptionId);
    await negotiate('answer', async () => {
      await egress.pc.setRemoteDescription({ type: 'answer', sdp: answer });
      resumeIceChecks(egress.pc);
    });
  }

  /** An ICE-restart offer for a subscription whose path died. */
  async restart(subscriptionId: string): Promise<string> {
    const egress = this.egress(subscriptionId);
    return negotiate('restart', async () => {
      await egress.pc.setLocalDescription(await egress.pc.createOffer({ iceRestart: true }));
      return gatheredSdp(egress.pc, this.opts.clock);
    });
  }

  unsubscribe(subscriptionId: string): boolean {
    const egress = this.egresses.get(subscriptionId);
    if (!egress) return false;
    this.egresses.delete(subscriptionId);
    egress.ingest.outputs.delete(subscriptionId);
    egress.close();
    return true;
  }

  /** The stream is gone: its ingest and every subscription to it close. */
  closeStream(streamId: string): string[] {
    this.unexpect(streamId);
    for (const wake of this.waiting.get(streamId) ?? []) wake();
    this.waiting.delete(streamId);
    const ingest = this.ingests.get(streamId);
    if (!ingest) return [];
    const ended = [...ingest.outputs.keys()];
    for (const id of ended) this.egresses.delete(id);
    this.ingests.delete(streamId);
    ingest.close();
    return ended;
  }

  /** Counts for leak tests and metrics. */
  stats(): { ingests: number; egresses: number; packetsOut: number } {
    let packetsOut = 0;
    for (const e of this.egresses.values()) packetsOut += e.packetsOut;
    return { ingests: this.ingests.size, egresses: this.egresses.size, packetsOut };
  }

  close(): void {
    for (const id of [...this.expected.keys()]) this.unexpect(id);
    for (const id of [...this.ingests.keys()]) this.closeStream(id);
    for (const id of [...this.egresses.keys()]) this.unsubscribe(id);
  }

  private ingestOf(streamId: string, timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const list = this.waiting.get(streamId) ?? [];
      const timer = this.opts.clock.setTimeout(resolve, timeoutMs);
      list.push(() => {
        this.opts.clock.clearTimeout(timer);
        resolve();
      });
      this.waiting.set(streamId, list);
    });
  }

  private egress(subscriptionId: string): Egress {
    const egress = this.egresses.get(subscriptionId);
    if (!egress) throw new TetherError('SUBSCRIPTION_NOT_FOUND', subscriptionId);
    return egress;
  }
}
