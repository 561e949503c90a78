import type {
  ClientOpFrame,
  CodecName,
  ConnectionInfo,
  ErrorCode,
  PresenceChange,
  Role,
  ServerEvent,
  StreamInfo,
} from '@tether/protocol';

/**
 * The cluster seam. One interface, two engines: `memory` (one process, no service — what
 * `tether serve` runs by default) and `redis` (any number of nodes).
 *
 * The design in one paragraph. Every session has **one ordered log**. A change to a session
 * — a join, a signal, a published stream, an interruption, a reply to an operation — is
 * appended to it as entries, atomically and in order; each node that holds connections of
 * the session follows the log, folds the entries into its replica of the session (presence,
 * streams: the `Room`) and delivers each entry to those of its connections it is addressed to.
 * A connection has **one owner**: the node holding its transport (or, after that node died,
 * the node that took it over). Only the owner changes a connection's state; other nodes ask
 * it through the log (a `~request` entry). The owner numbers what it delivers to its
 * connection in log order, so the numbering is a pure function of the log from the
 * connection's join: any node can rebuild a connection's replay from the log and a
 * checkpoint, which is what lets a client resume on another node with nothing lost. With
 * the memory engine, append delivers synchronously to the one follower: exactly the
 * behaviour of a single process.
 *
 * Why a log, not an adapter that only fans out (socket.io's): fan-out, presence, streams,
 * the replay log and resume state must agree with each other at every instant a client can
 * observe — a welcome's snapshot and the events after it, a replay and the live tail. One
 * ordered log gives that agreement by construction; separate structures would each need
 * their own consistency argument.
 */
export interface ClusterEngine {
  readonly name: 'memory' | 'redis';
  /** This node's id (unique in the cluster; the memory engine has one node). */
  readonly nodeId: string;
  /**
   * Whether the engine can serve now (Redis reachable). While it cannot, the node refuses new
   * joins and resumes with CLUSTER_UNAVAILABLE rather than split a session. Always true for memory.
   */
  readonly available: boolean;

  /**
   * Starts following a session's log: `sink` receives every entry appended after the
   * returned snapshot, in log order, until `unfollow`. A node follows a session while it
   * holds connections of it. The snapshot is the session's state at `at`.
   *
   * `onBroken`: the engine can no longer deliver every entry after the last one it gave
   * (Redis: the log was trimmed past this follower while it was cut off or behind). The
   * follow has ended; the replica is stale and must be rebuilt from a new `follow`. The
   * memory engine never breaks a follow.
   */
  follow(sessionId: string, sink: LogSink, onBroken?: () => void): Promise<Followed>;

  /**
   * Appends entries to a session's log, atomically (all or none) and in order. The memory
   * engine has delivered them to the sink before this returns. `fence` refuses the append
   * (FencedError) when that connection was taken over by another node since (`epoch`).
   */
  append(sessionId: string, entries: readonly LogEntry[], fence?: Fence): Promise<void>;

  /** The session's state now, for a node that does not follow it (the HTTP API). */
  snapshot(sessionId: string): Promise<SessionSnapshot>;

  /** Entries after `after` up to and including `upTo`, in order (to rebuild a replay on takeover). */
  read(sessionId: string, after: Position, upTo: Position): Promise<Logged[]>;

  /** The resume state of connections, for a resume on another node than their owner. */
  readonly directory: ConnectionDirectory;

  /**
   * Connections whose owner node died (its liveness key expired) that this node has taken
   * over: each is handed to exactly one live node, already claimed for it (epoch bumped). The
   * new owner marks them interrupted and ends them when their window passes, unless their
   * client resumes first. The memory engine never calls it.
   */
  onOrphans(handler: (records: ResumeRecord[]) => void): void;

  /** Which node runs each routed session's SFU (media-routing.ts). */
  readonly mediaHomes: MediaHomes;

  /**
   * Another node is dead (its liveness key expired): heard on every sweep that finds it, until
   * it is reaped. The memory engine never calls it.
   */
  onNodeDown(handler: (nodeId: string) => void): void;

  /** Stops this node's part: no more deliveries; its liveness ends (others take its connections over). */
  close(): Promise<void>;
}

/**
 * Where a routed session's media lives: one node at a time (its media home) runs the
 * session's SFU, and the media ops of clients on other nodes reach it through the session's
 * log. One key per session names the home; every change to it is a compare-and-set, so two
 * nodes never both run a session's SFU.
 */
