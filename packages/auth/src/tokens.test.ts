import { TetherError, tokenClaimsSchema } from '@tether/protocol';
import { SignJWT, decodeJwt, decodeProtectedHeader } from 'jose';
import { describe, expect, it } from 'vitest';
import * as z from 'zod/mini';
import { createSessionId } from './session-id.js';
import { createToken, verifyToken } from './tokens.js';

const apiKey = 'proj1';
const apiSecret = 'secret-of-project-1-long-enough';
const lookup = (key: string) => (key === apiKey ? apiSecret : undefined);
const sessionId = createSessionId({ apiKey, apiSecret });
const T0 = 1_700_000_000_000;
const DAY = 24 * 60 * 60;

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

function claims(overrides: Record<string, unknown> = {}) {
  const iat = T0 / 1000;
  return {
    iss: apiKey,
    sid: sessionId,
    role: 'publisher',
    data: '',
    iat,
    exp: iat + 60,
    jti: 'j1',
    ...overrides,
  };
}

function sign(payload: Record<string, unknown>, secret = apiSecret, alg = 'HS256') {
  return new SignJWT(payload).setProtectedHeader({ alg, typ: 'JWT' }).sign(new TextEncoder().encode(secret));
}

const rejectsWith = (promise: Promise<unknown>, code: string) =>
  expect(promise).rejects.toMatchObject({ name: 'TetherError', code });

describe('createToken / verifyToken', () => {
  it('round-trips the claims of the protocol schema, and nothing else', async () => {
    const token = await createToken({
      apiKey,
      apiSecret,
      sessionId,
      role: 'moderator',
      data: 'name=Ada',
      expireInSeconds: 3600,
      now: T0,
    });
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'HS256', typ: 'JWT' });
    const raw = decodeJwt(token);
    expect(Object.keys(raw).sort()).toEqual(['data', 'exp', 'iat', 'iss', 'jti', 'role', 'sid']);
    expect(z.strictObject(tokenClaimsSchema.shape).safeParse(raw).success).toBe(true);
    const verified = await verifyToken(token, lookup, { now: T0 + 1000 });
    expect(verified).toEqual({
      iss: apiKey,
      sid: sessionId,
      role: 'moderator',
      data: 'name=Ada',
      iat: T0 / 1000,
      exp: T0 / 1000 + 3600,
      jti: raw.jti,
    });
  });

  it('defaults to a publisher with empty data for 24 hours, and a fresh jti each time', async () => {
    const a = await createToken({ apiKey, apiSecret, sessionId, now: T0 });
    const b = await createToken({ apiKey, apiSecret, sessionId, now: T0 });
    const claimsA = await verifyToken(a, lookup, { now: T0 });
    expect(claimsA).toMatchObject({ role: 'publisher', data: '', exp: T0 / 1000 + DAY });
    expect(claimsA.jti).not.toBe((await verifyToken(b, lookup, { now: T0 })).jti);
  });

  it('verifies against the real clock when no time is injected', async () => {
    const token = await createToken({ apiKey, apiSecret, sessionId });
    await expect(verifyToken(token, lookup)).resolves.toMatchObject({ sid: sessionId });
  });

  it('is valid until the last second and TOKEN_EXPIRED from exp on', async () => {
    const token = await createToken({ apiKey, apiSecret, sessionId, expireInSeconds: 10, now: T0 });
    await expect(verifyToken(token, lookup, { now: T0 + 9_999 })).resolves.toBeDefined();
    await rejectsWith(verifyToken(token, lookup, { now: T0 + 10_000 }), 'TOKEN_EXPIRED');
  });

  it('reports a token signed with another secret as TOKEN_INVALID_SIGNATURE', async () => {
    const forged = await createToken({ apiKey, apiSecret: 'not-the-secret', sessionId, now: T0 });
    await rejectsWith(verifyToken(forged, lookup, { now: T0 }), 'TOKEN_INVALID_SIGNATURE');
  });

  it('reports edited claims under the original signature as TOKEN_INVALID_SIGNATURE', async () => {
    const token = await createToken({ apiKey, apiSecret, sessionId, role: 'subscriber', now: T0 });
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const edited = { ...decodeJwt(token), role: 'moderator' };
    expect(payload).not.toBe(b64(edited));
    await rejectsWith(
      verifyToken(`${header}.${b64(edited)}.${signature}`, lookup, { now: T0 }),
      'TOKEN_INVALID_SIGNATURE',
    );
  });

  it('checks the signature before the expiry: a forged expired token is forged', async () => {
    const forged = await createToken({
      apiKey,
      apiSecret: 'not-the-secret',
      sessionId,
      expireInSeconds: 1,
      now: T0,
    });
    await rejectsWith(verifyToken(forged, lookup, { now: T0 + DAY * 1000 }), 'TOKEN_INVALID_SIGNATURE');
  });

  it('reports an API key the lookup does not know as TOKEN_UNKNOWN_PROJECT', async () => {
    const token = await createToken({ apiKey: 'other', apiSecret, sessionId, now: T0 });
    await rejectsWith(verifyToken(token, lookup, { now: T0 }), 'TOKEN_UNKNOWN_PROJECT');
    await rejectsWith(
      verifyToken(token, () => '', { now: T0 }),
      'TOKEN_UNKNOWN_PROJECT',
    );
  });

  it.each([
    ['an empty string', ''],
    ['garbage', 'not a token'],
    ['three dots of garbage', 'a.b.c'],
    ['a non-string', 42 as unknown as string],
    ['an oversized string', 'a'.repeat(20_000)],
    ['a JSON payload that is not an object', `${b64({ alg: 'HS256' })}.${b64([1, 2])}.sig`],
  ])('reports %s as TOKEN_MALFORMED', async (_label, token) => {
    await rejectsWith(verifyToken(token, lookup, { now: T0 }), 'TOKEN_MALFORMED');
  });

  it('refuses alg none as TOKEN_MALFORMED', async () => {
    const unsigned = `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims())}.`;
    await rejectsWith(verifyToken(unsigned, lookup, { now: T0 }), 'TOKEN_MALFORMED');
  });

  it('refuses HS512 even with the right secret as TOKEN_MALFORMED', async () => {
    const token = await sign(claims(), apiSecret, 'HS512');
    await rejectsWith(verifyToken(token, lookup, { now: T0 }), 'TOKEN_MALFORMED');
  });

  it.each([
    ['without sid', { sid: undefined }],
    ['with an unknown role', { role: 'admin' }],
    ['with too much data', { data: 'x'.repeat(1001) }],
    ['with a fractional exp', { exp: T0 / 1000 + 1.5 }],
    ['living longer than 30 days', { exp: T0 / 1000 + 30 * DAY + 1 }],
    ['expiring before it was issued', { exp: T0 / 1000 - 1 }],
  ])('refuses correctly signed claims %s as TOKEN_MALFORMED', async (_label, overrides) => {
    const token = await sign(claims(overrides));
    await rejectsWith(verifyToken(token, lookup, { now: T0 }), 'TOKEN_MALFORMED');
  });

  it('accepts a correctly signed token living exactly 30 days', async () => {
    const token = await sign(claims({ exp: T0 / 1000 + 30 * DAY }));
    await expect(verifyToken(token, lookup, { now: T0 })).resolves.toMatchObject({ iss: apiKey });
  });
});

