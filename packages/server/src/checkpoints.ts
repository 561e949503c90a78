import type { Clock, TimerHandle } from '@tether/protocol';
import type { ClusterEngine, ResumeRecord } from './cluster/engine.js';
import type { Connection } from './connection.js';
import type { Room } from './room.js';
import { secretDigest } from './takeover.js';

/** How often a cluster node records what its clients acknowledged (a takeover replays from there). */
const CHECKPOINT_EVERY_MS = 500;

/**
 * A cluster node's side of the connection directory: each connection's resume record at its
 * welcome, then its progress — what its client acknowledged (and where that was in the log),
 * what was applied — every 500 ms and at once when its transport is lost. Another node taking
 * the connection over replays the log from the last checkpoint, so a stale one costs a longer
 * replay, never a lost or doubled frame.
 */
export class Checkpoints {
  /** Per local connection: where it joined the log, and what the last checkpoint said. */
  private readonly marks = new WeakMap<Connection, { mark: string; joinedAt: string }>();
  private timer: TimerHandle | undefined;

  constructor(
    private readonly engine: ClusterEngine,
    private readonly clock: Clock,
    private readonly failed: (err: unknown, what: string) => void,
  ) {}

  /** The record another node needs to take a new connection over. */
  register(sessionId: string, conn: Connection, secret: string, joinedAt: string): void {
    const record: ResumeRecord = {
      sessionId,
      member: { info: conn.info, role: conn.role, state: 'pending', owner: this.engine.nodeId },
      secretDigest: secretDigest(secret),
      codec: conn.codec.name,
      joinedAt,
      epoch: conn.epoch,
      checkpoint: { seq: 0, at: joinedAt, lastApplied: 0 },
    };
    this.marks.set(conn, { mark: '0:0', joinedAt });
    this.engine.directory.register(record).catch((err: unknown) => this.failed(err, 'register'));
  }

  /** A connection this node took over: its record exists, its progress is recorded from now on. */
  adopted(conn: Connection, joinedAt: string): void {
    this.marks.set(conn, { mark: '', joinedAt });
  }

  /** Records a connection's progress, if it moved (or its transport was lost, `interruptedAt`). */
  record(sessionId: string, conn: Connection, interruptedAt?: number): void {
    const mark = `${conn.outbox.ackedSeq}:${conn.lastApplied}`;
    const last = this.marks.get(conn);
    if (!last || (interruptedAt === undefined && last.mark === mark)) return;
    last.mark = mark;
    // Nothing acknowledged yet: the checkpoint is where it joined the log.
    const at = conn.outbox.ackedAt ?? (conn.outbox.ackedSeq === 0 ? last.joinedAt : undefined);
    if (at === undefined) return;
    this.engine.directory
      .checkpoint(
        sessionId,
        conn.id,
        { seq: conn.outbox.ackedSeq, at, lastApplied: conn.lastApplied },
        interruptedAt,
      )
      .catch((err: unknown) => this.failed(err, 'checkpoint'));
  }

  /** Every 500 ms, the progress of every local connection of `rooms`. */
  start(rooms: () => Iterable<Room>): void {
    this.timer = this.clock.setTimeout(() => {
      for (const room of rooms()) for (const conn of room.members()) this.record(room.id, conn);
      this.start(rooms);
    }, CHECKPOINT_EVERY_MS);
  }

  stop(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }
}
