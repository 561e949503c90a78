import type { Role } from '@tether/client';
import type { EventOf } from './events.js';
import type { Connection, Stream } from './model.js';
import type { Publisher } from './publisher.js';
import type { Session } from './session.js';

/** OpenTok allows a signal without a type; Tether's signals always have one: this one, which OpenTok apps cannot listen to by name. */
export const UNTYPED_SIGNAL = '~';

export type SignalEvent = EventOf<
  'signal' | `signal:${string}`,
  Session,
  { type: string; data: string; from: Connection | null }
>;

export interface SessionEvents {
  sessionConnected: EventOf<'sessionConnected', Session, { connections: Connection[]; streams: Stream[] }>;
  sessionReconnecting: EventOf<'sessionReconnecting', Session>;
  sessionReconnected: EventOf<'sessionReconnected', Session>;
  sessionDisconnected: EventOf<'sessionDisconnected', Session, { reason: string }>;
  connectionCreated: EventOf<'connectionCreated', Session, { connection: Connection }>;
  connectionDestroyed: EventOf<'connectionDestroyed', Session, { connection: Connection; reason: string }>;
  streamCreated: EventOf<'streamCreated', Session, { stream: Stream }>;
  streamDestroyed: EventOf<'streamDestroyed', Session, { stream: Stream; reason: string }>;
  streamPropertyChanged: EventOf<
    'streamPropertyChanged',
    Session,
    { stream: Stream; changedProperty: 'hasAudio' | 'hasVideo'; oldValue: boolean; newValue: boolean }
  >;
  signal: SignalEvent;
  archiveStarted: EventOf<'archiveStarted', Session, { id: string; name: string }>;
  archiveStopped: EventOf<'archiveStopped', Session, { id: string; name: string }>;
}

/** A stream, connection or publisher as an application passes it back: OpenTok's own types fit too. */
export type PublisherRef = Pick<Publisher, 'accessAllowed'>;
export type StreamRef = Pick<Stream, 'streamId'>;
export type ConnectionRef = Pick<Connection, 'connectionId'>;

export interface Capabilities {
  forceDisconnect: number;
  forceUnpublish: number;
  forceMute: number;
  publish: number;
  subscribe: number;
}

/** Where a session reports what is not one call's error (OT.on('exception')). */
export type ExceptionSink = (code: number, message: string, title: string) => void;

/** What a token's role lets this connection do, as OpenTok's `session.capabilities` says it (1 or 0). */
export function capabilitiesOf(role: Role | undefined): Capabilities {
  const moderator = role === 'moderator' ? 1 : 0;
  const publisher = role === 'publisher' || role === 'moderator' ? 1 : 0;
  return {
    forceDisconnect: moderator,
    forceUnpublish: moderator,
    forceMute: 0,
    publish: publisher,
    subscribe: role ? 1 : 0,
  };
}
