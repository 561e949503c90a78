import { LIMITS, systemClock, type Clock, type TransportConfig } from '@tether/protocol';
import Fastify, { type FastifyInstance } from 'fastify';
import { pino, type Logger } from 'pino';
import { WebSocketServer } from 'ws';
import { DEFAULTS, defaultSendBufferMaxBytes, type ServerOptions } from './config.js';
import { registerDemoArchiveRoutes } from './demo-archive-routes.js';
import { registerDemoRoutes, type DemoOptions } from './demo-routes.js';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { parseSessionId } from '@tether/auth';
import { registerArchiveApi } from './archive-api.js';
import { Archives } from './archive/archives.js';
import { SqliteArchiveStore } from './archive/sqlite-store.js';
import { LocalArchiveStorage } from './archive/storage.js';
import { registerHttpApi } from './http-api.js';
import { registerOpenTokApi } from './opentok-api.js';
import { registerOpenTokArchiveApi } from './opentok-archive-api.js';
import { MemoryEngine } from './cluster/memory-engine.js';
import { Hub } from './hub.js';
import { createMetrics } from './metrics.js';
import type { OutboxLimits } from './outbox.js';
import { Projects, loadOrCreateDevProject, type Project } from './projects.js';
import { serveSocket } from './socket.js';
import { Callbacks } from './callbacks/dispatcher.js';

/** Path of the client WebSocket endpoint. */
export const WS_PATH = '/v1/ws';

export interface TetherServer {
  /** `http://host:port` — clients and the server SDK take this URL. */
  readonly url: string;
  readonly port: number;
  readonly projects: Projects;
  /** Set when no project was configured and a development project is in use. */
  readonly devProject: (Project & { created: boolean }) | undefined;
  readonly hub: Hub;
  /** This node's archives (recordings of routed sessions). */
  readonly archives: Archives;
  readonly http: FastifyInstance;
  readonly log: Logger;
  /**
   * Callbacks to the application back ends (README, Callbacks): session monitoring events go
   * by themselves; `callbacks.emit(payload)` sends others (an archive's status).
   */
  readonly callbacks: Callbacks;
  /** Ends every connection with `serverShutdown` and stops listening. */
  close(): Promise<void>;
  /**
   * Cluster: moves every client to other nodes (SERVER_DRAINING; they resume there), then
   * leaves the cluster and stops. Resolves with how many had not moved within `timeoutMs`.
   */
  drain(timeoutMs: number, progress?: (left: number) => void): Promise<number>;
}

