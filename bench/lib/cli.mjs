/**
 * bench/lib/cli.mjs — command-line options of a benchmark, parsed and checked (node:util
 * parseArgs underneath): typed values, defaults, `--help`, and a clear message for a bad value.
 */
import { parseArgs } from 'node:util';

/**
 * @typedef {object} OptionSpec
 * @property {'boolean' | 'string' | 'number' | 'integer' | 'list' | 'integers'} type
 *   number/integer: one value; list: comma-separated strings; integers: comma-separated integers
 * @property {unknown} [default] already typed (e.g. 3, [100, 1000]); absent: the value is undefined unless given
 * @property {number} [min] for number, integer and integers (default 0)
 * @property {string[]} [choices] for string and list
 * @property {string} [short] one-letter alias
 */

/** Thrown for a value that does not fit its option; the message names the option. */
export class CliError extends Error {}

/**
 * @param {string} name
 * @param {string} raw
 * @param {OptionSpec} spec
 */
function convert(name, raw, spec) {
  const min = spec.min ?? 0;
  const number = (text) => {
    const x = text.trim() === '' ? NaN : Number(text);
    const integer = spec.type === 'integer' || spec.type === 'integers';
    if (!Number.isFinite(x) || x < min || (integer && !Number.isInteger(x)))
      throw new CliError(
        `--${name}: expected ${integer ? 'an integer' : 'a number'} ≥ ${min}, got '${text}'`,
      );
    return x;
  };
  const choose = (text) => {
    if (spec.choices && !spec.choices.includes(text))
      throw new CliError(`--${name}: expected ${spec.choices.join(' | ')}, got '${text}'`);
    return text;
  };
  switch (spec.type) {
    case 'number':
    case 'integer':
      return number(raw);
    case 'integers':
      return raw.split(',').map(number);
    case 'list': {
      const items = raw
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean);
      if (items.length === 0) throw new CliError(`--${name}: expected a comma-separated list, got '${raw}'`);
      return items.map(choose);
    }
    default:
      return choose(raw);
  }
}

/**
 * Parses `argv` against `specs`. `--help` / `-h` is always accepted and gives `{ help: true }`
 * with nothing else checked. Unknown options, stray arguments and bad values throw CliError.
 * @param {Record<string, OptionSpec>} specs
 * @param {string[]} argv without node and the script
 * @returns {Record<string, any>}
 */
export function parseOptions(specs, argv) {
  /** @type {Record<string, {type: 'boolean' | 'string', short?: string}>} */
  const options = { help: { type: 'boolean', short: 'h' } };
  for (const [name, spec] of Object.entries(specs))
    options[name] = {
      type: spec.type === 'boolean' ? 'boolean' : 'string',
      ...(spec.short ? { short: spec.short } : {}),
    };
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options, strict: true, allowPositionals: false }));
  } catch (err) {
    throw new CliError(err.message);
  }
  if (values.help) return { help: true };
  /** @type {Record<string, any>} */
  const out = { help: false };
  for (const [name, spec] of Object.entries(specs)) {
    const raw = values[name];
    if (raw === undefined) out[name] = spec.type === 'boolean' ? (spec.default ?? false) : spec.default;
    else out[name] = spec.type === 'boolean' ? raw : convert(name, raw, spec);
  }
  return out;
}

/**
 * The options of this process (process.argv): `--help` prints `usage` and exits 0; a bad option
 * prints the reason and `usage` on stderr and exits 2.
 * @param {Record<string, OptionSpec>} specs
 * @param {string} usage
 * @returns {Record<string, any>}
 */
export function cliOptions(specs, usage) {
  let values;
  try {
    values = parseOptions(specs, process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof CliError)) throw err;
    process.stderr.write(`${err.message}\n\n${usage}`);
    process.exit(2);
  }
  if (values.help) {
    process.stdout.write(usage);
    process.exit(0);
  }
  return values;
}
