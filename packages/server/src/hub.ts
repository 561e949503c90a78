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
  type CodecName,
  type Role,
  type ConnectionInfo,
  type Clock,
  type ConnectFrame,
  type ErrorCode,
  type ResumeFrame,
  type SessionInfo,
  type TransportConfig,
  type Wire,
} from '@tether/protocol';
import { parseSessionId, peekSessionApiKey, verifyToken } from '@tether/auth';
import type { Logger } from 'pino';
import { Connection, type ConnectionHooks, type ConnectionLimits, type Link } from './connection.js';
import { isInterrupted } from './connection-state.js';
import {
  INTERRUPTED_OVERHEAD_BYTES,
  InterruptedBudget,
  type InterruptedLimits,
} from './interrupted-budget.js';
import type { ArchiveRequest, ClusterEngine, OwnerRequest, ResumeRecord } from './cluster/engine.js';
import { Orphans } from './orphans.js';
import { Checkpoints } from './checkpoints.js';
import { SessionApi } from './session-api.js';
import { secretDigest, takeOver } from './takeover.js';
import type { Metrics } from './metrics.js';
import type { Projects } from './projects.js';
import { Sfu } from './media/sfu.js';
import { CLOSE_CODE, Room, type EndReason } from './room.js';

import { Tombstones } from './tombstones.js';
import type { Callbacks } from './callbacks/dispatcher.js';
import { monitorPayloads } from './callbacks/monitor.js';

export interface HubOptions {
  clock: Clock;
  mediaTimeoutMs: number;
  projects: Projects;
  transport: TransportConfig;
  limits: ConnectionLimits;
  interrupted: InterruptedLimits;
  log: Logger;
  metrics: Metrics;
  /** Where sessions' logs live: the memory engine (one process) or the cluster's. */
  engine: ClusterEngine;
  /** Session monitoring callbacks: this node sends those of the entries it appends. */
  callbacks: Callbacks;
  /** What archives need to hear of sessions (archive/archives.ts). */
  recordings?: RecordingHooks;
}

/** What the archives of this node hear of the sessions it follows. */
export interface RecordingHooks {
  /** A stream was published, or this node became the session's media home. */
  mediaReady(room: Room): void;
  /** Another node asks this one, the session's media home, to start or stop its archive. */
  request(room: Room, request: ArchiveRequest): void;
  /** This node stops following the session. */
  roomClosed(room: Room): void;
  /** The session's running archive, from the archive store (a node that starts following a session mid-recording). */
  running(sessionId: string): Promise<{ id: string; name: string } | undefined>;
}

/** How many connections of each state this server holds, and the bytes held for the interrupted ones. */
export interface HubSizes {
  sessions: number;
  pending: number;
  connected: number;
  interrupted: number;
  interruptedHeldBytes: number;
  clusterAvailable: boolean;
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
  private readonly rooms = new Map<string, Room>();
  /** Rooms being opened (following the session's log): concurrent joins share one. */
  private readonly opening = new Map<string, Promise<Room>>();
  private readonly unfollow = new Map<Room, () => void>();
  /** Connections of dead nodes this node took over: they wait for a resume until their window passes. */
  private readonly orphans: Orphans;
  /** Cluster engines only: each local connection's resume record and its progress. */
  private readonly checkpoints: Checkpoints;
  private drainingSince: number | undefined;
  private readonly tombstones = new Tombstones();
  /** Dead nodes already acted on (node ids are never reused). */
  private readonly downNodes = new Set<string>();
  /** What is held for connections without a transport, bounded per session and for the server. */
  readonly budget: InterruptedBudget<Connection, Room>;

  constructor(private readonly opts: HubOptions) {
    this.sessions = new SessionApi((id) => this.rooms.get(id), opts.engine);
    this.checkpoints = new Checkpoints(opts.engine, opts.clock, (err, what) => this.clusterError(err, what));
    this.budget = new InterruptedBudget(opts.interrupted, (conn, room, scope) => {
      opts.metrics.budgetEvictions.inc({ scope });
      room.destroy(conn, 'bufferOverflow', 'INTERRUPTED_BUDGET_EXCEEDED');
    });
    this.orphans = new Orphans(opts.clock, opts.transport.reconnectWindowMs, (record) =>
      this.endOrphan(record, 'networkDisconnected'),
    );
    if (opts.engine.name !== 'memory') {
      opts.engine.onOrphans((records) => {
        for (const record of records) void this.adoptOrphan(record);
      });
      opts.engine.onNodeDown((id) => this.nodeDown(id));
      this.checkpoints.start(() => this.rooms.values());
    }
  }

