import { LIMITS } from '@tether/protocol';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '@tether/testkit';
import { StrikeCounter, TokenBucket } from './rate-limit.js';

const takeAll = (bucket: TokenBucket, max = 10_000) => {
  let n = 0;
  while (n < max && bucket.take()) n++;
  return n;
};

describe('TokenBucket', () => {
  it('allows a full burst at once, then refuses', () => {
    const clock = new FakeClock();
    const bucket = new TokenBucket(100, 50, clock);
    expect(takeAll(bucket)).toBe(100);
    expect(bucket.take()).toBe(false);
  });

  it('refills at the rate: one token per 1000/rate ms, not before', () => {
    const clock = new FakeClock();
    const bucket = new TokenBucket(100, 50, clock);
    takeAll(bucket);
    clock.advance(19);
    expect(bucket.take()).toBe(false);
    clock.advance(1); // 20 ms at 50/s = 1 token
    expect(bucket.take()).toBe(true);
    expect(bucket.take()).toBe(false);
    clock.advance(1000);
    expect(takeAll(bucket)).toBe(50);
  });

  it('accumulates fractions of a token across refused attempts', () => {
    const clock = new FakeClock();
    const bucket = new TokenBucket(1, 1, clock);
    expect(bucket.take()).toBe(true);
    for (let i = 0; i < 9; i++) {
      clock.advance(100);
      expect(bucket.take()).toBe(false);
    }
    clock.advance(100); // 10 × 100 ms = 1 s = 1 token
    expect(bucket.take()).toBe(true);
  });

  it('never holds more than the burst, however long it idles', () => {
    const clock = new FakeClock();
    const bucket = new TokenBucket(10, 5, clock);
    clock.advance(24 * 60 * 60 * 1000);
    expect(takeAll(bucket)).toBe(10);
  });

  it('sustains exactly the rate under a constant flood', () => {
    const clock = new FakeClock();
    const bucket = new TokenBucket(LIMITS.signalBurst, LIMITS.signalRatePerSecond, clock);
    let allowed = 0;
    // 10 s of one attempt per millisecond.
    for (let ms = 0; ms < 10_000; ms++) {
      if (bucket.take()) allowed++;
      clock.advance(1);
    }
    // The burst plus 50/s for 10 s (the last token may still be filling).
    expect(allowed).toBeGreaterThanOrEqual(LIMITS.signalBurst + 50 * 10 - 1);
    expect(allowed).toBeLessThanOrEqual(LIMITS.signalBurst + 50 * 10);
  });

  it('starts full at the clock time it was made, not at epoch 0', () => {
    const clock = new FakeClock(5_000);
    const bucket = new TokenBucket(3, 1, clock);
    expect(takeAll(bucket)).toBe(3);
    expect(bucket.take()).toBe(false);
  });

  it('uses no timers', () => {
    const clock = new FakeClock();
    const bucket = new TokenBucket(2, 1, clock);
    takeAll(bucket);
    expect(clock.pendingCount).toBe(0);
  });
});

describe('StrikeCounter', () => {
  it('tolerates `limit` strikes in the window and reports the next one', () => {
    const clock = new FakeClock();
    const strikes = new StrikeCounter(3, 10_000, clock);
    expect([strikes.strike(), strikes.strike(), strikes.strike()]).toEqual([false, false, false]);
    expect(strikes.strike()).toBe(true);
    expect(strikes.strike()).toBe(true);
  });

  it('forgets strikes once they are a full window old', () => {
    const clock = new FakeClock();
    const strikes = new StrikeCounter(2, 10_000, clock);
    strikes.strike(); // t=0
    clock.advance(5_000);
    strikes.strike(); // t=5000
    clock.advance(4_999); // t=9999: both still inside
    expect(strikes.strike()).toBe(true);
    clock.advance(1); // t=10000: the one at 0 is out; 5000 and 9999 remain
    expect(strikes.strike()).toBe(true); // 5000, 9999, 10000
    clock.advance(10_000); // t=20000: all out
    expect(strikes.strike()).toBe(false);
  });

  it('slides: strikes spread thinner than limit per window never trip it', () => {
    const clock = new FakeClock();
    const strikes = new StrikeCounter(LIMITS.abuseStrikesPer10s, 10_000, clock);
    // 50 per 10 s, evenly spaced: never more than 50 in any window.
    for (let i = 0; i < 500; i++) {
      expect(strikes.strike()).toBe(false);
      clock.advance(200);
    }
  });

  it('trips as soon as one window holds more than the limit', () => {
    const clock = new FakeClock();
    const strikes = new StrikeCounter(LIMITS.abuseStrikesPer10s, 10_000, clock);
    for (let i = 0; i < 50; i++) {
      expect(strikes.strike()).toBe(false);
      clock.advance(199);
    }
    // 50 strikes in 9950 ms; the 51st at 9950 ms is inside the window of the first.
    expect(strikes.strike()).toBe(true);
  });

  it('with limit 0, the first strike trips it', () => {
    const strikes = new StrikeCounter(0, 1000, new FakeClock());
    expect(strikes.strike()).toBe(true);
  });

  it('uses no timers', () => {
    const clock = new FakeClock();
    const strikes = new StrikeCounter(1, 1000, clock);
    strikes.strike();
    strikes.strike();
    expect(clock.pendingCount).toBe(0);
  });
});
