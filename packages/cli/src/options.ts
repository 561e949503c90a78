import { TetherError } from '@tether/protocol';
import { parseCallbackTarget, type Project, type ServerOptions } from '@tether/server';

/** Reads a whole number of milliseconds or a port; names the flag or variable that is wrong. */
function int(name: string, value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new TetherError('INVALID_ARGUMENT', `${name} must be a whole number ≥ 0, got "${value}"`);
  return n;
}

/** `key:secret,key2:secret2` → projects. */
export function parseProjects(spec: string | undefined): Project[] | undefined {
  if (!spec) return undefined;
  return spec.split(',').map((pair) => {
    const i = pair.indexOf(':');
    if (i <= 0 || i === pair.length - 1)
      throw new TetherError('INVALID_ARGUMENT', `a project is "apiKey:apiSecret", got "${pair}"`);
    const apiSecret = pair.slice(i + 1);
    if (apiSecret.length < 16)
      throw new TetherError(
        'INVALID_ARGUMENT',
        `the secret of project "${pair.slice(0, i)}" must be at least 16 characters`,
      );
    return { apiKey: pair.slice(0, i), apiSecret };
  });
}

export interface ServeFlags {
  port?: string;
  host?: string;
  'data-dir'?: string;
  project?: string[];
  'reconnect-window'?: string;
  'heartbeat-interval'?: string;
  'heartbeat-timeout'?: string;
  'heartbeat-timeout-max'?: string;
  'log-level'?: string;
  'callback-url'?: string[];
}

/** Flags win over environment variables, which win over the defaults. */
export function serveOptions(flags: ServeFlags, env: NodeJS.ProcessEnv): ServerOptions {
  const projects = parseProjects(flags.project?.join(',') || env.TETHER_PROJECTS);
  const transport: NonNullable<ServerOptions['transport']> = {};
  const window = int(
    '--reconnect-window / TETHER_RECONNECT_WINDOW_MS',
    flags['reconnect-window'] ?? env.TETHER_RECONNECT_WINDOW_MS,
  );
  const interval = int(
    '--heartbeat-interval / TETHER_HEARTBEAT_INTERVAL_MS',
    flags['heartbeat-interval'] ?? env.TETHER_HEARTBEAT_INTERVAL_MS,
  );
  const timeout = int(
    '--heartbeat-timeout / TETHER_HEARTBEAT_TIMEOUT_MS',
    flags['heartbeat-timeout'] ?? env.TETHER_HEARTBEAT_TIMEOUT_MS,
  );
  const timeoutMax = int(
    '--heartbeat-timeout-max / TETHER_HEARTBEAT_TIMEOUT_MAX_MS',
    flags['heartbeat-timeout-max'] ?? env.TETHER_HEARTBEAT_TIMEOUT_MAX_MS,
  );
  if (timeoutMax !== undefined) transport.heartbeatTimeoutMaxMs = timeoutMax;
  if (window !== undefined) transport.reconnectWindowMs = window;
  if (interval !== undefined) transport.heartbeatIntervalMs = interval;
  if (timeout !== undefined) transport.heartbeatTimeoutMs = timeout;
  if ((timeout ?? 2250) <= (interval ?? 1000))
    throw new TetherError(
      'INVALID_ARGUMENT',
      'the heartbeat timeout must be longer than the heartbeat interval',
    );
  const port = int('--port / TETHER_PORT', flags.port ?? env.TETHER_PORT);
  const options: ServerOptions = { transport };
  if (port !== undefined) options.port = port;
  const host = flags.host ?? env.TETHER_HOST;
  if (host) options.host = host;
  const dataDir = flags['data-dir'] ?? env.TETHER_DATA_DIR;
  if (dataDir) options.dataDir = dataDir;
  if (projects) options.projects = projects;
  // `[apiKey=]url`, repeatable; the variable takes them comma-separated.
  const callbackSpecs = flags['callback-url']?.length
    ? flags['callback-url']
    : (env.TETHER_CALLBACK_URL ?? '').split(',').filter((x) => x.trim() !== '');
  if (callbackSpecs.length > 0) options.callbacks = { targets: callbackSpecs.map(parseCallbackTarget) };
  const logLevel = flags['log-level'] ?? env.TETHER_LOG_LEVEL;
  if (logLevel) options.logLevel = logLevel;
  return options;
}
