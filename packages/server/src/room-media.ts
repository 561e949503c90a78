import { randomUUID } from 'node:crypto';
import {
  TetherError,
  type ClientOpFrame,
  type ErrorCode,
  type ServerEvent,
  type StreamInfo,
} from '@tether/protocol';
import type { MediaTap, Sfu } from './media/sfu.js';

export type OpResult =
  | { ok: true; stream?: StreamInfo; subscriptionId?: string; sdp?: string }
  | { ok: false; code: ErrorCode; detail?: string };

/** A media op runs later, in order with the other media ops of its connection. */
export type Deferred = () => Promise<OpResult>;

/** Routed, and this node is not (or no longer) the session's media home. */
const MOVED: OpResult = {
  ok: false,
  code: 'MEDIA_MOVED',
  detail: "this node does not run the session's media",
};

const NOT_ROUTED: OpResult = {
  ok: false,
  code: 'MEDIA_MODE_MISMATCH',
  detail: 'a relayed session negotiates peer to peer (relay)',
};

export type MediaOp = Extract<
  ClientOpFrame,
  {
    t:
      | 'publishMedia'
      | 'subscribe'
      | 'answerMedia'
      | 'restartMedia'
      | 'unsubscribe'
      | 'relay'
      | 'streamProperty';
  }
>;

interface Subscription {
  subscriptionId: string;
  streamId: string;
  /** The subscriber. */
  connectionId: string;
}

/** What the media side needs of its room. */
export interface RoomView {
  readonly streams: Map<string, StreamInfo>;
  /** Sends an event to one connection of the session, wherever it is. */
  send(event: ServerEvent, to: string): void;
  broadcast(event: ServerEvent, except?: string): void;
  /** This node now runs the session's SFU (a cluster's media home). */
  becameHome?(): void;
}

/**
 * Media of one session. Routed: negotiation with the SFU, which runs on one node of a cluster
 * (the session's media home, media-routing.ts): this node's SFU exists while it is that home.
 * Relayed: the server only passes offers and answers between publisher and subscriber. Either
 * way it keeps who subscribes to what, so every exit path (unsubscribe, unpublish, leave,
 * give-up) cleans up. Routed subscriptions are known at the home only; relayed ones on every
 * node, folded from the log (`observe`), since either party may be on any node.
 */
export class RoomMedia {
  private readonly subscriptions = new Map<string, Subscription>();
  private sfu: Sfu | undefined;
  /** The session's recording, which hears of every publisher's media here (archive/recording.ts). */
  private tap: MediaTap | undefined;

  constructor(
    private readonly room: RoomView,
    /** Makes the SFU, for routed sessions; undefined for relayed ones. */
    private readonly makeSfu: (() => Sfu) | undefined,
    /** One process: this node is always the media home, its SFU made at once. */
    home: boolean,
  ) {
    if (home) this.sfu = makeSfu?.();
  }

  get routed(): boolean {
    return this.makeSfu !== undefined;
  }

  /** Whether this node runs the session's SFU. */
  get isHome(): boolean {
    return this.sfu !== undefined;
  }

  /**
   * This node became the session's media home. `moved`: the media of the streams there are
   * was on another node; each publisher publishes again within the media window, or its stream
   * is given up (Sfu.expect).
   */
  becomeHome(moved: boolean): void {
    if (this.sfu || !this.makeSfu) return;
    this.sfu = this.makeSfu();
    if (this.tap) this.sfu.setTap(this.tap);
    if (moved) for (const streamId of this.room.streams.keys()) this.sfu.expect(streamId);
    this.room.becameHome?.();
  }

  /** A recording of the session starts here (or, undefined, stops): it taps every publisher's media. */
  record(tap: MediaTap | undefined): void {
    this.tap = tap;
    this.sfu?.setTap(tap);
  }

  /** This node is no longer the media home: its SFU and the subscriptions to it end. */
  leaveHome(): void {
    this.sfu?.close();
    this.sfu = undefined;
    if (this.routed) this.subscriptions.clear();
  }

  /** Relayed: a subscription made or ended, as the log tells every node (either party may be anywhere). */
  observe(event: ServerEvent): void {
    if (this.routed || event.t !== 'mediaRelay') return;
    if (event.kind === 'subscribe')
      this.subscriptions.set(event.subscriptionId, {
        subscriptionId: event.subscriptionId,
        streamId: event.streamId,
        connectionId: event.from,
      });
    else if (event.kind === 'unsubscribe') this.subscriptions.delete(event.subscriptionId);
  }

