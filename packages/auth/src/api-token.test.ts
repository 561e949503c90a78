import { SignJWT, decodeJwt, decodeProtectedHeader } from 'jose';
import { describe, expect, it } from 'vitest';
import { createApiToken, verifyApiToken } from './api-token.js';
import { createSessionId } from './session-id.js';
import { createToken, verifyToken } from './tokens.js';

const apiKey = 'proj1';
const apiSecret = 'secret-of-project-1';
const lookup = (key: string) => (key === apiKey ? apiSecret : undefined);
const T0 = 1_700_000_000_000;
const iat = T0 / 1000;

const sign = (payload: Record<string, unknown>, secret = apiSecret) =>
  new SignJWT(payload)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .sign(new TextEncoder().encode(secret));
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const rejectsWith = (promise: Promise<unknown>, code: string, detail?: RegExp) =>
  Promise.all([
    expect(promise).rejects.toMatchObject({ name: 'TetherError', code }),
    detail ? expect(promise).rejects.toThrow(detail) : undefined,
  ]);

describe('createApiToken / verifyApiToken', () => {
  it('round-trips to the API key, with iss, ist, iat, exp (60 s by default) and jti', async () => {
    const token = await createApiToken({ apiKey, apiSecret, now: T0 });
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'HS256', typ: 'JWT' });
    expect(decodeJwt(token)).toEqual({
      iss: apiKey,
      ist: 'project',
      iat,
      exp: iat + 60,
      jti: expect.any(String),
    });
    await expect(verifyApiToken(token, lookup, { now: T0 + 59_999 })).resolves.toEqual({ apiKey });
    await expect(verifyApiToken(await createApiToken({ apiKey, apiSecret }), lookup)).resolves.toEqual({
      apiKey,
    });
  });

  it('is API_AUTH_INVALID once expired', async () => {
    const token = await createApiToken({ apiKey, apiSecret, expireInSeconds: 300, now: T0 });
    await rejectsWith(verifyApiToken(token, lookup, { now: T0 + 300_000 }), 'API_AUTH_INVALID', /expired/);
  });

  it.each([
    [
      'signed with another secret',
      () => createApiToken({ apiKey, apiSecret: 'wrong', now: T0 }),
      /signature/,
    ],
    [
      'forged and expired',
      () => createApiToken({ apiKey, apiSecret: 'wrong', expireInSeconds: 1, now: T0 - 10_000 }),
      /signature/,
    ],
    [
      'for an unknown API key',
      () => createApiToken({ apiKey: 'stranger', apiSecret, now: T0 }),
      /unknown API key/,
    ],
    ['without ist', () => sign({ iss: apiKey, iat, exp: iat + 60 }), /ist/],
    ['with another ist', () => sign({ iss: apiKey, ist: 'user', iat, exp: iat + 60 }), /ist/],
    ['without iss', () => sign({ ist: 'project', iat, exp: iat + 60 }), /iss/],
    ['without exp', () => sign({ iss: apiKey, ist: 'project', iat }), /exp/],
    [
      'living longer than 300 s',
      () => sign({ iss: apiKey, ist: 'project', iat, exp: iat + 301 }),
      /exp - iat/,
    ],
    [
      'a client token',
      () => createToken({ apiKey, apiSecret, sessionId: createSessionId({ apiKey, apiSecret }), now: T0 }),
      /ist/,
    ],
    [
      'alg none',
      async () => `${b64({ alg: 'none' })}.${b64({ iss: apiKey, ist: 'project', iat, exp: iat + 60 })}.`,
      /HS256/,
    ],
    ['garbage', async () => 'garbage', /JWT/],
  ])('refuses a token %s as API_AUTH_INVALID', async (_label, make, detail) => {
    await rejectsWith(verifyApiToken(await make(), lookup, { now: T0 }), 'API_AUTH_INVALID', detail);
  });

  it('is not accepted as a client token', async () => {
    const token = await createApiToken({ apiKey, apiSecret, now: T0 });
    await expect(verifyToken(token, lookup, { now: T0 })).rejects.toMatchObject({ code: 'TOKEN_MALFORMED' });
  });

  it.each([0, 301, 1.5])('refuses a lifetime of %s s (INVALID_ARGUMENT)', async (expireInSeconds) => {
    await rejectsWith(
      createApiToken({ apiKey, apiSecret, expireInSeconds }),
      'INVALID_ARGUMENT',
      /expireInSeconds/,
    );
  });

  it('refuses missing credentials (INVALID_ARGUMENT)', async () => {
    await rejectsWith(createApiToken({ apiKey: '', apiSecret }), 'INVALID_ARGUMENT', /apiKey/);
    await rejectsWith(createApiToken({ apiKey, apiSecret: '' }), 'INVALID_ARGUMENT', /apiSecret/);
  });
});
