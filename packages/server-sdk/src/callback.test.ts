import { describe, expect, it } from 'vitest';
import { signCallback } from '@tether/auth';
import { verifyCallback } from './index.js';

const SECRET = 'callback-secret-0123456789';
const NOW = 1_800_000_000_000;
const payload = {
  id: 'a1b2c3',
  event: 'connectionDestroyed',
  apiKey: 'key',
  sessionId: 'sess',
  timestamp: NOW - 5,
  connection: { id: 'conn-1', data: 'alice', createdAt: NOW - 60_000 },
  reason: 'networkDisconnected',
};
const body = JSON.stringify(payload);

function signed(overrides: { body?: string; id?: string; timestamp?: number; secret?: string } = {}) {
  const id = overrides.id ?? payload.id;
  const timestamp = overrides.timestamp ?? Math.floor(NOW / 1000);
  return {
    'tether-callback-id': id,
    'tether-timestamp': String(timestamp),
    'tether-signature': signCallback(overrides.secret ?? SECRET, id, timestamp, overrides.body ?? body),
  };
}

const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return 'no error';
};

describe('verifyCallback', () => {
  it('returns the parsed payload of a callback signed with the secret, from Node headers or Fetch Headers', () => {
    expect(verifyCallback({ body, headers: signed(), secret: SECRET, now: NOW })).toEqual(payload);
    const headers = new Headers(signed());
    expect(
      verifyCallback({ body: new TextEncoder().encode(body), headers, secret: SECRET, now: NOW }),
    ).toEqual(payload);
    // Header names are case-insensitive in a plain object too.
    const upper = Object.fromEntries(Object.entries(signed()).map(([k, v]) => [k.toUpperCase(), v]));
    expect(verifyCallback({ body, headers: upper, secret: SECRET, now: NOW }).id).toBe(payload.id);
  });

  it('accepts any of several signatures (a secret being rotated)', () => {
    const h = signed();
    const other = signed({ secret: 'another-secret-0123456789' })['tether-signature'];
    h['tether-signature'] = `${other} v0,abc ${h['tether-signature']}`;
    expect(verifyCallback({ body, headers: h, secret: SECRET, now: NOW }).id).toBe(payload.id);
  });

  it('refuses a changed body, another secret, a swapped id or timestamp, a missing header: CALLBACK_SIGNATURE_INVALID', () => {
    const v = (b: string, headers: Record<string, string>) => () =>
      verifyCallback({ body: b, headers, secret: SECRET, now: NOW });
    expect(code(v(body.replace('alice', 'mallory'), signed()))).toBe('CALLBACK_SIGNATURE_INVALID');
    expect(code(v(body, signed({ secret: 'not-the-secret-0123456789' })))).toBe('CALLBACK_SIGNATURE_INVALID');
    expect(code(v(body, { ...signed(), 'tether-callback-id': 'other' }))).toBe('CALLBACK_SIGNATURE_INVALID');
    expect(code(v(body, { ...signed(), 'tether-timestamp': String(Math.floor(NOW / 1000) + 1) }))).toBe(
      'CALLBACK_SIGNATURE_INVALID',
    );
    const { 'tether-signature': _, ...unsigned } = signed();
    expect(code(v(body, unsigned))).toBe('CALLBACK_SIGNATURE_INVALID');
    expect(code(v(body, { ...signed(), 'tether-timestamp': '12.5' }))).toBe('CALLBACK_SIGNATURE_INVALID');
  });

  it('refuses a callback signed outside the tolerance, either way: CALLBACK_TIMESTAMP_STALE', () => {
    const at = (seconds: number) =>
      code(() =>
        verifyCallback({
          body,
          headers: signed({ timestamp: Math.floor(NOW / 1000) + seconds }),
          secret: SECRET,
          now: NOW,
        }),
      );
    expect(at(-301)).toBe('CALLBACK_TIMESTAMP_STALE');
    expect(at(301)).toBe('CALLBACK_TIMESTAMP_STALE');
    expect(at(-299)).toBe('no error');
    expect(
      code(() =>
        verifyCallback({
          body,
          headers: signed({ timestamp: Math.floor(NOW / 1000) - 20 }),
          secret: SECRET,
          now: NOW,
          toleranceSeconds: 10,
        }),
      ),
    ).toBe('CALLBACK_TIMESTAMP_STALE');
  });

  it('refuses a signed body that is not a callback payload, or names another id: CALLBACK_BODY_INVALID', () => {
    const bad = (b: string, id = payload.id) =>
      code(() => verifyCallback({ body: b, headers: signed({ body: b, id }), secret: SECRET, now: NOW }));
    expect(bad('not json')).toBe('CALLBACK_BODY_INVALID');
    expect(bad(JSON.stringify({ ...payload, event: 'somethingElse' }))).toBe('CALLBACK_BODY_INVALID');
    expect(bad(JSON.stringify({ ...payload, reason: 'free text' }))).toBe('CALLBACK_BODY_INVALID');
    expect(bad(body, 'another-id')).toBe('CALLBACK_BODY_INVALID');
  });

  it('reports a missing secret as a programming error', () => {
    expect(code(() => verifyCallback({ body, headers: signed(), secret: '', now: NOW }))).toBe(
      'INVALID_ARGUMENT',
    );
  });
});
