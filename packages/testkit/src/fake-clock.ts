import type { Clock, TimerHandle } from '@tether/protocol';

interface Timer {
  readonly at: number;
  /** Scheduling order: timers due at the same instant run in the order they were set, like Node's. */
  readonly seq: number;
  readonly fn: () => void;
}

/** A timer loop that schedules itself at 0 ms would otherwise hang `advance`/`runAll` forever. */
const MAX_TIMERS_PER_CALL = 100_000;

export const DEFAULT_FAKE_CLOCK_START = 1_700_000_000_000;

/**
 * A deterministic Clock: time moves only when a test calls `advance` or `runAll`, and due timers
 * run synchronously in time order. Nothing here touches real timers, so tests never sleep.
 */
export class FakeClock implements Clock {
  private current: number;
  private seq = 0;
  // Keyed by the handle object itself, so a handle from another clock is simply not found.
  private readonly timers = new Map<object, Timer>();

  constructor(start: number = DEFAULT_FAKE_CLOCK_START) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    // Same coercion as Node: a negative or non-finite delay means "as soon as possible".
    const delay = Number.isFinite(ms) && ms > 0 ? ms : 0;
    const handle = Object.freeze({ fakeTimer: this.seq });
    this.timers.set(handle, { at: this.current + delay, seq: this.seq++, fn });
    return handle as unknown as TimerHandle;
  }

  clearTimeout(handle: TimerHandle): void {
    this.timers.delete(handle as unknown as object);
  }

  /** Timers set and not yet run or cleared. */
  get pendingCount(): number {
    return this.timers.size;
  }

  /**
   * Moves time forward by `ms`, running every timer due by then in time order — including timers
   * that those timers set within the range. Each timer sees `now()` equal to its own due time.
   * If a timer throws, the error propagates and time stays at that timer's due time.
   */
  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) {
      throw new RangeError(`FakeClock.advance(${ms}): pass a finite, non-negative number of milliseconds`);
    }
    const target = this.current + ms;
    this.runDue(target, `advance(${ms})`);
    this.current = target;
  }

  /** Runs timers in time order until none are left, moving time to each one's due time. */
  runAll(): void {
    this.runDue(Infinity, 'runAll()');
  }

  private runDue(limit: number, caller: string): void {
    for (let ran = 0; ; ran++) {
      const next = this.nextDue(limit);
      if (!next) return;
      if (ran >= MAX_TIMERS_PER_CALL) {
        throw new RangeError(
          `FakeClock.${caller} ran ${MAX_TIMERS_PER_CALL} timers without running out: ` +
            'a timer probably reschedules itself forever; use advance() with a bounded range',
        );
      }
      const [handle, timer] = next;
      this.timers.delete(handle);
      this.current = Math.max(this.current, timer.at);
      timer.fn();
    }
  }

  private nextDue(limit: number): [object, Timer] | undefined {
    let best: [object, Timer] | undefined;
    for (const entry of this.timers) {
      const t = entry[1];
      if (t.at > limit) continue;
      if (!best || t.at < best[1].at || (t.at === best[1].at && t.seq < best[1].seq)) best = entry;
    }
    return best;
  }
}
