import {
  checkSignal,
  errorMessage,
  errorNumber,
  wellFormed,
  type ClientOpFrame,
  type ConnectionInfo,
  type Codec,
  type ServerFrame,
  type Wire,
  type ErrorCode,
  type PeerConnection,
  type PresenceChange as AnyPresenceChange,
  type Reason,
  type ServerEvent,
  type SessionInfo,
  type StreamInfo,
  type Clock,
  type RunningArchive,
} from '@tether/protocol';
import {
  FencedError,
  isFor,
  subjectOf,
  viewFor,
  type ArchiveRequest,
  type Fence,
  type LogEntry,
  type Logged,
  type MediaHomes,
  type Member,
  type OwnerRequest,
  type Position,
  type SessionRecord,
  type SessionSnapshot,
} from './cluster/engine.js';
import type { Connection } from './connection.js';
import { isConfirmed, type ConnectionState } from './connection-state.js';
import { emptyState, foldEntry, type SessionState } from './cluster/session-fold.js';
import { PresenceBatch } from './presence-batch.js';
import { PresenceLog, type PresenceChange } from './presence-log.js';
import { RoomMedia } from './room-media.js';
import { MediaRouting } from './media-routing.js';
import { RoomOps } from './room-ops.js';
import type { Sfu, SfuHooks } from './media/sfu.js';

/**
 * The reasons the server ends a connection with. Not `tokenExpired`: a token is checked when
 * joining only (PROTOCOL.md, Tokens); not `resumeFailed`: that is the client's ending.
 */
export type EndReason = Exclude<Reason, 'tokenExpired' | 'resumeFailed'>;

export interface RoomHooks {
  /** A connection ended for good (for tombstones, metrics and logs); `seen` is false for one nobody was told of. */
  onDestroyed(conn: Connection, reason: EndReason, code: ErrorCode, seen: boolean): void;
  /** The last connection this node owns left (and it runs none of the session's media). */
  onEmpty(room: Room): void;
  /** This node, the session's media home, let its media go (no stream left): it may stop following it. */
  onMediaIdle(room: Room): void;
  /** A connection was taken over by another node (a resume there): dropped here without a word, if held here. */
  onMoved(connectionId: string, conn: Connection | undefined): void;
  /** The owner of a connection is asked to end it, and this node holds none: maybe an orphan of a dead node. */
  onRequest(connectionId: string, request: OwnerRequest): void;
  /** The presence log passed its bound: `conn`, away longest, must end (it keeps the oldest changes). */
  onPresenceLogFull(room: Room, conn: Connection): void;
  /** A stream was published, or this node became the session's media home: archive mode `always` may start recording. */
  onMediaReady(room: Room): void;
  /** Another node asks the media home to start or stop the session's archive. */
  onArchiveRequest(room: Room, request: ArchiveRequest): void;
}

/** How long the others may be kept waiting to be told of interruptions, while more keep coming. */
const ANNOUNCE_MAX_WAIT_MS = 100;

function isPresenceChange(event: { t: string }): event is PresenceChange {
  return (
    event.t === 'connectionReconnecting' ||
    event.t === 'connectionReconnected' ||
    event.t === 'connectionDestroyed'
  );
}

/** The presence changes an event carries (none for other events). */
function changesOf(event: ServerEvent): AnyPresenceChange[] {
  if (event.t === 'presence') return event.changes;
  return event.t === 'connectionCreated' || isPresenceChange(event) ? [event as AnyPresenceChange] : [];
}

/**
 * What a member away is sent of an event: joins go into its outbox like any event, the other
 * presence changes wait for its return (PresenceLog); undefined when nothing is left.
 */
function awayView(event: ServerEvent | undefined): ServerEvent | undefined {
  if (event === undefined) return undefined;
  const changes = changesOf(event);
  if (!changes.some(isPresenceChange)) return event;
  const joins = changes.filter((c) => c.t === 'connectionCreated');
  return joins.length > 0 ? { t: 'presence', changes: joins } : undefined;
}

