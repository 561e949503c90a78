import { TetherError, type ErrorCode, type Reason } from '@tether/protocol';
import { FakeClock } from '@tether/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { BackoffPolicy, OFFLINE_PROBE_MS } from './reconnect-policy.js';
import { Reconnector, type ReconnectorHost } from './reconnector.js';

type Outcome = 'ok' | 'hang' | ErrorCode;

function setup(outcomes: Outcome[], overrides: Partial<ReconnectorHost> = {}) {
  const clock = new FakeClock();
  const log: string[] = [];
  let reached = false;
  const host: ReconnectorHost = {
    clock,
    policy: new BackoffPolicy({ random: () => 0.5 }),
    windowMs: () => 10_000,
    rejoinOnResumeFailure: false,
    watchNetwork: true,
    resume: () => {
      log.push(`resume@${clock.now() - start}`);
      const outcome = outcomes.shift() ?? 'hang';
      if (outcome === 'ok') return Promise.resolve();
      if (outcome === 'hang') return new Promise(() => undefined);
      return Promise.reject(new TetherError(outcome));
    },
    attemptReachedServer: () => reached,
    offline: () => log.push('offline'),
    rejoin: (code) => log.push(`rejoin ${code}`),
    end: (reason: Reason, code: ErrorCode) => log.push(`end ${reason} ${code}`),
    ...overrides,
  };
  const start = clock.now();
  const reconnector = new Reconnector(host);
  const flush = () => new Promise((r) => setImmediate(r));
  return { clock, log, reconnector, flush, setReached: (v: boolean) => (reached = v) };
}

const online = Object.getOwnPropertyDescriptor(globalThis, 'navigator');
afterEach(() => {
  if (online) Object.defineProperty(globalThis, 'navigator', online);
  else delete (globalThis as { navigator?: unknown }).navigator;
});

describe('Reconnector', () => {
  it('retries at once, then on the policy schedule, without waiting for a hung attempt', async () => {
    const { clock, log, reconnector } = setup(['hang', 'hang', 'hang']);
    reconnector.start();
    clock.advance(0);
    clock.advance(250);
    clock.advance(500);
    expect(log).toEqual(['resume@0', 'resume@250', 'resume@750']);
  });

  it('spaces retries no closer than a slow path needs to finish a handshake (the first still at once)', () => {
    // Round-trip allowance 400 ms: a handshake of up to four round trips fits in two gaps of 800 ms.
    const { clock, log, reconnector } = setup([], {
      policy: new BackoffPolicy({ maxDelayMs: 500, random: () => 0.5 }), // 0, 250, 500, 500…
      minRetryGapMs: () => 800,
    });
    reconnector.start();
    clock.advance(0);
    clock.advance(799);
    expect(log).toEqual(['resume@0']);
    clock.advance(1);
    clock.advance(800);
    clock.advance(800);
    expect(log).toEqual(['resume@0', 'resume@800', 'resume@1600', 'resume@2400']);
  });

  it('a path failure is retried; a refusal ends with the reason of its code', async () => {
    const { clock, log, reconnector, flush } = setup(['CONNECT_FAILED', 'RESUME_BAD_SECRET']);
    reconnector.start();
    clock.advance(0);
    await flush();
    expect(log).toEqual(['resume@0']);
    clock.advance(250);
    await flush();
    expect(log).toEqual(['resume@0', 'resume@250', 'end resumeFailed RESUME_BAD_SECRET']);
  });

  it('a refusal rejoins instead when asked to', async () => {
    const { clock, log, reconnector, flush } = setup(['RESUME_WINDOW_EXPIRED'], {
      rejoinOnResumeFailure: true,
    });
    reconnector.start();
    clock.advance(0);
    await flush();
    expect(log).toEqual(['resume@0', 'rejoin RESUME_WINDOW_EXPIRED']);
    clock.advance(60_000);
    expect(log).toHaveLength(2);
  });

  it('gives up at the end of the window with networkDisconnected', () => {
    const { clock, log, reconnector } = setup([]);
    reconnector.start();
    clock.advance(9_999);
    expect(log.filter((l) => l.startsWith('end'))).toEqual([]);
    clock.advance(1);
    expect(log.at(-1)).toBe('end networkDisconnected NETWORK_DISCONNECTED');
    const attempts = log.length;
    clock.advance(10_000);
    expect(log).toHaveLength(attempts);
  });

  it('leaves an attempt that reached the server to finish', () => {
    const { clock, log, reconnector, setReached } = setup([]);
    reconnector.start();
    clock.advance(0);
    setReached(true);
    clock.advance(5_000);
    expect(log).toEqual(['resume@0']);
    setReached(false);
    clock.advance(1_000);
    expect(log.length).toBeGreaterThan(1);
  });

  it('stops retrying once it succeeded or stopped', async () => {
    const { clock, log, reconnector } = setup([]);
    reconnector.start();
    clock.advance(0);
    reconnector.succeeded();
    clock.advance(20_000);
    expect(log).toEqual(['resume@0']);
  });

  it('while the browser is offline, probes slowly instead of opening sockets on the backoff; online retries at once', () => {
    const listeners = new Map<string, () => void>();
    Object.defineProperty(globalThis, 'navigator', { value: { onLine: false }, configurable: true });
    const target = globalThis as unknown as {
      addEventListener: (n: string, f: () => void) => void;
      removeEventListener: (n: string) => void;
    };
    const saved = [target.addEventListener, target.removeEventListener];
    target.addEventListener = (n, f) => listeners.set(n, f);
    target.removeEventListener = (n) => listeners.delete(n);
    try {
      const { clock, log, reconnector } = setup([], { windowMs: () => 30_000 });
      reconnector.watch();
      listeners.get('offline')?.();
      expect(log).toEqual(['offline']);
      reconnector.start();
      clock.advance(0);
      clock.advance(OFFLINE_PROBE_MS - 1);
      expect(log).toEqual(['offline', 'resume@0']);
      clock.advance(1);
      expect(log).toEqual(['offline', 'resume@0', `resume@${OFFLINE_PROBE_MS}`]);
      // 5 s offline: two sockets, not the ~12 the backoff alone would open.
      (globalThis as unknown as { navigator: { onLine: boolean } }).navigator.onLine = true;
      clock.advance(1_000);
      listeners.get('online')?.();
      expect(log.at(-1)).toBe(`resume@${OFFLINE_PROBE_MS + 1000}`);
      reconnector.stop();
      expect(listeners.size).toBe(0);
    } finally {
      [target.addEventListener, target.removeEventListener] = saved as [never, never];
    }
  });
});