describe('createToken argument checks', () => {
  const base = { apiKey, apiSecret, sessionId, now: T0 };

  it.each([
    ['data over 1000 characters', { data: 'x'.repeat(1001) }, /data/],
    ['a zero lifetime', { expireInSeconds: 0 }, /expireInSeconds/],
    ['a lifetime over 30 days', { expireInSeconds: 30 * DAY + 1 }, /expireInSeconds/],
    ['a fractional lifetime', { expireInSeconds: 1.5 }, /expireInSeconds/],
    ['an unknown role', { role: 'admin' }, /role/],
    ['a missing session id', { sessionId: undefined }, /sessionId/],
    ['an empty session id', { sessionId: '' }, /sessionId/],
    ['a session id with spaces', { sessionId: 'a b' }, /sessionId/],
    ['an empty API key', { apiKey: '' }, /apiKey/],
    ['an empty secret', { apiSecret: '' }, /apiSecret/],
    ['a negative now', { now: -1 }, /now/],
  ])('rejects %s with INVALID_ARGUMENT saying what is wrong', async (_label, overrides, detail) => {
    const call = createToken({ ...base, ...(overrides as object) } as Parameters<typeof createToken>[0]);
    await rejectsWith(call, 'INVALID_ARGUMENT');
    await expect(call).rejects.toThrow(detail);
    await expect(call).rejects.toBeInstanceOf(TetherError);
  });

  it('accepts the bounds: 1000 characters of data, 1 s and 30 days', async () => {
    await expect(createToken({ ...base, data: 'x'.repeat(1000) })).resolves.toBeTypeOf('string');
    await expect(createToken({ ...base, expireInSeconds: 1 })).resolves.toBeTypeOf('string');
    await expect(createToken({ ...base, expireInSeconds: 30 * DAY })).resolves.toBeTypeOf('string');
  });
});