/** The code a connection is closed with for each reason. */
export const CLOSE_CODE: Record<EndReason, ErrorCode> = {
  clientDisconnected: 'LEFT',
  networkDisconnected: 'NETWORK_DISCONNECTED',
  forceDisconnected: 'FORCE_DISCONNECTED',
  forceUnpublished: 'FORCE_DISCONNECTED',
  serverShutdown: 'SERVER_SHUTDOWN',
  bufferOverflow: 'BUFFER_OVERFLOW',
  protocolError: 'ABUSE_CLOSED',
};

/**
 * Appends entries to the session's log; the engine delivers them back through `onLogged`.
 * `failed` hears an append that did not happen (the engine's error); the promise settles
 * when the append has happened or failed (it never rejects).
 */
export type Append = (entries: LogEntry[], fence?: Fence, failed?: (err: unknown) => void) => Promise<void>;

/**
 * One session as this node sees it: a replica of its members and streams, folded from the
 * session's log (cluster/engine.ts), and the connections this node owns, to which it delivers
 * the log's entries in order. Every change is an append; nothing changes until the entry
 * comes back through `onLogged` — with the memory engine, before `append` returns. Holds the
 * semantics of every client operation. Knows nothing of sockets.
 */
export class Room {
  /** Every member the log has told of (pending ones included), in join order. */
  /** The replica of the session, folded from its log: members in join order, streams. */
  private readonly state: SessionState = emptyState();
  private readonly roster = this.state.members;
  readonly streams: Map<string, StreamInfo> = this.state.streams;
  /** The connections this node owns: it delivers to them and is the one to change their state. */
  private readonly local = new Map<string, Connection>();
  /** The server is shutting down: no more deliveries but the byes. */
  closing = false;
  /** Presence changes the local members without a transport were not sent; each gets the net change when back. */
  readonly absent = new PresenceLog<Connection>();
  /** Interrupted, the others not told yet (see `interrupted`), since `announceSince`. */
  private readonly unannounced = new Set<Connection>();
  private announceSince = 0;
  /** A local connection left during the batch being applied: the room may be empty after it. */
  private lostLocal = false;
  /** Connections being taken over: the entries for them, held until their replay is rebuilt. */
  private readonly adopting = new Map<string, Logged[]>();
  /** The entries of the operation being applied, appended together with its reply. */
  private batch: { entries: LogEntry[]; fence: Fence } | undefined;
  /** The last log position folded in: a welcome built now is the session as of here. */
  private at: Position = '0';
  /** Presence changes not appended yet (presence-batch.ts): appended before anything else is. */
  private readonly presence: PresenceBatch;
  /** The session's running archive, as the log told (`archiveStarted` / `archiveStopped`): joiners' welcomes carry it. */
  archive: RunningArchive | undefined;
  /** How many archive events were folded: a look-up of the running archive made before one is stale. */
  archiveEvents = 0;

  readonly media: RoomMedia;
  /** Where its media ops run: here, or at the session's media home on another node. */
  readonly routing: MediaRouting;
  private readonly ops: RoomOps;

