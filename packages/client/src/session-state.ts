import { TetherError } from '@tether/protocol';

/** The session's connection state (DESIGN.md: disconnected → connecting → connected ⇄ reconnecting → disconnected). */
export type SessionState = 'disconnected' | 'connecting' | 'connected' | 'reconnecting';

const ALLOWED: Record<SessionState, readonly SessionState[]> = {
  disconnected: ['connecting'],
  connecting: ['connected', 'disconnected'],
  connected: ['reconnecting', 'disconnected'],
  // `connecting` is the opt-in fresh join after a refused resume.
  reconnecting: ['connected', 'disconnected', 'connecting'],
};

/** The one transition function: illegal transitions are bugs and throw. */
export function transition(from: SessionState, to: SessionState): SessionState {
  if (!ALLOWED[from].includes(to))
    throw new TetherError('INVALID_STATE', `session cannot go from ${from} to ${to}`);
  return to;
}
