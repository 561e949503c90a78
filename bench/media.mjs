#!/usr/bin/env node
/**
 * bench/media.mjs — real media (WebRTC, werift) through Tether, on the real packet path.
 *
 *   npm run build && sudo node bench/media.mjs [--cuts 10] [--quick] [--json]
 *
 * (a) recovery: time from network restore to packets flowing again at each subscriber, over
 *     repeated 3 s cuts (nft drops everything, both ways) of the publisher's network namespace
 *     and then of one subscriber's. Routed session, server defaults.
 * (b) forwarding: packets per second one server core forwards — the Tether SFU (1 publisher at a
 *     fixed packet rate, N subscribers) side by side with a plain UDP forwarder written for the
 *     benchmark (node:dgram: one socket receives from one sender and sends each datagram to N
 *     receivers), the upper limit for a Node process. Same rate, same N, same packet size.
 *
 * Every server runs alone in a child process (fork of this file), so its CPU time is its own.
 * Clients are testkit agents (packages/testkit/src/netns-agent.ts), each a Node process; for (a)
 * inside network namespaces (root, `ip`, `nft`). Progress on stderr, the tables on stdout.
 * bench/README.md explains each column.
 */
import { Buffer } from 'node:buffer';
import dgram from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { setImmediate, setInterval } from 'node:timers';
import { Agent, Netns, destroyAllNetns, netnsUnavailable } from '@tether/testkit';
import { childRole, exitOnInterrupt, forkChild, serveParent } from './lib/child.mjs';
import { cliOptions } from './lib/cli.mjs';
import { createLog } from './lib/log.mjs';
import { BENCH_PROJECT as PROJECT } from './lib/project.mjs';
import { finiteSorted, mean, nearestRank } from './lib/stats.mjs';
import { formatRatio, formatTable, ratio } from './lib/table.mjs';
import { epochMs as now, sleep } from './lib/time.mjs';

const SELF = fileURLToPath(import.meta.url);

// =====================================================================================
// children: the Tether server, and the three parts of the plain UDP forwarder
// =====================================================================================

/** Ready with `info`; answers {cmd:'stats'} with its CPU time and forwarded packets, {cmd:'close'} by exiting. */
function serveStats(info, forwarded, close) {
  serveParent(info, {
    stats() {
      const c = process.cpuUsage();
      return { at: now(), cpuUs: c.user + c.system, forwarded: forwarded() };
    },
    async close() {
      await close();
      return {};
    },
  });
}

async function child(role, args) {
  if (role === 'server') {
    const { startServer } = await import('@tether/server');
    const transport = JSON.parse(args[0] ?? '{}');
    const server = await startServer({
      port: 0,
      host: '0.0.0.0',
      projects: [PROJECT],
      logLevel: 'silent',
      transport,
    });
    const forwarded = () => {
      let n = 0;
      for (const room of server.hub.roomsHeld()) n += room.media.sfu?.stats().packetsOut ?? 0;
      return n;
    };
    serveStats({ port: server.port }, forwarded, () => server.close());
  } else if (role === 'plain-forwarder') {
    // Receives from one sender, sends each datagram to every receiver: the least a forwarder does.
    const receivers = JSON.parse(args[0]);
    const sock = dgram.createSocket('udp4');
    let forwarded = 0;
    sock.on('message', (msg) => {
      for (const port of receivers) sock.send(msg, port, '127.0.0.1');
      forwarded += receivers.length;
    });
    await new Promise((r) => sock.bind(0, '127.0.0.1', r));
    serveStats(
      { port: sock.address().port },
      () => forwarded,
      () => sock.close(),
    );
  } else if (role === 'plain-receivers') {
    const n = Number(args[0]);
    const socks = [];
    for (let i = 0; i < n; i++) {
      const s = dgram.createSocket('udp4');
      s.on('message', () => undefined);
      await new Promise((r) => s.bind(0, '127.0.0.1', r));
      socks.push(s);
    }
    serveParent({ ports: socks.map((s) => s.address().port) });
  } else if (role === 'plain-sender') {
    // Paced like the Tether publisher agent: a 1 ms timer that catches up with `rate` per second
    // (at most 200 per tick); RTP-sized datagrams. rate 0: flat out (as fast as sends complete).
    const [port, rate] = args.map(Number);
    const sock = dgram.createSocket('udp4');
    const packet = Buffer.alloc(12 + 160);
    let sent = 0;
    const start = now();
    if (rate > 0)
      setInterval(() => {
        const due = Math.floor(((now() - start) / 1000) * rate);
        for (let b = 0; b < 200 && sent < due; b++) {
          packet.writeUInt32BE(++sent, 12);
          sock.send(packet, port, '127.0.0.1');
        }
      }, 1);
    else {
      const more = () => {
        for (let b = 0; b < 64; b++) {
          packet.writeUInt32BE(++sent, 12);
          sock.send(packet, port, '127.0.0.1');
        }
        setImmediate(more);
      };
      more();
    }
    serveParent({}, { count: () => ({ sent }) });
  }
}

