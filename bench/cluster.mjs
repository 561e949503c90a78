#!/usr/bin/env node
/**
 * bench/cluster.mjs — three nodes on one Redis: the Tether cluster (`tether serve --cluster`)
 * versus Socket.IO 4 with @socket.io/redis-streams-adapter and connection state recovery,
 * side by side in the same run, on the same Redis, with the same load.
 *
 *   npm run build && node bench/cluster.mjs [--clients 50,200] [--reps 3] [--quick] [--json]
 *
 * Per repetition and system (the order alternates), on a fresh cluster under a key prefix of
 * its own: (1) cross-node fan-out at each N — throughput and latency of signals sent by one
 * client to all N, spread over the three nodes; (2) recovery — a third of the clients' node is
 * killed (SIGKILL) while one client sends at a steady rate: time until each of its clients is
 * back, until the last signal it missed is delivered, and signals lost / duplicated / reordered.
 * Medians over the repetitions are printed with Tether / Socket.IO. bench/README.md explains
 * each row; systems.mjs says exactly how each system's clients fail over.
 */
import { createRequire } from 'node:module';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { childRole, exitOnInterrupt } from './lib/child.mjs';
import { cliOptions } from './lib/cli.mjs';
import { createLog } from './lib/log.mjs';
import { median } from './lib/stats.mjs';
import { compareCells, formatTable, ratio } from './lib/table.mjs';
import { sleep } from './lib/time.mjs';
import { fanout, recovery } from './cluster/measure.mjs';
import { deleteKeys, serveSocketIo, startSocketIo, startTether } from './cluster/systems.mjs';

const SELF = fileURLToPath(import.meta.url);
const log = createLog('cluster', 0);

const USAGE = `usage: node bench/cluster.mjs [options]   (run \`npm run build\` first; needs a Redis)
  --redis URL            the Redis both clusters use (default $TETHER_TEST_REDIS or redis://127.0.0.1:6379)
  --clients 50,200       fan-out: N clients spread over the 3 nodes, each N measured
  --recovery-clients R   recovery: clients spread over the 3 nodes, R/3 on the node killed (default 90)
  --rate S               recovery: signals per second from the one sender (default 20)
  --reps 3               repetitions (fresh clusters each); medians are printed (--quick: 1)
  --systems tether,socketio
  --quick                1 rep, fewer messages (under ~2 min)
  --json                 also print a JSON summary after the table
`;

const OPTIONS = {
  redis: { type: 'string', default: process.env.TETHER_TEST_REDIS ?? 'redis://127.0.0.1:6379' },
  clients: { type: 'integers', min: 3, default: [50, 200] },
  'recovery-clients': { type: 'integer', min: 3, default: 90 },
  rate: { type: 'number', min: 1, default: 20 },
  reps: { type: 'integer', min: 1 },
  systems: { type: 'list', choices: ['tether', 'socketio'], default: ['tether', 'socketio'] },
  quick: { type: 'boolean' },
  json: { type: 'boolean' },
};

const LABEL = { tether: 'Tether', socketio: 'Socket.IO' };

/** Fan-out load at N: messages in the window phase, the window, the paced phase. */
function fanoutConfig(n, quick) {
  const messages = Math.max(100, Math.round((quick ? 20_000 : 50_000) / n));
  const rate = Math.max(1, 5000 / n); // 5,000 deliveries/s offered in the paced phase
  return {
    messages,
    window: Math.max(2, Math.round(2000 / n)),
    warmup: Math.max(20, Math.round(messages / 5)),
    rate,
    pacedMessages: Math.max(10, Math.round(rate * (quick ? 2 : 3))),
  };
}

const RECOVERY = { steadyMs: 2000, afterMs: 2000, capMs: 30_000, settleMs: 5000 };

/** One repetition of one system: a fresh cluster, fan-out at each N, then the kill. */
async function repetition(key, r, opt) {
  const prefix = `tether-bench-${process.pid}-${key}-${r}:`;
  log(`${LABEL[key]} rep ${r}: starting 3 nodes (prefix ${prefix})`);
  const system =
    key === 'tether'
      ? await startTether(opt.redis, prefix)
      : await startSocketIo(SELF, opt.redis, prefix, log);
  const out = { fanout: {}, recovery: null };
  try {
    for (const n of opt.clients) {
      const res = await fanout(system, n, fanoutConfig(n, opt.quick));
      out.fanout[n] = res;
      const w = res.window;
      log(
        `${LABEL[key]} rep ${r} N=${n}: ${Math.round(w.deliveriesPerS)} deliveries/s, p50 ${w.p50.toFixed(1)} ms, p99 ${w.p99.toFixed(1)} ms; paced p50 ${res.paced.p50.toFixed(1)}, p99 ${res.paced.p99.toFixed(1)} ms${w.complete && res.paced.complete ? '' : ' INCOMPLETE'}`,
      );
    }
    const rec = await recovery(system, opt['recovery-clients'], { rate: opt.rate, ...RECOVERY }, log);
    out.recovery = rec;
    log(
      `${LABEL[key]} rep ${r} kill: ${rec.back}/${rec.victims} back (p50 ${rec.upMs.p50.toFixed(0)} ms, max ${rec.upMs.max.toFixed(0)} ms), ${rec.recovered} recovered, last missed +${rec.lastMissedMs.max.toFixed(0)} ms, lost ${rec.lost}, dup ${rec.duplicated}, reordered ${rec.reordered}`,
    );
  } finally {
    await system.stop();
    await deleteKeys(opt.redis, prefix).catch((err) => log(`could not delete ${prefix}*: ${err.message}`));
  }
  return out;
}

