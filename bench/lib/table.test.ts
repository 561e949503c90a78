import { describe, expect, it } from 'vitest';
import { compareCells, formatRatio, formatTable, formatWrapped, ratio, wrapAtCommas } from './table.mjs';

describe('ratio', () => {
  it('is a / b for finite numbers and NaN when there is none', () => {
    expect(ratio(3, 2)).toBe(1.5);
    expect(ratio(3, 0)).toBeNaN();
    expect(ratio(NaN, 2)).toBeNaN();
    expect(ratio(3, Infinity)).toBeNaN();
    expect(ratio(null, 2)).toBeNaN();
    expect(ratio(3, undefined)).toBeNaN();
  });
});

describe('formatRatio', () => {
  it('writes Tether / peer with two decimals and ×', () => {
    expect(formatRatio(88464, 110244)).toBe('0.80×');
    expect(formatRatio(3.99, 37.21)).toBe('0.11×');
  });

  it('writes `missing` when a side is absent or not finite, or the peer is 0', () => {
    expect(formatRatio(undefined, 2)).toBe('n/a');
    expect(formatRatio(1, 0)).toBe('n/a');
    expect(formatRatio(NaN, 1, { missing: '—' })).toBe('—');
    expect(formatRatio(null, 1, { missing: '' })).toBe('');
  });

  it('takes the decimals and the unit', () => {
    expect(formatRatio(20374, 81591, { digits: 3, unit: '' })).toBe('0.250');
  });
});

describe('compareCells', () => {
  const fmt = (x: number) => x.toFixed(1);

  it('gives Tether, its peer and their ratio', () => {
    expect(compareCells(3, 2, fmt)).toEqual(['3.0', '2.0', '1.50×']);
  });

  it('shows a side that was not measured as missing, and no ratio', () => {
    expect(compareCells(undefined, 2, fmt)).toEqual(['n/a', '2.0', 'n/a']);
    expect(compareCells(3, undefined, fmt, { missing: '—' })).toEqual(['3.0', '—', '—']);
  });

  it('formats a measured value whatever it is (NaN included)', () => {
    expect(compareCells(NaN, 2, fmt)).toEqual(['NaN', '2.0', 'n/a']);
  });
});

describe('formatTable', () => {
  it('aligns columns two spaces apart under a rule, each column as wide as its widest cell', () => {
    const text = formatTable(
      ['N', 'metric', 'Tether', 'Socket.IO', 'Tether/Socket.IO'],
      [
        ['100', 'deliveries/s (window 40 msg)', '88,464', '110,244', '0.80×'],
        ['100', 'connect N clients (s)', '0.71', '0.19', '3.78×'],
      ],
      { align: ['left', 'left', 'right', 'right', 'right'] },
    );
    expect(text.split('\n')).toEqual([
      'N    metric                        Tether  Socket.IO  Tether/Socket.IO',
      '---  ----------------------------  ------  ---------  ----------------',
      '100  deliveries/s (window 40 msg)  88,464    110,244             0.80×',
      '100  connect N clients (s)           0.71       0.19             3.78×',
    ]);
  });

  it('writes Markdown, left-aligned, with a rule as wide as each column', () => {
    const text = formatTable(
      ['N', 'forwarder', 'Tether / this'],
      [
        ['5', 'Tether SFU', ''],
        ['', 'plain UDP, same load', '0.250'],
      ],
      { markdown: true },
    );
    expect(text.split('\n')).toEqual([
      '| N | forwarder            | Tether / this |',
      '| - | -------------------- | ------------- |',
      '| 5 | Tether SFU           |               |',
      '|   | plain UDP, same load | 0.250         |',
    ]);
  });

  it('writes non-string cells with String() and missing cells as empty', () => {
    expect(formatTable(['a', 'b'], [[12], [null, 3]], { markdown: true }).split('\n')).toEqual([
      '| a  | b |',
      '| -- | - |',
      '| 12 |   |',
      '|    | 3 |',
    ]);
  });
});

describe('wrapAtCommas', () => {
  it('breaks after ", " so that no line is longer than the width', () => {
    expect(wrapAtCommas('heartbeatTimeout 2, protocolError 1, closed 3', 22)).toEqual([
      'heartbeatTimeout 2, ',
      'protocolError 1, ',
      'closed 3',
    ]);
  });

  it('keeps text that fits, or that has no ", ", on one line', () => {
    expect(wrapAtCommas('a, b', 10)).toEqual(['a, b']);
    expect(wrapAtCommas('a-part-longer-than-the-width', 5)).toEqual(['a-part-longer-than-the-width']);
    expect(wrapAtCommas('', 5)).toEqual(['']);
  });
});

describe('formatWrapped', () => {
  it('pads each column to its width, wraps long cells and writes the last cell on the first line only', () => {
    const text = formatWrapped(
      [
        ['', 'Tether', 'Socket.IO', 'ratio'],
        ['as', 'aaaa 1, bbbb 2, cccc 3', '—'],
        ['detect', '3.99 s', '37.21 s', '0.11×'],
      ],
      { widths: [8, 12, 10], indent: '  ' },
    );
    expect(text.split('\n')).toEqual([
      '          Tether      Socket.IO ratio',
      '  as      aaaa 1,     —',
      '          bbbb 2,',
      '          cccc 3',
      '  detect  3.99 s      37.21 s   0.11×',
    ]);
  });

  it('trims trailing spaces and writes an absent column as empty', () => {
    expect(formatWrapped([['label', 'x']], { widths: [10, 10, 10] })).toBe('label     x');
  });
});
