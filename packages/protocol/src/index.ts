export { PROTOCOL_VERSION, SUPPORTED_PROTOCOL_VERSIONS } from './version.js';
export { LIMITS, SIGNAL_TYPE_ALPHABET, utf8Bytes } from './limits.js';
export { REASONS, isReason, type Reason } from './reasons.js';
export {
  ERRORS,
  TetherError,
  errorCodeForNumber,
  errorMessage,
  errorNumber,
  isErrorCode,
  reasonForError,
  type ErrorCode,
} from './errors.js';
export * from './model.js';
export * from './frames.js';
export * from './api.js';
export { decodeClientFrame, decodeServerFrame, encodeFrame, type Decoded } from './codec.js';
export { checkSignal } from './signal.js';
export { systemClock, type Clock, type TimerHandle } from './clock.js';
export { Heartbeat, type HeartbeatOptions } from './heartbeat.js';
export { TokenBucket } from './token-bucket.js';
