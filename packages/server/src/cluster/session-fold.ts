import type { StreamInfo } from '@tether/protocol';
import type { LogEntry, Member, Position, SessionSnapshot } from './engine.js';

/**
 * What one log entry does to a session's snapshot (presence in join order, streams), as a
 * list of small operations. Pure, and independent of the state it applies to: a patch or a
 * removal of something absent does nothing. That independence is what lets the Redis
 * engine compute the operations here, in TypeScript, and have a tiny Lua interpreter apply
 * them inside the append script, while the memory engine applies the very same list to its
 * Maps: both engines fold the log by one definition.
 */
export type FoldOp =
  /** Adds a member at the end of the join order (a member already there keeps its place). */
  | { k: 'addMember'; member: Member }
  | { k: 'patchMember'; connectionId: string; patch: MemberPatch }
  | { k: 'removeMember'; connectionId: string }
  /** Adds a stream at the end of the creation order (one already there keeps its place). */
  | { k: 'addStream'; stream: StreamInfo }
  | { k: 'patchStream'; streamId: string; patch: StreamPatch }
  | { k: 'removeStream'; streamId: string };

/** The member fields an entry can change after its join. */
export const MEMBER_PATCH_FIELDS = ['state', 'owner'] as const;
export type MemberPatch = Partial<Pick<Member, (typeof MEMBER_PATCH_FIELDS)[number]>>;
/** The stream fields an entry can change after its creation. */
export const STREAM_PATCH_FIELDS = ['hasAudio', 'hasVideo'] as const;
export type StreamPatch = Partial<Pick<StreamInfo, (typeof STREAM_PATCH_FIELDS)[number]>>;

/**
 * The operations one entry stands for. A removed member's streams are not removed here: the
 * owner appends their `streamDestroyed` entries itself (the others must be told of each),
 * so the log already carries them.
 */
export function foldOps(entry: LogEntry): FoldOp[] {
  const e = entry.event;
  switch (e.t) {
    case '~joined':
      // Unseen until its client confirms the welcome (`connectionCreated`).
      return [{ k: 'addMember', member: { ...e.member, state: 'pending' } }];
    case 'connectionCreated':
      return [{ k: 'patchMember', connectionId: e.connection.connectionId, patch: { state: 'connected' } }];
    case 'connectionReconnecting':
      return [{ k: 'patchMember', connectionId: e.connectionId, patch: { state: 'interrupted' } }];
    case 'connectionReconnected':
      return [{ k: 'patchMember', connectionId: e.connectionId, patch: { state: 'connected' } }];
    case 'presence':
      // The changes of a batch, each as it would be alone.
      return e.changes.flatMap((change) => foldOps({ event: change }));
    case 'connectionDestroyed':
    case '~ended':
      return [{ k: 'removeMember', connectionId: e.connectionId }];
    case '~moved':
      return [{ k: 'patchMember', connectionId: e.connectionId, patch: { owner: e.owner } }];
    case 'streamCreated':
      return [{ k: 'addStream', stream: e.stream }];
    case 'streamDestroyed':
      return [{ k: 'removeStream', streamId: e.streamId }];
    case 'streamPropertyChanged': {
      const patch: StreamPatch = {};
      if (e.hasAudio !== undefined) patch.hasAudio = e.hasAudio;
      if (e.hasVideo !== undefined) patch.hasVideo = e.hasVideo;
      return Object.keys(patch).length > 0 ? [{ k: 'patchStream', streamId: e.streamId, patch }] : [];
    }
    default:
      return [];
  }
}

/** A session's folded state. Map order is join order (members) and creation order (streams). */
export interface SessionState {
  members: Map<string, Member>;
  streams: Map<string, StreamInfo>;
}

export function emptyState(): SessionState {
  return { members: new Map(), streams: new Map() };
}

/** Applies operations in place. */
export function applyOps(state: SessionState, ops: readonly FoldOp[]): void {
  for (const op of ops) {
    switch (op.k) {
      case 'addMember':
        // Map.set on an existing key keeps its place, as ZADD NX keeps a join-order score.
        state.members.set(op.member.info.connectionId, { ...op.member });
        break;
      case 'patchMember': {
        const m = state.members.get(op.connectionId);
        if (m) state.members.set(op.connectionId, { ...m, ...op.patch });
        break;
      }
      case 'removeMember':
        state.members.delete(op.connectionId);
        break;
      case 'addStream':
        state.streams.set(op.stream.streamId, { ...op.stream });
        break;
      case 'patchStream': {
        const s = state.streams.get(op.streamId);
        if (s) state.streams.set(op.streamId, { ...s, ...op.patch });
        break;
      }
      case 'removeStream':
        state.streams.delete(op.streamId);
        break;
    }
  }
}

/** Folds one entry into the state. */
export function foldEntry(state: SessionState, entry: LogEntry): void {
  applyOps(state, foldOps(entry));
}

export function toSnapshot(state: SessionState, at: Position): SessionSnapshot {
  return { members: [...state.members.values()], streams: [...state.streams.values()], at };
}

export function fromSnapshot(snapshot: SessionSnapshot): SessionState {
  return {
    members: new Map(snapshot.members.map((m) => [m.info.connectionId, { ...m }])),
    streams: new Map(snapshot.streams.map((s) => [s.streamId, { ...s }])),
  };
}
