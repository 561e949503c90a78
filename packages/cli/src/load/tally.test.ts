import { describe, expect, it } from 'vitest';
import { Tally, percentile } from './tally.js';

describe('Tally', () => {
  it('counts each signal once per receiver, and duplicates, reorders and losses as they are', () => {
    const t = new Tally();
    for (const m of ['a', 'b', 'c']) t.member(m);
    const members = new Map([
      ['a', 's1'],
      ['b', 's1'],
      ['c', 's2'],
    ]);
    for (let n = 1; n <= 3; n++) t.accept('a', 's1', n);
    t.received('b', 'a', 1, 0, 5);
    t.received('b', 'a', 1, 0, 6); // again
    t.received('b', 'a', 3, 0, 9); // 2 skipped
    expect(t.deliveries).toBe(2);
    expect(t.duplicates).toBe(1);
    expect(t.reordered).toBe(1);
    expect(t.latencies).toEqual([5, 9]);
    // b has a's last, so nothing counts as lost for it; c is in another session.
    expect(t.missing(members)).toBe(0);
    t.accept('a', 's1', 4);
    expect(t.missing(members)).toBe(1);
  });

  it('percentile takes the nearest rank', () => {
    expect(percentile([5, 1, 3, 2, 4], 50)).toBe(3);
    expect(percentile([5, 1, 3, 2, 4], 100)).toBe(5);
    expect(percentile([5, 1, 3, 2, 4], 1)).toBe(1);
    expect(percentile([], 50)).toBeNaN();
  });
});
