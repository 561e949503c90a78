import type { ConnectionInfo, StreamInfo } from '@tether/client';
import { Connection, Stream } from './model.js';

/**
 * One Connection and one Stream object per id for a session, so that an application may compare
 * them with `===` (`event.from === session.connection`, a stream against `subscriber.stream`).
 * Entries go when their connection or stream is destroyed; all go when the session reconnects
 * afresh or ends.
 */
export class Registry {
  private readonly connections = new Map<string, Connection>();
  private readonly streams = new Map<string, Stream>();

  connection(id: string, info?: ConnectionInfo): Connection {
    let c = this.connections.get(id);
    if (!c) {
      c = new Connection(info ?? { connectionId: id, data: '', creationTime: 0 });
      this.connections.set(id, c);
    }
    return c;
  }

  stream(info: StreamInfo): Stream {
    let stream = this.streams.get(info.streamId);
    if (!stream) {
      stream = new Stream(info, this.connection(info.connectionId));
      this.streams.set(info.streamId, stream);
    }
    return stream;
  }

  knownStream(streamId: string): Stream | undefined {
    return this.streams.get(streamId);
  }

  forgetConnection(id: string): void {
    this.connections.delete(id);
  }

  forgetStream(id: string): void {
    this.streams.delete(id);
  }

  clear(): void {
    this.connections.clear();
    this.streams.clear();
  }
}
