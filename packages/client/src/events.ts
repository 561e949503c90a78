import type { ConnectionInfo, ErrorCode, Reason, StreamInfo } from '@tether/protocol';

export interface SignalEvent {
  type: string;
  data: string;
  /** The sender; null when the server API sent the signal. */
  from: ConnectionInfo | null;
  /** Set when the signal was addressed to this connection alone. */
  to?: string;
}

/** ZEGO-style single state callback. `errorCode` is 0, or the number of the error that caused the change. */
export interface RoomStateUpdate {
  state: 'disconnected' | 'connecting' | 'connected' | 'reconnecting';
  errorCode: number;
  reason?: Reason;
}

/** Every event a Session emits (OpenTok names), with its payload. */
export interface SessionEvents {
  /** Joined; `recovered` when a recovery key resumed the connection a previous page left. */
  sessionConnected: { connection: ConnectionInfo; recovered?: boolean };
  /** The transport was lost; the SDK is resuming. Streams, subscriptions and queued signals are kept. */
  sessionReconnecting: {
    cause: 'heartbeatTimeout' | 'socketClosed' | 'offline' | 'protocolError' | 'serverDraining';
  };
  /** Back, with the same connection. `rejoined` is true when a refused resume was replaced by a fresh join (new connection id). */
  sessionReconnected: { rejoined: boolean; connection: ConnectionInfo };
  sessionDisconnected: { reason: Reason; code?: ErrorCode };
  connectionCreated: { connection: ConnectionInfo };
  connectionDestroyed: { connection: ConnectionInfo; reason: Reason };
  /** Another connection lost its transport and is inside its reconnect window. */
  connectionReconnecting: { connection: ConnectionInfo };
  /** That connection is back. */
  connectionReconnected: { connection: ConnectionInfo };
  streamCreated: { stream: StreamInfo };
  streamDestroyed: { stream: StreamInfo; reason: Reason };
  /** A publisher enabled or disabled its audio or video. */
  streamPropertyChanged: {
    stream: StreamInfo;
    changedProperty: 'hasAudio' | 'hasVideo';
    oldValue: boolean;
    newValue: boolean;
  };
  /** The session is being recorded (an archive started; also on joining while one records). */
  archiveStarted: { id: string; name: string };
  /** Its recording stopped. */
  archiveStopped: { id: string };
  signal: SignalEvent;
  [type: `signal:${string}`]: SignalEvent;
  exception: { code: ErrorCode | string; message: string };
  roomStateUpdate: RoomStateUpdate;
}

/** Every named session event (`signal:<type>` aside), for code that listens to all of them. */
export const SESSION_EVENT_NAMES = [
  'sessionConnected',
  'sessionReconnecting',
  'sessionReconnected',
  'sessionDisconnected',
  'connectionCreated',
  'connectionDestroyed',
  'connectionReconnecting',
  'connectionReconnected',
  'streamCreated',
  'streamDestroyed',
  'streamPropertyChanged',
  'archiveStarted',
  'archiveStopped',
  'signal',
  'exception',
  'roomStateUpdate',
] as const satisfies ReadonlyArray<keyof SessionEvents>;