  private get clustered(): boolean {
    return this.opts.engine.name !== 'memory';
  }

  /**
   * A new connection, welcomed but unseen until its client confirms (room.confirm). Undefined
   * when the socket closed while the token was checked: nobody can ever read that welcome.
   */
  async connect(frame: ConnectFrame, link: Link, rttMs: number): Promise<Attached | undefined> {
    this.checkVersion(frame.v);
    if (this.draining) throw new TetherError('SERVER_DRAINING');
    if (!this.opts.engine.available) throw new TetherError('CLUSTER_UNAVAILABLE');
    const lookup = (key: string) => this.opts.projects.secretFor(key);
    const session = parseSessionId(frame.sessionId, lookup);
    const claims = await verifyToken(frame.token, lookup, { now: this.opts.clock.now() });
    if (claims.sid !== frame.sessionId) throw new TetherError('TOKEN_WRONG_SESSION');
    if (claims.iss !== session.apiKey)
      throw new TetherError('TOKEN_WRONG_SESSION', 'token and session belong to different projects');

    const room = await this.roomFor(session);
    if (!link.open) {
      this.opts.metrics.unconfirmed.inc({ outcome: 'socketClosed' });
      this.closeIfEmpty(room);
      return undefined;
    }

    const secret = randomBytes(24).toString('base64url');
    const conn = this.makeConnection(
      room,
      // Text as every codec carries it (wellFormed): the same data for peers on JSON and MessagePack.
      { connectionId: randomUUID(), data: wellFormed(claims.data), creationTime: this.opts.clock.now() },
      claims.role,
      secret,
      frame.codec === 'msgpack' ? 'msgpack' : 'json',
    );
    conn.start(link, rttMs);
    conn.sendRaw(
      JSON.stringify({
        t: 'welcome',
        v: PROTOCOL_VERSION,
        session: {
          sessionId: session.sessionId,
          mediaMode: session.mediaMode,
          archiveMode: session.archiveMode,
          creationTime: session.creationTime,
          ...(session.connectionEventsSuppressed ? { connectionEventsSuppressed: true } : {}),
        },
        connection: { ...conn.info, role: conn.role },
        secret,
        connections: room.peersOf(conn),
        streams: [...room.streams.values()],
        config: this.opts.transport,
        codec: conn.codec.name,
        ...(room.archive ? { archive: room.archive } : {}),
      }),
    );
    const joinedAt = room.position;
    room.admit(conn);
    if (this.clustered) this.checkpoints.register(room.id, conn, secret, joinedAt);
    this.opts.metrics.connects.inc();
    this.opts.log.debug({ sessionId: room.id, connectionId: conn.id, role: conn.role }, 'connected');
    return { conn, room };
  }

  /** Re-attaches a transport: at once to a connection held here, else (cluster) by taking it over. */
  resume(frame: ResumeFrame, link: Link, rttMs: number): Attached | Promise<Attached> {
    this.checkVersion(frame.v);
    if (this.draining) throw new TetherError('SERVER_DRAINING');
    if (!this.opts.engine.available) throw new TetherError('CLUSTER_UNAVAILABLE');
    const room = this.rooms.get(frame.sessionId);
    const conn = room?.member(frame.connectionId);
    if (room && conn) {
      if (!conn.secretMatches(frame.secret)) throw new TetherError('RESUME_BAD_SECRET');
      return this.attachResume(room, conn, frame, link, rttMs, undefined);
    }
    if (!this.clustered)
      throw new TetherError(this.tombstones.get(frame.connectionId) ?? 'RESUME_UNKNOWN_CONNECTION');
    return this.resumeFromCluster(frame, link, rttMs);
  }

