export { PROTOCOL_VERSION, SUPPORTED_PROTOCOL_VERSIONS } from './version.js';
export { LIMITS, SIGNAL_TYPE_ALPHABET, utf8Bytes, wellFormed } from './limits.js';
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
export * from './archive.js';
export {
  CODEC_NAMES,
  decodeClientFrame,
  decodeServerFrame,
  encodeFrame,
  jsonCodec,
  wireSize,
  type Codec,
  type CodecName,
  type Decoded,
  type Wire,
} from './codec.js';
export { msgpackCodec } from './msgpack-codec.js';
export { checkSignal } from './signal.js';
export { systemClock, type Clock, type TimerHandle } from './clock.js';
export { Heartbeat, type HeartbeatOptions } from './heartbeat.js';
export { RttEstimator, silenceTimeoutMs } from './rtt.js';
export { TokenBucket } from './token-bucket.js';
export * from './callback.js';
