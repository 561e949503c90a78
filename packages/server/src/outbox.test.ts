import { decodeServerFrame, type ServerEvent } from '@tether/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jsonCodec } from '@tether/protocol';
import { DEFAULT_OUTBOX_LIMITS, Outbox, OutboxOverflowError } from './outbox.js';

const encodeEventBody = (e: object) => jsonCodec.body(e) as string;

const signal = (data: string): ServerEvent => ({ t: 'signal', from: 'conn-1', type: 'chat', data });
const body = (data = 'x') => encodeEventBody(signal(data));
const roomy = { maxFrames: 1_000_000, maxBytes: 1_000_000_000 };

function snapshot(o: Outbox) {
  return {
    seq: o.seq,
    acked: o.ackedSeq,
    frames: o.pendingFrames,
    bytes: o.pendingBytes,
    after: o.after(o.ackedSeq),
  };
}

describe('Outbox', () => {
  it('numbers frames 1, 2, 3… as valid JSON with seq first', () => {
    const o = new Outbox();
    const frames = ['a', 'b', 'c'].map((d) => o.push(body(d)));
    expect(frames[0]!.startsWith('{"seq":1,')).toBe(true);
    expect(frames.map((f) => JSON.parse(f) as unknown)).toEqual([
      { seq: 1, t: 'signal', from: 'conn-1', type: 'chat', data: 'a' },
      { seq: 2, t: 'signal', from: 'conn-1', type: 'chat', data: 'b' },
      { seq: 3, t: 'signal', from: 'conn-1', type: 'chat', data: 'c' },
    ]);
    expect(o.seq).toBe(3);
    expect(o.ackedSeq).toBe(0);
    expect(o.pendingFrames).toBe(3);
    expect(o.pendingBytes).toBe(frames.reduce((n, f) => n + f.length, 0));
  });

  it('produces frames the client decodes, for every event kind', () => {
    const stream = {
      streamId: 's1',
      connectionId: 'c1',
      name: 'n',
      hasAudio: true,
      hasVideo: true,
      videoType: 'camera' as const,
      creationTime: 1,
    };
    const events: ServerEvent[] = [
      {
        t: 'connectionCreated',
        connection: { connectionId: 'c1', data: '"quoted" {json}', creationTime: 1 },
      },
      { t: 'connectionDestroyed', connectionId: 'c1', reason: 'networkDisconnected' },
      { t: 'connectionReconnecting', connectionId: 'c1' },
      { t: 'connectionReconnected', connectionId: 'c1' },
      { t: 'streamCreated', stream },
      { t: 'streamDestroyed', streamId: 's1', connectionId: 'c1', reason: 'clientDisconnected' },
      { t: 'signal', from: null, type: 'x', data: '€😀\\"' },
      { t: 'reply', re: 1, ok: true },
    ];
    const o = new Outbox();
    events.forEach((event, i) => {
      expect(decodeServerFrame(o.push(encodeEventBody(event)))).toEqual({
        ok: true,
        frame: { seq: i + 1, ...event },
      });
    });
  });

  it('ack trims the acknowledged frames and frees their bytes', () => {
    const o = new Outbox();
    const frames = [o.push(body('aaaa')), o.push(body('b')), o.push(body('cc'))];
    expect(o.ack(2)).toBe(true);
    expect(o.ackedSeq).toBe(2);
    expect(o.pendingFrames).toBe(1);
    expect(o.pendingBytes).toBe(frames[2]!.length);
    expect(o.after(2)).toEqual([frames[2]]);
    expect(o.ack(3)).toBe(true);
    expect(o.pendingFrames).toBe(0);
    expect(o.pendingBytes).toBe(0);
    expect(o.after(3)).toEqual([]);
  });

  it('refuses an ack beyond the last frame sent, changing nothing', () => {
    const o = new Outbox();
    expect(o.ack(1)).toBe(false);
    o.push(body());
    o.push(body());
    const before = snapshot(o);
    expect(o.ack(3)).toBe(false);
    expect(o.ack(Number.MAX_SAFE_INTEGER)).toBe(false);
    expect(snapshot(o)).toEqual(before);
  });

  it('ignores an old or repeated ack', () => {
    const o = new Outbox();
    for (let i = 0; i < 5; i++) o.push(body(String(i)));
    expect(o.ack(3)).toBe(true);
    const before = snapshot(o);
    expect(o.ack(3)).toBe(true);
    expect(o.ack(1)).toBe(true);
    expect(o.ack(0)).toBe(true);
    expect(snapshot(o)).toEqual(before);
  });

  it('after(ack) gives exactly the frames after ack', () => {
    const o = new Outbox();
    const frames = Array.from({ length: 6 }, (_, i) => o.push(body(String(i))));
    o.ack(2);
    expect(o.after(2)).toEqual(frames.slice(2));
    expect(o.after(4)).toEqual(frames.slice(4));
    expect(o.after(6)).toEqual([]);
  });

  it('after(ack) is undefined for an ack it can no longer replay from or never sent', () => {
    const o = new Outbox();
    for (let i = 0; i < 6; i++) o.push(body(String(i)));
    o.ack(3);
    expect(o.after(2)).toBeUndefined();
    expect(o.after(0)).toBeUndefined();
    expect(o.after(7)).toBeUndefined();
    expect(o.after(3)).toHaveLength(3);
  });

  it('after() returns a copy: changing it does not change the outbox', () => {
    const o = new Outbox();
    o.push(body('a'));
    const replay = o.after(0)!;
    replay.push('junk');
    replay[0] = 'junk';
    expect(o.after(0)).toHaveLength(1);
    expect(JSON.parse(o.after(0)![0]!)).toMatchObject({ seq: 1, data: 'a' });
  });

  it('throws OutboxOverflowError past the frame limit and changes nothing', () => {
    const o = new Outbox({ maxFrames: 3, maxBytes: 1_000_000 });
    for (let i = 0; i < 3; i++) o.push(body(String(i)));
    const before = snapshot(o);
    let thrown: unknown;
    try {
      o.push(body('overflow'));
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(OutboxOverflowError);
    expect(thrown).toMatchObject({ frames: 4 });
    expect(snapshot(o)).toEqual(before);
    // Acknowledging makes room; numbering continues where it was.
    o.ack(1);
    expect(JSON.parse(o.push(body('next')))).toMatchObject({ seq: 4, data: 'next' });
  });

  it('throws OutboxOverflowError past the byte limit and changes nothing', () => {
    const size = new Outbox().push(body('12345')).length; // "seq":1 — every seq below 10 has the same length
    const o = new Outbox({ maxFrames: 100, maxBytes: size * 2 });
    o.push(body('12345'));
    o.push(body('12345')); // exactly at the limit
    const before = snapshot(o);
    expect(() => o.push(body('1'))).toThrow(OutboxOverflowError);
    try {
      o.push(body('1'));
    } catch (e) {
      expect(e).toMatchObject({ frames: 3 });
      expect((e as OutboxOverflowError).bytes).toBeGreaterThan(size * 2);
      expect((e as Error).message).toContain('outbox overflow');
    }
    expect(snapshot(o)).toEqual(before);
    o.ack(2);
    expect(o.pendingBytes).toBe(0);
    expect(JSON.parse(o.push(body('12345')))).toMatchObject({ seq: 3 });
  });

  it('refuses a single frame larger than the byte limit', () => {
    const o = new Outbox({ maxFrames: 100, maxBytes: 30 });
    expect(() => o.push(body('x'.repeat(100)))).toThrow(OutboxOverflowError);
    expect(snapshot(o)).toEqual({ seq: 0, acked: 0, frames: 0, bytes: 0, after: [] });
  });

  it('has the documented default limits', () => {
    expect(DEFAULT_OUTBOX_LIMITS).toEqual({ maxFrames: 4096, maxBytes: 4 * 1024 * 1024 });
  });

  it('keeps after() exact across compaction (more than 1024 frames acknowledged)', () => {
    const o = new Outbox(roomy);
    const frames: string[] = [];
    for (let i = 0; i < 3000; i++) frames.push(o.push(body(String(i))));
    o.ack(1500); // compacts: head 1500 > 1024 and more than half the array
    expect(o.after(1500)).toEqual(frames.slice(1500));
    expect(o.after(1499)).toBeUndefined();
    expect(o.after(2999)).toEqual([frames[2999]]);
    for (let i = 3000; i < 5000; i++) frames.push(o.push(body(String(i))));
    o.ack(2600);
    expect(o.after(2600)).toEqual(frames.slice(2600));
    o.ack(4990);
    expect(o.after(4990)).toEqual(frames.slice(4990));
    expect(o.after(4995)).toEqual(frames.slice(4995));
    expect(o.pendingFrames).toBe(10);
    expect(o.pendingBytes).toBe(frames.slice(4990).reduce((n, f) => n + f.length, 0));
    expect(JSON.parse(o.after(4990)![0]!)).toMatchObject({ seq: 4991, data: '4990' });
  });

  it('keeps after() exact when acks come one at a time over many compactions', () => {
    const o = new Outbox(roomy);
    const frames: string[] = [];
    for (let i = 1; i <= 6000; i++) {
      frames.push(o.push(body(String(i))));
      if (i > 3) {
        expect(o.ack(i - 3)).toBe(true);
        if (i % 500 === 0) expect(o.after(i - 3)).toEqual(frames.slice(i - 3));
      }
    }
    expect(o.after(5997)).toEqual(frames.slice(5997));
  });

  it('matches a simple model under random pushes, acks and limits (property)', () => {
    type Cmd =
      | { k: 'push'; data: string }
      | { k: 'pushMany'; n: number }
      | { k: 'ack'; back: number; fwd: number }
      | { k: 'after'; back: number; fwd: number };
    const cmd: fc.Arbitrary<Cmd> = fc.oneof(
      {
        weight: 4,
        arbitrary: fc.record({ k: fc.constant('push' as const), data: fc.string({ maxLength: 8 }) }),
      },
      {
        weight: 1,
        arbitrary: fc.record({ k: fc.constant('pushMany' as const), n: fc.integer({ min: 1, max: 1500 }) }),
      },
      {
        weight: 3,
        arbitrary: fc.record({
          k: fc.constant('ack' as const),
          back: fc.integer({ min: 0, max: 1600 }),
          fwd: fc.integer({ min: 0, max: 3 }),
        }),
      },
      {
        weight: 2,
        arbitrary: fc.record({
          k: fc.constant('after' as const),
          back: fc.integer({ min: 0, max: 1600 }),
          fwd: fc.integer({ min: 0, max: 3 }),
        }),
      },
    );

    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3000 }),
        fc.integer({ min: 200, max: 200_000 }),
        fc.array(cmd, { maxLength: 60 }),
        (maxFrames, maxBytes, cmds) => {
          const o = new Outbox({ maxFrames, maxBytes });
          // The model: every frame ever sent, by seq, and the acknowledged prefix.
          const sent: string[] = [];
          let acked = 0;
          const pending = () => sent.slice(acked);
          const bytes = () => pending().reduce((n, f) => n + f.length, 0);

          const push = (data: string) => {
            const b = body(data);
            const frame = `{"seq":${sent.length + 1},${b.slice(1)}`;
            const overflows = sent.length - acked + 1 > maxFrames || bytes() + frame.length > maxBytes;
            if (overflows) {
              expect(() => o.push(b)).toThrow(OutboxOverflowError);
              return false;
            }
            expect(o.push(b)).toBe(frame);
            sent.push(frame);
            return true;
          };

          for (const c of cmds) {
            if (c.k === 'push') push(c.data);
            else if (c.k === 'pushMany') {
              for (let i = 0; i < c.n; i++) if (!push(String(i % 10))) break;
            } else {
              // Aim around the interesting range: below acked, between, and beyond seq.
              const target = Math.max(0, sent.length - c.back + c.fwd);
              if (c.k === 'ack') {
                const ok = o.ack(target);
                expect(ok).toBe(target <= sent.length);
                if (ok) acked = Math.max(acked, target);
              } else {
                const expected = target < acked || target > sent.length ? undefined : sent.slice(target);
                expect(o.after(target)).toEqual(expected);
              }
            }
            expect(o.seq).toBe(sent.length);
            expect(o.ackedSeq).toBe(acked);
            expect(o.pendingFrames).toBe(sent.length - acked);
            expect(o.pendingBytes).toBe(bytes());
          }
          expect(o.after(acked)).toEqual(pending());
        },
      ),
      { numRuns: 200 },
    );
    // Shrinking a failure through 1,000-frame pushes takes a while; leave it time to report the smallest case.
  }, 120_000);
});
