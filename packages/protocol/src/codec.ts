import type { z } from 'zod/mini';
import type { ErrorCode } from './errors.js';
import { clientFrameSchema, serverFrameSchema, type ClientFrame, type ServerFrame } from './frames.js';

export type Decoded<F> =
  { ok: true; frame: F } | { ok: false; code: ErrorCode; message: string; seq?: number };

/** JSON codec. A binary codec can replace it behind the same types. */
export function encodeFrame(frame: ClientFrame | ServerFrame): string {
  return JSON.stringify(frame);
}

function decode<F>(schema: z.ZodMiniType<F>, text: string): Decoded<F> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, code: 'FRAME_INVALID_JSON', message: 'frame is not valid JSON' };
  }
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

export function decodeClientFrame(text: string): Decoded<ClientFrame> {
  return decode(clientFrameSchema, text);
}

export function decodeServerFrame(text: string): Decoded<ServerFrame> {
  return decode(serverFrameSchema, text);
}
