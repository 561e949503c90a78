/** bench/lib/drive.mjs — how a fan-out phase sends its messages (fanout.mjs, cluster.mjs). */
import { performance } from 'node:perf_hooks';
import { clearInterval, setInterval } from 'node:timers';

/**
 * Sends a phase's `messages` and resolves with whether every one completed (true) or
 * deliveries stalled for `stallMs` (false).
 *
 * - mode 'window': closed loop — at most `window` messages sent but not yet completed.
 * - mode 'paced': open loop — messages leave at `rate`/s on a fixed schedule, whatever the deliveries.
 *
 * `phase` holds the counters the caller's receivers update: `sent` (this drives it), `completed`
 * and `delivered`; its `onComplete` is called by the caller each time a message completes.
 * `sendOne()` sends the next message and returns false when no sender is free (retried in 5 ms).
 */
export function drive(phase, { mode, messages, window = 0, rate = 0, stallMs, sendOne }) {
  return new Promise((resolve) => {
    let retry;
    let finished = false;
    const finish = (complete) => {
      if (finished) return;
      finished = true;
      clearTimeout(retry);
      clearInterval(watchdog);
      resolve(complete);
    };
    let lastCount = -1;
    let lastProgress = performance.now();
    const watchdog = setInterval(() => {
      if (phase.delivered !== lastCount) [lastCount, lastProgress] = [phase.delivered, performance.now()];
      else if (performance.now() - lastProgress > stallMs) finish(false);
    }, 500);
    if (mode === 'window') {
      const pump = () => {
        while (phase.sent < messages && phase.sent - phase.completed < window)
          if (!sendOne()) {
            clearTimeout(retry);
            retry = setTimeout(pump, 5);
            return;
          }
      };
      phase.onComplete = () => (phase.completed === messages ? finish(true) : pump());
      pump();
    } else {
      phase.onComplete = () => phase.completed === messages && finish(true);
      const t0 = performance.now();
      const tick = () => {
        const due = Math.min(messages, Math.floor(((performance.now() - t0) / 1000) * rate) + 1);
        while (phase.sent < due && sendOne());
        if (phase.sent < messages) retry = setTimeout(tick, Math.max(1, Math.min(10, 1000 / rate / 2)));
      };
      tick();
    }
  });
}
