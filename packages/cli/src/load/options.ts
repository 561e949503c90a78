import { parseArgs } from 'node:util';
import { TetherError } from '@tether/protocol';

export interface LoadOptions {
  url: string;
  clients: number;
  sessions: number;
  /** Signals per second per client (0: none). */
  rate: number;
  /** Bytes of data per signal. */
  size: number;
  durationMs: number;
  /** Media publishers per session (routed sessions, synthetic RTP) and subscribers of each. */
  publishers: number;
  subscribers: number;
  /** Cut every client's path (through the built-in proxy) this often; 0: never. */
  cutEveryMs: number;
  /** How long after the last send to wait for the last deliveries. */
  drainMs: number;
  json: boolean;
}

export const LOAD_USAGE = `tether load — N clients across M sessions against a Tether server, with optional cuts

  tether load [--url http://127.0.0.1:7100] [--clients 100] [--sessions 10] [--rate 2]
              [--size 100] [--duration 20] [--publishers 0] [--subscribers 0]
              [--cut-every 0] [--drain 5] [--json] [--api-key k --api-secret s | --data-dir d]

  --clients       clients in all, spread evenly over --sessions sessions
  --rate          signals per second each client sends to its session (0: none)
  --size          bytes of data in each signal
  --duration      seconds of sending
  --publishers    per session: publishers of a synthetic media stream (routed sessions)
  --subscribers   per session: clients that subscribe to every stream of it
  --cut-every     seconds: every client's connection goes dark (no FIN, no RST: the built-in
                  proxy stops carrying it) this often; the clients must resume by themselves
  --drain         seconds to wait after the last send for what is still on its way
  --json          one JSON object on stdout instead of the report
Credentials: --api-key/--api-secret (TETHER_API_KEY/SECRET), else the development project.
Prints a progress line every second (stderr), then latency percentiles, deliveries/s, lost and
duplicated signals, and reconnect times.
`;

const FLAGS = {
  url: { type: 'string' },
  clients: { type: 'string' },
  sessions: { type: 'string' },
  rate: { type: 'string' },
  size: { type: 'string' },
  duration: { type: 'string' },
  publishers: { type: 'string' },
  subscribers: { type: 'string' },
  'cut-every': { type: 'string' },
  drain: { type: 'string' },
  json: { type: 'boolean' },
  'api-key': { type: 'string' },
  'api-secret': { type: 'string' },
  'data-dir': { type: 'string' },
} as const;

export function loadOptions(argv: string[]): {
  options: LoadOptions;
  credentials: { 'api-key'?: string; 'api-secret'?: string; 'data-dir'?: string };
} {
  const { values } = parseArgs({ args: argv, options: FLAGS, strict: true });
  const num = (
    name: keyof typeof values,
    fallback: number,
    min: number,
    max: number,
    whole = true,
  ): number => {
    const raw = values[name];
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min || n > max || (whole && !Number.isInteger(n)))
      throw new TetherError(
        'INVALID_ARGUMENT',
        `--${name} must be ${whole ? 'a whole number' : 'a number'} from ${min} to ${max}, got ${JSON.stringify(raw)}`,
      );
    return n;
  };
  const clients = num('clients', 100, 1, 100_000);
  const sessions = num('sessions', Math.max(1, Math.ceil(clients / 10)), 1, clients);
  const options: LoadOptions = {
    url: (values.url as string | undefined) ?? 'http://127.0.0.1:7100',
    clients,
    sessions,
    rate: num('rate', 2, 0, 1000, false),
    size: num('size', 100, 1, 8000),
    durationMs: num('duration', 20, 1, 86_400, false) * 1000,
    publishers: num('publishers', 0, 0, 50),
    subscribers: num('subscribers', 0, 0, 1000),
    cutEveryMs: num('cut-every', 0, 0, 3600, false) * 1000,
    drainMs: num('drain', 5, 0, 600, false) * 1000,
    json: values.json === true,
  };
  if (options.publishers + options.subscribers > Math.floor(clients / sessions))
    throw new TetherError(
      'INVALID_ARGUMENT',
      `--publishers + --subscribers (${options.publishers + options.subscribers}) exceed the clients of one session (${Math.floor(clients / sessions)})`,
    );
  return {
    options,
    credentials: {
      ...(values['api-key'] !== undefined ? { 'api-key': values['api-key'] as string } : {}),
      ...(values['api-secret'] !== undefined ? { 'api-secret': values['api-secret'] as string } : {}),
      ...(values['data-dir'] !== undefined ? { 'data-dir': values['data-dir'] as string } : {}),
    },
  };
}
