import { TetherError, decodeClientFrame, type ClientOp, type ReplyFrame } from '@tether/protocol';
import { describe, expect, it } from 'vitest';
import { jsonCodec } from '@tether/protocol';
import { DEFAULT_QUEUE_LIMITS, PendingOps } from './pending-ops.js';

const opFrame = (body: unknown, seq: number, ack: number) =>
  jsonCodec.sequenced(body as string, seq, ack) as string;

const signal = (data = 'hi', type = 'chat'): ClientOp => ({ t: 'signal', type, data });
const ok = (re: number, extra: Partial<ReplyFrame> = {}): ReplyFrame => ({
  t: 'reply',
  seq: 100 + re,
  re,
  ok: true,
  ...extra,
});
const err = (re: number, code?: string, message?: string): ReplyFrame => ({
  t: 'reply',
  seq: 100 + re,
  re,
  ok: false,
  ...(code !== undefined ? { code } : {}),
  ...(message !== undefined ? { message } : {}),
});

/** Adds an op and marks its promise handled, so ops a test rejects and never awaits raise no unhandled rejection. */
function add(ops: PendingOps, op: ClientOp) {
  const added = ops.add(op);
  added.promise.catch(() => undefined);
  return added;
}

/** Settled state of a promise: flushes the microtask queue (no timers, no sleeping) and looks. */
async function state<T>(
  p: Promise<T>,
): Promise<
  { status: 'pending' } | { status: 'fulfilled'; value: T } | { status: 'rejected'; reason: unknown }
> {
  let result:
    { status: 'pending' } | { status: 'fulfilled'; value: T } | { status: 'rejected'; reason: unknown } = {
    status: 'pending',
  };
  p.then(
    (value) => (result = { status: 'fulfilled', value }),
    (reason: unknown) => (result = { status: 'rejected', reason }),
  );
  await new Promise<void>((resolve) => setImmediate(resolve));
  return result;
}

