/**
 * bench/lib/table.mjs — the benchmarks' tables: Tether side by side with its peer, and the ratio
 * Tether / peer. Three layouts: aligned columns (bench/fanout.mjs), Markdown (bench/media.mjs,
 * pasted into bench/README.md as is) and fixed-width columns whose long cells wrap
 * (bench/reconnect.mjs).
 */

/**
 * a / b when both are finite numbers and b is not 0; NaN otherwise.
 * @param {number | null | undefined} a
 * @param {number | null | undefined} b
 * @returns {number}
 */
export function ratio(a, b) {
  return Number.isFinite(a) && Number.isFinite(b) && b !== 0
    ? /** @type {number} */ (a) / /** @type {number} */ (b)
    : NaN;
}

/**
 * @typedef {object} RatioFormat
 * @property {number} [digits] decimals (default 2)
 * @property {string} [unit] after the number (default '×')
 * @property {string} [missing] when there is no ratio: a side is absent, not finite, or b is 0 (default 'n/a')
 */

/**
 * The ratio a / b as text, e.g. "1.25×".
 * @param {number | null | undefined} a
 * @param {number | null | undefined} b
 * @param {RatioFormat} [format]
 * @returns {string}
 */
export function formatRatio(a, b, { digits = 2, unit = '×', missing = 'n/a' } = {}) {
  const r = ratio(a, b);
  return Number.isFinite(r) ? `${r.toFixed(digits)}${unit}` : missing;
}

/**
 * The three cells of one measure: Tether's value, its peer's, and Tether / peer. A side that was
 * not measured (undefined) shows `missing`; a measured value goes through `format` whatever it is.
 * @param {number | undefined} tether
 * @param {number | undefined} peer
 * @param {(x: number) => string} format
 * @param {RatioFormat} [ratioFormat] `missing` also stands for an absent side
 * @returns {[string, string, string]}
 */
export function compareCells(tether, peer, format, ratioFormat = {}) {
  const missing = ratioFormat.missing ?? 'n/a';
  return [
    tether === undefined ? missing : format(tether),
    peer === undefined ? missing : format(peer),
    formatRatio(tether, peer, ratioFormat),
  ];
}

/**
 * @typedef {object} TableLayout
 * @property {boolean} [markdown] `| a | b |` with a `| --- |` rule; otherwise columns two spaces apart under a rule of dashes
 * @property {('left' | 'right')[]} [align] per column, default left
 */

/**
 * A table with every column as wide as its widest cell (header included).
 * @param {string[]} head
 * @param {unknown[][]} rows cells, written with String()
 * @param {TableLayout} [layout]
 * @returns {string} lines joined with '\n', no trailing newline
 */
export function formatTable(head, rows, { markdown = false, align = [] } = {}) {
  const text = rows.map((r) => head.map((_, i) => String(r[i] ?? '')));
  const widths = head.map((h, i) => Math.max(h.length, ...text.map((r) => r[i].length)));
  const pad = (c, i) => (align[i] === 'right' ? c.padStart(widths[i]) : c.padEnd(widths[i]));
  const rule = widths.map((w) => '-'.repeat(w));
  const line = markdown
    ? (cells) => `| ${cells.map(pad).join(' | ')} |`
    : (cells) => cells.map(pad).join('  ');
  const ruleLine = markdown ? `| ${rule.join(' | ')} |` : rule.join('  ');
  return [line(head), ruleLine, ...text.map(line)].join('\n');
}

/**
 * Splits text at ", " into lines no longer than `width`, where it can: a part longer than the
 * width stays whole on a line of its own.
 * @param {string} text
 * @param {number} width
 * @returns {string[]}
 */
export function wrapAtCommas(text, width) {
  const out = [''];
  for (const part of text.split(/(?<=, )/)) {
    if (out[out.length - 1].length + part.length > width && out[out.length - 1] !== '') out.push('');
    out[out.length - 1] += part;
  }
  return out;
}

/**
 * @typedef {object} WrappedLayout
 * @property {number[]} widths of every column but the last; a cell wraps at ", " to its width − 2
 * @property {string} [indent] before every line (default '')
 */

/**
 * Fixed-width columns for long cells: each cell but the last wraps onto as many lines as it needs;
 * the last (e.g. a ratio) is written on the row's first line only. Trailing spaces are trimmed.
 * @param {unknown[][]} rows
 * @param {WrappedLayout} layout
 * @returns {string} lines joined with '\n'
 */
export function formatWrapped(rows, { widths, indent = '' }) {
  const lines = [];
  for (const row of rows) {
    const cells = widths.map((w, i) => wrapAtCommas(String(row[i] ?? ''), w - 2));
    const last = String(row[widths.length] ?? '');
    const height = Math.max(...cells.map((c) => c.length));
    for (let k = 0; k < height; k++) {
      const padded = cells.map((c, i) => (c[k] ?? '').padEnd(widths[i])).join('');
      lines.push(`${indent}${padded}${k ? '' : last}`.trimEnd());
    }
  }
  return lines.join('\n');
}
