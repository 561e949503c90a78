import type { Reason, SessionEvents } from '@tether/client';

type Cause = SessionEvents['sessionReconnecting']['cause'];

const CAUSES: Record<Cause, string> = {
  offline: 'this device went offline',
  heartbeatTimeout: 'the server stopped answering',
  socketClosed: 'the connection closed',
  protocolError: 'a transport error',
  serverDraining: 'the server is being restarted (moving to another one)',
};

const REASONS: Record<Reason, string> = {
  clientDisconnected: 'You left the session.',
  networkDisconnected: 'The network did not come back in time.',
  forceDisconnected: 'A moderator removed you from the session.',
  forceUnpublished: 'A moderator stopped your stream.',
  tokenExpired: 'Your token expired.',
  serverShutdown: 'The server shut down.',
  bufferOverflow: 'Too much was waiting to be delivered; the connection was ended to protect the session.',
  protocolError: 'The connection broke the protocol and was ended.',
  resumeFailed: 'The server no longer knew this connection (it may have restarted).',
};

export function causeText(cause: Cause): string {
  return CAUSES[cause] ?? cause;
}

export function reasonText(reason: Reason): string {
  return REASONS[reason] ?? reason;
}
