import { LIMITS, type PresenceChange } from '@tether/protocol';
import { subjectOf, type LogEntry } from './cluster/engine.js';

/** How long presence changes may wait for more to share their frame, while more keep coming. */
export const PRESENCE_MAX_WAIT_MS = 50;

/**
 * A session's presence changes not appended yet. They go out together once a turn of the
 * event loop passes with no new one (at most PRESENCE_MAX_WAIT_MS after the first, at most
 * LIMITS.presenceBatchMaxChanges): a join storm, read over many turns, reaches each member in
 * a few `presence` frames, not one frame per join. The room flushes them before appending
 * anything else, so the log keeps the order things happened in (PROTOCOL.md, Presence batches).
 */
export class PresenceBatch {
  private pending: PresenceChange[] = [];
  private timer: ReturnType<typeof setImmediate> | undefined;
  private since = 0;

  constructor(
    private readonly now: () => number,
    /** Appends the entries of a flush. */
    private readonly append: (entries: LogEntry[]) => void,
  ) {}

  get size(): number {
    return this.pending.length;
  }

  add(change: PresenceChange): void {
    this.pending.push(change);
    if (this.pending.length >= LIMITS.presenceBatchMaxChanges) this.flush();
    else if (this.pending.length === 1) {
      this.since = this.now();
      this.afterQuietTurn(1);
    }
  }

  /**
   * Appends what is pending: one change alone as its own event (its subject is not sent it),
   * several as one `presence` entry for everyone (each client skips its own).
   */
  flush(): void {
    const entries = this.take();
    if (entries.length > 0) this.append(entries);
  }

  /** What is pending, as the entries `flush` would append (none or one), for the caller to append first. */
  take(): LogEntry[] {
    const changes = this.pending;
    if (changes.length === 0) return [];
    this.pending = [];
    if (this.timer !== undefined) clearImmediate(this.timer);
    this.timer = undefined;
    const [only] = changes;
    if (changes.length === 1 && only) return [{ event: only, except: subjectOf(only) }];
    return [{ event: { t: 'presence', changes } }];
  }

  private afterQuietTurn(seen: number): void {
    // A turn of the event loop, not a time: what was read together goes out together.
    this.timer = setImmediate(() => {
      this.timer = undefined;
      const n = this.pending.length;
      if (n > seen && this.now() - this.since < PRESENCE_MAX_WAIT_MS) this.afterQuietTurn(n);
      else this.flush();
    });
  }
}
