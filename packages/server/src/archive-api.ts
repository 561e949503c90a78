import {
  TetherError,
  listArchivesQuerySchema,
  startArchiveBodySchema,
  type Archive,
  type ErrorCode,
} from '@tether/protocol';
import { parseSessionId, verifyApiToken } from '@tether/auth';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import parseRange from 'range-parser';
import { parseBody } from './api-body.js';
import { COMPOSED_FILE, type Archives } from './archive/archives.js';
import type { ArchiveStorage } from './archive/storage.js';
import type { ArchiveRecord } from './archive/store.js';
import type { Projects } from './projects.js';

/** HTTP status of each archive refusal (the API's error handler answers with them). */
export const ARCHIVE_STATUS: Partial<Record<ErrorCode, number>> = {
  ARCHIVE_NOT_FOUND: 404,
  ARCHIVE_FILE_NOT_FOUND: 404,
  ARCHIVE_RELAYED_SESSION: 409,
  ARCHIVE_NO_STREAMS: 409,
  ARCHIVE_ALREADY_RECORDING: 409,
  ARCHIVE_NOT_RECORDING: 409,
  ARCHIVE_IN_PROGRESS: 409,
  ARCHIVE_ELSEWHERE: 409,
  ARCHIVE_RANGE_INVALID: 416,
};

type A = { Params: { archiveId: string } };
export type Download = A & { Querystring: { file?: string } };

/** The record as the API shows it (the project is the caller's own). */
export function shown(record: ArchiveRecord): Archive {
  const { project: _p, owner: _o, ...archive } = record;
  return archive;
}

/**
 * Archives in Tether's `/v1` style: start, stop, list (by session, paged, newest first), get,
 * delete, and download (streamed, with HTTP range requests). Authenticated like every `/v1`
 * route (a project JWT); a project sees only its own archives.
 */
export function registerArchiveApi(
  app: FastifyInstance,
  archives: Archives,
  storage: ArchiveStorage,
  projects: Projects,
  now: () => number,
): void {
  const lookup = (key: string) => projects.secretFor(key);
  const authenticate = async (req: FastifyRequest): Promise<string> => {
    const header = req.headers.authorization;
    if (!header?.startsWith('Bearer ')) throw new TetherError('API_AUTH_MISSING');
    return (await verifyApiToken(header.slice('Bearer '.length), lookup, { now: now() })).apiKey;
  };

  app.post('/v1/archives', async (req, reply) => {
    const project = await authenticate(req);
    const body = parseBody(startArchiveBodySchema, req.body);
    const { apiKey, ...session } = parseSessionId(body.sessionId, lookup);
    if (apiKey !== project)
      throw new TetherError('SESSION_INVALID', 'the session belongs to another project');
    return reply.code(201).send(shown(await archives.start(project, session, body)));
  });

  app.post<A>('/v1/archives/:archiveId/stop', async (req) =>
    shown(await archives.stop(await authenticate(req), req.params.archiveId)),
  );

  app.get('/v1/archives', async (req) => {
    const project = await authenticate(req);
    const query = parseBody(listArchivesQuerySchema, req.query);
    const list = await archives.list(project, query);
    return { count: list.count, items: list.items.map(shown) };
  });

  app.get<A>('/v1/archives/:archiveId', async (req) =>
    shown(await archives.get(await authenticate(req), req.params.archiveId)),
  );

  app.delete<A>('/v1/archives/:archiveId', async (req, reply) => {
    await archives.delete(await authenticate(req), req.params.archiveId);
    return reply.code(204).send();
  });

  app.get<Download>('/v1/archives/:archiveId/download', async (req, reply) =>
    sendArchiveFile(req, reply, await archives.get(await authenticate(req), req.params.archiveId), storage),
  );
}

/**
 * Streams one file of an archive: the composed file, or `?file=` (one stream's file). A single
 * `Range: bytes=a-b` is answered 206; bytes outside the file 416; anything else the whole file.
 */
export async function sendArchiveFile(
  req: FastifyRequest<Download>,
  reply: FastifyReply,
  record: ArchiveRecord,
  storage: ArchiveStorage,
) {
  if (record.status === 'started' || record.status === 'stopped')
    throw new TetherError('ARCHIVE_IN_PROGRESS', `status ${record.status}`);
  const files = record.streams.map((s) => s.file);
  const file = req.query.file ?? (record.outputMode === 'composed' ? COMPOSED_FILE : undefined);
  if (file === undefined)
    throw new TetherError('ARCHIVE_FILE_NOT_FOUND', `an individual archive: name one of ${files.join(', ')}`);
  const known = file === COMPOSED_FILE ? record.outputMode === 'composed' : files.includes(file);
  const size = known ? await storage.size(record.id, file) : undefined;
  if (size === undefined) throw new TetherError('ARCHIVE_FILE_NOT_FOUND', file);
  reply
    .header('accept-ranges', 'bytes')
    .header('content-type', 'video/webm')
    .header('content-disposition', `attachment; filename="${record.id}-${file}"`);
  const header = req.headers.range;
  const ranges = header === undefined ? undefined : parseRange(size, header, { combine: true });
  if (ranges === -1) {
    reply.header('content-range', `bytes */${size}`);
    throw new TetherError('ARCHIVE_RANGE_INVALID', `${header} of ${size} bytes`);
  }
  // A malformed Range, or several ranges, is answered with the whole file (RFC 9110 §14.2 allows it).
  if (ranges === undefined || ranges === -2 || ranges.type !== 'bytes' || ranges.length !== 1) {
    reply.header('content-length', size);
    return reply.send(storage.read(record.id, file));
  }
  const { start, end } = ranges[0] as { start: number; end: number };
  reply
    .code(206)
    .header('content-range', `bytes ${start}-${end}/${size}`)
    .header('content-length', end - start + 1);
  return reply.send(storage.read(record.id, file, { start, end }));
}
