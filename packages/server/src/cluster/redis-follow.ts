import type { Redis } from 'ioredis';
import type { Logged, LogSink, Position } from './engine.js';
import { comparePositions, entryNumber, parseEntry, type RawEntry } from './redis-log.js';

export interface ReaderOptions {
  /** Entries per session per read (XREAD COUNT). */
  batch: number;
  /** How long one XREAD blocks (ms); a wake or an entry ends it sooner. */
  blockMs: number;
}

const ERROR_BACKOFF_MS = 200;

interface Follower {
  /** The last position delivered to it (or its snapshot's), and that entry's number. */
  at: Position;
  n: number;
  sink: LogSink;
  onBroken?: () => void;
}

interface Session {
  id: string;
  key: string;
  followers: Set<Follower>;
}

/**
 * A node's one blocking reader: XREAD BLOCK over the logs of every session the node follows,
 * on a connection of its own, delivering each session's new entries to its sinks in log order.
 *
 * Each follower keeps its own position; a session is read from the least of them, and a
 * batch goes to a follower only when the read started at or before its position — the batch
 * is then every entry after that position, so nothing is skipped or given twice even when a
 * follower joins with an older snapshot while a read is in flight (it gets the next read).
 *
 * Entries are numbered (redis-scripts.ts): when the first entry a follower would get is not
 * the one after its last, the log was trimmed past it (it was cut off from Redis, or fell
 * that far behind) and it can no longer be given every entry. Its follow ends there, and
 * `onBroken` tells it to rebuild from a new snapshot rather than fold a log with a hole.
 *
 * Waking the reader when the followed set changes: the reader also reads the node's wake
 * stream, and `wake()` adds an entry to it. Chosen over CLIENT UNBLOCK, which is lost when
 * it reaches Redis before the XREAD it should interrupt (the reader is between reads), and
 * needs the reader's client id again after every reconnect; an entry is never lost — an
 * XREAD that arrives after it returns at once.
 */
export class LogReader {
  private readonly sessions = new Map<string, Session>();
  private readonly byKey = new Map<string, Session>();
  private wakeAt: Position = '0-0';
  private stopped = false;
  private running?: Promise<void>;
  private resume?: () => void;

  constructor(
    /** Dedicated: XREAD BLOCK holds it. */
    private readonly conn: Redis,
    /** The node's command connection (for the wake entry). */
    private readonly command: Redis,
    private readonly wakeKey: string,
    private readonly opts: ReaderOptions,
    private readonly onError: (err: unknown) => void,
  ) {}

  start(): void {
    this.running ??= this.loop();
  }

  /**
   * Delivers the entries of `key`'s log after `at` (the entry numbered `n`) to `sink` until
   * the returned function is called, or until it cannot (`onBroken`).
   */
  add(
    sessionId: string,
    key: string,
    at: Position,
    n: number,
    sink: LogSink,
    onBroken?: () => void,
  ): () => void {
    let s = this.sessions.get(sessionId);
    if (!s) {
      s = { id: sessionId, key, followers: new Set() };
      this.sessions.set(sessionId, s);
      this.byKey.set(key, s);
    }
    const follower: Follower = { at, n, sink, ...(onBroken ? { onBroken } : {}) };
    s.followers.add(follower);
    const session = s;
    return () => this.remove(session, follower);
  }

  private remove(session: Session, follower: Follower): void {
    session.followers.delete(follower);
    if (session.followers.size === 0 && this.sessions.get(session.id) === session) {
      this.sessions.delete(session.id);
      this.byKey.delete(session.key);
    }
  }

  /** Ends the reader's current XREAD so the next one reads what is followed now. */
  async wake(): Promise<void> {
    await this.command.xadd(this.wakeKey, 'MAXLEN', '1', '*', 'w', '1');
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.conn.disconnect();
    this.resume?.();
    await this.running;
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      if (this.conn.status === 'end') return;
      if (this.conn.status !== 'ready') {
        await new Promise<void>((resolve) => {
          const done = () => {
            this.conn.off('ready', done);
            this.resume = undefined;
            resolve();
          };
          this.conn.once('ready', done);
          // stop() ends the wait itself: a disconnect while reconnecting emits nothing.
          this.resume = done;
        });
        continue;
      }
      const from = new Map<string, Position>();
      for (const s of this.sessions.values()) from.set(s.key, this.cursor(s));
      const keys = [this.wakeKey, ...from.keys()];
      const ids = [this.wakeAt, ...from.values()];
      let reply: [string, RawEntry[]][] | null;
      try {
        reply = (await this.conn.xread(
          'COUNT',
          this.opts.batch,
          'BLOCK',
          this.opts.blockMs,
          'STREAMS',
          ...keys,
          ...ids,
        )) as [string, RawEntry[]][] | null;
      } catch (err) {
        // The connection dropped (the engine reports it); the next read resumes from the same positions.
        if (!this.stopped && this.conn.status === 'ready') {
          // A reply error, not a lost connection: report it and back off rather than spin.
          this.onError(err);
          await new Promise((r) => setTimeout(r, ERROR_BACKOFF_MS).unref());
        }
        continue;
      }
      if (reply) this.deliver(reply, from);
    }
  }

  private cursor(s: Session): Position {
    let min: Position | undefined;
    for (const f of s.followers) if (min === undefined || comparePositions(f.at, min) < 0) min = f.at;
    return min!;
  }

  private deliver(reply: [string, RawEntry[]][], from: Map<string, Position>): void {
    for (const [key, raw] of reply) {
      if (key === this.wakeKey) {
        this.wakeAt = raw[raw.length - 1]![0];
        continue;
      }
      const s = this.byKey.get(key);
      const start = from.get(key);
      if (!s || start === undefined || raw.length === 0) continue;
      const batch: Logged[] = raw.map(parseEntry);
      const numbers = raw.map(entryNumber);
      const last = batch[batch.length - 1]!.at;
      // Copy: a sink may unfollow (or follow) as it runs.
      for (const f of [...s.followers]) {
        if (!s.followers.has(f) || comparePositions(f.at, start) < 0) continue;
        let i = 0;
        while (i < batch.length && comparePositions(batch[i]!.at, f.at) <= 0) i++;
        if (i === batch.length) continue;
        try {
          if (numbers[i] !== f.n + 1) {
            this.remove(s, f);
            f.onBroken?.();
            continue;
          }
          f.at = last;
          f.n = numbers[numbers.length - 1]!;
          f.sink(i === 0 ? batch : batch.slice(i));
        } catch (err) {
          this.onError(err);
        }
      }
    }
  }
}
