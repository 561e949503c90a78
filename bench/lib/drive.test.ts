import { describe, expect, it } from 'vitest';
import { drive } from './drive.mjs';

/** A phase whose messages complete `delayMs` after they are sent, as receivers would report them. */
function phase(delayMs: number) {
  const p = { sent: 0, completed: 0, delivered: 0, onComplete: () => undefined as unknown, maxInFlight: 0 };
  const sendOne = () => {
    p.sent++;
    p.maxInFlight = Math.max(p.maxInFlight, p.sent - p.completed);
    setTimeout(() => {
      p.completed++;
      p.delivered++;
      p.onComplete();
    }, delayMs);
    return true;
  };
  return { p, sendOne };
}

describe('drive', () => {
  it('window: never more than `window` messages in flight, and resolves true when all complete', async () => {
    const { p, sendOne } = phase(2);
    expect(await drive(p, { mode: 'window', messages: 40, window: 4, stallMs: 5000, sendOne })).toBe(true);
    expect(p.completed).toBe(40);
    expect(p.maxInFlight).toBe(4);
  });

  it('paced: sends at the rate, whatever the deliveries', async () => {
    const { p, sendOne } = phase(0);
    const t0 = Date.now();
    expect(await drive(p, { mode: 'paced', messages: 20, rate: 100, stallMs: 5000, sendOne })).toBe(true);
    // 20 messages at 100/s: the last leaves ~190 ms after the first.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(180);
  });

  it('resolves false when deliveries stall', async () => {
    const p = { sent: 0, completed: 0, delivered: 0, onComplete: () => undefined };
    const sendOne = () => (p.sent++, true);
    expect(await drive(p, { mode: 'window', messages: 10, window: 2, stallMs: 600, sendOne })).toBe(false);
    expect(p.sent).toBe(2);
  });
});
