import { TetherError } from '@tether/protocol';
import { describe, expect, it } from 'vitest';
import { transition, type SubscriberState } from './subscriber-state.js';

const STATES: SubscriberState[] = ['noPlay', 'playRequesting', 'playing'];

/** DESIGN.md: noPlay → playRequesting → playing, back to noPlay on failure or end; plus a repeated failure. */
const LEGAL = new Set([
  'noPlay→playRequesting',
  'noPlay→noPlay',
  'playRequesting→playing',
  'playRequesting→noPlay',
  'playing→noPlay',
]);

const pairs = STATES.flatMap((from) => STATES.map((to) => [from, to] as const));
const legal = pairs.filter(([f, t]) => LEGAL.has(`${f}→${t}`));
const illegal = pairs.filter(([f, t]) => !LEGAL.has(`${f}→${t}`));

describe('subscriber transition', () => {
  it('covers all 9 pairs, 5 of them legal', () => {
    expect(pairs).toHaveLength(9);
    expect(legal).toHaveLength(5);
  });

  it.each(legal)('allows %s → %s', (from, to) => {
    expect(transition(from, to)).toBe(to);
  });

  it.each(illegal)('refuses %s → %s with INVALID_STATE', (from, to) => {
    let thrown: unknown;
    try {
      transition(from, to);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(TetherError);
    expect((thrown as TetherError).code).toBe('INVALID_STATE');
    expect((thrown as TetherError).message).toContain(`from ${from} to ${to}`);
  });

  it('walks a play, a give-up and a resubscribe that plays again', () => {
    let s: SubscriberState = 'noPlay';
    for (const next of [
      'playRequesting',
      'playing',
      'noPlay',
      'playRequesting',
      'playing',
      'noPlay',
    ] as const)
      s = transition(s, next);
    expect(s).toBe('noPlay');
  });
});
