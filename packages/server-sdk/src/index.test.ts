import { parseSessionId, verifyApiToken, verifyToken } from '@tether/auth';
import { describe, expect, it } from 'vitest';
import * as sdk from './index.js';

const apiKey = 'proj1';
const apiSecret = 'secret-of-project-1';
const lookup = (key: string) => (key === apiKey ? apiSecret : undefined);

describe('@tether/server-sdk public surface', () => {
  it('exports what an application back end signs with and the check of the callbacks it receives, and no token verifier', () => {
    expect(Object.keys(sdk).sort()).toEqual([
      'CALLBACK_HEADERS',
      'TetherApi',
      'TetherError',
      'createApiToken',
      'createSessionId',
      'createToken',
      'verifyCallback',
    ]);
  });

  it('signs session ids, client tokens and API tokens that the server-side verifiers accept', async () => {
    const sessionId = sdk.createSessionId({ apiKey, apiSecret, mediaMode: 'relayed' });
    expect(parseSessionId(sessionId, lookup)).toMatchObject({ apiKey, mediaMode: 'relayed' });
    const token = await sdk.createToken({ apiKey, apiSecret, sessionId, role: 'moderator', data: 'alice' });
    expect(await verifyToken(token, lookup)).toMatchObject({
      sid: sessionId,
      role: 'moderator',
      data: 'alice',
    });
    expect(await verifyApiToken(await sdk.createApiToken({ apiKey, apiSecret }), lookup)).toEqual({ apiKey });
  });
});
