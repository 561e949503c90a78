import {
  TetherError,
  type ErrorCode,
  type Reason,
  type StreamInfo,
  type TimerHandle,
  type VideoType,
} from '@tether/protocol';
import { gatheredSdp, peerConfig, resumeIceChecks } from '@tether/webrtc';
import { Emitter } from '../emitter.js';
import { MEDIA_TIMING, type MediaChannel } from './channel.js';
import { MediaRecovery, PathWatch } from './recovery.js';
import { transition, type PublisherState } from './publisher-state.js';
import { iceConnected } from './rtc.js';

export type { PublisherState } from './publisher-state.js';

export interface PublisherEvents {
  /** ZEGO-style: every state change, with the code that caused a fall back to noPublish. */
  stateChanged: { state: PublisherState; code?: ErrorCode };
  streamCreated: { stream: StreamInfo };
  streamDestroyed: { stream: StreamInfo; reason: Reason };
}

export interface PublisherOptions {
  name?: string;
  /** Tracks to send: from getUserMedia, a canvas, or (in Node) werift tracks. Default: camera and microphone (browsers). */
  tracks?: MediaStreamTrack[];
  audio?: boolean;
  video?: boolean;
  videoType?: VideoType;
  /** After giving up (media window passed), publish again once the network is back. Default true. */
  republish?: boolean;
}

interface Peer {
  pc: RTCPeerConnection;
  watch: PathWatch | undefined;
  recovery: MediaRecovery;
}

/**
 * A published stream with real media. Routed: one peer connection to the server's SFU.
 * Relayed: one per subscriber, negotiated through the server. Recovers on its own path.
 */
export class Publisher extends Emitter<PublisherEvents> {
  private _state: PublisherState = 'noPublish';
  private _stream: StreamInfo | undefined;
  private _tracks: MediaStreamTrack[] | undefined;
  private channel: MediaChannel | undefined;
  /** Routed: the peer to the SFU. */
  private upstream: Peer | undefined;
  /** Relayed: a peer per subscription. */
  private readonly peers = new Map<string, Peer>();
  private wanted = false;
  private republishPending = false;
  /** Routed, in a cluster: going up again on a fresh peer connection after `mediaMoved`. */
  private moving = false;
  /** A "not flowing" report from the server, acted on unless "flowing" follows at once. */
  private silenceTimer: TimerHandle | undefined;
  private audioOn: boolean;
  private videoOn: boolean;

  constructor(private readonly options: PublisherOptions = {}) {
    super();
    this._tracks = options.tracks;
    this.audioOn = options.audio ?? true;
    this.videoOn = options.video ?? true;
  }

  get state(): PublisherState {
    return this._state;
  }
  get stream(): StreamInfo | undefined {
    return this._stream;
  }
  get tracks(): MediaStreamTrack[] {
    return this._tracks ?? [];
  }

  /** Enables or disables the audio; subscribers see `streamPropertyChanged`. */
  async publishAudio(enabled: boolean): Promise<void> {
    this.audioOn = enabled;
    for (const t of this.tracks) if (t.kind === 'audio') t.enabled = enabled;
    if (this._stream && this.channel)
      await this.channel.request({ t: 'streamProperty', streamId: this._stream.streamId, hasAudio: enabled });
  }

  async publishVideo(enabled: boolean): Promise<void> {
    this.videoOn = enabled;
    for (const t of this.tracks) if (t.kind === 'video') t.enabled = enabled;
    if (this._stream && this.channel)
      await this.channel.request({ t: 'streamProperty', streamId: this._stream.streamId, hasVideo: enabled });
  }

  /** @internal The session starts publishing. */
  async start(channel: MediaChannel): Promise<StreamInfo> {
    this.channel = channel;
    this.wanted = true;
    this.republishPending = false;
    this.setState('publishRequesting');
    try {
      const tracks = await this.acquireTracks();
      const hasAudio = tracks.some((t) => t.kind === 'audio') && this.audioOn;
      const hasVideo = tracks.some((t) => t.kind === 'video') && this.videoOn;
      const { stream } = await channel.request({
        t: 'publish',
        stream: {
          name: this.options.name ?? '',
          hasAudio,
          hasVideo,
          videoType: this.options.videoType ?? 'camera',
        },
      });
      if (!stream) throw new TetherError('INTERNAL', 'publish reply without a stream');
      this._stream = stream;
      if (channel.routed) {
        this.upstream = this.makePeer(
          () => this.negotiateUpstream(true),
          () => this.giveUp(),
        );
        await this.negotiateUpstream(false);
        await iceConnected(this.upstream.pc, channel.clock);
      }
      this.setState('publishing');
      this.emit('streamCreated', { stream });
      return stream;
    } catch (err) {
      this.teardown();
      const code = err instanceof TetherError ? err.code : 'MEDIA_NEGOTIATION_FAILED';
      this.setState('noPublish', code);
      throw err instanceof TetherError ? err : new TetherError(code, String(err));
    }
  }

