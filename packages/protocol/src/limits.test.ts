import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeClientFrame } from './codec.js';
import { LIMITS, SIGNAL_TYPE_ALPHABET, utf8Bytes, wellFormed } from './limits.js';
import { msgpackCodec } from './msgpack-codec.js';
import {
  connectionInfoSchema,
  idSchema,
  sessionIdSchema,
  signalDataSchema,
  signalTypeSchema,
  streamPropertiesSchema,
  tokenClaimsSchema,
} from './model.js';
import { checkSignal } from './signal.js';

const EURO = '€'; // U+20AC: 3 UTF-8 bytes
const EMOJI = '😀'; // U+1F600: a surrogate pair, 4 UTF-8 bytes
const MAX = LIMITS.signalDataMaxBytes;

describe('LIMITS', () => {
  it('are the documented numbers', () => {
    expect(LIMITS.signalTypeMaxLength).toBe(128);
    expect(LIMITS.signalDataMaxBytes).toBe(8192);
    expect(LIMITS.connectionDataMaxLength).toBe(1000);
  });
});

describe('wellFormed', () => {
  it.each([
    ['', ''],
    ['plain', 'plain'],
    ['a€😀', 'a€😀'],
    ['\ud800', '\ufffd'],
    ['\udc00\ud800', '\ufffd\ufffd'], // reversed pair: two lone surrogates
    ['\ud800\ud800\udc00', '\ufffd\ud800\udc00'], // a lone one, then a pair
    ['x\udbff', 'x\ufffd'],
  ])('makes %j %j', (text, expected) => {
    expect(wellFormed(text)).toBe(expected);
  });

  // The bug it fixes: a lone surrogate reached JSON receivers intact (as an escape) and
  // MessagePack ones intact when short but as U+FFFD past ~50 characters (TextEncoder).
  it('is what UTF-8 carries, so every codec delivers it exactly, whatever its length', () => {
    const unit = fc.oneof(
      fc.integer({ min: 0, max: 0xffff }),
      fc.integer({ min: 0xd800, max: 0xdfff }),
      fc.constant(0x61),
    );
    fc.assert(
      fc.property(fc.array(unit, { maxLength: 400 }), (units) => {
        const text = wellFormed(String.fromCharCode(...units));
        const viaMsgpack = msgpackCodec.decodeServer(
          msgpackCodec.sequenced(msgpackCodec.body({ t: 'signal', from: null, type: 't', data: text }), 1),
        );
        return (
          text === Buffer.from(String.fromCharCode(...units), 'utf8').toString('utf8') &&
          wellFormed(text) === text &&
          viaMsgpack.ok &&
          (viaMsgpack.frame as { data: string }).data === text &&
          JSON.parse(JSON.stringify(text)) === text &&
          utf8Bytes(text) === utf8Bytes(String.fromCharCode(...units))
        );
      }),
      { numRuns: 1000 },
    );
  });
});

describe('utf8Bytes', () => {
  it.each([
    ['', 0],
    ['a', 1],
    ['\u007f', 1],
    ['\u0080', 2],
    ['é', 2],
    ['\u07ff', 2],
    ['\u0800', 3],
    [EURO, 3],
    ['\uffff', 3],
    [EMOJI, 4],
    ['a€😀', 8],
    ['\ud800', 3], // lone high surrogate at the end: encoded as U+FFFD
    ['\udc00', 3], // lone low surrogate
    ['\udc00\ud800', 6], // reversed pair: two lone surrogates
    ['\ud800a', 4],
    ['\ud800\ud800', 6], // two high surrogates: two replacement characters
    ['\ud800é', 5], // high surrogate followed by a 2-byte character
    ['\ud800€', 6], // high surrogate followed by a 3-byte character
    ['\ud800😀', 7], // lone high surrogate, then a valid pair
  ])('counts %j as %i bytes, like Buffer.byteLength', (text, bytes) => {
    expect(Buffer.byteLength(text, 'utf8')).toBe(bytes);
    expect(utf8Bytes(text)).toBe(bytes);
  });

  it('agrees with Buffer.byteLength on arbitrary strings, lone surrogates included', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 64 }),
        (text) => utf8Bytes(text) === Buffer.byteLength(text, 'utf8'),
      ),
      { numRuns: 2000 },
    );
  });

  it('agrees with Buffer.byteLength on arbitrary UTF-16 code unit sequences', () => {
    // Weighted towards surrogates, the only tricky code units.
    const unit = fc.oneof(
      fc.integer({ min: 0, max: 0xffff }),
      fc.integer({ min: 0xd800, max: 0xdbff }),
      fc.integer({ min: 0xdc00, max: 0xdfff }),
    );
    fc.assert(
      fc.property(fc.array(unit, { maxLength: 32 }), (units) => {
        const text = String.fromCharCode(...units);
        return utf8Bytes(text) === Buffer.byteLength(text, 'utf8');
      }),
      { numRuns: 2000 },
    );
  });

  it('agrees with Buffer.byteLength on well-formed strings of every plane', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme', maxLength: 64 }),
        (text) => utf8Bytes(text) === Buffer.byteLength(text, 'utf8'),
      ),
      { numRuns: 1000 },
    );
  });
});

