/** bench/lib/time.mjs — the clocks and the wait the benchmarks share. */
import { performance } from 'node:perf_hooks';

/** Resolves after `ms` (at once if ms ≤ 0). */
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/**
 * Epoch milliseconds with sub-millisecond resolution, comparable across the processes of one
 * machine (performance.timeOrigin + performance.now()).
 */
export const epochMs = () => performance.timeOrigin + performance.now();
