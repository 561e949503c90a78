import {
  TetherError,
  type ErrorCode,
  type Reason,
  type StreamInfo,
  type TimerHandle,
} from '@tether/protocol';
import { gatheredSdp, resumeIceChecks } from '@tether/webrtc';
import { Emitter } from '../emitter.js';
import { MEDIA_TIMING, type MediaChannel } from './channel.js';
import { MediaRecovery, PathWatch } from './recovery.js';
import { iceConnected, packetsReceived } from './rtc.js';
import { transition, type SubscriberState } from './subscriber-state.js';

export type { SubscriberState } from './subscriber-state.js';

export interface SubscriberEvents {
  stateChanged: { state: SubscriberState; code?: ErrorCode };
  /**
   * The stream dropped: on this side (`local`), the publisher's (`publisher`), or the server's
   * (`server`: in a cluster, the session's media moved to another node and is coming back there).
   */
  disconnected: { cause: 'local' | 'publisher' | 'server' };
  /** It flows again. */
  connected: Record<string, never>;
  /** A received track, to render or consume. */
  track: { track: MediaStreamTrack };
  /** The stream ended (unpublished, publisher gone, or given up). */
  destroyed: { reason: Reason };
}

/**
 * Plays one remote stream. Watches its own path (ICE state and packet counters) and
 * the publisher's (the server tells), restarts ICE when its own side fails, and
 * resubscribes after giving up once the network is back.
 */
export class Subscriber extends Emitter<SubscriberEvents> {
  private _state: SubscriberState = 'noPlay';
  private _tracks: MediaStreamTrack[] = [];
  private pc: RTCPeerConnection | undefined;
  private watch: PathWatch | undefined;
  private recovery: MediaRecovery | undefined;
  private subscriptionId: string | undefined;
  private localOk = true;
  private publisherOk = true;
  private reported = true;
  private resubscribePending = false;
  /** Routed, in a cluster: subscribing again after `mediaMoved`. */
  private moving = false;
  private ended = false;
  private graceTimer: TimerHandle | undefined;

  constructor(
    readonly stream: StreamInfo,
    private readonly channel: MediaChannel,
  ) {
    super();
  }

  get state(): SubscriberState {
    return this._state;
  }
  get tracks(): MediaStreamTrack[] {
    return [...this._tracks];
  }
  /** The subscription id the server knows this subscriber by. */
  get id(): string | undefined {
    return this.subscriptionId;
  }

  /** @internal */
  async start(): Promise<void> {
    this.resubscribePending = false;
    this.setState('playRequesting');
    try {
      const reply = await this.channel.request({ t: 'subscribe', streamId: this.stream.streamId });
      if (!reply.subscriptionId) throw new TetherError('INTERNAL', 'subscribe reply without an id');
      this.subscriptionId = reply.subscriptionId;
      this.makePeer();
      if (this.channel.routed) {
        if (!reply.sdp) throw new TetherError('MEDIA_NEGOTIATION_FAILED', 'no offer from the server');
        await this.answer(reply.sdp);
      }
      await iceConnected(this.pc as RTCPeerConnection, this.channel.clock);
      this.setState('playing');
    } catch (err) {
      if (!this.ended) this.release();
      this.teardown();
      const code = err instanceof TetherError ? err.code : 'MEDIA_NEGOTIATION_FAILED';
      if (!this.ended) this.setState('noPlay', code);
      throw err instanceof TetherError ? err : new TetherError(code, String(err));
    }
  }

  /** @internal Relayed: the publisher's offer (first or ICE restart). */
  async relayOffer(sdp: string): Promise<void> {
    if (!this.pc) return;
    const answer = await this.answerSdp(sdp);
    if (this.subscriptionId)
      await this.channel.request({
        t: 'relay',
        subscriptionId: this.subscriptionId,
        kind: 'answer',
        sdp: answer,
      });
  }

  /** @internal Routed: whether the server receives the publisher's media. */
  publisherFlowing(flowing: boolean): void {
    this.publisherOk = flowing;
    if (flowing && !this.localOk) {
      // Packets should follow the server's word within a poll; if not, our own path is at fault.
      this.clearGrace();
      this.graceTimer = this.channel.clock.setTimeout(() => {
        this.graceTimer = undefined;
        if (!this.localOk && this.publisherOk) this.recovery?.lost();
      }, MEDIA_TIMING.idleMs);
    }
    this.report();
  }

  /**
   * @internal Routed, in a cluster: the session's media moved to another node; the
   * subscription went with the old one. It stays playing: `disconnected {cause: 'server'}`,
   * subscribe again (retried within the media window), `connected` once media flows — or
   * noPlay with MEDIA_TIMEOUT after the window, and a new subscription when the network allows.
   */
  moved(): void {
    if (this.ended || !this.channel.routed || this.moving || this._state !== 'playing') return;
    this.moving = true;
    this.teardown();
    this.subscriptionId = undefined;
    this.emit('disconnected', { cause: 'server' });
    this.resubscribe(this.channel.clock.now() + this.channel.mediaWindowMs);
  }

