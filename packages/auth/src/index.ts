// Signing and verifying what a project secret signs: client tokens, API tokens, session ids.
// The server verifies, application back ends (through @tether/server-sdk) and the CLI sign.
export { createToken, verifyToken, type CreateTokenOptions } from './tokens.js';
export {
  createSessionId,
  parseSessionId,
  peekSessionApiKey,
  type CreateSessionIdOptions,
  type ParsedSessionId,
} from './session-id.js';
export { createApiToken, verifyApiToken, type CreateApiTokenOptions } from './api-token.js';
// The SDK's HTTP client validates credentials and reports schema issues the same way.
export { checkCredentials, describeIssues, type LookupSecret, type VerifyOptions } from './credentials.js';
// OpenTok's session ids and tokens, for back ends on the official `opentok` package.
export { OPENTOK_SESSION_PREFIX, unwrapOpenTokSessionId, wrapOpenTokSessionId } from './opentok.js';
