import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '@tether/testkit';
import type { CallbackPayload } from '@tether/protocol';
import { createMetrics } from '../metrics.js';
import { Callbacks, type CallbackOptions } from './dispatcher.js';
import type { Send, SendOutcome } from './sender.js';

const SECRET = 'a-secret-of-sixteen-chars';

/** A receiver in process: records each attempt (time, id) and answers from a script. */
function harness(options: Partial<CallbackOptions> = {}, answer: (id: string, n: number) => SendOutcome) {
  const clock = new FakeClock();
  const attempts: Array<{ at: number; id: string; apiKey: string }> = [];
  const counts = new Map<string, number>();
  const send: Send = (_url, item) => {
    attempts.push({ at: clock.now(), id: item.id, apiKey: item.apiKey });
    const n = (counts.get(item.id) ?? 0) + 1;
    counts.set(item.id, n);
    return Promise.resolve(answer(item.id, n));
  };
  const lines: Array<Record<string, unknown>> = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  const metrics = createMetrics(() => ({
    sessions: 0,
    pending: 0,
    connected: 0,
    interrupted: 0,
    interruptedHeldBytes: 0,
    clusterAvailable: true,
  }));
  const callbacks = new Callbacks({ targets: [{ url: 'http://127.0.0.1:9/cb' }], ...options }, () => true, {
    secretFor: () => SECRET,
    clock,
    log,
    metrics,
    random: () => 0.5,
    send,
  });
  const dropped = async (reason: string) =>
    (await metrics.callbacksDropped.get()).values.find((v) => v.labels.reason === reason)?.value ?? 0;
  return { clock, attempts, callbacks, lines, metrics, dropped };
}

let n = 0;
function payload(apiKey = 'p'): CallbackPayload {
  return {
    id: `cb-${n++}`,
    event: 'connectionCreated',
    apiKey,
    sessionId: 's',
    timestamp: 1,
    connection: { id: 'c', data: '', createdAt: 1 },
  };
}

/** Lets the answers (promises) settle: they run in microtasks, after the fake clock's timers. */
const settle = () => new Promise((r) => setImmediate(r));

