import { describe, expect, it, vi } from 'vitest';
import { OTEvent, OTEventEmitter, makeEvent, type EventOf } from './events.js';

interface Events {
  ping: EventOf<'ping', Target, { n: number }>;
  pong: EventOf<'pong', Target>;
}
class Target extends OTEventEmitter<Events> {}

describe("OpenTok's event model", () => {
  it('calls on-listeners in order with the context as `this`, once-listeners once, until off', () => {
    const t = new Target();
    const ctx = { seen: [] as string[] };
    const calls: string[] = [];
    function first(this: typeof ctx, e: Events['ping']) {
      this.seen.push(`first ${e.n}`);
    }
    t.on('ping', first, ctx);
    t.once('ping', (e) => calls.push(`once ${e.n}`));
    t.on('ping', function (this: unknown) {
      calls.push(this === t ? 'default this is the emitter' : 'wrong this');
    });
    t.dispatch(makeEvent('ping', t, { n: 1 }));
    t.dispatch(makeEvent('ping', t, { n: 2 }));
    t.off('ping', first, ctx);
    t.dispatch(makeEvent('ping', t, { n: 3 }));
    expect(ctx.seen).toEqual(['first 1', 'first 2']);
    expect(calls).toEqual([
      'once 1',
      'default this is the emitter',
      'default this is the emitter',
      'default this is the emitter',
    ]);
  });

  it('takes a map of handlers, and removes one name or everything', () => {
    const t = new Target();
    const seen: string[] = [];
    const ctx = {};
    const handlers = { ping: () => seen.push('ping'), pong: () => seen.push('pong') };
    t.on(handlers, ctx);
    t.dispatch(makeEvent('ping', t, { n: 0 }));
    t.dispatch(makeEvent('pong', t, {}));
    t.off({ pong: handlers.pong }, ctx);
    t.dispatch(makeEvent('pong', t, {}));
    t.off('ping');
    t.dispatch(makeEvent('ping', t, { n: 0 }));
    t.on('pong', () => seen.push('pong again'));
    t.off();
    t.dispatch(makeEvent('pong', t, {}));
    expect(seen).toEqual(['ping', 'pong']);
  });

  it('lets only a cancelable event be prevented, and says so', () => {
    const t = new Target();
    const plain = makeEvent('pong', t, {});
    plain.preventDefault();
    expect(plain.isDefaultPrevented()).toBe(false);
    const cancelable = makeEvent('pong', t, {}, true);
    t.on('pong', (e) => e.preventDefault());
    expect(t.dispatch(cancelable).isDefaultPrevented()).toBe(true);
    expect(cancelable).toBeInstanceOf(OTEvent);
    expect([cancelable.type, cancelable.target, cancelable.cancelable]).toEqual(['pong', t, true]);
  });

  it('keeps calling the other listeners when one throws, and rethrows it outside the dispatch', async () => {
    const t = new Target();
    const boom = new Error('app bug');
    const after = vi.fn();
    t.on('pong', () => {
      throw boom;
    });
    t.on('pong', after);
    const thrown = new Promise((resolve) => {
      const original = globalThis.queueMicrotask;
      globalThis.queueMicrotask = (fn) => {
        globalThis.queueMicrotask = original;
        try {
          fn();
        } catch (err) {
          resolve(err);
        }
      };
    });
    t.dispatch(makeEvent('pong', t, {}));
    expect(after).toHaveBeenCalledOnce();
    expect(await thrown).toBe(boom);
  });

  it('refuses a handler that is not a function, and bounds the listeners of one name', () => {
    const t = new Target();
    expect(() => t.on('pong', 'nope' as never)).toThrow(TypeError);
    for (let i = 0; i < 1000; i++) t.on('pong', () => undefined);
    expect(() => t.on('pong', () => undefined)).toThrow(/more than 1000 listeners/);
  });
});
