import { ERRORS, TetherError, type ErrorCode } from '@tether/client';
import { describe, expect, it } from 'vitest';
import { ERROR_MAP, OP_CODES, OT_ERRORS, OTError, once, promiseOf, toOTError } from './errors.js';

describe('the Tether → OpenTok error table', () => {
  it('maps every client-facing Tether error code (all but the HTTP API’s and callbacks’) to an OpenTok name', () => {
    const clientFacing = (Object.keys(ERRORS) as ErrorCode[]).filter(
      (c) => !c.startsWith('API_') && !c.startsWith('CALLBACK_') && !c.startsWith('ARCHIVE_'),
    );
    expect(clientFacing.length).toBeGreaterThan(40);
    expect(Object.keys(ERROR_MAP).sort()).toEqual(clientFacing.sort());
    for (const name of Object.values(ERROR_MAP)) expect(OT_ERRORS[name]).toBeTypeOf('number');
  });

  it('gives OpenTok’s numbers: 1004 invalid token, 1005 session, 1006 connect failed, 1010 not connected, 1500 publish denied', () => {
    const ot = (code: ErrorCode, op?: Parameters<typeof toOTError>[1]) => {
      const e = toOTError(new TetherError(code), op);
      return [e.name, e.code];
    };
    expect(ot('TOKEN_INVALID_SIGNATURE', 'connect')).toEqual(['OT_AUTHENTICATION_ERROR', 1004]);
    expect(ot('TOKEN_EXPIRED', 'connect')).toEqual(['OT_AUTHENTICATION_ERROR', 1004]);
    expect(ot('SESSION_INVALID', 'connect')).toEqual(['OT_INVALID_SESSION_ID', 1005]);
    expect(ot('CONNECT_FAILED', 'connect')).toEqual(['OT_CONNECT_FAILED', 1006]);
    expect(ot('NOT_CONNECTED', 'publish')).toEqual(['OT_NOT_CONNECTED', 1010]);
    expect(ot('NOT_PERMITTED', 'publish')).toEqual(['OT_PERMISSION_DENIED', 1500]);
    expect(ot('NOT_PERMITTED', 'forceDisconnect')).toEqual(['OT_PERMISSION_DENIED', 1520]);
    expect(ot('NOT_PERMITTED', 'forceUnpublish')).toEqual(['OT_PERMISSION_DENIED', 1530]);
  });

  it('numbers signal errors as OpenTok does (400, 404, 429, and 500 while not connected or reconnecting with retryAfterReconnect: false)', () => {
    const code = (c: ErrorCode) => toOTError(new TetherError(c), 'signal').code;
    expect(code('SIGNAL_TYPE_INVALID')).toBe(400);
    expect(code('SIGNAL_DATA_TOO_LARGE')).toBe(400);
    expect(code('SIGNAL_TARGET_NOT_FOUND')).toBe(404);
    expect(code('RATE_LIMITED')).toBe(429);
    expect(code('RECONNECTING')).toBe(500);
    expect(code('NOT_CONNECTED')).toBe(500);
    expect(Object.keys(OP_CODES.signal ?? {})).toHaveLength(4);
  });

  it('keeps the Tether code and message, and wraps anything else as OT_INTERNAL_ERROR 2000', () => {
    const e = toOTError(new TetherError('RECONNECTING', 'while away'), 'signal');
    expect(e).toBeInstanceOf(OTError);
    expect(e).toBeInstanceOf(Error);
    expect(e.tetherCode).toBe('RECONNECTING');
    expect(e.message).toContain('while away');
    const other = toOTError(new Error('boom'));
    expect([other.name, other.code, other.message]).toEqual(['OT_INTERNAL_ERROR', 2000, 'boom']);
    expect(toOTError(e)).toBe(e);
  });

  it('calls a completion handler at most once, error-first, and turns it into a promise for .promise forms', async () => {
    const calls: unknown[][] = [];
    const cb = once((...args: unknown[]) => calls.push(args));
    cb();
    cb(new OTError('OT_NOT_CONNECTED', 'late'));
    expect(calls).toEqual([[]]);
    const failed = once((err) => calls.push([err?.name]));
    failed(new OTError('OT_NOT_CONNECTED', 'x'));
    failed();
    expect(calls).toEqual([[], ['OT_NOT_CONNECTED']]);
    once(undefined)(); // no handler given: nothing to call
    await expect(
      promiseOf(
        (done) => done(),
        () => 'value',
      ),
    ).resolves.toBe('value');
    await expect(
      promiseOf(
        (done) => done(new OTError('OT_NOT_FOUND', 'gone')),
        () => 'value',
      ),
    ).rejects.toMatchObject({
      name: 'OT_NOT_FOUND',
      code: 1112,
    });
  });
});
