import { TetherError } from '@tether/protocol';

/**
 * A publisher's state (DESIGN.md: noPublish → publishRequesting → publishing, and back to
 * noPublish with an error code when recovery fails). Routed, a publisher whose media the
 * server stops receiving goes back to publishRequesting while it restarts ICE.
 */
export type PublisherState = 'noPublish' | 'publishRequesting' | 'publishing';

const ALLOWED: Record<PublisherState, readonly PublisherState[]> = {
  // noPublish again: a failure reported while already down (given up on a rejoin after a give-up).
  noPublish: ['publishRequesting', 'noPublish'],
  publishRequesting: ['publishing', 'noPublish'],
  // publishRequesting: media interrupted, recovering.
  publishing: ['publishRequesting', 'noPublish'],
};

/** The one transition function: illegal transitions are bugs and throw. */
export function transition(from: PublisherState, to: PublisherState): PublisherState {
  if (!ALLOWED[from].includes(to))
    throw new TetherError('INVALID_STATE', `publisher cannot go from ${from} to ${to}`);
  return to;
}
