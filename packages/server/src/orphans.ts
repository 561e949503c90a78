import type { Clock, TimerHandle } from '@tether/protocol';
import type { ResumeRecord } from './cluster/engine.js';

/**
 * Connections this node took over from a dead node (cluster/engine.ts onOrphans): no
 * transport, no outbox — the session log holds everything they missed. Each waits for its
 * client to resume (here or on any node, which rebuilds it from the log) until its window
 * passes, counted from when its transport was lost; then this node ends it, so nobody is
 * ever left looking at a ghost.
 */
export class Orphans {
  private readonly held = new Map<string, { record: ResumeRecord; timer: TimerHandle }>();

  constructor(
    private readonly clock: Clock,
    private readonly windowMs: number,
    private readonly onWindowPassed: (record: ResumeRecord) => void,
  ) {}

  add(record: ResumeRecord): void {
    const id = record.member.info.connectionId;
    this.drop(id);
    const lostAt = record.interruptedAt ?? this.clock.now();
    const timer = this.clock.setTimeout(
      () => {
        this.held.delete(id);
        this.onWindowPassed(record);
      },
      Math.max(0, lostAt + this.windowMs - this.clock.now()),
    );
    this.held.set(id, { record, timer });
  }

  get(connectionId: string): ResumeRecord | undefined {
    return this.held.get(connectionId)?.record;
  }

  /** It is resumed, taken over elsewhere or ended: no more window here. */
  drop(connectionId: string): ResumeRecord | undefined {
    const entry = this.held.get(connectionId);
    if (!entry) return undefined;
    this.clock.clearTimeout(entry.timer);
    this.held.delete(connectionId);
    return entry.record;
  }

  /** Whether any orphan of this session is held here (its room must stay open for them). */
  inSession(sessionId: string): boolean {
    for (const { record } of this.held.values()) if (record.sessionId === sessionId) return true;
    return false;
  }

  get size(): number {
    return this.held.size;
  }

  clear(): void {
    for (const { timer } of this.held.values()) this.clock.clearTimeout(timer);
    this.held.clear();
  }
}