describe('PendingOps', () => {
  it('numbers ops 1, 2, 3… and keeps them', () => {
    const ops = new PendingOps();
    expect(ops.size).toBe(0);
    const seqs = [signal(), { t: 'unpublish', streamId: 's1' } as ClientOp, signal('x')].map(
      (op) => add(ops, op).seq,
    );
    expect(seqs).toEqual([1, 2, 3]);
    expect(ops.size).toBe(3);
  });

  it('keeps numbering after ops are settled: a seq is never reused', () => {
    const ops = new PendingOps();
    const a = add(ops, signal());
    ops.settle(ok(a.seq));
    expect(add(ops, signal()).seq).toBe(2);
  });

  it('keeps the op body without seq or ack', () => {
    const ops = new PendingOps();
    const { body } = add(ops, signal('data', 'type'));
    expect(JSON.parse(body)).toEqual({ t: 'signal', type: 'type', data: 'data' });
  });

  it('builds a valid frame with seq and ack spliced in, which the server decodes', () => {
    const ops = new PendingOps();
    const { seq, body } = add(ops, {
      t: 'signal',
      type: 'chat',
      data: '{"nested":"json"} € 😀 \\ "',
      to: 'conn-2',
    });
    const text = opFrame(body, seq, 41);
    expect(JSON.parse(text)).toEqual({
      seq: 1,
      ack: 41,
      t: 'signal',
      type: 'chat',
      data: '{"nested":"json"} € 😀 \\ "',
      to: 'conn-2',
    });
    expect(decodeClientFrame(text)).toEqual({
      ok: true,
      frame: {
        t: 'signal',
        seq: 1,
        ack: 41,
        type: 'chat',
        data: '{"nested":"json"} € 😀 \\ "',
        to: 'conn-2',
      },
    });
    expect(JSON.parse(opFrame(body, seq, 0))).toMatchObject({ seq: 1, ack: 0 });
  });

  it('builds valid frames for every op kind', () => {
    const kinds: ClientOp[] = [
      signal(),
      { t: 'publish', stream: { name: 'cam', hasAudio: true, hasVideo: false, videoType: 'screen' } },
      { t: 'unpublish', streamId: 's1' },
      { t: 'forceDisconnect', connectionId: 'c2' },
      { t: 'forceUnpublish', streamId: 's2' },
    ];
    const ops = new PendingOps();
    for (const op of kinds) {
      const { seq, body } = add(ops, op);
      const decoded = decodeClientFrame(opFrame(body, seq, 7));
      expect(decoded).toEqual({ ok: true, frame: { ...op, seq, ack: 7 } });
    }
  });

  it('resolves an op when its ok reply arrives, with the stream when there is one', async () => {
    const ops = new PendingOps();
    const a = add(ops, signal());
    const b = add(ops, {
      t: 'publish',
      stream: { name: '', hasAudio: true, hasVideo: true, videoType: 'camera' },
    });
    const stream = {
      streamId: 's1',
      connectionId: 'c1',
      name: '',
      hasAudio: true,
      hasVideo: true,
      videoType: 'camera' as const,
      creationTime: 5,
    };
    ops.settle(ok(a.seq));
    ops.settle(ok(b.seq, { stream }));
    await expect(a.promise).resolves.toEqual({});
    await expect(b.promise).resolves.toEqual({ stream });
    expect(ops.size).toBe(0);
  });

  it('resolves a media op with the subscription id and SDP of its reply', async () => {
    const ops = new PendingOps();
    const a = add(ops, { t: 'subscribe', streamId: 's1' });
    ops.settle(ok(a.seq, { subscriptionId: 'sub-1', sdp: 'v=0' }));
    await expect(a.promise).resolves.toEqual({ subscriptionId: 'sub-1', sdp: 'v=0' });
  });

  it('rejects an op with a TetherError carrying the reply code and message', async () => {
    const ops = new PendingOps();
    const a = add(ops, signal());
    ops.settle(err(a.seq, 'NOT_PERMITTED', 'subscribers cannot publish'));
    const e = await a.promise.catch((x: unknown) => x);
    expect(e).toBeInstanceOf(TetherError);
    expect((e as TetherError).code).toBe('NOT_PERMITTED');
    expect((e as TetherError).message).toContain('subscribers cannot publish');
  });

  it.each([['SOMETHING_NEW'], [undefined], [''], ['toString']])(
    'maps an unknown reply code %j to INTERNAL',
    async (code) => {
      const ops = new PendingOps();
      const a = add(ops, signal());
      ops.settle(err(a.seq, code, 'server said no'));
      const e = await a.promise.catch((x: unknown) => x);
      expect(e).toBeInstanceOf(TetherError);
      expect((e as TetherError).code).toBe('INTERNAL');
    },
  );

  it('settles the op the reply names, even out of order, and ignores replies for nothing', async () => {
    const ops = new PendingOps();
    const a = add(ops, signal('a'));
    const b = add(ops, signal('b'));
    ops.settle(ok(b.seq));
    expect(await state(a.promise)).toEqual({ status: 'pending' });
    expect(await state(b.promise)).toEqual({ status: 'fulfilled', value: {} });
    ops.settle(ok(b.seq)); // a duplicate
    ops.settle(ok(99)); // unknown
    expect(ops.size).toBe(1);
    expect(ops.unapplied(0).map((p) => p.seq)).toEqual([a.seq]);
  });

  it('fail() rejects exactly the named op', async () => {
    const ops = new PendingOps();
    const a = add(ops, signal('a'));
    const b = add(ops, signal('b'));
    ops.fail(b.seq, new TetherError('RATE_LIMITED'));
    ops.fail(42, new TetherError('RATE_LIMITED'));
    await expect(b.promise).rejects.toMatchObject({ code: 'RATE_LIMITED' });
    expect(await state(a.promise)).toEqual({ status: 'pending' });
    expect(ops.size).toBe(1);
  });

  it('unapplied(ack) gives the ops after ack, in order, with their original seq and body', () => {
    const ops = new PendingOps();
    const added = Array.from({ length: 5 }, (_, i) => add(ops, signal(`m${i}`)));
    expect(ops.unapplied(0).map((p) => [p.seq, p.body])).toEqual(added.map((a) => [a.seq, a.body]));
    expect(ops.unapplied(2).map((p) => p.seq)).toEqual([3, 4, 5]);
    expect(ops.unapplied(5)).toEqual([]);
    expect(ops.unapplied(50)).toEqual([]);
    // Settled ones are gone even when they are after ack.
    ops.settle(ok(4));
    expect(ops.unapplied(2).map((p) => p.seq)).toEqual([3, 5]);
    // A resend is the same frame: same seq, same body.
    const again = ops.unapplied(2)[0]!;
    expect(JSON.parse(opFrame(again.body, again.seq, 9))).toEqual({
      seq: 3,
      ack: 9,
      t: 'signal',
      type: 'chat',
      data: 'm2',
    });
  });

  it('refuses the op past the count limit with CLIENT_QUEUE_FULL, and adds nothing', async () => {
    const ops = new PendingOps({ maxOps: 3, maxBytes: 1_000_000 });
    for (let i = 0; i < 3; i++) add(ops, signal());
    let thrown: unknown;
    try {
      add(ops, signal());
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(TetherError);
    expect((thrown as TetherError).code).toBe('CLIENT_QUEUE_FULL');
    expect(ops.size).toBe(3);
    expect(ops.unapplied(0).map((p) => p.seq)).toEqual([1, 2, 3]);
    // The refused op consumed no seq; room frees up as replies arrive.
    ops.settle(ok(1));
    expect(add(ops, signal()).seq).toBe(4);
  });

  it('refuses the op past the byte limit with CLIENT_QUEUE_FULL, and adds nothing', () => {
    const one = JSON.stringify(signal('x'.repeat(10))).length;
    const ops = new PendingOps({ maxOps: 100, maxBytes: one * 2 });
    add(ops, signal('x'.repeat(10)));
    add(ops, signal('x'.repeat(10))); // exactly at the limit
    expect(() => add(ops, signal(''))).toThrow(expect.objectContaining({ code: 'CLIENT_QUEUE_FULL' }));
    expect(ops.size).toBe(2);
    ops.settle(ok(1)); // frees one op's bytes
    expect(add(ops, signal('x'.repeat(10))).seq).toBe(3);
    expect(() => add(ops, signal(''))).toThrow(expect.objectContaining({ code: 'CLIENT_QUEUE_FULL' }));
    ops.fail(2, new TetherError('RATE_LIMITED'));
    expect(add(ops, signal('x'.repeat(10))).seq).toBe(4);
  });

  it('refuses a single op larger than the byte limit', () => {
    const ops = new PendingOps({ maxOps: 100, maxBytes: 50 });
    expect(() => add(ops, signal('x'.repeat(50)))).toThrow(
      expect.objectContaining({ code: 'CLIENT_QUEUE_FULL' }),
    );
    expect(ops.size).toBe(0);
    expect(add(ops, signal()).seq).toBe(1);
  });

  it('has the documented default limits', () => {
    expect(DEFAULT_QUEUE_LIMITS).toEqual({ maxOps: 1024, maxBytes: 1024 * 1024 });
    const ops = new PendingOps();
    for (let i = 0; i < 1024; i++) add(ops, signal());
    expect(() => add(ops, signal())).toThrow(expect.objectContaining({ code: 'CLIENT_QUEUE_FULL' }));
  });

  it('rejectAll fails every waiting op with the error, empties the queue and frees its bytes', async () => {
    const ops = new PendingOps({ maxOps: 3, maxBytes: 1_000_000 });
    const added = [add(ops, signal()), add(ops, signal()), add(ops, signal())];
    const error = new TetherError('DISCONNECTED');
    ops.rejectAll(error);
    for (const a of added) await expect(a.promise).rejects.toBe(error);
    expect(ops.size).toBe(0);
    expect(ops.unapplied(0)).toEqual([]);
    // Room again, numbering continues.
    expect([add(ops, signal()).seq, add(ops, signal()).seq, add(ops, signal()).seq]).toEqual([4, 5, 6]);
    ops.rejectAll(error);
    ops.rejectAll(error); // nothing left: harmless
  });

  it('keeps its byte count exact through random adds and settles', () => {
    // Fill to exactly the byte limit after arbitrary churn: only exact accounting allows it.
    const body = JSON.stringify(signal('y')).length;
    const ops = new PendingOps({ maxOps: 10_000, maxBytes: body * 10 });
    let next = 1;
    const live: number[] = [];
    for (let i = 0; i < 500; i++) {
      if (live.length < 10 && (i % 3 !== 0 || live.length === 0)) {
        live.push(add(ops, signal('y')).seq);
        next++;
      } else {
        const seq = live.splice(i % live.length, 1)[0]!;
        if (i % 2) ops.settle(ok(seq));
        else ops.fail(seq, new TetherError('RATE_LIMITED'));
      }
    }
    while (live.length < 10) live.push(add(ops, signal('y')).seq);
    expect(() => add(ops, signal('y'))).toThrow(expect.objectContaining({ code: 'CLIENT_QUEUE_FULL' }));
    expect(next).toBeGreaterThan(10);
    expect(ops.size).toBe(10);
  });
});
