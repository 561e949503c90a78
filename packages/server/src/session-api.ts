import {
  checkSignal,
  wellFormed,
  type ConnectionInfo,
  type ErrorCode,
  type StreamInfo,
} from '@tether/protocol';
import type { ClusterEngine } from './cluster/engine.js';
import type { Room } from './room.js';

/** A session's confirmed connections (`reconnecting` when interrupted) and streams. */
export interface SessionState {
  connections: Array<ConnectionInfo & { reconnecting: boolean }>;
  streams: StreamInfo[];
}

/**
 * What the server API does to a session — read who is there, signal, force-disconnect,
 * force-unpublish — on any node: through this node's room when it follows the session, else
 * through the session's log (the owner of a connection acts on a `~request`).
 */
export class SessionApi {
  constructor(
    private readonly room: (sessionId: string) => Room | undefined,
    private readonly engine: ClusterEngine,
  ) {}

  /** A session's confirmed connections and its streams, wherever they are held. */
  async state(sessionId: string): Promise<SessionState> {
    const room = this.room(sessionId);
    if (room) return { connections: room.connectionList(), streams: [...room.streams.values()] };
    const snap = await this.engine.snapshot(sessionId);
    return {
      connections: snap.members
        .filter((m) => m.state !== 'pending')
        .map((m) => ({ ...m.info, reconnecting: m.state === 'interrupted' })),
      streams: snap.streams,
    };
  }

  /** A signal from the server API (`from: null`) to everyone or one connection. */
  async signal(
    sessionId: string,
    type: string,
    data: string,
    to?: string,
  ): Promise<{ delivered: number } | { error: ErrorCode }> {
    const room = this.room(sessionId);
    if (room) return room.signalFromServer(type, data, to);
    const bad = checkSignal(type, data);
    if (bad) return { error: bad };
    const snap = await this.engine.snapshot(sessionId);
    if (to !== undefined && !snap.members.some((m) => m.info.connectionId === to))
      return { error: 'SIGNAL_TARGET_NOT_FOUND' };
    if (to === undefined && snap.members.length === 0) return { delivered: 0 };
    data = wellFormed(data);
    await this.engine.append(sessionId, [
      to === undefined
        ? { event: { t: 'signal', from: null, type, data } }
        : { event: { t: 'signal', from: null, type, data, to }, to },
    ]);
    return { delivered: to === undefined ? snap.members.length : 1 };
  }

  /** Force-disconnects a confirmed connection, on whichever node owns it. False if there is none. */
  async forceDisconnect(sessionId: string, connectionId: string): Promise<boolean> {
    const state = await this.state(sessionId);
    if (!state.connections.some((c) => c.connectionId === connectionId)) return false;
    const room = this.room(sessionId);
    if (room) return room.forceDisconnect(connectionId);
    await this.engine.append(sessionId, [
      { event: { t: '~request', connectionId, request: { kind: 'forceDisconnect' } }, to: connectionId },
    ]);
    return true;
  }

  /** Force-unpublishes a stream, on whichever node owns its publisher. False if there is none. */
  async forceUnpublish(sessionId: string, streamId: string): Promise<boolean> {
    const room = this.room(sessionId);
    if (room) return room.forceUnpublish(streamId);
    const stream = (await this.engine.snapshot(sessionId)).streams.find((s) => s.streamId === streamId);
    if (!stream) return false;
    await this.engine.append(sessionId, [
      {
        event: {
          t: '~request',
          connectionId: stream.connectionId,
          request: { kind: 'forceUnpublish', streamId },
        },
        to: stream.connectionId,
      },
    ]);
    return true;
  }
}
