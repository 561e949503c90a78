import { describe, expect, it } from 'vitest';
import {
  ERRORS,
  TetherError,
  errorCodeForNumber,
  errorMessage,
  errorNumber,
  isErrorCode,
  reasonForError,
  type ErrorCode,
} from './errors.js';
import { REASONS, isReason } from './reasons.js';

const codes = Object.keys(ERRORS) as ErrorCode[];

describe('ERRORS', () => {
  it('gives every code a unique number', () => {
    const nums = codes.map((c) => ERRORS[c].num);
    expect(new Set(nums).size).toBe(nums.length);
  });

  it('numbers every code in the application range of WebSocket close codes (4000-4999)', () => {
    for (const code of codes) {
      const num = errorNumber(code);
      expect(Number.isInteger(num), code).toBe(true);
      expect(num, code).toBeGreaterThanOrEqual(4000);
      expect(num, code).toBeLessThanOrEqual(4999);
    }
  });

  it.each(codes)('round-trips %s through its number', (code) => {
    expect(errorCodeForNumber(errorNumber(code))).toBe(code);
  });

  it('knows no code for numbers it never assigned', () => {
    for (const num of [0, 1000, 1006, 4000, 4099, 4999, -4100, 4100.5, NaN])
      expect(errorCodeForNumber(num)).toBeUndefined();
  });

  it('gives every code a message that says what to do', () => {
    for (const code of codes) expect(ERRORS[code].message.length, code).toBeGreaterThan(10);
  });

  it('ends connections only with reasons from the documented set', () => {
    for (const code of codes) {
      const reason = reasonForError(code);
      if (reason !== undefined) {
        expect(REASONS, code).toContain(reason);
        expect(isReason(reason)).toBe(true);
      }
      expect(reason).toBe((ERRORS[code] as { reason?: string }).reason);
    }
  });

  it('maps the errors that end a connection to their reasons', () => {
    expect(reasonForError('TOKEN_EXPIRED')).toBe('tokenExpired');
    expect(reasonForError('BUFFER_OVERFLOW')).toBe('bufferOverflow');
    expect(reasonForError('CLIENT_QUEUE_FULL')).toBe('bufferOverflow');
    expect(reasonForError('RESUME_WINDOW_EXPIRED')).toBe('networkDisconnected');
    expect(reasonForError('FRAME_INVALID')).toBeUndefined();
  });
});

describe('isErrorCode', () => {
  it('accepts every code and nothing else', () => {
    for (const code of codes) expect(isErrorCode(code)).toBe(true);
    for (const value of [
      '',
      'nope',
      'frame_invalid',
      'toString',
      'constructor',
      '__proto__',
      'hasOwnProperty',
      4201,
      null,
      undefined,
      {},
    ])
      expect(isErrorCode(value)).toBe(false);
  });
});

describe('isReason', () => {
  it('accepts every reason and nothing else', () => {
    for (const reason of REASONS) expect(isReason(reason)).toBe(true);
    for (const value of ['', 'NetworkDisconnected', 'because', 1, null, undefined])
      expect(isReason(value)).toBe(false);
  });
});

describe('TetherError', () => {
  it.each(codes)('%s: carries the code, and its message names the code and the fix', (code) => {
    const plain = new TetherError(code);
    expect(plain).toBeInstanceOf(Error);
    expect(plain).toBeInstanceOf(TetherError);
    expect(plain.name).toBe('TetherError');
    expect(plain.code).toBe(code);
    expect(plain.message).toBe(`${code}: ${ERRORS[code].message}`);

    const detailed = new TetherError(code, 'what happened here');
    expect(detailed.code).toBe(code);
    expect(detailed.message).toContain(code);
    expect(detailed.message).toContain('what happened here');
    expect(detailed.message).toContain(ERRORS[code].message);
    expect(detailed.message.startsWith(`${code}: `)).toBe(true);
  });

  it('treats an empty detail like no detail', () => {
    expect(new TetherError('INTERNAL', '').message).toBe(`INTERNAL: ${ERRORS.INTERNAL.message}`);
  });

  it('has a stack, like any Error', () => {
    expect(new TetherError('INTERNAL').stack).toContain('TetherError');
  });
});

describe('errorMessage', () => {
  it('is the fix alone without a detail, and detail — fix with one; TetherError carries the same text after its code', () => {
    expect(errorMessage('LEFT')).toBe(ERRORS.LEFT.message);
    expect(errorMessage('LEFT', '')).toBe(ERRORS.LEFT.message);
    expect(errorMessage('STREAM_NOT_FOUND', 's1')).toBe(`s1 — ${ERRORS.STREAM_NOT_FOUND.message}`);
    expect(new TetherError('STREAM_NOT_FOUND', 's1').message).toBe(
      `STREAM_NOT_FOUND: ${errorMessage('STREAM_NOT_FOUND', 's1')}`,
    );
  });
});
