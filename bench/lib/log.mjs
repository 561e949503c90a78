/**
 * bench/lib/log.mjs — progress lines on stderr, so that stdout carries only the results
 * (`node bench/x.mjs --json > x.json`).
 */
import { performance } from 'node:perf_hooks';

/**
 * A logger whose lines read `[name   12.3s] …`: seconds since `t0` (performance.now() time; default
 * now, 0 for "since the process started").
 * @param {string} name
 * @param {number} [t0]
 * @returns {(...parts: unknown[]) => void}
 */
export function createLog(name, t0 = performance.now()) {
  return (...parts) =>
    process.stderr.write(
      `[${name} ${((performance.now() - t0) / 1000).toFixed(1).padStart(6)}s] ${parts.join(' ')}\n`,
    );
}
