import {
  ARCHIVE_MAX_DURATION_DEFAULT_S,
  ARCHIVE_MAX_DURATION_LIMIT_S,
  TetherError,
  archiveResolutionSchema,
  type ErrorCode,
} from '@tether/protocol';
import { parseSessionId, verifyApiToken } from '@tether/auth';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Archives } from './archive/archives.js';
import type { ArchiveRecord } from './archive/store.js';
import type { Projects } from './projects.js';

/** HTTP status of each refusal, as OpenTok answers archive calls (its SDK maps 404 and 409 to its ArchiveError). */
const STATUS: Partial<Record<ErrorCode, number>> = {
  API_AUTH_MISSING: 403,
  API_AUTH_INVALID: 403,
  SESSION_INVALID: 404,
  ARCHIVE_NOT_FOUND: 404,
  ARCHIVE_NO_STREAMS: 404,
  ARCHIVE_RELAYED_SESSION: 409,
  ARCHIVE_ALREADY_RECORDING: 409,
  ARCHIVE_NOT_RECORDING: 409,
  ARCHIVE_IN_PROGRESS: 409,
  ARCHIVE_ELSEWHERE: 409,
};

/** What the `opentok` package sends to start an archive; OpenTok's options Tether has not are refused, not ignored. */
const startSchema = z.object({
  sessionId: z.string().min(1).max(512),
  name: z.string().max(256).default(''),
  outputMode: z.enum(['composed', 'individual']).default('composed'),
  hasAudio: z.boolean().default(true),
  hasVideo: z.boolean().default(true),
  resolution: z.string().default('640x480'),
  layout: z.object({ type: z.literal('bestFit') }).default({ type: 'bestFit' }),
  streamMode: z.literal('auto').optional(),
  maxDuration: z
    .number()
    .int()
    .min(1)
    .max(ARCHIVE_MAX_DURATION_LIMIT_S)
    .default(ARCHIVE_MAX_DURATION_DEFAULT_S),
});
const listSchema = z.object({
  offset: z.coerce.number().int().min(0).default(0),
  count: z.coerce.number().int().min(1).max(1000).default(50),
  sessionId: z.string().max(512).optional(),
});

type Project = { Params: { apiKey: string } };
type One = { Params: { apiKey: string; archiveId: string } };

/** An archive as OpenTok's REST API shows it: `duration` in whole seconds, `url` null (downloads are Tether's own). */
function openTokArchive(record: ArchiveRecord) {
  return {
    id: record.id,
    sessionId: record.sessionId,
    projectId: record.project,
    partnerId: record.project,
    name: record.name,
    status: record.status,
    reason: record.reason ?? '',
    createdAt: record.createdAt,
    duration: Math.round(record.duration),
    size: record.size,
    outputMode: record.outputMode,
    hasAudio: record.hasAudio,
    hasVideo: record.hasVideo,
    resolution: record.resolution,
    streamMode: 'auto',
    url: null,
    streams: record.streams.map((s) => ({
      streamId: s.streamId,
      hasAudio: s.hasAudio,
      hasVideo: s.hasVideo,
    })),
  };
}

/**
 * OpenTok's archive REST paths (`/v2/project/:apiKey/archive…`), so the official `opentok`
 * package's startArchive, stopArchive, getArchive, listArchives and deleteArchive work against
 * Tether unchanged; the same archives as Tether's own `/v1/archives`. Authenticated with
 * `X-OPENTOK-AUTH` (a project JWT), the path naming the caller's own project.
 */
export function registerOpenTokArchiveApi(
  app: FastifyInstance,
  archives: Archives,
  projects: Projects,
  now: () => number,
): void {
  const lookup = (key: string) => projects.secretFor(key);
  const project = async (req: FastifyRequest<Project>): Promise<string> => {
    const header = req.headers['x-opentok-auth'];
    if (typeof header !== 'string') throw new TetherError('API_AUTH_MISSING', 'send X-OPENTOK-AUTH');
    const { apiKey } = await verifyApiToken(header, lookup, { now: now() });
    if (req.params.apiKey !== apiKey)
      throw new TetherError('API_AUTH_INVALID', 'the path names another project than the token');
    return apiKey;
  };
  const route =
    <R extends Project>(fn: (req: FastifyRequest<R>, reply: FastifyReply) => Promise<unknown>) =>
    async (req: FastifyRequest<R>, reply: FastifyReply) => {
      try {
        return await fn(req, reply);
      } catch (err) {
        if (!(err instanceof TetherError)) throw err;
        const status = STATUS[err.code] ?? 400;
        return reply.code(status).send({ code: status, message: err.message, tetherCode: err.code });
      }
    };
  const parse = <S extends z.ZodType>(schema: S, body: unknown): z.infer<S> => {
    const parsed = schema.safeParse(body ?? {});
    if (!parsed.success) throw new TetherError('API_BODY_INVALID', parsed.error.issues[0]?.message);
    return parsed.data;
  };

  app.post<Project>(
    '/v2/project/:apiKey/archive',
    route<Project>(async (req, reply) => {
      const apiKey = await project(req);
      const { sessionId, streamMode: _s, resolution, ...body } = parse(startSchema, req.body);
      const res = archiveResolutionSchema.safeParse(resolution);
      if (!res.success) throw new TetherError('API_BODY_INVALID', `resolution ${resolution} is not offered`);
      const { apiKey: owner, ...session } = parseSessionId(sessionId, lookup);
      if (owner !== apiKey)
        throw new TetherError('SESSION_INVALID', 'the session belongs to another project');
      const record = await archives.start(apiKey, session, { sessionId, ...body, resolution: res.data });
      return reply.code(200).send(openTokArchive(record));
    }),
  );
  app.post<One>(
    '/v2/project/:apiKey/archive/:archiveId/stop',
    route<One>(async (req) => openTokArchive(await archives.stop(await project(req), req.params.archiveId))),
  );
  app.get<One>(
    '/v2/project/:apiKey/archive/:archiveId',
    route<One>(async (req) => openTokArchive(await archives.get(await project(req), req.params.archiveId))),
  );
  app.get<Project>(
    '/v2/project/:apiKey/archive',
    route<Project>(async (req) => {
      const query = parse(listSchema, req.query);
      const list = await archives.list(await project(req), query);
      return { count: list.count, items: list.items.map(openTokArchive) };
    }),
  );
  app.delete<One>(
    '/v2/project/:apiKey/archive/:archiveId',
    route<One>(async (req, reply) => {
      await archives.delete(await project(req), req.params.archiveId);
      return reply.code(204).send();
    }),
  );
}
