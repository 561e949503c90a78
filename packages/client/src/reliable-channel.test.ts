import { LIMITS, TetherError, TokenBucket, jsonCodec, msgpackCodec, type Wire } from '@tether/protocol';
import { FakeClock } from '@tether/testkit';
import { describe, expect, it } from 'vitest';
import { DEFAULT_QUEUE_LIMITS } from './pending-ops.js';
import { PACING, ReliableChannel } from './reliable-channel.js';

function setup() {
  const clock = new FakeClock();
  const channel = new ReliableChannel(clock, DEFAULT_QUEUE_LIMITS);
  const written: string[] = [];
  const sink = (data: Wire) => (written.push(data as string), true);
  const frames = () => written.map((t) => JSON.parse(t) as Record<string, unknown>);
  return { clock, channel, written, sink, frames };
}

const signal = (n: number) => ({ t: 'signal' as const, type: 'n', data: String(n) });

describe('ReliableChannel', () => {
  it('numbers ops from 1 and piggybacks the ack of what arrived', () => {
    const { channel, sink, frames } = setup();
    channel.attachFresh(sink, jsonCodec, 50);
    expect(channel.arrive(1)).toBe('next');
    void channel.send(signal(1));
    void channel.send({ t: 'unpublish', streamId: 's' });
    expect(frames()).toEqual([
      { seq: 1, ack: 1, t: 'signal', type: 'n', data: '1' },
      { seq: 2, ack: 1, t: 'unpublish', streamId: 's' },
    ]);
  });

  it('applies each server seq once: replays are recognised, a jump is a gap', () => {
    const { channel, sink } = setup();
    channel.attachFresh(sink, jsonCodec, 50);
    expect(channel.arrive(1)).toBe('next');
    expect(channel.arrive(1)).toBe('replayed');
    expect(channel.arrive(3)).toBe('gap');
    expect(channel.received).toBe(1);
    expect(channel.lostFrames(1)).toBe(false);
    expect(channel.lostFrames(2)).toBe(true);
  });

  it('acknowledges after the ack delay when nothing else goes out, at once after 32 frames', () => {
    const { clock, channel, sink, frames } = setup();
    channel.attachFresh(sink, jsonCodec, 50);
    channel.arrive(1);
    clock.advance(49);
    expect(frames()).toEqual([]);
    clock.advance(1);
    expect(frames()).toEqual([{ t: 'ack', ack: 1 }]);
    for (let s = 2; s <= 33; s++) channel.arrive(s);
    expect(frames().at(-1)).toEqual({ t: 'ack', ack: 33 });
  });

  it('queues ops while detached and writes them, same seq, after a resume; applied ones are not resent', async () => {
    const { channel, sink, frames, written } = setup();
    channel.attachFresh(sink, jsonCodec, 50);
    const first = channel.send(signal(1));
    channel.settle({ t: 'reply', seq: 1, re: 1, ok: true });
    await first;
    channel.detach();
    void channel.send(signal(2));
    void channel.send(signal(3));
    expect(written).toHaveLength(1);
    // The server applied 2 before the drop (its reply was lost): only 3 goes again.
    channel.attachResumed(sink, jsonCodec, 50, 2);
    expect(frames().slice(1)).toEqual([{ seq: 3, ack: 0, t: 'signal', type: 'n', data: '3' }]);
  });

  it('refuses a resume from a server behind what was applied', () => {
    const { channel, sink } = setup();
    channel.attachFresh(sink, jsonCodec, 50);
    channel.arrive(1);
    channel.arrive(2);
    expect(() => channel.checkResume(1)).toThrow(TetherError);
    expect(() => channel.checkResume(2)).not.toThrow();
  });

  it('paces signals inside the server bucket: 1000 back-to-back sends are never refused by it', () => {
    const { clock, channel, sink, frames } = setup();
    channel.attachFresh(sink, jsonCodec, 50);
    const server = new TokenBucket(LIMITS.signalBurst, LIMITS.signalRatePerSecond, clock);
    let refused = 0;
    let seen = 0;
    const replyAll = () => {
      for (const f of frames().slice(seen)) {
        if (f.t !== 'signal') continue;
        if (!server.take()) refused++;
        channel.settle({ t: 'reply', seq: 0, re: f.seq as number, ok: true });
      }
      seen = frames().length;
    };
    for (let i = 0; i < 1000; i++) void channel.send(signal(i));
    for (let t = 0; t < 30_000 && seen < 1000; t += 10) {
      replyAll();
      clock.advance(10);
    }
    replyAll();
    expect(frames().filter((f) => f.t === 'signal')).toHaveLength(1000);
    expect(refused).toBe(0);
  });

  it('holds signals past the in-flight window until replies free room, and keeps order behind them', () => {
    const { clock, channel, sink, frames } = setup();
    channel.attachFresh(sink, jsonCodec, 50);
    for (let i = 0; i < PACING.inFlight + 10; i++) void channel.send(signal(i));
    void channel.send({ t: 'unpublish', streamId: 's' });
    clock.advance(60_000);
    // No replies: exactly the window went out, the rest (and the op behind them) waits.
    expect(frames()).toHaveLength(PACING.inFlight);
    channel.settle({ t: 'reply', seq: 0, re: 1, ok: true });
    clock.advance(1000);
    expect(frames()).toHaveLength(PACING.inFlight + 1);
    expect(frames().at(-1)).toMatchObject({ seq: PACING.inFlight + 1 });
  });

  it('worst case: the whole in-flight window arriving at once after a stall, then a full pacer burst, fits the server bucket', () => {
    expect(PACING.inFlight + PACING.burst).toBeLessThanOrEqual(LIMITS.signalBurst);
    expect(PACING.ratePerSecond).toBeLessThanOrEqual(LIMITS.signalRatePerSecond);
  });

  it('re-encodes queued ops when a resume negotiates another codec', () => {
    const clock = new FakeClock();
    const channel = new ReliableChannel(clock, DEFAULT_QUEUE_LIMITS);
    const out: Wire[] = [];
    channel.attachFresh((d) => (out.push(d), true), jsonCodec, 50);
    channel.detach();
    void channel.send(signal(1));
    channel.attachResumed((d) => (out.push(d), true), msgpackCodec, 50, 0);
    expect(out).toHaveLength(1);
    expect(msgpackCodec.decodeClient(out[0] as Wire)).toMatchObject({
      ok: true,
      frame: { seq: 1, t: 'signal' },
    });
  });

  it('fails every waiting op on reset', async () => {
    const { channel, sink } = setup();
    channel.attachFresh(sink, jsonCodec, 50);
    const p = channel.send(signal(1));
    channel.reset(new TetherError('DISCONNECTED'));
    await expect(p).rejects.toMatchObject({ code: 'DISCONNECTED' });
  });
});
