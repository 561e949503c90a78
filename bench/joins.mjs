#!/usr/bin/env node
/**
 * bench/joins.mjs — N SDK clients joining ONE session on one server: how long until every
 * client knows every other (or, with `--suppressed`, until every one is connected and the
 * moderator has seen them all), how many reliable frames the server sent per join, and the
 * server's CPU time.
 *
 *   npm run build && node bench/joins.mjs [--clients 250,1000,2000] [--reps 3] [--suppressed]
 *
 * The server runs alone in a child process (a fresh one for each repetition, so one
 * repetition's leftovers cannot slow the next); all N clients live in this process. See
 * bench/README.md for the method and the figures.
 */
import { fileURLToPath } from 'node:url';
import { childRole, exitOnInterrupt, forkChild, serveParent } from './lib/child.mjs';
import { cliOptions } from './lib/cli.mjs';
import { createLog } from './lib/log.mjs';
import { BENCH_PROJECT as PROJECT } from './lib/project.mjs';
import { median } from './lib/stats.mjs';
import { formatTable } from './lib/table.mjs';
import { epochMs as now } from './lib/time.mjs';

const SELF = fileURLToPath(import.meta.url);
/** A repetition that has not finished after this long is abandoned. */
const REP_TIMEOUT_MS = 120_000;

const log = createLog('joins', 0);

// ------------------------------------------------------------------ server child

async function serve() {
  const { startServer } = await import('@tether/server');
  // Defaults (packages/server/src/config.ts): heartbeat 500 ms, timeout 2.25–15 s, outbox 4096 frames / 4 MiB.
  const server = await startServer({ port: 0, host: '127.0.0.1', projects: [PROJECT], logLevel: 'silent' });
  let cpuAt = process.cpuUsage();
  serveParent(
    { url: server.url },
    {
      /** CPU since the previous call, and the reliable frames sent so far (each connection's last seq). */
      sample() {
        const c = process.cpuUsage(cpuAt);
        cpuAt = process.cpuUsage();
        let frames = 0;
        let members = 0;
        for (const room of server.hub.roomsHeld())
          for (const conn of room.members()) {
            frames += conn.outbox.seq;
            members++;
          }
        return { cpuUs: c.user + c.system, frames, members };
      },
      async close() {
        await server.close();
        return { closed: true };
      },
    },
  );
}

// ------------------------------------------------------------------ clients

/** Runs `fn(i)` for i in [0, n) with at most `limit` at a time. */
async function pool(n, limit, fn) {
  let next = 0;
  const worker = async () => {
    while (next < n) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.min(limit, n) }, worker));
}

/**
 * One repetition: a fresh server, a fresh session, N clients joined `concurrency` at a time.
 * Done when every client knows all N (suppressed: when all N are connected and the moderator,
 * client 0, has seen the N − 1 others).
 */
async function rep(n, { concurrency, suppressed }) {
  const { Session } = await import('@tether/client');
  const { TetherApi, createToken } = await import('@tether/server-sdk');
  const execArgv = (process.env.JOINS_SERVER_ARGS ?? '').split(' ').filter(Boolean);
  const server = await forkChild(SELF, 'server', [], { execArgv, label: 'tether server', log });
  const url = server.info.url;
  const api = new TetherApi({ url, ...PROJECT });
  const { sessionId } = await api.createSession(suppressed ? { connectionEventsSuppressed: true } : {});
  const sessions = [];
  let complete = 0;
  let finished;
  const done = new Promise((resolve) => (finished = resolve));
  const trouble = { reconnecting: 0, disconnected: 0 };
  let closing = false;
  /** A client told of `target` − 1 others (its welcome's and those after) counts once; nobody leaves meanwhile. */
  const watch = (s, target) => {
    let known = 1;
    s.on('connectionCreated', () => {
      if (++known === target && ++complete === (suppressed ? 1 : n)) finished(now());
    });
  };
  server.call('sample');
  const t0 = now();
  let connectedAt = 0;
  await pool(n, concurrency, async (i) => {
    const role = suppressed ? (i === 0 ? 'moderator' : 'subscriber') : 'publisher';
    const token = await createToken({ ...PROJECT, sessionId, role, data: `c${i}` });
    const s = new Session({ url, sessionId, watchNetwork: false, attemptTimeoutMs: 30_000 });
    sessions[i] = s;
    s.on('sessionReconnecting', () => closing || trouble.reconnecting++);
    s.on('sessionDisconnected', () => closing || trouble.disconnected++);
    if (!suppressed || i === 0) watch(s, n);
    await s.connect(token);
  });
  connectedAt = now();
  const timeout = new Promise((resolve) => setTimeout(() => resolve(NaN), REP_TIMEOUT_MS));
  const allJoinedAt = await Promise.race([done, timeout]);
  const sample = await server.call('sample', 30_000);
  closing = true;
  await server.stop();
  for (const s of sessions) s?.disconnect();
  return {
    connectMs: connectedAt - t0,
    allJoinedMs: allJoinedAt - t0,
    framesPerJoin: sample.frames / n,
    serverCpuMs: sample.cpuUs / 1000,
    members: sample.members,
    ...trouble,
  };
}

