import type { IncomingMessage } from 'node:http';
import {
  TetherError,
  apiSignalBodySchema,
  createSessionBodySchema,
  errorMessage,
  type ErrorCode,
} from '@tether/protocol';
import { createSessionId, parseSessionId, verifyApiToken } from '@tether/auth';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ARCHIVE_STATUS } from './archive-api.js';
import { parseBody } from './api-body.js';
import type { Hub } from './hub.js';
import type { Metrics } from './metrics.js';
import type { Projects } from './projects.js';

const STATUS: Partial<Record<ErrorCode, number>> = {
  API_AUTH_MISSING: 401,
  API_AUTH_INVALID: 401,
  API_NOT_FOUND: 404,
  SESSION_INVALID: 404,
  CONNECTION_NOT_FOUND: 404,
  STREAM_NOT_FOUND: 404,
  SIGNAL_TARGET_NOT_FOUND: 404,
  API_BODY_TOO_LARGE: 413,
  INTERNAL: 500,
  ...ARCHIVE_STATUS,
};

/** How long the rest of an oversized body is read and discarded after the 413. */
const LINGER_MS = 5000;

function send(reply: FastifyReply, code: ErrorCode, detail?: string) {
  return reply.code(STATUS[code] ?? 400).send({ code, message: errorMessage(code, detail) });
}

/**
 * The client of an oversized body is usually still sending it. Closing now (Fastify's way)
 * makes its kernel answer the rest with a reset, which many clients report instead of the 413
 * that came first; so the connection stays, Node discards the rest of the body, and a body
 * still arriving after LINGER_MS has its socket closed. (A wall-clock timer: it guards a socket, not protocol time.)
 */
function lingerOn(req: IncomingMessage): void {
  if (req.complete) return;
  const socket = req.socket;
  const timer = setTimeout(() => socket.destroy(), LINGER_MS);
  timer.unref();
  const stop = () => clearTimeout(timer);
  req.once('end', stop);
  socket.once('close', stop);
}

/**
 * The HTTP API for application back ends. Every `/v1` route needs a short-lived project
 * JWT; a session id is only visible to the project that created it.
 */
export function registerHttpApi(
  app: FastifyInstance,
  hub: Hub,
  projects: Projects,
  metrics: Metrics,
  now: () => number,
): void {
  const lookup = (key: string) => projects.secretFor(key);

  app.setErrorHandler((err, req, reply) => {
    if (err instanceof TetherError)
      return reply.code(STATUS[err.code] ?? 400).send({ code: err.code, message: err.message });
    if ((err as { code?: string }).code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      reply.removeHeader('connection');
      lingerOn(req.raw);
      return send(reply, 'API_BODY_TOO_LARGE');
    }
    const status = (err as { statusCode?: number }).statusCode;
    if (status && status < 500) return send(reply, 'API_BODY_INVALID', (err as Error).message);
    app.log.error({ err }, 'http api failure');
    return send(reply, 'INTERNAL');
  });
  app.setNotFoundHandler((req, reply) => send(reply, 'API_NOT_FOUND', `${req.method} ${req.url}`));

  // A draining node answers 503, so a load balancer stops sending it clients.
  app.get('/health', async (_req, reply) => {
    if (hub.draining) return reply.code(503).send({ ok: false, draining: true });
    // Cut off from the cluster's Redis: this node takes no joins, so a load balancer should not send any.
    if (!hub.clusterAvailable) return reply.code(503).send({ ok: false, cluster: 'unavailable' });
    return { ok: true };
  });
  app.get('/metrics', async (_req, reply) =>
    reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
  );

  // Authenticate before the body is parsed, so a caller without credentials hears 401, never 400.
  app.addHook('onRequest', async (req) => {
    const route = req.routeOptions.url;
    if (route?.startsWith('/v1/') && !req.headers.authorization?.startsWith('Bearer '))
      throw new TetherError('API_AUTH_MISSING');
  });

  const authenticate = async (req: FastifyRequest): Promise<string> => {
    const header = req.headers.authorization;
    if (!header?.startsWith('Bearer ')) throw new TetherError('API_AUTH_MISSING');
    const { apiKey } = await verifyApiToken(header.slice('Bearer '.length), lookup, { now: now() });
    return apiKey;
  };
  /** The session named in the path, if the caller's project owns it. */
  const ownSession = async (req: FastifyRequest<{ Params: { sessionId: string } }>) => {
    const apiKey = await authenticate(req);
    const session = parseSessionId(req.params.sessionId, lookup);
    if (session.apiKey !== apiKey)
      throw new TetherError('SESSION_INVALID', 'the session belongs to another project');
    const { apiKey: _k, ...info } = session;
    return { info };
  };

  type P = { Params: { sessionId: string } };
  type PC = { Params: { sessionId: string; connectionId: string } };
  type PS = { Params: { sessionId: string; streamId: string } };

  app.post('/v1/sessions', async (req, reply) => {
    const apiKey = await authenticate(req);
    const body = parseBody(createSessionBodySchema, req.body);
    const apiSecret = projects.secretFor(apiKey) as string;
    const sessionId = createSessionId({ apiKey, apiSecret, ...body, now: now() });
    const { apiKey: _k, ...info } = parseSessionId(sessionId, lookup);
    return reply.code(201).send(info);
  });

  app.get<P>('/v1/sessions/:sessionId', async (req) => (await ownSession(req)).info);

  app.get<P>('/v1/sessions/:sessionId/connections', async (req) => {
    const { info } = await ownSession(req);
    return { connections: (await hub.sessions.state(info.sessionId)).connections };
  });

  app.get<P>('/v1/sessions/:sessionId/streams', async (req) => {
    const { info } = await ownSession(req);
    return { streams: (await hub.sessions.state(info.sessionId)).streams };
  });

  app.post<P>('/v1/sessions/:sessionId/signal', async (req, reply) => {
    const { info } = await ownSession(req);
    const body = parseBody(apiSignalBodySchema, req.body);
    const result = await hub.sessions.signal(info.sessionId, body.type, body.data, body.to);
    if ('error' in result) return send(reply, result.error);
    return result;
  });

  app.delete<PC>('/v1/sessions/:sessionId/connections/:connectionId', async (req, reply) => {
    const { info } = await ownSession(req);
    if (!(await hub.sessions.forceDisconnect(info.sessionId, req.params.connectionId)))
      throw new TetherError('CONNECTION_NOT_FOUND', req.params.connectionId);
    return reply.code(204).send();
  });

  app.delete<PS>('/v1/sessions/:sessionId/streams/:streamId', async (req, reply) => {
    const { info } = await ownSession(req);
    if (!(await hub.sessions.forceUnpublish(info.sessionId, req.params.streamId)))
      throw new TetherError('STREAM_NOT_FOUND', req.params.streamId);
    return reply.code(204).send();
  });
}
