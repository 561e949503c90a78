export { Session } from './session.js';
export type { SessionOptions, SignalOptions, SendOptions } from './session-options.js';
export { SESSION_EVENT_NAMES, type SessionEvents, type SignalEvent, type RoomStateUpdate } from './events.js';
export type { SessionState } from './session-state.js';
export {
  BackoffPolicy,
  type ReconnectPolicy,
  type ReconnectContext,
  type BackoffOptions,
} from './reconnect-policy.js';
export { DEFAULT_QUEUE_LIMITS, type QueueLimits } from './pending-ops.js';
export type { WebSocketConstructor, WebSocketLike } from './socket.js';
export {
  Publisher,
  type PublisherOptions,
  type PublisherState,
  type PublisherEvents,
} from './media/publisher.js';
export { Subscriber, type SubscriberState, type SubscriberEvents } from './media/subscriber.js';
export type { RtcProvider } from './media/rtc.js';
export { MEDIA_TIMING } from './media/channel.js';
export {
  TetherError,
  ERRORS,
  REASONS,
  jsonCodec,
  msgpackCodec,
  type Codec,
  type ErrorCode,
  type Reason,
  type Role,
  type ConnectionInfo,
  type StreamInfo,
} from '@tether/protocol';