  /** Runs a media op of connection `connId` here (routed: this node is the media home). */
  run(connId: string, op: MediaOp): OpResult | Deferred {
    const conn = { id: connId };
    switch (op.t) {
      case 'streamProperty': {
        const stream = this.room.streams.get(op.streamId);
        if (!stream) return { ok: false, code: 'STREAM_NOT_FOUND', detail: op.streamId };
        if (stream.connectionId !== conn.id)
          return { ok: false, code: 'NOT_PERMITTED', detail: 'not your stream' };
        const changes = {
          ...(op.hasAudio !== undefined ? { hasAudio: op.hasAudio } : {}),
          ...(op.hasVideo !== undefined ? { hasVideo: op.hasVideo } : {}),
        };
        // The replica changes when the event comes back from the log.
        this.room.broadcast({ t: 'streamPropertyChanged', streamId: op.streamId, ...changes }, conn.id);
        return { ok: true };
      }
      case 'publishMedia': {
        if (!this.routed) return NOT_ROUTED;
        const sfu = this.sfu;
        if (!sfu) return MOVED;
        const stream = this.room.streams.get(op.streamId);
        if (!stream) return { ok: false, code: 'STREAM_NOT_FOUND', detail: op.streamId };
        if (stream.connectionId !== conn.id)
          return { ok: false, code: 'NOT_PERMITTED', detail: 'not your stream' };
        return async () => ({ ok: true, sdp: await sfu.publish(op.streamId, op.sdp, op.fresh === true) });
      }
      case 'subscribe': {
        const stream = this.room.streams.get(op.streamId);
        if (!stream) return { ok: false, code: 'STREAM_NOT_FOUND', detail: op.streamId };
        if (this.routed) {
          const sfu = this.sfu;
          if (!sfu) return MOVED;
          return async () => {
            if (!this.room.streams.has(op.streamId))
              return { ok: false, code: 'STREAM_NOT_FOUND', detail: op.streamId };
            const { subscriptionId, sdp } = await sfu.subscribe(op.streamId);
            this.subscriptions.set(subscriptionId, {
              subscriptionId,
              streamId: op.streamId,
              connectionId: conn.id,
            });
            return { ok: true, subscriptionId, sdp };
          };
        }
        // Relayed: known to every node once the log carries the publisher's `subscribe` (observe).
        const subscriptionId = randomUUID();
        this.room.send(
          { t: 'mediaRelay', subscriptionId, streamId: op.streamId, from: conn.id, kind: 'subscribe' },
          stream.connectionId,
        );
        return { ok: true, subscriptionId };
      }
      case 'answerMedia':
      case 'restartMedia': {
        if (!this.routed) return NOT_ROUTED;
        const sfu = this.sfu;
        if (!sfu) return MOVED;
        const sub = this.subscriptions.get(op.subscriptionId);
        if (!sub || sub.connectionId !== conn.id)
          return { ok: false, code: 'SUBSCRIPTION_NOT_FOUND', detail: op.subscriptionId };
        if (op.t === 'answerMedia')
          return async () => {
            await sfu.answer(op.subscriptionId, op.sdp);
            return { ok: true };
          };
        return async () => ({ ok: true, sdp: await sfu.restart(op.subscriptionId) });
      }
      case 'relay': {
        if (this.routed)
          return {
            ok: false,
            code: 'MEDIA_MODE_MISMATCH',
            detail: 'a routed session negotiates with the server',
          };
        const sub = this.subscriptions.get(op.subscriptionId);
        const stream = sub && this.room.streams.get(sub.streamId);
        if (!sub || !stream) return { ok: false, code: 'SUBSCRIPTION_NOT_FOUND', detail: op.subscriptionId };
        const peerId =
          conn.id === sub.connectionId
            ? stream.connectionId
            : conn.id === stream.connectionId
              ? sub.connectionId
              : undefined;
        if (!peerId) return { ok: false, code: 'NOT_PERMITTED', detail: 'not a party to this subscription' };
        this.room.send(
          {
            t: 'mediaRelay',
            subscriptionId: sub.subscriptionId,
            streamId: sub.streamId,
            from: conn.id,
            kind: op.kind,
            ...(op.sdp !== undefined ? { sdp: op.sdp } : {}),
          },
          peerId,
        );
        return { ok: true };
      }
      case 'unsubscribe': {
        const sub = this.subscriptions.get(op.subscriptionId);
        if (!sub || sub.connectionId !== conn.id)
          return { ok: false, code: 'SUBSCRIPTION_NOT_FOUND', detail: op.subscriptionId };
        this.endSubscription(sub, true);
        return { ok: true };
      }
    }
  }

  /** A stream ended: its media and subscriptions go with it (subscribers learn from streamDestroyed). */
  streamEnded(streamId: string): void {
    this.sfu?.closeStream(streamId);
    for (const sub of [...this.subscriptions.values()])
      if (sub.streamId === streamId) this.subscriptions.delete(sub.subscriptionId);
  }

  /**
   * A connection ended: its subscriptions end. Relayed, every node hears it and `announce` is
   * true on the one that held the connection: it tells each publisher, once.
   */
  connectionEnded(connectionId: string, announce: boolean): void {
    for (const sub of [...this.subscriptions.values()])
      if (sub.connectionId === connectionId) this.endSubscription(sub, announce);
  }

  close(): void {
    this.leaveHome();
    this.subscriptions.clear();
  }

  get subscriptionCount(): number {
    return this.subscriptions.size;
  }

  private endSubscription(sub: Subscription, announce: boolean): void {
    if (this.routed) {
      this.subscriptions.delete(sub.subscriptionId);
      this.sfu?.unsubscribe(sub.subscriptionId);
      return;
    }
    // Relayed: the `unsubscribe` the log carries ends it on every node (observe).
    const stream = this.room.streams.get(sub.streamId);
    if (!announce) return;
    if (!stream) this.subscriptions.delete(sub.subscriptionId);
    else
      this.room.send(
        {
          t: 'mediaRelay',
          subscriptionId: sub.subscriptionId,
          streamId: sub.streamId,
          from: sub.connectionId,
          kind: 'unsubscribe',
        },
        stream.connectionId,
      );
  }
}

export function failure(err: unknown): OpResult {
  if (err instanceof TetherError) return { ok: false, code: err.code, detail: err.message };
  return { ok: false, code: 'INTERNAL', detail: String(err) };
}
