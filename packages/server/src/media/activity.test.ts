import { describe, expect, it } from 'vitest';
import { PacketActivity } from './activity.js';
import { FakeClock } from '@tether/testkit';

function setup(timeoutMs = 1500) {
  const clock = new FakeClock();
  const changes: string[] = [];
  const activity = new PacketActivity(clock, timeoutMs, (flowing) =>
    changes.push(`${flowing ? 'flowing' : 'stopped'}@${clock.now() - 1_700_000_000_000}`),
  );
  return { clock, changes, activity };
}

describe('PacketActivity', () => {
  it('flows on the first packet and stops exactly timeoutMs after the last one', () => {
    const { clock, changes, activity } = setup();
    expect(activity.flowing).toBe(false);
    activity.touch();
    clock.advance(1000);
    activity.touch(); // the last packet, at 1000
    clock.advance(1499);
    expect(changes).toEqual(['flowing@0']);
    expect(activity.flowing).toBe(true);
    clock.advance(1);
    expect(changes).toEqual(['flowing@0', 'stopped@2500']);
    expect(activity.flowing).toBe(false);
  });

  it('flows again on the next packet, and keeps no timer while stopped', () => {
    const { clock, changes, activity } = setup();
    activity.touch();
    clock.advance(1500);
    expect(clock.pendingCount).toBe(0);
    clock.advance(10_000);
    activity.touch();
    expect(changes).toEqual(['flowing@0', 'stopped@1500', 'flowing@11500']);
  });

  it('never reports stopped before a first packet, nor anything after close', () => {
    const { clock, changes, activity } = setup();
    clock.advance(60_000);
    expect(changes).toEqual([]);
    activity.touch();
    activity.close();
    clock.advance(60_000);
    activity.touch();
    expect(changes).toEqual(['flowing@60000']);
    expect(clock.pendingCount).toBe(0);
  });
});
