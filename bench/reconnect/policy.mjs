/**
 * bench/reconnect/policy.mjs — the Tether reconnect policies a run compares (`--policy`), so a
 * before/after of the client's schedule is measured in one run, on the same faults.
 *
 *   default             the SDK's own default (no reconnectPolicy passed)
 *   250/1000/0.3        BackoffPolicy({ initialDelayMs: 250, maxDelayMs: 1000, jitter: 0.3 })
 */
import { BackoffPolicy } from '@tether/client';

/** The schedule the SDK shipped with up to issue 10 (first retry at once, 250 ms doubling, cap 1 s, ±30 %). */
export const PREVIOUS_DEFAULT = '250/1000/0.3';

/**
 * @typedef {object} PolicySpec
 * @property {string} key as given ('default' or 'initial/cap/jitter')
 * @property {string} label for tables
 * @property {() => import('@tether/client').ReconnectPolicy | undefined} make a new policy per session
 * @property {{ initialDelayMs: number, maxDelayMs: number, jitter: number } | null} options null: the SDK default
 */

/**
 * @param {string} key
 * @returns {PolicySpec}
 */
export function parsePolicy(key) {
  if (key === 'default') {
    return { key, label: 'Tether (SDK default)', make: () => undefined, options: null };
  }
  const parts = key.split('/').map(Number);
  if (parts.length !== 3 || !parts.every((x) => Number.isFinite(x) && x >= 0) || parts[2] > 1)
    throw new Error(`--policy ${key}: give 'default' or initialMs/capMs/jitter, e.g. 250/1000/0.3`);
  const [initialDelayMs, maxDelayMs, jitter] = parts;
  const options = { initialDelayMs, maxDelayMs, jitter };
  return {
    key,
    label: `Tether ${initialDelayMs}/${maxDelayMs}/±${jitter}`,
    make: () => new BackoffPolicy(options),
    options,
  };
}
