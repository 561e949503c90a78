import { TetherError, startArchiveBodySchema } from '@tether/protocol';
import { parseSessionId } from '@tether/auth';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { sendArchiveFile, shown, type Download } from './archive-api.js';
import type { Archives } from './archive/archives.js';
import type { ArchiveStorage } from './archive/storage.js';
import type { Project } from './projects.js';

const startSchema = z.object({
  sessionId: z.string().min(1).max(512),
  outputMode: z.enum(['composed', 'individual']).default('composed'),
});

/**
 * The demo page's record button and archive list, on the development project only (as
 * `POST /dev/join`): whoever can open the page can record its sessions and download them, with
 * no API token — a local development server's convenience, never on a configured project.
 */
export function registerDemoArchiveRoutes(
  app: FastifyInstance,
  archives: Archives,
  storage: ArchiveStorage,
  dev: Project,
): void {
  const lookup = (key: string) => (key === dev.apiKey ? dev.apiSecret : undefined);
  app.post('/dev/archives', async (req, reply) => {
    const parsed = startSchema.safeParse(req.body ?? {});
    if (!parsed.success) throw new TetherError('API_BODY_INVALID', parsed.error.issues[0]?.message);
    const { apiKey: _k, ...session } = parseSessionId(parsed.data.sessionId, lookup);
    const body = startArchiveBodySchema.parse({ ...parsed.data, name: 'demo' });
    return reply.code(201).send(shown(await archives.start(dev.apiKey, session, body)));
  });
  app.post<{ Params: { archiveId: string } }>('/dev/archives/:archiveId/stop', async (req) =>
    shown(await archives.stop(dev.apiKey, req.params.archiveId)),
  );
  app.get<{ Querystring: { sessionId?: string } }>('/dev/archives', async (req) => {
    const list = await archives.list(dev.apiKey, {
      ...(req.query.sessionId ? { sessionId: req.query.sessionId } : {}),
      offset: 0,
      count: 20,
    });
    return { count: list.count, items: list.items.map(shown) };
  });
  app.get<Download>('/dev/archives/:archiveId/download', async (req, reply) =>
    sendArchiveFile(req, reply, await archives.get(dev.apiKey, req.params.archiveId), storage),
  );
}
