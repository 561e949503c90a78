import { randomBytes, randomUUID } from 'node:crypto';
import {
  PROTOCOL_VERSION,
  SUPPORTED_PROTOCOL_VERSIONS,
  TetherError,
  errorMessage,
  jsonCodec,
  msgpackCodec,
  reasonForError,
  wellFormed,
  type ClientFrame,
  type Clock,
  type ConnectFrame,
  type ErrorCode,
  type ResumeFrame,
  type SessionInfo,
  type TransportConfig,
} from '@tether/protocol';
import { parseSessionId, verifyToken } from '@tether/auth';
import type { Logger } from 'pino';
import { Connection, type ConnectionHooks, type ConnectionLimits, type Link } from './connection.js';
import { isInterrupted } from './connection-state.js';
import {
  INTERRUPTED_OVERHEAD_BYTES,
  InterruptedBudget,
  type InterruptedLimits,
} from './interrupted-budget.js';
import type { Metrics } from './metrics.js';
import type { Projects } from './projects.js';
import { Sfu } from './media/sfu.js';
import { Room, type EndReason } from './room.js';
import { Tombstones } from './tombstones.js';

export interface HubOptions {
  clock: Clock;
  mediaTimeoutMs: number;
  projects: Projects;
  transport: TransportConfig;
  limits: ConnectionLimits;
  interrupted: InterruptedLimits;
  log: Logger;
  metrics: Metrics;
}

/** How many connections of each state this server holds, and the bytes held for the interrupted ones. */
export interface HubSizes {
  sessions: number;
  pending: number;
  connected: number;
  interrupted: number;
  interruptedHeldBytes: number;
}

/** A socket after the handshake: where its frames go from now on. */
export interface Attached {
  conn: Connection;
  room: Room;
}

/**
 * All live sessions of this server, and the handshake: `connect` makes a Connection,
 * `resume` re-attaches a transport to one inside its window.
 */
export class Hub {
  readonly rooms = new Map<string, Room>();
  private readonly tombstones = new Tombstones();
  /** What is held for connections without a transport, bounded per session and for the server. */
  readonly budget: InterruptedBudget<Connection, Room>;

  constructor(private readonly opts: HubOptions) {
    this.budget = new InterruptedBudget(opts.interrupted, (conn, room, scope) => {
      opts.metrics.budgetEvictions.inc({ scope });
      room.destroy(conn, 'bufferOverflow', 'INTERRUPTED_BUDGET_EXCEEDED');
    });
  }

  /**
   * A new connection, welcomed but unseen until its client confirms (room.confirm). Undefined
   * when the socket closed while the token was checked: nobody can ever read that welcome.
   */
  async connect(frame: ConnectFrame, link: Link): Promise<Attached | undefined> {
    this.checkVersion(frame.v);
    const lookup = (key: string) => this.opts.projects.secretFor(key);
    const session = parseSessionId(frame.sessionId, lookup);
    const claims = await verifyToken(frame.token, lookup, { now: this.opts.clock.now() });
    if (claims.sid !== frame.sessionId) throw new TetherError('TOKEN_WRONG_SESSION');
    if (claims.iss !== session.apiKey)
      throw new TetherError('TOKEN_WRONG_SESSION', 'token and session belong to different projects');

    if (!link.open) {
      this.opts.metrics.unconfirmed.inc({ outcome: 'socketClosed' });
      return undefined;
    }

    const room = this.roomFor(session);
    const secret = randomBytes(24).toString('base64url');
    const conn = new Connection(
      // Text as every codec carries it (wellFormed): the same data for peers on JSON and MessagePack.
      { connectionId: randomUUID(), data: wellFormed(claims.data), creationTime: this.opts.clock.now() },
      claims.role,
      secret,
      this.opts.clock,
      this.opts.transport,
      this.opts.limits,
      this.hooksFor(room),
      frame.codec === 'msgpack' ? msgpackCodec : jsonCodec,
    );
    conn.start(link);
    conn.sendRaw(
      JSON.stringify({
        t: 'welcome',
        v: PROTOCOL_VERSION,
        session: {
          sessionId: session.sessionId,
          mediaMode: session.mediaMode,
          archiveMode: session.archiveMode,
          creationTime: session.creationTime,
        },
        connection: { ...conn.info, role: conn.role },
        secret,
        connections: room.peersOf(conn),
        streams: [...room.streams.values()],
        config: this.opts.transport,
        codec: conn.codec.name,
      }),
    );
    room.admit(conn);
    this.opts.metrics.connects.inc();
    this.opts.log.debug({ sessionId: room.id, connectionId: conn.id, role: conn.role }, 'connected');
    return { conn, room };
  }

