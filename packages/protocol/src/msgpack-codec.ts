import { Decoder, Encoder } from '@msgpack/msgpack';
import { validate, type Codec, type Wire } from './codec.js';
import { clientFrameSchema, serverFrameSchema } from './frames.js';

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
  decodeClient: (data) => decodeBinary(clientFrameSchema, data),
  decodeServer: (data) => decodeBinary(serverFrameSchema, data),
};
