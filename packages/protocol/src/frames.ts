import { z } from 'zod';
import {
  connectionInfoSchema,
  idSchema,
  reasonSchema,
  roleSchema,
  sessionIdSchema,
  sessionInfoSchema,
  streamInfoSchema,
  streamPropertiesSchema,
} from './model.js';

/**
 * Frames, both directions. Every frame is a JSON object discriminated by `t`.
 *
 * Reliable frames carry `seq`: 1, 2, 3… per direction and per connection. The receiver
 * acknowledges cumulatively with `ack` (the highest seq it has applied), piggybacked on
 * any frame or in an `ack`/`hb` frame. The sender keeps what is unacknowledged and, on
 * resume, replays everything after the peer's `ack`; the receiver drops any seq it has
 * already applied, so nothing is applied twice.
 */

const seq = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
const ack = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

// ---------------------------------------------------------------- client → server

export const connectFrameSchema = z.object({
  t: z.literal('connect'),
  v: z.number().int(),
  sessionId: sessionIdSchema,
  token: z.string().min(1).max(8192),
  sdk: z.string().max(64).optional(),
});

export const resumeFrameSchema = z.object({
  t: z.literal('resume'),
  v: z.number().int(),
  sessionId: sessionIdSchema,
  connectionId: idSchema,
  secret: z.string().min(1).max(256),
  /** Highest server seq the client has applied. */
  ack,
});

/** Signal type and data are checked by the server after sequencing, so a bad one gets a reply with its own code. */
export const signalFrameSchema = z.object({
  t: z.literal('signal'),
  seq,
  ack: ack.optional(),
  type: z.string().max(1024),
  data: z.string(),
  to: idSchema.optional(),
});

export const publishFrameSchema = z.object({
  t: z.literal('publish'),
  seq,
  ack: ack.optional(),
  stream: streamPropertiesSchema,
});

export const unpublishFrameSchema = z.object({
  t: z.literal('unpublish'),
  seq,
  ack: ack.optional(),
  streamId: idSchema,
  /** `networkDisconnected` when the publisher gave up after its media window (relayed sessions). */
  reason: z.enum(['clientDisconnected', 'networkDisconnected']).optional(),
});

export const forceDisconnectFrameSchema = z.object({
  t: z.literal('forceDisconnect'),
  seq,
  ack: ack.optional(),
  connectionId: idSchema,
});

export const forceUnpublishFrameSchema = z.object({
  t: z.literal('forceUnpublish'),
  seq,
  ack: ack.optional(),
  streamId: idSchema,
});

/** SDP is opaque to the protocol; bounded like everything else. */
const sdp = z
  .string()
  .min(1)
  .max(32 * 1024);

/** Routed: the publisher's offer (first, or an ICE restart) for its stream; the reply carries the server's answer. */
export const publishMediaFrameSchema = z.object({
  t: z.literal('publishMedia'),
  seq,
  ack: ack.optional(),
  streamId: idSchema,
  sdp,
});

/** Subscribe to a stream. Routed: the reply carries the server's offer. Relayed: the publisher will offer through `mediaRelay`. */
export const subscribeFrameSchema = z.object({
  t: z.literal('subscribe'),
  seq,
  ack: ack.optional(),
  streamId: idSchema,
});

/** Routed: the subscriber's answer to the server's offer. */
export const answerMediaFrameSchema = z.object({
  t: z.literal('answerMedia'),
  seq,
  ack: ack.optional(),
  subscriptionId: idSchema,
  sdp,
});

/** Routed: ask the server for an ICE-restart offer for a subscription (reply carries it). */
export const restartMediaFrameSchema = z.object({
  t: z.literal('restartMedia'),
  seq,
  ack: ack.optional(),
  subscriptionId: idSchema,
});

export const unsubscribeFrameSchema = z.object({
  t: z.literal('unsubscribe'),
  seq,
  ack: ack.optional(),
  subscriptionId: idSchema,
});

/** Relayed: negotiation between publisher and subscriber, passed through the server. */
export const relayKindSchema = z.enum(['offer', 'answer', 'restart']);
export const relayFrameSchema = z.object({
  t: z.literal('relay'),
  seq,
  ack: ack.optional(),
  subscriptionId: idSchema,
  kind: relayKindSchema,
  sdp: sdp.optional(),
});

/** Audio/video enabled or disabled by the publisher, reflected to subscribers. */
export const streamPropertyFrameSchema = z.object({
  t: z.literal('streamProperty'),
  seq,
  ack: ack.optional(),
  streamId: idSchema,
  hasAudio: z.boolean().optional(),
  hasVideo: z.boolean().optional(),
});

