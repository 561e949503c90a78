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
export { Callbacks, type CallbackOptions, type DropReason } from './callbacks/dispatcher.js';
export { parseCallbackTarget, type CallbackTarget } from './callbacks/targets.js';
export { DEFAULT_RETRY_POLICY, type RetryPolicy } from './callbacks/backoff.js';
export {
  DEFAULT_QUEUE_LIMITS as DEFAULT_CALLBACK_QUEUE_LIMITS,
  type QueueLimits as CallbackQueueLimits,
} from './callbacks/queue.js';
export type { ArchiveStore, ArchiveRecord, ArchivePatch } from './archive/store.js';
export type { ArchiveStorage } from './archive/storage.js';
export { SqliteArchiveStore } from './archive/sqlite-store.js';
export { RedisArchiveStore } from './archive/redis-store.js';
export { LocalArchiveStorage } from './archive/storage.js';