  resume(frame: ResumeFrame, link: Link): Attached {
    this.checkVersion(frame.v);
    const room = this.rooms.get(frame.sessionId);
    const conn = room?.member(frame.connectionId);
    if (!room || !conn) {
      const ended = this.tombstones.get(frame.connectionId);
      throw new TetherError(ended ?? 'RESUME_UNKNOWN_CONNECTION');
    }
    if (!conn.secretMatches(frame.secret)) throw new TetherError('RESUME_BAD_SECRET');
    const replay = conn.outbox.after(frame.ack);
    if (!replay)
      throw new TetherError(
        'RESUME_SEQUENCE_INVALID',
        `client ack ${frame.ack}, server holds ${conn.outbox.ackedSeq}..${conn.outbox.seq}`,
      );
    const answer = JSON.stringify({
      t: 'resumed',
      ack: conn.lastApplied,
      seq: conn.outbox.seq,
      config: this.opts.transport,
      // The connection keeps the codec it joined with: its outbox is encoded in it.
      codec: conn.codec.name,
    });
    this.budget.remove(conn);
    const before = conn.resumeOn(link, frame.ack, answer, replay);
    room.resumed(conn, before);
    this.opts.metrics.resumes.inc();
    this.opts.log.debug({ sessionId: room.id, connectionId: conn.id, replayed: replay.length }, 'resumed');
    return { conn, room };
  }

  /** A frame after the handshake. Sequencing is enforced here; semantics live in Room. */
  frame(at: Attached, frame: ClientFrame): void {
    const { conn, room } = at;
    // Any frame after the welcome shows it arrived (the client may send nothing before it); a leave ends it unseen.
    if (conn.state === 'pending' && frame.t !== 'leave') room.confirm(conn);
    if ('ack' in frame && frame.ack !== undefined && !conn.acknowledge(frame.ack)) {
      const re = 'seq' in frame ? frame.seq : undefined;
      this.reject(
        at,
        'FRAME_INVALID',
        `ack ${frame.ack} is beyond the last frame sent (${conn.outbox.seq})`,
        re,
      );
      return;
    }
    switch (frame.t) {
      case 'hb':
        if (frame.pong !== undefined) conn.pong(frame.pong);
        if (frame.seq !== undefined && frame.seq > conn.lastApplied) this.gap(at);
        return;
      case 'ack':
        return;
      case 'leave':
        room.destroy(conn, 'clientDisconnected');
        return;
      case 'connect':
      case 'resume':
        this.reject(at, 'FRAME_UNEXPECTED', `${frame.t} after the handshake`);
        return;
      default:
        if (frame.seq <= conn.lastApplied) return; // a retransmission: applied already, its reply is in the outbox
        if (frame.seq !== conn.lastApplied + 1) {
          this.gap(at);
          return;
        }
        conn.lastApplied = frame.seq;
        if (frame.t === 'signal') this.opts.metrics.signals.inc();
        room.apply(conn, frame);
    }
  }

  /**
   * The transport lost client frames (a path that dropped bytes): drop it and let the
   * client resume from what was applied. Repeated gaps count as abuse.
   */
  private gap(at: Attached): void {
    if (at.conn.strikes.strike()) this.end(at, 'ABUSE_CLOSED');
    else at.conn.dropLink('SEQUENCE_GAP');
  }

