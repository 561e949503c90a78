import { describe, expect, it } from 'vitest';
import { DEFAULT_RETRY_POLICY, nominalDelayMs, retryDelayMs } from './backoff.js';

describe('callback retry backoff', () => {
  const policy = DEFAULT_RETRY_POLICY;

  it('doubles from 1 s to a 60 s ceiling, and gives up after the 10th attempt', () => {
    const mid = () => 0.5; // no spread
    const delays = Array.from({ length: 10 }, (_, i) => retryDelayMs(policy, i + 1, mid));
    expect(delays).toEqual([1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000, 60_000, undefined]);
  });

  it('spreads each delay by at most ±30 %', () => {
    for (let attempt = 1; attempt < 10; attempt++) {
      const nominal = nominalDelayMs(policy, attempt);
      expect(retryDelayMs(policy, attempt, () => 0)).toBe(Math.round(nominal * 0.7));
      expect(retryDelayMs(policy, attempt, () => 0.999_999)).toBeLessThanOrEqual(Math.round(nominal * 1.3));
      expect(retryDelayMs(policy, attempt, () => 0.999_999)).toBeGreaterThan(Math.round(nominal * 1.29));
    }
  });

  it('draws a different delay for different random values (no lockstep between nodes)', () => {
    const seen = new Set([0.1, 0.3, 0.5, 0.7, 0.9].map((r) => retryDelayMs(policy, 3, () => r)));
    expect(seen.size).toBe(5);
  });

  it('honours a shortened policy (what an integration test configures)', () => {
    const short = { ...policy, initialDelayMs: 100, maxDelayMs: 300, maxAttempts: 4 };
    expect([1, 2, 3, 4].map((n) => retryDelayMs(short, n, () => 0.5))).toEqual([100, 200, 300, undefined]);
  });
});
