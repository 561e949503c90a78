import { describe, expect, it } from 'vitest';
import { CallbackQueue, type Queued } from './queue.js';

let n = 0;
const item = (apiKey: string, bytes = 10): Queued => {
  const id = `c${n++}`;
  return { apiKey, id, event: 'connectionCreated', body: 'x'.repeat(bytes), bytes };
};
const ids = (dropped: Array<{ item: Queued; scope: string }>) =>
  dropped.map((d) => `${d.item.id}:${d.scope}`);

describe('the bounded callback queue', () => {
  it('keeps each project in order, one being sent at a time', () => {
    const q = new CallbackQueue({
      projectEvents: 10,
      projectBytes: 1000,
      serverEvents: 100,
      serverBytes: 10_000,
    });
    const [a1, a2, b1] = [item('a'), item('a'), item('b')];
    for (const i of [a1, a2, b1]) expect(q.push(i)).toEqual([]);
    expect(q.take('a')).toBe(a1);
    expect(q.take('a')).toBeUndefined(); // a1 is being sent
    expect(q.take('b')).toBe(b1); // another project is not held up
    q.finish('a');
    expect(q.take('a')).toBe(a2);
    q.finish('a');
    q.finish('b');
    expect(q.size).toBe(0);
    expect(q.bytes).toBe(0);
  });

  it("drops a project's oldest waiting callback past its count, never the one being sent", () => {
    const q = new CallbackQueue({
      projectEvents: 3,
      projectBytes: 1000,
      serverEvents: 100,
      serverBytes: 10_000,
    });
    const [a1, a2, a3, a4, a5] = [item('a'), item('a'), item('a'), item('a'), item('a')];
    q.push(a1);
    q.push(a2);
    q.push(a3);
    expect(q.take('a')).toBe(a1);
    expect(ids(q.push(a4))).toEqual([`${a2.id}:project`]);
    expect(ids(q.push(a5))).toEqual([`${a3.id}:project`]);
    expect(q.size).toBe(3);
    q.finish('a');
    expect(q.take('a')).toBe(a4);
  });

  it('drops by bytes too', () => {
    const q = new CallbackQueue({
      projectEvents: 100,
      projectBytes: 100,
      serverEvents: 100,
      serverBytes: 10_000,
    });
    const [a1, a2, a3] = [item('a', 40), item('a', 40), item('a', 40)];
    q.push(a1);
    q.push(a2);
    expect(ids(q.push(a3))).toEqual([`${a1.id}:project`]);
    expect(q.bytes).toBe(80);
  });

  it("drops the server's oldest waiting callback, whichever project it is of, past the server's bound", () => {
    const q = new CallbackQueue({
      projectEvents: 10,
      projectBytes: 1000,
      serverEvents: 3,
      serverBytes: 10_000,
    });
    const [a1, b1, a2, b2] = [item('a'), item('b'), item('a'), item('b')];
    q.push(a1);
    q.push(b1);
    q.push(a2);
    expect(q.take('a')).toBe(a1); // being sent: the oldest, but kept
    expect(ids(q.push(b2))).toEqual([`${b1.id}:server`]);
    expect(q.size).toBe(3);
    expect(q.take('b')).toBe(b2);
  });

  it('drops the new callback itself when only callbacks being sent fill the bound', () => {
    const q = new CallbackQueue({
      projectEvents: 1,
      projectBytes: 1000,
      serverEvents: 100,
      serverBytes: 10_000,
    });
    const [a1, a2] = [item('a'), item('a')];
    q.push(a1);
    q.take('a');
    expect(ids(q.push(a2))).toEqual([`${a2.id}:project`]);
    expect(q.size).toBe(1);
  });

  it('empties on clear and returns what it held', () => {
    const q = new CallbackQueue({
      projectEvents: 10,
      projectBytes: 1000,
      serverEvents: 100,
      serverBytes: 10_000,
    });
    q.push(item('a'));
    q.push(item('b'));
    expect(q.clear()).toHaveLength(2);
    expect(q.size).toBe(0);
    expect(q.bytes).toBe(0);
  });
});
