import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock, weriftRtc } from '@tether/testkit';
import { MediaRecovery, PathWatch } from './recovery.js';

function setup(opts: { canSignal?: boolean; failRestarts?: boolean } = {}) {
  const clock = new FakeClock();
  const log: string[] = [];
  let canSignal = opts.canSignal ?? true;
  const recovery = new MediaRecovery({
    clock,
    windowMs: 10_000,
    retryMs: 2000,
    canSignal: () => canSignal,
    restart: async () => {
      log.push(`restart@${clock.now() - 1_700_000_000_000}`);
      if (opts.failRestarts) throw new Error('no path');
    },
    onDown: () => log.push('down'),
    onUp: () => log.push('up'),
    onGiveUp: () => log.push('giveUp'),
  });
  return { clock, log, recovery, setSignal: (v: boolean) => (canSignal = v) };
}

const flush = () => new Promise((r) => setImmediate(r));

describe('MediaRecovery', () => {
  it('restarts ICE at once when media drops and signalling is up, and retries while it stays down', async () => {
    const { clock, log, recovery } = setup({ failRestarts: true });
    recovery.lost();
    await flush();
    clock.advance(2000);
    await flush();
    clock.advance(2000);
    await flush();
    expect(log).toEqual(['down', 'restart@0', 'restart@2000', 'restart@4000']);
  });

  it('waits for the signalling to come back, then restarts without waiting for the next retry', async () => {
    const { clock, log, recovery, setSignal } = setup({ canSignal: false });
    recovery.lost();
    clock.advance(3000);
    expect(log).toEqual(['down']);
    setSignal(true);
    clock.advance(500);
    recovery.signallingBack();
    await flush();
    expect(log).toEqual(['down', 'restart@3500']);
  });

  it('stops retrying once media flows again', async () => {
    const { clock, log, recovery } = setup();
    recovery.lost();
    await flush();
    recovery.recovered();
    clock.advance(20_000);
    await flush();
    expect(log).toEqual(['down', 'restart@0', 'up']);
    expect(clock.pendingCount).toBe(0);
  });

  it('gives up exactly at the media window, once, and then does nothing more', async () => {
    const { clock, log, recovery } = setup({ canSignal: false });
    recovery.lost();
    clock.advance(9999);
    expect(log).not.toContain('giveUp');
    clock.advance(1);
    expect(log.filter((l) => l === 'giveUp')).toHaveLength(1);
    recovery.lost();
    recovery.recovered();
    clock.advance(60_000);
    expect(log).toEqual(['down', 'giveUp']);
    expect(clock.pendingCount).toBe(0);
  });
});

describe('PathWatch (packets)', () => {
  const pcs: RTCPeerConnection[] = [];
  afterEach(() => {
    for (const pc of pcs.splice(0)) pc.close();
  });

  function setup() {
    const clock = new FakeClock();
    const pc = new weriftRtc.RTCPeerConnection();
    pcs.push(pc);
    const health: string[] = [];
    let packets = 0;
    const watch = new PathWatch(
      pc,
      clock,
      async () => packets,
      { idleMs: 2000, pollMs: 250 },
      (healthy) => health.push(`${healthy ? 'up' : 'down'}@${clock.now() - 1_700_000_000_000}`),
    );
    /** One poll: the counter is read asynchronously, as getStats is. */
    const poll = async (n = 1) => {
      for (let i = 0; i < n; i++) {
        clock.advance(250);
        await flush();
      }
    };
    return { clock, watch, health, poll, setPackets: (n: number) => (packets = n) };
  }

  it('says down once packets stop for idleMs (polled every pollMs), and up on the next packet', async () => {
    const { health, poll, setPackets } = setup();
    setPackets(10);
    await poll(); // counted at 250
    await poll(7); // 2000: 1750 ms without a packet
    expect(health).toEqual([]);
    await poll(); // 2250: 2000 ms
    expect(health).toEqual(['down@2250']);
    await poll(4);
    expect(health).toEqual(['down@2250']);
    setPackets(11);
    await poll();
    expect(health).toEqual(['down@2250', 'up@3500']);
  });

  it('never calls a path down before its first packet (nothing was sent yet)', async () => {
    const { health, poll } = setup();
    await poll(40);
    expect(health).toEqual([]);
  });

  it('stops polling when closed', async () => {
    const { clock, watch, health, poll, setPackets } = setup();
    setPackets(5);
    await poll();
    watch.close();
    await poll(20);
    expect(health).toEqual([]);
    expect(clock.pendingCount).toBe(0);
  });
});
