import { TetherError } from '@tether/protocol';

/** Finds the secret of a project by its API key; `undefined` when the key is unknown. */
export type LookupSecret = (apiKey: string) => string | undefined;

export interface VerifyOptions {
  /** The time to check expiry against, in ms since the epoch; default `Date.now()`. */
  now?: number;
}

/** Longest API key accepted: the `iss` claim of a token is bounded by the protocol to 128 characters. */
export const API_KEY_MAX_LENGTH = 128;

/** Throws INVALID_ARGUMENT unless the project credentials can sign anything. */
export function checkCredentials(apiKey: unknown, apiSecret: unknown): asserts apiKey is string {
  if (typeof apiKey !== 'string' || apiKey.length === 0 || apiKey.length > API_KEY_MAX_LENGTH)
    throw new TetherError(
      'INVALID_ARGUMENT',
      `apiKey must be a string of 1-${API_KEY_MAX_LENGTH} characters`,
    );
  if (typeof apiSecret !== 'string' || apiSecret.length === 0)
    throw new TetherError('INVALID_ARGUMENT', 'apiSecret must be a non-empty string');
}

/** The current time in ms: the injected `now` if given (validated), else the system clock. */
export function resolveNow(now: unknown): number {
  if (now === undefined) return Date.now();
  if (typeof now !== 'number' || !Number.isFinite(now) || now < 0)
    throw new TetherError(
      'INVALID_ARGUMENT',
      'now must be a non-negative number of milliseconds since the epoch',
    );
  return now;
}

/** Throws INVALID_ARGUMENT unless `seconds` is a whole number in [1, max]. */
export function checkTtl(name: string, seconds: unknown, max: number): asserts seconds is number {
  if (typeof seconds !== 'number' || !Number.isInteger(seconds) || seconds < 1 || seconds > max)
    throw new TetherError(
      'INVALID_ARGUMENT',
      `${name} must be a whole number of seconds from 1 to ${max}, got ${String(seconds)}`,
    );
}

/** The secret of `apiKey`, or `undefined` when the lookup does not know it (an empty secret counts as unknown). */
export function findSecret(lookupSecret: LookupSecret, apiKey: string): string | undefined {
  const secret = lookupSecret(apiKey);
  return typeof secret === 'string' && secret.length > 0 ? secret : undefined;
}

/** One line per schema issue, for error details. */
export function describeIssues(issues: readonly { path: readonly PropertyKey[]; message: string }[]): string {
  return issues
    .map((i) => (i.path.length ? `${i.path.map(String).join('.')}: ${i.message}` : i.message))
    .join('; ');
}
