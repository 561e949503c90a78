import { TetherError } from '@tether/protocol';

/**
 * A server connection's life. `pending`: the welcome was written but the client has not
 * shown it arrived, so nobody else may see the connection yet. `connected`: confirmed (its
 * first frame after the welcome, or a resume with its secret) and in the room.
 * `pendingInterrupted` / `interrupted`: the transport died; the connection waits, inside its
 * reconnect window, for a resume (still unseen in the first case). `closed`: ended for good.
 */
export type ConnectionState = 'pending' | 'pendingInterrupted' | 'connected' | 'interrupted' | 'closed';

const ALLOWED: Record<ConnectionState, readonly ConnectionState[]> = {
  pending: ['connected', 'pendingInterrupted', 'closed'],
  // A resume carries the secret the welcome held: proof the welcome arrived.
  pendingInterrupted: ['connected', 'closed'],
  connected: ['interrupted', 'closed'],
  interrupted: ['connected', 'closed'],
  closed: [],
};

/** The one transition function: an illegal transition is a server bug and throws. */
export function transition(from: ConnectionState, to: ConnectionState): ConnectionState {
  if (!ALLOWED[from].includes(to))
    throw new TetherError('INTERNAL', `a connection cannot go from ${from} to ${to}`);
  return to;
}

/** Whether others may see the connection (presence, the HTTP API). */
export function isConfirmed(state: ConnectionState): boolean {
  return state === 'connected' || state === 'interrupted';
}

/** Whether the connection has no transport and waits for a resume. */
export function isInterrupted(state: ConnectionState): boolean {
  return state === 'interrupted' || state === 'pendingInterrupted';
}
