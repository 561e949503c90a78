import { randomBytes } from 'node:crypto';
import { API_TOKEN_MAX_TTL_SECONDS, TetherError } from '@tether/protocol';
import {
  API_KEY_MAX_LENGTH,
  checkCredentials,
  checkTtl,
  findSecret,
  resolveNow,
  type LookupSecret,
  type VerifyOptions,
} from './credentials.js';
import { isJwtFailure, peekHs256, signHs256, verifyHs256 } from './hs256.js';

/**
 * API tokens authorise calls to the HTTP API: HS256 JWTs signed with the project secret,
 * `iss` = API key, `ist` = 'project', living at most 5 minutes.
 */

export interface CreateApiTokenOptions {
  apiKey: string;
  apiSecret: string;
  /** Lifetime, 1 to 300 s. Default 60 s. */
  expireInSeconds?: number;
  /** Issue time in ms since the epoch (for tests); default `Date.now()`. */
  now?: number;
}

const ISSUER_TYPE = 'project';

export async function createApiToken(options: CreateApiTokenOptions): Promise<string> {
  const { apiKey, apiSecret, expireInSeconds = 60 } = options;
  checkCredentials(apiKey, apiSecret);
  checkTtl('expireInSeconds', expireInSeconds, API_TOKEN_MAX_TTL_SECONDS);
  const iat = Math.floor(resolveNow(options.now) / 1000);
  return signHs256(
    {
      iss: apiKey,
      ist: ISSUER_TYPE,
      iat,
      exp: iat + expireInSeconds,
      jti: randomBytes(12).toString('base64url'),
    },
    apiSecret,
  );
}

/** Verifies an API token; throws TetherError('API_AUTH_INVALID', detail) for anything wrong with it. */
export async function verifyApiToken(
  token: string,
  lookupSecret: LookupSecret,
  opts: VerifyOptions = {},
): Promise<{ apiKey: string }> {
  const now = resolveNow(opts.now);
  const peeked = peekHs256(token);
  if (isJwtFailure(peeked)) throw new TetherError('API_AUTH_INVALID', peeked.detail);
  const { iss, ist, iat, exp } = peeked.payload;
  if (typeof iss !== 'string' || iss.length === 0 || iss.length > API_KEY_MAX_LENGTH)
    throw new TetherError('API_AUTH_INVALID', 'iss must be the API key');
  if (ist !== ISSUER_TYPE) throw new TetherError('API_AUTH_INVALID', `ist must be "${ISSUER_TYPE}"`);
  if (!Number.isInteger(iat) || !Number.isInteger(exp))
    throw new TetherError('API_AUTH_INVALID', 'iat and exp must be whole numbers of seconds');
  const lifetime = (exp as number) - (iat as number);
  if (lifetime < 1 || lifetime > API_TOKEN_MAX_TTL_SECONDS)
    throw new TetherError(
      'API_AUTH_INVALID',
      `exp - iat is ${lifetime} s; it must be from 1 to ${API_TOKEN_MAX_TTL_SECONDS} s`,
    );
  const secret = findSecret(lookupSecret, iss);
  if (secret === undefined)
    throw new TetherError('API_AUTH_INVALID', `unknown API key ${JSON.stringify(iss)}`);
  const failure = await verifyHs256(token, secret, now);
  if (failure) throw new TetherError('API_AUTH_INVALID', failure.detail);
  return { apiKey: iss };
}
