import { TetherError } from '@tether/protocol';

/**
 * A subscriber's state (DESIGN.md: noPlay → playRequesting → playing, and back to noPlay,
 * with an error code when it fails or gives up). A temporary drop is not a state: the
 * subscriber stays playing and emits `disconnected`, then `connected`.
 */
export type SubscriberState = 'noPlay' | 'playRequesting' | 'playing';

const ALLOWED: Record<SubscriberState, readonly SubscriberState[]> = {
  // noPlay again: a failure reported while already down (a stale attempt failing after a give-up).
  noPlay: ['playRequesting', 'noPlay'],
  playRequesting: ['playing', 'noPlay'],
  playing: ['noPlay'],
};

/** The one transition function: illegal transitions are bugs and throw. */
export function transition(from: SubscriberState, to: SubscriberState): SubscriberState {
  if (!ALLOWED[from].includes(to))
    throw new TetherError('INVALID_STATE', `subscriber cannot go from ${from} to ${to}`);
  return to;
}
