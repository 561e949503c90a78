import {
  TetherError,
  type ClientOp,
  type Clock,
  type Reason,
  type ServerEventFrame,
  type StreamInfo,
} from '@tether/protocol';
import type { MediaChannel } from './media/channel.js';
import { Publisher } from './media/publisher.js';
import { rtcProvider, type RtcProvider } from './media/rtc.js';
import { Subscriber } from './media/subscriber.js';
import type { OpResult } from './pending-ops.js';

/** What media needs of its session, read live: mode, window and state change after a publisher is made. */
export interface MediaHost {
  clock: Clock;
  rtc?: RtcProvider;
  iceServers: RTCIceServer[];
  routed(): boolean;
  mediaWindowMs(): number;
  connected(): boolean;
  request(op: ClientOp): Promise<OpResult>;
  exception(code: string, message: string): void;
}

/**
 * The session's publishers and subscribers, and the signalling frames that concern them:
 * media flowing, relayed negotiation, a stream's end, and what a resume, a rejoin or the
 * end of the session means for each.
 */
export class MediaRouter {
  private readonly publishers = new Set<Publisher>();
  private readonly subscribers = new Set<Subscriber>();

  constructor(private readonly host: MediaHost) {}

  publish(publisher: Publisher): Promise<StreamInfo> {
    this.publishers.add(publisher);
    return publisher.start(this.channel());
  }

  /** Stops a publisher; resolves with its stream id, if it had a stream, for the session to unpublish. */
  unpublish(publisher: Publisher): string | undefined {
    this.publishers.delete(publisher);
    const streamId = publisher.stream?.streamId;
    publisher.stop('clientDisconnected');
    return streamId;
  }

  async subscribe(stream: StreamInfo): Promise<Subscriber> {
    const subscriber = new Subscriber(stream, this.channel());
    this.subscribers.add(subscriber);
    subscriber.on('destroyed', () => this.subscribers.delete(subscriber));
    await subscriber.start();
    return subscriber;
  }

  unsubscribe(subscriber: Subscriber): void {
    subscriber.end('clientDisconnected');
    this.subscribers.delete(subscriber);
  }

  /** A reliable frame about media; false if it is not one. */
  frame(frame: ServerEventFrame): boolean {
    if (frame.t === 'streamMedia') {
      for (const p of this.publishers)
        if (p.stream?.streamId === frame.streamId) p.mediaFlowing(frame.flowing);
      for (const s of this.subscribers)
        if (s.stream.streamId === frame.streamId) s.publisherFlowing(frame.flowing);
      return true;
    }
    if (frame.t === 'mediaRelay') {
      this.relay(frame);
      return true;
    }
    if (frame.t === 'mediaMoved') {
      // The session's SFU is on another node now: every peer connection to the old one is dead.
      for (const p of this.publishers) p.moved();
      for (const s of this.subscribers) s.moved();
      return true;
    }
    return false;
  }

  /** A stream ended for everyone: its publisher and subscribers here end with the reason. */
  streamEnded(streamId: string, reason: Reason): void {
    for (const p of this.publishers) if (p.stream?.streamId === streamId) p.destroyed(reason);
    for (const s of [...this.subscribers]) if (s.stream.streamId === streamId) s.end(reason);
  }

  /** Signalling resumed on the same connection: media that waited for it goes on. */
  resumed(): void {
    for (const p of this.publishers) p.signallingBack();
    for (const s of this.subscribers) s.signallingBack();
  }

  /** A fresh connection has none of the old streams: publish them again, drop old subscriptions. */
  rejoined(): void {
    for (const s of [...this.subscribers]) s.end('networkDisconnected');
    for (const p of this.publishers) p.destroyed('networkDisconnected');
  }

  /** The session ended. */
  ended(reason: Reason): void {
    for (const p of this.publishers) p.stop(reason);
    for (const s of this.subscribers) s.end(reason);
    this.publishers.clear();
    this.subscribers.clear();
  }

  private relay(frame: Extract<ServerEventFrame, { t: 'mediaRelay' }>): void {
    const fail = (err: unknown) =>
      this.host.exception(err instanceof TetherError ? err.code : 'MEDIA_NEGOTIATION_FAILED', String(err));
    if (frame.kind === 'offer') {
      for (const s of this.subscribers)
        if (s.id === frame.subscriptionId && frame.sdp) s.relayOffer(frame.sdp).catch(fail);
      return;
    }
    for (const p of this.publishers)
      if (p.stream?.streamId === frame.streamId)
        p.relay(frame.subscriptionId, frame.kind, frame.sdp).catch(fail);
  }

  private channel(): MediaChannel {
    const host = this.host;
    return {
      clock: host.clock,
      rtc: rtcProvider(host.rtc),
      iceServers: host.iceServers,
      get routed() {
        return host.routed();
      },
      get mediaWindowMs() {
        return host.mediaWindowMs();
      },
      get connected() {
        return host.connected();
      },
      request: (op) => host.request(op),
    };
  }
}
