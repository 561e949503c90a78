import OpenTok from 'opentok';
import { describe, expect, it } from 'vitest';
import { createSessionId, parseSessionId } from './session-id.js';
import { verifyToken } from './tokens.js';
import { unwrapOpenTokSessionId, wrapOpenTokSessionId } from './opentok.js';

const KEY = 'ot-project';
const SECRET = 'ot-secret-0123456789abcdefghij';
const lookup = (k: string) => (k === KEY ? SECRET : undefined);
const NOW = Date.UTC(2026, 11, 3, 12);

describe('OpenTok session ids and tokens', () => {
  const inner = createSessionId({ apiKey: KEY, apiSecret: SECRET, mediaMode: 'relayed', now: NOW });
  const wrapped = wrapOpenTokSessionId(inner, KEY, NOW);

  it('a wrapped session id is the same signed session, and the opentok SDK reads its API key out of it', () => {
    expect(unwrapOpenTokSessionId(wrapped)).toBe(inner);
    expect(parseSessionId(wrapped, lookup)).toMatchObject({
      sessionId: wrapped,
      apiKey: KEY,
      mediaMode: 'relayed',
    });
    // The SDK signs tokens only for sessions of its own key: it decodes the id to check.
    expect(() => new OpenTok(KEY, SECRET).generateToken(wrapped)).not.toThrow();
    expect(() => new OpenTok('another', SECRET).generateToken(wrapped)).toThrow(/API Key/);
  });

  it('a tampered wrapped id is refused as any tampered session id is', () => {
    const forged = wrapOpenTokSessionId(
      createSessionId({ apiKey: KEY, apiSecret: 'x'.repeat(32), now: NOW }),
      KEY,
      NOW,
    );
    expect(() => parseSessionId(forged, lookup)).toThrow(
      expect.objectContaining({ code: 'SESSION_INVALID' }),
    );
    expect(unwrapOpenTokSessionId('2_' + Buffer.from('1~k~~d~x').toString('base64url'))).toBeUndefined();
    expect(unwrapOpenTokSessionId(inner)).toBeUndefined();
  });

  it('JWT and T1 tokens map onto Tether claims: publisheronly publishes, data and expiry kept', async () => {
    const ot = new OpenTok(KEY, SECRET);
    const expireTime = Math.floor(Date.now() / 1000) + 3600;
    for (const t1 of [false, true]) {
      const token = ot.generateToken(wrapped, { role: 'publisheronly', data: 'd1', expireTime }, t1);
      await expect(verifyToken(token, lookup)).resolves.toMatchObject({
        iss: KEY,
        sid: wrapped,
        role: 'publisher',
        data: 'd1',
        exp: expireTime,
      });
    }
  });

  it('refuses what is not a well-formed OpenTok token, naming what is wrong', async () => {
    const ot = new OpenTok(KEY, SECRET);
    const long = ot.generateToken(wrapped, { data: 'x'.repeat(1024) }, true);
    await expect(verifyToken(long, lookup)).rejects.toMatchObject({ code: 'TOKEN_MALFORMED' });
    await expect(
      verifyToken('T1==' + Buffer.from('nothing here').toString('base64'), lookup),
    ).rejects.toMatchObject({
      code: 'TOKEN_MALFORMED',
    });
    const unknown = new OpenTok('stranger', SECRET).generateToken(
      wrapOpenTokSessionId(inner, 'stranger', NOW),
      {},
      true,
    );
    await expect(verifyToken(unknown, lookup)).rejects.toMatchObject({ code: 'TOKEN_UNKNOWN_PROJECT' });
  });
});