/** Starts a Tether server: WebSocket endpoint and HTTP API on one port. */
export async function startServer(
  options: ServerOptions & {
    /** Serve the demo page at `/` and the browser SDK at `/sdk/` (`tether serve` does). Default off. */
    demo?: DemoOptions | false;
  } = {},
  clock: Clock = systemClock,
): Promise<TetherServer> {
  const log = pino({ level: options.logLevel ?? 'info', base: undefined });
  let devProject: TetherServer['devProject'];
  let list = options.projects ?? [];
  if (list.length === 0) {
    const { project, created } = loadOrCreateDevProject(options.dataDir ?? DEFAULTS.dataDir);
    devProject = { ...project, created };
    list = [project];
  }
  const projects = new Projects(list);
  const transport: TransportConfig = { ...DEFAULTS.transport, ...options.transport };
  const outbox: OutboxLimits = { ...DEFAULTS.outbox, ...options.outbox };

  const sendBufferMaxBytes = options.sendBufferMaxBytes ?? defaultSendBufferMaxBytes(outbox);

  const engine = options.engine ?? new MemoryEngine();
  const metrics = createMetrics(
    () => hub.sizes(),
    () => callbacks.sizes(),
  );
  const callbacks: Callbacks = new Callbacks(
    options.callbacks,
    (key) => projects.secretFor(key) !== undefined,
    {
      secretFor: (key) => projects.secretFor(key),
      clock,
      log: log.child({ component: 'callbacks' }),
      metrics,
    },
  );
  const dataDir = options.dataDir ?? DEFAULTS.dataDir;
  const store = options.archives?.store ?? new SqliteArchiveStore(join(dataDir, 'archives.db'));
  const storage = options.archives?.storage ?? new LocalArchiveStorage(join(dataDir, 'archives'));
  const archives: Archives = new Archives({
    store,
    storage,
    clock,
    log,
    owner: storage.owner,
    room: (id) => hub.room(id),
    streamCount: async (id) => (await hub.sessions.state(id)).streams.length,
    append: (id, entries) => engine.append(id, entries),
    projectOf: (id) => parseSessionId(id, (key) => projects.secretFor(key)).apiKey,
    ...(options.archives?.ffmpeg ? { ffmpeg: options.archives.ffmpeg } : {}),
    // Each status change is a callback, sent by the node that made it (README, Callbacks).
    statusChanged: (record) =>
      callbacks.emit({
        id: randomUUID(),
        apiKey: record.project,
        sessionId: record.sessionId,
        timestamp: clock.now(),
        event: 'archive',
        archive: {
          id: record.id,
          name: record.name.slice(0, LIMITS.streamNameMaxLength),
          status: record.status,
          outputMode: record.outputMode,
          createdAt: Math.floor(record.createdAt),
          ...(record.duration !== undefined ? { duration: record.duration } : {}),
          ...(record.size !== undefined ? { size: record.size } : {}),
          ...(record.reason !== undefined ? { reason: record.reason } : {}),
        },
      }),
  });
  // What a previous process left recording (it died mid-way) is failed, its files repaired.
  await archives.recover();
  const hub: Hub = new Hub({
    clock,
    projects,
    transport,
    limits: { outbox, sendBufferMaxBytes },
    interrupted: { ...DEFAULTS.interrupted, ...options.interrupted },
    log,
    metrics,
    mediaTimeoutMs: options.mediaTimeoutMs ?? DEFAULTS.mediaTimeoutMs,
    engine,
    callbacks,
    recordings: {
      mediaReady: (room) => archives.mediaReady(room),
      request: (room, request) => archives.request(room, request),
      roomClosed: (room) => archives.roomClosed(room),
      running: async (id) => {
        const record = await store.recording(id);
        return record && { id: record.id, name: record.name };
      },
    },
  });

  const http = Fastify({
    loggerInstance: log.child({ component: 'http' }, { level: 'warn' }),
    bodyLimit: 64 * 1024,
    routerOptions: { maxParamLength: 1024 },
  }) as unknown as FastifyInstance;
  registerHttpApi(http, hub, projects, metrics, () => clock.now());
  registerOpenTokApi(http, hub, projects, () => clock.now());
  registerArchiveApi(http, archives, storage, projects, () => clock.now());
  registerOpenTokArchiveApi(http, archives, projects, () => clock.now());
  if (options.demo) registerDemoRoutes(http, options.demo, devProject);
  if (options.demo && devProject) registerDemoArchiveRoutes(http, archives, storage, devProject);

  // A hard cap at the WebSocket layer (close 1009); below it, the protocol's own 64 KiB limit has its own code.
  const wss = new WebSocketServer({ noServer: true, maxPayload: LIMITS.frameHardCapBytes });
  http.server.on('upgrade', (req, socket, head) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== WS_PATH) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => serveSocket(ws, hub, clock, log, metrics));
  });

  await http.listen({ port: options.port ?? DEFAULTS.port, host: options.host ?? DEFAULTS.host });
  const address = http.server.address();
  const port = typeof address === 'object' && address ? address.port : (options.port ?? DEFAULTS.port);
  const host = options.host ?? DEFAULTS.host;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  return {
    url,
    port,
    projects,
    devProject,
    hub,
    archives,
    http,
    log,
    callbacks,
    async drain(timeoutMs, progress) {
      const left = await hub.drain(timeoutMs, progress);
      // What has not moved is handed to the other nodes by the engine's graceful leave.
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      await http.close();
      await archives.close();
      // Its events are appended before the engine stops (at most the flush timeout more).
      await callbacks.close();
      await engine.close();
      await store.close();
      return left;
    },
    async close() {
      hub.shutdown();
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      await http.close();
      await archives.close();
      // The byes' events are appended (the engine still up), then sent within the flush timeout.
      await callbacks.close();
      await engine.close();
      await store.close();
    },
  };
}
