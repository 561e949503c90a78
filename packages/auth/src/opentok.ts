import { createHmac, timingSafeEqual } from 'node:crypto';
import {
  LIMITS,
  TetherError,
  openTokTokenClaimsSchema,
  type ErrorCode,
  type OpenTokTokenClaims,
  type Role,
  type TokenClaims,
} from '@tether/protocol';
import { API_KEY_MAX_LENGTH, describeIssues, findSecret, type LookupSecret } from './credentials.js';
import { verifyHs256, type JwtFailureKind } from './hs256.js';

/**
 * OpenTok's formats, so an application back end on the official `opentok` npm package works
 * against Tether unchanged (README, "Porting from OpenTok").
 *
 * Session ids. The `opentok` package reads the API key out of a session id before it signs a
 * token for it (`decodeSessionId`: drop two characters, base64-decode, split on `~`, field 1),
 * and refuses a session of another key. A session created through OpenTok's REST path is
 * therefore a Tether session id wrapped the way OpenTok's are:
 *
 *   2_<base64url("1~<apiKey>~~<creation date>~<the Tether session id>")>
 *
 * It is that session's one id (clients and the API use it as it is); the Tether id inside
 * carries the settings and the signature, so nothing is stored for it either.
 */
export const OPENTOK_SESSION_PREFIX = '2_';

export function wrapOpenTokSessionId(tetherSessionId: string, apiKey: string, creationTime: number): string {
  const inner = ['1', apiKey, '', new Date(creationTime).toUTCString(), tetherSessionId].join('~');
  return OPENTOK_SESSION_PREFIX + Buffer.from(inner, 'utf8').toString('base64url');
}

/** The Tether session id inside an OpenTok-shaped one; undefined when `id` is not one. */
export function unwrapOpenTokSessionId(id: string): string | undefined {
  if (typeof id !== 'string' || !id.startsWith(OPENTOK_SESSION_PREFIX)) return undefined;
  const fields = Buffer.from(id.slice(OPENTOK_SESSION_PREFIX.length), 'base64url')
    .toString('utf8')
    .split('~');
  // 1, key, location, date, then the Tether id's own three `~` parts.
  if (fields.length !== 7 || fields[0] !== '1') return undefined;
  return fields.slice(4).join('~');
}

/** What an OpenTok token may say of its role; `publisheronly` publishes but cannot subscribe in OpenTok. */
const OPENTOK_ROLE: Record<string, Role> = {
  publisher: 'publisher',
  publisheronly: 'publisher',
  subscriber: 'subscriber',
  moderator: 'moderator',
};

/** Whether a JWT's claims are OpenTok's (`opentok` 2.x signs its client tokens as JWTs with these). */
export function isOpenTokJwtPayload(payload: Record<string, unknown>): boolean {
  return payload.scope === 'session.connect' && typeof payload.session_id === 'string';
}

const CODE_OF: Record<JwtFailureKind, ErrorCode> = {
  malformed: 'TOKEN_MALFORMED',
  signature: 'TOKEN_INVALID_SIGNATURE',
  expired: 'TOKEN_EXPIRED',
};

/** An OpenTok JWT client token (`generateToken`, the default of `opentok` 2.x): its claims as Tether's. */
export async function verifyOpenTokJwt(
  token: string,
  payload: Record<string, unknown>,
  lookupSecret: LookupSecret,
  nowMs: number,
): Promise<TokenClaims> {
  const iss = payload.iss;
  if (typeof iss !== 'string' || iss.length === 0 || iss.length > API_KEY_MAX_LENGTH)
    throw new TetherError('TOKEN_MALFORMED', 'an OpenTok token names its API key in iss');
  const claims = parseClaims(payload);
  const secret = findSecret(lookupSecret, iss);
  if (secret === undefined)
    throw new TetherError('TOKEN_UNKNOWN_PROJECT', `unknown API key ${JSON.stringify(iss)}`);
  const failure = await verifyHs256(token, secret, nowMs);
  if (failure) throw new TetherError(CODE_OF[failure.failure], failure.detail);
  return toTether(iss, claims, nowMs);
}

/** An OpenTok `T1==` client token (`generateToken(…, …, true)`): HMAC-SHA1 over its query string. */
export function verifyT1Token(token: string, lookupSecret: LookupSecret, nowMs: number): TokenClaims {
  const decoded = Buffer.from(token.slice(4), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) throw new TetherError('TOKEN_MALFORMED', 'a T1 token is "<signature part>:<data>"');
  const head = new URLSearchParams(decoded.slice(0, colon));
  const data = decoded.slice(colon + 1);
  const apiKey = head.get('partner_id') ?? '';
  const sig = head.get('sig') ?? '';
  if (apiKey.length === 0 || apiKey.length > API_KEY_MAX_LENGTH || !/^[0-9a-f]{40}$/.test(sig))
    throw new TetherError('TOKEN_MALFORMED', 'a T1 token carries partner_id and a hex HMAC-SHA1 sig');
  const secret = findSecret(lookupSecret, apiKey);
  if (secret === undefined)
    throw new TetherError('TOKEN_UNKNOWN_PROJECT', `unknown API key ${JSON.stringify(apiKey)}`);
  const expected = createHmac('sha1', secret).update(data).digest();
  if (!timingSafeEqual(expected, Buffer.from(sig, 'hex')))
    throw new TetherError(
      'TOKEN_INVALID_SIGNATURE',
      'the T1 token was not signed with this API key’s secret',
    );
  const fields = Object.fromEntries(new URLSearchParams(data));
  const claims = parseClaims(fields);
  if (claims.expire_time * 1000 <= nowMs)
    throw new TetherError(
      'TOKEN_EXPIRED',
      `the token expired at ${new Date(claims.expire_time * 1000).toISOString()}`,
    );
  return toTether(apiKey, claims, nowMs);
}

function parseClaims(raw: Record<string, unknown>): OpenTokTokenClaims {
  const parsed = openTokTokenClaimsSchema.safeParse(raw);
  if (!parsed.success)
    throw new TetherError('TOKEN_MALFORMED', `OpenTok token claims: ${describeIssues(parsed.error.issues)}`);
  const claims = parsed.data;
  if ((claims.connection_data?.length ?? 0) > LIMITS.connectionDataMaxLength)
    throw new TetherError(
      'TOKEN_MALFORMED',
      `connection_data is ${claims.connection_data?.length} characters; Tether keeps at most ${LIMITS.connectionDataMaxLength}`,
    );
  return claims;
}

function toTether(apiKey: string, claims: OpenTokTokenClaims, nowMs: number): TokenClaims {
  const iat = Math.floor(claims.create_time ?? nowMs / 1000);
  return {
    iss: apiKey,
    sid: claims.session_id,
    role: OPENTOK_ROLE[claims.role ?? 'publisher'] ?? 'publisher',
    data: claims.connection_data ?? '',
    iat,
    exp: Math.floor(claims.expire_time),
    jti: String(claims.nonce ?? ''),
  };
}
