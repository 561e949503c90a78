import { apiErrorResponseSchema, sessionInfoSchema, PROTOCOL_VERSION } from '@tether/protocol';
import { createApiToken, createSessionId, createToken } from '@tether/auth';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TEST_PROJECT, startTestServer, type TestServer } from '@tether/testkit';
import { RawClient, Recorder, marker, signJwt } from './raw-client.js';

/**
 * Guarantee 6 and 7 for the HTTP API: every route needs a valid project token, every body is
 * validated, every error is `{code, message}` with its documented status, and a project sees
 * only its own sessions. Plain fetch over loopback.
 */

const OTHER_PROJECT = { apiKey: 'other-project', apiSecret: 'other-secret-also-please-change-9876543210' };

describe('HTTP API', () => {
  let t: TestServer;
  const raws: RawClient[] = [];
  beforeEach(async () => {
    t = await startTestServer({ projects: [TEST_PROJECT, OTHER_PROJECT] });
  });
  afterEach(async () => {
    for (const r of raws.splice(0)) r.close();
    await t.close();
  });

  const auth = async (project = TEST_PROJECT) => `Bearer ${await createApiToken(project)}`;
  /** A request; `authorization: null` sends none. Resolves with status and parsed JSON (or text). */
  const call = async (
    method: string,
    path: string,
    opts: { body?: unknown; rawBody?: string; authorization?: string | null; contentType?: string } = {},
  ) => {
    const headers: Record<string, string> = {};
    const authorization = opts.authorization === undefined ? await auth() : opts.authorization;
    if (authorization !== null) headers.authorization = authorization;
    let body: string | undefined;
    if (opts.rawBody !== undefined || opts.body !== undefined) {
      body = opts.rawBody ?? JSON.stringify(opts.body);
      headers['content-type'] = opts.contentType ?? 'application/json';
    }
    const res = await fetch(`${t.url}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return {
      status: res.status,
      json: json as Record<string, unknown> | undefined,
      text,
      contentType: res.headers.get('content-type'),
    };
  };
  /** Asserts a documented error body: `{code, message}`, the message carrying the code's fix. */
  const expectError = (res: Awaited<ReturnType<typeof call>>, status: number, code: string) => {
    expect(res.status, res.text).toBe(status);
    expect(apiErrorResponseSchema.safeParse(res.json).success, res.text).toBe(true);
    expect(res.json?.code).toBe(code);
  };

  describe('authentication', () => {
    const routes = (sid: string): Array<[string, string, unknown?]> => [
      ['POST', '/v1/sessions', {}],
      ['GET', `/v1/sessions/${sid}`],
      ['GET', `/v1/sessions/${sid}/connections`],
      ['GET', `/v1/sessions/${sid}/streams`],
      ['POST', `/v1/sessions/${sid}/signal`, { type: 'chat', data: 'x' }],
      ['DELETE', `/v1/sessions/${sid}/connections/some-connection`],
      ['DELETE', `/v1/sessions/${sid}/streams/some-stream`],
    ];

    it('every /v1 route without an Authorization header is 401 API_AUTH_MISSING', async () => {
      const sid = await t.createSession();
      for (const [method, path, body] of routes(sid))
        expectError(await call(method, path, { body, authorization: null }), 401, 'API_AUTH_MISSING');
    });

    it('an Authorization header that is not a Bearer token is 401 API_AUTH_MISSING', async () => {
      const sid = await t.createSession();
      const basic = `Basic ${Buffer.from('test-project:secret').toString('base64')}`;
      // 'Bearer ' with nothing after it reaches the server as 'Bearer' (header values are trimmed): no token at all.
      for (const authorization of [
        basic,
        (await auth()).slice('Bearer '.length),
        'bearer x',
        'Bearer ',
        'Bearer',
      ])
        expectError(await call('GET', `/v1/sessions/${sid}`, { authorization }), 401, 'API_AUTH_MISSING');
    });

    it('every /v1 route with a bad, forged, expired, foreign or client token is 401 API_AUTH_INVALID', async () => {
      const sid = await t.createSession();
      const nowS = Math.floor(Date.now() / 1000);
      const bad = [
        'Bearer garbage',
        `Bearer ${await createApiToken({ apiKey: TEST_PROJECT.apiKey, apiSecret: 'not-the-secret-000000000000' })}`,
        `Bearer ${await createApiToken({ ...TEST_PROJECT, expireInSeconds: 60, now: Date.now() - 600_000 })}`,
        `Bearer ${await createApiToken({ apiKey: 'stranger', apiSecret: 'whatever-secret-0000000000' })}`,
        `Bearer ${await createToken({ ...TEST_PROJECT, sessionId: sid, role: 'moderator' })}`,
        `Bearer ${signJwt({ iss: TEST_PROJECT.apiKey, ist: 'project', iat: nowS, exp: nowS + 3600 }, TEST_PROJECT.apiSecret)}`,
      ];
      for (const authorization of bad)
        for (const [method, path, body] of routes(sid))
          expectError(await call(method, path, { body, authorization }), 401, 'API_AUTH_INVALID');
    });

    it('a refused call has no effect: a DELETE with a forged token does not disconnect anyone', async () => {
      const sid = await t.createSession();
      const client = await t.join(sid, { data: 'victim' });
      const forged = `Bearer ${await createApiToken({ apiKey: TEST_PROJECT.apiKey, apiSecret: 'not-the-secret-000000000000' })}`;
      expectError(
        await call('DELETE', `/v1/sessions/${sid}/connections/${client.connection!.connectionId}`, {
          authorization: forged,
        }),
        401,
        'API_AUTH_INVALID',
      );
      expect(client.state).toBe('connected');
      expect(await t.api.listConnections(sid)).toHaveLength(1);
    });
  });

  describe('validation', () => {
    it('an invalid body is 400 API_BODY_INVALID', async () => {
      const sid = await t.createSession();
      const cases: Array<[string, string, { body?: unknown; rawBody?: string; contentType?: string }]> = [
        ['POST', '/v1/sessions', { body: { mediaMode: 'p2p' } }],
        ['POST', '/v1/sessions', { body: { archiveMode: 'sometimes' } }],
        ['POST', '/v1/sessions', { body: { mediaMode: 'routed', extra: true } }],
        ['POST', '/v1/sessions', { body: [] }],
        ['POST', '/v1/sessions', { rawBody: '{"mediaMode":' }],
        [
          'POST',
          '/v1/sessions',
          { rawBody: 'mediaMode=routed', contentType: 'application/x-www-form-urlencoded' },
        ],
        ['POST', `/v1/sessions/${sid}/signal`, { body: { type: 'chat' } }],
        ['POST', `/v1/sessions/${sid}/signal`, { body: { type: 1, data: 'x' } }],
        ['POST', `/v1/sessions/${sid}/signal`, { body: { type: 'chat', data: 'x', to: 'not an id' } }],
        ['POST', `/v1/sessions/${sid}/signal`, { body: { type: 'chat', data: 'x', from: 'someone' } }],
        ['POST', `/v1/sessions/${sid}/signal`, {}],
      ];
      for (const [method, path, opts] of cases) {
        const res = await call(method, path, opts);
        expect(res.status, `${method} ${path} ${JSON.stringify(opts)}: ${res.text}`).toBe(400);
        expectError(res, 400, 'API_BODY_INVALID');
      }
    });

    it('a body over 64 KiB is answered 413 API_BODY_TOO_LARGE, not a reset', async () => {
      const res = await call('POST', '/v1/sessions', {
        rawBody: JSON.stringify({ mediaMode: 'routed', pad: 'x'.repeat(70_000) }),
      });
      expect(res.status).toBe(413);
      expect(apiErrorResponseSchema.safeParse(res.json).success, res.text).toBe(true);
      expect(res.json?.code).toBe('API_BODY_TOO_LARGE');
    });

    it('an invalid signal from the API gets the same codes a client would: SIGNAL_TYPE_INVALID, SIGNAL_DATA_TOO_LARGE, SIGNAL_TARGET_NOT_FOUND', async () => {
      const sid = await t.createSession();
      const client = await t.join(sid, { data: 'listener' });
      const log = new Recorder(client);
      expectError(
        await call('POST', `/v1/sessions/${sid}/signal`, { body: { type: 'bad type', data: '' } }),
        400,
        'SIGNAL_TYPE_INVALID',
      );
      expectError(
        await call('POST', `/v1/sessions/${sid}/signal`, { body: { type: 'chat', data: '€'.repeat(2731) } }),
        400,
        'SIGNAL_DATA_TOO_LARGE',
      );
      expectError(
        await call('POST', `/v1/sessions/${sid}/signal`, {
          body: { type: 'chat', data: 'x', to: 'no-such-connection' },
        }),
        404,
        'SIGNAL_TARGET_NOT_FOUND',
      );
      const ok = await call('POST', `/v1/sessions/${sid}/signal`, { body: { type: 'chat', data: 'fine' } });
      expect(ok.status).toBe(200);
      expect(ok.json).toEqual({ delivered: 1 });
      await log.signal('chat', 'fine');
      expect(log.of('signal').map((e) => e.data)).toEqual(['fine']);
    });

    it('an unknown route is 404 API_NOT_FOUND', async () => {
      const sid = await t.createSession();
      for (const [method, path] of [
        ['GET', '/v1/nope'],
        ['GET', '/'],
        ['DELETE', '/v1/sessions'],
        ['PUT', `/v1/sessions/${sid}`],
        ['GET', `/v1/sessions/${sid}/archives/x/y`],
        ['GET', '/v2/sessions'],
      ] as const) {
        const res = await call(method, path);
        expectError(res, 404, 'API_NOT_FOUND');
        expect(res.json?.message).toContain(path);
      }
      expectError(await call('GET', '/v1/nope', { authorization: null }), 404, 'API_NOT_FOUND');
    });

    it('a malformed or tampered session id in the path is 404 SESSION_INVALID', async () => {
      const sid = await t.createSession();
      const tampered = sid.slice(0, -1) + (sid.endsWith('A') ? 'B' : 'A');
      for (const bad of [
        'not-a-session',
        tampered,
        createSessionId({ apiKey: 'stranger', apiSecret: 'whatever-secret-0000000000' }),
      ])
        for (const path of [
          `/v1/sessions/${bad}`,
          `/v1/sessions/${bad}/connections`,
          `/v1/sessions/${bad}/streams`,
        ])
          expectError(await call('GET', path), 404, 'SESSION_INVALID');
    });
  });

  describe('projects are isolated', () => {
    it('another project’s session is 404 SESSION_INVALID on every route, and its live clients are untouched', async () => {
      const otherSid = createSessionId({ ...OTHER_PROJECT });
      const { client: raw, welcome } = await RawClient.join(
        t.url,
        otherSid,
        await createToken({ ...OTHER_PROJECT, sessionId: otherSid, data: 'other-user' }),
      );
      raws.push(raw);
      raw.send({ t: 'publish', seq: 1, stream: { name: 'other-cam' } });
      const streamId = (await raw.reply(1)).stream.streamId as string;
      const connectionId = welcome.connection.connectionId as string;
      const cases: Array<[string, string, unknown?]> = [
        ['GET', `/v1/sessions/${otherSid}`],
        ['GET', `/v1/sessions/${otherSid}/connections`],
        ['GET', `/v1/sessions/${otherSid}/streams`],
        ['POST', `/v1/sessions/${otherSid}/signal`, { type: 'intrude', data: 'x' }],
        ['POST', `/v1/sessions/${otherSid}/signal`, { type: 'intrude', data: 'x', to: connectionId }],
        ['DELETE', `/v1/sessions/${otherSid}/connections/${connectionId}`],
        ['DELETE', `/v1/sessions/${otherSid}/streams/${streamId}`],
      ];
      for (const [method, path, body] of cases) {
        const res = await call(method, path, { body });
        expectError(res, 404, 'SESSION_INVALID');
        expect(JSON.stringify(res.json)).not.toContain('other-user');
      }
      // The owning project sees it all intact.
      const owner = await call('GET', `/v1/sessions/${otherSid}/connections`, {
        authorization: await auth(OTHER_PROJECT),
      });
      expect(owner.status).toBe(200);
      expect(owner.json).toMatchObject({ connections: [{ connectionId, data: 'other-user' }] });
      raw.send({ t: 'signal', seq: 2, type: 'chat', data: 'still-here' });
      expect(await raw.reply(2)).toMatchObject({ ok: true });
      expect(raw.ofType('signal').map((s) => s.type)).toEqual(['chat']);
      expect(raw.ofType('streamDestroyed')).toEqual([]);
      expect(raw.isOpen).toBe(true);
    });
  });

  describe('sessions', () => {
    it.each([
      [
        { mediaMode: 'relayed', archiveMode: 'always' },
        { mediaMode: 'relayed', archiveMode: 'always' },
      ],
      [
        { mediaMode: 'routed', archiveMode: 'manual' },
        { mediaMode: 'routed', archiveMode: 'manual' },
      ],
      [{ mediaMode: 'relayed' }, { mediaMode: 'relayed', archiveMode: 'manual' }],
      [{}, { mediaMode: 'routed', archiveMode: 'manual' }],
    ])(
      'POST /v1/sessions %j creates a session that round-trips its modes through GET and a client’s welcome',
      async (body, expected) => {
        const before = Date.now();
        const created = await call('POST', '/v1/sessions', { body });
        expect(created.status).toBe(201);
        expect(sessionInfoSchema.safeParse(created.json).success, created.text).toBe(true);
        expect(created.json).toMatchObject(expected);
        expect(created.json?.creationTime).toBeGreaterThanOrEqual(before - 1000);
        expect(created.json).not.toHaveProperty('apiKey');
        const sid = created.json!.sessionId as string;

        const got = await call('GET', `/v1/sessions/${sid}`);
        expect(got.status).toBe(200);
        expect(got.json).toEqual(created.json);

        const { client, welcome } = await RawClient.join(t.url, sid, await t.token(sid));
        raws.push(client);
        expect(welcome.session).toEqual(created.json);
      },
    );

    it('a POST /v1/sessions without a body defaults to routed / manual', async () => {
      const res = await fetch(`${t.url}/v1/sessions`, {
        method: 'POST',
        headers: { authorization: await auth() },
      });
      expect(res.status).toBe(201);
      expect(await res.json()).toMatchObject({ mediaMode: 'routed', archiveMode: 'manual' });
    });

    it('two sessions created at once get different ids', async () => {
      const [a, b] = await Promise.all([
        call('POST', '/v1/sessions', { body: {} }),
        call('POST', '/v1/sessions', { body: {} }),
      ]);
      expect(a.json?.sessionId).not.toBe(b.json?.sessionId);
    });

    it('DELETE of an unknown connection or stream of an own session is 404 CONNECTION_NOT_FOUND / STREAM_NOT_FOUND', async () => {
      const sid = await t.createSession();
      expectError(
        await call('DELETE', `/v1/sessions/${sid}/connections/nobody`),
        404,
        'CONNECTION_NOT_FOUND',
      );
      expectError(await call('DELETE', `/v1/sessions/${sid}/streams/nothing`), 404, 'STREAM_NOT_FOUND');
      await t.join(sid, { data: 'someone' });
      expectError(
        await call('DELETE', `/v1/sessions/${sid}/connections/nobody`),
        404,
        'CONNECTION_NOT_FOUND',
      );
      expectError(await call('DELETE', `/v1/sessions/${sid}/streams/nothing`), 404, 'STREAM_NOT_FOUND');
    });
  });

  describe('operations endpoints', () => {
    it('GET /health answers 200 {ok: true} without authentication', async () => {
      const res = await call('GET', '/health', { authorization: null });
      expect(res.status).toBe(200);
      expect(res.json).toEqual({ ok: true });
    });

    it('GET /metrics is Prometheus text and counts connects in tether_connects_total', async () => {
      const sid = await t.createSession();
      const counted = () =>
        call('GET', '/metrics', { authorization: null }).then((r) => {
          expect(r.status).toBe(200);
          expect(r.contentType).toMatch(/^text\/plain/);
          const line = r.text.split('\n').find((l) => l.startsWith('tether_connects_total '));
          expect(line, 'tether_connects_total sample').toBeDefined();
          return Number(line!.split(' ')[1]);
        });
      const before = await counted();
      const a = await t.join(sid, { data: 'a' });
      await t.join(sid, { data: 'b' });
      expect(await counted()).toBe(before + 2);
      const text = (await call('GET', '/metrics', { authorization: null })).text;
      expect(text).toContain('# TYPE tether_connects_total counter');
      expect(text).toMatch(/tether_connections\{state="connected"\} 2/);
      // A refused join is not counted.
      const refused = await RawClient.open(t.url);
      raws.push(refused);
      refused.send({ t: 'connect', v: PROTOCOL_VERSION, sessionId: sid, token: 'garbage' });
      await refused.waitClosed();
      expect(await counted()).toBe(before + 2);
      const data = marker();
      const log = new Recorder(a);
      await a.signal({ type: 'm', data });
      await log.signal('m', data);
    });
  });
});
