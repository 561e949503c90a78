import { Decoder, Encoder } from '@msgpack/msgpack';
import { validate, type Codec, type Wire } from './codec.js';
import { clientFrameSchema, serverFrameSchema, type ClientFrame } from './frames.js';

// `undefined` fields are left out, as JSON.stringify does, so both codecs carry the same frames.
const encoder = new Encoder({ ignoreUndefined: true });
const decoder = new Decoder();
const SEQ = encoder.encode('seq');
const ACK = encoder.encode('ack');

/**
 * A map's entry count and where its entries start. Bodies are maps, so a sequenced frame is
 * the body with a bigger header and the `seq`/`ack` entries put in front: no re-encoding.
 */
function mapHeader(bytes: Uint8Array): { count: number; start: number } {
  const b = bytes[0] as number;
  if (b >= 0x80 && b <= 0x8f) return { count: b & 0x0f, start: 1 };
  if (b === 0xde) return { count: ((bytes[1] as number) << 8) | (bytes[2] as number), start: 3 };
  throw new Error('a msgpack body must be a map');
}

function header(count: number): Uint8Array {
  return count < 16 ? Uint8Array.of(0x80 | count) : Uint8Array.of(0xde, count >> 8, count & 0xff);
}

function read32(b: Uint8Array, at: number): number {
  return (
    (b[at] as number) * 0x1000000 +
    (((b[at + 1] as number) << 16) | ((b[at + 2] as number) << 8) | (b[at + 3] as number))
  );
}

/** Reads a non-negative safe integer at `at`; undefined for any other value. */
function readUint(b: Uint8Array, at: number): { n: number; end: number } | undefined {
  const x = b[at];
  if (x === undefined) return undefined;
  if (x < 0x80) return { n: x, end: at + 1 };
  if (at + 1 >= b.length) return undefined;
  if (x === 0xcc) return { n: b[at + 1] as number, end: at + 2 };
  if (x === 0xcd)
    return at + 2 < b.length
      ? { n: ((b[at + 1] as number) << 8) | (b[at + 2] as number), end: at + 3 }
      : undefined;
  if (x !== 0xce && x !== 0xcf) return undefined;
  const width = x === 0xce ? 4 : 8;
  if (at + width >= b.length) return undefined;
  const n = width === 4 ? read32(b, at + 1) : read32(b, at + 1) * 0x100000000 + read32(b, at + 5);
  return Number.isSafeInteger(n) ? { n, end: at + 1 + width } : undefined;
}

const KEYS = ['t', 'ack', 'seq', 'pong'] as const;

/** A fixstr of 1–4 ASCII bytes at `at` (a key, or the value of `t`); undefined for anything else. */
function readName(b: Uint8Array, at: number): { name: string; end: number } | undefined {
  const x = b[at];
  if (x === undefined || x < 0xa1 || x > 0xa4) return undefined;
  const len = x & 0x1f;
  if (at + len >= b.length) return undefined;
  let name = '';
  for (let i = 1; i <= len; i++) name += String.fromCharCode(b[at + i] as number);
  return { name, end: at + 1 + len };
}

/**
 * Acks and beats are most of what a client sends: a map of `t` ("ack" or "hb") and non-negative
 * integers `ack`/`seq`/`pong` skips the decoder and the schema, as JSON's regex does. It admits
 * nothing the schema would refuse; anything else takes the full path.
 */
function quickClientFrame(b: Uint8Array): ClientFrame | undefined {
  const first = b[0];
  if (first === undefined || first < 0x82 || first > 0x84) return undefined;
  const fields: Partial<Record<(typeof KEYS)[number], string | number>> = {};
  let at = 1;
  for (let i = 0; i < (first & 0x0f); i++) {
    const key = readName(b, at);
    if (!key || !(KEYS as readonly string[]).includes(key.name) || key.name in fields) return undefined;
    const k = key.name as (typeof KEYS)[number];
    if (k === 't') {
      const value = readName(b, key.end);
      if (!value || (value.name !== 'ack' && value.name !== 'hb')) return undefined;
      fields.t = value.name;
      at = value.end;
    } else {
      const value = readUint(b, key.end);
      if (!value) return undefined;
      fields[k] = value.n;
      at = value.end;
    }
  }
  if (at !== b.length || fields.t === undefined) return undefined;
  if (fields.t === 'ack')
    return fields.ack !== undefined && fields.seq === undefined && fields.pong === undefined
      ? { t: 'ack', ack: fields.ack as number }
      : undefined;
  const { ack, seq, pong } = fields as { ack?: number; seq?: number; pong?: number };
  return {
    t: 'hb',
    ...(ack !== undefined ? { ack } : {}),
    ...(seq !== undefined ? { seq } : {}),
    ...(pong !== undefined ? { pong } : {}),
  };
}

function decodeBinary<F>(schema: Parameters<typeof validate<F>>[0], data: Wire) {
  if (typeof data === 'string')
    return {
      ok: false as const,
      code: 'FRAME_INVALID' as const,
      message: 'a text frame on a msgpack connection',
    };
  let value: unknown;
  try {
    value = decoder.decode(data);
  } catch {
    return { ok: false as const, code: 'FRAME_INVALID' as const, message: 'frame is not valid msgpack' };
  }
  return validate(schema, value);
}

/** A compact binary codec (MessagePack), negotiated in the handshake; JSON stays the default. */
export const msgpackCodec: Codec = {
  name: 'msgpack',
  encode: (frame) => encoder.encode(frame),
  body: (value) => encoder.encode(value),
  sequenced: (body, seq, ack) => {
    const bytes = body as Uint8Array;
    const { count, start } = mapHeader(bytes);
    const parts = [SEQ, encoder.encode(seq), ...(ack === undefined ? [] : [ACK, encoder.encode(ack)])];
    const head = header(count + parts.length / 2);
    let size = head.byteLength + bytes.byteLength - start;
    for (const p of parts) size += p.byteLength;
    const out = new Uint8Array(size);
    out.set(head, 0);
    let at = head.byteLength;
    for (const p of parts) {
      out.set(p, at);
      at += p.byteLength;
    }
    out.set(bytes.subarray(start), at);
    return out;
  },
  decodeClient: (data) => {
    const quick = typeof data === 'string' ? undefined : quickClientFrame(data);
    return quick ? { ok: true, frame: quick } : decodeBinary(clientFrameSchema, data);
  },
  decodeServer: (data) => decodeBinary(serverFrameSchema, data),
};
