import * as z from 'zod/mini';
import { idSchema, sessionIdSchema } from './model.js';

/**
 * Archives (recordings of routed sessions): the record the HTTP API returns and the bodies it
 * takes, shared by the server (which validates them) and the server SDK (which types its
 * calls with them). Times are epoch ms; `duration` is in seconds (ms precision), as OpenTok's.
 */

export const ARCHIVE_STATUSES = ['started', 'stopped', 'available', 'failed'] as const;
export const archiveStatusSchema = z.enum(ARCHIVE_STATUSES);
export type ArchiveStatus = z.infer<typeof archiveStatusSchema>;

export const archiveOutputModeSchema = z.enum(['composed', 'individual']);
export type ArchiveOutputMode = z.infer<typeof archiveOutputModeSchema>;

/** The composed file's frame size (landscape or portrait). */
export const ARCHIVE_RESOLUTIONS = ['640x480', '1280x720', '480x640', '720x1280'] as const;
export const archiveResolutionSchema = z.enum(ARCHIVE_RESOLUTIONS);

/** How a composed archive lays its streams out: `bestFit`, a grid as square as the streams allow. */
export const archiveLayoutSchema = z.object({ type: z.enum(['bestFit']) });

/** Why an archive failed (`reason` of a failed record): a fixed set, never free text. */
export const ARCHIVE_FAILURES = [
  /** The server stopped (crashed, or was killed) while recording; what was written is kept. */
  'serverRestarted',
  /** A file could not be written, or composing it failed. */
  'storageFailed',
  'composeFailed',
  /** The session's media moved to another node (its media home went away) while recording. */
  'mediaMoved',
] as const;
export const archiveFailureSchema = z.enum(ARCHIVE_FAILURES);
export type ArchiveFailure = z.infer<typeof archiveFailureSchema>;

/** Why an archive stopped without a stop call: its session ended (the last client left), or it reached its `maxDuration`. */
export const ARCHIVE_REASONS = [...ARCHIVE_FAILURES, 'sessionEnded', 'maxDuration'] as const;

/** An archive stops by itself after `maxDuration` seconds: 2 hours by default, at most 4 (as OpenTok's). */
export const ARCHIVE_MAX_DURATION_DEFAULT_S = 7200;
export const ARCHIVE_MAX_DURATION_LIMIT_S = 14_400;
export const archiveReasonSchema = z.enum(ARCHIVE_REASONS);
export type ArchiveReason = z.infer<typeof archiveReasonSchema>;

/** One stream's file in an archive: when it appears and disappears, relative to the archive's start. */
export const archiveStreamSchema = z.object({
  streamId: idSchema,
  connectionId: idSchema,
  name: z.string(),
  /** The file's name, for `GET /v1/archives/:id/download?file=`. */
  file: z.string(),
  /** ms after the archive started when its first packet was written. */
  startOffset: z.int().check(z.nonnegative()),
  /** ms after the archive started when it ended (absent while it records). */
  stopOffset: z.optional(z.int().check(z.nonnegative())),
  hasAudio: z.boolean(),
  hasVideo: z.boolean(),
  size: z.int().check(z.nonnegative()),
});
export type ArchiveStream = z.infer<typeof archiveStreamSchema>;

export const archiveSchema = z.object({
  id: idSchema,
  sessionId: sessionIdSchema,
  name: z.string(),
  outputMode: archiveOutputModeSchema,
  hasAudio: z.boolean(),
  hasVideo: z.boolean(),
  resolution: archiveResolutionSchema,
  layout: archiveLayoutSchema,
  status: archiveStatusSchema,
  /** Why it failed or stopped by itself. */
  reason: z.optional(archiveReasonSchema),
  createdAt: z.int().check(z.nonnegative()),
  /** Seconds recorded (0 while it records). */
  duration: z.number().check(z.nonnegative()),
  /** Bytes of its files. */
  size: z.int().check(z.nonnegative()),
  streams: z.array(archiveStreamSchema),
});
export type Archive = z.infer<typeof archiveSchema>;

export { ARCHIVE_NAME_MAX_LENGTH } from './model.js';
import { ARCHIVE_NAME_MAX_LENGTH } from './model.js';

export const startArchiveBodySchema = z.strictObject({
  sessionId: sessionIdSchema,
  name: z._default(z.string().check(z.maxLength(ARCHIVE_NAME_MAX_LENGTH)), ''),
  outputMode: z._default(archiveOutputModeSchema, 'composed'),
  hasAudio: z._default(z.boolean(), true),
  hasVideo: z._default(z.boolean(), true),
  resolution: z._default(archiveResolutionSchema, '640x480'),
  layout: z._default(archiveLayoutSchema, { type: 'bestFit' }),
  maxDuration: z._default(
    z.int().check(z.minimum(1), z.maximum(ARCHIVE_MAX_DURATION_LIMIT_S)),
    ARCHIVE_MAX_DURATION_DEFAULT_S,
  ),
});
export type StartArchiveBody = z.input<typeof startArchiveBodySchema>;

/** `GET /v1/archives?sessionId=&offset=&count=`: newest first. */
export const listArchivesQuerySchema = z.strictObject({
  sessionId: z.optional(sessionIdSchema),
  offset: z._default(z.pipe(z.coerce.number(), z.int().check(z.nonnegative())), 0),
  count: z._default(z.pipe(z.coerce.number(), z.int().check(z.minimum(1), z.maximum(1000))), 50),
});
export type ListArchivesQuery = z.input<typeof listArchivesQuerySchema>;

export const archiveListSchema = z.object({
  /** How many archives match, in all. */
  count: z.int().check(z.nonnegative()),
  items: z.array(archiveSchema),
});
export type ArchiveList = z.infer<typeof archiveListSchema>;

export { runningArchiveSchema, type RunningArchive } from './model.js';
