import { describe, expect, it } from 'vitest';
import type { Clock, TimerHandle } from './clock.js';
import { Heartbeat } from './heartbeat.js';

/** A clock whose timers the test fires by hand, at any time it likes: a stalled event loop. */
function manualClock() {
  let now = 0;
  const timers = new Map<number, () => void>();
  let next = 0;
  const clock: Clock = {
    now: () => now,
    setTimeout: (fn) => {
      timers.set(++next, fn);
      return next as unknown as TimerHandle;
    },
    clearTimeout: (h) => void timers.delete(h as unknown as number),
  };
  const fireAll = () => {
    const due = [...timers.entries()];
    timers.clear();
    for (const [, fn] of due) fn();
  };
  return { clock, set: (t: number) => (now = t), fireAll, pending: () => timers.size };
}

describe('Heartbeat when the process itself stalls', () => {
  it('does not call a peer dead on a late timer before pending input had a chance to be read', () => {
    const m = manualClock();
    let dead = 0;
    const hb = new Heartbeat({
      clock: m.clock,
      intervalMs: 1000,
      timeoutMs: 4000,
      sendBeat: () => undefined,
      onDead: () => dead++,
    });
    // The loop stalls for 10 s: the first timer (due at 1000) runs at 10 000.
    m.set(10_000);
    m.fireAll();
    expect(dead).toBe(0);
    // The peer's frames, queued during the stall, are read before the re-check runs.
    hb.received();
    m.fireAll();
    expect(dead).toBe(0);
    hb.stop();
  });

  it('still calls the peer dead after the re-check when nothing arrived', () => {
    const m = manualClock();
    let dead = 0;
    new Heartbeat({
      clock: m.clock,
      intervalMs: 1000,
      timeoutMs: 4000,
      sendBeat: () => undefined,
      onDead: () => dead++,
    });
    m.set(10_000);
    m.fireAll();
    m.fireAll();
    expect(dead).toBe(1);
    expect(m.pending()).toBe(0);
  });
});