/** A child of this file, with request/answer over IPC. */
const spawnChild = (role, ...args) => forkChild(SELF, role, args);

// =====================================================================================
// the bench
// =====================================================================================

async function main() {
  const USAGE = `usage: sudo node bench/media.mjs [options]   (after npm run build)
  --cuts N         cuts of 3 s per target in (a): the publisher's namespace, then a subscriber's. Default 10
  --cut-ms MS      length of a cut (default 3000)
  --subscribers L  comma list of N for (b) (default 5,10,20)
  --rate PPS       packets per second the publisher sends in (b), audio + video (default 2000)
  --window S       measuring window of (b) in seconds (default 4)
  --part P         recovery | forwarding | both (default both)
  --quick          3 cuts per target, N = 5 and 10, 3 s windows (~2 min)
  --json           a JSON summary on stdout after the tables
`;
  const opt = cliOptions(
    {
      cuts: { type: 'integer' },
      'cut-ms': { type: 'number', default: 3000 },
      subscribers: { type: 'integers', min: 1 },
      rate: { type: 'number', default: 2000 },
      window: { type: 'number' },
      part: { type: 'string', choices: ['recovery', 'forwarding', 'both'], default: 'both' },
      quick: { type: 'boolean' },
      json: { type: 'boolean' },
    },
    USAGE,
  );
  const CUTS = opt.cuts ?? (opt.quick ? 3 : 10);
  const CUT_MS = opt['cut-ms'];
  const NS = opt.subscribers ?? (opt.quick ? [5, 10] : [5, 10, 20]);
  const RATE = opt.rate;
  const WINDOW_MS = (opt.window ?? (opt.quick ? 3 : 4)) * 1000;
  const parts = opt.part === 'both' ? ['recovery', 'forwarding'] : [opt.part];

  const log = createLog('media');
  const summary = { machine: { cpus: (await import('node:os')).cpus().length, node: process.version } };
  const cleanup = async () => {
    await destroyAllNetns().catch(() => undefined);
  };
  exitOnInterrupt(cleanup);

  try {
    if (parts.includes('recovery')) {
      const why = netnsUnavailable();
      if (why) throw new Error(`(a) needs network namespaces: ${why}`);
      summary.recovery = await recovery({ CUTS, CUT_MS, log });
    }
    if (parts.includes('forwarding')) summary.forwarding = await forwarding({ NS, RATE, WINDOW_MS, log });
  } finally {
    await cleanup();
  }
  if (summary.recovery) printRecovery(summary.recovery, CUT_MS);
  if (summary.forwarding) printForwarding(summary.forwarding, RATE, WINDOW_MS);
  if (opt.json) process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
  process.exit(0);
}

// ------------------------------------------------------------------ helpers

async function tether(transport = {}) {
  const server = await spawnChild('server', JSON.stringify(transport));
  const { createToken, TetherApi } = await import('@tether/server-sdk');
  const api = new TetherApi({ url: `http://127.0.0.1:${server.info.port}`, ...PROJECT });
  return {
    ...server,
    port: server.info.port,
    createSession: async (mediaMode) => (await api.createSession({ mediaMode })).sessionId,
    token: (sessionId, data) => createToken({ ...PROJECT, sessionId, role: 'publisher', data }),
  };
}