describe('signal type', () => {
  const ok = ['a', 'chat', 'A-Z_a.z~0:9', 't'.repeat(128)];
  const bad = [
    '',
    't'.repeat(129),
    'has space',
    'slash/',
    'é',
    'emoji😀',
    'tab\t',
    'quote"',
    'nul\u0000',
    'line\n',
  ];

  it.each(ok.map((t) => [t.length > 20 ? `${t.length} chars` : t, t]))('accepts %s', (_label, type) => {
    expect(SIGNAL_TYPE_ALPHABET.test(type)).toBe(true);
    expect(checkSignal(type, '')).toBeNull();
    expect(signalTypeSchema.safeParse(type).success).toBe(true);
  });

  it.each(bad.map((t) => [t.length > 20 ? `${t.length} chars` : JSON.stringify(t), t]))(
    'refuses %s with SIGNAL_TYPE_INVALID',
    (_label, type) => {
      expect(checkSignal(type, '')).toBe('SIGNAL_TYPE_INVALID');
      expect(signalTypeSchema.safeParse(type).success).toBe(false);
    },
  );

  it('refuses a type that is not a string', () => {
    for (const type of [undefined, null, 1, ['a'], { a: 1 }])
      expect(checkSignal(type, '')).toBe('SIGNAL_TYPE_INVALID');
  });

  it('lets the frame schema carry a type the signal check then refuses, so it gets its own code', () => {
    const text = JSON.stringify({ t: 'signal', seq: 1, type: 't'.repeat(129), data: '' });
    const decoded = decodeClientFrame(text);
    expect(decoded.ok).toBe(true);
    if (decoded.ok && decoded.frame.t === 'signal')
      expect(checkSignal(decoded.frame.type, decoded.frame.data)).toBe('SIGNAL_TYPE_INVALID');
  });
});

