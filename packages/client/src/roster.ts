import type {
  ConnectionInfo,
  PeerConnection,
  PresenceChange,
  Reason,
  ServerEventFrame,
  StreamInfo,
  WelcomeFrame,
} from '@tether/protocol';
import type { SessionEvents } from './events.js';

export type RosterEvent = {
  [K in keyof SessionEvents]: { name: K; event: SessionEvents[K] };
}[keyof SessionEvents];

/**
 * Who and what is in the session, as this client knows it: applies presence and stream
 * frames and says which events they mean. Pure state, no I/O.
 */
export class Roster {
  readonly connections = new Map<string, PeerConnection>();
  readonly streams = new Map<string, StreamInfo>();
  self: ConnectionInfo | undefined;
  /** The session's running archive (welcome, `archiveStarted`), if it is being recorded. */
  archive: { id: string; name: string } | undefined;

  /** Loads a welcome; returns the events an application sees for what was already there. */
  welcome(frame: WelcomeFrame): RosterEvent[] {
    this.connections.clear();
    this.streams.clear();
    const { role: _role, ...self } = frame.connection;
    this.self = self;
    this.connections.set(self.connectionId, self);
    const events: RosterEvent[] = [];
    for (const peer of frame.connections) {
      this.connections.set(peer.connectionId, peer);
      events.push({ name: 'connectionCreated', event: { connection: strip(peer) } });
    }
    for (const stream of frame.streams) {
      this.streams.set(stream.streamId, stream);
      events.push({ name: 'streamCreated', event: { stream } });
    }
    this.archive = frame.archive && { ...frame.archive };
    if (this.archive) events.push({ name: 'archiveStarted', event: { ...this.archive } });
    return events;
  }

  /** Loads what a recovery key remembered; returns the events a new page sees for it, as for a welcome. */
  restore(
    self: ConnectionInfo,
    connections: PeerConnection[],
    streams: StreamInfo[],
    archive?: { id: string; name: string },
  ): RosterEvent[] {
    this.clear();
    this.self = self;
    const events: RosterEvent[] = [];
    for (const peer of connections) {
      this.connections.set(peer.connectionId, { ...peer });
      if (peer.connectionId !== self.connectionId)
        events.push({ name: 'connectionCreated', event: { connection: strip(peer) } });
    }
    this.connections.set(self.connectionId, self);
    for (const stream of streams) {
      this.streams.set(stream.streamId, stream);
      events.push({ name: 'streamCreated', event: { stream } });
    }
    if (archive && typeof archive.id === 'string') {
      this.archive = { id: archive.id, name: String(archive.name) };
      events.push({ name: 'archiveStarted', event: { ...this.archive } });
    }
    return events;
  }

  lookup(connectionId: string): ConnectionInfo {
    const c = this.connections.get(connectionId);
    return c ? strip(c) : { connectionId, data: '', creationTime: 0 };
  }

  /** Applies a presence or stream frame. Other frames give no roster events. */
  apply(frame: ServerEventFrame): RosterEvent[] {
    switch (frame.t) {
      case 'presence': {
        // One event per change, in order, as if each had come alone; a change of this client is its own business.
        const events: RosterEvent[] = [];
        const self = this.self?.connectionId;
        for (const change of frame.changes)
          if (subjectOf(change) !== self) events.push(...this.presence(change));
        return events;
      }
      case 'connectionCreated':
      case 'connectionDestroyed':
      case 'connectionReconnecting':
      case 'connectionReconnected':
        return this.presence(frame);
      case 'streamCreated':
        this.streams.set(frame.stream.streamId, frame.stream);
        return [{ name: 'streamCreated', event: { stream: frame.stream } }];
      case 'streamDestroyed': {
        const stream = this.streams.get(frame.streamId);
        if (!stream) return [];
        this.streams.delete(frame.streamId);
        return [{ name: 'streamDestroyed', event: { stream, reason: frame.reason as Reason } }];
      }
      case 'streamPropertyChanged': {
        const stream = this.streams.get(frame.streamId);
        if (!stream) return [];
        const events: RosterEvent[] = [];
        for (const key of ['hasAudio', 'hasVideo'] as const) {
          const value = frame[key];
          if (value === undefined || value === stream[key]) continue;
          const oldValue = stream[key];
          stream[key] = value;
          events.push({
            name: 'streamPropertyChanged',
            event: { stream, changedProperty: key, oldValue, newValue: value },
          });
        }
        return events;
      }
      case 'archiveStarted':
        this.archive = { id: frame.id, name: frame.name };
        return [{ name: 'archiveStarted', event: { id: frame.id, name: frame.name } }];
      case 'archiveStopped':
        if (this.archive?.id === frame.id) this.archive = undefined;
        return [{ name: 'archiveStopped', event: { id: frame.id } }];
      default:
        return [];
    }
  }

  /** One presence change, alone or from a batch. */
  private presence(change: PresenceChange): RosterEvent[] {
    switch (change.t) {
      case 'connectionCreated':
        this.connections.set(change.connection.connectionId, { ...change.connection });
        return [{ name: 'connectionCreated', event: { connection: strip(change.connection) } }];
      case 'connectionDestroyed': {
        const connection = this.lookup(change.connectionId);
        this.connections.delete(change.connectionId);
        return [{ name: 'connectionDestroyed', event: { connection, reason: change.reason } }];
      }
      default: {
        const peer = this.connections.get(change.connectionId);
        if (!peer) return [];
        peer.reconnecting = change.t === 'connectionReconnecting';
        return [{ name: change.t, event: { connection: strip(peer) } }];
      }
    }
  }

  clear(): void {
    this.archive = undefined;
    this.connections.clear();
    this.streams.clear();
  }
}

function subjectOf(change: PresenceChange): string {
  return change.t === 'connectionCreated' ? change.connection.connectionId : change.connectionId;
}

function strip(peer: PeerConnection): ConnectionInfo {
  return { connectionId: peer.connectionId, data: peer.data, creationTime: peer.creationTime };
}
