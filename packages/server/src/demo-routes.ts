import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { LIMITS, TetherError, errorMessage } from '@tether/protocol';
import { createSessionId, createToken } from '@tether/auth';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import type { Project } from './projects.js';

/** Where the demo page and the browser builds of the client SDK are. */
export interface DemoOptions {
  /** The page: `index.html`, `styles.css`, `favicon.svg` and the built app in `dist/app.js` (apps/demo). */
  dir: string;
  /** The browser builds of the client SDK: `tether.js`, `tether.esm.js` (packages/client/dist/browser). */
  sdkDir: string;
  /** The OpenTok facade's browser build, `opentok.js` (packages/opentok/dist/browser). Default: not served. */
  opentokDir?: string;
}

/** The demo's session names, in memory; past this many the oldest name is forgotten (its session id stays valid). */
const MAX_SESSION_NAMES = 10_000;

const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  css: 'text/css; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  map: 'application/json; charset=utf-8',
  svg: 'image/svg+xml',
};

const joinBodySchema = z.object({
  name: z.string().trim().min(1).max(64),
  session: z.string().trim().min(1).max(64),
});

/**
 * The page `tether serve` shows at `/`, the SDK it loads from `/sdk/`, and — on the
 * development project only — `POST /dev/join`, which hands out a session id and a token for a
 * session name, so the page works without an application back end. A fixed list of files
 * (no path from a request ever reaches the file system), gzipped for browsers that accept it.
 */
export function registerDemoRoutes(
  app: FastifyInstance,
  demo: DemoOptions,
  devProject: Project | undefined,
): void {
  const files: Record<string, string> = {
    '/': join(demo.dir, 'index.html'),
    '/styles.css': join(demo.dir, 'styles.css'),
    '/favicon.svg': join(demo.dir, 'favicon.svg'),
    '/app.js': join(demo.dir, 'dist', 'app.js'),
    '/app.js.map': join(demo.dir, 'dist', 'app.js.map'),
    '/sdk/tether.js': join(demo.sdkDir, 'tether.js'),
    '/sdk/tether.js.map': join(demo.sdkDir, 'tether.js.map'),
    '/sdk/tether.esm.js': join(demo.sdkDir, 'tether.esm.js'),
    '/sdk/tether.esm.js.map': join(demo.sdkDir, 'tether.esm.js.map'),
    ...(demo.opentokDir
      ? {
          '/sdk/opentok.js': join(demo.opentokDir, 'opentok.js'),
          '/sdk/opentok.js.map': join(demo.opentokDir, 'opentok.js.map'),
        }
      : {}),
  };
  const cache = new FileCache();
  for (const [route, file] of Object.entries(files))
    app.get(route, (req, reply) => {
      // The SDK is loaded by other origins' pages (an OpenTok app swaps its script URL for ours):
      // readable cross-origin, for <script crossorigin>, module imports and source maps.
      if (route.startsWith('/sdk/'))
        reply
          .header('access-control-allow-origin', '*')
          .header('cross-origin-resource-policy', 'cross-origin');
      return sendFile(reply, cache, file, /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? '')));
    });

  if (!devProject) return; // with real projects, tokens come from the application's back end
  const sessions = new Map<string, string>();
  const sessionFor = (name: string): string => {
    const key = name.toLowerCase();
    let id = sessions.get(key);
    if (!id) {
      if (sessions.size >= MAX_SESSION_NAMES) sessions.delete(sessions.keys().next().value as string);
      id = createSessionId({ ...devProject, mediaMode: 'routed' });
      sessions.set(key, id);
    }
    return id;
  };

  app.post('/dev/join', async (req) => {
    const parsed = joinBodySchema.safeParse(req.body ?? {});
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new TetherError(
        'API_BODY_INVALID',
        `${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid'} (send {name, session})`,
      );
    }
    const { name, session } = parsed.data;
    const sessionId = sessionFor(session);
    const token = await createToken({
      ...devProject,
      sessionId,
      role: 'publisher',
      data: name.slice(0, LIMITS.connectionDataMaxLength),
    });
    // The URL the page reached us by: through a proxy, its WebSocket takes the same path.
    return { url: `${req.protocol}://${req.headers.host ?? req.hostname}`, sessionId, token };
  });
}

/** Files as last read, and their gzip, keyed by path; refreshed when a file changes (a rebuild). */
class FileCache {
  private readonly entries = new Map<string, { mtimeMs: number; body: Buffer; gzip: Buffer | undefined }>();

  async get(file: string): Promise<{ body: Buffer; gzip: () => Buffer } | undefined> {
    let mtimeMs: number;
    try {
      mtimeMs = (await stat(file)).mtimeMs;
    } catch {
      return undefined;
    }
    let entry = this.entries.get(file);
    if (!entry || entry.mtimeMs !== mtimeMs) {
      entry = { mtimeMs, body: await readFile(file), gzip: undefined };
      this.entries.set(file, entry);
    }
    const e = entry;
    return { body: e.body, gzip: () => (e.gzip ??= gzipSync(e.body)) };
  }
}

async function sendFile(
  reply: FastifyReply,
  cache: FileCache,
  file: string,
  gzip: boolean,
): Promise<FastifyReply> {
  const entry = await cache.get(file).catch(() => undefined);
  if (!entry)
    return reply.code(404).send({
      code: 'API_NOT_FOUND',
      message: errorMessage('API_NOT_FOUND', `${file} is missing: run \`npm run build\``),
    });
  const ext = file.slice(file.lastIndexOf('.') + 1);
  reply
    .header('content-type', TYPES[ext] ?? 'application/octet-stream')
    .header('cache-control', 'no-cache')
    .header('vary', 'accept-encoding')
    .header('x-content-type-options', 'nosniff')
    .header(
      'content-security-policy',
      "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self' blob: mediastream:; connect-src 'self' ws: wss: http: https:",
    );
  return gzip ? reply.header('content-encoding', 'gzip').send(entry.gzip()) : reply.send(entry.body);
}
