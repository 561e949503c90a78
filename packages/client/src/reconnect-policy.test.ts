import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BackoffPolicy, isRetryable } from './reconnect-policy.js';

const WINDOW = 60_000;
const ctx = (attempt: number, elapsedMs = 0, windowMs = WINDOW) => ({ attempt, elapsedMs, windowMs });

describe('BackoffPolicy', () => {
  it('retries the first time at once, whatever the jitter', () => {
    for (const r of [0, 0.5, 0.999999])
      expect(new BackoffPolicy({ random: () => r }).nextRetryDelayMs(ctx(0))).toBe(0);
    expect(new BackoffPolicy().nextRetryDelayMs(ctx(0, 59_999))).toBe(0);
  });

  it('doubles from the initial delay up to the cap (documented defaults: 250 ms, capped at 500 ms)', () => {
    const policy = new BackoffPolicy({ jitter: 0 });
    const delays = Array.from({ length: 8 }, (_, i) => policy.nextRetryDelayMs(ctx(i)));
    expect(delays).toEqual([0, 250, 500, 500, 500, 500, 500, 500]);
  });

  it('honours custom initial and maximum delays', () => {
    const policy = new BackoffPolicy({ initialDelayMs: 100, maxDelayMs: 1000, jitter: 0 });
    const delays = Array.from({ length: 7 }, (_, i) => policy.nextRetryDelayMs(ctx(i)));
    expect(delays).toEqual([0, 100, 200, 400, 800, 1000, 1000]);
  });

  it('stays at the cap for very large attempt numbers', () => {
    const policy = new BackoffPolicy({ maxDelayMs: 4000, jitter: 0 });
    for (const attempt of [30, 64, 1023, 1024, 1025, 5000])
      expect(policy.nextRetryDelayMs(ctx(attempt))).toBe(4000);
  });

  it('uses the default jitter of ±30 % around the base delay, never past the cap', () => {
    // attempt 1: base 250 ms.
    expect(new BackoffPolicy({ random: () => 0 }).nextRetryDelayMs(ctx(1))).toBe(175);
    expect(new BackoffPolicy({ random: () => 0.5 }).nextRetryDelayMs(ctx(1))).toBe(250);
    expect(new BackoffPolicy({ random: () => 1 }).nextRetryDelayMs(ctx(1))).toBe(325);
    // attempt 2: base 500 ms, the default cap: jitter only shortens it.
    expect(new BackoffPolicy({ random: () => 0 }).nextRetryDelayMs(ctx(2))).toBe(350);
    expect(new BackoffPolicy({ random: () => 1 }).nextRetryDelayMs(ctx(2))).toBe(500);
  });

  it('applies a custom jitter fraction', () => {
    // attempt 1: base 250 ms, under the default cap.
    expect(new BackoffPolicy({ jitter: 0.5, random: () => 0 }).nextRetryDelayMs(ctx(1))).toBe(125);
    expect(new BackoffPolicy({ jitter: 0.5, random: () => 0.5 }).nextRetryDelayMs(ctx(1))).toBe(250);
    expect(new BackoffPolicy({ jitter: 0.5, random: () => 1 }).nextRetryDelayMs(ctx(1))).toBe(375);
  });

  it('keeps every jittered delay within ±jitter of the base', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempt, r) => {
          const base = Math.min(4000, 250 * 2 ** (attempt - 1));
          const d = new BackoffPolicy({ maxDelayMs: 4000, random: () => r }).nextRetryDelayMs(ctx(attempt));
          return (
            d !== null && d >= Math.floor(base * 0.7) && d <= Math.ceil(base * 1.3) && Number.isInteger(d)
          );
        },
      ),
      { numRuns: 1000 },
    );
  });

  // maxDelayMs is documented as "Upper bound of a delay": jitter must not push a delay past it.
  it('never exceeds maxDelayMs, even with the largest jitter', () => {
    const policy = new BackoffPolicy({ maxDelayMs: 4000, random: () => 1 });
    for (let attempt = 1; attempt <= 12; attempt++)
      expect(policy.nextRetryDelayMs(ctx(attempt))).toBeLessThanOrEqual(4000);
    const defaults = new BackoffPolicy({ random: () => 1 });
    for (let attempt = 1; attempt <= 12; attempt++)
      expect(defaults.nextRetryDelayMs(ctx(attempt))).toBeLessThanOrEqual(500);
    const custom = new BackoffPolicy({ maxDelayMs: 1000, jitter: 0.5, random: () => 0.9999 });
    expect(custom.nextRetryDelayMs(ctx(10))).toBeLessThanOrEqual(1000);
  });

  it('never exceeds what is left of the window', () => {
    const policy = new BackoffPolicy({ jitter: 0 });
    expect(policy.nextRetryDelayMs(ctx(5, 59_000))).toBe(500);
    expect(policy.nextRetryDelayMs(ctx(5, 59_999))).toBe(1);
    expect(policy.nextRetryDelayMs(ctx(2, 0, 100))).toBe(100);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 40 }),
        fc.integer({ min: 1, max: 120_000 }),
        fc.integer({ min: 0, max: 120_000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (attempt, windowMs, elapsedMs, r) => {
          const d = new BackoffPolicy({ random: () => r }).nextRetryDelayMs({ attempt, elapsedMs, windowMs });
          if (elapsedMs >= windowMs) return d === null;
          return d !== null && d >= 0 && d <= windowMs - elapsedMs;
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('gives up (null) once the window has passed, even on the first attempt', () => {
    const policy = new BackoffPolicy();
    expect(policy.nextRetryDelayMs(ctx(0, WINDOW))).toBeNull();
    expect(policy.nextRetryDelayMs(ctx(0, WINDOW + 1))).toBeNull();
    expect(policy.nextRetryDelayMs(ctx(7, WINDOW))).toBeNull();
    expect(policy.nextRetryDelayMs(ctx(0, 0, 0))).toBeNull();
    expect(policy.nextRetryDelayMs(ctx(1, WINDOW - 1))).not.toBeNull();
  });

  it('calls random once per delayed retry and never for the first', () => {
    let calls = 0;
    const policy = new BackoffPolicy({ random: () => (calls++, 0.5) });
    policy.nextRetryDelayMs(ctx(0));
    expect(calls).toBe(0);
    policy.nextRetryDelayMs(ctx(1));
    policy.nextRetryDelayMs(ctx(2));
    expect(calls).toBe(2);
    policy.nextRetryDelayMs(ctx(3, WINDOW));
    expect(calls).toBe(2);
  });
});

describe('isRetryable', () => {
  it('retries path failures and a draining node, never a server answer', () => {
    for (const code of ['DISCONNECTED', 'CONNECT_FAILED', 'FRAME_UNEXPECTED', 'SERVER_DRAINING'])
      expect(isRetryable(code), code).toBe(true);
    for (const code of ['RESUME_BAD_SECRET', 'TOKEN_EXPIRED', 'SERVER_SHUTDOWN', 'RESUME_UNKNOWN_CONNECTION'])
      expect(isRetryable(code), code).toBe(false);
  });
});
