import { randomUUID } from 'node:crypto';
import {
  LIMITS,
  checkSignal,
  errorMessage,
  errorNumber,
  wellFormed,
  type ClientOpFrame,
  type Codec,
  type ServerFrame,
  type Wire,
  type ErrorCode,
  type PeerConnection,
  type Reason,
  type ServerEvent,
  type SessionInfo,
  type StreamInfo,
} from '@tether/protocol';
import type { Connection } from './connection.js';
import { isConfirmed, type ConnectionState } from './connection-state.js';
import { RoomMedia, failure, type Deferred, type MediaOp, type OpResult } from './room-media.js';
import type { Sfu, SfuHooks } from './media/sfu.js';

/**
 * The reasons the server ends a connection with. Not `tokenExpired`: a token is checked when
 * joining only (PROTOCOL.md, Tokens); not `resumeFailed`: that is the client's ending.
 */
export type EndReason = Exclude<Reason, 'tokenExpired' | 'resumeFailed'>;

export interface RoomHooks {
  /** A connection ended for good (for tombstones, metrics and logs); `seen` is false for one nobody was told of. */
  onDestroyed(conn: Connection, reason: EndReason, code: ErrorCode, seen: boolean): void;
  /** The last connection left. */
  onEmpty(room: Room): void;
}

/** The code a connection is closed with for each reason. */
const CLOSE_CODE: Record<EndReason, ErrorCode> = {
  clientDisconnected: 'LEFT',
  networkDisconnected: 'NETWORK_DISCONNECTED',
  forceDisconnected: 'FORCE_DISCONNECTED',
  forceUnpublished: 'FORCE_DISCONNECTED',
  serverShutdown: 'SERVER_SHUTDOWN',
  bufferOverflow: 'BUFFER_OVERFLOW',
  protocolError: 'ABUSE_CLOSED',
};

/**
 * The live state of one session on this server: its connections and streams, presence
 * fan-out and the semantics of every client operation. Knows nothing of sockets.
 */
export class Room {
  /** The confirmed connections: everyone sees these (presence, the HTTP API). */
  readonly connections = new Map<string, Connection>();
  /**
   * Welcomed but unconfirmed: they receive the session's events (their welcome's snapshot
   * stays current) but nobody is told of them until their client shows the welcome arrived.
   */
  readonly pending = new Map<string, Connection>();
  readonly streams = new Map<string, StreamInfo>();
  /** The server is shutting down: no more broadcasts. */
  closing = false;

  readonly media: RoomMedia;

  constructor(
    readonly session: SessionInfo,
    private readonly hooks: RoomHooks,
    private readonly now: () => number,
    /** Makes the SFU of a routed session. */
    makeSfu: (hooks: SfuHooks) => Sfu,
  ) {
    const sfu =
      session.mediaMode === 'routed'
        ? makeSfu({
            onFlowing: (streamId, flowing) => {
              if (this.streams.has(streamId)) this.broadcast({ t: 'streamMedia', streamId, flowing });
            },
            onGiveUp: (streamId) => this.destroyStream(streamId, 'networkDisconnected'),
          })
        : undefined;
    this.media = new RoomMedia(
      {
        streams: this.streams,
        connection: (id) => this.member(id),
        broadcast: (e, x) => this.broadcast(e, x),
      },
      sfu,
    );
  }

  get id(): string {
    return this.session.sessionId;
  }

  /** Everyone else, as a joining client should see them. */
  peersOf(conn: Connection): PeerConnection[] {
    const peers: PeerConnection[] = [];
    for (const other of this.connections.values())
      if (other !== conn)
        peers.push({ ...other.info, ...(other.state === 'interrupted' ? { reconnecting: true } : {}) });
    return peers;
  }

  /** A connection of this session, confirmed or not (for callers that already know its id). */
  member(id: string): Connection | undefined {
    return this.connections.get(id) ?? this.pending.get(id);
  }

  /** Every connection, confirmed or not. */
  members(): Connection[] {
    return [...this.connections.values(), ...this.pending.values()];
  }

  /** A welcomed connection joins unseen. */
  admit(conn: Connection): void {
    this.pending.set(conn.id, conn);
  }

