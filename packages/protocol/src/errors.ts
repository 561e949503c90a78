import type { Reason } from './reasons.js';

interface ErrorSpec {
  /** Numeric code; also the WebSocket close code when the error ends the connection. */
  readonly num: number;
  /** What went wrong and how to fix it. */
  readonly message: string;
  /** The reason a connection ends with, when this error ends it. */
  readonly reason?: Reason;
}

/**
 * Every error code Tether emits, with its number and a message saying how to fix it.
 * 41xx: token and handshake · 42xx: frames and limits · 43xx: authority ·
 * 44xx: resume · 45xx: client-side · 46xx: server · 47xx: HTTP API · 48xx: archives · 49xx: callbacks (server SDK).
 */
export const ERRORS = {
  TOKEN_MALFORMED: {
    num: 4100,
    message:
      'The token is not a Tether token (not a JWT with the expected claims). Create one with the server SDK or `tether token`.',
  },
  TOKEN_INVALID_SIGNATURE: {
    num: 4101,
    message:
      'The token signature does not verify. Sign it with the secret of the project whose API key it names.',
  },
  TOKEN_EXPIRED: {
    num: 4102,
    message: 'The token has expired. Ask your application server for a new one.',
    reason: 'tokenExpired',
  },
  TOKEN_WRONG_SESSION: {
    num: 4103,
    message:
      'The token was issued for a different session than the one being joined. Create a token for this session id.',
  },
  TOKEN_UNKNOWN_PROJECT: {
    num: 4104,
    message:
      'The token names an API key this server does not know. Check the project configuration of the server.',
  },
  SESSION_INVALID: {
    num: 4105,
    message:
      'The session id is malformed or was not created by this project. Create a session with the server API.',
  },
  PROTOCOL_VERSION_UNSUPPORTED: {
    num: 4106,
    message:
      'The client speaks a protocol version this server does not support. Upgrade the client SDK or the server.',
  },
  HANDSHAKE_TIMEOUT: {
    num: 4107,
    message: 'No connect or resume frame arrived in time after the WebSocket opened.',
  },

  FRAME_INVALID_JSON: { num: 4200, message: 'The frame is not valid JSON.' },
  FRAME_INVALID: { num: 4201, message: 'The frame does not match the schema of its type; see PROTOCOL.md.' },
  FRAME_TOO_LARGE: {
    num: 4202,
    message: 'The frame exceeds the maximum frame size (64 KiB).',
    reason: 'protocolError',
  },
  FRAME_UNEXPECTED: {
    num: 4203,
    message: 'This frame type is not allowed in the current state (for example a signal before connect).',
  },
  SEQUENCE_GAP: {
    num: 4204,
    message:
      'A reliable frame skipped a sequence number: the transport lost data. The server drops that transport and the client resumes (nothing is lost).',
  },
  SIGNAL_TYPE_INVALID: {
    num: 4210,
    message: 'Signal type must be 1-128 characters of letters, digits and -_.~:',
  },
  SIGNAL_DATA_TOO_LARGE: { num: 4211, message: 'Signal data must be at most 8 KiB (UTF-8 bytes).' },
  SIGNAL_TARGET_NOT_FOUND: {
    num: 4212,
    message: 'The connection the signal is addressed to is not in this session.',
  },
  RATE_LIMITED: { num: 4220, message: 'Too many signals; slow down (50/s sustained, bursts of 100).' },
  ABUSE_CLOSED: {
    num: 4221,
    message: 'Too many rejected frames; the server closed the connection.',
    reason: 'protocolError',
  },
  STREAM_LIMIT: {
    num: 4222,
    message: 'This connection already publishes the maximum number of streams (8).',
  },

  NOT_PERMITTED: {
    num: 4300,
    message:
      'The role in this token does not allow this action (subscribers cannot publish; only moderators can force others).',
  },
  STREAM_NOT_FOUND: { num: 4301, message: 'No stream with this id in the session.' },
  CONNECTION_NOT_FOUND: { num: 4302, message: 'No connection with this id in the session.' },
  SUBSCRIPTION_NOT_FOUND: { num: 4304, message: 'No subscription with this id on this connection.' },
  MEDIA_MODE_MISMATCH: {
    num: 4305,
    message: 'This media operation belongs to the other media mode of the session (routed vs relayed).',
  },
  MEDIA_NEGOTIATION_FAILED: {
    num: 4306,
    message: 'The SDP could not be applied; check the offer/answer (codecs: Opus, VP8).',
  },
  MEDIA_TIMEOUT: {
    num: 4307,
    message:
      'Media did not recover within the media window; the stream was unpublished (it is published again when the network is back).',
  },
  MEDIA_UNAVAILABLE: {
    num: 4308,
    message:
      'No WebRTC implementation: in Node pass `rtc: { RTCPeerConnection }` from werift to the Session.',
  },
  MEDIA_MOVED: {
    num: 4309,
    message:
      "The session's media moved to another cluster node while this operation was on its way (the SDK publishes and subscribes again by itself, after `mediaMoved`).",
  },
  SESSION_NOT_FOUND: { num: 4303, message: 'The session has no live state on this server.' },

  RESUME_UNKNOWN_CONNECTION: {
    num: 4400,
    message:
      'The server does not know this connection (it restarted, or the connection ended). Join again with a token.',
    reason: 'resumeFailed',
  },
  RESUME_BAD_SECRET: {
    num: 4401,
    message: 'The resume secret does not match this connection.',
    reason: 'resumeFailed',
  },
  RESUME_WINDOW_EXPIRED: {
    num: 4402,
    message: 'The reconnect window of this connection has passed; it was ended. Join again with a token.',
    reason: 'networkDisconnected',
  },
  RESUME_SEQUENCE_INVALID: {
    num: 4403,
    message: 'The resume asked for frames the server never sent or no longer holds.',
    reason: 'resumeFailed',
  },

  NOT_CONNECTED: {
    num: 4500,
    message: 'The session is not connected. Call connect() first and wait for sessionConnected.',
  },
  RECONNECTING: {
    num: 4501,
    message: 'The session is reconnecting and the call asked not to be retried (retryAfterReconnect: false).',
  },
  CLIENT_QUEUE_FULL: {
    num: 4502,
    message: 'The client send queue is full (count or bytes); wait for sessionReconnected or send less.',
    reason: 'bufferOverflow',
  },
  CONNECT_FAILED: {
    num: 4503,
    message: 'Could not reach the Tether server. Check the URL and that the server runs.',
  },
  DISCONNECTED: { num: 4504, message: 'The session ended before the operation completed.' },
  INVALID_ARGUMENT: { num: 4505, message: 'An argument to the SDK call is invalid.' },
  INVALID_STATE: { num: 4506, message: 'The call is not allowed in the current state.' },

  INTERNAL: { num: 4600, message: 'The server failed unexpectedly; the error is logged.' },
  BUFFER_OVERFLOW: {
    num: 4601,
    message:
      'The connection outbox overflowed (count or bytes) because the client did not acknowledge in time.',
    reason: 'bufferOverflow',
  },
  SEND_BUFFER_OVERFLOW: {
    num: 4606,
    message:
      'The socket send buffer of this connection passed its limit: the client is not reading what the server sends.',
    reason: 'bufferOverflow',
  },
  INTERRUPTED_BUDGET_EXCEEDED: {
    num: 4607,
    message:
      'While this connection was away, its session or the server reached the limit of what it holds for interrupted connections (bytes, or presence changes kept for them), and this one had been away longest. Join again with a token.',
    reason: 'bufferOverflow',
  },
  SERVER_SHUTDOWN: { num: 4602, message: 'The server is shutting down.', reason: 'serverShutdown' },
  CLUSTER_UNAVAILABLE: {
    num: 4609,
    message:
      "This node cannot reach its cluster's Redis: it takes no new joins or resumes until Redis is back (the SDK retries, on another node if it has one). Check the Redis at --cluster.",
  },
  SERVER_DRAINING: {
    num: 4608,
    message:
      'This cluster node is going away (a deploy): the connection resumes on another node, and the SDK does it by itself.',
  },
  FORCE_DISCONNECTED: {
    num: 4603,
    message: 'A moderator or the server API disconnected this connection.',
    reason: 'forceDisconnected',
  },
  LEFT: { num: 4604, message: 'The client left the session.', reason: 'clientDisconnected' },
  NETWORK_DISCONNECTED: {
    num: 4605,
    message: 'The network was down longer than the reconnect window.',
    reason: 'networkDisconnected',
  },

  API_AUTH_MISSING: {
    num: 4700,
    message:
      'Send an `Authorization: Bearer <jwt>` header signed with the project secret (the server SDK does this).',
  },
  API_AUTH_INVALID: {
    num: 4701,
    message:
      'The API token is invalid or expired; it must be an HS256 JWT, iss = API key, exp within 5 minutes.',
  },
  API_BODY_INVALID: { num: 4702, message: 'The request body does not match the schema of this route.' },
  API_NOT_FOUND: { num: 4703, message: 'No such route.' },
  API_BODY_TOO_LARGE: { num: 4704, message: 'The request body exceeds 64 KiB.' },

  CALLBACK_SIGNATURE_INVALID: {
    num: 4900,
    message: 'No valid tether-signature on this callback: verify the raw body with the project secret.',
  },
  CALLBACK_TIMESTAMP_STALE: {
    num: 4901,
    message: 'The callback was signed outside the tolerance (default 300 s): a replay, or a clock off.',
  },
  CALLBACK_BODY_INVALID: {
    num: 4902,
    message: 'The callback body is not a payload this SDK knows: upgrade the server SDK.',
  },
  ARCHIVE_NOT_FOUND: {
    num: 4800,
    message:
      'No archive with this id in this project (it never existed, was deleted, or belongs to another project).',
  },
  ARCHIVE_RELAYED_SESSION: {
    num: 4801,
    message:
      "A relayed session's media goes peer to peer and never reaches the server, so it cannot be recorded. Create the session with mediaMode `routed`.",
  },
  ARCHIVE_NO_STREAMS: {
    num: 4802,
    message:
      'Nothing is published in this session (or no client is in it), so there is nothing to record yet. Start the archive once a stream is published, or use archiveMode `always`.',
  },
  ARCHIVE_ALREADY_RECORDING: {
    num: 4803,
    message:
      'This session is already being recorded (one archive per session at a time). Stop that archive first.',
  },
  ARCHIVE_NOT_RECORDING: {
    num: 4804,
    message:
      'This archive is not recording any more (it was stopped, or it failed); there is nothing to stop.',
  },
  ARCHIVE_IN_PROGRESS: {
    num: 4805,
    message:
      'This archive is still being recorded or finished (status `started` or `stopped`); stop it and wait for `available` or `failed` first.',
  },
  ARCHIVE_FILE_NOT_FOUND: {
    num: 4806,
    message:
      "The archive has no such file (yet). A composed archive's file exists once it is `available`; an individual archive has one file per stream, named in its `streams`.",
  },
  ARCHIVE_RANGE_INVALID: {
    num: 4807,
    message: 'The Range header asks for bytes the file does not have; ask for one range within its size.',
  },
  ARCHIVE_ELSEWHERE: {
    num: 4808,
    message:
      "The session's media runs on another node of the cluster, which records it, and that node did not act on this start or stop in time (with an archive store of each node's own, it never can: give the cluster a shared one).",
  },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERRORS, value);
}

export function errorNumber(code: ErrorCode): number {
  return ERRORS[code].num;
}

/** The code whose number is `num` (a WebSocket close code), if any. */
export function errorCodeForNumber(num: number): ErrorCode | undefined {
  for (const [code, spec] of Object.entries(ERRORS)) if (spec.num === num) return code as ErrorCode;
  return undefined;
}

export function reasonForError(code: ErrorCode): Reason | undefined {
  const spec: ErrorSpec = ERRORS[code];
  return spec.reason;
}

/** The text every error carries: what went wrong here (`detail`), then how to fix it. */
export function errorMessage(code: ErrorCode, detail?: string): string {
  return detail ? `${detail} — ${ERRORS[code].message}` : ERRORS[code].message;
}

/** The one error class of every Tether package: a documented code and a message that says how to fix it. */
export class TetherError extends Error {
  override readonly name = 'TetherError';
  readonly code: ErrorCode;
  constructor(code: ErrorCode, detail?: string) {
    super(`${code}: ${errorMessage(code, detail)}`);
    this.code = code;
  }
}
