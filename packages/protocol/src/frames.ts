import * as z from 'zod/mini';
import {
  connectionInfoSchema,
  idSchema,
  reasonSchema,
  roleSchema,
  runningArchiveSchema,
  sessionIdSchema,
  sessionInfoSchema,
  streamInfoSchema,
  streamPropertiesSchema,
} from './model.js';
import { LIMITS } from './limits.js';

/**
 * Frames, both directions. Every frame is a JSON object discriminated by `t`.
 *
 * Reliable frames carry `seq`: 1, 2, 3… per direction and per connection. The receiver
 * acknowledges cumulatively with `ack` (the highest seq it has applied), piggybacked on
 * any frame or in an `ack`/`hb` frame. The sender keeps what is unacknowledged and, on
 * resume, replays everything after the peer's `ack`; the receiver drops any seq it has
 * already applied, so nothing is applied twice.
 */

const seq = z.int().check(z.positive(), z.maximum(Number.MAX_SAFE_INTEGER));
const ack = z.int().check(z.nonnegative(), z.maximum(Number.MAX_SAFE_INTEGER));

// ---------------------------------------------------------------- client → server

const codecNameSchema = z.enum(['json', 'msgpack']);

export const connectFrameSchema = z.object({
  t: z.literal('connect'),
  v: z.int(),
  sessionId: sessionIdSchema,
  token: z.string().check(z.minLength(1), z.maxLength(8192)),
  sdk: z.optional(z.string().check(z.maxLength(64))),
  /** The codec the client would like after the handshake (default json); the answer names the one used. */
  codec: z.optional(codecNameSchema),
});

export const resumeFrameSchema = z.object({
  t: z.literal('resume'),
  v: z.int(),
  sessionId: sessionIdSchema,
  connectionId: idSchema,
  secret: z.string().check(z.minLength(1), z.maxLength(256)),
  /** Highest server seq the client has applied. */
  ack,
  codec: z.optional(codecNameSchema),
});

/** Signal type and data are checked by the server after sequencing, so a bad one gets a reply with its own code. */
export const signalFrameSchema = z.object({
  t: z.literal('signal'),
  seq,
  ack: z.optional(ack),
  type: z.string().check(z.maxLength(1024)),
  data: z.string(),
  to: z.optional(idSchema),
});

export const publishFrameSchema = z.object({
  t: z.literal('publish'),
  seq,
  ack: z.optional(ack),
  stream: streamPropertiesSchema,
});

export const unpublishFrameSchema = z.object({
  t: z.literal('unpublish'),
  seq,
  ack: z.optional(ack),
  streamId: idSchema,
  /** `networkDisconnected` when the publisher gave up after its media window (relayed sessions). */
  reason: z.optional(z.enum(['clientDisconnected', 'networkDisconnected'])),
});

export const forceDisconnectFrameSchema = z.object({
  t: z.literal('forceDisconnect'),
  seq,
  ack: z.optional(ack),
  connectionId: idSchema,
});

export const forceUnpublishFrameSchema = z.object({
  t: z.literal('forceUnpublish'),
  seq,
  ack: z.optional(ack),
  streamId: idSchema,
});

/** SDP is opaque to the protocol; bounded like everything else. */
const sdp = z.string().check(z.minLength(1), z.maxLength(32 * 1024));

/**
 * Routed: the publisher's offer (first, or an ICE restart) for its stream; the reply carries
 * the server's answer. `fresh`: the offer comes from a new peer connection (after
 * `mediaMoved`), so the server starts a new receiving end rather than restart ICE on its own.
 */
export const publishMediaFrameSchema = z.object({
  t: z.literal('publishMedia'),
  seq,
  ack: z.optional(ack),
  streamId: idSchema,
  sdp,
  fresh: z.optional(z.boolean()),
});

/** Subscribe to a stream. Routed: the reply carries the server's offer. Relayed: the publisher will offer through `mediaRelay`. */
export const subscribeFrameSchema = z.object({
  t: z.literal('subscribe'),
  seq,
  ack: z.optional(ack),
  streamId: idSchema,
});

/** Routed: the subscriber's answer to the server's offer. */
export const answerMediaFrameSchema = z.object({
  t: z.literal('answerMedia'),
  seq,
  ack: z.optional(ack),
  subscriptionId: idSchema,
  sdp,
});

