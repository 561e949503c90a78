import {
  CALLBACK_HEADERS,
  CALLBACK_MAX_BYTES,
  CALLBACK_TOLERANCE_SECONDS,
  TetherError,
  callbackPayloadSchema,
  type CallbackPayload,
} from '@tether/protocol';
import { callbackSignatureMatches, describeIssues } from '@tether/auth';

/** Request headers as a framework gives them: a Fetch `Headers`, or Node's `IncomingHttpHeaders`-like object. */
export type CallbackHeaders =
  { get(name: string): string | null } | Readonly<Record<string, string | readonly string[] | undefined>>;

export interface VerifyCallbackOptions {
  /** The raw request body, exactly as received (a re-serialised JSON object will not verify). */
  body: string | Uint8Array;
  headers: CallbackHeaders;
  /** The secret of the project the callback URL is configured for. */
  secret: string;
  /** How far `tether-timestamp` may be from now. Default 300 s. */
  toleranceSeconds?: number;
  /** Now, in ms since the epoch (tests). Default `Date.now()`. */
  now?: number;
}

/**
 * Checks a callback request from a Tether server and returns its payload, parsed and
 * schema-validated. Throws a TetherError: CALLBACK_SIGNATURE_INVALID (a header is missing or
 * no signature matches), CALLBACK_TIMESTAMP_STALE (outside the tolerance: a replay, or a clock
 * that is off), CALLBACK_BODY_INVALID (signed, but not a payload this SDK knows). Answer 2xx to
 * a callback that verifies (also a duplicate: `id` is the same on every retry), 4xx to one that
 * does not (the server does not retry it).
 */
export function verifyCallback(options: VerifyCallbackOptions): CallbackPayload {
  const { body, headers, secret, toleranceSeconds = CALLBACK_TOLERANCE_SECONDS } = options;
  if (typeof secret !== 'string' || secret.length === 0)
    throw new TetherError('INVALID_ARGUMENT', 'secret must be the non-empty secret of the project');
  if (typeof body !== 'string' && !(body instanceof Uint8Array))
    throw new TetherError('INVALID_ARGUMENT', 'body must be the raw request body, a string or bytes');
  if (!Number.isFinite(toleranceSeconds) || toleranceSeconds < 0)
    throw new TetherError('INVALID_ARGUMENT', 'toleranceSeconds must be a number ≥ 0');
  const now = options.now ?? Date.now();
  if (!Number.isFinite(now)) throw new TetherError('INVALID_ARGUMENT', 'now must be ms since the epoch');

  const id = header(headers, CALLBACK_HEADERS.id);
  const stamp = header(headers, CALLBACK_HEADERS.timestamp);
  const signature = header(headers, CALLBACK_HEADERS.signature);
  const missing = [
    id === undefined && CALLBACK_HEADERS.id,
    stamp === undefined && CALLBACK_HEADERS.timestamp,
    signature === undefined && CALLBACK_HEADERS.signature,
  ].filter(Boolean);
  if (id === undefined || stamp === undefined || signature === undefined)
    throw new TetherError('CALLBACK_SIGNATURE_INVALID', `missing header ${missing.join(', ')}`);
  if (!/^\d{1,15}$/.test(stamp))
    throw new TetherError('CALLBACK_SIGNATURE_INVALID', `${CALLBACK_HEADERS.timestamp} is not whole seconds`);
  const timestamp = Number(stamp);
  // The signature first: a forged callback is reported as forged, whatever its timestamp.
  if (!callbackSignatureMatches(signature, secret, id, timestamp, body))
    throw new TetherError('CALLBACK_SIGNATURE_INVALID', 'no signature matches');
  const skew = Math.abs(now / 1000 - timestamp);
  if (skew > toleranceSeconds)
    throw new TetherError(
      'CALLBACK_TIMESTAMP_STALE',
      `signed ${Math.round(skew)} s from now, tolerance ${toleranceSeconds} s`,
    );

  const size = typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
  if (size > CALLBACK_MAX_BYTES)
    throw new TetherError('CALLBACK_BODY_INVALID', `${size} bytes, at most ${CALLBACK_MAX_BYTES}`);
  let json: unknown;
  try {
    json = JSON.parse(typeof body === 'string' ? body : Buffer.from(body).toString('utf8'));
  } catch (err) {
    throw new TetherError('CALLBACK_BODY_INVALID', `not JSON (${(err as Error).message})`);
  }
  const parsed = callbackPayloadSchema().safeParse(json);
  if (!parsed.success) throw new TetherError('CALLBACK_BODY_INVALID', describeIssues(parsed.error.issues));
  if (parsed.data.id !== id)
    throw new TetherError('CALLBACK_BODY_INVALID', `body id ${parsed.data.id} is not the header's ${id}`);
  return parsed.data;
}

function header(headers: CallbackHeaders, name: string): string | undefined {
  if (typeof (headers as { get?: unknown }).get === 'function') {
    const value = (headers as { get(name: string): string | null }).get(name);
    return value === null ? undefined : value;
  }
  const record = headers as Readonly<Record<string, string | readonly string[] | undefined>>;
  let value = record[name];
  if (value === undefined)
    for (const key of Object.keys(record))
      if (key.toLowerCase() === name) {
        value = record[key];
        break;
      }
  // A header sent twice: only one signature set can be the server's.
  if (Array.isArray(value)) return value.length === 1 ? (value[0] as string) : undefined;
  return value as string | undefined;
}