  /** @internal The application unpublished, or the session ended. */
  stop(reason: Reason): void {
    this.wanted = false;
    this.republishPending = false;
    const stream = this._stream;
    this.teardown();
    if (stream) this.emit('streamDestroyed', { stream, reason });
    if (this._state !== 'noPublish') this.setState('noPublish');
  }

  /** @internal Routed: the server says whether it receives our media. */
  mediaFlowing(flowing: boolean): void {
    const peer = this.upstream;
    const channel = this.channel;
    if (!peer || !channel) return;
    if (this.silenceTimer !== undefined) channel.clock.clearTimeout(this.silenceTimer);
    this.silenceTimer = undefined;
    if (flowing) {
      peer.recovery.recovered();
      return;
    }
    // A report of silence can be stale: one that waited out a cut (replayed on resume, or
    // retransmitted by TCP) comes right before the report that media flows again. Acting on
    // it would restart ICE on a path that works, interrupting media for nothing.
    this.silenceTimer = channel.clock.setTimeout(() => {
      this.silenceTimer = undefined;
      if (this.upstream === peer && !this.moving) peer.recovery.lost();
    }, MEDIA_TIMING.pollMs);
  }

  /**
   * @internal Routed, in a cluster: the session's media moved to another node, and the peer
   * connection to the old one is dead. The stream stays; its media goes up again on a fresh
   * peer connection (publishRequesting until it is connected), retried within the media
   * window and given up after it, as any media loss is.
   */
  moved(): void {
    const channel = this.channel;
    if (!channel?.routed || !this.upstream || !this._stream || this.moving) return;
    this.moving = true;
    if (this._state === 'publishing') this.setState('publishRequesting');
    this.rebuild(channel, channel.clock.now() + channel.mediaWindowMs);
  }

  private rebuild(channel: MediaChannel, deadline: number): void {
    this.closeUpstream();
    const peer = (this.upstream = this.makePeer(
      () => this.negotiateUpstream(true),
      () => this.giveUp(),
      false,
    ));
    const left = () => Math.max(1, deadline - channel.clock.now());
    const attempt = async () => {
      await this.negotiateUpstream(false, true);
      await iceConnected(peer.pc, channel.clock, Math.min(left(), MEDIA_TIMING.retryMs * 4));
    };
    attempt().then(
      () => {
        if (this.upstream !== peer) return;
        this.moving = false;
        peer.watch = this.watchPeer(peer);
        if (this._state === 'publishRequesting') this.setState('publishing');
      },
      () => {
        if (this.upstream !== peer) return;
        if (channel.clock.now() >= deadline) {
          this.moving = false;
          this.giveUp();
          return;
        }
        channel.clock.setTimeout(() => {
          if (this.upstream === peer) this.rebuild(channel, deadline);
        }, MEDIA_TIMING.retryMs);
      },
    );
  }

  /** @internal The server destroyed our stream (force-unpublished, or given up). */
  destroyed(reason: Reason): void {
    if (reason === 'networkDisconnected') this.giveUp();
    else this.stop(reason);
  }

  /** @internal Signalling is back: recover media, or publish again after a give-up. */
  signallingBack(): void {
    if (this.republishPending && this.channel?.connected) {
      this.republishPending = false;
      void this.start(this.channel).catch(() => undefined);
      return;
    }
    this.upstream?.recovery.signallingBack();
    for (const peer of this.peers.values()) peer.recovery.signallingBack();
  }

  /** @internal Relayed negotiation with one subscriber. */
  async relay(
    subscriptionId: string,
    kind: 'subscribe' | 'answer' | 'restart' | 'unsubscribe' | 'offer',
    sdp?: string,
  ): Promise<void> {
    if (kind === 'unsubscribe') {
      this.closePeer(subscriptionId);
      return;
    }
    if (kind === 'answer' && sdp) {
      const pc = this.peers.get(subscriptionId)?.pc;
      await pc?.setRemoteDescription({ type: 'answer', sdp });
      if (pc) resumeIceChecks(pc);
      return;
    }
    if (kind === 'subscribe' && !this.peers.has(subscriptionId)) {
      const peer = this.makePeer(
        () => this.offerTo(subscriptionId, true),
        () => this.closePeer(subscriptionId),
      );
      this.peers.set(subscriptionId, peer);
      await this.offerTo(subscriptionId, false);
      return;
    }
    if (kind === 'restart') await this.offerTo(subscriptionId, true);
  }

  private async offerTo(subscriptionId: string, iceRestart: boolean): Promise<void> {
    const peer = this.peers.get(subscriptionId);
    if (!peer || !this.channel) return;
    await peer.pc.setLocalDescription(await peer.pc.createOffer({ iceRestart }));
    const sdp = await gatheredSdp(peer.pc, this.channel.clock);
    await this.channel.request({ t: 'relay', subscriptionId, kind: 'offer', sdp });
  }

