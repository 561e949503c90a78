import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { LIMITS, TetherError, mediaModeSchema, archiveModeSchema, roleSchema } from '@tether/protocol';
import { DEFAULTS, RedisArchiveStore, RedisEngine, startServer } from '@tether/server';

/** How long a draining node waits for its clients to move before it leaves the rest to the others. */
const DRAIN_TIMEOUT_MS = 30_000;
import { createSessionId, createToken } from '@tether/auth';
import { ARCHIVE_USAGE, archive } from './archive.js';
import { serveOptions, type ServeFlags } from './options.js';
import { LOAD_USAGE, loadOptions } from './load/options.js';
import { formatReport } from './load/report.js';
import { runLoad } from './load/run.js';

export const USAGE = `tether — self-hosted real-time sessions that reconnect by themselves

Usage:
  tether serve [options]            start the server (WebSocket endpoint + HTTP API, one port)
  tether session [options]          create a session id (offline: session ids are signed, not stored)
  tether token --session <id> [options]
                                    print a client token for a session
  tether load [options]             load a server: N clients over M sessions, signals, media, cuts
                                    (tether load --help)
${ARCHIVE_USAGE}  tether help

serve options (flag / environment variable, default):
  --port <n>               TETHER_PORT                  ${DEFAULTS.port}
  --host <addr>            TETHER_HOST                  ${DEFAULTS.host}
  --project <key:secret>   TETHER_PROJECTS (comma-separated key:secret pairs)
                           none: a development project is created and printed
  --data-dir <dir>         TETHER_DATA_DIR              ${DEFAULTS.dataDir} (keeps the development project)
  --reconnect-window <ms>  TETHER_RECONNECT_WINDOW_MS   ${DEFAULTS.transport.reconnectWindowMs}
  --heartbeat-interval <ms> TETHER_HEARTBEAT_INTERVAL_MS ${DEFAULTS.transport.heartbeatIntervalMs}
  --heartbeat-timeout <ms> TETHER_HEARTBEAT_TIMEOUT_MS  ${DEFAULTS.transport.heartbeatTimeoutMs} (floor; raised from the measured round trip)
  --heartbeat-timeout-max <ms> TETHER_HEARTBEAT_TIMEOUT_MAX_MS ${DEFAULTS.transport.heartbeatTimeoutMaxMs}
  --log-level <level>      TETHER_LOG_LEVEL             info
  --cluster <redis-url>    TETHER_CLUSTER               none: one process, sessions in memory
                           a node of a cluster on Redis (TETHER_CLUSTER_PREFIX namespaces its keys);
                           SIGTERM then drains: every client resumes on another node
  --callback-url [apiKey=]<url> (repeatable)  TETHER_CALLBACK_URL (comma-separated)   none
                           POST signed session events (and archive status) to <url>; without
                           apiKey= for every project that has no URL of its own

session / token options:
  --api-key <key> --api-secret <secret>   TETHER_API_KEY / TETHER_API_SECRET;
                           default: the development project in --data-dir
  --media-mode routed|relayed  --archive-mode manual|always      (session)
  --role subscriber|publisher|moderator (default publisher)
  --data <text> (≤ ${LIMITS.connectionDataMaxLength} chars)  --ttl <seconds> (default ${LIMITS.tokenDefaultTtlSeconds}, max ${LIMITS.tokenMaxTtlSeconds})   (token)
`;

/** Runs one CLI command; resolves with an exit code, or never for `serve` (until a signal). */
export async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<number | undefined> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      return serve(rest, env);
    case 'token':
      return token(rest, env);
    case 'session':
      return session(rest, env);
    case 'load':
      return load(rest, env);
    case 'archive':
      return archive(rest, env, credentials);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return 0;
    default:
      throw new TetherError('INVALID_ARGUMENT', `unknown command "${command}"; run \`tether help\``);
  }
}

async function serve(argv: string[], env: NodeJS.ProcessEnv): Promise<undefined> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      'data-dir': { type: 'string' },
      project: { type: 'string', multiple: true },
      'reconnect-window': { type: 'string' },
      'heartbeat-interval': { type: 'string' },
      'heartbeat-timeout': { type: 'string' },
      'heartbeat-timeout-max': { type: 'string' },
      'log-level': { type: 'string' },
      cluster: { type: 'string' },
      'callback-url': { type: 'string', multiple: true },
    },
  });
  const clusterUrl = values.cluster ?? env.TETHER_CLUSTER;
  // A cluster node keeps its sessions in Redis; without --cluster, one process keeps them in memory.
  const engine = clusterUrl
    ? await RedisEngine.connect(clusterUrl, {
        ...(env.TETHER_CLUSTER_PREFIX ? { prefix: env.TETHER_CLUSTER_PREFIX } : {}),
      })
    : undefined;
  const server = await startServer({
    ...serveOptions(values as ServeFlags, env),
    demo: demoFiles(),
    // A cluster's archive records go to its Redis, so every node sees every archive (files stay in each node's data dir).
    ...(engine && clusterUrl
      ? {
          engine,
          archives: { store: RedisArchiveStore.connect(clusterUrl, env.TETHER_CLUSTER_PREFIX ?? 'tether:') },
        }
      : {}),
  });
  if (engine) {
    engine.on('state', (state, err) =>
      process.stderr.write(
        state === 'lost'
          ? `tether: lost the cluster's Redis (${err?.message ?? 'unreachable'}); new joins are refused until it is back\n`
          : `tether: the cluster's Redis is ${state}\n`,
      ),
    );
  }
  const lines = [
    `Tether is listening on ${server.url} (WebSocket endpoint ${server.url.replace(/^http/, 'ws')}/v1/ws)`,
    `Demo page: ${server.url}/${server.devProject ? '' : ' (join with a token from your back end: /dev/join is for the development project only)'}`,
  ];
  if (server.devProject) {
    lines.push(
      `Development project (${server.devProject.created ? 'created' : 'loaded'} in ${join(values['data-dir'] ?? env.TETHER_DATA_DIR ?? DEFAULTS.dataDir, 'dev-project.json')}):`,
      `  API key:    ${server.devProject.apiKey}`,
      `  API secret: ${server.devProject.apiSecret}`,
      'Configure real projects with --project key:secret or TETHER_PROJECTS before going to production.',
    );
  }
  if (engine) lines.push(`Cluster node ${engine.nodeId} on ${clusterUrl?.replace(/\/\/[^@/]*@/, '//***@')}`);
  process.stdout.write(lines.join('\n') + '\n');
  const stop = () => {
    process.stdout.write('Shutting down: every client is told serverShutdown.\n');
    void server.close().then(() => process.exit(0));
  };
  // A cluster node drains on SIGTERM (a deploy): its clients resume on the other nodes.
  const drain = () => {
    process.stdout.write('Draining: every client moves to another node.\n');
    void server
      .drain(DRAIN_TIMEOUT_MS, (left) =>
        process.stdout.write(`Draining: ${left} connection(s) still to move\n`),
      )
      .then((left) => {
        process.stdout.write(
          left === 0
            ? 'Drained: every client moved.\n'
            : `Drained: ${left} left to the other nodes to take over.\n`,
        );
        process.exit(0);
      });
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', engine ? drain : stop);
  return undefined;
}