  /** Its client confirmed the welcome: from now on the others see it. */
  confirm(conn: Connection): void {
    if (this.pending.get(conn.id) !== conn) return;
    conn.confirm();
    this.pending.delete(conn.id);
    this.broadcast({ t: 'connectionCreated', connection: conn.info }, conn);
    this.connections.set(conn.id, conn);
  }

  /** Sends one event to every connection but `except`, unconfirmed ones included; the body is encoded once. */
  broadcast(event: ServerEvent, except?: Connection): number {
    if (this.closing) return 0;
    // Encoded once per codec in use, whatever the number of receivers.
    const bodies = new Map<Codec, Wire>();
    let n = 0;
    // Copy: a delivery can overflow an outbox and destroy a connection mid-loop.
    for (const conn of this.members()) {
      if (conn === except) continue;
      let body = bodies.get(conn.codec);
      if (body === undefined) bodies.set(conn.codec, (body = conn.codec.body(event)));
      conn.deliverEncoded(body);
      n++;
    }
    return n;
  }

  interrupted(conn: Connection): void {
    if (conn.state === 'interrupted')
      this.broadcast({ t: 'connectionReconnecting', connectionId: conn.id }, conn);
  }

  /** A resume attached a new transport; `before` is the state it found. A resume also confirms. */
  resumed(conn: Connection, before: ConnectionState): void {
    if (before === 'interrupted') this.broadcast({ t: 'connectionReconnected', connectionId: conn.id }, conn);
    else if (!isConfirmed(before)) {
      this.pending.delete(conn.id);
      this.broadcast({ t: 'connectionCreated', connection: conn.info }, conn);
      this.connections.set(conn.id, conn);
    }
  }

  /** Applies one client operation (already known to be the next in sequence) and replies. */
  apply(conn: Connection, op: ClientOpFrame): void {
    // Replies go out in the order of the ops: once a media op is in flight, later ones queue behind it.
    if (conn.inFlight > 0) {
      this.defer(conn, op, async () => {
        const result = this.run(conn, op);
        return typeof result === 'function' ? result() : result;
      });
      return;
    }
    const result = this.run(conn, op);
    if (typeof result === 'function') this.defer(conn, op, result);
    else this.reply(conn, op.seq, result);
  }

  private defer(conn: Connection, op: ClientOpFrame, work: Deferred): void {
    conn.inFlight++;
    conn.chain = conn.chain
      .then(() => (conn.state === 'closed' ? ({ ok: false, code: 'DISCONNECTED' } as const) : work()))
      .catch(failure)
      .then((result) => {
        conn.inFlight--;
        this.reply(conn, op.seq, result);
      });
  }

  private reply(conn: Connection, re: number, result: OpResult): void {
    if (conn.state === 'closed') return;
    if (result.ok) {
      const { ok: _ok, ...extra } = result;
      conn.deliver({ t: 'reply', re, ok: true, ...extra });
    } else {
      const message = errorMessage(result.code, result.detail);
      conn.deliver({ t: 'reply', re, ok: false, code: result.code, message });
      // A flood past the rate limit is abuse: tolerated for a while, then the connection ends.
      if (result.code === 'RATE_LIMITED' && conn.strikes.strike())
        this.destroy(conn, 'protocolError', 'ABUSE_CLOSED');
    }
  }

  /** A signal from the server API (`from: null`). */
  signalFromServer(type: string, data: string, to?: string): { delivered: number } | { error: ErrorCode } {
    const bad = checkSignal(type, data);
    if (bad) return { error: bad };
    const text = wellFormed(data);
    if (to !== undefined) {
      const target = this.member(to);
      if (!target) return { error: 'SIGNAL_TARGET_NOT_FOUND' };
      target.deliver({ t: 'signal', from: null, type, data: text, to });
      return { delivered: 1 };
    }
    return { delivered: this.broadcast({ t: 'signal', from: null, type, data: text }) };
  }

  /**
   * Ends a connection for good: its streams go, the others are told, its transport is closed
   * with a bye. One nobody was told of (unconfirmed) goes without a word to the others.
   */
  destroy(conn: Connection, reason: EndReason, code: ErrorCode = CLOSE_CODE[reason]): void {
    if (conn.state === 'closed' || this.member(conn.id) !== conn) return;
    const seen = isConfirmed(conn.state);
    if (seen) this.connections.delete(conn.id);
    else this.pending.delete(conn.id);
    for (const streamId of conn.streams) this.destroyStream(streamId, reason, conn);
    this.media.connectionEnded(conn.id);
    const bye: ServerFrame = { t: 'bye', reason, code, message: errorMessage(code) };
    conn.close(errorNumber(code), reason, bye);
    if (seen) this.broadcast({ t: 'connectionDestroyed', connectionId: conn.id, reason });
    this.hooks.onDestroyed(conn, reason, code, seen);
    if (this.connections.size === 0 && this.pending.size === 0) {
      this.media.close();
      this.hooks.onEmpty(this);
    }
  }