export interface MediaHomes {
  /**
   * The session's media home: the node named while it lives, else this node (claimed).
   * `moved`: this node took the session's media from a dead or a draining home, so the media of
   * its streams must come back here. `announce`: the home it replaced was dead and nobody had
   * said so: this node appends `mediaMoved`. `host: false` (a draining node): the live home,
   * or `home: ''` when there is none — this node claims nothing.
   */
  claim(sessionId: string, host?: boolean): Promise<MediaClaim>;
  /**
   * This node gives the session's media up. `handover` (draining): the next claim is a move;
   * else (no media left) the session has no home until the next media op.
   */
  release(sessionId: string, handover: boolean): Promise<void>;
  /** If the dead node `dead` is still the session's home, it is replaced by nobody: true for exactly one caller, which announces the move. */
  clearDead(sessionId: string, dead: string): Promise<boolean>;
}

export interface MediaClaim {
  home: string;
  moved: boolean;
  announce: boolean;
}

/** A place in one session's log, ordered. Memory: a counter; Redis: a stream entry id. */
export type Position = string;

export interface Logged {
  at: Position;
  entry: LogEntry;
}

export type LogSink = (batch: readonly Logged[]) => void;

export interface Followed {
  snapshot: SessionSnapshot;
  unfollow(): void;
}

/** One entry: an event and who receives it. Without `to` or `except`, everyone does. */
export interface LogEntry {
  event: ServerEvent | SessionRecord;
  /** Only this connection receives it. */
  to?: string;
  /** Everyone but this connection. */
  except?: string;
  /**
   * Connections whose presence changes in this entry subscribers are not sent: subscribers of a
   * session with connection events suppressed (PROTOCOL.md, Large sessions). See `viewFor`.
   */
  quiet?: string[];
}

/**
 * Entries that change the replicas or ask an owner to act, never delivered to a client.
 * Their `t` starts with `~` so no client event can be mistaken for one.
 */
export type SessionRecord =
  /** A welcomed connection: replicas know it (a directed signal reaches it), nobody is told until `connectionCreated`. */
  | { t: '~joined'; member: Member }
  /** A connection ended: its owner closes its transport with this bye; replicas forget it (`seen`: others were told). */
  | { t: '~ended'; connectionId: string; reason: string; code: ErrorCode; seen: boolean }
  /** Another node asks the connection's owner to act on it (force-disconnect, force-unpublish). */
  | { t: '~request'; connectionId: string; request: OwnerRequest }
  /** A resume on another node took the connection over: its old owner drops it without a word. */
  | { t: '~moved'; connectionId: string; owner: string; epoch: number }
  /** A media op of a connection for the session's media home, `home` (media-routing.ts). */
  | { t: '~media'; home: string; connectionId: string; re: number; op: MediaOp }
  /** The media home's result of a `~media` op, for the connection's owner to reply with. */
  | { t: '~mediaResult'; connectionId: string; re: number; result: MediaResult }
  /** An archive start or stop asked of a node that does not run the session's media: its media home does it (archive/archives.ts). */
  | { t: '~archive'; request: ArchiveRequest };

/** What `~archive` asks of the media home; the asking node reads the outcome from the shared archive store. */
export type ArchiveRequest =
  | {
      op: 'start';
      id: string;
      project: string;
      body: {
        name: string;
        outputMode: 'composed' | 'individual';
        hasAudio: boolean;
        hasVideo: boolean;
        resolution: '640x480' | '1280x720' | '480x640' | '720x1280';
        layout: { type: 'bestFit' };
        maxDuration: number;
      };
    }
  | { op: 'stop'; id: string; project: string };

/** The ops a media home runs for other nodes (as the client sent them). */
export type MediaOp = Extract<
  ClientOpFrame,
  { t: 'publishMedia' | 'subscribe' | 'answerMedia' | 'restartMedia' | 'unsubscribe' }
>;

export type MediaResult =
  { ok: true; subscriptionId?: string; sdp?: string } | { ok: false; code: ErrorCode; detail?: string };

export type OwnerRequest = { kind: 'forceDisconnect' } | { kind: 'forceUnpublish'; streamId: string };

/** A connection as every replica knows it. */
export interface Member {
  info: ConnectionInfo;
  role: Role;
  /** `pending`: welcomed, unseen by others until confirmed. */
  state: 'pending' | 'connected' | 'interrupted';
  /** The node that owns it. */
  owner: string;
}