  private async resumeFromCluster(frame: ResumeFrame, link: Link, rttMs: number): Promise<Attached> {
    const { engine } = this.opts;
    const record = await engine.directory.load(frame.sessionId, frame.connectionId);
    if (!record)
      throw new TetherError(this.tombstones.get(frame.connectionId) ?? 'RESUME_UNKNOWN_CONNECTION');
    if (record.secretDigest !== secretDigest(frame.secret)) throw new TetherError('RESUME_BAD_SECRET');
    const session = parseSessionId(frame.sessionId, (key) => this.opts.projects.secretFor(key));
    const room = await this.roomFor(session);
    this.orphans.drop(frame.connectionId);
    const { conn, before } = await takeOver(engine, room, record, (r) =>
      this.makeConnection(room, r.member.info, r.member.role, frame.secret, r.codec),
    );
    this.checkpoints.adopted(conn, record.joinedAt);
    if (!link.open) {
      // The client left while its connection was rebuilt: it stays here, interrupted, for its next resume.
      room.forget(conn);
      this.orphans.add({ ...record, epoch: conn.epoch, interruptedAt: this.opts.clock.now() });
      throw new TetherError('DISCONNECTED');
    }
    return this.attachResume(room, conn, frame, link, rttMs, before);
  }

  private attachResume(
    room: Room,
    conn: Connection,
    frame: ResumeFrame,
    link: Link,
    rttMs: number,
    takenOverFrom: 'pending' | 'connected' | 'interrupted' | undefined,
  ): Attached {
    if (!conn.outbox.after(frame.ack))
      throw new TetherError(
        'RESUME_SEQUENCE_INVALID',
        `client ack ${frame.ack}, server holds ${conn.outbox.ackedSeq}..${conn.outbox.seq}`,
      );
    // Out of the budget first: the presence changes it missed now join what it holds, then all is replayed.
    this.budget.remove(conn);
    room.catchUp(conn);
    // Those changes could overflow its outbox, which ends it.
    if (conn.state === 'closed') throw new TetherError(this.tombstones.get(conn.id) ?? 'BUFFER_OVERFLOW');
    const replay = conn.outbox.after(frame.ack) as Wire[];
    const answer = JSON.stringify({
      t: 'resumed',
      ack: conn.lastApplied,
      seq: conn.outbox.seq,
      config: this.opts.transport,
      // The connection keeps the codec it joined with: its outbox is encoded in it.
      codec: conn.codec.name,
    });
    const before = conn.resumeOn(link, frame.ack, answer, replay, rttMs);
    room.resumed(conn, takenOverFrom ?? before);
    this.opts.metrics.resumes.inc();
    this.opts.log.debug(
      {
        sessionId: room.id,
        connectionId: conn.id,
        replayed: replay.length,
        takeover: takenOverFrom !== undefined,
      },
      'resumed',
    );
    return { conn, room };
  }