async function joined(srv, sessionId, name, netns) {
  const agent = await Agent.start({ label: name, ...(netns ? { netns } : {}) });
  await agent.call('join', {
    url: agent.serverUrl(srv.port),
    sessionId,
    token: await srv.token(sessionId, name),
  });
  return agent;
}

const RECOVERING = new Set([
  'flow',
  'subscriber.disconnected',
  'subscriber.connected',
  'rtc.iceRestart',
  'rtc.restartOffer',
  'rtc.ice',
]);

// ------------------------------------------------------------------ (a) recovery

async function recovery({ CUTS, CUT_MS, log }) {
  log(
    `(a) recovery: ${CUTS} cuts of ${CUT_MS} ms on the publisher's namespace, then ${CUTS} on a subscriber's`,
  );
  const srv = await tether();
  try {
    const sessionId = await srv.createSession('routed');
    const [nsPub, nsSub] = [await Netns.create(), await Netns.create()];
    const pub = await joined(srv, sessionId, 'pub', nsPub);
    const s1 = await joined(srv, sessionId, 's1', nsSub);
    const s2 = await joined(srv, sessionId, 's2');
    const { stream } = await pub.call('publish', { name: 'gen' });
    for (const s of [s1, s2]) await s.call('subscribe', { streamId: stream.streamId, key: 's' });
    await Promise.all(
      [s1, s2].map((s) => s.until(async () => (await s.call('stats')).subs.s.audio > 100, 'media flowing')),
    );
    const all = [pub, s1, s2];
    const results = {};
    for (const [target, ns] of [
      ['publisher', nsPub],
      ['subscriber s1', nsSub],
    ]) {
      const rows = { s1: [], s2: [] };
      for (let k = 0; k < CUTS; k++) {
        const marks = all.map((a) => a.mark());
        // Both instants are taken just before the nft command (a few ms) that makes them true.
        const cutAt = now();
        await ns.cut('all');
        await sleep(CUT_MS - (now() - cutAt));
        const dropped = await ns.dropped();
        const healAt = now();
        await ns.heal();
        // Steady: nobody has shown any recovery activity for 2 s, and at least 3 s after the restore.
        const deadline = healAt + 20_000;
        for (;;) {
          await sleep(250);
          const t = now();
          const lastActivity = Math.max(
            ...all.flatMap((a, i) =>
              a.events
                .slice(marks[i])
                .filter((e) => RECOVERING.has(e.ev))
                .map((e) => e.at),
            ),
            healAt,
          );
          if ((t - healAt >= 3000 && t - lastActivity >= 2000) || t > deadline) break;
        }
        for (const [name, a, i] of [
          ['s1', s1, 1],
          ['s2', s2, 2],
        ]) {
          const ev = a.events.slice(marks[i]);
          const flows = ev.filter((e) => e.ev === 'flow' && e.at >= healAt);
          const disconnected = ev.find((e) => e.ev === 'subscriber.disconnected');
          const connected = ev.find((e) => e.ev === 'subscriber.connected' && e.at >= healAt);
          // Each ICE restart shows once among these agents: as a new remote ufrag at its peer connection.
          const restarts = all.reduce(
            (n, x, j) => n + x.events.slice(marks[j]).filter((e) => e.ev === 'rtc.iceRestart').length,
            0,
          );
          rows[name].push({
            affected: Boolean(disconnected) || flows.length > 0,
            disconnectedMs: disconnected ? disconnected.at - cutAt : null,
            cause: disconnected?.data.cause ?? null,
            firstPacketMs: flows[0] ? flows[0].at - healAt : null,
            gapMs: flows[0]?.data.gapMs ?? null,
            connectedMs: connected ? connected.at - healAt : null,
            // After the last gap of ≥ 250 ms (an ICE restart finishing after media came back on the old path).
            steadyMs: flows.length ? flows.at(-1).at - healAt : null,
            gapsAfterRestore: Math.max(0, flows.length - 1),
            iceRestarts: restarts,
          });
        }
        const r1 = rows.s1.at(-1);
        const r2 = rows.s2.at(-1);
        const ms = (v) => (v === null ? '—' : `${v.toFixed(0)} ms`);
        const fmt = (r) =>
          r.affected
            ? `disconnected +${ms(r.disconnectedMs)} (${r.cause}), first packet ${ms(r.firstPacketMs)} (after ${ms(r.gapMs)} without), connected ${ms(r.connectedMs)}, steady ${ms(r.steadyMs)}`
            : 'unaffected';
        log(
          `  ${target} cut ${k + 1}/${CUTS} (${dropped} packets dropped): s1 ${fmt(r1)}; s2 ${fmt(r2)}; ICE restarts ${r1.iceRestarts}`,
        );
      }
      results[target] = rows;
    }
    await Promise.all(all.map((a) => a.destroy()));
    return results;
  } finally {
    await srv.stop();
  }
}

