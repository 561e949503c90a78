import { Encoder, decode } from '@msgpack/msgpack';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jsonCodec, validate } from './codec.js';
import { clientFrameSchema } from './frames.js';
import { msgpackCodec } from './msgpack-codec.js';

const signal = { t: 'signal', from: 'c1', type: 'chat', data: 'hello' };

describe.each([jsonCodec, msgpackCodec])('$name codec', (codec) => {
  it('a sequenced body decodes as the frame with its numbers', () => {
    const frame = codec.sequenced(codec.body(signal), 7);
    expect(codec.decodeServer(frame)).toEqual({ ok: true, frame: { seq: 7, ...signal } });
  });

  it('splices a piggybacked ack into a client op', () => {
    const op = { t: 'signal', type: 'chat', data: 'x' };
    const frame = codec.sequenced(codec.body(op), 3, 9);
    expect(codec.decodeClient(frame)).toEqual({ ok: true, frame: { seq: 3, ack: 9, ...op } });
  });

  it('round-trips heartbeats and acks', () => {
    for (const f of [
      { t: 'hb', ack: 4, seq: 2, pong: 1 },
      { t: 'ack', ack: 12 },
    ] as const)
      expect(codec.decodeClient(codec.encode(f))).toEqual({ ok: true, frame: f });
    expect(codec.decodeServer(codec.encode({ t: 'hb', ack: 1, seq: 2, ping: 3, rtt: 40 }))).toEqual({
      ok: true,
      frame: { t: 'hb', ack: 1, seq: 2, ping: 3, rtt: 40 },
    });
  });

  it('refuses a frame of the other kind and an invalid one, naming what was wrong', () => {
    const other = codec.name === 'json' ? new Uint8Array([0x80]) : '{"t":"ack","ack":1}';
    expect(codec.decodeClient(other).ok).toBe(false);
    const bad = codec.decodeClient(codec.encode({ t: 'signal', seq: 1, type: 5, data: '' }));
    expect(bad).toMatchObject({ ok: false, code: 'FRAME_INVALID', seq: 1 });
  });
});

describe('msgpack codec', () => {
  it('keeps a body with 16 or more fields intact when it grows past a fixmap', () => {
    const wide = Object.fromEntries(Array.from({ length: 15 }, (_, i) => [`k${i}`, i]));
    const frame = msgpackCodec.sequenced(msgpackCodec.body(wide), 1, 2) as Uint8Array;
    expect(frame[0]).toBe(0xde);
    expect(decode(frame)).toEqual({ seq: 1, ack: 2, ...wide });
  });

  it('is smaller than JSON for a typical signal', () => {
    const json = jsonCodec.sequenced(jsonCodec.body(signal), 123456) as string;
    const binary = msgpackCodec.sequenced(msgpackCodec.body(signal), 123456) as Uint8Array;
    expect(binary.byteLength).toBeLessThan(json.length);
  });

  it('garbage is a clear error, not a throw', () => {
    expect(msgpackCodec.decodeClient(new Uint8Array([0xc1]))).toMatchObject({
      ok: false,
      code: 'FRAME_INVALID',
    });
  });
});

describe('msgpack codec fast paths', () => {
  const encoder = new Encoder({ ignoreUndefined: true });
  const uint = fc.oneof(
    fc.integer({ min: 0, max: 300 }),
    fc.integer({ min: 0, max: 0x1ffff }),
    fc.integer({ min: 0, max: 0x1ffffffff }),
    fc.constantFrom(
      0x7f,
      0x80,
      0xff,
      0x100,
      0xffff,
      0x10000,
      0xffffffff,
      0x100000000,
      Number.MAX_SAFE_INTEGER,
    ),
  );
  const value = fc.oneof(
    fc.string(),
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.array(fc.string()),
  );
  // Not index-like ("0"): JavaScript orders those first in an object, whatever the insertion order.
  const key = fc
    .string({ minLength: 1, maxLength: 12 })
    .filter((k) => k !== 'seq' && k !== 'ack' && k !== '__proto__' && !/^\d+$/.test(k));

  it('sequenced writes exactly the bytes the encoder gives the whole frame, for any body, seq and ack', () => {
    fc.assert(
      fc.property(
        fc.dictionary(key, value, { minKeys: 1, maxKeys: 20 }),
        uint.filter((n) => n > 0),
        fc.option(uint, { nil: undefined }),
        (body, seq, ack) => {
          const frame = msgpackCodec.sequenced(msgpackCodec.body(body), seq, ack) as Uint8Array;
          const whole = encoder.encode({ seq, ...(ack === undefined ? {} : { ack }), ...body });
          expect([...frame]).toEqual([...whole]);
        },
      ),
      { numRuns: 500 },
    );
  });

  /** What the decoder and the schema make of the bytes: the path the quick one must agree with. */
  const slow = (bytes: Uint8Array) => {
    try {
      return validate(clientFrameSchema, decode(bytes));
    } catch {
      return { ok: false, code: 'FRAME_INVALID', message: 'frame is not valid msgpack' };
    }
  };

  it('acks and beats decode as the schema path decodes them, in any key order', () => {
    const beat = fc.record(
      { t: fc.constant('hb' as const), ack: uint, seq: uint, pong: uint },
      { requiredKeys: ['t'] },
    );
    const ack = fc.record({ t: fc.constant('ack' as const), ack: uint });
    fc.assert(
      fc.property(fc.oneof(beat, ack), fc.boolean(), (frame, reverse) => {
        const entries = Object.entries(frame);
        const bytes = encoder.encode(Object.fromEntries(reverse ? entries.reverse() : entries));
        expect(msgpackCodec.decodeClient(bytes)).toEqual(slow(bytes));
        expect(msgpackCodec.decodeClient(bytes)).toMatchObject({ ok: true, frame });
      }),
      { numRuns: 1000 },
    );
  });

  it('near-misses take the full path and get what the schema says', () => {
    const near = fc.oneof(
      fc.record({
        t: fc.constantFrom('ack', 'hb', 'ac', 'hbb', 'signal'),
        ack: fc.oneof(fc.integer(), fc.double(), fc.string()),
      }),
      fc.record({ t: fc.constant('ack'), ack: uint, seq: uint }),
      fc.record({ t: fc.constant('hb'), ack: uint, extra: uint }),
      fc.record({ t: fc.constant('hb'), pong: fc.constantFrom(-1, 2 ** 53, 2 ** 64, 1.5) }),
      fc.record({ ack: uint, seq: uint }),
    );
    fc.assert(
      fc.property(near, (frame) => {
        const bytes = encoder.encode(frame);
        expect(msgpackCodec.decodeClient(bytes)).toEqual(slow(bytes));
      }),
      { numRuns: 1000 },
    );
    // A truncated beat, a duplicate key, and trailing bytes.
    const beat = encoder.encode({ t: 'hb', ack: 70000, seq: 1 });
    for (const bytes of [
      beat.subarray(0, beat.length - 1),
      Uint8Array.of(0x82, 0xa3, 0x61, 0x63, 0x6b, 0x01, 0xa3, 0x61, 0x63, 0x6b, 0x02),
      Uint8Array.of(...encoder.encode({ t: 'ack', ack: 1 }), 0x00),
    ])
      expect(msgpackCodec.decodeClient(bytes)).toEqual(slow(bytes));
  });

  it('never throws on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
        const first = Uint8Array.of(0x82 + ((bytes[0] ?? 0) % 3), ...bytes.subarray(1));
        for (const b of [bytes, first]) expect(msgpackCodec.decodeClient(b)).toEqual(slow(b));
      }),
      { numRuns: 2000 },
    );
  });
});
