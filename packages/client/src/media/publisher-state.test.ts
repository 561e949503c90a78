import { TetherError } from '@tether/protocol';
import { describe, expect, it } from 'vitest';
import { transition, type PublisherState } from './publisher-state.js';

const STATES: PublisherState[] = ['noPublish', 'publishRequesting', 'publishing'];

/** DESIGN.md: noPublish → publishRequesting → publishing, back to noPublish on failure; plus recovering and a repeated failure. */
const LEGAL = new Set([
  'noPublish→publishRequesting',
  'noPublish→noPublish',
  'publishRequesting→publishing',
  'publishRequesting→noPublish',
  'publishing→publishRequesting',
  'publishing→noPublish',
]);

const pairs = STATES.flatMap((from) => STATES.map((to) => [from, to] as const));
const legal = pairs.filter(([f, t]) => LEGAL.has(`${f}→${t}`));
const illegal = pairs.filter(([f, t]) => !LEGAL.has(`${f}→${t}`));

describe('publisher transition', () => {
  it('covers all 9 pairs, 6 of them legal', () => {
    expect(pairs).toHaveLength(9);
    expect(legal).toHaveLength(6);
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

  it('walks a publish, an interruption, a recovery, a give-up and a republish', () => {
    let s: PublisherState = 'noPublish';
    for (const next of [
      'publishRequesting',
      'publishing',
      'publishRequesting',
      'publishing',
      'publishRequesting',
      'noPublish',
      'publishRequesting',
      'publishing',
      'noPublish',
    ] as const)
      s = transition(s, next);
    expect(s).toBe('noPublish');
  });
});