describe('callback delivery', () => {
  it('retries a failing callback with growing delays (1 s, 2 s, 4 s) until it is delivered', async () => {
    const h = harness({}, (_id, n) =>
      n <= 3 ? { kind: 'retry', detail: 'HTTP 500' } : { kind: 'delivered', status: 200 },
    );
    const p = payload();
    h.callbacks.emit(p);
    await settle();
    const t0 = h.clock.now();
    for (const step of [999, 1, 1999, 1, 3999, 1]) {
      h.clock.advance(step);
      await settle();
    }
    expect(h.attempts.map((a) => a.at - t0)).toEqual([0, 1000, 3000, 7000]);
    expect((await h.metrics.callbacksDelivered.get()).values[0]?.value).toBe(1);
    expect(h.callbacks.sizes()).toEqual({ queued: 0, bytes: 0 });
    expect(
      h.lines.filter((l) => l.msg === 'callbacks: attempt failed, retrying').map((l) => l.delayMs),
    ).toEqual([1000, 2000, 4000]);
  });

  it('keeps a project in order: the next callback waits for the one being retried; another project does not', async () => {
    const h = harness({}, (id, n) =>
      id === 'cb-first' && n === 1 ? { kind: 'retry', detail: 'x' } : { kind: 'delivered', status: 204 },
    );
    h.callbacks.emit({ ...payload('p'), id: 'cb-first' });
    h.callbacks.emit({ ...payload('p'), id: 'cb-second' });
    h.callbacks.emit({ ...payload('q'), id: 'cb-other' });
    await settle();
    expect(h.attempts.map((a) => a.id)).toEqual(['cb-first', 'cb-other']);
    h.clock.advance(1000);
    await settle();
    expect(h.attempts.map((a) => a.id)).toEqual(['cb-first', 'cb-other', 'cb-first', 'cb-second']);
  });

  it('gives up after the last attempt, counts it and logs it', async () => {
    const h = harness({ retry: { maxAttempts: 3 } }, () => ({ kind: 'retry', detail: 'ECONNREFUSED' }));
    h.callbacks.emit(payload());
    for (let i = 0; i < 5; i++) {
      await settle();
      h.clock.advance(60_000);
    }
    expect(h.attempts).toHaveLength(3);
    expect(await h.dropped('retriesExhausted')).toBe(1);
    expect(h.lines.find((l) => l.msg === 'callbacks: dropped a callback')).toMatchObject({
      reason: 'retriesExhausted',
      detail: 'attempt 3: ECONNREFUSED',
    });
  });

  it('does not retry a callback the receiver refused (4xx)', async () => {
    const h = harness({}, () => ({ kind: 'rejected', detail: 'HTTP 401' }));
    h.callbacks.emit(payload());
    await settle();
    h.clock.advance(120_000);
    await settle();
    expect(h.attempts).toHaveLength(1);
    expect(await h.dropped('rejected')).toBe(1);
  });

  it('drops the oldest waiting callbacks when a receiver is down, counting each, one log line per 10 s', async () => {
    const h = harness({ queue: { projectEvents: 5 } }, () => ({ kind: 'retry', detail: 'down' }));
    const sent = Array.from({ length: 20 }, () => payload());
    for (const p of sent) h.callbacks.emit(p);
    await settle();
    expect(await h.dropped('projectQueueFull')).toBe(15);
    expect(h.callbacks.sizes().queued).toBe(5);
    expect(h.lines.filter((l) => l.msg === 'callbacks: dropped a callback')).toHaveLength(1);
    // The first (being sent) and the four newest are kept.
    expect(h.attempts.map((a) => a.id)).toEqual([sent[0]!.id]);
  });

  it('flushes on close within its timeout, then drops what is left (shutdown)', async () => {
    const h = harness({ flushTimeoutMs: 2000 }, () => ({ kind: 'retry', detail: 'down' }));
    h.callbacks.emit(payload());
    h.callbacks.emit(payload());
    await settle();
    const closed = h.callbacks.close();
    await settle();
    h.clock.advance(2000);
    await closed;
    expect(await h.dropped('shutdown')).toBe(2);
    expect(h.callbacks.sizes().queued).toBe(0);
    expect(h.clock.pendingCount).toBe(0);
  });

  it('refuses a payload that is not one (a bug in its emitter) and ignores projects without a URL', () => {
    const h = harness({ targets: [{ apiKey: 'p', url: 'http://127.0.0.1:9/' }] }, () => ({
      kind: 'delivered',
      status: 200,
    }));
    expect(() => h.callbacks.emit({ ...payload(), event: 'nope' } as unknown as CallbackPayload)).toThrow(
      /INVALID_ARGUMENT/,
    );
    expect(h.callbacks.emit(payload('other'))).toBe(false);
    expect(h.callbacks.emit(payload('p'))).toBe(true);
  });

  it('sends the end of a connection or stream once, even when a race appended it twice', async () => {
    const h = harness({}, () => ({ kind: 'delivered', status: 200 }));
    const end = (id: string): CallbackPayload => ({
      id,
      event: 'connectionDestroyed',
      apiKey: 'p',
      sessionId: 's',
      timestamp: 1,
      connection: { id: 'conn-1', data: '', createdAt: 1 },
      reason: 'forceDisconnected',
    });
    h.callbacks.after(Promise.resolve(), [end('first')]);
    h.callbacks.after(Promise.resolve(), [end('second')]);
    await settle();
    await settle();
    expect(h.attempts.map((a) => a.id)).toEqual(['first']);
  });

  it('sends session events only once their append succeeded', async () => {
    const h = harness({}, () => ({ kind: 'delivered', status: 200 }));
    const ok = payload();
    h.callbacks.after(Promise.resolve(), [ok]);
    h.callbacks.after(Promise.reject(new Error('fenced')), [payload()]);
    await settle();
    expect(h.attempts.map((a) => a.id)).toEqual([ok.id]);
  });
});
