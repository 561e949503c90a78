import { TetherError } from '@tether/protocol';
import { describe, expect, it } from 'vitest';
import { transition, type SessionState } from './session-state.js';

const STATES: SessionState[] = ['disconnected', 'connecting', 'connected', 'reconnecting'];

/** DESIGN.md: disconnected → connecting → connected ⇄ reconnecting → disconnected, plus a fresh join after a refused resume. */
const LEGAL = new Set([
  'disconnected→connecting',
  'connecting→connected',
  'connecting→disconnected',
  'connected→reconnecting',
  'connected→disconnected',
  'reconnecting→connected',
  'reconnecting→disconnected',
  'reconnecting→connecting',
]);

const pairs = STATES.flatMap((from) => STATES.map((to) => [from, to] as const));

describe('transition', () => {
  it('covers all 16 pairs, 8 of them legal', () => {
    expect(pairs).toHaveLength(16);
    expect(pairs.filter(([f, t]) => LEGAL.has(`${f}→${t}`))).toHaveLength(8);
  });

  it.each(pairs.filter(([f, t]) => LEGAL.has(`${f}→${t}`)))('allows %s → %s', (from, to) => {
    expect(transition(from, to)).toBe(to);
  });

  it.each(pairs.filter(([f, t]) => !LEGAL.has(`${f}→${t}`)))(
    'refuses %s → %s with INVALID_STATE',
    (from, to) => {
      let thrown: unknown;
      try {
        transition(from, to);
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(TetherError);
      expect((thrown as TetherError).code).toBe('INVALID_STATE');
      expect((thrown as TetherError).message).toContain(`from ${from} to ${to}`);
    },
  );

  it('walks the documented life cycle, a drop and a give-up included', () => {
    let s: SessionState = 'disconnected';
    for (const next of [
      'connecting',
      'connected',
      'reconnecting',
      'connected',
      'reconnecting',
      'disconnected',
    ] as const)
      s = transition(s, next);
    expect(s).toBe('disconnected');
  });
});