// =====================================================================================
// summary and table
// =====================================================================================

/** Medians over the repetitions of every figure shown. */
function summarise(reps, ns) {
  const med = (f) => median(reps.map(f));
  const sum = (f) => reps.reduce((s, x) => s + f(x), 0);
  const fan = {};
  for (const n of ns) {
    const ok = reps.filter((x) => x.fanout[n].window.complete && x.fanout[n].paced.complete);
    const m = (f) => median(ok.map((x) => f(x.fanout[n])));
    fan[n] = {
      deliveriesPerS: m((f) => f.window.deliveriesPerS),
      windowP50: m((f) => f.window.p50),
      windowP99: m((f) => f.window.p99),
      pacedP50: m((f) => f.paced.p50),
      pacedP99: m((f) => f.paced.p99),
      complete: `${ok.length}/${reps.length}`,
      missing: sum((x) => {
        const f = x.fanout[n];
        return f.window.expected - f.window.delivered + f.paced.expected - f.paced.delivered;
      }),
      duplicates: sum((x) => x.fanout[n].window.duplicates + x.fanout[n].paced.duplicates),
      drops: sum((x) => x.fanout[n].transportDrops),
    };
  }
  const rec = (f) => med((x) => f(x.recovery));
  return {
    fanout: fan,
    recovery: {
      upP50: rec((x) => x.upMs.p50),
      upP99: rec((x) => x.upMs.p99),
      upMax: rec((x) => x.upMs.max),
      lastMissedP50: rec((x) => x.lastMissedMs.p50),
      lastMissedMax: rec((x) => (x.lastMissedMissing ? NaN : x.lastMissedMs.max)),
      neverDelivered: rec((x) => x.lastMissedMissing),
      lost: rec((x) => x.lost),
      duplicated: rec((x) => x.duplicated),
      reordered: rec((x) => x.reordered),
      back: `${rec((x) => x.back)}/${reps[0].recovery.victims}`,
      recovered: rec((x) => x.recovered),
      clientsLosing: rec((x) => x.clientsLosing),
      sent: rec((x) => x.sent),
      othersDown: rec((x) => x.othersDown),
    },
  };
}

const fmtInt = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : 'n/a');
const fmtMs = (x) => (Number.isFinite(x) ? x.toFixed(1) : 'n/a');

function table(sums, opt) {
  const t = sums.tether;
  const s = sums.socketio;
  const rows = [];
  const row = (label, get, fmt) => rows.push([label, ...compareCells(t && get(t), s && get(s), fmt)]);
  const text = (label, get) => rows.push([label, t ? get(t) : 'n/a', s ? get(s) : 'n/a', '']);
  for (const n of opt.clients) {
    const c = fanoutConfig(n, opt.quick);
    row(`N=${n} deliveries/s (window ${c.window} msg)`, (x) => x.fanout[n].deliveriesPerS, fmtInt);
    row(`N=${n} latency p50, window (ms)`, (x) => x.fanout[n].windowP50, fmtMs);
    row(`N=${n} latency p99, window (ms)`, (x) => x.fanout[n].windowP99, fmtMs);
    row(`N=${n} latency p50, paced ${fmtInt(c.rate)} msg/s (ms)`, (x) => x.fanout[n].pacedP50, fmtMs);
    row(`N=${n} latency p99, paced ${fmtInt(c.rate)} msg/s (ms)`, (x) => x.fanout[n].pacedP99, fmtMs);
    text(
      `N=${n} reps complete; missing, dup, drops`,
      (x) =>
        `${x.fanout[n].complete}; ${x.fanout[n].missing}, ${x.fanout[n].duplicates}, ${x.fanout[n].drops}`,
    );
  }
  const R = opt['recovery-clients'];
  row(`kill: ${Math.ceil(R / 3)} clients back, p50 (ms)`, (x) => x.recovery.upP50, fmtMs);
  row(`kill: clients back, p99 (ms)`, (x) => x.recovery.upP99, fmtMs);
  row(`kill: clients back, max (ms)`, (x) => x.recovery.upMax, fmtMs);
  // A client whose missed signals never all arrive has no such time: 'never'.
  const never = (x) => (x && x.recovery.neverDelivered > 0 ? 'never' : 'n/a');
  const lastMissed = (label, get) => {
    const [a, b, q] = compareCells(t && get(t), s && get(s), fmtMs);
    rows.push([label, a === 'n/a' ? never(t) : a, b === 'n/a' ? never(s) : b, q]);
  };
  lastMissed(`kill → last missed signal delivered, p50 (ms)`, (x) => x.recovery.lastMissedP50);
  lastMissed(`kill → last missed signal delivered, max (ms)`, (x) => x.recovery.lastMissedMax);
  text(
    `kill: back / same connection (recovered)`,
    (x) => `${x.recovery.back} / ${fmtInt(x.recovery.recovered)}`,
  );
  text(`kill: signals sent`, (x) => fmtInt(x.recovery.sent));
  text(
    `kill: lost / duplicated / reordered`,
    (x) => `${fmtInt(x.recovery.lost)} / ${fmtInt(x.recovery.duplicated)} / ${fmtInt(x.recovery.reordered)}`,
  );
  text(`kill: clients that lost signals`, (x) => fmtInt(x.recovery.clientsLosing));
  return formatTable(['', 'Tether', 'Socket.IO', 'Tether / Socket.IO'], rows, {
    align: ['left', 'right', 'right', 'right'],
  });
}

