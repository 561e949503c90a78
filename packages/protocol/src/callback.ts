import * as z from 'zod/mini';
import { LIMITS } from './limits.js';
import { idSchema, reasonSchema, sessionIdSchema, videoTypeSchema } from './model.js';

/**
 * Callbacks: what a server POSTs to an application back end's URL (README, Callbacks), shared
 * by the server (which builds and signs them) and the server SDK (`verifyCallback`). One JSON
 * object per request, one event per object.
 */

/** The headers of every callback request (lower case, as Node presents them). */
export const CALLBACK_HEADERS = {
  /** The payload's `id`: the same on every retry of one event, so a receiver can drop duplicates. */
  id: 'tether-callback-id',
  /** Seconds since the epoch when this attempt was signed (each retry is signed afresh). */
  timestamp: 'tether-timestamp',
  /** `v1,<hex HMAC-SHA256 of "<id>.<timestamp>.<body>" with the project secret>`; several, space-separated, when rotating. */
  signature: 'tether-signature',
} as const;

/** How far a callback's timestamp may be from the receiver's clock by default (replay protection). */
export const CALLBACK_TOLERANCE_SECONDS = 300;

/** The largest callback body a server sends: connection data and names are bounded, so this is never near. */
export const CALLBACK_MAX_BYTES = 16 * 1024;

const apiKeySchema = z.string().check(z.minLength(1), z.maxLength(128));

/** The connection an event is about (the owner, for a stream). */
export const callbackConnectionSchema = z.object({
  id: idSchema,
  data: z.string().check(z.maxLength(LIMITS.connectionDataMaxLength)),
  /** Its `creationTime`, ms since the epoch. */
  createdAt: z.int().check(z.nonnegative()),
});
export type CallbackConnection = z.infer<typeof callbackConnectionSchema>;

export const callbackStreamSchema = z.object({
  id: idSchema,
  name: z.string().check(z.maxLength(LIMITS.streamNameMaxLength)),
  hasAudio: z.boolean(),
  hasVideo: z.boolean(),
  videoType: videoTypeSchema,
  createdAt: z.int().check(z.nonnegative()),
});
export type CallbackStream = z.infer<typeof callbackStreamSchema>;

export const ARCHIVE_STATUSES = ['started', 'stopped', 'available', 'failed'] as const;

export const callbackArchiveSchema = z.object({
  id: idSchema,
  name: z.string().check(z.maxLength(LIMITS.streamNameMaxLength)),
  status: z.enum(ARCHIVE_STATUSES),
  outputMode: z.optional(z.enum(['individual', 'composed'])),
  createdAt: z.int().check(z.nonnegative()),
  /** Seconds recorded (stopped and later). */
  duration: z.optional(z.number().check(z.nonnegative())),
  /** Bytes of the file (available). */
  size: z.optional(z.int().check(z.nonnegative())),
  /** Why it failed (failed only): a sentence, for logs. */
  reason: z.optional(z.string().check(z.maxLength(1000))),
});
export type CallbackArchive = z.infer<typeof callbackArchiveSchema>;

const common = {
  /** Unique per event (a UUID); the same on every retry. */
  id: idSchema,
  apiKey: apiKeySchema,
  sessionId: sessionIdSchema,
  /** When the event happened, ms since the epoch (the sending node's clock). */
  timestamp: z.int().check(z.nonnegative()),
};

export const callbackPayloadSchema = z.discriminatedUnion('event', [
  z.object({ ...common, event: z.literal('connectionCreated'), connection: callbackConnectionSchema }),
  z.object({
    ...common,
    event: z.literal('connectionDestroyed'),
    connection: callbackConnectionSchema,
    reason: reasonSchema,
  }),
  z.object({
    ...common,
    event: z.literal('streamCreated'),
    connection: callbackConnectionSchema,
    stream: callbackStreamSchema,
  }),
  z.object({
    ...common,
    event: z.literal('streamDestroyed'),
    connection: callbackConnectionSchema,
    stream: callbackStreamSchema,
    reason: reasonSchema,
  }),
  z.object({ ...common, event: z.literal('archive'), archive: callbackArchiveSchema }),
]);
export type CallbackPayload = z.infer<typeof callbackPayloadSchema>;
export type CallbackEvent = CallbackPayload['event'];