  /** `fresh`: the first offer of a new peer connection, to a media home that has never seen it. */
  private async negotiateUpstream(iceRestart: boolean, fresh = false): Promise<void> {
    const peer = this.upstream;
    const stream = this._stream;
    if (!peer || !stream || !this.channel) return;
    await peer.pc.setLocalDescription(await peer.pc.createOffer({ iceRestart }));
    const offer = await gatheredSdp(peer.pc, this.channel.clock);
    let sdp: string | undefined;
    try {
      ({ sdp } = await this.channel.request({
        t: 'publishMedia',
        streamId: stream.streamId,
        sdp: offer,
        ...(fresh ? { fresh: true } : {}),
      }));
    } catch (err) {
      // An ICE restart reached a media home that never had this peer connection: up again, fresh.
      if (!fresh && err instanceof TetherError && err.code === 'MEDIA_MOVED' && this.upstream === peer)
        this.moved();
      throw err;
    }
    if (!sdp) throw new TetherError('MEDIA_NEGOTIATION_FAILED', 'no answer from the server');
    await peer.pc.setRemoteDescription({ type: 'answer', sdp });
    resumeIceChecks(peer.pc);
  }

  /** `watched`: its path is watched from now on (a peer rebuilt after a move is watched once connected). */
  private makePeer(restart: () => Promise<void>, onGiveUp: () => void, watched = true): Peer {
    const channel = this.channel as MediaChannel;
    const pc = new channel.rtc.RTCPeerConnection(peerConfig(channel.iceServers));
    for (const track of this.tracks) pc.addTransceiver(track, { direction: 'sendonly' });
    const recovery = new MediaRecovery({
      clock: channel.clock,
      windowMs: channel.mediaWindowMs,
      retryMs: MEDIA_TIMING.retryMs,
      canSignal: () => channel.connected,
      restart,
      onDown: () => {
        if (this._state === 'publishing' && channel.routed) this.setState('publishRequesting');
      },
      onUp: () => {
        if (this._state === 'publishRequesting' && this._stream) this.setState('publishing');
      },
      onGiveUp,
    });
    const peer: Peer = { pc, watch: undefined, recovery };
    if (watched) peer.watch = this.watchPeer(peer);
    return peer;
  }

  private watchPeer(peer: Peer): PathWatch {
    const channel = this.channel as MediaChannel;
    // ICE state only: a publisher's own packet counters keep rising on a dead path.
    return new PathWatch(peer.pc, channel.clock, undefined, { idleMs: 0, pollMs: 0 }, (healthy) =>
      healthy ? peer.recovery.recovered() : peer.recovery.lost(),
    );
  }

  /** The media window passed: unpublish, fall back to noPublish, and publish again when the network is back. */
  private giveUp(): void {
    const stream = this._stream;
    const channel = this.channel;
    this.teardown();
    if (stream && channel) {
      channel
        .request({ t: 'unpublish', streamId: stream.streamId, reason: 'networkDisconnected' })
        .catch(() => undefined);
      this.emit('streamDestroyed', { stream, reason: 'networkDisconnected' });
    }
    this.setState('noPublish', 'MEDIA_TIMEOUT');
    if (this.wanted && (this.options.republish ?? true)) {
      this.republishPending = true;
      if (channel?.connected) this.signallingBack();
    }
  }

  private closePeer(subscriptionId: string): void {
    const peer = this.peers.get(subscriptionId);
    if (!peer) return;
    this.peers.delete(subscriptionId);
    peer.recovery.close();
    peer.watch?.close();
    peer.pc.close();
  }

  private closeUpstream(): void {
    if (!this.upstream) return;
    this.upstream.recovery.close();
    this.upstream.watch?.close();
    this.upstream.pc.close();
    this.upstream = undefined;
  }

  private teardown(): void {
    this._stream = undefined;
    this.moving = false;
    if (this.silenceTimer !== undefined) this.channel?.clock.clearTimeout(this.silenceTimer);
    this.silenceTimer = undefined;
    this.closeUpstream();
    for (const id of [...this.peers.keys()]) this.closePeer(id);
  }

  private async acquireTracks(): Promise<MediaStreamTrack[]> {
    if (this._tracks) return this._tracks;
    const media = (globalThis as { navigator?: Navigator }).navigator?.mediaDevices;
    if (!media)
      throw new TetherError('MEDIA_UNAVAILABLE', 'no getUserMedia here: pass `tracks` to the publisher');
    const stream = await media.getUserMedia({ audio: this.audioOn, video: this.videoOn });
    this._tracks = stream.getTracks();
    return this._tracks;
  }

  private setState(state: PublisherState, code?: ErrorCode): void {
    if (this._state === state && !code) return; // already there, nothing new to report
    this._state = transition(this._state, state);
    this.emit('stateChanged', { state, ...(code ? { code } : {}) });
  }
}
