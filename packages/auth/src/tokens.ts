import { randomBytes } from 'node:crypto';
import {
  LIMITS,
  TetherError,
  roleSchema,
  sessionIdSchema,
  tokenClaimsSchema,
  type ErrorCode,
  type Role,
  type TokenClaims,
} from '@tether/protocol';
import {
  checkCredentials,
  checkTtl,
  describeIssues,
  findSecret,
  resolveNow,
  type LookupSecret,
  type VerifyOptions,
} from './credentials.js';
import { isOpenTokJwtPayload, verifyOpenTokJwt, verifyT1Token } from './opentok.js';
import { isJwtFailure, peekHs256, signHs256, verifyHs256, type JwtFailureKind } from './hs256.js';

export interface CreateTokenOptions {
  apiKey: string;
  apiSecret: string;
  sessionId: string;
  /** Default `publisher`. */
  role?: Role;
  /** Connection data other clients see; at most 1000 characters. Default `''`. */
  data?: string;
  /** Lifetime, 1 s to 30 days. Default 24 hours. */
  expireInSeconds?: number;
  /** Issue time in ms since the epoch (for tests); default `Date.now()`. */
  now?: number;
}

/** Signs a client token: an HS256 JWT whose claims are exactly the protocol's `tokenClaimsSchema`. */
export async function createToken(options: CreateTokenOptions): Promise<string> {
  const {
    apiKey,
    apiSecret,
    sessionId,
    role = 'publisher',
    data = '',
    expireInSeconds = LIMITS.tokenDefaultTtlSeconds,
  } = options;
  checkCredentials(apiKey, apiSecret);
  if (!sessionIdSchema.safeParse(sessionId).success)
    throw new TetherError(
      'INVALID_ARGUMENT',
      'sessionId is required: 1-512 characters of A-Z a-z 0-9 _ - . ~ (create one with createSessionId)',
    );
  if (!roleSchema.safeParse(role).success)
    throw new TetherError(
      'INVALID_ARGUMENT',
      `role must be one of ${roleSchema.options.join(', ')}, got ${JSON.stringify(role)}`,
    );
  if (typeof data !== 'string' || data.length > LIMITS.connectionDataMaxLength)
    throw new TetherError(
      'INVALID_ARGUMENT',
      `data must be a string of at most ${LIMITS.connectionDataMaxLength} characters`,
    );
  checkTtl('expireInSeconds', expireInSeconds, LIMITS.tokenMaxTtlSeconds);
  const iat = Math.floor(resolveNow(options.now) / 1000);
  const claims: TokenClaims = {
    iss: apiKey,
    sid: sessionId,
    role,
    data,
    iat,
    exp: iat + expireInSeconds,
    jti: randomBytes(12).toString('base64url'),
  };
  return signHs256(claims, apiSecret);
}

const CODE_OF: Record<JwtFailureKind, ErrorCode> = {
  malformed: 'TOKEN_MALFORMED',
  signature: 'TOKEN_INVALID_SIGNATURE',
  expired: 'TOKEN_EXPIRED',
};

/**
 * Verifies a client token and returns its claims. Throws TetherError with TOKEN_MALFORMED,
 * TOKEN_UNKNOWN_PROJECT, TOKEN_INVALID_SIGNATURE or TOKEN_EXPIRED. Whether the token is for
 * the session being joined is the caller's check.
 */
export async function verifyToken(
  token: string,
  lookupSecret: LookupSecret,
  opts: VerifyOptions = {},
): Promise<TokenClaims> {
  const now = resolveNow(opts.now);
  // OpenTok's tokens, as its server SDK makes them, are accepted as they are (opentok.ts).
  if (typeof token === 'string' && token.startsWith('T1==')) return verifyT1Token(token, lookupSecret, now);
  const peeked = peekHs256(token);
  if (isJwtFailure(peeked)) throw new TetherError('TOKEN_MALFORMED', peeked.detail);
  if (isOpenTokJwtPayload(peeked.payload)) return verifyOpenTokJwt(token, peeked.payload, lookupSecret, now);
  const parsed = tokenClaimsSchema.safeParse(peeked.payload);
  if (!parsed.success)
    throw new TetherError(
      'TOKEN_MALFORMED',
      `the claims do not match: ${describeIssues(parsed.error.issues)}`,
    );
  const claims = parsed.data;
  const lifetime = claims.exp - claims.iat;
  if (lifetime < 1 || lifetime > LIMITS.tokenMaxTtlSeconds)
    throw new TetherError(
      'TOKEN_MALFORMED',
      `exp - iat is ${lifetime} s; it must be from 1 s to ${LIMITS.tokenMaxTtlSeconds} s`,
    );
  const secret = findSecret(lookupSecret, claims.iss);
  if (secret === undefined)
    throw new TetherError('TOKEN_UNKNOWN_PROJECT', `unknown API key ${JSON.stringify(claims.iss)}`);
  const failure = await verifyHs256(token, secret, now);
  if (failure) throw new TetherError(CODE_OF[failure.failure], failure.detail);
  return claims;
}