export const ackFrameSchema = z.object({ t: z.literal('ack'), ack });
/**
 * A heartbeat also carries positions: `ack` (highest seq applied) and `seq` (highest
 * reliable seq sent). A receiver that has applied less than `seq` lost frames on this
 * transport (which a clean TCP stream never does, but a broken path can) and resumes.
 */
export const heartbeatFrameSchema = z.object({
  t: z.literal('hb'),
  ack: ack.optional(),
  seq: ack.optional(),
  /** Echoes the `ping` of the server's beat, sent as soon as that beat arrives. */
  pong: ack.optional(),
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
  heartbeatIntervalMs: z.number().int().positive(),
  /** The floor of the silence timeout: interval + measured round-trip allowance, at least this. */
  heartbeatTimeoutMs: z.number().int().positive(),
  /** Its ceiling (absent: the timeout is fixed at heartbeatTimeoutMs). */
  heartbeatTimeoutMaxMs: z.number().int().positive().optional(),
  reconnectWindowMs: z.number().int().nonnegative(),
  ackDelayMs: z.number().int().nonnegative(),
  /** How long media may stay interrupted before the stream is given up (ZEGO's av_retry_time). */
  mediaWindowMs: z.number().int().nonnegative(),
});
export type TransportConfig = z.infer<typeof transportConfigSchema>;

export const peerConnectionSchema = connectionInfoSchema.extend({
  /** True while that connection's transport is down inside its reconnect window. */
  reconnecting: z.boolean().optional(),
});
export type PeerConnection = z.infer<typeof peerConnectionSchema>;

export const welcomeFrameSchema = z.object({
  t: z.literal('welcome'),
  v: z.number().int(),
  session: sessionInfoSchema,
  connection: connectionInfoSchema.extend({ role: roleSchema }),
  /** Per-connection resume secret: only this client holds it. */
  secret: z.string().min(1).max(256),
  connections: z.array(peerConnectionSchema),
  streams: z.array(streamInfoSchema),
  config: transportConfigSchema,
});

export const resumedFrameSchema = z.object({
  t: z.literal('resumed'),
  /** Highest client seq the server has applied: the client replays everything after it. */
  ack,
  /** Highest server seq sent so far; the server replays (client ack, seq] right after this frame. */
  seq: ack,
  config: transportConfigSchema,
});

const reliable = { seq, ack: ack.optional() };

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
  from: idSchema.nullable(),
  type: z.string(),
  data: z.string(),
  /** Set when the signal was addressed to this connection only. */
  to: idSchema.optional(),
});
export const replyFrameSchema = z.object({
  t: z.literal('reply'),
  ...reliable,
  /** The client seq this answers. */
  re: z.number().int().positive(),
  ok: z.boolean(),
  code: z.string().optional(),
  message: z.string().optional(),
  stream: streamInfoSchema.optional(),
  subscriptionId: idSchema.optional(),
  sdp: z.string().optional(),
});
export const streamPropertyChangedFrameSchema = z.object({
  t: z.literal('streamPropertyChanged'),
  ...reliable,
  streamId: idSchema,
  hasAudio: z.boolean().optional(),
  hasVideo: z.boolean().optional(),
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
  sdp: z.string().optional(),
});

export const serverAckFrameSchema = z.object({ t: z.literal('ack'), ack });
export const serverHeartbeatFrameSchema = z.object({
  t: z.literal('hb'),
  ack: ack.optional(),
  seq: ack.optional(),
  /** Answer at once with `pong`: the server measures the round trip from it. */
  ping: ack.optional(),
  /** The server's round-trip allowance (`srtt + 4·rttvar`, ms), which the client adopts. */
  rtt: ack.optional(),
});
export const errorFrameSchema = z.object({
  t: z.literal('error'),
  code: z.string(),
  message: z.string(),
  /** The client seq it concerns, when the bad frame had one. */
  re: z.number().int().optional(),
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
  streamCreatedFrameSchema,
  streamDestroyedFrameSchema,
  signalEventFrameSchema,
  replyFrameSchema,
  streamPropertyChangedFrameSchema,
  streamMediaFrameSchema,
  mediaRelayFrameSchema,
]);

export const serverFrameSchema = z.discriminatedUnion('t', [
  welcomeFrameSchema,
  resumedFrameSchema,
  connectionCreatedFrameSchema,
  connectionDestroyedFrameSchema,
  connectionReconnectingFrameSchema,
  connectionReconnectedFrameSchema,
  streamCreatedFrameSchema,
  streamDestroyedFrameSchema,
  signalEventFrameSchema,
  replyFrameSchema,
  streamPropertyChangedFrameSchema,
  streamMediaFrameSchema,
  mediaRelayFrameSchema,
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
