export { startServer, WS_PATH, type TetherServer } from './server.js';
export { DEFAULTS, type ServerOptions } from './config.js';
export type { Project } from './projects.js';
export { DEFAULT_OUTBOX_LIMITS, type OutboxLimits } from './outbox.js';
export type { ClusterEngine } from './cluster/engine.js';
export { MemoryEngine } from './cluster/memory-engine.js';
export {
  RedisEngine,
  RedisUnreachableError,
  type RedisEngineOptions,
  type RedisEngineState,
} from './cluster/redis-engine.js';
export type { ArchiveStore, ArchiveRecord, ArchivePatch } from './archive/store.js';
export type { ArchiveStorage } from './archive/storage.js';
export { SqliteArchiveStore } from './archive/sqlite-store.js';
export { RedisArchiveStore } from './archive/redis-store.js';
export { LocalArchiveStorage } from './archive/storage.js';
