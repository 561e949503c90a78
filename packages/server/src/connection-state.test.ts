import { TetherError } from '@tether/protocol';
import { describe, expect, it } from 'vitest';
import { isConfirmed, isInterrupted, transition, type ConnectionState } from './connection-state.js';

const STATES: ConnectionState[] = ['pending', 'pendingInterrupted', 'connected', 'interrupted', 'closed'];

/** Unseen until confirmed; a lost transport waits for a resume; closed is final. */
const LEGAL = new Set([
  'pending→connected',
  'pending→pendingInterrupted',
  'pending→closed',
  'pendingInterrupted→connected',
  'pendingInterrupted→closed',
  'connected→interrupted',
  'connected→closed',
  'interrupted→connected',
  'interrupted→closed',
]);

const pairs = STATES.flatMap((from) => STATES.map((to) => [from, to] as const));

describe('connection state transition', () => {
  it('covers all 25 pairs, 9 of them legal', () => {
    expect(pairs).toHaveLength(25);
    expect(pairs.filter(([f, t]) => LEGAL.has(`${f}→${t}`))).toHaveLength(9);
  });

  it.each(pairs.filter(([f, t]) => LEGAL.has(`${f}→${t}`)))('allows %s → %s', (from, to) => {
    expect(transition(from, to)).toBe(to);
  });

  it.each(pairs.filter(([f, t]) => !LEGAL.has(`${f}→${t}`)))('refuses %s → %s with INTERNAL', (from, to) => {
    let thrown: unknown;
    try {
      transition(from, to);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(TetherError);
    expect((thrown as TetherError).code).toBe('INTERNAL');
    expect((thrown as TetherError).message).toContain(`from ${from} to ${to}`);
  });

  it('never lets an unconfirmed connection become interrupted in sight of others: only a confirmation or a resume makes it visible', () => {
    const visible = STATES.filter(isConfirmed);
    expect(visible).toEqual(['connected', 'interrupted']);
    for (const from of ['pending', 'pendingInterrupted'] as const)
      for (const to of visible) expect(LEGAL.has(`${from}→${to}`)).toBe(to === 'connected');
  });

  it('says which states wait for a resume', () => {
    expect(STATES.filter(isInterrupted)).toEqual(['pendingInterrupted', 'interrupted']);
  });
});
