import { describe, expect, it } from 'vitest';
import { CliError, parseOptions } from './cli.mjs';

const specs = {
  clients: { type: 'integers', min: 1, default: [100, 1000] },
  systems: { type: 'list', choices: ['tether', 'socketio'], default: ['tether', 'socketio'] },
  reps: { type: 'integer', min: 1, default: 3 },
  window: { type: 'integer', min: 1 },
  rate: { type: 'number', default: 2000 },
  scenario: { type: 'string', choices: ['cuts', 'switches', 'both'], default: 'both' },
  out: { type: 'string' },
  json: { type: 'boolean' },
} as const;

describe('parseOptions', () => {
  it('gives the typed defaults when nothing is passed, and undefined for an option with none', () => {
    expect(parseOptions(specs, [])).toEqual({
      help: false,
      clients: [100, 1000],
      systems: ['tether', 'socketio'],
      reps: 3,
      window: undefined,
      rate: 2000,
      scenario: 'both',
      out: undefined,
      json: false,
    });
  });

  it('converts each value to its type', () => {
    const v = parseOptions(specs, [
      '--clients',
      '10,20',
      '--systems',
      ' socketio ',
      '--reps=1',
      '--window',
      '4',
      '--rate',
      '0.5',
      '--scenario',
      'cuts',
      '--out',
      'x.json',
      '--json',
    ]);
    expect(v).toMatchObject({
      clients: [10, 20],
      systems: ['socketio'],
      reps: 1,
      window: 4,
      rate: 0.5,
      scenario: 'cuts',
      out: 'x.json',
      json: true,
    });
  });

  it.each([
    [['--reps', '0'], "--reps: expected an integer ≥ 1, got '0'"],
    [['--reps', '2.5'], "--reps: expected an integer ≥ 1, got '2.5'"],
    [['--rate', 'fast'], "--rate: expected a number ≥ 0, got 'fast'"],
    [['--rate=-1'], "--rate: expected a number ≥ 0, got '-1'"],
    [['--rate', ''], "--rate: expected a number ≥ 0, got ''"],
    [['--clients', '100,x'], "--clients: expected an integer ≥ 1, got 'x'"],
    [['--systems', 'tether,nats'], "--systems: expected tether | socketio, got 'nats'"],
    [['--systems', ','], "--systems: expected a comma-separated list, got ','"],
    [['--scenario', 'all'], "--scenario: expected cuts | switches | both, got 'all'"],
  ])('rejects %j with a message naming the option', (argv, message) => {
    expect(() => parseOptions(specs, argv)).toThrow(new CliError(message));
  });

  it('rejects unknown options and stray arguments', () => {
    expect(() => parseOptions(specs, ['--client', '10'])).toThrow(CliError);
    expect(() => parseOptions(specs, ['10'])).toThrow(CliError);
  });

  it('answers --help and -h without checking the other options', () => {
    expect(parseOptions(specs, ['--help', '--reps', '0'])).toEqual({ help: true });
    expect(parseOptions(specs, ['-h'])).toEqual({ help: true });
  });
});