/** The demo page (apps/demo) and the browser builds of the client SDK, beside this package in the repository. */
function demoFiles() {
  return {
    dir: fileURLToPath(new URL('../../../apps/demo', import.meta.url)),
    sdkDir: join(dirname(fileURLToPath(import.meta.resolve('@tether/client'))), 'browser'),
    opentokDir: fileURLToPath(new URL('../../opentok/dist/browser', import.meta.url)),
  };
}

function credentials(
  values: { 'api-key'?: string; 'api-secret'?: string; 'data-dir'?: string },
  env: NodeJS.ProcessEnv,
) {
  const apiKey = values['api-key'] ?? env.TETHER_API_KEY;
  const apiSecret = values['api-secret'] ?? env.TETHER_API_SECRET;
  if (apiKey && apiSecret) return { apiKey, apiSecret };
  const file = join(values['data-dir'] ?? env.TETHER_DATA_DIR ?? DEFAULTS.dataDir, 'dev-project.json');
  try {
    const project = JSON.parse(readFileSync(file, 'utf8')) as { apiKey: string; apiSecret: string };
    return { apiKey: project.apiKey, apiSecret: project.apiSecret };
  } catch {
    throw new TetherError(
      'INVALID_ARGUMENT',
      `no --api-key/--api-secret given and no development project at ${file}; run \`tether serve\` once, or pass the project's credentials`,
    );
  }
}

const credentialOptions = {
  'api-key': { type: 'string' },
  'api-secret': { type: 'string' },
  'data-dir': { type: 'string' },
} as const;

async function load(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(LOAD_USAGE);
    return 0;
  }
  const { options, credentials: given } = loadOptions(argv);
  const report = await runLoad(options, credentials(given, env), (line) => process.stderr.write(`${line}\n`));
  process.stdout.write(options.json ? JSON.stringify(report) + '\n' : formatReport(report));
  // Lost, duplicated or unanswered signals are a failed run, for scripts.
  return report.lost > 0 || report.duplicates > 0 || report.unsettled > 0 ? 1 : 0;
}

async function session(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { ...credentialOptions, 'media-mode': { type: 'string' }, 'archive-mode': { type: 'string' } },
  });
  const mediaMode = mediaModeSchema.safeParse(values['media-mode'] ?? 'routed');
  const archiveMode = archiveModeSchema.safeParse(values['archive-mode'] ?? 'manual');
  if (!mediaMode.success) throw new TetherError('INVALID_ARGUMENT', '--media-mode is routed or relayed');
  if (!archiveMode.success) throw new TetherError('INVALID_ARGUMENT', '--archive-mode is manual or always');
  process.stdout.write(
    createSessionId({
      ...credentials(values, env),
      mediaMode: mediaMode.data,
      archiveMode: archiveMode.data,
    }) + '\n',
  );
  return 0;
}

async function token(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...credentialOptions,
      session: { type: 'string' },
      role: { type: 'string' },
      data: { type: 'string' },
      ttl: { type: 'string' },
    },
  });
  if (!values.session)
    throw new TetherError('INVALID_ARGUMENT', '--session <id> is required; create one with `tether session`');
  const role = roleSchema.safeParse(values.role ?? 'publisher');
  if (!role.success)
    throw new TetherError('INVALID_ARGUMENT', '--role is subscriber, publisher or moderator');
  const ttl = values.ttl === undefined ? undefined : Number(values.ttl);
  if (ttl !== undefined && !Number.isInteger(ttl))
    throw new TetherError('INVALID_ARGUMENT', '--ttl is a whole number of seconds');
  const jwt = await createToken({
    ...credentials(values, env),
    sessionId: values.session,
    role: role.data,
    ...(values.data !== undefined ? { data: values.data } : {}),
    ...(ttl !== undefined ? { expireInSeconds: ttl } : {}),
  });
  process.stdout.write(jwt + '\n');
  return 0;
}