  private resubscribe(deadline: number): void {
    const { clock } = this.channel;
    const attempt = async () => {
      const reply = await this.channel.request({ t: 'subscribe', streamId: this.stream.streamId });
      if (!reply.subscriptionId || !reply.sdp)
        throw new TetherError('MEDIA_NEGOTIATION_FAILED', 'no subscription from the server');
      this.subscriptionId = reply.subscriptionId;
      if (this.ended) {
        this.release();
        return;
      }
      this.makePeer();
      await this.answer(reply.sdp);
      await iceConnected(this.pc as RTCPeerConnection, clock, Math.max(1, deadline - clock.now()));
    };
    attempt().then(
      () => {
        if (this.ended) return;
        this.moving = false;
        this.reported = true;
        this.emit('connected', {});
      },
      () => {
        if (this.ended) return;
        this.release();
        this.teardown();
        if (clock.now() < deadline) {
          clock.setTimeout(() => {
            if (!this.ended) this.resubscribe(deadline);
          }, MEDIA_TIMING.retryMs);
          return;
        }
        this.moving = false;
        this.setState('noPlay', 'MEDIA_TIMEOUT');
        this.resubscribePending = true;
        if (this.channel.connected) this.signallingBack();
      },
    );
  }

  /** @internal */
  signallingBack(): void {
    if (this.resubscribePending && this.channel.connected && !this.ended) {
      void this.start().catch(() => undefined);
      return;
    }
    this.recovery?.signallingBack();
  }

  /** @internal The stream ended, or the application unsubscribed. */
  end(reason: Reason): void {
    if (this.ended) return;
    this.ended = true;
    const id = this.subscriptionId;
    this.teardown();
    if (reason === 'clientDisconnected' && id)
      this.channel.request({ t: 'unsubscribe', subscriptionId: id }).catch(() => undefined);
    this.setState('noPlay');
    this.emit('destroyed', { reason });
  }

  private makePeer(): void {
    const pc = new this.channel.rtc.RTCPeerConnection({ iceServers: this.channel.iceServers });
    this.pc = pc;
    pc.ontrack = (ev: RTCTrackEvent) => {
      this._tracks.push(ev.track);
      this.emit('track', { track: ev.track });
    };
    this.recovery = new MediaRecovery({
      clock: this.channel.clock,
      windowMs: this.channel.mediaWindowMs,
      retryMs: MEDIA_TIMING.retryMs,
      canSignal: () => this.channel.connected,
      restart: () => this.restart(),
      onDown: () => undefined,
      onUp: () => undefined,
      onGiveUp: () => this.giveUp(),
    });
    this.watch = new PathWatch(pc, this.channel.clock, packetsReceived, MEDIA_TIMING, (healthy) => {
      this.localOk = healthy;
      if (healthy) this.recovery?.recovered();
      else if (this.publisherOk || pc.connectionState !== 'connected') this.recovery?.lost();
      this.report();
    });
  }

  private async restart(): Promise<void> {
    const id = this.subscriptionId;
    if (!id || this.moving) return;
    if (!this.channel.routed) {
      await this.channel.request({ t: 'relay', subscriptionId: id, kind: 'restart' });
      return;
    }
    const { sdp } = await this.channel.request({ t: 'restartMedia', subscriptionId: id });
    if (sdp) await this.answer(sdp);
  }

  private async answer(offer: string): Promise<void> {
    const sdp = await this.answerSdp(offer);
    if (this.subscriptionId)
      await this.channel.request({ t: 'answerMedia', subscriptionId: this.subscriptionId, sdp });
  }

  private async answerSdp(offer: string): Promise<string> {
    const pc = this.pc as RTCPeerConnection;
    await pc.setRemoteDescription({ type: 'offer', sdp: offer });
    await pc.setLocalDescription(await pc.createAnswer());
    const sdp = await gatheredSdp(pc, this.channel.clock);
    resumeIceChecks(pc);
    return sdp;
  }

  /** Emits disconnected/connected on the combined health of both sides. */
  private report(): void {
    const ok = this.localOk && this.publisherOk;
    if (ok === this.reported || this._state === 'noPlay' || this.moving) return;
    this.reported = ok;
    if (ok) this.emit('connected', {});
    else this.emit('disconnected', { cause: this.publisherOk ? 'local' : 'publisher' });
  }

  private giveUp(): void {
    this.release();
    this.teardown();
    this.setState('noPlay', 'MEDIA_TIMEOUT');
    this.resubscribePending = true;
    if (this.channel.connected) this.signallingBack();
  }

  /** Ends the server's side of a subscription given up on (or that never played), so it is not left behind. */
  private release(): void {
    const id = this.subscriptionId;
    this.subscriptionId = undefined;
    if (id) this.channel.request({ t: 'unsubscribe', subscriptionId: id }).catch(() => undefined);
  }

  private clearGrace(): void {
    if (this.graceTimer !== undefined) this.channel.clock.clearTimeout(this.graceTimer);
    this.graceTimer = undefined;
  }

  private teardown(): void {
    this.clearGrace();
    this.recovery?.close();
    this.watch?.close();
    this.pc?.close();
    this.recovery = undefined;
    this.watch = undefined;
    this.pc = undefined;
    this._tracks = [];
    this.localOk = true;
    this.reported = true;
  }

  private setState(state: SubscriberState, code?: ErrorCode): void {
    if (this._state === state && !code) return; // already there, nothing new to report
    this._state = transition(this._state, state);
    this.emit('stateChanged', { state, ...(code ? { code } : {}) });
  }
}
