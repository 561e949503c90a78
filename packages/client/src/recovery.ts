import {
  TetherError,
  type ClientOp,
  type ConnectionInfo,
  type PeerConnection,
  type StreamInfo,
  type TransportConfig,
} from '@tether/protocol';

/**
 * Everything a new page (or a restarted process) needs to resume a connection it did not
 * open: the connection and its secret, the positions of both directions, the operations
 * not yet answered, and the roster as of the last frame applied. Replay then brings the
 * roster up to date, so nothing is shown twice and nothing is missed.
 */
export interface RecoveryState {
  v: 1;
  sessionId: string;
  connectionId: string;
  secret: string;
  mediaMode: 'routed' | 'relayed';
  config: TransportConfig;
  /** Highest server seq applied. */
  received: number;
  /** Last op seq numbered, and the ops not yet answered (sent again if the server lacks them). */
  opSeq: number;
  pending: Array<{ seq: number; op: ClientOp }>;
  self: ConnectionInfo;
  connections: PeerConnection[];
  streams: StreamInfo[];
  /** The session's running archive when the key was made (events before `received` are not replayed). */
  archive?: { id: string; name: string };
}

export function encodeRecoveryKey(state: RecoveryState): string {
  return JSON.stringify(state);
}

/** Reads a key; a key that is not one (edited, truncated, another version) is an INVALID_ARGUMENT. */
export function decodeRecoveryKey(key: string, sessionId: string): RecoveryState {
  let state: Partial<RecoveryState>;
  try {
    state = JSON.parse(key) as Partial<RecoveryState>;
  } catch {
    throw new TetherError('INVALID_ARGUMENT', 'the recovery key is not one session.recoveryKey() made');
  }
  const valid =
    state.v === 1 &&
    typeof state.connectionId === 'string' &&
    typeof state.secret === 'string' &&
    Number.isSafeInteger(state.received) &&
    Number.isSafeInteger(state.opSeq) &&
    Array.isArray(state.pending) &&
    state.pending.every((p) => Number.isSafeInteger(p?.seq) && typeof p?.op?.t === 'string') &&
    typeof state.self?.connectionId === 'string' &&
    Array.isArray(state.connections) &&
    Array.isArray(state.streams) &&
    typeof state.config?.heartbeatIntervalMs === 'number';
  if (!valid)
    throw new TetherError('INVALID_ARGUMENT', 'the recovery key is not one session.recoveryKey() made');
  if (state.sessionId !== sessionId)
    throw new TetherError('INVALID_ARGUMENT', `the recovery key is for session ${String(state.sessionId)}`);
  return state as RecoveryState;
}

/** Where `recover: true` keeps the key: this tab's sessionStorage, one entry per session. */
export interface RecoveryStore {
  load(): string | null;
  save(key: string): void;
  clear(): void;
}

export function sessionStorageStore(sessionId: string): RecoveryStore | undefined {
  const storage = (globalThis as { sessionStorage?: Storage }).sessionStorage;
  if (!storage) return undefined;
  const name = `tether:recovery:${sessionId}`;
  return {
    load: () => storage.getItem(name),
    save: (key) => storage.setItem(name, key),
    clear: () => storage.removeItem(name),
  };
}

/**
 * Calls `save` when the page is going away (a reload, a navigation, a tab put in the
 * background on a phone, which may never come back). Returns the way to stop.
 */
export function onPageLeave(save: () => void): () => void {
  const target = globalThis as {
    addEventListener?: (n: string, f: () => void) => void;
    removeEventListener?: (n: string, f: () => void) => void;
    document?: { visibilityState?: string };
  };
  if (typeof target.addEventListener !== 'function') return () => undefined;
  const hidden = () => {
    if (target.document?.visibilityState === 'hidden') save();
  };
  target.addEventListener('pagehide', save);
  target.addEventListener('visibilitychange', hidden);
  return () => {
    target.removeEventListener?.('pagehide', save);
    target.removeEventListener?.('visibilitychange', hidden);
  };
}
