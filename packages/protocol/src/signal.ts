import type { ErrorCode } from './errors.js';
import { LIMITS, SIGNAL_TYPE_ALPHABET, utf8Bytes } from './limits.js';

/** The semantic checks of a signal, shared by the SDK (before sending) and the server (before delivering). */
export function checkSignal(type: unknown, data: unknown): ErrorCode | null {
  if (
    typeof type !== 'string' ||
    type.length === 0 ||
    type.length > LIMITS.signalTypeMaxLength ||
    !SIGNAL_TYPE_ALPHABET.test(type)
  )
    return 'SIGNAL_TYPE_INVALID';
  if (
    typeof data !== 'string' ||
    data.length > LIMITS.signalDataMaxBytes * 4 ||
    utf8Bytes(data) > LIMITS.signalDataMaxBytes
  )
    return 'SIGNAL_DATA_TOO_LARGE';
  return null;
}
