export { createToken, verifyToken, type CreateTokenOptions } from './tokens.js';
export {
  createSessionId,
  parseSessionId,
  peekSessionApiKey,
  type CreateSessionIdOptions,
  type ParsedSessionId,
} from './session-id.js';
export { createApiToken, verifyApiToken, type CreateApiTokenOptions } from './api-token.js';
export { TetherApi, type TetherApiOptions, type TokenOptions } from './client.js';
export type { LookupSecret, VerifyOptions } from './credentials.js';
// Re-exported so an application back end can catch and type errors without a second dependency.
export { TetherError, type ErrorCode, type Role, type SessionInfo, type TokenClaims } from '@tether/protocol';
