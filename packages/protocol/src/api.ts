import * as z from 'zod/mini';
import {
  archiveModeSchema,
  connectionInfoSchema,
  idSchema,
  mediaModeSchema,
  sessionInfoSchema,
  streamInfoSchema,
} from './model.js';

/**
 * HTTP API bodies, shared by the server (which validates them) and the server SDK (which
 * types its calls with them). Every route is under `/v1` and needs
 * `Authorization: Bearer <jwt>`: HS256, signed with the project secret, `iss` = API key,
 * `ist` = "project", and `exp` at most 5 minutes ahead.
 */

export const createSessionBodySchema = z.strictObject({
  mediaMode: z._default(mediaModeSchema, 'routed'),
  archiveMode: z._default(archiveModeSchema, 'manual'),
  /** A large session (a webinar): subscribers are not told of each other's presence (PROTOCOL.md, Large sessions). */
  connectionEventsSuppressed: z.optional(z.boolean()),
});
export type CreateSessionBody = z.input<typeof createSessionBodySchema>;

export const apiSignalBodySchema = z.strictObject({
  type: z.string(),
  data: z.string(),
  /** A connection id; without it the signal goes to every connection of the session. */
  to: z.optional(idSchema),
});
export type ApiSignalBody = z.infer<typeof apiSignalBodySchema>;

export const apiSessionResponseSchema = sessionInfoSchema;
export const apiConnectionsResponseSchema = z.object({
  connections: z.array(z.extend(connectionInfoSchema, { reconnecting: z.boolean() })),
});
export const apiStreamsResponseSchema = z.object({ streams: z.array(streamInfoSchema) });
export const apiSignalResponseSchema = z.object({ delivered: z.int().check(z.nonnegative()) });
export const apiErrorResponseSchema = z.object({ code: z.string(), message: z.string() });

export type ApiConnectionsResponse = z.infer<typeof apiConnectionsResponseSchema>;
export type ApiStreamsResponse = z.infer<typeof apiStreamsResponseSchema>;
export type ApiSignalResponse = z.infer<typeof apiSignalResponseSchema>;
export type ApiErrorResponse = z.infer<typeof apiErrorResponseSchema>;

/** Maximum lifetime of an API token, in seconds. */
export const API_TOKEN_MAX_TTL_SECONDS = 300;

/**
 * OpenTok's REST bodies (README, "Porting from OpenTok"): what the official `opentok` server
 * SDK sends, checked as strictly as Tether's own. `POST /session/create` is a form.
 */
export const openTokCreateSessionFormSchema = z.object({
  archiveMode: z._default(archiveModeSchema, 'manual'),
  /** `enabled`: relayed (peer to peer); `disabled`: routed. OpenTok's default is relayed. */
  'p2p.preference': z._default(z.enum(['enabled', 'disabled']), 'enabled'),
  location: z.optional(z.string().check(z.maxLength(64))),
  e2ee: z.optional(z.string()),
});
export const openTokSignalBodySchema = z.object({
  type: z._default(z.string(), ''),
  data: z.string(),
});