  constructor(
    readonly session: SessionInfo,
    private readonly hooks: RoomHooks,
    private readonly now: () => number,
    /** Where the media of a routed session runs: the SFU and the cluster's media homes. */
    mediaHost: { makeSfu: (hooks: SfuHooks) => Sfu; homes: MediaHomes; clock: Clock },
    private readonly append: Append,
    /** This node's id (the owner of the connections it welcomes). */
    private readonly nodeId: string,
    /**
     * A cluster engine: other nodes follow the session too. Then presence changes are not
     * spared to members still attached but silent past half their timeout (most likely about
     * to be found dead), as one process does: another node rebuilding a connection's replay
     * numbers every entry, so an attached connection must be sent exactly the log's entries.
     */
    private readonly clustered = false,
  ) {
    this.presence = new PresenceBatch(now, (entries) => this.appendLog(entries));
    const sfuHooks: SfuHooks = {
      onFlowing: (streamId, flowing) => {
        if (this.streams.has(streamId)) this.emit({ event: { t: 'streamMedia', streamId, flowing } });
      },
      onGiveUp: (streamId) => this.destroyStream(streamId, 'networkDisconnected'),
    };
    this.media = new RoomMedia(
      {
        streams: this.streams,
        send: (event, to) => this.emit({ event, to }),
        broadcast: (event, except) => this.emit({ event, ...(except ? { except } : {}) }),
        becameHome: () => this.hooks.onMediaReady(this),
      },
      session.mediaMode === 'routed' ? () => mediaHost.makeSfu(sfuHooks) : undefined,
      !clustered,
    );
    const streams = this.streams;
    this.routing = new MediaRouting(
      {
        sessionId: session.sessionId,
        nodeId,
        media: this.media,
        get streamCount() {
          return streams.size;
        },
        append: (entries) =>
          new Promise<void>(
            (resolve, reject) => void this.appendNow(entries, undefined, reject).then(resolve),
          ),
      },
      mediaHost.homes,
      mediaHost.clock,
      clustered,
    );
    this.ops = new RoomOps(this, now);
  }

  get id(): string {
    return this.session.sessionId;
  }

  get position(): Position {
    return this.at;
  }

  /** The state the log was at when this node started following it. */
  load(snapshot: SessionSnapshot): void {
    this.at = snapshot.at;
    for (const member of snapshot.members) this.roster.set(member.info.connectionId, { ...member });
    for (const stream of snapshot.streams) this.streams.set(stream.streamId, { ...stream });
  }

  /** Connection events suppressed: subscribers are told only of the others (PROTOCOL.md, Large sessions). */
  get suppressed(): boolean {
    return this.session.connectionEventsSuppressed === true;
  }

  /** Everyone else a joining client should see: the confirmed members, in join order. */
  peersOf(conn: Connection): PeerConnection[] {
    const peers: PeerConnection[] = [];
    const onlyStage = this.suppressed && conn.role === 'subscriber';
    for (const m of this.roster.values())
      if (m.info.connectionId !== conn.id && m.state !== 'pending' && !(onlyStage && m.role === 'subscriber'))
        peers.push({ ...m.info, ...(m.state === 'interrupted' ? { reconnecting: true } : {}) });
    return peers;
  }

  /** The confirmed members, as the HTTP API lists them. */
  connectionList(): Array<ConnectionInfo & { reconnecting: boolean }> {
    const list: Array<ConnectionInfo & { reconnecting: boolean }> = [];
    for (const m of this.roster.values())
      if (m.state !== 'pending') list.push({ ...m.info, reconnecting: m.state === 'interrupted' });
    return list;
  }

  /**
   * Whether a connection is in the session, confirmed or not (a directed signal reaches either).
   * One this node welcomed counts at once: its `~joined` may still be on its way back from the
   * cluster's log while another client already addresses it (the memory engine folds at once).
   */
  has(id: string): boolean {
    return this.roster.has(id) || this.local.has(id);
  }

  /** A member as the replica knows it (callbacks describe a connection by it). */
  memberInfo(id: string): ConnectionInfo | undefined {
    // One this node welcomed is known at once, its `~joined` still on its way back (see `has`).
    return this.roster.get(id)?.info ?? this.local.get(id)?.info;
  }

  /** What the replica knows of a connection's state (undefined: not in the session). */
  memberState(id: string): Member['state'] | undefined {
    return this.roster.get(id)?.state;
  }

  /**
   * A connection taken over from another node joins the local ones; until `endAdoption`, the
   * entries for it are held (its replay is being rebuilt from the log, and comes first).
   */
  beginAdoption(conn: Connection): void {
    this.local.set(conn.id, conn);
    this.adopting.set(conn.id, []);
  }

  /** The entries held for it since `beginAdoption`, in order; from now on it is delivered to. */
  endAdoption(conn: Connection): Logged[] {
    const held = this.adopting.get(conn.id) ?? [];
    this.adopting.delete(conn.id);
    return held;
  }

