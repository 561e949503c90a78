/**
 * Why a connection or stream ended. A fixed set, never free text: applications
 * switch on these values, so adding one is a protocol change.
 */
export const REASONS = [
  /** The client called `disconnect()` (or unpublished, for a stream). */
  'clientDisconnected',
  /** The transport died and did not come back within the reconnect window. */
  'networkDisconnected',
  /** A moderator or the server API force-disconnected the connection. */
  'forceDisconnected',
  /** A moderator or the server API force-unpublished the stream. */
  'forceUnpublished',
  /**
   * A join was refused because its token had expired. A token is checked when joining only:
   * the server never ends a live connection at its token's expiry, and a resume needs no token.
   */
  'tokenExpired',
  /** The server is shutting down. */
  'serverShutdown',
  /** A bounded buffer (outbox, replay log or client queue) overflowed. */
  'bufferOverflow',
  /** The peer broke the protocol (bad frames past the abuse limit, a sequence gap). */
  'protocolError',
  /** A resume was refused (unknown connection, wrong secret, window expired). */
  'resumeFailed',
] as const;

export type Reason = (typeof REASONS)[number];

export function isReason(value: unknown): value is Reason {
  return typeof value === 'string' && (REASONS as readonly string[]).includes(value);
}
