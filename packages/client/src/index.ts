export { Session, type SessionOptions, type SignalOptions, type SendOptions } from './session.js';
export type { SessionEvents, SignalEvent, RoomStateUpdate } from './events.js';
export type { SessionState } from './session-state.js';
export { BackoffPolicy, type ReconnectPolicy, type ReconnectContext, type BackoffOptions } from './reconnect-policy.js';
export { DEFAULT_QUEUE_LIMITS, type QueueLimits } from './pending-ops.js';
export type { WebSocketConstructor, WebSocketLike } from './socket.js';
export { TetherError, ERRORS, REASONS, type ErrorCode, type Reason, type ConnectionInfo, type StreamInfo } from '@tether/protocol';
