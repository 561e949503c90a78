/**
 * bench/lib/stats.mjs — the statistics the benchmarks report.
 *
 * Two percentile definitions are in use and both are kept, so that published figures keep their
 * meaning: `nearestRank` (bench/reconnect.mjs, bench/media.mjs) and `floorRank` (bench/fanout.mjs
 * latencies). They pick the same sample unless q·n is a whole number, where `floorRank` takes the
 * next one up: p50 of 4 values is the 3rd, not the 2nd; p99 of exactly 100 values is the largest.
 *
 * An empty sample gives NaN (which JSON.stringify writes as null), so every function can be fed
 * what a run produced, including nothing.
 */

/**
 * The finite values of `values`, ascending, in a new array.
 * @param {Iterable<number | null | undefined>} values
 * @returns {number[]}
 */
export function finiteSorted(values) {
  const out = [];
  for (const x of values) if (Number.isFinite(x)) out.push(/** @type {number} */ (x));
  return out.sort((a, b) => a - b);
}

/**
 * Nearest-rank percentile: the smallest value with at least q·n of the n values at or below it,
 * `sorted[ceil(q·n) − 1]`. q in [0, 1]; q = 0 gives the smallest value.
 * @param {ArrayLike<number>} sorted ascending
 * @param {number} q
 * @returns {number}
 */
export function nearestRank(sorted, q) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/**
 * The value at index floor(q·n): the smallest value with more than q·n of the n values at or
 * below it. q in [0, 1]; q = 1 gives the largest value.
 * @param {ArrayLike<number>} sorted ascending
 * @param {number} q
 * @returns {number}
 */
export function floorRank(sorted, q) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/**
 * The median of the finite values: the middle one, or the mean of the two middle ones.
 * @param {Iterable<number | null | undefined>} values
 * @returns {number}
 */
export function median(values) {
  const s = finiteSorted(values);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * The arithmetic mean of the finite values.
 * @param {Iterable<number | null | undefined>} values
 * @returns {number}
 */
export function mean(values) {
  let sum = 0;
  let n = 0;
  for (const x of values)
    if (Number.isFinite(x)) {
      sum += /** @type {number} */ (x);
      n++;
    }
  return n === 0 ? NaN : sum / n;
}

/**
 * @typedef {object} Distribution
 * @property {number} n how many finite values
 * @property {number} p50 nearest-rank median
 * @property {number} p99 nearest-rank 99th percentile
 * @property {number} min
 * @property {number} max
 * @property {number[]} values the finite values, ascending
 */

/**
 * A sample summarised with nearest-rank percentiles; absent values (null: "did not happen") are
 * left out, and `n` says how many remain.
 * @param {Iterable<number | null | undefined>} values
 * @returns {Distribution}
 */
export function distribution(values) {
  const v = finiteSorted(values);
  return {
    n: v.length,
    p50: nearestRank(v, 0.5),
    p99: nearestRank(v, 0.99),
    min: v.length ? v[0] : NaN,
    max: v.length ? v[v.length - 1] : NaN,
    values: v,
  };
}
