import { createHmac } from 'node:crypto';
import { sessionIdSchema } from '@tether/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createSessionId, parseSessionId, peekSessionApiKey } from './session-id.js';

const apiKey = 'proj1';
const apiSecret = 'secret-of-project-1';
const lookup = (key: string) => (key === apiKey ? apiSecret : undefined);
const T0 = 1_700_000_000_123;
const BASE64URL_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

const expectInvalid = (sessionId: string, detail?: RegExp) => {
  let caught: unknown;
  try {
    parseSessionId(sessionId, lookup);
  } catch (err) {
    caught = err;
  }
  expect(caught).toMatchObject({ name: 'TetherError', code: 'SESSION_INVALID' });
  if (detail) expect((caught as Error).message).toMatch(detail);
};

/** A session id over any payload, correctly signed: for payloads createSessionId would never make. */
function signedId(payload: unknown, secret = apiSecret): string {
  const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
  return `1~${body}~${createHmac('sha256', secret).update(body).digest('base64url').slice(0, 22)}`;
}

describe('createSessionId / parseSessionId', () => {
  it('round-trips the settings with the defaults routed and manual', () => {
    const sessionId = createSessionId({ apiKey, apiSecret, now: T0 });
    expect(parseSessionId(sessionId, lookup)).toEqual({
      sessionId,
      apiKey,
      mediaMode: 'routed',
      archiveMode: 'manual',
      creationTime: T0,
    });
  });

  it('round-trips relayed and always', () => {
    const sessionId = createSessionId({
      apiKey,
      apiSecret,
      mediaMode: 'relayed',
      archiveMode: 'always',
      now: T0,
    });
    expect(parseSessionId(sessionId, lookup)).toMatchObject({ mediaMode: 'relayed', archiveMode: 'always' });
  });

  it('round-trips connectionEventsSuppressed, and refuses any other value of its field', () => {
    const sessionId = createSessionId({ apiKey, apiSecret, connectionEventsSuppressed: true, now: T0 });
    expect(parseSessionId(sessionId, lookup)).toMatchObject({ connectionEventsSuppressed: true });
    const off = createSessionId({ apiKey, apiSecret, connectionEventsSuppressed: false, now: T0 });
    expect(parseSessionId(off, lookup)).not.toHaveProperty('connectionEventsSuppressed');
    for (const s of [0, true, '1', 2])
      expectInvalid(signedId({ k: apiKey, m: 'r', a: 'm', t: T0, n: 'abc', s }), /lacks valid/);
  });

  it('has the documented format and only characters the protocol allows', () => {
    const sessionId = createSessionId({ apiKey: 'k'.repeat(128), apiSecret });
    expect(sessionId).toMatch(/^1~[A-Za-z0-9_-]+~[A-Za-z0-9_-]{22}$/);
    expect(sessionIdSchema.safeParse(sessionId).success).toBe(true);
    const payload = JSON.parse(Buffer.from(sessionId.split('~')[1]!, 'base64url').toString());
    expect(Object.keys(payload)).toEqual(['k', 'm', 'a', 't', 'n']);
    expect(Buffer.from(payload.n, 'base64url')).toHaveLength(9);
  });

  it('makes a different id for each session, even in the same millisecond', () => {
    const ids = new Set(Array.from({ length: 100 }, () => createSessionId({ apiKey, apiSecret, now: T0 })));
    expect(ids.size).toBe(100);
  });

  it('peeks the API key without a secret, and nothing from garbage', () => {
    expect(peekSessionApiKey(createSessionId({ apiKey, apiSecret }))).toBe(apiKey);
    expect(peekSessionApiKey('garbage')).toBeUndefined();
    expect(peekSessionApiKey(42 as unknown as string)).toBeUndefined();
  });

  it('rejects every single-character change anywhere in the id', () => {
    const sessionId = createSessionId({ apiKey, apiSecret, now: T0 });
    for (let i = 0; i < sessionId.length; i++) {
      const original = sessionId[i]!;
      const replacement = BASE64URL_CHARS[(BASE64URL_CHARS.indexOf(original) + 1) % BASE64URL_CHARS.length]!;
      expectInvalid(sessionId.slice(0, i) + replacement + sessionId.slice(i + 1));
    }
  });

  it('rejects a changed signature and a truncated one', () => {
    const sessionId = createSessionId({ apiKey, apiSecret });
    const flipped = sessionId.slice(0, -1) + (sessionId.endsWith('A') ? 'B' : 'A');
    expectInvalid(flipped, /signature does not verify/);
    expectInvalid(sessionId.slice(0, -1), /signature is malformed/);
  });

  it('rejects an id signed with another secret', () => {
    expectInvalid(createSessionId({ apiKey, apiSecret: 'another-secret' }), /signature does not verify/);
  });

  it('rejects an id naming an unknown API key, saying so', () => {
    expectInvalid(createSessionId({ apiKey: 'stranger', apiSecret }), /unknown API key "stranger"/);
  });

  it.each([
    ['empty', ''],
    ['garbage', 'garbage'],
    ['empty parts', '1~~'],
    ['a fourth part', `${createSessionId({ apiKey, apiSecret })}~x`],
    ['another version', createSessionId({ apiKey, apiSecret }).replace(/^1/, '2')],
    ['too long', `1~${'A'.repeat(600)}~${'A'.repeat(22)}`],
    ['a forbidden character', '1~abc!~AAAAAAAAAAAAAAAAAAAAAA'],
    ['a payload that is not JSON', `1~${Buffer.from('{nope').toString('base64url')}~AAAAAAAAAAAAAAAAAAAAAA`],
  ])('rejects %s', (_label, sessionId) => expectInvalid(sessionId));

  it.each([
    ['an unknown media mode', { k: apiKey, m: 'x', a: 'm', t: 1, n: 'n' }],
    ['an unknown archive mode', { k: apiKey, m: 'r', a: 'x', t: 1, n: 'n' }],
    ['a negative time', { k: apiKey, m: 'r', a: 'm', t: -1, n: 'n' }],
    ['no nonce', { k: apiKey, m: 'r', a: 'm', t: 1 }],
    ['an array', [apiKey]],
  ])('rejects a correctly signed payload with %s', (_label, payload) => expectInvalid(signedId(payload)));

  it('answers any string with a session or SESSION_INVALID, never another error', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 600 }), (input) => {
        try {
          parseSessionId(input, lookup);
        } catch (err) {
          expect(err).toMatchObject({ code: 'SESSION_INVALID' });
        }
      }),
    );
  });

  it.each([
    ['an unknown media mode', { mediaMode: 'p2p' }],
    ['an unknown archive mode', { archiveMode: 'never' }],
    ['an empty API key', { apiKey: '' }],
    ['an empty secret', { apiSecret: '' }],
    ['an API key that would make the id too long', { apiKey: '\u4e2d'.repeat(128) }],
  ])('refuses to create an id with %s (INVALID_ARGUMENT)', (_label, overrides) => {
    expect(() => createSessionId({ apiKey, apiSecret, ...(overrides as object) })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });
});