  /** A connection that will not be held here after all (a takeover that failed). */
  forget(conn: Connection): void {
    if (this.local.get(conn.id) === conn) this.local.delete(conn.id);
  }

  /** A connection this node owns, confirmed or not. */
  member(id: string): Connection | undefined {
    return this.local.get(id);
  }

  /** The connections this node owns. */
  members(): Connection[] {
    return [...this.local.values()];
  }

  /**
   * A welcomed connection joins unseen: from now on it receives the log's entries (its
   * welcome is the replica as of now), and the log tells the other nodes of it.
   */
  admit(conn: Connection): void {
    this.local.set(conn.id, conn);
    this.emit({
      event: {
        t: '~joined',
        member: { info: conn.info, role: conn.role, state: 'pending', owner: this.nodeId },
      },
    });
  }

  /** Its client confirmed the welcome: from now on the others see it. */
  confirm(conn: Connection): void {
    if (this.local.get(conn.id) !== conn || conn.state !== 'pending') return;
    conn.confirm();
    this.presenceChanged({ t: 'connectionCreated', connection: conn.info });
  }

  /**
   * A connection lost its transport: from now on it is away, and presence changes are kept
   * for it once, not queued. The others are told once a turn of the event loop passes with no
   * other loss (at most ANNOUNCE_MAX_WAIT_MS later): connections lost together (one outage, a
   * thousand closes read over a few turns) are all away by then, and none is told of the others.
   */
  interrupted(conn: Connection): void {
    this.absent.left(conn);
    if (conn.state !== 'interrupted') return;
    this.unannounced.add(conn);
    if (this.unannounced.size > 1) return;
    this.announceSince = this.now();
    this.announceAfterQuietTurn(1);
  }

  private announceAfterQuietTurn(seen: number): void {
    // A turn of the event loop, not a time: what was read together is announced together.
    setImmediate(() => {
      const n = this.unannounced.size;
      if (n === 0) return;
      if (n > seen && this.now() - this.announceSince < ANNOUNCE_MAX_WAIT_MS) this.announceAfterQuietTurn(n);
      else this.announce();
    });
  }

  private announce(): void {
    const lost = [...this.unannounced];
    this.unannounced.clear();
    for (const conn of lost)
      if (conn.state === 'interrupted')
        this.presenceChanged({ t: 'connectionReconnecting', connectionId: conn.id });
  }

  /**
   * A connection is coming back (its resume was accepted, or its silent client spoke): the
   * net presence changes it missed go into its outbox, after what it holds.
   */
  catchUp(conn: Connection): void {
    for (const change of this.absent.back(conn, conn.id, conn.role !== 'subscriber')) conn.deliver(change);
  }

  /** A resume attached a new transport; `before` is the state it found. A resume also confirms. */
  resumed(conn: Connection, before: ConnectionState): void {
    // Back before the others were told it had gone: they are told nothing.
    if (before === 'interrupted' && !this.unannounced.delete(conn))
      this.presenceChanged({ t: 'connectionReconnected', connectionId: conn.id });
    else if (!isConfirmed(before)) this.presenceChanged({ t: 'connectionCreated', connection: conn.info });
  }

  /** Entries of the session's log, in order: fold each into the replica, deliver it to whom it is for. */
  onLogged(batch: readonly Logged[]): void {
    for (const { at, entry } of batch) {
      this.at = at;
      const { event } = entry;
      // The replica: one definition of what each entry does, for both engines (session-fold.ts).
      foldEntry(this.state, entry);
      if (event.t.startsWith('~')) this.record(event as SessionRecord, entry.to);
      else {
        this.effects(event as ServerEvent);
        this.deliver(event as ServerEvent, entry, at);
      }
    }
    // Only a departure empties a room: one just opened for a join or a takeover is not empty yet.
    const emptied = this.lostLocal && this.local.size === 0;
    this.lostLocal = false;
    // The media home keeps following a session whose media it runs, with no connection of its own.
    if (emptied && !this.routing.pinned) this.hooks.onEmpty(this);
  }

