export interface InterruptedLimits {
  /** Bytes held for the interrupted connections of one session. */
  sessionMaxBytes: number;
  /** Bytes held for every interrupted connection of this server. */
  serverMaxBytes: number;
}

export const DEFAULT_INTERRUPTED_LIMITS: InterruptedLimits = {
  sessionMaxBytes: 32 * 1024 * 1024,
  serverMaxBytes: 256 * 1024 * 1024,
};

/**
 * What one interrupted connection costs besides its outbox (the Connection, its timers, maps
 * and token buckets), counted so that connections holding nothing are not free: measured at
 * about 1.3 KiB of heap each (`test/memory-bounds.test.ts` reports it), rounded up.
 */
export const INTERRUPTED_OVERHEAD_BYTES = 2048;

export type BudgetScope = 'session' | 'server';

interface Entry<S> {
  session: S;
  bytes: number;
}

/**
 * The bytes held for connections that have no transport (their outbox keeps taking in the
 * session's events while nobody reads them), per session and for the server. Past a limit the
 * connection away longest goes first: it is the least likely to come back, and in a fan-out it
 * holds the most. `evict` must end the connection (which removes it here).
 */
export class InterruptedBudget<C, S> {
  /** Insertion order is interruption order: the first entry has been away longest. */
  private readonly entries = new Map<C, Entry<S>>();
  private readonly sessions = new Map<S, { bytes: number; members: Set<C> }>();
  private total = 0;
  private enforcing = false;
  /** Sessions that grew since their limit was last checked. */
  private readonly dirty = new Set<S>();

  constructor(
    private readonly limits: InterruptedLimits,
    private readonly evict: (conn: C, session: S, scope: BudgetScope) => void,
  ) {}

  get totalBytes(): number {
    return this.total;
  }

  get size(): number {
    return this.entries.size;
  }

  sessionBytes(session: S): number {
    return this.sessions.get(session)?.bytes ?? 0;
  }

  /** A connection lost its transport holding `bytes`. */
  add(conn: C, session: S, bytes: number): void {
    this.remove(conn);
    this.entries.set(conn, { session, bytes });
    let s = this.sessions.get(session);
    if (!s) this.sessions.set(session, (s = { bytes: 0, members: new Set() }));
    s.members.add(conn);
    s.bytes += bytes;
    this.total += bytes;
    this.enforce(session);
  }

  /** An interrupted connection took in `bytes` more. */
  grow(conn: C, bytes: number): void {
    const entry = this.entries.get(conn);
    if (!entry) return;
    entry.bytes += bytes;
    const s = this.sessions.get(entry.session);
    if (s) s.bytes += bytes;
    this.total += bytes;
    this.enforce(entry.session);
  }

  /** The connection resumed or ended: what it held is no longer counted. */
  remove(conn: C): void {
    const entry = this.entries.get(conn);
    if (!entry) return;
    this.entries.delete(conn);
    this.total -= entry.bytes;
    const s = this.sessions.get(entry.session);
    if (!s) return;
    s.members.delete(conn);
    s.bytes -= entry.bytes;
    if (s.members.size === 0) this.sessions.delete(entry.session);
  }

  private enforce(session: S): void {
    this.dirty.add(session);
    // An eviction tells the others, which grows their outboxes (this runs again inside it):
    // the outermost call keeps going until every limit holds.
    if (this.enforcing) return;
    this.enforcing = true;
    try {
      for (;;) {
        const over = this.overSession();
        if (over) {
          this.drop(over.members.values().next().value as C, 'session');
          continue;
        }
        if (this.total > this.limits.serverMaxBytes) {
          this.drop(this.entries.keys().next().value as C, 'server');
          continue;
        }
        return;
      }
    } finally {
      this.enforcing = false;
    }
  }

  private overSession(): { bytes: number; members: Set<C> } | undefined {
    for (const session of this.dirty) {
      const s = this.sessions.get(session);
      if (s && s.bytes > this.limits.sessionMaxBytes) return s;
      this.dirty.delete(session);
    }
    return undefined;
  }

  private drop(conn: C, scope: BudgetScope): void {
    const entry = this.entries.get(conn);
    if (entry) this.evict(conn, entry.session, scope);
    // Whatever evict did, the loop must make progress.
    this.remove(conn);
  }
}
