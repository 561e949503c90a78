// zod/mini, imported as a namespace: a bundler keeps only what the schemas use (the browser
// build's budget is in packages/client/test/bundle-size.test.ts).
import * as z from 'zod/mini';
import './schema-messages.js';
import { LIMITS, SIGNAL_TYPE_ALPHABET, utf8Bytes } from './limits.js';
import { REASONS } from './reasons.js';

export const ROLES = ['subscriber', 'publisher', 'moderator'] as const;
export const roleSchema = z.enum(ROLES);
export type Role = z.infer<typeof roleSchema>;

export const mediaModeSchema = z.enum(['routed', 'relayed']);
export type MediaMode = z.infer<typeof mediaModeSchema>;
export const archiveModeSchema = z.enum(['manual', 'always']);
export type ArchiveMode = z.infer<typeof archiveModeSchema>;

export const reasonSchema = z.enum(REASONS);

/** Ids are opaque printable strings; bounded so a frame cannot smuggle megabytes through them. */
export const idSchema = z.string().check(z.minLength(1), z.maxLength(128), z.regex(/^[A-Za-z0-9_\-.~]+$/));
export const sessionIdSchema = z
  .string()
  .check(z.minLength(1), z.maxLength(512), z.regex(/^[A-Za-z0-9_\-.~]+$/));

export const connectionInfoSchema = z.object({
  connectionId: idSchema,
  data: z.string().check(z.maxLength(LIMITS.connectionDataMaxLength)),
  creationTime: z.int().check(z.nonnegative()),
});
export type ConnectionInfo = z.infer<typeof connectionInfoSchema>;

export const videoTypeSchema = z.enum(['camera', 'screen']);
export type VideoType = z.infer<typeof videoTypeSchema>;

export const streamPropertiesSchema = z.object({
  name: z._default(z.string().check(z.maxLength(LIMITS.streamNameMaxLength)), ''),
  hasAudio: z._default(z.boolean(), true),
  hasVideo: z._default(z.boolean(), true),
  videoType: z._default(videoTypeSchema, 'camera'),
});
export type StreamProperties = z.infer<typeof streamPropertiesSchema>;
export type StreamPropertiesInput = z.input<typeof streamPropertiesSchema>;

export const streamInfoSchema = z.object({
  streamId: idSchema,
  connectionId: idSchema,
  name: z.string().check(z.maxLength(LIMITS.streamNameMaxLength)),
  hasAudio: z.boolean(),
  hasVideo: z.boolean(),
  videoType: videoTypeSchema,
  creationTime: z.int().check(z.nonnegative()),
});
export type StreamInfo = z.infer<typeof streamInfoSchema>;

export const signalTypeSchema = z
  .string()
  .check(z.minLength(1), z.maxLength(LIMITS.signalTypeMaxLength), z.regex(SIGNAL_TYPE_ALPHABET));
export const signalDataSchema = z.string().check(
  z.refine((s) => s.length <= LIMITS.signalDataMaxBytes * 4 && utf8Bytes(s) <= LIMITS.signalDataMaxBytes, {
    error: `data must be at most ${LIMITS.signalDataMaxBytes} UTF-8 bytes`,
  }),
);

export const sessionInfoSchema = z.object({
  sessionId: sessionIdSchema,
  mediaMode: mediaModeSchema,
  archiveMode: archiveModeSchema,
  creationTime: z.int().check(z.nonnegative()),
  /** Subscribers are not told of each other's presence (PROTOCOL.md, Large sessions); absent: false. */
  connectionEventsSuppressed: z.optional(z.boolean()),
});
export type SessionInfo = z.infer<typeof sessionInfoSchema>;

/** Claims of a client token (a JWT, HS256, signed with the project secret, `iss` = API key). */
export const tokenClaimsSchema = z.object({
  iss: z.string().check(z.minLength(1), z.maxLength(128)),
  sid: sessionIdSchema,
  role: roleSchema,
  data: z._default(z.string().check(z.maxLength(LIMITS.connectionDataMaxLength)), ''),
  iat: z.int(),
  exp: z.int(),
  jti: z.optional(z.string().check(z.maxLength(128))),
});
export type TokenClaims = z.infer<typeof tokenClaimsSchema>;

/**
 * Claims of an OpenTok client token, as the official `opentok` package signs them (a JWT with
 * `scope: 'session.connect'`, or the fields of a `T1==` token, numbers as text). Tether maps
 * them onto its own (auth's opentok.ts); `publisheronly` is a publisher.
 */
export const openTokTokenClaimsSchema = z.object({
  session_id: sessionIdSchema,
  role: z.optional(z.enum(['publisher', 'publisheronly', 'subscriber', 'moderator'])),
  connection_data: z.optional(z.string()),
  create_time: z.optional(z.coerce.number()),
  expire_time: z.coerce.number(),
  nonce: z.optional(z.union([z.string(), z.number()])),
});
export type OpenTokTokenClaims = z.infer<typeof openTokTokenClaimsSchema>;

/** An archive's name is at most this long. */
export const ARCHIVE_NAME_MAX_LENGTH = 256;

/** What a client knows of a session's running archive (welcome, `archiveStarted`); the record itself is in archive.ts. */
export const runningArchiveSchema = z.object({
  id: idSchema,
  name: z.string().check(z.maxLength(ARCHIVE_NAME_MAX_LENGTH)),
});
export type RunningArchive = z.infer<typeof runningArchiveSchema>;