  /** An unreliable error frame; too many of them and the connection is closed. */
  reject(at: Attached, code: ErrorCode, detail: string, re?: number): void {
    at.conn.send({
      t: 'error',
      code,
      message: errorMessage(code, detail),
      ...(re !== undefined ? { re } : {}),
    });
    if (at.conn.strikes.strike()) this.end(at, 'ABUSE_CLOSED');
  }

  /** Ends a connection for a protocol violation. */
  end(at: Attached, code: ErrorCode): void {
    const reason = reasonForError(code);
    const ending =
      reason === undefined || reason === 'tokenExpired' || reason === 'resumeFailed'
        ? 'protocolError'
        : reason;
    at.room.destroy(at.conn, ending, code);
  }

  /** Ends every connection with `serverShutdown`. */
  shutdown(): void {
    for (const room of [...this.rooms.values()]) {
      // Everyone is told by their own bye; N presence broadcasts to N leaving clients would be O(N²).
      room.closing = true;
      for (const conn of room.members()) room.destroy(conn, 'serverShutdown');
    }
  }

  sizes(): HubSizes {
    const sizes = { sessions: this.rooms.size, pending: 0, connected: 0, interrupted: 0 };
    for (const room of this.rooms.values())
      for (const conn of room.members()) {
        if (isInterrupted(conn.state)) sizes.interrupted++;
        else if (conn.state === 'pending') sizes.pending++;
        else sizes.connected++;
      }
    return { ...sizes, interruptedHeldBytes: this.budget.totalBytes };
  }

  private hooksFor(room: Room): ConnectionHooks {
    return {
      onInterrupted: (conn) => {
        this.opts.metrics.interruptions.inc();
        room.interrupted(conn);
        this.budget.add(conn, room, conn.outbox.pendingBytes + INTERRUPTED_OVERHEAD_BYTES);
      },
      onWindowPassed: (conn) => room.destroy(conn, 'networkDisconnected'),
      onOverflow: (conn, code) => room.destroy(conn, 'bufferOverflow', code),
      onHeld: (conn, bytes) => this.budget.grow(conn, bytes),
    };
  }

  private roomFor(session: SessionInfo): Room {
    let room = this.rooms.get(session.sessionId);
    if (!room) {
      room = new Room(
        session,
        {
          onDestroyed: (conn, reason, code, seen) => this.destroyed(conn, reason, code, seen),
          onEmpty: (r) => {
            if (this.rooms.get(r.id) === r) this.rooms.delete(r.id);
          },
        },
        () => this.opts.clock.now(),
        (hooks) =>
          new Sfu(
            {
              clock: this.opts.clock,
              log: this.opts.log,
              mediaTimeoutMs: this.opts.mediaTimeoutMs,
              mediaWindowMs: this.opts.transport.mediaWindowMs,
            },
            hooks,
          ),
      );
      this.rooms.set(session.sessionId, room);
    }
    return room;
  }

  private destroyed(conn: Connection, reason: EndReason, code: ErrorCode, seen: boolean): void {
    this.budget.remove(conn);
    // A late resume hears the code the connection ended with; a plain leave is simply unknown.
    this.tombstones.add(
      conn.id,
      reason === 'networkDisconnected'
        ? 'RESUME_WINDOW_EXPIRED'
        : reason === 'clientDisconnected'
          ? 'RESUME_UNKNOWN_CONNECTION'
          : code,
    );
    if (seen) this.opts.metrics.destroyed.inc({ reason });
    else this.opts.metrics.unconfirmed.inc({ outcome: reason });
    this.opts.log.debug({ connectionId: conn.id, reason, seen }, 'connection destroyed');
  }

  private checkVersion(v: number): void {
    if (!SUPPORTED_PROTOCOL_VERSIONS.includes(v))
      throw new TetherError(
        'PROTOCOL_VERSION_UNSUPPORTED',
        `client speaks v${v}, server supports ${SUPPORTED_PROTOCOL_VERSIONS.join(', ')}`,
      );
  }
}
