import type { z } from 'zod/mini';
import type { ErrorCode } from './errors.js';
import { clientFrameSchema, serverFrameSchema, type ClientFrame, type ServerFrame } from './frames.js';

export type Decoded<F> =
  { ok: true; frame: F } | { ok: false; code: ErrorCode; message: string; seq?: number };

/** What travels in one WebSocket message: text for JSON, bytes for a binary codec. */
export type Wire = string | Uint8Array;

export type CodecName = 'json' | 'msgpack';
export const CODEC_NAMES: readonly CodecName[] = ['json', 'msgpack'];

/**
 * The one place that knows how frames look on the wire. Client and server take a codec and
 * never build frame bytes themselves: a reliable frame is a body encoded once (for a
 * fan-out, once for every receiver) and then `sequenced` with each receiver's numbers.
 * The handshake (connect/resume and its answer) is always JSON text; the codec named in it
 * is used for every frame after.
 */
export interface Codec {
  readonly name: CodecName;
  encode(frame: ClientFrame | ServerFrame | Record<string, unknown>): Wire;
  /** A reliable frame without its numbers: a server event or a client op. */
  body(value: object): Wire;
  /** The body as a frame, `seq` (and the piggybacked `ack`) spliced in front. */
  sequenced(body: Wire, seq: number, ack?: number): Wire;
  decodeClient(data: Wire): Decoded<ClientFrame>;
  decodeServer(data: Wire): Decoded<ServerFrame>;
}

/** Bytes a wire message counts for the buffer bounds (UTF-16 length for text: an upper bound for ASCII). */
export function wireSize(data: Wire): number {
  return typeof data === 'string' ? data.length : data.byteLength;
}

/** Validates a decoded value against a frame schema, naming the path and what was wrong. */
export function validate<F>(schema: z.ZodMiniType<F>, value: unknown): Decoded<F> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return { ok: true, frame: parsed.data };
  const issue = parsed.error.issues[0];
  const where = issue && issue.path.length > 0 ? issue.path.join('.') : 'frame';
  const seq =
    typeof value === 'object' && value !== null && Number.isSafeInteger((value as { seq?: unknown }).seq)
      ? (value as { seq: number }).seq
      : undefined;
  return {
    ok: false,
    code: 'FRAME_INVALID',
    message: `${where}: ${issue?.message ?? 'invalid'}`,
    ...(seq !== undefined ? { seq } : {}),
  };
}

const QUICK = /^\{"t":"(ack|hb)","ack":(\d{1,15})(?:,"seq":(\d{1,15}))?(?:,"pong":(\d{1,15}))?\}$/;

/**
 * Acks and beats are most of what a client sends: in exactly the shape `encode` gives them
 * they skip the schema (the regex admits nothing the schema would refuse).
 */
function quickClientFrame(text: string): ClientFrame | undefined {
  const m = QUICK.exec(text);
  if (!m) return undefined;
  const ack = Number(m[2]);
  if (m[1] === 'ack') return m[3] === undefined && m[4] === undefined ? { t: 'ack', ack } : undefined;
  return {
    t: 'hb',
    ack,
    ...(m[3] !== undefined ? { seq: Number(m[3]) } : {}),
    ...(m[4] !== undefined ? { pong: Number(m[4]) } : {}),
  };
}

function parseJson<F>(schema: z.ZodMiniType<F>, data: Wire): Decoded<F> {
  if (typeof data !== 'string')
    return { ok: false, code: 'FRAME_INVALID_JSON', message: 'a binary frame on a JSON connection' };
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return { ok: false, code: 'FRAME_INVALID_JSON', message: 'frame is not valid JSON' };
  }
  return validate(schema, value);
}

/** The default codec: JSON text frames. */
export const jsonCodec: Codec = {
  name: 'json',
  encode: (frame) => JSON.stringify(frame),
  body: (value) => JSON.stringify(value),
  sequenced: (body, seq, ack) => {
    const text = body as string;
    return ack === undefined
      ? `{"seq":${seq},${text.slice(1)}`
      : `{"seq":${seq},"ack":${ack},${text.slice(1)}`;
  },
  decodeClient: (data) => {
    const quick = typeof data === 'string' ? quickClientFrame(data) : undefined;
    return quick ? { ok: true, frame: quick } : parseJson(clientFrameSchema, data);
  },
  decodeServer: (data) => parseJson(serverFrameSchema, data),
};

/** JSON helpers kept for the handshake and for callers that only speak JSON. */
export function encodeFrame(frame: ClientFrame | ServerFrame): string {
  return JSON.stringify(frame);
}

export function decodeClientFrame(text: string): Decoded<ClientFrame> {
  return jsonCodec.decodeClient(text);
}

export function decodeServerFrame(text: string): Decoded<ServerFrame> {
  return jsonCodec.decodeServer(text);
}