  /**
   * The append of an operation failed (Redis lost, or the connection fenced off: another node
   * took it over). It was not applied: the connection forgets it applied it and its transport
   * is dropped, so its client resumes — here or elsewhere — and sends it again.
   */
  notApplied(conn: Connection, seq: number, err: unknown): void {
    if (conn.lastApplied >= seq) conn.lastApplied = seq - 1;
    if (err instanceof FencedError || conn.state === 'closed') return;
    conn.dropLink('CLUSTER_UNAVAILABLE');
  }

  /** Appends now, or with the rest of the operation being applied (one atomic append: its effects and its reply). */
  emit(...entries: LogEntry[]): void {
    if (this.batch) this.batch.entries.push(...entries);
    else this.appendNow(entries);
  }

  /** Appends after the presence changes made before (flushPresence). */
  private appendNow(entries: LogEntry[], fence?: Fence, failed?: (err: unknown) => void): Promise<void> {
    // Unfenced, in the same append (one round trip to a cluster engine); a fence or a failure
    // handler is the operation's own, not the presence changes'.
    if (fence === undefined && failed === undefined)
      return this.appendLog([...this.presence.take(), ...entries]);
    this.flushPresence();
    return this.appendLog(entries, fence, failed);
  }

  /** Appends; with connection events suppressed, each presence entry names the subscribers it is about (`quiet`). */
  private appendLog(entries: LogEntry[], fence?: Fence, failed?: (err: unknown) => void): Promise<void> {
    if (this.suppressed)
      for (const entry of entries) {
        const { event } = entry;
        if (event.t.startsWith('~')) continue;
        const quiet = changesOf(event as ServerEvent)
          .map(subjectOf)
          // Its own connection first: with a cluster engine the replica may not have its join back yet.
          .filter((id) => (this.local.get(id)?.role ?? this.roster.get(id)?.role) === 'subscriber');
        if (quiet.length > 0) entry.quiet = [...new Set(quiet)];
      }
    return this.append(entries, fence, failed);
  }

  /** A presence change, appended with the others made with it (presence-batch.ts). */
  private presenceChanged(change: AnyPresenceChange): void {
    this.presence.add(change);
  }

  /** Appends the presence changes not appended yet. */
  flushPresence(): void {
    this.presence.flush();
  }

  /** What an event changes in the replica. */
  /** What an event means for the connections this node holds, beyond the replica (folded already). */
  private effects(event: ServerEvent): void {
    if (event.t === 'streamCreated') {
      this.local.get(event.stream.connectionId)?.streams.add(event.stream.streamId);
      this.hooks.onMediaReady(this);
    } else if (event.t === 'archiveStarted' || event.t === 'archiveStopped') {
      this.archiveEvents++;
      if (event.t === 'archiveStarted') this.archive = { id: event.id, name: event.name };
      else if (this.archive?.id === event.id) this.archive = undefined;
    } else if (event.t === 'streamDestroyed') {
      this.local.get(event.connectionId)?.streams.delete(event.streamId);
      this.media.streamEnded(event.streamId);
      if (this.streams.size === 0 && this.media.isHome && this.clustered)
        void this.routing.idle().then(
          () => this.hooks.onMediaIdle(this),
          () => this.hooks.onMediaIdle(this),
        );
    } else if (event.t === 'mediaRelay') this.media.observe(event);
    else if (event.t === 'mediaMoved') this.routing.moved();
  }