/** Routed: ask the server for an ICE-restart offer for a subscription (reply carries it). */
export const restartMediaFrameSchema = z.object({
  t: z.literal('restartMedia'),
  seq,
  ack: z.optional(ack),
  subscriptionId: idSchema,
});

export const unsubscribeFrameSchema = z.object({
  t: z.literal('unsubscribe'),
  seq,
  ack: z.optional(ack),
  subscriptionId: idSchema,
});

/** Relayed: negotiation between publisher and subscriber, passed through the server. */
export const relayKindSchema = z.enum(['offer', 'answer', 'restart']);
export const relayFrameSchema = z.object({
  t: z.literal('relay'),
  seq,
  ack: z.optional(ack),
  subscriptionId: idSchema,
  kind: relayKindSchema,
  sdp: z.optional(sdp),
});

/** Audio/video enabled or disabled by the publisher, reflected to subscribers. */
export const streamPropertyFrameSchema = z.object({
  t: z.literal('streamProperty'),
  seq,
  ack: z.optional(ack),
  streamId: idSchema,
  hasAudio: z.optional(z.boolean()),
  hasVideo: z.optional(z.boolean()),
});

export const ackFrameSchema = z.object({ t: z.literal('ack'), ack });
/**
 * A heartbeat also carries positions: `ack` (highest seq applied) and `seq` (highest
 * reliable seq sent). A receiver that has applied less than `seq` lost frames on this
 * transport (which a clean TCP stream never does, but a broken path can) and resumes.
 */
export const heartbeatFrameSchema = z.object({
  t: z.literal('hb'),
  ack: z.optional(ack),
  seq: z.optional(ack),
  /** Echoes the `ping` of the server's beat, sent as soon as that beat arrives. */
  pong: z.optional(ack),
});
export const leaveFrameSchema = z.object({ t: z.literal('leave') });

export const clientFrameSchema = z.discriminatedUnion('t', [
  connectFrameSchema,
  resumeFrameSchema,
  signalFrameSchema,
  publishFrameSchema,
  unpublishFrameSchema,
  forceDisconnectFrameSchema,
  forceUnpublishFrameSchema,
  publishMediaFrameSchema,
  subscribeFrameSchema,
  answerMediaFrameSchema,
  restartMediaFrameSchema,
  unsubscribeFrameSchema,
  relayFrameSchema,
  streamPropertyFrameSchema,
  ackFrameSchema,
  heartbeatFrameSchema,
  leaveFrameSchema,
]);

export type ClientFrame = z.infer<typeof clientFrameSchema>;
export type ConnectFrame = z.infer<typeof connectFrameSchema>;
export type ResumeFrame = z.infer<typeof resumeFrameSchema>;
export type SignalFrame = z.infer<typeof signalFrameSchema>;
export type PublishFrame = z.infer<typeof publishFrameSchema>;
/** Client frames that carry a sequence number and get a `reply`. */
export type ClientOpFrame = Extract<ClientFrame, { seq: number }>;
/** A client op before the transport numbers it. */
export type ClientOp = ClientOpFrame extends infer F
  ? F extends ClientOpFrame
    ? Omit<F, 'seq' | 'ack'>
    : never
  : never;

// ---------------------------------------------------------------- server → client

export const transportConfigSchema = z.object({
  heartbeatIntervalMs: z.int().check(z.positive()),
  /** The floor of the silence timeout: interval + measured round-trip allowance, at least this. */
  heartbeatTimeoutMs: z.int().check(z.positive()),
  /** Its ceiling (absent: the timeout is fixed at heartbeatTimeoutMs). */
  heartbeatTimeoutMaxMs: z.optional(z.int().check(z.positive())),
  reconnectWindowMs: z.int().check(z.nonnegative()),
  ackDelayMs: z.int().check(z.nonnegative()),
  /** How long media may stay interrupted before the stream is given up (ZEGO's av_retry_time). */
  mediaWindowMs: z.int().check(z.nonnegative()),
});
export type TransportConfig = z.infer<typeof transportConfigSchema>;

export const peerConnectionSchema = z.extend(connectionInfoSchema, {
  /** True while that connection's transport is down inside its reconnect window. */
  reconnecting: z.optional(z.boolean()),
});
export type PeerConnection = z.infer<typeof peerConnectionSchema>;

