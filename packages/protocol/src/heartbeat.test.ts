import { describe, expect, it } from 'vitest';
import { FakeClock } from '@tether/testkit';
import { Heartbeat } from './heartbeat.js';

const INTERVAL = 1000;
const TIMEOUT = 3000;

function setup(intervalMs = INTERVAL, timeoutMs = TIMEOUT) {
  const clock = new FakeClock(0);
  const beats: number[] = [];
  const deaths: Array<{ at: number; silentMs: number }> = [];
  const hb = new Heartbeat({
    clock,
    intervalMs,
    timeoutMs,
    sendBeat: () => beats.push(clock.now()),
    onDead: (silentMs) => deaths.push({ at: clock.now(), silentMs }),
  });
  return { clock, hb, beats, deaths };
}

describe('Heartbeat', () => {
  it('sends a beat every interval while the link is idle', () => {
    const { clock, hb, beats } = setup(1000, 10_000);
    clock.advance(999);
    expect(beats).toEqual([]);
    clock.advance(1);
    expect(beats).toEqual([1000]);
    clock.advance(4000);
    expect(beats).toEqual([1000, 2000, 3000, 4000, 5000]);
    hb.stop();
  });

  it('keeps beating for as long as the peer keeps talking', () => {
    const { clock, hb, beats, deaths } = setup();
    for (let t = 0; t < 60; t++) {
      clock.advance(500);
      hb.received();
    }
    expect(deaths).toEqual([]);
    expect(beats).toEqual(Array.from({ length: 30 }, (_, i) => (i + 1) * 1000));
    hb.stop();
  });

  it('sends no beat in an interval where something else was sent', () => {
    const { clock, hb, beats } = setup(1000, 10_000);
    clock.advance(600);
    hb.sent();
    clock.advance(400); // t=1000: the last send was 400 ms ago
    expect(beats).toEqual([]);
    clock.advance(599);
    expect(beats).toEqual([]);
    clock.advance(1); // t=1600: a full interval after the send
    expect(beats).toEqual([1600]);
    clock.advance(1000);
    expect(beats).toEqual([1600, 2600]);
    hb.stop();
  });

  it('sends no beat at all while frames go out more often than the interval', () => {
    const { clock, hb, beats } = setup(1000, 100_000);
    for (let i = 0; i < 50; i++) {
      clock.advance(999);
      hb.sent();
    }
    expect(beats).toEqual([]);
    hb.stop();
  });

  it('calls the link dead exactly at the timeout of silence, not a millisecond before', () => {
    const { clock, deaths } = setup();
    clock.advance(TIMEOUT - 1);
    expect(deaths).toEqual([]);
    clock.advance(1);
    expect(deaths).toEqual([{ at: TIMEOUT, silentMs: TIMEOUT }]);
  });

  it('measures the silence from the last thing received', () => {
    const { clock, hb, deaths } = setup();
    clock.advance(2500);
    hb.received();
    clock.advance(TIMEOUT - 1); // t=5499
    expect(deaths).toEqual([]);
    clock.advance(1); // t=5500
    expect(deaths).toEqual([{ at: 5500, silentMs: TIMEOUT }]);
  });

  it('treats sending as no sign of life: only receiving postpones death', () => {
    const { clock, hb, deaths } = setup();
    for (let i = 0; i < 5; i++) {
      clock.advance(500);
      hb.sent();
    }
    clock.advance(TIMEOUT - 2500 - 1);
    expect(deaths).toEqual([]);
    clock.advance(1);
    expect(deaths).toEqual([{ at: TIMEOUT, silentMs: TIMEOUT }]);
  });

  it('dies only once, stops beating and leaves no timer behind', () => {
    const { clock, hb, beats, deaths } = setup();
    clock.advance(TIMEOUT);
    expect(deaths).toHaveLength(1);
    const beatsAtDeath = beats.length;
    expect(clock.pendingCount).toBe(0);
    hb.received(); // late frames do not revive it
    hb.sent();
    clock.advance(TIMEOUT * 10);
    expect(deaths).toHaveLength(1);
    expect(beats).toHaveLength(beatsAtDeath);
    expect(clock.pendingCount).toBe(0);
  });

  it('beats at the intervals before the silence kills it', () => {
    const { clock, beats, deaths } = setup();
    clock.advance(TIMEOUT);
    expect(beats).toEqual([1000, 2000]);
    expect(deaths).toHaveLength(1);
  });

  it('dies on time when the timeout is not a multiple of the interval', () => {
    const { clock, beats, deaths } = setup(700, 2000);
    clock.advance(1999);
    expect(deaths).toEqual([]);
    expect(beats).toEqual([700, 1400]);
    clock.advance(1);
    expect(deaths).toEqual([{ at: 2000, silentMs: 2000 }]);
  });

  it('dies on time when the timeout is shorter than the interval', () => {
    const { clock, beats, deaths } = setup(5000, 2000);
    clock.advance(1999);
    expect(deaths).toEqual([]);
    clock.advance(1);
    expect(deaths).toEqual([{ at: 2000, silentMs: 2000 }]);
    expect(beats).toEqual([]);
  });

  it('stop() cancels beats and death and leaves no timer', () => {
    const { clock, hb, beats, deaths } = setup();
    clock.advance(1500);
    expect(beats).toEqual([1000]);
    hb.stop();
    expect(clock.pendingCount).toBe(0);
    clock.advance(TIMEOUT * 10);
    expect(beats).toEqual([1000]);
    expect(deaths).toEqual([]);
    expect(clock.pendingCount).toBe(0);
  });

  it('stop() is idempotent, and received()/sent() after it schedule nothing', () => {
    const { clock, hb } = setup();
    hb.stop();
    hb.stop();
    hb.received();
    hb.sent();
    expect(clock.pendingCount).toBe(0);
  });

  it('stop() from inside onDead or sendBeat is safe', () => {
    const clock = new FakeClock(0);
    let beats = 0;
    const hb: Heartbeat = new Heartbeat({
      clock,
      intervalMs: 1000,
      timeoutMs: 5000,
      sendBeat: () => {
        beats++;
        hb.stop();
      },
      onDead: () => hb.stop(),
    });
    clock.advance(10_000);
    expect(beats).toBe(1);
    expect(clock.pendingCount).toBe(0);
  });

  it('keeps a single timer pending while running', () => {
    const { clock, hb } = setup();
    expect(clock.pendingCount).toBe(1);
    for (let i = 0; i < 20; i++) {
      clock.advance(250);
      if (i % 3 === 0) hb.received();
      if (i % 4 === 0) hb.sent();
      expect(clock.pendingCount).toBe(1);
    }
    hb.stop();
    expect(clock.pendingCount).toBe(0);
  });
});