  /** Sends an event to the local connections it is for; the body is encoded once per codec in use. */
  private deliver(event: ServerEvent, entry: LogEntry, at: Position): void {
    if (this.closing) return;
    if (this.adopting.size > 0) this.hold(entry, at);
    if (entry.to !== undefined) {
      if (this.adopting.has(entry.to)) return;
      this.local.get(entry.to)?.deliver(event, at);
      return;
    }
    const kept = changesOf(event).filter(isPresenceChange);
    let full: Connection | undefined;
    if (kept.length > 0) {
      if (!this.clustered)
        for (const conn of this.local.values())
          if (conn.id !== entry.except && conn.silentTooLong) this.absent.left(conn);
      const quiet = new Set(entry.quiet);
      for (const change of kept) full = this.absent.record(change, quiet.has(change.connectionId)) ?? full;
    }
    // Each view of the entry (a subscriber's, a member away's) is encoded once per codec.
    const views = new Map<string, { event: ServerEvent | undefined; bodies: Map<Codec, Wire> }>();
    const viewOf = (role: Connection['role'], away: boolean) => {
      const key = `${role === 'subscriber'}:${away}`;
      let view = views.get(key);
      if (!view) {
        const seen = viewFor(entry, role);
        views.set(key, (view = { event: away ? awayView(seen) : seen, bodies: new Map() }));
      }
      return view;
    };
    // Copy: a delivery can overflow an outbox and destroy a connection mid-loop.
    for (const conn of [...this.local.values()]) {
      if (conn.id === entry.except || this.adopting.has(conn.id)) continue;
      // Away: it gets the net change when back (PresenceLog), not one frame per change.
      const view = viewOf(conn.role, kept.length > 0 && this.absent.isAway(conn));
      if (view.event === undefined) continue;
      let body = view.bodies.get(conn.codec);
      if (body === undefined) view.bodies.set(conn.codec, (body = conn.codec.body(view.event)));
      conn.deliverEncoded(body, at);
    }
    if (full) this.hooks.onPresenceLogFull(this, full);
  }

  private hold(entry: LogEntry, at: Position): void {
    for (const [id, held] of this.adopting) if (isFor(entry, id)) held.push({ at, entry });
  }

  /** A record of the log: the replica changes, and the owner acts on its connection. */
  private record(rec: SessionRecord, to: string | undefined): void {
    switch (rec.t) {
      case '~joined':
        return;
      case '~moved': {
        if (rec.owner === this.nodeId) return;
        const conn = this.local.get(rec.connectionId);
        if (conn) {
          this.local.delete(conn.id);
          this.absent.forget(conn);
          this.unannounced.delete(conn);
          this.lostLocal = true;
          conn.close(1001, 'resumed on another node');
        }
        this.hooks.onMoved(rec.connectionId, conn);
        return;
      }
      case '~media':
      case '~mediaResult':
        this.routing.record(rec);
        return;
      case '~archive':
        if (this.media.isHome) this.hooks.onArchiveRequest(this, rec.request);
        return;
      case '~ended': {
        const conn = to === undefined ? undefined : this.local.get(to);
        this.media.connectionEnded(rec.connectionId, conn !== undefined);
        if (!conn) return;
        this.local.delete(conn.id);
        this.absent.forget(conn);
        this.unannounced.delete(conn);
        this.lostLocal = true;
        const reason = rec.reason as EndReason;
        const bye: ServerFrame = { t: 'bye', reason, code: rec.code, message: errorMessage(rec.code) };
        conn.close(errorNumber(rec.code), reason, bye);
        this.hooks.onDestroyed(conn, reason, rec.code, rec.seen);
        return;
      }
      case '~request': {
        const conn = this.local.get(rec.connectionId);
        if (!conn) {
          this.hooks.onRequest(rec.connectionId, rec.request);
          return;
        }
        if (rec.request.kind === 'forceDisconnect') this.destroy(conn, 'forceDisconnected');
        else this.destroyStream(rec.request.streamId, 'forceUnpublished');
        return;
      }
    }
  }

  /** Applies one client operation (already known to be the next in sequence) and replies. */
  apply(conn: Connection, op: ClientOpFrame): void {
    this.ops.apply(conn, op);
  }

  /**
   * Runs `work` with its appends gathered into one, fenced by the connection they are for:
   * an operation's effects and its reply, so a node that dies cannot leave one without the other.
   */
  together(fence: Fence, work: () => void, failed?: (err: unknown) => void): void {
    const batch = (this.batch = { entries: [] as LogEntry[], fence });
    try {
      work();
    } finally {
      this.batch = undefined;
      if (batch.entries.length > 0) this.appendNow(batch.entries, batch.fence, failed);
    }
  }

