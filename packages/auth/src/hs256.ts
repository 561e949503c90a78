import { decodeJwt, decodeProtectedHeader, jwtVerify, SignJWT, type JWTPayload } from 'jose';

/**
 * The HS256 JWT mechanics shared by client tokens and API tokens. Callers map each
 * failure kind to their own error code, so this file knows nothing of Tether codes.
 */

export type JwtFailureKind = 'malformed' | 'signature' | 'expired';
export interface JwtFailure {
  readonly failure: JwtFailureKind;
  readonly detail: string;
}

/** A JWT longer than this is refused before decoding: no legitimate Tether token comes close. */
const MAX_JWT_LENGTH = 16 * 1024;
const encoder = new TextEncoder();

export function secretKey(secret: string): Uint8Array {
  return encoder.encode(secret);
}

export function signHs256(claims: JWTPayload, secret: string): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(secretKey(secret));
}

/** Decodes without verifying, so the issuer can be read to find the secret. */
export function peekHs256(token: unknown): { payload: JWTPayload } | JwtFailure {
  if (typeof token !== 'string' || token.length === 0)
    return malformed('the token is not a non-empty string');
  if (token.length > MAX_JWT_LENGTH)
    return malformed(`the token is longer than ${MAX_JWT_LENGTH} characters`);
  let alg: unknown;
  let payload: JWTPayload;
  try {
    alg = decodeProtectedHeader(token).alg;
    payload = decodeJwt(token);
  } catch (err) {
    return malformed(`not a decodable JWT (${(err as Error).message})`);
  }
  if (alg !== 'HS256') return malformed(`the algorithm is ${JSON.stringify(alg)}, only HS256 is accepted`);
  return { payload };
}

/** Checks the signature first and the expiry second, so a forged expired token is reported as forged. */
export async function verifyHs256(
  token: string,
  secret: string,
  nowMs: number,
): Promise<JwtFailure | undefined> {
  try {
    await jwtVerify(token, secretKey(secret), { algorithms: ['HS256'], currentDate: new Date(nowMs) });
    return undefined;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    const message = (err as Error).message;
    if (code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED')
      return { failure: 'signature', detail: 'the signature does not verify' };
    if (code === 'ERR_JWT_EXPIRED') return { failure: 'expired', detail: `expired (${message})` };
    return malformed(message);
  }
}

export function isJwtFailure(value: object): value is JwtFailure {
  return 'failure' in value;
}

function malformed(detail: string): JwtFailure {
  return { failure: 'malformed', detail };
}
