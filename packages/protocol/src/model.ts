import { z } from 'zod';
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
export const idSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9_\-.~]+$/);
export const sessionIdSchema = z
  .string()
  .min(1)
  .max(512)
  .regex(/^[A-Za-z0-9_\-.~]+$/);

export const connectionInfoSchema = z.object({
  connectionId: idSchema,
  data: z.string().max(LIMITS.connectionDataMaxLength),
  creationTime: z.number().int().nonnegative(),
});
export type ConnectionInfo = z.infer<typeof connectionInfoSchema>;

export const videoTypeSchema = z.enum(['camera', 'screen']);
export type VideoType = z.infer<typeof videoTypeSchema>;

export const streamPropertiesSchema = z.object({
  name: z.string().max(LIMITS.streamNameMaxLength).default(''),
  hasAudio: z.boolean().default(true),
  hasVideo: z.boolean().default(true),
  videoType: videoTypeSchema.default('camera'),
});
export type StreamProperties = z.infer<typeof streamPropertiesSchema>;
export type StreamPropertiesInput = z.input<typeof streamPropertiesSchema>;

export const streamInfoSchema = z.object({
  streamId: idSchema,
  connectionId: idSchema,
  name: z.string().max(LIMITS.streamNameMaxLength),
  hasAudio: z.boolean(),
  hasVideo: z.boolean(),
  videoType: videoTypeSchema,
  creationTime: z.number().int().nonnegative(),
});
export type StreamInfo = z.infer<typeof streamInfoSchema>;

export const signalTypeSchema = z.string().min(1).max(LIMITS.signalTypeMaxLength).regex(SIGNAL_TYPE_ALPHABET);
export const signalDataSchema = z
  .string()
  .refine((s) => s.length <= LIMITS.signalDataMaxBytes * 4 && utf8Bytes(s) <= LIMITS.signalDataMaxBytes, {
    message: `data must be at most ${LIMITS.signalDataMaxBytes} UTF-8 bytes`,
  });

export const sessionInfoSchema = z.object({
  sessionId: sessionIdSchema,
  mediaMode: mediaModeSchema,
  archiveMode: archiveModeSchema,
  creationTime: z.number().int().nonnegative(),
});
export type SessionInfo = z.infer<typeof sessionInfoSchema>;

/** Claims of a client token (a JWT, HS256, signed with the project secret, `iss` = API key). */
export const tokenClaimsSchema = z.object({
  iss: z.string().min(1).max(128),
  sid: sessionIdSchema,
  role: roleSchema,
  data: z.string().max(LIMITS.connectionDataMaxLength).default(''),
  iat: z.number().int(),
  exp: z.number().int(),
  jti: z.string().max(128).optional(),
});
export type TokenClaims = z.infer<typeof tokenClaimsSchema>;