export const welcomeFrameSchema = z.object({
  t: z.literal('welcome'),
  v: z.int(),
  session: sessionInfoSchema,
  connection: z.extend(connectionInfoSchema, { role: roleSchema }),
  /** Per-connection resume secret: only this client holds it. */
  secret: z.string().check(z.minLength(1), z.maxLength(256)),
  connections: z.array(peerConnectionSchema),
  streams: z.array(streamInfoSchema),
  config: transportConfigSchema,
  /** The codec of every frame after this one (absent: json). */
  codec: z.optional(codecNameSchema),
  /** The session is being recorded (`archiveStarted` came before this client joined). */
  archive: z.optional(runningArchiveSchema),
});

export const resumedFrameSchema = z.object({
  t: z.literal('resumed'),
  /** Highest client seq the server has applied: the client replays everything after it. */
  ack,
  /** Highest server seq sent so far; the server replays (client ack, seq] right after this frame. */
  seq: ack,
  config: transportConfigSchema,
  codec: z.optional(codecNameSchema),
});

const reliable = { seq, ack: z.optional(ack) };

export const connectionCreatedFrameSchema = z.object({
  t: z.literal('connectionCreated'),
  ...reliable,
  connection: connectionInfoSchema,
});
export const connectionDestroyedFrameSchema = z.object({
  t: z.literal('connectionDestroyed'),
  ...reliable,
  connectionId: idSchema,
  reason: reasonSchema,
});
export const connectionReconnectingFrameSchema = z.object({
  t: z.literal('connectionReconnecting'),
  ...reliable,
  connectionId: idSchema,
});
export const connectionReconnectedFrameSchema = z.object({
  t: z.literal('connectionReconnected'),
  ...reliable,
  connectionId: idSchema,
});
/** One change in a `presence` batch: a presence frame without its sequencing. */
export const presenceChangeSchema = z.discriminatedUnion('t', [
  z.object({ t: z.literal('connectionCreated'), connection: connectionInfoSchema }),
  z.object({ t: z.literal('connectionDestroyed'), connectionId: idSchema, reason: reasonSchema }),
  z.object({ t: z.literal('connectionReconnecting'), connectionId: idSchema }),
  z.object({ t: z.literal('connectionReconnected'), connectionId: idSchema }),
]);
export type PresenceChange = z.infer<typeof presenceChangeSchema>;
/**
 * Presence changes made together (in one turn of the server's event loop), in order, as one
 * reliable frame: a join storm costs each member one frame per batch, not one per join. It may
 * name the receiver itself, which ignores that change.
 */
export const presenceFrameSchema = z.object({
  t: z.literal('presence'),
  ...reliable,
  changes: z.array(presenceChangeSchema).check(z.minLength(1), z.maxLength(LIMITS.presenceBatchMaxChanges)),
});
export const streamCreatedFrameSchema = z.object({
  t: z.literal('streamCreated'),
  ...reliable,
  stream: streamInfoSchema,
});
export const streamDestroyedFrameSchema = z.object({
  t: z.literal('streamDestroyed'),
  ...reliable,
  streamId: idSchema,
  connectionId: idSchema,
  reason: reasonSchema,
});
export const signalEventFrameSchema = z.object({
  t: z.literal('signal'),
  ...reliable,
  /** Sender's connection id; null when the server API sent it. */
  from: z.nullable(idSchema),
  type: z.string(),
  data: z.string(),
  /** Set when the signal was addressed to this connection only. */
  to: z.optional(idSchema),
});
export const replyFrameSchema = z.object({
  t: z.literal('reply'),
  ...reliable,
  /** The client seq this answers. */
  re: z.int().check(z.positive()),
  ok: z.boolean(),
  code: z.optional(z.string()),
  message: z.optional(z.string()),
  stream: z.optional(streamInfoSchema),
  subscriptionId: z.optional(idSchema),
  sdp: z.optional(z.string()),
});
export const streamPropertyChangedFrameSchema = z.object({
  t: z.literal('streamPropertyChanged'),
  ...reliable,
  streamId: idSchema,
  hasAudio: z.optional(z.boolean()),
  hasVideo: z.optional(z.boolean()),
});
/** Routed: whether the server receives the publisher's media (false: it stopped, inside the media window). */
export const streamMediaFrameSchema = z.object({
  t: z.literal('streamMedia'),
  ...reliable,
  streamId: idSchema,
  flowing: z.boolean(),
});
/** Relayed: negotiation passed through. `subscribe` asks the publisher to offer; `unsubscribe` ends the peer connection. */
export const mediaRelayFrameSchema = z.object({
  t: z.literal('mediaRelay'),
  ...reliable,
  subscriptionId: idSchema,
  streamId: idSchema,
  from: idSchema,
  kind: z.enum(['subscribe', 'offer', 'answer', 'restart', 'unsubscribe']),
  sdp: z.optional(z.string()),
});

