import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import {
  TetherError,
  archiveModeSchema,
  mediaModeSchema,
  sessionIdSchema,
  type ArchiveMode,
  type MediaMode,
  type SessionInfo,
} from '@tether/protocol';
import {
  API_KEY_MAX_LENGTH,
  checkCredentials,
  findSecret,
  resolveNow,
  type LookupSecret,
} from './credentials.js';
import { unwrapOpenTokSessionId } from './opentok.js';

/**
 * Tether keeps no session database: a session id carries its own settings, signed with the
 * project secret, so any server holding the secret trusts it, also after a restart.
 *
 *   1~<base64url(JSON {k, m, a, t, n})>~<first 22 chars of base64url(HMAC-SHA256(secret, payload part))>
 *
 * k = API key, m = 'r' routed | 'l' relayed, a = 'm' manual | 'a' always, t = creation ms,
 * n = 9 random bytes (base64url) so two sessions created in the same ms differ.
 */

const VERSION = '1';
const SEPARATOR = '~';
/** 22 base64url characters = 132 bits of the HMAC. */
const SIGNATURE_LENGTH = 22;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

const MEDIA_CODE = { routed: 'r', relayed: 'l' } as const satisfies Record<MediaMode, string>;
const ARCHIVE_CODE = { manual: 'm', always: 'a' } as const satisfies Record<ArchiveMode, string>;

interface Payload {
  k: string;
  m: (typeof MEDIA_CODE)[MediaMode];
  a: (typeof ARCHIVE_CODE)[ArchiveMode];
  t: number;
  n: string;
  /** 1: connection events suppressed (absent in ids made before the option, and when off). */
  s?: 1;
}

export interface CreateSessionIdOptions {
  apiKey: string;
  apiSecret: string;
  /** Default `routed`. */
  mediaMode?: MediaMode;
  /** Default `manual`. */
  archiveMode?: ArchiveMode;
  /** Subscribers are not told of each other's presence (PROTOCOL.md, Large sessions). Default false. */
  connectionEventsSuppressed?: boolean;
  /** Creation time in ms since the epoch (for tests); default `Date.now()`. */
  now?: number;
}

export type ParsedSessionId = SessionInfo & { apiKey: string };

export function createSessionId(options: CreateSessionIdOptions): string {
  const { apiKey, apiSecret, mediaMode = 'routed', archiveMode = 'manual' } = options;
  checkCredentials(apiKey, apiSecret);
  if (!mediaModeSchema.safeParse(mediaMode).success)
    throw new TetherError(
      'INVALID_ARGUMENT',
      `mediaMode must be routed or relayed, got ${JSON.stringify(mediaMode)}`,
    );
  if (!archiveModeSchema.safeParse(archiveMode).success)
    throw new TetherError(
      'INVALID_ARGUMENT',
      `archiveMode must be manual or always, got ${JSON.stringify(archiveMode)}`,
    );
  const payload: Payload = {
    k: apiKey,
    m: MEDIA_CODE[mediaMode],
    a: ARCHIVE_CODE[archiveMode],
    t: Math.floor(resolveNow(options.now)),
    n: randomBytes(9).toString('base64url'),
    ...(options.connectionEventsSuppressed ? { s: 1 as const } : {}),
  };
  const body = Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
  const sessionId = [VERSION, body, sign(apiSecret, body)].join(SEPARATOR);
  // Only an API key full of multi-byte characters can push the id past the protocol's bound.
  if (!sessionIdSchema.safeParse(sessionId).success)
    throw new TetherError(
      'INVALID_ARGUMENT',
      'the session id would exceed 512 characters; use a shorter (ASCII) API key',
    );
  return sessionId;
}

/**
 * Verifies a session id against its project's secret and returns its settings.
 * Throws TetherError('SESSION_INVALID') when it is malformed, names an unknown API key,
 * or its signature does not verify.
 */
export function parseSessionId(sessionId: string, lookupSecret: LookupSecret): ParsedSessionId {
  const split = splitSessionId(unwrapOpenTokSessionId(sessionId) ?? sessionId);
  if (typeof split === 'string') throw new TetherError('SESSION_INVALID', split);
  const { body, signature, payload } = split;
  const secret = findSecret(lookupSecret, payload.k);
  if (secret === undefined)
    throw new TetherError(
      'SESSION_INVALID',
      `the session id names an unknown API key ${JSON.stringify(payload.k)}`,
    );
  const expected = Buffer.from(sign(secret, body), 'utf8');
  const actual = Buffer.from(signature, 'utf8');
  if (actual.length !== expected.length || !timingSafeEqual(actual, expected))
    throw new TetherError(
      'SESSION_INVALID',
      'the session id signature does not verify (tampered, or signed with another secret)',
    );
  return {
    sessionId,
    apiKey: payload.k,
    mediaMode: payload.m === 'r' ? 'routed' : 'relayed',
    archiveMode: payload.a === 'm' ? 'manual' : 'always',
    creationTime: payload.t,
    ...(payload.s === 1 ? { connectionEventsSuppressed: true } : {}),
  };
}

/** The API key a session id names, without verifying it; `undefined` if it is not a Tether session id. */
export function peekSessionApiKey(sessionId: string): string | undefined {
  const split = splitSessionId(unwrapOpenTokSessionId(sessionId) ?? sessionId);
  return typeof split === 'string' ? undefined : split.payload.k;
}

function sign(secret: string, body: string): string {
  return createHmac('sha256', secret).update(body).digest('base64url').slice(0, SIGNATURE_LENGTH);
}

/** The parts of a structurally valid session id, or what is wrong with it. */
function splitSessionId(sessionId: unknown): { body: string; signature: string; payload: Payload } | string {
  if (!sessionIdSchema.safeParse(sessionId).success)
    return 'a session id is 1-512 characters of A-Z a-z 0-9 _ - . ~';
  const parts = (sessionId as string).split(SEPARATOR);
  if (parts.length !== 3)
    return `a session id has 3 parts separated by ${SEPARATOR}, this one has ${parts.length}`;
  const [version, body, signature] = parts as [string, string, string];
  if (version !== VERSION) return `unsupported session id version ${JSON.stringify(version)}`;
  if (!BASE64URL.test(body)) return 'the session id payload is not base64url';
  if (signature.length !== SIGNATURE_LENGTH || !BASE64URL.test(signature))
    return 'the session id signature is malformed';
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  } catch {
    return 'the session id payload is not JSON';
  }
  return isPayload(json)
    ? { body, signature, payload: json }
    : 'the session id payload lacks valid k, m, a, t, n fields';
}

function isPayload(value: unknown): value is Payload {
  if (typeof value !== 'object' || value === null) return false;
  const p = value as Record<string, unknown>;
  return (
    typeof p.k === 'string' &&
    p.k.length > 0 &&
    p.k.length <= API_KEY_MAX_LENGTH &&
    (p.m === 'r' || p.m === 'l') &&
    (p.a === 'm' || p.a === 'a') &&
    typeof p.t === 'number' &&
    Number.isSafeInteger(p.t) &&
    p.t >= 0 &&
    typeof p.n === 'string' &&
    (p.s === undefined || p.s === 1)
  );
}
