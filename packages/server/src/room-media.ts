import { randomUUID } from 'node:crypto';
import {
  TetherError,
  type ClientOpFrame,
  type ErrorCode,
  type ServerEvent,
  type StreamInfo,
} from '@tether/protocol';
import type { Connection } from './connection.js';
import type { Sfu } from './media/sfu.js';

export type OpResult =
  | { ok: true; stream?: StreamInfo; subscriptionId?: string; sdp?: string }
  | { ok: false; code: ErrorCode; detail?: string };

/** A media op runs later, in order with the other media ops of its connection. */
export type Deferred = () => Promise<OpResult>;

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
  broadcast(event: ServerEvent, except?: Connection): void;
}

/**
 * Media of one session. Routed: negotiation with the SFU. Relayed: the server only passes
 * offers and answers between publisher and subscriber. Either way it keeps who subscribes
 * to what, so every exit path (unsubscribe, unpublish, leave, give-up) cleans up.
 */
export class RoomMedia {
  private readonly subscriptions = new Map<string, Subscription>();

  constructor(
    private readonly room: RoomView,
    /** The SFU, for routed sessions; undefined for relayed ones. */
    private readonly sfu: Sfu | undefined,
  ) {}

  get routed(): boolean {
    return this.sfu !== undefined;
  }

  run(conn: Connection, op: MediaOp): OpResult | Deferred {
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
        this.room.broadcast({ t: 'streamPropertyChanged', streamId: op.streamId, ...changes }, conn);
        return { ok: true };
      }
      case 'publishMedia': {
        const sfu = this.sfu;
        if (!sfu) return NOT_ROUTED;
        const stream = this.room.streams.get(op.streamId);
        if (!stream) return { ok: false, code: 'STREAM_NOT_FOUND', detail: op.streamId };
        if (stream.connectionId !== conn.id)
          return { ok: false, code: 'NOT_PERMITTED', detail: 'not your stream' };
        return async () => ({ ok: true, sdp: await sfu.publish(op.streamId, op.sdp) });
      }
      case 'subscribe': {
        const stream = this.room.streams.get(op.streamId);
        if (!stream) return { ok: false, code: 'STREAM_NOT_FOUND', detail: op.streamId };
        const sfu = this.sfu;
        if (sfu)
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
        const subscriptionId = randomUUID();
        this.subscriptions.set(subscriptionId, {
          subscriptionId,
          streamId: op.streamId,
          connectionId: conn.id,
        });
        this.room.send(
          { t: 'mediaRelay', subscriptionId, streamId: op.streamId, from: conn.id, kind: 'subscribe' },
          stream.connectionId,
        );
        return { ok: true, subscriptionId };
      }
      case 'answerMedia':
      case 'restartMedia': {
        const sfu = this.sfu;
        if (!sfu) return NOT_ROUTED;
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
        if (this.sfu)
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
        this.endSubscription(sub);
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

  /** A connection ended: its subscriptions end. */
  connectionEnded(connectionId: string): void {
    for (const sub of [...this.subscriptions.values()])
      if (sub.connectionId === connectionId) this.endSubscription(sub);
  }

  close(): void {
    this.sfu?.close();
    this.subscriptions.clear();
  }

  get subscriptionCount(): number {
    return this.subscriptions.size;
  }

  private endSubscription(sub: Subscription): void {
    this.subscriptions.delete(sub.subscriptionId);
    if (this.sfu) {
      this.sfu.unsubscribe(sub.subscriptionId);
      return;
    }
    const stream = this.room.streams.get(sub.streamId);
    if (stream)
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
