import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { distribution, finiteSorted, floorRank, mean, median, nearestRank } from './stats.mjs';

const oneToTen = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
const oneToHundred = Array.from({ length: 100 }, (_, i) => i + 1);
/** How many of `sorted` are at or below x. */
const atOrBelow = (sorted: number[], x: number) => sorted.filter((y) => y <= x).length;
const sortedSample = fc
  .array(fc.integer({ min: -1000, max: 1000 }), { minLength: 1, maxLength: 60 })
  .map((xs) => xs.sort((a, b) => a - b));

describe('nearestRank (reconnect and media percentiles)', () => {
  it('is sorted[ceil(q·n) − 1]: p50 of 1…10 is 5, p99 is 10, p0 the smallest', () => {
    expect(nearestRank(oneToTen, 0.5)).toBe(5);
    expect(nearestRank(oneToTen, 0.99)).toBe(10);
    expect(nearestRank(oneToTen, 0)).toBe(1);
    expect(nearestRank(oneToTen, 1)).toBe(10);
  });

  it('takes p99 of exactly 100 values as the 99th, not the largest', () => {
    expect(nearestRank(oneToHundred, 0.99)).toBe(99);
  });

  it('is the smallest value with at least q·n of the sample at or below it', () => {
    fc.assert(
      fc.property(sortedSample, fc.double({ min: 0, max: 1, noNaN: true }), (s, q) => {
        const p = nearestRank(s, q);
        expect(atOrBelow(s, p)).toBeGreaterThanOrEqual(q * s.length);
        for (const x of s) if (x < p) expect(atOrBelow(s, x)).toBeLessThan(q * s.length);
      }),
    );
  });

  it('gives NaN for an empty sample', () => {
    expect(nearestRank([], 0.5)).toBeNaN();
  });
});

describe('floorRank (fanout latency percentiles)', () => {
  it('is sorted[floor(q·n)]: p50 of 1…10 is 6, p99 is 10', () => {
    expect(floorRank(oneToTen, 0.5)).toBe(6);
    expect(floorRank(oneToTen, 0.99)).toBe(10);
    expect(floorRank(oneToTen, 0)).toBe(1);
    expect(floorRank(oneToTen, 1)).toBe(10);
  });

  it('takes p99 of exactly 100 values as the largest', () => {
    expect(floorRank(oneToHundred, 0.99)).toBe(100);
  });

  it('is the smallest value with more than q·n of the sample at or below it (q < 1)', () => {
    fc.assert(
      fc.property(sortedSample, fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (s, q) => {
        const p = floorRank(s, q);
        expect(atOrBelow(s, p)).toBeGreaterThan(q * s.length);
        for (const x of s) if (x < p) expect(atOrBelow(s, x)).toBeLessThanOrEqual(q * s.length);
      }),
    );
  });

  it('agrees with nearestRank unless q·n is a whole number', () => {
    fc.assert(
      fc.property(sortedSample, fc.double({ min: 0, max: 1, noNaN: true }), (s, q) => {
        if (!Number.isInteger(q * s.length)) expect(floorRank(s, q)).toBe(nearestRank(s, q));
      }),
    );
  });

  it('reads typed arrays (fanout sorts its latencies in a Float64Array)', () => {
    expect(floorRank(new Float64Array([3, 1, 2]).sort(), 0.5)).toBe(2);
  });

  it('gives NaN for an empty sample', () => {
    expect(floorRank(new Float64Array(0), 0.99)).toBeNaN();
  });
});

describe('median', () => {
  it('is the middle value of an odd count and the mean of the two middle ones of an even count', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('leaves out values that are not finite (an abandoned phase)', () => {
    expect(median([NaN, 5, null, 1, undefined, Infinity])).toBe(3);
  });

  it('gives NaN when nothing is left', () => {
    expect(median([])).toBeNaN();
    expect(median([NaN, null])).toBeNaN();
  });
});

describe('mean', () => {
  it('is the arithmetic mean of the finite values', () => {
    expect(mean([1, 1, 2, 0])).toBe(1);
    expect(mean([3, NaN, null, 5])).toBe(4);
  });

  it('gives NaN for an empty sample', () => {
    expect(mean([])).toBeNaN();
  });
});

describe('finiteSorted', () => {
  it('keeps the finite values, ascending, without touching its input', () => {
    const input = [3, null, -1, NaN, 2, undefined, -Infinity];
    expect(finiteSorted(input)).toEqual([-1, 2, 3]);
    expect(input[0]).toBe(3);
  });

  it('sorts numerically, not as strings', () => {
    expect(finiteSorted([10, 9, 100])).toEqual([9, 10, 100]);
  });
});

describe('distribution', () => {
  it('summarises with nearest-rank p50/p99, min, max and the sorted values, absent ones left out', () => {
    expect(distribution([4000, null, 540, 3990, undefined])).toEqual({
      n: 3,
      p50: 3990,
      p99: 4000,
      min: 540,
      max: 4000,
      values: [540, 3990, 4000],
    });
  });

  it('has n = 0 and NaN figures, written as null in JSON, when nothing happened', () => {
    const d = distribution([null, null]);
    expect(d.n).toBe(0);
    expect(JSON.parse(JSON.stringify(d))).toEqual({
      n: 0,
      p50: null,
      p99: null,
      min: null,
      max: null,
      values: [],
    });
  });
});