function printRecovery(results, cutMs) {
  const out = [];
  out.push(
    `\n(a) recovery after a ${cutMs / 1000} s cut (nft drops all, both ways), routed: ms from the restore`,
  );
  out.push('');
  const head = [
    'cut on',
    'subscriber',
    'cuts seen',
    "'disconnected' after cut",
    'first packet p50 / p99',
    "'connected' p50 / p99",
    'steady flow p50 / p99',
    'gaps after restore',
    'ICE restarts / cut',
  ];
  const rows = [];
  for (const [target, perSub] of Object.entries(results)) {
    for (const [name, list] of Object.entries(perSub)) {
      const seen = list.filter((r) => r.affected);
      const pp = (key) => {
        const v = finiteSorted(seen.map((r) => r[key]));
        return v.length ? `${nearestRank(v, 0.5).toFixed(0)} / ${nearestRank(v, 0.99).toFixed(0)}` : '—';
      };
      rows.push([
        target,
        `${name}${target.includes(name) ? ' (cut)' : ''}`,
        `${seen.length} / ${list.length}`,
        pp('disconnectedMs'),
        pp('firstPacketMs'),
        pp('connectedMs'),
        pp('steadyMs'),
        String(seen.reduce((n, r) => n + r.gapsAfterRestore, 0)),
        list.length ? mean(list.map((r) => r.iceRestarts)).toFixed(1) : '—',
      ]);
    }
  }
  out.push(formatTable(head, rows, { markdown: true }));
  process.stdout.write(out.join('\n') + '\n');
}

// ------------------------------------------------------------------ (b) forwarding

async function forwarding({ NS, RATE, WINDOW_MS, log }) {
  const results = [];
  const show = (x) =>
    `${x.inPps.toFixed(0)} in, ${x.outPps.toFixed(0)} out/s at ${(x.cpu * 100).toFixed(0)} % CPU → ${x.perCore.toFixed(0)} out per core-second`;
  for (const n of NS) {
    log(`(b) forwarding: ${RATE} packets/s offered, ${n} subscribers — Tether SFU`);
    const t = await forwardTether(n, RATE, WINDOW_MS, log);
    log(`    ${show(t)}`);
    log(`(b) forwarding: ${RATE} packets/s offered, ${n} receivers — plain UDP forwarder`);
    const p = await forwardPlain(n, RATE, WINDOW_MS);
    log(`    ${show(p)}`);
    log(`(b) forwarding: flat out, ${n} receivers — plain UDP forwarder`);
    const max = await forwardPlain(n, 0, WINDOW_MS);
    log(`    ${show(max)}`);
    results.push({
      subscribers: n,
      tether: t,
      plain: p,
      plainMax: max,
      ratio: ratio(t.perCore, p.perCore),
      ratioMax: ratio(t.perCore, max.perCore),
    });
  }
  return results;
}

