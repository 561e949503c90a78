import type {
  CallbackConnection,
  CallbackPayload,
  CallbackStream,
  ConnectionInfo,
  ServerEvent,
  StreamInfo,
} from '@tether/protocol';
import type { LogEntry } from '../cluster/engine.js';

/** What the monitor reads of a session's replica, as it is before the entries are folded in. */
export interface SessionView {
  memberInfo(connectionId: string): ConnectionInfo | undefined;
  readonly streams: ReadonlyMap<string, StreamInfo>;
}

export interface MonitorContext {
  apiKey: string;
  sessionId: string;
  now: number;
  newId(): string;
}

/**
 * The session monitoring callbacks of entries about to be appended to a session's log: one
 * per connectionCreated / connectionDestroyed / streamCreated / streamDestroyed, with the
 * connection (and stream) as the replica knows them before the entries apply — a destroyed
 * one is still there. Interruptions (connectionReconnecting/Reconnected) are not callbacks:
 * the connection lives on, as DESIGN's guarantee 1 has it for the others in the session.
 */
export function monitorPayloads(
  entries: readonly LogEntry[],
  view: SessionView,
  ctx: MonitorContext,
): CallbackPayload[] {
  const payloads: CallbackPayload[] = [];
  // A stream or connection created earlier in the same append is not in the replica yet.
  const created = new Map<string, StreamInfo>();
  const common = () => ({
    id: ctx.newId(),
    apiKey: ctx.apiKey,
    sessionId: ctx.sessionId,
    timestamp: ctx.now,
  });
  const connection = (id: string): CallbackConnection => {
    const info = view.memberInfo(id);
    // Never missing for an event the room appends; the id alone rather than no callback at all.
    return info ? toConnection(info) : { id, data: '', createdAt: 0 };
  };
  for (const { event: e } of entries) {
    if (e.t.startsWith('~')) continue;
    const event = e as ServerEvent;
    switch (event.t) {
      case 'presence':
        // Presence changes of one turn, batched (presence-batch.ts): each join is a callback.
        for (const change of event.changes)
          if (change.t === 'connectionCreated')
            payloads.push({
              ...common(),
              event: 'connectionCreated',
              connection: toConnection(change.connection),
            });
          else if (change.t === 'connectionDestroyed')
            payloads.push({
              ...common(),
              event: 'connectionDestroyed',
              connection: connection(change.connectionId),
              reason: change.reason,
            });
        break;
      case 'connectionCreated':
        payloads.push({
          ...common(),
          event: 'connectionCreated',
          connection: toConnection(event.connection),
        });
        break;
      case 'connectionDestroyed':
        payloads.push({
          ...common(),
          event: 'connectionDestroyed',
          connection: connection(event.connectionId),
          reason: event.reason,
        });
        break;
      case 'streamCreated':
        created.set(event.stream.streamId, event.stream);
        payloads.push({
          ...common(),
          event: 'streamCreated',
          connection: connection(event.stream.connectionId),
          stream: toStream(event.stream),
        });
        break;
      case 'streamDestroyed': {
        const stream = view.streams.get(event.streamId) ?? created.get(event.streamId);
        if (!stream) break;
        payloads.push({
          ...common(),
          event: 'streamDestroyed',
          connection: connection(event.connectionId),
          stream: toStream(stream),
          reason: event.reason,
        });
        break;
      }
    }
  }
  return payloads;
}

function toConnection(info: ConnectionInfo): CallbackConnection {
  return { id: info.connectionId, data: info.data, createdAt: info.creationTime };
}

function toStream(s: StreamInfo): CallbackStream {
  return {
    id: s.streamId,
    name: s.name,
    hasAudio: s.hasAudio,
    hasVideo: s.hasVideo,
    videoType: s.videoType,
    createdAt: s.creationTime,
  };
}