  forceUnpublish(streamId: string): boolean {
    if (!this.streams.has(streamId)) return false;
    this.destroyStream(streamId, 'forceUnpublished');
    return true;
  }

  private run(conn: Connection, op: ClientOpFrame): OpResult | Deferred {
    switch (op.t) {
      case 'publishMedia':
      case 'subscribe':
      case 'answerMedia':
      case 'restartMedia':
      case 'unsubscribe':
      case 'relay':
      case 'streamProperty':
        return this.media.run(conn, op as MediaOp);
      case 'signal': {
        const bad = checkSignal(op.type, op.data);
        if (bad) return { ok: false, code: bad };
        if (!conn.signals.take()) return { ok: false, code: 'RATE_LIMITED' };
        // Receivers on either codec get the same text (wellFormed: a lone surrogate is U+FFFD for all).
        const data = wellFormed(op.data);
        if (op.to !== undefined) {
          const target = this.member(op.to);
          if (!target) return { ok: false, code: 'SIGNAL_TARGET_NOT_FOUND', detail: op.to };
          target.deliver({ t: 'signal', from: conn.id, type: op.type, data, to: op.to });
        } else {
          this.broadcast({ t: 'signal', from: conn.id, type: op.type, data });
        }
        return { ok: true };
      }
      case 'publish': {
        if (conn.role === 'subscriber')
          return { ok: false, code: 'NOT_PERMITTED', detail: 'a subscriber cannot publish' };
        if (conn.streams.size >= LIMITS.streamsPerConnection) return { ok: false, code: 'STREAM_LIMIT' };
        const stream: StreamInfo = {
          streamId: randomUUID(),
          connectionId: conn.id,
          ...op.stream,
          name: wellFormed(op.stream.name),
          creationTime: this.now(),
        };
        this.streams.set(stream.streamId, stream);
        conn.streams.add(stream.streamId);
        this.broadcast({ t: 'streamCreated', stream }, conn);
        return { ok: true, stream };
      }
      case 'unpublish': {
        const stream = this.streams.get(op.streamId);
        if (!stream) return { ok: false, code: 'STREAM_NOT_FOUND', detail: op.streamId };
        if (stream.connectionId !== conn.id)
          return {
            ok: false,
            code: 'NOT_PERMITTED',
            detail: 'not your stream; a moderator uses forceUnpublish',
          };
        this.destroyStream(op.streamId, op.reason ?? 'clientDisconnected', conn);
        return { ok: true };
      }
      case 'forceDisconnect': {
        if (conn.role !== 'moderator')
          return { ok: false, code: 'NOT_PERMITTED', detail: 'only a moderator can force-disconnect' };
        const target = this.member(op.connectionId);
        if (!target) return { ok: false, code: 'CONNECTION_NOT_FOUND', detail: op.connectionId };
        this.destroy(target, 'forceDisconnected');
        return { ok: true };
      }
      case 'forceUnpublish': {
        if (conn.role !== 'moderator')
          return { ok: false, code: 'NOT_PERMITTED', detail: 'only a moderator can force-unpublish' };
        if (!this.forceUnpublish(op.streamId))
          return { ok: false, code: 'STREAM_NOT_FOUND', detail: op.streamId };
        return { ok: true };
      }
    }
  }

  /** Removes a stream and tells everyone but `quietTo` (its owner when the owner asked for it). */
  destroyStream(streamId: string, reason: EndReason, quietTo?: Connection): void {
    const stream = this.streams.get(streamId);
    if (!stream) return;
    this.streams.delete(streamId);
    this.connections.get(stream.connectionId)?.streams.delete(streamId);
    this.media.streamEnded(streamId);
    this.broadcast({ t: 'streamDestroyed', streamId, connectionId: stream.connectionId, reason }, quietTo);
  }
}