export interface SessionSnapshot {
  /** In join order. */
  members: Member[];
  streams: StreamInfo[];
  /** The log position the snapshot is at (entries after it follow). */
  at: Position;
}

/** Refuses an append made for a connection that another node owns now. */
export interface Fence {
  connectionId: string;
  epoch: number;
}

export class FencedError extends Error {
  constructor(readonly connectionId: string) {
    super(`connection ${connectionId} is owned by another node now`);
  }
}

/**
 * What a node needs to take over a connection it does not hold: to check the client's
 * secret and to rebuild the replay from the log.
 */
export interface ResumeRecord {
  sessionId: string;
  member: Member;
  /** SHA-256 of the resume secret, base64url (the secret itself is never stored). */
  secretDigest: string;
  codec: CodecName;
  /** Where the connection joined the log: it receives entries after this. */
  joinedAt: Position;
  /** Bumped by each takeover; appends made for the connection carry it (Fence). */
  epoch: number;
  checkpoint: Checkpoint;
  /** When its transport was lost, if it is interrupted (ms since the epoch). */
  interruptedAt?: number;
}

/**
 * A point the owner vouches for: the client acknowledged every frame up to `seq`, which was
 * the entry at `at`; the owner had applied client ops up to `lastApplied`. A takeover
 * replays entries after `at` addressed to the connection, numbering them from `seq + 1`.
 */
export interface Checkpoint {
  seq: number;
  at: Position;
  lastApplied: number;
}

export interface ConnectionDirectory {
  /** A new connection (at its welcome). */
  register(record: ResumeRecord): Promise<void>;
  load(sessionId: string, connectionId: string): Promise<ResumeRecord | undefined>;
  /** Records progress (the owner calls it as the client acknowledges, and when the transport is lost). */
  checkpoint(
    sessionId: string,
    connectionId: string,
    checkpoint: Checkpoint,
    interruptedAt?: number,
  ): Promise<void>;
  /** Takes the connection over for this node; undefined when it is gone or `epoch` is stale (someone else took it first). */
  claim(sessionId: string, connectionId: string, epoch: number): Promise<ResumeRecord | undefined>;
  /** The connection ended for good. */
  remove(sessionId: string, connectionId: string): Promise<void>;
}

/**
 * Orders two positions of one log: `ms-seq` stream ids (Redis) or plain counters (memory),
 * compared as numbers, never as text ("10-0" is after "9-0").
 */
export function comparePositions(a: Position, b: Position): number {
  const [am = 0, as = 0] = a.split('-').map(Number);
  const [bm = 0, bs = 0] = b.split('-').map(Number);
  return am !== bm ? am - bm : as - bs;
}

/** The connection a presence change is about. */
export function subjectOf(change: PresenceChange): string {
  return change.t === 'connectionCreated' ? change.connection.connectionId : change.connectionId;
}

/**
 * What a connection of `role` is sent of a client event it receives (isFor): all of it, or for
 * a subscriber its presence changes about connections other than the entry's `quiet` ones;
 * undefined when nothing is left. A pure function of the entry, so that any node numbers a
 * connection's frames alike (a takeover rebuilds its replay from the log).
 */
export function viewFor(entry: LogEntry, role: Role): ServerEvent | undefined {
  const event = entry.event as ServerEvent;
  if (entry.quiet === undefined || role !== 'subscriber') return event;
  const quiet = new Set(entry.quiet);
  if (event.t === 'presence') {
    const changes = event.changes.filter((c) => !quiet.has(subjectOf(c)));
    return changes.length === 0
      ? undefined
      : changes.length === event.changes.length
        ? event
        : { t: 'presence', changes };
  }
  const subject =
    event.t === 'connectionCreated'
      ? event.connection.connectionId
      : event.t === 'connectionDestroyed' ||
          event.t === 'connectionReconnecting' ||
          event.t === 'connectionReconnected'
        ? event.connectionId
        : undefined;
  return subject !== undefined && quiet.has(subject) ? undefined : event;
}

/** Whether a connection receives an entry: a client event addressed to it or to everyone but another. */
export function isFor(entry: LogEntry, connectionId: string): boolean {
  if (entry.event.t.startsWith('~')) return false;
  return entry.to !== undefined ? entry.to === connectionId : entry.except !== connectionId;
}