// ------------------------------------------------------------------ main

const OPTIONS = {
  clients: { type: 'integers', default: [250, 1000, 2000], min: 2 },
  reps: { type: 'integer', default: 3, min: 1 },
  concurrency: { type: 'integer', default: 50, min: 1 },
  suppressed: { type: 'boolean' },
  json: { type: 'boolean' },
};
const USAGE = `node bench/joins.mjs [options]

  --clients 250,1000,2000  the Ns: clients joining one session
  --reps 3                 repetitions per N (a fresh server each); medians reported
  --concurrency 50         joins in flight at a time
  --suppressed             a session with connectionEventsSuppressed: client 0 a moderator, the rest subscribers
  --json                   also print every repetition as JSON

JOINS_SERVER_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" passes node flags to the server child.
`;

async function main() {
  const values = cliOptions(OPTIONS, USAGE);
  const os = await import('node:os');
  log(
    `node ${process.version}, ${os.availableParallelism()} cores, load ${os.loadavg()[0].toFixed(2)}, N = ${values.clients.join(', ')}${values.suppressed ? ', suppressed' : ''}`,
  );
  const results = [];
  for (const n of values.clients) {
    const reps = [];
    for (let r = 0; r < values.reps; r++) {
      const cpu0 = process.cpuUsage();
      const result = await rep(n, values);
      const c = process.cpuUsage(cpu0);
      result.clientCpuMs = (c.user + c.system) / 1000;
      log(
        `N=${n} rep ${r + 1}: all joined ${result.allJoinedMs.toFixed(0)} ms (connect ${result.connectMs.toFixed(0)} ms), ${result.framesPerJoin.toFixed(1)} frames/join, server CPU ${result.serverCpuMs.toFixed(0)} ms, clients' CPU ${result.clientCpuMs.toFixed(0)} ms, drops ${result.reconnecting}/${result.disconnected}`,
      );
      reps.push(result);
    }
    results.push({ n, reps });
  }
  const pick = (reps, key) => median(reps.map((r) => r[key]));
  const rows = results.map(({ n, reps }) => [
    String(n),
    pick(reps, 'allJoinedMs').toFixed(0),
    pick(reps, 'connectMs').toFixed(0),
    pick(reps, 'framesPerJoin').toFixed(1),
    pick(reps, 'serverCpuMs').toFixed(0),
    pick(reps, 'clientCpuMs').toFixed(0),
    String(reps.reduce((k, r) => k + r.reconnecting + r.disconnected, 0)),
  ]);
  process.stdout.write(
    `${formatTable(
      ['N', 'all joined ms', 'connect ms', 'frames/join', 'server CPU ms', 'clients CPU ms', 'drops'],
      rows,
      { markdown: true },
    )}\n`,
  );
  if (values.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
}

const child = childRole();
if (child?.role === 'server') await serve();
else {
  exitOnInterrupt();
  await main();
  // The clients' sessions were told to disconnect; nothing else is left to wait for.
  process.exit(0);
}
