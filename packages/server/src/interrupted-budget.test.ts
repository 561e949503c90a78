import { describe, expect, it } from 'vitest';
import { InterruptedBudget, type BudgetScope } from './interrupted-budget.js';

type Conn = { id: string };

/** A budget whose evictions are recorded; `onEvict` may react like a room would (tell the others). */
function budget(sessionMaxBytes: number, serverMaxBytes: number, onEvict?: (c: Conn, s: string) => void) {
  const evicted: Array<[string, BudgetScope]> = [];
  const b: InterruptedBudget<Conn, string> = new InterruptedBudget(
    { sessionMaxBytes, serverMaxBytes },
    (c, s, scope) => {
      evicted.push([c.id, scope]);
      b.remove(c);
      onEvict?.(c, s);
    },
  );
  return { b, evicted };
}
const conn = (id: string): Conn => ({ id });

describe('InterruptedBudget', () => {
  it('counts bytes per session and for the server, and forgets a connection that resumed', () => {
    const { b, evicted } = budget(100, 1000);
    const [a, c, d] = [conn('a'), conn('c'), conn('d')];
    b.add(a, 's1', 10);
    b.add(c, 's1', 20);
    b.add(d, 's2', 5);
    b.grow(a, 15);
    expect(b.sessionBytes('s1')).toBe(45);
    expect(b.sessionBytes('s2')).toBe(5);
    expect(b.totalBytes).toBe(50);
    b.remove(a);
    expect(b.sessionBytes('s1')).toBe(20);
    expect(b.totalBytes).toBe(25);
    b.grow(a, 1000); // not interrupted any more: not counted, nothing evicted
    expect(b.totalBytes).toBe(25);
    expect(evicted).toEqual([]);
  });

  it('past the session limit ends that session’s connection away longest, and only as many as needed', () => {
    const { b, evicted } = budget(100, 10_000);
    const conns = ['a', 'b', 'c', 'd'].map(conn);
    for (const c of conns) b.add(c, 's1', 30);
    const other = conn('x');
    b.add(other, 's2', 90);
    expect(evicted).toEqual([['a', 'session']]);
    b.grow(conns[3]!, 45); // 30 + 30 + 75 = 135: b goes, 105 is still over: c goes
    expect(evicted).toEqual([
      ['a', 'session'],
      ['b', 'session'],
      ['c', 'session'],
    ]);
    expect(b.sessionBytes('s1')).toBe(75);
    expect(b.sessionBytes('s2')).toBe(90);
  });

  it('past the server limit ends the connection away longest on the whole server', () => {
    const { b, evicted } = budget(1000, 100);
    b.add(conn('old'), 's1', 40);
    b.add(conn('mid'), 's2', 40);
    b.add(conn('new'), 's2', 40);
    expect(evicted).toEqual([['old', 'server']]);
    expect(b.totalBytes).toBe(80);
    expect(b.size).toBe(2);
  });

  it('stays within both limits when each eviction makes the others hold more (the room tells them)', () => {
    const members: Conn[] = [];
    const { b, evicted } = budget(500, 10_000, () => {
      for (const m of members) b.grow(m, 7);
    });
    for (let i = 0; i < 50; i++) {
      const c = conn(`c${i}`);
      members.push(c);
      b.add(c, 's1', 12);
    }
    expect(b.sessionBytes('s1')).toBeLessThanOrEqual(500);
    expect(evicted.length).toBeGreaterThan(0);
    // Evicted ones are gone for good: growing them again counts nothing.
    const before = b.totalBytes;
    for (const [id] of evicted)
      b.grow(
        members.find((m) => m.id === id)!,
        1000,
      );
    expect(b.totalBytes).toBe(before);
  });

  it('makes progress even if evict does not remove the connection', () => {
    const evicted: string[] = [];
    const b = new InterruptedBudget<Conn, string>({ sessionMaxBytes: 10, serverMaxBytes: 10 }, (c) => {
      evicted.push(c.id);
    });
    b.add(conn('a'), 's', 8);
    b.add(conn('b'), 's', 8);
    expect(evicted).toEqual(['a']);
    expect(b.totalBytes).toBe(8);
  });
});
