import { describe, expect, it } from 'vitest';
import { FakeClock } from './fake-clock.js';

describe('FakeClock', () => {
  it('starts at 1_700_000_000_000 unless told otherwise, and stands still by itself', () => {
    expect(new FakeClock().now()).toBe(1_700_000_000_000);
    const clock = new FakeClock(5);
    expect(clock.now()).toBe(5);
    expect(clock.now()).toBe(5);
  });

  it('runs due timers in time order, each seeing its own due time', () => {
    const clock = new FakeClock(0);
    const log: string[] = [];
    clock.setTimeout(() => log.push(`c@${clock.now()}`), 30);
    clock.setTimeout(() => log.push(`a@${clock.now()}`), 10);
    clock.setTimeout(() => log.push(`b@${clock.now()}`), 20);
    clock.advance(25);
    expect(log).toEqual(['a@10', 'b@20']);
    expect(clock.now()).toBe(25);
    expect(clock.pendingCount).toBe(1);
    clock.advance(5);
    expect(log).toEqual(['a@10', 'b@20', 'c@30']);
    expect(clock.pendingCount).toBe(0);
  });

  it('runs timers due at the same instant in the order they were set', () => {
    const clock = new FakeClock(0);
    const log: number[] = [];
    for (let i = 0; i < 5; i++) clock.setTimeout(() => log.push(i), 10);
    clock.advance(10);
    expect(log).toEqual([0, 1, 2, 3, 4]);
  });

  it('runs timers scheduled by timers when they fall within the advanced range, and only those', () => {
    const clock = new FakeClock(0);
    const log: string[] = [];
    clock.setTimeout(() => {
      log.push(`outer@${clock.now()}`);
      clock.setTimeout(() => log.push(`inner@${clock.now()}`), 15);
      clock.setTimeout(() => log.push(`late@${clock.now()}`), 100);
    }, 10);
    clock.setTimeout(() => log.push(`other@${clock.now()}`), 20);
    clock.advance(50);
    expect(log).toEqual(['outer@10', 'other@20', 'inner@25']);
    expect(clock.pendingCount).toBe(1);
  });

  it('treats negative and non-finite delays as 0, like Node', () => {
    const clock = new FakeClock(0);
    let fired = 0;
    clock.setTimeout(() => fired++, -5);
    clock.setTimeout(() => fired++, Number.NaN);
    clock.advance(0);
    expect(fired).toBe(2);
  });

  it('never runs a cleared timer, and ignores clearing twice or a foreign handle', () => {
    const clock = new FakeClock(0);
    const other = new FakeClock(0);
    let fired = false;
    const handle = clock.setTimeout(() => (fired = true), 10);
    other.clearTimeout(handle);
    expect(clock.pendingCount).toBe(1);
    clock.clearTimeout(handle);
    clock.clearTimeout(handle);
    expect(clock.pendingCount).toBe(0);
    clock.advance(100);
    expect(fired).toBe(false);
  });

  it('lets a timer clear another timer due at the same instant', () => {
    const clock = new FakeClock(0);
    let secondFired = false;
    clock.setTimeout(() => clock.clearTimeout(second), 10);
    const second = clock.setTimeout(() => (secondFired = true), 10);
    clock.advance(10);
    expect(secondFired).toBe(false);
  });

  it('runAll runs every timer, including chains, and ends at the last due time', () => {
    const clock = new FakeClock(1000);
    const log: number[] = [];
    const chain = (n: number) => {
      log.push(clock.now());
      if (n > 0) clock.setTimeout(() => chain(n - 1), 100);
    };
    clock.setTimeout(() => chain(3), 50);
    clock.runAll();
    expect(log).toEqual([1050, 1150, 1250, 1350]);
    expect(clock.now()).toBe(1350);
    expect(clock.pendingCount).toBe(0);
  });

  it('throws a clear error instead of hanging on a timer that reschedules itself at 0 ms', () => {
    const clock = new FakeClock(0);
    const spin = () => void clock.setTimeout(spin, 0);
    spin();
    expect(() => clock.runAll()).toThrow(/reschedules itself/);
    expect(() => clock.advance(1)).toThrow(/reschedules itself/);
  });

  it('rejects a negative or non-finite advance', () => {
    const clock = new FakeClock(0);
    expect(() => clock.advance(-1)).toThrow(RangeError);
    expect(() => clock.advance(Number.POSITIVE_INFINITY)).toThrow(RangeError);
    expect(clock.now()).toBe(0);
  });
});
