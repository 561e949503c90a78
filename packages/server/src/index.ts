export { startServer, WS_PATH, type TetherServer } from './server.js';
export { DEFAULTS, type ServerOptions } from './config.js';
export type { Project } from './projects.js';
export { DEFAULT_OUTBOX_LIMITS, type OutboxLimits } from './outbox.js';
