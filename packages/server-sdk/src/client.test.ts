import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TetherError } from '@tether/protocol';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createSessionId, parseSessionId, verifyApiToken, verifyToken } from '@tether/auth';
import { TetherApi } from './client.js';

const apiKey = 'proj1';
const apiSecret = 'secret-of-project-1';
const lookup = (key: string) => (key === apiKey ? apiSecret : undefined);

interface Seen {
  method: string;
  url: string;
  apiKey: string;
  jti: string;
  contentType: string | undefined;
  body: unknown;
}
interface Reply {
  status: number;
  body?: unknown;
  raw?: string;
}

/** A tiny stand-in for the Tether HTTP API: authenticates like the server, records, replies as scripted. */
let server: Server;
let url: string;
let seen: Seen[] = [];
let reply: (req: Seen) => Reply;

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : undefined;
}

beforeAll(async () => {
  server = createServer(async (req, res) => {
    const send = ({ status, body, raw }: Reply) => {
      if (raw !== undefined) res.writeHead(status, { 'content-type': 'text/plain' }).end(raw);
      else if (body === undefined) res.writeHead(status).end();
      else res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    const header = req.headers.authorization ?? '';
    const token = header.startsWith('Bearer ') ? header.slice(7) : '';
    try {
      const { apiKey: key } = await verifyApiToken(token, lookup);
      const jti = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).jti as string;
      const request: Seen = {
        method: req.method ?? '',
        url: req.url ?? '',
        apiKey: key,
        jti,
        contentType: req.headers['content-type'],
        body: await readBody(req),
      };
      seen.push(request);
      send(reply(request));
    } catch (err) {
      const { code, message } = err as TetherError;
      send({ status: 401, body: { code, message } });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

beforeEach(() => {
  seen = [];
  reply = () => ({ status: 500, body: { code: 'INTERNAL', message: 'no reply scripted' } });
});

const api = () => new TetherApi({ url, apiKey, apiSecret });
const sessionId = createSessionId({ apiKey, apiSecret, now: 1_700_000_000_000 });
const sessionInfo = {
  sessionId,
  mediaMode: 'routed',
  archiveMode: 'manual',
  creationTime: 1_700_000_000_000,
};

describe('TetherApi', () => {
  it('creates a session with POST /v1/sessions, authorised by a fresh API token', async () => {
    reply = ({ body }) => {
      const { mediaMode, archiveMode } = body as { mediaMode: 'routed'; archiveMode: 'manual' };
      const id = createSessionId({ apiKey, apiSecret, mediaMode, archiveMode });
      const { apiKey: _key, ...info } = parseSessionId(id, lookup);
      return { status: 201, body: info };
    };
    const client = api();
    const created = await client.createSession({ mediaMode: 'relayed' });
    await client.createSession();
    expect(created).toMatchObject({ mediaMode: 'relayed', archiveMode: 'manual' });
    expect(parseSessionId(created.sessionId, lookup).mediaMode).toBe('relayed');
    expect(seen).toHaveLength(2);
    expect(seen[0]).toMatchObject({
      method: 'POST',
      url: '/v1/sessions',
      apiKey,
      contentType: 'application/json',
      body: { mediaMode: 'relayed', archiveMode: 'manual' },
    });
    expect(seen[1]!.body).toEqual({ mediaMode: 'routed', archiveMode: 'manual' });
    expect(seen[0]!.jti).not.toBe(seen[1]!.jti);
  });

  it('gets a session with GET /v1/sessions/:sessionId', async () => {
    reply = () => ({ status: 200, body: sessionInfo });
    await expect(api().getSession(sessionId)).resolves.toEqual(sessionInfo);
    expect(seen[0]).toMatchObject({ method: 'GET', url: `/v1/sessions/${sessionId}`, body: undefined });
  });

  it('lists connections and streams', async () => {
    const connections = [{ connectionId: 'c1', data: 'name=Ada', creationTime: 5, reconnecting: true }];
    const streams = [
      {
        streamId: 's1',
        connectionId: 'c1',
        name: 'cam',
        hasAudio: true,
        hasVideo: false,
        videoType: 'camera',
        creationTime: 6,
      },
    ];
    reply = (req) =>
      req.url.endsWith('/connections')
        ? { status: 200, body: { connections } }
        : { status: 200, body: { streams } };
    await expect(api().listConnections(sessionId)).resolves.toEqual(connections);
    await expect(api().listStreams(sessionId)).resolves.toEqual(streams);
    expect(seen.map((r) => `${r.method} ${r.url}`)).toEqual([
      `GET /v1/sessions/${sessionId}/connections`,
      `GET /v1/sessions/${sessionId}/streams`,
    ]);
  });

  it('signals with POST /v1/sessions/:sessionId/signal and returns how many were delivered', async () => {
    reply = () => ({ status: 200, body: { delivered: 3 } });
    await expect(api().signal(sessionId, { type: 'chat', data: 'hi', to: 'c1' })).resolves.toEqual({
      delivered: 3,
    });
    expect(seen[0]).toMatchObject({
      method: 'POST',
      url: `/v1/sessions/${sessionId}/signal`,
      body: { type: 'chat', data: 'hi', to: 'c1' },
    });
  });

  it('refuses an invalid signal before sending it, with the code the server would give', async () => {
    await expect(api().signal(sessionId, { type: 'bad type!', data: '' })).rejects.toMatchObject({
      code: 'SIGNAL_TYPE_INVALID',
    });
    await expect(api().signal(sessionId, { type: 'chat', data: 'x'.repeat(8193) })).rejects.toMatchObject({
      code: 'SIGNAL_DATA_TOO_LARGE',
    });
    await expect(api().signal(sessionId, { type: 'chat', data: '', to: 'not an id' })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    expect(seen).toHaveLength(0);
  });

  it('force-disconnects and force-unpublishes with DELETE, encoding each path segment', async () => {
    reply = () => ({ status: 204 });
    await expect(api().forceDisconnect(sessionId, 'c/1 ?')).resolves.toBeUndefined();
    await expect(api().forceUnpublish('s#1', 'st%1')).resolves.toBeUndefined();
    expect(seen.map((r) => `${r.method} ${r.url}`)).toEqual([
      `DELETE /v1/sessions/${sessionId}/connections/c%2F1%20%3F`,
      'DELETE /v1/sessions/s%231/streams/st%251',
    ]);
  });

  it('creates client tokens for its own project', async () => {
    const token = await api().createToken(sessionId, { role: 'subscriber', data: 'd' });
    await expect(verifyToken(token, lookup)).resolves.toMatchObject({
      iss: apiKey,
      sid: sessionId,
      role: 'subscriber',
      data: 'd',
    });
  });

  it('maps a Tether error body to its code, with the HTTP status and without repeating the fix', async () => {
    const fromServer = new TetherError('SESSION_NOT_FOUND', `no live state for ${sessionId}`);
    reply = () => ({ status: 404, body: { code: fromServer.code, message: fromServer.message } });
    const err = await api()
      .getSession(sessionId)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TetherError);
    expect(err).toMatchObject({ code: 'SESSION_NOT_FOUND' });
    expect((err as Error).message).toBe(
      new TetherError('SESSION_NOT_FOUND', `no live state for ${sessionId} (HTTP 404)`).message,
    );
  });

  it('keeps a plain server message as the detail', async () => {
    reply = () => ({ status: 400, body: { code: 'API_BODY_INVALID', message: 'mediaMode: invalid option' } });
    await expect(api().createSession()).rejects.toThrow(
      /^API_BODY_INVALID: mediaMode: invalid option \(HTTP 400\) — /,
    );
  });

  it('maps an unknown code to INTERNAL, keeping the code in the detail', async () => {
    reply = () => ({ status: 418, body: { code: 'TEAPOT', message: 'short and stout' } });
    const call = api().getSession(sessionId);
    await expect(call).rejects.toMatchObject({ code: 'INTERNAL' });
    await expect(call).rejects.toThrow('TEAPOT: short and stout (HTTP 418)');
  });

  it('maps an error without a Tether body to INTERNAL with the status', async () => {
    reply = () => ({ status: 502, raw: '<html>bad gateway</html>' });
    await expect(api().forceUnpublish(sessionId, 's1')).rejects.toMatchObject({
      code: 'INTERNAL',
      message: /HTTP 502/,
    });
  });

  it('reports wrong credentials as the server does: API_AUTH_INVALID', async () => {
    const stranger = new TetherApi({ url, apiKey, apiSecret: 'wrong' });
    await expect(stranger.getSession(sessionId)).rejects.toMatchObject({
      code: 'API_AUTH_INVALID',
      message: /HTTP 401/,
    });
  });

  it('refuses a success body that does not match the response schema (INTERNAL)', async () => {
    reply = () => ({ status: 200, body: { sessionId, mediaMode: 'sideways' } });
    await expect(api().getSession(sessionId)).rejects.toMatchObject({
      code: 'INTERNAL',
      message: /mediaMode/,
    });
    reply = () => ({ status: 200, raw: 'not json' });
    await expect(api().listStreams(sessionId)).rejects.toMatchObject({ code: 'INTERNAL', message: /JSON/ });
  });

  it('reports an unreachable server as CONNECT_FAILED naming the URL', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const down = new TetherApi({ url: `http://127.0.0.1:${port}`, apiKey, apiSecret });
    await expect(down.getSession(sessionId)).rejects.toMatchObject({
      code: 'CONNECT_FAILED',
      message: new RegExp(`GET http://127\\.0\\.0\\.1:${port}/v1/sessions/`),
    });
  });

  it('uses an injected fetch', async () => {
    const calls: string[] = [];
    const client = new TetherApi({
      url,
      apiKey,
      apiSecret,
      fetch: async (input, init) => {
        calls.push(`${init?.method} ${String(input)}`);
        return new Response(null, { status: 204 });
      },
    });
    await client.forceDisconnect(sessionId, 'c1');
    expect(calls).toEqual([`DELETE ${url}v1/sessions/${sessionId}/connections/c1`]);
  });

  it('refuses bad construction and empty ids (INVALID_ARGUMENT)', async () => {
    expect(() => new TetherApi({ url: 'not a url', apiKey, apiSecret })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(() => new TetherApi({ url: 'ftp://x', apiKey, apiSecret })).toThrow(/url/);
    expect(() => new TetherApi({ url, apiKey: '', apiSecret })).toThrow(/apiKey/);
    await expect(api().getSession('')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(api().createSession({ mediaMode: 'p2p' as 'routed' })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    expect(seen).toHaveLength(0);
  });

  it('does not expose the secret when logged or serialised', () => {
    const client = api();
    expect(JSON.stringify(client)).not.toContain(apiSecret);
    expect(Object.values(client)).not.toContain(apiSecret);
  });
});
