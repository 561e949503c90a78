// What an application back end signs with its project secret. Verifying is the server's job,
// so the verifiers are exported by @tether/auth only.
export {
  createApiToken,
  createSessionId,
  createToken,
  type CreateApiTokenOptions,
  type CreateSessionIdOptions,
  type CreateTokenOptions,
} from '@tether/auth';
export { TetherApi, type TetherApiOptions, type TokenOptions } from './client.js';
// Re-exported so an application back end can catch and type errors without a second dependency.
export {
  TetherError,
  type Archive,
  type ArchiveList,
  type ArchiveStream,
  type ErrorCode,
  type ListArchivesQuery,
  type Role,
  type SessionInfo,
  type StartArchiveBody,
  type TokenClaims,
} from '@tether/protocol';