/**
 * Routed, in a cluster: the session's media moved to another node (the node that ran its SFU
 * died or is draining). Every publisher publishes again on a fresh peer connection
 * (`publishMedia` with `fresh`) and every subscriber subscribes again, inside the media window;
 * the streams stay as they are.
 */
export const mediaMovedFrameSchema = z.object({
  t: z.literal('mediaMoved'),
  ...reliable,
});

/** The session started being recorded (an archive, HTTP API); to everyone, joiners learn it from their welcome. */
export const archiveStartedFrameSchema = z.object({
  t: z.literal('archiveStarted'),
  ...reliable,
  ...runningArchiveSchema.def.shape,
});
/** The session's recording stopped. */
export const archiveStoppedFrameSchema = z.object({
  t: z.literal('archiveStopped'),
  ...reliable,
  id: idSchema,
});

export const serverAckFrameSchema = z.object({ t: z.literal('ack'), ack });
export const serverHeartbeatFrameSchema = z.object({
  t: z.literal('hb'),
  ack: z.optional(ack),
  seq: z.optional(ack),
  /** Answer at once with `pong`: the server measures the round trip from it. */
  ping: z.optional(ack),
  /** The server's round-trip allowance (`srtt + 4·rttvar`, ms), which the client adopts. */
  rtt: z.optional(ack),
});
export const errorFrameSchema = z.object({
  t: z.literal('error'),
  code: z.string(),
  message: z.string(),
  /** The client seq it concerns, when the bad frame had one. */
  re: z.optional(z.int()),
});
/** The server ends the connection: sent just before closing, so the reason survives a close frame lost in transit. */
export const byeFrameSchema = z.object({
  t: z.literal('bye'),
  reason: reasonSchema,
  code: z.string(),
  message: z.string(),
});

export const serverEventFrameSchema = z.discriminatedUnion('t', [
  connectionCreatedFrameSchema,
  connectionDestroyedFrameSchema,
  connectionReconnectingFrameSchema,
  connectionReconnectedFrameSchema,
  presenceFrameSchema,
  streamCreatedFrameSchema,
  streamDestroyedFrameSchema,
  signalEventFrameSchema,
  replyFrameSchema,
  streamPropertyChangedFrameSchema,
  streamMediaFrameSchema,
  mediaRelayFrameSchema,
  mediaMovedFrameSchema,
  archiveStartedFrameSchema,
  archiveStoppedFrameSchema,
]);

export const serverFrameSchema = z.discriminatedUnion('t', [
  welcomeFrameSchema,
  resumedFrameSchema,
  connectionCreatedFrameSchema,
  connectionDestroyedFrameSchema,
  connectionReconnectingFrameSchema,
  connectionReconnectedFrameSchema,
  presenceFrameSchema,
  streamCreatedFrameSchema,
  streamDestroyedFrameSchema,
  signalEventFrameSchema,
  replyFrameSchema,
  streamPropertyChangedFrameSchema,
  streamMediaFrameSchema,
  mediaRelayFrameSchema,
  mediaMovedFrameSchema,
  archiveStartedFrameSchema,
  archiveStoppedFrameSchema,
  serverAckFrameSchema,
  serverHeartbeatFrameSchema,
  errorFrameSchema,
  byeFrameSchema,
]);

export type ServerFrame = z.infer<typeof serverFrameSchema>;
export type WelcomeFrame = z.infer<typeof welcomeFrameSchema>;
export type ResumedFrame = z.infer<typeof resumedFrameSchema>;
export type ReplyFrame = z.infer<typeof replyFrameSchema>;
export type ByeFrame = z.infer<typeof byeFrameSchema>;
/** Server frames that carry a sequence number. */
export type ServerEventFrame = z.infer<typeof serverEventFrameSchema>;
/** A server event before the outbox numbers it. */
export type ServerEvent = ServerEventFrame extends infer F
  ? F extends ServerEventFrame
    ? Omit<F, 'seq' | 'ack'>
    : never
  : never;
