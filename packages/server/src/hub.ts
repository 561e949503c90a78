import { randomBytes, randomUUID } from 'node:crypto';
import {
  ERRORS,
  PROTOCOL_VERSION,
  SUPPORTED_PROTOCOL_VERSIONS,
  TetherError,
  reasonForError,
  type ClientFrame,
  type Clock,
  type ConnectFrame,
  type ErrorCode,
  type Reason,
  type ResumeFrame,
  type SessionInfo,
  type TransportConfig,
} from '@tether/protocol';
import { parseSessionId, verifyToken } from '@tether/auth';
import type { Logger } from 'pino';
import { Connection, type Link } from './connection.js';
import type { Metrics } from './metrics.js';
import type { OutboxLimits } from './outbox.js';
import type { Projects } from './projects.js';
import { Sfu } from './media/sfu.js';
import { Room } from './room.js';
import { Tombstones } from './tombstones.js';

export interface HubOptions {
  clock: Clock;
  mediaTimeoutMs: number;
  projects: Projects;
  transport: TransportConfig;
  outbox: OutboxLimits;
  log: Logger;
  metrics: Metrics;
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

  constructor(private readonly opts: HubOptions) {}

  async connect(frame: ConnectFrame, link: Link): Promise<Attached> {
    this.checkVersion(frame.v);
    const lookup = (key: string) => this.opts.projects.secretFor(key);
    const session = parseSessionId(frame.sessionId, lookup);
    const claims = await verifyToken(frame.token, lookup, { now: this.opts.clock.now() });
    if (claims.sid !== frame.sessionId) throw new TetherError('TOKEN_WRONG_SESSION');
    if (claims.iss !== session.apiKey)
      throw new TetherError('TOKEN_WRONG_SESSION', 'token and session belong to different projects');

    const room = this.roomFor(session);
    const secret = randomBytes(24).toString('base64url');
    const conn = new Connection(
      { connectionId: randomUUID(), data: claims.data, creationTime: this.opts.clock.now() },
      claims.role,
      secret,
      this.opts.clock,
      this.opts.transport,
      this.opts.outbox,
      {
        onInterrupted: (c) => this.interrupted(room, c),
        onOverflow: (c) => room.destroy(c, 'bufferOverflow'),
      },
    );
    conn.attach(link);
    link.send(
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
      }),
    );
    room.join(conn);
    this.opts.metrics.connects.inc();
    this.opts.log.debug({ sessionId: room.id, connectionId: conn.id, role: conn.role }, 'connected');
    return { conn, room };
  }

  resume(frame: ResumeFrame, link: Link): Attached {
    this.checkVersion(frame.v);
    const room = this.rooms.get(frame.sessionId);
    const conn = room?.connections.get(frame.connectionId);
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
    conn.outbox.ack(frame.ack);

    const wasInterrupted = conn.state === 'interrupted';
    if (conn.windowTimer !== undefined) this.opts.clock.clearTimeout(conn.windowTimer);
    conn.windowTimer = undefined;
    conn.attach(link);
    link.send(
      JSON.stringify({
        t: 'resumed',
        ack: conn.lastApplied,
        seq: conn.outbox.seq,
        config: this.opts.transport,
      }),
    );
    for (const f of replay) link.send(f);
    room.resumed(conn, wasInterrupted);
    this.opts.metrics.resumes.inc();
    this.opts.log.debug({ sessionId: room.id, connectionId: conn.id, replayed: replay.length }, 'resumed');
    return { conn, room };
  }

  /** A frame after the handshake. Sequencing is enforced here; semantics live in Room. */
  frame(at: Attached, frame: ClientFrame): void {
    const { conn, room } = at;
    if ('ack' in frame && frame.ack !== undefined && !conn.outbox.ack(frame.ack)) {
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
    at.conn.sendRaw(
      JSON.stringify({
        t: 'error',
        code,
        message: `${detail} — ${ERRORS[code].message}`,
        ...(re !== undefined ? { re } : {}),
      }),
    );
    if (at.conn.strikes.strike()) this.end(at, 'ABUSE_CLOSED');
  }

  /** Ends a connection for a protocol violation. */
  end(at: Attached, code: ErrorCode): void {
    at.room.destroy(at.conn, reasonForError(code) ?? 'protocolError', code);
  }

  /** Ends every connection with `serverShutdown`. */
  shutdown(): void {
    for (const room of [...this.rooms.values()]) {
      // Everyone is told by their own bye; N presence broadcasts to N leaving clients would be O(N²).
      room.closing = true;
      for (const conn of [...room.connections.values()]) room.destroy(conn, 'serverShutdown');
    }
  }

  private interrupted(room: Room, conn: Connection): void {
    this.opts.metrics.interruptions.inc();
    room.interrupted(conn);
    conn.windowTimer = this.opts.clock.setTimeout(() => {
      conn.windowTimer = undefined;
      if (conn.state === 'interrupted') room.destroy(conn, 'networkDisconnected');
    }, this.opts.transport.reconnectWindowMs);
  }

  private roomFor(session: SessionInfo): Room {
    let room = this.rooms.get(session.sessionId);
    if (!room) {
      room = new Room(
        session,
        {
          onDestroyed: (conn, reason, code) => this.destroyed(conn, reason, code),
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

  private destroyed(conn: Connection, reason: Reason, code: ErrorCode): void {
    // A late resume hears the code the connection ended with; a plain leave is simply unknown.
    this.tombstones.add(
      conn.id,
      reason === 'networkDisconnected'
        ? 'RESUME_WINDOW_EXPIRED'
        : reason === 'clientDisconnected'
          ? 'RESUME_UNKNOWN_CONNECTION'
          : code,
    );
    this.opts.metrics.destroyed.inc({ reason });
    this.opts.log.debug({ connectionId: conn.id, reason }, 'connection destroyed');
  }

  private checkVersion(v: number): void {
    if (!SUPPORTED_PROTOCOL_VERSIONS.includes(v))
      throw new TetherError(
        'PROTOCOL_VERSION_UNSUPPORTED',
        `client speaks v${v}, server supports ${SUPPORTED_PROTOCOL_VERSIONS.join(', ')}`,
      );
  }
}
