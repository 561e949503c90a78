import { TetherError, type ErrorCode } from '@tether/client';

/** OpenTok's error names, with the number OpenTok gives each. */
export const OT_ERRORS = {
  OT_AUTHENTICATION_ERROR: 1004,
  OT_INVALID_SESSION_ID: 1005,
  OT_CONNECT_FAILED: 1006,
  OT_NOT_CONNECTED: 1010,
  OT_INVALID_PARAMETER: 1011,
  OT_CONNECTION_LIMIT_EXCEEDED: 1027,
  OT_PERMISSION_DENIED: 1500,
  OT_USER_MEDIA_ACCESS_DENIED: 1500,
  OT_NOT_FOUND: 1112,
  OT_UNABLE_TO_FORCE_DISCONNECT: 1520,
  OT_UNABLE_TO_FORCE_UNPUBLISH: 1530,
  OT_STREAM_LIMIT_EXCEEDED: 1605,
  OT_RATE_LIMIT_EXCEEDED: 1550,
  OT_MEDIA_ERR_NETWORK: 1554,
  OT_NOT_SUPPORTED: 1560,
  OT_INTERNAL_ERROR: 2000,
} as const;

export type OTErrorName = keyof typeof OT_ERRORS;

/**
 * Every Tether code a browser client can meet: all of them but the HTTP API's (`API_*`) and
 * the server SDK's checks of callbacks (`CALLBACK_*`), and the archive API's (`ARCHIVE_*`).
 */
export type ClientErrorCode = Exclude<
  ErrorCode,
  `API_${string}` | `CALLBACK_${string}` | `ARCHIVE_${string}`
>;

/**
 * The one table from Tether's error codes (packages/protocol/src/errors.ts) to OpenTok's names;
 * the number is OpenTok's for that name (OT_ERRORS), except where an operation has its own
 * (OP_CODES). README "Porting from OpenTok" shows it; a test keeps it complete.
 */
export const ERROR_MAP: Record<ClientErrorCode, OTErrorName> = {
  TOKEN_MALFORMED: 'OT_AUTHENTICATION_ERROR',
  TOKEN_INVALID_SIGNATURE: 'OT_AUTHENTICATION_ERROR',
  TOKEN_EXPIRED: 'OT_AUTHENTICATION_ERROR',
  TOKEN_WRONG_SESSION: 'OT_AUTHENTICATION_ERROR',
  TOKEN_UNKNOWN_PROJECT: 'OT_AUTHENTICATION_ERROR',
  SESSION_INVALID: 'OT_INVALID_SESSION_ID',
  PROTOCOL_VERSION_UNSUPPORTED: 'OT_CONNECT_FAILED',
  HANDSHAKE_TIMEOUT: 'OT_CONNECT_FAILED',
  FRAME_INVALID_JSON: 'OT_INTERNAL_ERROR',
  FRAME_INVALID: 'OT_INTERNAL_ERROR',
  FRAME_TOO_LARGE: 'OT_INVALID_PARAMETER',
  FRAME_UNEXPECTED: 'OT_INTERNAL_ERROR',
  SEQUENCE_GAP: 'OT_INTERNAL_ERROR',
  SIGNAL_TYPE_INVALID: 'OT_INVALID_PARAMETER',
  SIGNAL_DATA_TOO_LARGE: 'OT_INVALID_PARAMETER',
  SIGNAL_TARGET_NOT_FOUND: 'OT_NOT_FOUND',
  RATE_LIMITED: 'OT_RATE_LIMIT_EXCEEDED',
  ABUSE_CLOSED: 'OT_RATE_LIMIT_EXCEEDED',
  STREAM_LIMIT: 'OT_STREAM_LIMIT_EXCEEDED',
  NOT_PERMITTED: 'OT_PERMISSION_DENIED',
  STREAM_NOT_FOUND: 'OT_NOT_FOUND',
  CONNECTION_NOT_FOUND: 'OT_NOT_FOUND',
  SUBSCRIPTION_NOT_FOUND: 'OT_NOT_FOUND',
  SESSION_NOT_FOUND: 'OT_INVALID_SESSION_ID',
  MEDIA_MODE_MISMATCH: 'OT_INTERNAL_ERROR',
  MEDIA_NEGOTIATION_FAILED: 'OT_MEDIA_ERR_NETWORK',
  MEDIA_TIMEOUT: 'OT_MEDIA_ERR_NETWORK',
  // The session's media moved to another cluster node mid-operation: the SDK redoes it by itself.
  MEDIA_MOVED: 'OT_MEDIA_ERR_NETWORK',
  MEDIA_UNAVAILABLE: 'OT_NOT_SUPPORTED',
  RESUME_UNKNOWN_CONNECTION: 'OT_CONNECT_FAILED',
  RESUME_BAD_SECRET: 'OT_CONNECT_FAILED',
  RESUME_WINDOW_EXPIRED: 'OT_CONNECT_FAILED',
  RESUME_SEQUENCE_INVALID: 'OT_CONNECT_FAILED',
  NOT_CONNECTED: 'OT_NOT_CONNECTED',
  RECONNECTING: 'OT_NOT_CONNECTED',
  CLIENT_QUEUE_FULL: 'OT_RATE_LIMIT_EXCEEDED',
  CONNECT_FAILED: 'OT_CONNECT_FAILED',
  DISCONNECTED: 'OT_NOT_CONNECTED',
  INVALID_ARGUMENT: 'OT_INVALID_PARAMETER',
  INVALID_STATE: 'OT_INVALID_PARAMETER',
  INTERNAL: 'OT_INTERNAL_ERROR',
  BUFFER_OVERFLOW: 'OT_CONNECT_FAILED',
  SEND_BUFFER_OVERFLOW: 'OT_CONNECT_FAILED',
  INTERRUPTED_BUDGET_EXCEEDED: 'OT_CONNECT_FAILED',
  SERVER_SHUTDOWN: 'OT_CONNECT_FAILED',
  CLUSTER_UNAVAILABLE: 'OT_CONNECT_FAILED',
  SERVER_DRAINING: 'OT_CONNECT_FAILED',
  FORCE_DISCONNECTED: 'OT_NOT_CONNECTED',
  LEFT: 'OT_NOT_CONNECTED',
  NETWORK_DISCONNECTED: 'OT_NOT_CONNECTED',
};