  /** A signal from the server API (`from: null`). */
  signalFromServer(type: string, data: string, to?: string): { delivered: number } | { error: ErrorCode } {
    const bad = checkSignal(type, data);
    if (bad) return { error: bad };
    const text = wellFormed(data);
    if (to !== undefined) {
      if (!this.roster.has(to)) return { error: 'SIGNAL_TARGET_NOT_FOUND' };
      this.emit({ event: { t: 'signal', from: null, type, data: text, to }, to });
      return { delivered: 1 };
    }
    const delivered = this.closing ? 0 : this.roster.size;
    this.emit({ event: { t: 'signal', from: null, type, data: text } });
    return { delivered };
  }

  /**
   * Ends a connection this node owns, for good: its transport gets a bye, its streams go,
   * the others are told. One nobody was told of (unconfirmed) goes without a word to them.
   */
  destroy(conn: Connection, reason: EndReason, code: ErrorCode = CLOSE_CODE[reason]): void {
    if (conn.state === 'closed' || this.local.get(conn.id) !== conn) return;
    const seen = isConfirmed(conn.state);
    const entries: LogEntry[] = [
      { event: { t: '~ended', connectionId: conn.id, reason, code, seen }, to: conn.id },
    ];
    for (const streamId of conn.streams) {
      const stream = this.streams.get(streamId);
      if (stream) entries.push({ event: { t: 'streamDestroyed', streamId, connectionId: conn.id, reason } });
    }
    if (seen) entries.push({ event: { t: 'connectionDestroyed', connectionId: conn.id, reason } });
    this.emit(...entries);
  }

  /**
   * An orphan (its owner died, this node took it over) whose transport is gone: the others
   * see it interrupted, if they saw it connected.
   */
  orphaned(id: string, fence: Fence): void {
    if (this.roster.get(id)?.state === 'connected')
      this.appendNow([{ event: { t: 'connectionReconnecting', connectionId: id }, except: id }], fence);
  }

  /** Ends an orphan for good, from what the replica knows of it: its streams go, the others are told. */
  endOrphan(id: string, reason: EndReason, fence: Fence, code: ErrorCode = CLOSE_CODE[reason]): void {
    const m = this.roster.get(id);
    if (!m) return;
    const seen = m.state !== 'pending';
    const entries: LogEntry[] = [{ event: { t: '~ended', connectionId: id, reason, code, seen }, to: id }];
    for (const stream of this.streams.values())
      if (stream.connectionId === id)
        entries.push({
          event: { t: 'streamDestroyed', streamId: stream.streamId, connectionId: id, reason },
        });
    if (seen) entries.push({ event: { t: 'connectionDestroyed', connectionId: id, reason } });
    this.appendNow(entries, fence);
  }

  /** Force-disconnects any member: here if this node owns it, else its owner is asked. False if unknown. */
  forceDisconnect(id: string): boolean {
    const conn = this.local.get(id);
    if (conn) {
      this.destroy(conn, 'forceDisconnected');
      return true;
    }
    if (!this.roster.has(id)) return false;
    this.emit({ event: { t: '~request', connectionId: id, request: { kind: 'forceDisconnect' } }, to: id });
    return true;
  }

  forceUnpublish(streamId: string): boolean {
    const stream = this.streams.get(streamId);
    if (!stream) return false;
    if (this.local.has(stream.connectionId)) this.destroyStream(streamId, 'forceUnpublished');
    else
      this.emit({
        event: {
          t: '~request',
          connectionId: stream.connectionId,
          request: { kind: 'forceUnpublish', streamId },
        },
        to: stream.connectionId,
      });
    return true;
  }

  /** Removes a stream and tells everyone but `quietTo` (its owner when the owner asked for it). */
  destroyStream(streamId: string, reason: EndReason, quietTo?: Connection): void {
    const stream = this.streams.get(streamId);
    if (!stream) return;
    this.emit({
      event: { t: 'streamDestroyed', streamId, connectionId: stream.connectionId, reason },
      ...(quietTo ? { except: quietTo.id } : {}),
    });
  }
}