  /** A frame after the handshake. Sequencing is enforced here; semantics live in Room. */
  frame(at: Attached, frame: ClientFrame): void {
    const { conn, room } = at;
    // A client that was silent long enough to be spared presence changes is heard again.
    if (room.absent.isAway(conn)) room.catchUp(conn);
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

  /** What the HTTP API does to a session, on whichever node holds it. */
  readonly sessions: SessionApi;

  /** A connection this node holds (tests and metrics look at its outbox and state). */
  connection(sessionId: string, connectionId: string): Connection | undefined {
    return this.rooms.get(sessionId)?.member(connectionId);
  }

  /** The rooms of the sessions this node follows. */
  roomsHeld(): Room[] {
    return [...this.rooms.values()];
  }

  /** This node's replica of a session, if it follows it (tests look at its media). */
  room(sessionId: string): Room | undefined {
    return this.rooms.get(sessionId);
  }

  /** Whether the cluster engine can serve (memory: always). */
  get clusterAvailable(): boolean {
    return this.opts.engine.available;
  }

  /** This node is draining: no new connections; its clients are moving to other nodes. */
  get draining(): boolean {
    return this.drainingSince !== undefined;
  }

  /**
   * Cluster deploys: every client of this node is told to resume elsewhere (SERVER_DRAINING),
   * at once; new connections are refused. Resolves when each has been taken over by another
   * node (or has ended), or when `timeoutMs` passes; `progress` hears how many are left.
   */
  async drain(timeoutMs: number, progress?: (left: number) => void): Promise<number> {
    this.drainingSince = this.opts.clock.now();
    // The media it runs moves first: its clients publish and subscribe again wherever they resume.
    await Promise.all(
      this.roomsHeld().map((room) =>
        room.routing.handOver().catch((err: unknown) => this.clusterError(err, 'hand media over')),
      ),
    );
    for (const room of this.rooms.values()) for (const conn of room.members()) conn.drain();
    const left = () => [...this.rooms.values()].reduce((n, r) => n + r.members().length, 0);
    const deadline = this.opts.clock.now() + timeoutMs;
    let last = -1;
    while (left() > 0 && this.opts.clock.now() < deadline) {
      if (left() !== last) progress?.((last = left()));
      await new Promise<void>((r) => this.opts.clock.setTimeout(r, 100));
    }
    return left();
  }

  /** Ends every connection with `serverShutdown`. */
  shutdown(): void {
    this.checkpoints.stop();
    this.orphans.clear();
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
    return {
      ...sizes,
      interruptedHeldBytes: this.budget.totalBytes,
      clusterAvailable: this.opts.engine.available,
    };
  }

  private makeConnection(
    room: Room,
    info: ConnectionInfo,
    role: Role,
    secret: string,
    codec: CodecName,
  ): Connection {
    return new Connection(
      info,
      role,
      secret,
      this.opts.clock,
      this.opts.transport,
      this.opts.limits,
      this.hooksFor(room),
      codec === 'msgpack' ? msgpackCodec : jsonCodec,
    );
  }

  /** A connection of a dead node, claimed for this one: held until its client resumes or its window passes. */
  private async adoptOrphan(record: ResumeRecord): Promise<void> {
    try {
      const session = parseSessionId(record.sessionId, (key) => this.opts.projects.secretFor(key));
      const room = await this.roomFor(session);
      this.orphans.add(record);
      room.orphaned(record.member.info.connectionId, {
        connectionId: record.member.info.connectionId,
        epoch: record.epoch,
      });
    } catch (err) {
      this.clusterError(err, 'adopt orphan');
    }
  }

  private endOrphan(record: ResumeRecord, reason: EndReason): void {
    const id = record.member.info.connectionId;
    const room = this.rooms.get(record.sessionId);
    room?.endOrphan(id, reason, { connectionId: id, epoch: record.epoch });
    this.tombstones.add(id, reason === 'networkDisconnected' ? 'RESUME_WINDOW_EXPIRED' : CLOSE_CODE[reason]);
    this.opts.metrics.destroyed.inc({ reason });
    this.opts.engine.directory
      .remove(record.sessionId, id)
      .catch((err: unknown) => this.clusterError(err, 'remove'));
    if (room) this.closeIfUnused(room);
  }

  /** A request for a connection this node holds no transport of: an orphan here is ended. */
  private ownerRequest(connectionId: string, request: OwnerRequest): void {
    if (request.kind !== 'forceDisconnect') return;
    const record = this.orphans.drop(connectionId);
    if (record) this.endOrphan(record, 'forceDisconnected');
  }

  /**
   * Another node died: each session whose media it ran moves its media (one node finds out
   * first and says so). Heard on every sweep until the node is reaped: acted on once.
   */
  private nodeDown(id: string): void {
    if (this.downNodes.has(id)) return;
    if (this.downNodes.size >= 1024) this.downNodes.clear(); // bounded: a node acted on twice only moves nothing
    this.downNodes.add(id);
    for (const room of this.rooms.values())
      room.routing.nodeDown(id).catch((err: unknown) => this.clusterError(err, 'move media'));
  }

  private clusterError(err: unknown, what: string): void {
    this.opts.log.error({ err }, `cluster: ${what} failed`);
  }

  private hooksFor(room: Room): ConnectionHooks {
    return {
      onInterrupted: (conn) => {
        this.opts.metrics.interruptions.inc();
        // Drained: its client resumes on another node in a moment; the others need not hear of it.
        if (!this.draining) room.interrupted(conn);
        if (this.clustered) this.checkpoints.record(room.id, conn, this.opts.clock.now());
        this.budget.add(conn, room, conn.outbox.pendingBytes + INTERRUPTED_OVERHEAD_BYTES);
      },
      onWindowPassed: (conn) => room.destroy(conn, 'networkDisconnected'),
      onOverflow: (conn, code) => room.destroy(conn, 'bufferOverflow', code),
      onHeld: (conn, bytes) => this.budget.grow(conn, bytes),
    };
  }

  /** The room of a session, following its log from a snapshot; one per session on this node. */
  private roomFor(session: SessionInfo): Promise<Room> | Room {
    const id = session.sessionId;
    const open = this.rooms.get(id);
    if (open) return open;
    let opening = this.opening.get(id);
    if (!opening) {
      opening = this.openRoom(session).finally(() => this.opening.delete(id));
      this.opening.set(id, opening);
    }
    return opening;
  }

  private async openRoom(session: SessionInfo): Promise<Room> {
    const { engine } = this.opts;
    const apiKey = peekSessionApiKey(session.sessionId) ?? '';
    const monitoring = this.opts.callbacks.enabledFor(apiKey);
    const room: Room = new Room(
      session,
      {
        onDestroyed: (conn, reason, code, seen) => this.destroyed(room, conn, reason, code, seen),
        onEmpty: (r) => this.closeIfUnused(r),
        onMediaIdle: (r) => this.closeIfUnused(r),
        onMoved: (id, conn) => {
          if (conn) this.budget.remove(conn);
          this.orphans.drop(id);
        },
        onRequest: (id, request) => this.ownerRequest(id, request),
        onPresenceLogFull: (r, conn) => {
          this.opts.metrics.budgetEvictions.inc({ scope: 'session' });
          r.destroy(conn, 'bufferOverflow', 'INTERRUPTED_BUDGET_EXCEEDED');
        },
        onMediaReady: (r) => this.opts.recordings?.mediaReady(r),
        onArchiveRequest: (r, request) => this.opts.recordings?.request(r, request),
      },
      () => this.opts.clock.now(),
      {
        makeSfu: (hooks) =>
          new Sfu(
            {
              clock: this.opts.clock,
              log: this.opts.log,
              mediaTimeoutMs: this.opts.mediaTimeoutMs,
              mediaWindowMs: this.opts.transport.mediaWindowMs,
            },
            hooks,
          ),
        homes: engine.mediaHomes,
        clock: this.opts.clock,
      },
      (entries, fence, failed) => {
        // Read before the append: the memory engine folds the entries in before it returns.
        const payloads = monitoring
          ? monitorPayloads(entries, room, {
              apiKey,
              sessionId: session.sessionId,
              now: this.opts.clock.now(),
              newId: randomUUID,
            })
          : [];
        const appended = engine.append(session.sessionId, entries, fence);
        if (payloads.length > 0) this.opts.callbacks.after(appended, payloads);
        return appended.catch((err: unknown) => {
          this.opts.log.error({ err, sessionId: session.sessionId }, 'append to the session log failed');
          failed?.(err);
        });
      },
      engine.nodeId,
      this.clustered,
    );
    const followed = await engine.follow(
      session.sessionId,
      (batch) => room.onLogged(batch),
      () => this.broken(room),
    );
    room.load(followed.snapshot);
    // After the snapshot: an archive started before it was written to the store before its event.
    const seen = room.archiveEvents;
    const running = await this.opts.recordings?.running(session.sessionId).catch(() => undefined);
    if (running && room.archiveEvents === seen) room.archive = running;
    this.rooms.set(session.sessionId, room);
    this.unfollow.set(room, followed.unfollow);
    return room;
  }

  /**
   * This node fell behind the session's bounded log (cut off from the cluster while others
   * went on): its replica and its connections' outboxes have a hole. Its connections end with
   * bufferOverflow, as one whose outbox overflowed; their clients join again.
   */
  private broken(room: Room): void {
    this.opts.log.error(
      { sessionId: room.id },
      'cluster: this node fell behind the session log; ending its connections',
    );
    for (const conn of room.members()) room.destroy(conn, 'bufferOverflow', 'BUFFER_OVERFLOW');
    this.closeRoom(room);
  }

  /** No connection of its own, no orphan waiting, no media to run: this node stops following the session. */
  private closeIfUnused(room: Room): void {
    if (room.members().length === 0 && !this.orphans.inSession(room.id) && !room.routing.pinned)
      this.closeRoom(room);
  }

  /** A room whose last local connection left: this node stops following the session. */
  private closeRoom(room: Room): void {
    this.opts.recordings?.roomClosed(room);
    room.routing.close();
    room.media.close();
    if (this.rooms.get(room.id) === room) this.rooms.delete(room.id);
    this.unfollow.get(room)?.();
    this.unfollow.delete(room);
  }

  /** A room opened for a join that did not happen. */
  private closeIfEmpty(room: Room): void {
    if (room.members().length === 0 && !room.routing.pinned) this.closeRoom(room);
  }

  private destroyed(room: Room, conn: Connection, reason: EndReason, code: ErrorCode, seen: boolean): void {
    this.budget.remove(conn);
    if (this.clustered)
      this.opts.engine.directory
        .remove(room.id, conn.id)
        .catch((err: unknown) => this.clusterError(err, 'remove'));
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
