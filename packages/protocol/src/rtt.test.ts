import { FakeClock } from '@tether/testkit';
import { describe, expect, it } from 'vitest';
import { Heartbeat } from './heartbeat.js';
import { RttEstimator, silenceTimeoutMs } from './rtt.js';

describe('RttEstimator', () => {
  it('starts at the first sample with half of it as variance (RFC 6298)', () => {
    const rtt = new RttEstimator();
    expect(rtt.measured).toBe(false);
    expect(rtt.allowanceMs).toBe(0);
    rtt.sample(100);
    expect(rtt.smoothedMs).toBe(100);
    expect(rtt.allowanceMs).toBe(300);
  });

  it('settles near a steady round trip and its variance decays', () => {
    const rtt = new RttEstimator();
    for (let i = 0; i < 100; i++) rtt.sample(3000);
    expect(rtt.smoothedMs).toBeCloseTo(3000, 0);
    expect(rtt.allowanceMs).toBeLessThan(3010);
  });

  it('ignores nonsense samples', () => {
    const rtt = new RttEstimator();
    rtt.sample(-1);
    rtt.sample(Number.NaN);
    expect(rtt.measured).toBe(false);
  });
});

describe('silenceTimeoutMs', () => {
  it('is the floor on a fast link, interval + allowance on a slow one, and never past the ceiling', () => {
    expect(silenceTimeoutMs(1000, 2, 2250, 15_000)).toBe(2250);
    expect(silenceTimeoutMs(1000, 3500, 2250, 15_000)).toBe(4500);
    expect(silenceTimeoutMs(1000, 60_000, 2250, 15_000)).toBe(15_000);
    expect(silenceTimeoutMs(1000, 60_000, 2250, 1000)).toBe(2250);
  });
});

function pinger(maxTimeoutMs = 15_000) {
  const clock = new FakeClock(0);
  const pings: Array<number | undefined> = [];
  const deaths: number[] = [];
  const hb = new Heartbeat({
    clock,
    intervalMs: 1000,
    timeoutMs: 2250,
    maxTimeoutMs,
    measures: true,
    sendBeat: (ping) => pings.push(ping),
    onDead: () => deaths.push(clock.now()),
  });
  return { clock, hb, pings, deaths };
}

describe('Heartbeat with a measured round trip', () => {
  it('on a healthy link calls a silent peer dead at the floor', () => {
    const { clock, hb, pings, deaths } = pinger();
    clock.advance(1000);
    clock.advance(1);
    hb.pong(pings.at(-1) as number);
    hb.received();
    expect(hb.timeoutMs).toBe(2250);
    clock.advance(2249);
    expect(deaths).toEqual([]);
    clock.advance(1);
    expect(deaths).toEqual([3251]);
  });

  it('on a link with 1.5 s each way, measures 3 s round trips from its pings and raises the timeout', () => {
    const { clock, hb, pings, deaths } = pinger();
    // The peer answers every ping as it arrives; each answer lands 3 s after its ping left.
    // Until the first answer, the peer's own beats (sent each second) land 1.5 s late.
    const arrivals = new Map<number, number | undefined>([1500, 2500, 3500].map((at) => [at, undefined]));
    let seen = 0;
    for (let t = 0; t < 60_000; t += 50) {
      clock.advance(50);
      for (; seen < pings.length; seen++) arrivals.set(clock.now() + 3000, pings[seen]);
      if (arrivals.has(clock.now())) {
        const id = arrivals.get(clock.now());
        hb.received();
        if (id !== undefined) hb.pong(id);
      }
    }
    expect(deaths).toEqual([]);
    expect(hb.timeoutMs).toBeGreaterThan(4000);
    expect(hb.timeoutMs).toBeLessThanOrEqual(15_000);
  });

  it('keeps the same ping id until it is answered, so a slow answer is measured from the first ping', () => {
    const { clock, hb, pings } = pinger();
    clock.advance(1000);
    clock.advance(1000);
    expect(pings).toEqual([1, 1]);
    hb.received();
    hb.pong(1);
    // An interval has passed since ping 1 went out: ping 2 follows the answer at once.
    clock.advance(0);
    expect(pings).toEqual([1, 1, 2]);
    expect(hb.allowanceMs).toBeGreaterThanOrEqual(1000);
    clock.advance(1000);
    expect(pings).toEqual([1, 1, 2, 2]);
  });

  it('keeps measuring on a busy link: a new ping as each answer lands, though no beat is needed', () => {
    const clock = new FakeClock(0);
    // The peer answers each ping 3 s after it left.
    const answers = new Map<number, number>();
    const hb = new Heartbeat({
      clock,
      intervalMs: 1000,
      timeoutMs: 2250,
      maxTimeoutMs: 15_000,
      measures: true,
      sendBeat: (ping) => {
        if (!answers.has(clock.now() + 3000)) answers.set(clock.now() + 3000, ping as number);
      },
      onDead: () => expect.fail('a busy link is alive'),
    });
    // Frames go out and come in every 100 ms, so no beat is ever due.
    const timeouts: number[] = [];
    for (let t = 100; t <= 20_000; t += 100) {
      clock.advance(100);
      hb.sent();
      hb.received();
      const id = answers.get(clock.now());
      if (id !== undefined) {
        hb.pong(id);
        timeouts.push(hb.timeoutMs);
      }
    }
    // One sample per round trip, each lowering the variance: the timeout follows the path
    // (interval + srtt + 4·rttvar) down from the first guess (interval + 3 × the first sample).
    expect(timeouts.length).toBe(6);
    expect(timeouts[0]).toBe(1000 + 3 * 3000);
    for (let i = 1; i < timeouts.length; i++)
      expect(timeouts[i] as number).toBeLessThan(timeouts[i - 1] as number);
    expect(timeouts.at(-1)).toBeLessThan(1000 + 3000 + 1500);
    hb.stop();
  });

  it('adopts the allowance its peer reports', () => {
    const clock = new FakeClock(0);
    const hb = new Heartbeat({
      clock,
      intervalMs: 1000,
      timeoutMs: 2250,
      maxTimeoutMs: 15_000,
      sendBeat: () => undefined,
      onDead: () => undefined,
    });
    hb.report(6000);
    expect(hb.timeoutMs).toBe(7000);
    hb.stop();
  });

  it("lets the peer's report replace its own handshake sample, so a path that got faster lowers the timeout", () => {
    const clock = new FakeClock(0);
    const hb = new Heartbeat({
      clock,
      intervalMs: 500,
      timeoutMs: 2250,
      maxTimeoutMs: 15_000,
      sendBeat: () => undefined,
      onDead: () => undefined,
    });
    expect(hb.measured).toBe(false);
    hb.sample(3000); // a handshake over a slow path
    expect(hb.timeoutMs).toBe(500 + 3 * 3000);
    hb.report(40);
    expect(hb.measured).toBe(true);
    expect(hb.timeoutMs).toBe(2250);
    hb.stop();
  });
});
