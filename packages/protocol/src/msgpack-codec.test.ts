import { decode } from '@msgpack/msgpack';
import { describe, expect, it } from 'vitest';
import { jsonCodec } from './codec.js';
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