// =====================================================================================
// main
// =====================================================================================

async function main() {
  const opt = cliOptions(OPTIONS, USAGE);
  opt.reps ??= opt.quick ? 1 : 3;
  exitOnInterrupt();
  const cores = os.availableParallelism();
  const load0 = os.loadavg()[0];
  const t0 = performance.now();
  log(
    `node ${process.version}, ${cores} cores, load ${load0.toFixed(2)}; Redis ${opt.redis}; N = ${opt.clients.join(', ')}; recovery ${opt['recovery-clients']} clients at ${opt.rate}/s; ${opt.reps} reps`,
  );
  const reps = Object.fromEntries(opt.systems.map((k) => [k, []]));
  for (let r = 1; r <= opt.reps; r++) {
    const order = r % 2 === 1 ? opt.systems : [...opt.systems].reverse();
    for (const key of order) {
      reps[key].push(await repetition(key, r, opt));
      await sleep(500);
    }
  }
  const sums = Object.fromEntries(opt.systems.map((k) => [k, summarise(reps[k], opt.clients)]));
  const req = createRequire(import.meta.url);
  const v = (p) => req(`${p}/package.json`).version;
  const R = opt['recovery-clients'];
  const out = [
    `Three nodes on one Redis (${opt.redis}), each repetition on a fresh cluster under its own key prefix; medians of ${opt.reps} rep(s).`,
    `Tether: 3 × \`tether serve --cluster\` (defaults), clients given all three URLs, home node first. Socket.IO ${v('socket.io')}:`,
    `3 server processes, @socket.io/redis-streams-adapter ${v('@socket.io/redis-streams-adapter')} over redis ${v('redis')}, connectionStateRecovery ${60} s,`,
    `websocket only; each client moves to the next server's URL on reconnect_attempt (same Socket, auth and offset).`,
    `All clients in the bench process, client i on node i % 3. Fan-out: every message from one client (round-robin,`,
    `each ≤ 40/s) to all N; window = closed loop (throughput, latency at saturation), paced = open loop, 5,000 deliveries/s.`,
    `Kill: ${R} clients, one on node 1 sends ${opt.rate} signals/s to all; node 0 (${Math.ceil(R / 3)} clients) gets SIGKILL. "back": the`,
    `client is connected again (Tether sessionReconnected, Socket.IO connect); "last missed": the latest arrival of the`,
    `signals sent before that client was back (n/a when one never arrives). Lost/dup/reordered over all ${R} clients.`,
    '',
    table(sums, opt),
    '',
    `total ${((performance.now() - t0) / 1000).toFixed(0)} s, node ${process.version}, ${cores} cores, load ${load0.toFixed(2)} → ${os.loadavg()[0].toFixed(2)}`,
  ];
  process.stdout.write(out.join('\n') + '\n');
  if (opt.json) {
    const strip = (d) => ({ ...d, values: undefined });
    const json = {
      bench: 'cluster',
      node: process.version,
      cores,
      options: { ...opt, help: undefined },
      summary: sums,
      ratios:
        sums.tether && sums.socketio
          ? {
              fanout: Object.fromEntries(
                opt.clients.map((n) => [
                  n,
                  Object.fromEntries(
                    Object.entries(sums.tether.fanout[n])
                      .filter(([, x]) => typeof x === 'number')
                      .map(([k, x]) => [k, ratio(x, sums.socketio.fanout[n][k])]),
                  ),
                ]),
              ),
            }
          : undefined,
      reps: Object.fromEntries(
        Object.entries(reps).map(([k, list]) => [
          k,
          list.map((x) => ({
            ...x,
            recovery: {
              ...x.recovery,
              upMs: strip(x.recovery.upMs),
              lastMissedMs: strip(x.recovery.lastMissedMs),
            },
          })),
        ]),
      ),
    };
    process.stdout.write(JSON.stringify(json, null, 2) + '\n');
  }
}

const child = childRole();
if (child?.role === 'socketio') await serveSocketIo(...child.args);
else await main();