/** The operation an error came from: a few have numbers of their own in OpenTok. */
export type Operation = 'connect' | 'publish' | 'subscribe' | 'signal' | 'forceDisconnect' | 'forceUnpublish';

/**
 * OpenTok numbers signal errors like HTTP statuses, and a refused force with its own code.
 * Keyed by operation, then by OpenTok name.
 */
export const OP_CODES: Partial<Record<Operation, Partial<Record<OTErrorName, number>>>> = {
  signal: {
    OT_INVALID_PARAMETER: 400,
    OT_NOT_FOUND: 404,
    OT_RATE_LIMIT_EXCEEDED: 429,
    OT_NOT_CONNECTED: 500,
  },
  forceDisconnect: { OT_PERMISSION_DENIED: 1520, OT_NOT_FOUND: 1520 },
  forceUnpublish: { OT_PERMISSION_DENIED: 1530, OT_NOT_FOUND: 1535 },
};

/** An error as OpenTok's completion handlers and promises give it: `{name: 'OT_…', code, message}`. */
export class OTError extends Error {
  override readonly name: OTErrorName;
  readonly code: number;
  /** The Tether code behind it, for logs and support. */
  readonly tetherCode: ErrorCode | undefined;

  constructor(name: OTErrorName, message: string, code?: number, tetherCode?: ErrorCode) {
    super(message);
    this.name = name;
    this.code = code ?? OT_ERRORS[name];
    this.tetherCode = tetherCode;
  }
}

/** Translates what a Tether call rejected with into OpenTok's error for that operation. */
export function toOTError(err: unknown, op?: Operation): OTError {
  if (err instanceof OTError) return err;
  if (err instanceof TetherError) {
    const code = err.code;
    const name: OTErrorName = isClientCode(code) ? ERROR_MAP[code] : 'OT_INTERNAL_ERROR';
    const num = (op && OP_CODES[op]?.[name]) ?? OT_ERRORS[name];
    return new OTError(name, err.message, num, code);
  }
  return new OTError('OT_INTERNAL_ERROR', err instanceof Error ? err.message : String(err));
}

function isClientCode(code: ErrorCode): code is ClientErrorCode {
  return !code.startsWith('API_') && !code.startsWith('CALLBACK_') && !code.startsWith('ARCHIVE_');
}

/** Completion handlers are error-first and called exactly once. */
export type Callback = (error?: OTError) => void;

export function once(cb: Callback | undefined): Callback {
  let called = false;
  return (error) => {
    if (called || !cb) return;
    called = true;
    try {
      if (error) cb(error);
      else cb();
    } catch (err) {
      // An application handler that throws must not break the facade's own bookkeeping.
      queueMicrotask(() => {
        throw err;
      });
    }
  };
}

/** OpenTok's `method.promise(...)` companion of a callback method: the callback's error rejects it. */
export function promiseOf<T>(start: (done: Callback) => void, value: () => T): Promise<T> {
  return new Promise((resolve, reject) => start((err) => (err ? reject(err) : resolve(value()))));
}
