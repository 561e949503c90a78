import {
  TetherError,
  errorMessage,
  openTokCreateSessionFormSchema,
  openTokSignalBodySchema,
} from '@tether/protocol';
import { createSessionId, parseSessionId, verifyApiToken, wrapOpenTokSessionId } from '@tether/auth';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { parseBody } from './api-body.js';
import type { Hub } from './hub.js';
import type { Projects } from './projects.js';

/** HTTP status of each refusal, as OpenTok answers them (its SDK maps 401/403/404 to its own errors). */
const STATUS: Record<string, number> = {
  API_AUTH_MISSING: 403,
  API_AUTH_INVALID: 403,
  SESSION_INVALID: 404,
  CONNECTION_NOT_FOUND: 404,
  STREAM_NOT_FOUND: 404,
  SIGNAL_TARGET_NOT_FOUND: 404,
  SIGNAL_TYPE_INVALID: 400,
  SIGNAL_DATA_TOO_LARGE: 413,
};

type Session = { Params: { apiKey: string; sessionId: string } };
type Connection = { Params: { apiKey: string; sessionId: string; connectionId: string } };
type Stream = { Params: { apiKey: string; sessionId: string; streamId: string } };

/**
 * OpenTok's REST paths, so the official `opentok` npm package pointed at Tether's URL works
 * unchanged: sessions, signals, force-disconnect, streams. Only the paths and shapes OpenTok
 * documents; everything else is Tether's own `/v1` API. Authentication is OpenTok's
 * `X-OPENTOK-AUTH` project JWT — the same claims as Tether's API tokens (iss, ist, iat, exp).
 */
export function registerOpenTokApi(
  root: FastifyInstance,
  hub: Hub,
  projects: Projects,
  now: () => number,
): void {
  // Its own plugin scope: the form parser below is for these routes only (Tether's API takes JSON).
  void root.register(async (app) => openTokRoutes(app, hub, projects, now));
}

function openTokRoutes(app: FastifyInstance, hub: Hub, projects: Projects, now: () => number): void {
  const lookup = (key: string) => projects.secretFor(key);

  // The SDK sends `POST /session/create` as a form.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) =>
    done(null, Object.fromEntries(new URLSearchParams(body as string))),
  );

  const authenticate = async (req: FastifyRequest): Promise<string> => {
    const header = req.headers['x-opentok-auth'];
    if (typeof header !== 'string') throw new TetherError('API_AUTH_MISSING', 'send X-OPENTOK-AUTH');
    return (await verifyApiToken(header, lookup, { now: now() })).apiKey;
  };
  /** The session in the path, if the caller's project owns it and names itself in the path. */
  const ownSession = async (req: FastifyRequest<Session>): Promise<string> => {
    const apiKey = await authenticate(req);
    if (req.params.apiKey !== apiKey)
      throw new TetherError('API_AUTH_INVALID', 'the path names another project than the token');
    const session = parseSessionId(req.params.sessionId, lookup);
    if (session.apiKey !== apiKey)
      throw new TetherError('SESSION_INVALID', 'the session belongs to another project');
    return session.sessionId;
  };
  const fail = (reply: FastifyReply, err: unknown) => {
    if (!(err instanceof TetherError)) throw err;
    const status = STATUS[err.code] ?? 400;
    return reply.code(status).send({ code: status, message: err.message, tetherCode: err.code });
  };
  const route =
    <R extends { Params: unknown }>(fn: (req: FastifyRequest<R>, reply: FastifyReply) => Promise<unknown>) =>
    async (req: FastifyRequest<R>, reply: FastifyReply) => {
      try {
        return await fn(req, reply);
      } catch (err) {
        return fail(reply, err);
      }
    };

  app.post(
    '/session/create',
    route(async (req, reply) => {
      const apiKey = await authenticate(req);
      const form = parseBody(openTokCreateSessionFormSchema, req.body);
      const mediaMode = form['p2p.preference'] === 'disabled' ? 'routed' : 'relayed';
      if (form.archiveMode === 'always' && mediaMode !== 'routed')
        throw new TetherError('API_BODY_INVALID', 'archiveMode always needs the routed media mode');
      const creationTime = now();
      const inner = createSessionId({
        apiKey,
        apiSecret: projects.secretFor(apiKey) as string,
        mediaMode,
        archiveMode: form.archiveMode,
        now: creationTime,
      });
      const sessionId = wrapOpenTokSessionId(inner, apiKey, creationTime);
      return reply.code(200).send([
        {
          session_id: sessionId,
          project_id: apiKey,
          partner_id: apiKey,
          create_dt: new Date(creationTime).toUTCString(),
          media_server_url: '',
        },
      ]);
    }),
  );

  const signal = async (sessionId: string, body: unknown, to?: string) => {
    const { type, data } = parseBody(openTokSignalBodySchema, body);
    const result = await hub.sessions.signal(sessionId, type, data, to);
    if ('error' in result) throw new TetherError(result.error, errorMessage(result.error));
  };
  app.post<Session>(
    '/v2/project/:apiKey/session/:sessionId/signal',
    route<Session>(async (req, reply) => {
      await signal(await ownSession(req), req.body);
      return reply.code(204).send();
    }),
  );
  app.post<Connection>(
    '/v2/project/:apiKey/session/:sessionId/connection/:connectionId/signal',
    route<Connection>(async (req, reply) => {
      await signal(await ownSession(req), req.body, req.params.connectionId);
      return reply.code(204).send();
    }),
  );

  app.delete<Connection>(
    '/v2/project/:apiKey/session/:sessionId/connection/:connectionId',
    route<Connection>(async (req, reply) => {
      const sessionId = await ownSession(req);
      if (!(await hub.sessions.forceDisconnect(sessionId, req.params.connectionId)))
        throw new TetherError('CONNECTION_NOT_FOUND', req.params.connectionId);
      return reply.code(204).send();
    }),
  );

  const streamOf = (s: { streamId: string; videoType: string; name: string }) => ({
    id: s.streamId,
    videoType: s.videoType,
    name: s.name,
    layoutClassList: [] as string[],
  });
  app.get<Session>(
    '/v2/project/:apiKey/session/:sessionId/stream',
    route<Session>(async (req) => {
      const { streams } = await hub.sessions.state(await ownSession(req));
      return { count: streams.length, items: streams.map(streamOf) };
    }),
  );
  app.get<Stream>(
    '/v2/project/:apiKey/session/:sessionId/stream/:streamId',
    route<Stream>(async (req, reply) => {
      const { streams } = await hub.sessions.state(await ownSession(req));
      const stream = streams.find((s) => s.streamId === req.params.streamId);
      if (!stream) throw new TetherError('STREAM_NOT_FOUND', req.params.streamId);
      // `opentok` 2.x parses this body itself (JSON.parse in its Stream): it must reach it as text.
      return reply.type('text/plain; charset=utf-8').send(JSON.stringify(streamOf(stream)));
    }),
  );
}