/** Forwarded packets and CPU time of a server child over the window, its receivers stopped (SIGSTOP). */
async function measure(server, stopped, senderCount, windowMs) {
  for (const pid of stopped) process.kill(pid, 'SIGSTOP');
  try {
    await sleep(300);
    const a = await server.call('stats');
    const inA = await senderCount();
    await sleep(windowMs);
    const b = await server.call('stats');
    const inB = await senderCount();
    const wall = (b.at - a.at) / 1000;
    const cpu = (b.cpuUs - a.cpuUs) / 1e6 / wall;
    const outPps = (b.forwarded - a.forwarded) / wall;
    return { inPps: (inB - inA) / wall, outPps, cpu, perCore: outPps / Math.max(cpu, 1e-6) };
  } finally {
    for (const pid of stopped) process.kill(pid, 'SIGCONT');
  }
}

async function forwardTether(n, rate, windowMs, log) {
  // Receivers are stopped while measuring: a long heartbeat timeout keeps their sessions up meanwhile.
  const srv = await tether({ heartbeatTimeoutMs: 60_000, heartbeatIntervalMs: 1000 });
  const agents = [];
  try {
    const sessionId = await srv.createSession('routed');
    const pub = await joined(srv, sessionId, 'pub');
    agents.push(pub);
    const { stream } = await pub.call('publish', { name: 'load', rate });
    // All subscriptions in one receiving process (one session, n subscribers): one process to stop.
    const rx = await joined(srv, sessionId, 'rx');
    agents.push(rx);
    for (let i = 0; i < n; i++)
      await rx.call('subscribe', { streamId: stream.streamId, key: `s${i}` }, 60_000);
    await rx.until(
      async () => Object.values((await rx.call('stats')).subs).every((s) => s.audio > 50),
      'media at every subscriber',
      30_000,
    );
    log(`    ${n} subscriptions playing; measuring ${windowMs / 1000} s`);
    return await measure(srv, [rx.pid], async () => (await pub.call('stats')).sent * 2, windowMs);
  } finally {
    await Promise.all(agents.map((a) => a.destroy()));
    await srv.stop();
  }
}

async function forwardPlain(n, rate, windowMs) {
  const rx = await spawnChild('plain-receivers', n);
  const fwd = await spawnChild('plain-forwarder', JSON.stringify(rx.info.ports));
  const tx = await spawnChild('plain-sender', fwd.info.port, rate);
  try {
    await sleep(500);
    return await measure(fwd, [rx.pid], async () => (await tx.call('count')).sent, windowMs);
  } finally {
    tx.kill();
    rx.kill();
    await fwd.stop();
  }
}

function printForwarding(results, rate, windowMs) {
  const out = [];
  out.push(
    `\n(b) forwarding: 1 sender, N receivers (stopped while measured), 172–182 B packets, ${windowMs / 1000} s window; ${rate} packets/s offered unless flat out`,
  );
  out.push('');
  const head = [
    'N',
    'forwarder',
    'in pkt/s',
    'out pkt/s',
    'server CPU',
    'out pkt/s per core',
    'Tether / this',
  ];
  const rows = [];
  const row = (n, name, x, ratio) => [
    n,
    name,
    x.inPps.toFixed(0),
    x.outPps.toFixed(0),
    `${(x.cpu * 100).toFixed(0)} %`,
    x.perCore.toFixed(0),
    ratio,
  ];
  for (const r of results) {
    rows.push(row(String(r.subscribers), 'Tether SFU (werift, SRTP)', r.tether, ''));
    const vs = (x) => formatRatio(r.tether.perCore, x.perCore, { digits: 3, unit: '', missing: '—' });
    rows.push(row('', 'plain UDP, same load', r.plain, vs(r.plain)));
    rows.push(row('', 'plain UDP, flat out', r.plainMax, vs(r.plainMax)));
  }
  out.push(formatTable(head, rows, { markdown: true }));
  process.stdout.write(out.join('\n') + '\n');
}

// Last, so that every declaration above is initialised.
const role = childRole();
if (role) {
  await child(role.role, role.args);
} else {
  await main();
}
