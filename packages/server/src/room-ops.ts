import { randomUUID } from 'node:crypto';
import {
  LIMITS,
  checkSignal,
  errorMessage,
  wellFormed,
  type ClientOpFrame,
  type StreamInfo,
} from '@tether/protocol';
import type { Connection } from './connection.js';
import { failure, type Deferred, type MediaOp, type OpResult } from './room-media.js';
import type { Room } from './room.js';

/**
 * What each client operation means: its checks (role, ownership, limits, rate), what it
 * appends to the session's log, and its reply. Replies keep the order of the operations:
 * media ops run later, one at a time per connection, and the ones behind them wait.
 */
export class RoomOps {
  constructor(
    private readonly room: Room,
    private readonly now: () => number,
  ) {}

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
    // Its effects and its reply are one append; one that did not happen was not applied.
    this.room.together(
      { connectionId: conn.id, epoch: conn.epoch },
      () => {
        const result = this.run(conn, op);
        if (typeof result === 'function') this.defer(conn, op, result);
        else this.reply(conn, op.seq, result);
      },
      (err) => this.room.notApplied(conn, op.seq, err),
    );
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
      this.room.emit({ event: { t: 'reply', re, ok: true, ...extra }, to: conn.id });
    } else {
      const message = errorMessage(result.code, result.detail);
      this.room.emit({ event: { t: 'reply', re, ok: false, code: result.code, message }, to: conn.id });
      // A flood past the rate limit is abuse: tolerated for a while, then the connection ends.
      if (result.code === 'RATE_LIMITED' && conn.strikes.strike())
        this.room.destroy(conn, 'protocolError', 'ABUSE_CLOSED');
    }
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
        return this.room.routing.run(conn.id, op as MediaOp);
      case 'signal': {
        const bad = checkSignal(op.type, op.data);
        if (bad) return { ok: false, code: bad };
        if (!conn.signals.take()) return { ok: false, code: 'RATE_LIMITED' };
        // Receivers on either codec get the same text (wellFormed: a lone surrogate is U+FFFD for all).
        const data = wellFormed(op.data);
        if (op.to !== undefined) {
          if (!this.room.has(op.to)) return { ok: false, code: 'SIGNAL_TARGET_NOT_FOUND', detail: op.to };
          this.room.emit({
            event: { t: 'signal', from: conn.id, type: op.type, data, to: op.to },
            to: op.to,
          });
        } else {
          this.room.emit({ event: { t: 'signal', from: conn.id, type: op.type, data } });
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
        this.room.emit({ event: { t: 'streamCreated', stream }, except: conn.id });
        return { ok: true, stream };
      }
      case 'unpublish': {
        const stream = this.room.streams.get(op.streamId);
        if (!stream) return { ok: false, code: 'STREAM_NOT_FOUND', detail: op.streamId };
        if (stream.connectionId !== conn.id)
          return {
            ok: false,
            code: 'NOT_PERMITTED',
            detail: 'not your stream; a moderator uses forceUnpublish',
          };
        this.room.destroyStream(op.streamId, op.reason ?? 'clientDisconnected', conn);
        return { ok: true };
      }
      case 'forceDisconnect': {
        if (conn.role !== 'moderator')
          return { ok: false, code: 'NOT_PERMITTED', detail: 'only a moderator can force-disconnect' };
        if (!this.room.forceDisconnect(op.connectionId))
          return { ok: false, code: 'CONNECTION_NOT_FOUND', detail: op.connectionId };
        return { ok: true };
      }
      case 'forceUnpublish': {
        if (conn.role !== 'moderator')
          return { ok: false, code: 'NOT_PERMITTED', detail: 'only a moderator can force-unpublish' };
        if (!this.room.forceUnpublish(op.streamId))
          return { ok: false, code: 'STREAM_NOT_FOUND', detail: op.streamId };
        return { ok: true };
      }
    }
  }
}
