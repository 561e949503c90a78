/**
 * When a callback that failed (network error, timeout, 5xx, 408, 429) is tried again:
 * exponential from `initialDelayMs`, doubling up to `maxDelayMs`, each delay spread by
 * ±`jitter` so that the nodes of a cluster (or many projects) whose receiver came back at the
 * same instant do not retry in lockstep. After `maxAttempts` attempts the event is dropped.
 */
export interface RetryPolicy {
  initialDelayMs: number;
  maxDelayMs: number;
  /** 0.3: each delay is drawn from [0.7, 1.3] × its nominal value. */
  jitter: number;
  /** Attempts in all, the first included. */
  maxAttempts: number;
  /** One attempt's limit, from the request to the response's status line. */
  timeoutMs: number;
}

/** 1 s, 2, 4 … 60 s, ±30 %, 10 attempts (about 4 minutes of retries), 10 s per attempt. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  initialDelayMs: 1000,
  maxDelayMs: 60_000,
  jitter: 0.3,
  maxAttempts: 10,
  timeoutMs: 10_000,
};

/** The nominal delay after failed attempt `attempt` (1-based): before the jitter. */
export function nominalDelayMs(policy: RetryPolicy, attempt: number): number {
  return Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** Math.max(0, attempt - 1));
}

/**
 * The delay before attempt `attempt + 1`, or undefined when `attempt` was the last one.
 * `random` is in [0, 1) (Math.random, or a fixed value in tests).
 */
export function retryDelayMs(policy: RetryPolicy, attempt: number, random: () => number): number | undefined {
  if (attempt >= policy.maxAttempts) return undefined;
  const spread = (random() * 2 - 1) * policy.jitter;
  return Math.round(nominalDelayMs(policy, attempt) * (1 + spread));
}
