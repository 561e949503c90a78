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
export { verifyCallback, type CallbackHeaders, type VerifyCallbackOptions } from './callback.js';
// Re-exported so an application back end can catch and type errors without a second dependency.
export {
  CALLBACK_HEADERS,
  TetherError,
  type CallbackArchive,
  type CallbackConnection,
  type CallbackEvent,
  type CallbackPayload,
  type CallbackStream,
  type ErrorCode,
  type Role,
  type SessionInfo,
  type Archive,
  type ArchiveList,
  type ArchiveStream,
  type ListArchivesQuery,
  type StartArchiveBody,
  type TokenClaims,
} from '@tether/protocol';
