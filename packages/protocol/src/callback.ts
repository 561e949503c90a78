import * as z from 'zod/mini';
import { ARCHIVE_STATUSES } from './archive.js';
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

/**
 * The schemas are built on first use, not at import: the browser SDK imports this package and
 * never checks a callback, so its bundle must not carry them (bundle-size.test.ts).
 */
function build() {
  const apiKeySchema = z.string().check(z.minLength(1), z.maxLength(128));

  /** The connection an event is about (the owner, for a stream). */
  const connection = z.object({
    id: idSchema,
    data: z.string().check(z.maxLength(LIMITS.connectionDataMaxLength)),
    /** Its `creationTime`, ms since the epoch. */
    createdAt: z.int().check(z.nonnegative()),
  });

  const stream = z.object({
    id: idSchema,
    name: z.string().check(z.maxLength(LIMITS.streamNameMaxLength)),
    hasAudio: z.boolean(),
    hasVideo: z.boolean(),
    videoType: videoTypeSchema,
    createdAt: z.int().check(z.nonnegative()),
  });

  const archive = z.object({
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

  const common = {
    /** Unique per event (a UUID); the same on every retry. */
    id: idSchema,
    apiKey: apiKeySchema,
    sessionId: sessionIdSchema,
    /** When the event happened, ms since the epoch (the sending node's clock). */
    timestamp: z.int().check(z.nonnegative()),
  };

  const payload = z.discriminatedUnion('event', [
    z.object({ ...common, event: z.literal('connectionCreated'), connection }),
    z.object({ ...common, event: z.literal('connectionDestroyed'), connection, reason: reasonSchema }),
    z.object({ ...common, event: z.literal('streamCreated'), connection, stream }),
    z.object({ ...common, event: z.literal('streamDestroyed'), connection, stream, reason: reasonSchema }),
    z.object({ ...common, event: z.literal('archive'), archive }),
  ]);
  return { connection, stream, archive, payload };
}

type Schemas = ReturnType<typeof build>;
let built: Schemas | undefined;

/** The schema of every callback body (README, Callbacks). */
export function callbackPayloadSchema(): Schemas['payload'] {
  return (built ??= build()).payload;
}

export type CallbackPayload = z.infer<Schemas['payload']>;
export type CallbackEvent = CallbackPayload['event'];
export type CallbackConnection = z.infer<Schemas['connection']>;
export type CallbackStream = z.infer<Schemas['stream']>;
export type CallbackArchive = z.infer<Schemas['archive']>;