describe('signal data', () => {
  const cases: Array<[label: string, data: string, bytes: number]> = [
    ['empty', '', 0],
    ['ASCII, exactly 8192 bytes', 'x'.repeat(MAX), MAX],
    ['ASCII, 8193 bytes', 'x'.repeat(MAX + 1), MAX + 1],
    ['€ ×2730 + 2 ASCII = 8192 bytes', EURO.repeat(2730) + 'ab', MAX],
    ['€ ×2730 + 3 ASCII = 8193 bytes', EURO.repeat(2730) + 'abc', MAX + 1],
    ['€ ×2731 = 8193 bytes', EURO.repeat(2731), MAX + 1],
    ['emoji ×2048 = 8192 bytes', EMOJI.repeat(2048), MAX],
    ['emoji ×2048 + 1 ASCII = 8193 bytes', EMOJI.repeat(2048) + 'a', MAX + 1],
    ['é ×4096 = 8192 bytes', 'é'.repeat(4096), MAX],
    ['é ×4096 + 1 ASCII = 8193 bytes', 'é'.repeat(4096) + 'a', MAX + 1],
    ['4 × 8192 + 1 UTF-16 units (the length shortcut)', 'x'.repeat(MAX * 4 + 1), MAX * 4 + 1],
    ['lone high surrogates ×2731 = 8193 bytes', '\ud800'.repeat(2731), MAX + 1],
    ['lone high surrogates ×4096 = 12288 bytes', '\ud800'.repeat(4096), 3 * 4096],
  ];

  it.each(cases)('%s', (_label, data, bytes) => {
    expect(Buffer.byteLength(data, 'utf8')).toBe(bytes);
    const fits = bytes <= MAX;
    expect(checkSignal('t', data)).toBe(fits ? null : 'SIGNAL_DATA_TOO_LARGE');
    const parsed = signalDataSchema.safeParse(data);
    expect(parsed.success).toBe(fits);
    if (!parsed.success)
      expect(parsed.error.issues[0]?.message).toBe('data must be at most 8192 UTF-8 bytes');
  });

  it('refuses data that is not a string', () => {
    for (const data of [undefined, null, 1, ['a'], { a: 1 }])
      expect(checkSignal('t', data)).toBe('SIGNAL_DATA_TOO_LARGE');
  });

  it('checks the type before the data', () => {
    expect(checkSignal('', 'x'.repeat(MAX + 1))).toBe('SIGNAL_TYPE_INVALID');
  });

  it('accepts exactly the strings whose UTF-8 size is at most 8192 bytes', () => {
    // A short random tail after padding, so sizes straddle the limit and a failure shrinks fast.
    const chunk = fc.constantFrom('a', 'é', EURO, EMOJI, '\ud800', '\udc00', '\ud800a');
    fc.assert(
      fc.property(
        fc.integer({ min: MAX - 24, max: MAX }),
        fc.array(chunk, { maxLength: 12 }),
        (pad, chunks) => {
          const data = 'x'.repeat(pad) + chunks.join('');
          const fits = Buffer.byteLength(data, 'utf8') <= MAX;
          return (checkSignal('t', data) === null) === fits;
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('connection data', () => {
  const info = (data: string) => ({ connectionId: 'c', data, creationTime: 0 });
  it('allows up to 1000 characters', () => {
    expect(connectionInfoSchema.safeParse(info('')).success).toBe(true);
    expect(connectionInfoSchema.safeParse(info('d'.repeat(1000))).success).toBe(true);
    expect(connectionInfoSchema.safeParse(info('d'.repeat(1001))).success).toBe(false);
  });

  it('applies the same bound to token claims, defaulting to empty', () => {
    const claims = { iss: 'k', sid: 's', role: 'publisher', iat: 0, exp: 1 };
    expect(tokenClaimsSchema.parse(claims).data).toBe('');
    expect(tokenClaimsSchema.safeParse({ ...claims, data: 'd'.repeat(1000) }).success).toBe(true);
    expect(tokenClaimsSchema.safeParse({ ...claims, data: 'd'.repeat(1001) }).success).toBe(false);
  });
});

describe('stream name', () => {
  it('allows up to 256 characters', () => {
    expect(streamPropertiesSchema.safeParse({ name: 'n'.repeat(256) }).success).toBe(true);
    expect(streamPropertiesSchema.safeParse({ name: 'n'.repeat(257) }).success).toBe(false);
  });
});

describe('ids', () => {
  const good = ['a', 'Z', '0', 'conn-1', 'a_b', 'a.b', 'a~b', 'A-Za-z0-9_-.~', 'x'.repeat(128)];
  const bad = ['', ' ', 'a b', 'a/b', 'a+b', 'a=b', 'a:b', 'é', '😀', 'a\n', '\u0000', 'x'.repeat(129)];

  it.each(good.map((id) => [id.length > 20 ? `${id.length} chars` : id, id]))(
    'idSchema accepts %s',
    (_label, id) => {
      expect(idSchema.safeParse(id).success).toBe(true);
      expect(sessionIdSchema.safeParse(id).success).toBe(true);
    },
  );

  it.each(bad.map((id) => [id.length > 20 ? `${id.length} chars` : JSON.stringify(id), id]))(
    'idSchema refuses %s',
    (_label, id) => {
      expect(idSchema.safeParse(id).success).toBe(false);
    },
  );

  it('allows longer session ids (512) than connection or stream ids (128)', () => {
    expect(sessionIdSchema.safeParse('s'.repeat(512)).success).toBe(true);
    expect(sessionIdSchema.safeParse('s'.repeat(513)).success).toBe(false);
    expect(sessionIdSchema.safeParse('a b').success).toBe(false);
    expect(sessionIdSchema.safeParse('').success).toBe(false);
  });

  it('accepts exactly the non-empty strings of the id alphabet, at most 128 long', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 140 }), (id) => {
        const expected = id.length >= 1 && id.length <= 128 && /^[A-Za-z0-9_\-.~]+$/.test(id);
        return idSchema.safeParse(id).success === expected;
      }),
      { numRuns: 1000 },
    );
  });
});
