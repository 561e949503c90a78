#!/usr/bin/env node
/**
 * bench/fanout.mjs — signal fan-out in one session of N clients on one server:
 * Tether (with each of its wire codecs, JSON and MessagePack) versus Socket.IO 4, side by
 * side in the same run.
 *
 *   npm run build && node bench/fanout.mjs [--clients 100,1000] [--codecs json,msgpack] [--reps 3] [--json]
 *
 * Each server runs alone in its own child process (node:child_process fork of this file),
 * started fresh for each (system, N) and stopped before the next, so no two compete for a
 * core. All N clients of either system live in this (the bench) process. Every
 * delivery's latency is receive time − send time read from the same clock of this process
 * (performance.timeOrigin + performance.now(), carried in the payload). See bench/README.md
 * for the method, the options used and how to read the output.
 */
import { createServer } from 'node:http';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { childRole, exitOnInterrupt, forkChild, serveParent } from './lib/child.mjs';
import { cliOptions } from './lib/cli.mjs';
import { drive } from './lib/drive.mjs';
import { createLog } from './lib/log.mjs';
import { BENCH_PROJECT as PROJECT } from './lib/project.mjs';
import { floorRank, median } from './lib/stats.mjs';
import { formatRatio, formatTable, ratio } from './lib/table.mjs';
import { epochMs as now, sleep } from './lib/time.mjs';

const SELF = fileURLToPath(import.meta.url);
const ROOM = 'bench-room';
const SIGNAL_TYPE = 'bench';
const PAYLOAD_BYTES = 100;
/** Per-sender pacing kept below Tether's limit (50/s sustained, burst 100), applied to both systems alike. */
const SENDER_RATE = 40;
const SENDER_BURST = 80;
/** A phase that makes no progress for this long is abandoned and reported as incomplete. */
const STALL_MS = 20_000;

const log = createLog('fanout', 0);

// =====================================================================================
// server child
// =====================================================================================

async function serve(kind) {
  let close;
  let url;
  /** How many of the server's connections use each codec (Tether only): the bench checks it measured what it asked for. */
  let codecs = () => ({});
  if (kind === 'tether') {
    const { startServer } = await import('@tether/server');
    // Defaults otherwise (DEFAULTS in packages/server/src/config.ts): heartbeat 500 ms, timeout 2.25–15 s, ack delay 250 ms, outbox 4096 frames / 4 MiB.
    const server = await startServer({ port: 0, host: '127.0.0.1', projects: [PROJECT], logLevel: 'silent' });
    url = server.url;
    close = () => server.close();
    codecs = () => {
      const count = {};
      for (const room of server.hub.rooms.values())
        for (const conn of room.members()) count[conn.codec.name] = (count[conn.codec.name] ?? 0) + 1;
      return count;
    };
  } else if (kind === 'socketio') {
    const { Server } = await import('socket.io');
    const http = createServer();
    // websocket transport only (no long-polling, no upgrade), no per-message deflate (the default),
    // no connection-state recovery, default parser, in-memory adapter. The server only relays.
    const io = new Server(http, { transports: ['websocket'], serveClient: false, perMessageDeflate: false });
    io.on('connection', (socket) => {
      socket.join(ROOM);
      socket.on('signal', (msg) => io.to(ROOM).emit('signal', msg));
    });
    await new Promise((resolve) => http.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${http.address().port}`;
    close = () => new Promise((resolve) => io.close(() => resolve()));
  } else throw new Error(`unknown server kind ${kind}`);

  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  serveParent(
    { url },
    {
      cpu() {
        const c = process.cpuUsage();
        // Event-loop delay since the previous call (max, ms): how long the server went without reading its sockets.
        const loopDelayMaxMs = loopDelay.max / 1e6;
        loopDelay.reset();
        return { cpuUs: c.user + c.system, rss: process.memoryUsage().rss, loopDelayMaxMs };
      },
      codecs: () => ({ codecs: codecs() }),
      async close() {
        await close();
        return { closed: true };
      },
    },
  );
}

/** The server of one system in a child process of its own; stopped by `stop()`, killed if the bench exits. */
function startChild(kind) {
  // FANOUT_SERVER_ARGS, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof", is passed to the server children's node.
  const execArgv = (process.env.FANOUT_SERVER_ARGS ?? '').split(' ').filter(Boolean);
  return forkChild(SELF, 'server', [kind], { execArgv, label: `${kind} server`, log });
}

// =====================================================================================
// clients: one interface over both SDKs
// =====================================================================================

/** Runs `fn(i)` for i in [0, n) with at most `limit` at a time. */
async function pool(n, limit, fn) {
  let next = 0;
  const worker = async () => {
    while (next < n) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.min(limit, n) }, worker));
}

/** Attempts per client to connect; a failed attempt is retried, and the retries are reported. */
const CONNECT_ATTEMPTS = 3;
/** Time allowed for one connect attempt, both systems (the default 5 s of Tether is tight for a join storm on 2 cores). */
const CONNECT_TIMEOUT_MS = 30_000;

/**
 * Connects n clients, `concurrency` at a time, each with up to CONNECT_ATTEMPTS attempts.
 * `open(i)` makes client i and resolves once it is connected; `drop(client)` closes one.
 * On failure every client made so far is closed before the error propagates.
 */
async function connectAll(n, concurrency, open, drop, progress, stats) {
  const clients = new Array(n);
  let connected = 0;
  try {
    await pool(n, concurrency, async (i) => {
      for (let attempt = 1; ; attempt++) {
        try {
          clients[i] = await open(i);
          break;
        } catch (err) {
          if (attempt >= CONNECT_ATTEMPTS)
            throw new Error(
              `client ${i} could not connect in ${attempt} attempts: ${err.code ?? ''} ${err.message}`,
            );
          stats.connectRetries++;
          if (stats.connectRetries <= 3)
            log(`client ${i}: connect attempt ${attempt} failed (${err.code ?? err.message}); retrying`);
        }
      }
      progress(++connected);
    });
  } catch (err) {
    for (const c of clients) if (c) drop(c);
    throw err;
  }
  return clients;
}

/**
 * Tether: N `Session`s of @tether/client in one session, all asking for `codec` (the server
 * grants what is asked: every frame after the handshake is in it); each listens to `signal:bench`.
 */
async function tetherClients(codecName, url, n, concurrency, onDelivery, progress) {
  const { Session, jsonCodec, msgpackCodec } = await import('@tether/client');
  const codec = codecName === 'msgpack' ? msgpackCodec : jsonCodec;
  const { TetherApi, createToken } = await import('@tether/server-sdk');
  const api = new TetherApi({ url, ...PROJECT });
  const { sessionId } = await api.createSession();
  let rejected = 0;
  let closing = false;
  /** Transport trouble is counted and reported: a fan-out bench must not hide reconnections. */
  const trouble = { sessionReconnecting: 0, sessionDisconnected: 0, exception: 0 };
  const stats = { connectRetries: 0, reconnected: 0 };
  const note = (name, detail) => {
    trouble[name]++;
    if (trouble[name] <= 3) log(`tether client ${name}${detail ? ` ${detail}` : ''}`);
  };
  const sessions = await connectAll(
    n,
    concurrency,
    async (i) => {
      const token = await createToken({ ...PROJECT, sessionId, role: 'publisher', data: `c${i}` });
      // watchNetwork off: there are no browser online/offline events in Node anyway.
      const s = new Session({
        url,
        sessionId,
        codec,
        watchNetwork: false,
        attemptTimeoutMs: CONNECT_TIMEOUT_MS,
      });
      try {
        await s.connect(token);
      } catch (err) {
        s.disconnect();
        throw err;
      }
      s.on('signal:bench', (e) => onDelivery(i, e.data));
      s.on('sessionReconnecting', (e) => note('sessionReconnecting', e.cause));
      s.on('sessionReconnected', () => stats.reconnected++ < 3 && log('tether client sessionReconnected'));
      s.on('sessionDisconnected', (e) => closing || note('sessionDisconnected', e.reason));
      s.on('exception', (e) => note('exception', `${e.code} ${e.message}`));
      return s;
    },
    (s) => s.disconnect(),
    progress,
    stats,
  );
  return {
    send(i, data) {
      sessions[i].signal({ type: SIGNAL_TYPE, data }).catch((err) => {
        rejected++;
        if (rejected <= 5) log(`tether signal rejected: ${err.code ?? err.message}`);
      });
    },
    get rejected() {
      return rejected;
    },
    trouble,
    stats,
    async close() {
      closing = true;
      for (const s of sessions) s.disconnect();
    },
  };
}

/** Socket.IO: N socket.io-client sockets, one Manager (= one WebSocket) each. */
async function socketioClients(url, n, concurrency, onDelivery, progress) {
  const { io } = await import('socket.io-client');
  let closing = false;
  const trouble = { disconnect: 0 };
  const stats = { connectRetries: 0 };
  const sockets = await connectAll(
    n,
    concurrency,
    async (i) => {
      // forceNew: a Manager (and WebSocket) per client, as N separate users would have;
      // websocket only, no reconnection (nothing drops on loopback).
      const socket = io(url, {
        transports: ['websocket'],
        forceNew: true,
        reconnection: false,
        timeout: CONNECT_TIMEOUT_MS,
      });
      try {
        await new Promise((resolve, reject) => {
          socket.once('connect', resolve);
          socket.once('connect_error', reject);
        });
      } catch (err) {
        socket.disconnect();
        throw err;
      }
      socket.on('signal', (msg) => onDelivery(i, msg.data));
      socket.on('disconnect', (reason) => {
        if (closing) return;
        trouble.disconnect++;
        if (trouble.disconnect <= 3) log(`socket.io client disconnect ${reason}`);
      });
      return socket;
    },
    (s) => s.disconnect(),
    progress,
    stats,
  );
  return {
    send(i, data) {
      sockets[i].emit('signal', { type: SIGNAL_TYPE, data });
    },
    rejected: 0,
    trouble,
    stats,
    async close() {
      closing = true;
      for (const s of sockets) s.disconnect();
    },
  };
}

/**
 * The systems measured side by side. Both Tether ones use the same server (`server: 'tether'`,
 * which serves each connection in the codec it asked for); only their clients differ.
 */
const SYSTEMS = {
  tether: {
    label: 'Tether JSON',
    server: 'tether',
    codec: 'json',
    connect: (...args) => tetherClients('json', ...args),
  },
  'tether-msgpack': {
    label: 'Tether MessagePack',
    server: 'tether',
    codec: 'msgpack',
    connect: (...args) => tetherClients('msgpack', ...args),
  },
  socketio: { label: 'Socket.IO', server: 'socketio', connect: socketioClients },
};

// =====================================================================================
// measurement
// =====================================================================================

/** Event-loop delay of the bench (client) process, per phase. */
const clientLoopDelay = monitorEventLoopDelay({ resolution: 10 });

/** The phase in progress; deliveries of an older phase (stragglers) are ignored. */
let phase = null;
let phaseCounter = 0;

/** Payload: `phase:msg:sendTime:` padded to PAYLOAD_BYTES. */
function payload(phaseId, msg, t) {
  const head = `${phaseId}:${msg}:${t.toFixed(3)}:`;
  return head + 'x'.repeat(Math.max(0, PAYLOAD_BYTES - head.length));
}

/** Called by every client of either system for every bench signal it receives. */
function onDelivery(client, data) {
  const t = now();
  const p = phase;
  if (!p) return;
  const a = data.indexOf(':');
  const b = data.indexOf(':', a + 1);
  const c = data.indexOf(':', b + 1);
  if (Number(data.slice(0, a)) !== p.id) return;
  const msg = Number(data.slice(a + 1, b));
  const sent = Number(data.slice(b + 1, c));
  const slot = msg * p.n + client;
  if (p.seen[slot]) {
    p.duplicates++;
    return;
  }
  p.seen[slot] = 1;
  p.lat[p.delivered++] = t - sent;
  p.lastDelivery = t;
  if (++p.perMsg[msg] === p.n) {
    p.completed++;
    p.onComplete();
  }
}

/** Picks senders round-robin, each held to SENDER_RATE/s with a burst of SENDER_BURST. */
class Senders {
  constructor(n) {
    this.n = n;
    this.next = 0;
    this.tokens = new Float64Array(n).fill(SENDER_BURST);
    this.updated = new Float64Array(n).fill(performance.now());
    this.waits = 0;
  }
  /** The next sender with a token, or -1 if none has one right now. */
  take() {
    const t = performance.now();
    for (let k = 0; k < this.n; k++) {
      const i = this.next;
      this.next = (this.next + 1) % this.n;
      this.tokens[i] = Math.min(SENDER_BURST, this.tokens[i] + ((t - this.updated[i]) / 1000) * SENDER_RATE);
      this.updated[i] = t;
      if (this.tokens[i] >= 1) {
        this.tokens[i] -= 1;
        return i;
      }
    }
    this.waits++;
    return -1;
  }
}

/**
 * One phase: M messages, each sent by one client and delivered to all N (sender included).
 * mode 'window': at most `window` messages not yet delivered to everyone are in flight (closed loop).
 * mode 'paced': messages leave at `rate`/s on a fixed schedule (open loop), whatever the deliveries.
 */
async function runPhase(clients, senders, n, { mode, messages, window = 0, rate = 0, cpu }) {
  const p = {
    id: ++phaseCounter,
    n,
    m: messages,
    seen: new Uint8Array(messages * n),
    perMsg: new Uint32Array(messages),
    lat: new Float64Array(messages * n),
    delivered: 0,
    duplicates: 0,
    completed: 0,
    sent: 0,
    firstSend: 0,
    lastDelivery: 0,
    onComplete: () => undefined,
  };
  const sendOne = () => {
    const i = senders.take();
    if (i < 0) return false;
    const t = now();
    if (p.sent === 0) p.firstSend = t;
    clients.send(i, payload(p.id, p.sent++, t));
    return true;
  };
  const rejectedBefore = clients.rejected;
  const serverCpu0 = await cpu();
  const clientCpu0 = process.cpuUsage();
  clientLoopDelay.reset();
  phase = p;

  const done = drive(p, { mode, messages, window, rate, stallMs: STALL_MS, sendOne });
  const complete = await done;
  phase = null;
  const clientCpu = process.cpuUsage(clientCpu0);
  const serverCpu1 = await cpu();
  const lat = p.lat.subarray(0, p.delivered).sort();
  const elapsedS = p.delivered > 0 ? (p.lastDelivery - p.firstSend) / 1000 : NaN;
  return {
    complete,
    sent: p.sent,
    expected: messages * n,
    delivered: p.delivered,
    duplicates: p.duplicates,
    rejected: clients.rejected - rejectedBefore,
    elapsedS,
    deliveriesPerS: p.delivered / elapsedS,
    messagesPerS: p.completed / elapsedS,
    p50: floorRank(lat, 0.5),
    p99: floorRank(lat, 0.99),
    max: lat.length ? lat[lat.length - 1] : NaN,
    serverCpuUsPerDelivery: (serverCpu1.cpuUs - serverCpu0.cpuUs) / Math.max(1, p.delivered),
    clientCpuUsPerDelivery: (clientCpu.user + clientCpu.system) / Math.max(1, p.delivered),
    serverRssMB: serverCpu1.rss / 2 ** 20,
    serverLoopDelayMaxMs: serverCpu1.loopDelayMaxMs,
    clientLoopDelayMaxMs: clientLoopDelay.max / 1e6,
  };
}

/** One system at one N, connected: its server child, its N clients and their senders. */
async function setUp(key, n, cfg) {
  const sys = SYSTEMS[key];
  const tag = `${sys.label} N=${n}`;
  const server = await startChild(sys.server);
  try {
    const { url } = server.info;
    log(`${tag}: server pid ${server.pid} at ${url}; connecting ${n} clients, ${cfg.concurrency} at a time`);
    const t0 = performance.now();
    let lastLog = t0;
    clientLoopDelay.reset();
    const clients = await sys.connect(url, n, cfg.concurrency, onDelivery, (k) => {
      const t = performance.now();
      if (k === n || t - lastLog > 2000) {
        lastLog = t;
        const clientLag = clientLoopDelay.max / 1e6;
        clientLoopDelay.reset();
        server.call('cpu').then(
          (c) =>
            log(
              `${tag}: connected ${k}/${n} (${((t - t0) / 1000).toFixed(1)} s), ` +
                `loop delay max server ${c.loopDelayMaxMs.toFixed(0)} ms, clients ${clientLag.toFixed(0)} ms`,
            ),
          () => undefined,
        );
      }
    });
    const connectS = (performance.now() - t0) / 1000;
    if (sys.codec) {
      const { codecs } = await server.call('codecs');
      if (codecs[sys.codec] !== n)
        throw new Error(
          `${tag}: asked for ${sys.codec}, the server's connections use ${JSON.stringify(codecs)}`,
        );
    }
    await sleep(500); // let the join traffic (presence) drain
    const { loopDelayMaxMs: connectLoopDelayMaxMs } = await server.call('cpu');
    log(
      `${tag}: connected in ${connectS.toFixed(1)} s; loop delay max server ${connectLoopDelayMaxMs.toFixed(0)} ms, clients ${(clientLoopDelay.max / 1e6).toFixed(0)} ms`,
    );
    return {
      key,
      n,
      tag,
      server,
      clients,
      senders: new Senders(n),
      connectS,
      connectLoopDelayMaxMs,
      cpu: () => server.call('cpu'),
      reps: [],
    };
  } catch (err) {
    await server.stop();
    throw err;
  }
}

async function tearDown(sut) {
  const t = performance.now();
  await sut.clients.close();
  await sleep(300);
  await sut.server.stop();
  log(`${sut.tag}: clients closed and server stopped (${((performance.now() - t) / 1000).toFixed(1)} s)`);
}

async function warmUp(sut, cfg) {
  const warm = await runPhase(sut.clients, sut.senders, sut.n, {
    mode: 'window',
    messages: cfg.warmup,
    window: cfg.window,
    cpu: sut.cpu,
  });
  log(
    `${sut.tag}: warm-up ${warm.delivered}/${warm.expected} deliveries, ${fmtInt(warm.deliveriesPerS)}/s, ` +
      `server loop delay max ${warm.serverLoopDelayMaxMs.toFixed(0)} ms`,
  );
}

/** One repetition: a window phase (throughput, latency at saturation), then a paced phase (latency at a fixed load). */
async function repetition(sut, cfg, r) {
  const { tag, n } = sut;
  await sleep(200);
  const win = await runPhase(sut.clients, sut.senders, n, {
    mode: 'window',
    messages: cfg.messages,
    window: cfg.window,
    cpu: sut.cpu,
  });
  log(
    `${tag} rep ${r}/${cfg.reps} window=${cfg.window}: ${win.delivered}/${win.expected} in ${win.elapsedS.toFixed(2)} s = ` +
      `${fmtInt(win.deliveriesPerS)} deliveries/s, p50 ${win.p50.toFixed(2)} ms, p99 ${win.p99.toFixed(2)} ms, ` +
      `loop delay max server ${win.serverLoopDelayMaxMs.toFixed(0)} ms, clients ${win.clientLoopDelayMaxMs.toFixed(0)} ms` +
      `${win.complete ? '' : ' INCOMPLETE'}${win.rejected ? `, ${win.rejected} rejected` : ''}`,
  );
  await sleep(200);
  const paced = await runPhase(sut.clients, sut.senders, n, {
    mode: 'paced',
    messages: cfg.pacedMessages,
    rate: cfg.pacedRate,
    cpu: sut.cpu,
  });
  log(
    `${tag} rep ${r}/${cfg.reps} paced ${cfg.pacedRate.toFixed(0)} msg/s: ${paced.delivered}/${paced.expected}, ` +
      `p50 ${paced.p50.toFixed(2)} ms, p99 ${paced.p99.toFixed(2)} ms${paced.complete ? '' : ' INCOMPLETE'}` +
      `${paced.rejected ? `, ${paced.rejected} rejected` : ''}`,
  );
  sut.reps.push({ window: win, paced });
}

function summarise(sut) {
  const { reps } = sut;
  // Medians over complete phases only: an abandoned phase has no meaningful rate or CPU per delivery.
  const med = (f) => median(reps.map(f));
  const okWindow = reps.filter((r) => r.window.complete);
  const okPaced = reps.filter((r) => r.paced.complete);
  const medW = (f) => median(okWindow.map(f));
  const medP = (f) => median(okPaced.map(f));
  return {
    system: sut.key,
    n: sut.n,
    connectS: sut.connectS,
    reps,
    senderWaits: sut.senders.waits,
    summary: {
      deliveriesPerS: medW((r) => r.window.deliveriesPerS),
      loadedP50: medW((r) => r.window.p50),
      loadedP99: medW((r) => r.window.p99),
      pacedP50: medP((r) => r.paced.p50),
      pacedP99: medP((r) => r.paced.p99),
      serverCpuUsPerDelivery: medW((r) => r.window.serverCpuUsPerDelivery),
      clientCpuUsPerDelivery: medW((r) => r.window.clientCpuUsPerDelivery),
      serverLoopDelayMaxMs: med((r) => r.window.serverLoopDelayMaxMs),
      completePhases: `${okWindow.length + okPaced.length}/${2 * reps.length}`,
      connectS: sut.connectS,
      transportTrouble: { ...sut.clients.trouble },
      connectRetries: sut.clients.stats.connectRetries,
      complete: reps.every((r) => r.window.complete && r.paced.complete),
      duplicates: reps.reduce((s, r) => s + r.window.duplicates + r.paced.duplicates, 0),
      missing: reps.reduce(
        (s, r) => s + (r.window.expected - r.window.delivered) + (r.paced.expected - r.paced.delivered),
        0,
      ),
      rejected: reps.reduce((s, r) => s + r.window.rejected + r.paced.rejected, 0),
    },
  };
}

/**
 * Every system at one N.
 *
 * Default (sequential): one system at a time — its server child and N clients are set up,
 * warmed up, measured `reps` times and torn down before the next system starts, so no
 * system's idle clients are on the machine while another is measured. The order of the
 * systems is reversed from one N to the next.
 *
 * `--interleave`: every system is connected first and the repetitions alternate (A B C, C B A…),
 * which spreads slow drifts of background load over both — but the idle system's clients stay
 * connected while the other is measured (Tether: a heartbeat every 500 ms each way per connection and an
 * RTT-derived timeout of 2.25 s or more; Socket.IO: a ping every 25 s, 20 s timeout). On an overloaded machine
 * a long stall of the bench process during a Socket.IO phase can then time out Tether's idle
 * connections, so this is not the default.
 */
async function benchSystems(systems, n, cfg, { interleave, flip }) {
  const order = flip ? [...systems].reverse() : systems;
  const out = {};
  const fail = (key, err) => {
    out[key] = { system: key, n, error: `setup failed: ${err.message}` };
    log(`${SYSTEMS[key].label} N=${n}: ${out[key].error}`);
  };
  if (!interleave) {
    for (const key of order) {
      let sut;
      try {
        sut = await setUp(key, n, cfg);
      } catch (err) {
        fail(key, err);
        continue;
      }
      try {
        await warmUp(sut, cfg);
        for (let r = 1; r <= cfg.reps; r++) await repetition(sut, cfg, r);
        out[key] = summarise(sut);
      } finally {
        await tearDown(sut);
      }
      await sleep(500);
    }
    return out;
  }
  const suts = [];
  try {
    for (const key of order) {
      try {
        suts.push(await setUp(key, n, cfg));
      } catch (err) {
        fail(key, err);
      }
    }
    for (const sut of suts) await warmUp(sut, cfg);
    for (let r = 1; r <= cfg.reps; r++) {
      for (const sut of r % 2 === 1 ? suts : [...suts].reverse()) await repetition(sut, cfg, r);
    }
    for (const sut of suts) out[sut.key] = summarise(sut);
    return out;
  } finally {
    for (const sut of suts) await tearDown(sut);
  }
}

// =====================================================================================
// output
// =====================================================================================

const fmtInt = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : 'n/a');
const fmtMs = (x) => (Number.isFinite(x) ? x.toFixed(2) : 'n/a');

/**
 * The ratios shown, numerator / denominator, for the systems measured: each Tether codec against
 * Socket.IO, and MessagePack against JSON.
 */
function ratioPairs(systems) {
  const has = (k) => systems.includes(k);
  const pairs = [];
  for (const t of ['tether', 'tether-msgpack']) if (has(t) && has('socketio')) pairs.push([t, 'socketio']);
  if (has('tether') && has('tether-msgpack')) pairs.push(['tether-msgpack', 'tether']);
  return pairs;
}

const SHORT = { tether: 'JSON', 'tether-msgpack': 'MessagePack', socketio: 'Socket.IO' };

function table(results, cfgs, systems) {
  const rows = [];
  const metrics = [
    ['deliveries/s (window)', 'deliveriesPerS', fmtInt, 'higher is better'],
    ['latency p50, window (ms)', 'loadedP50', fmtMs],
    ['latency p99, window (ms)', 'loadedP99', fmtMs],
    ['latency p50, paced (ms)', 'pacedP50', fmtMs],
    ['latency p99, paced (ms)', 'pacedP99', fmtMs],
    ['server CPU µs/delivery', 'serverCpuUsPerDelivery', (x) => x.toFixed(2)],
    ['client CPU µs/delivery', 'clientCpuUsPerDelivery', (x) => x.toFixed(2)],
    ['server loop delay max, window (ms)', 'serverLoopDelayMaxMs', (x) => x.toFixed(0)],
    ['connect N clients (s)', 'connectS', (x) => x.toFixed(2)],
  ];
  const pairs = ratioPairs(systems);
  const header = [
    'N',
    'metric',
    ...systems.map((k) => SYSTEMS[k].label),
    ...pairs.map(([a, b]) => `${SHORT[a]}/${SHORT[b]}`),
  ];
  const notes = [];
  for (const [n, measured] of results) {
    const sum = (k) => measured[k]?.summary;
    for (const [key, x] of Object.entries(measured))
      if (x.error) notes.push(`N=${n} ${SYSTEMS[key].label}: ${x.error}`);
    const c = cfgs.get(n);
    for (const [name, key, fmt] of metrics) {
      let label = name;
      if (key === 'deliveriesPerS') label = `deliveries/s (window ${c.window} msg)`;
      if (key === 'pacedP50' || key === 'pacedP99')
        label = name.replace('paced', `paced ${fmtInt(c.pacedRate)} msg/s`);
      rows.push([
        String(n),
        label,
        ...systems.map((k) => (sum(k) === undefined ? 'n/a' : fmt(sum(k)[key]))),
        ...pairs.map(([a, b]) => formatRatio(sum(a)?.[key], sum(b)?.[key])),
      ]);
    }
    const check = (x) => {
      if (!x) return 'n/a';
      const drops = Object.values(x.transportTrouble).reduce((a, b) => a + b, 0);
      return `${x.complete ? 'yes' : `NO ${x.completePhases}`}/${x.duplicates}/${x.missing}/${x.rejected}/${drops}/${x.connectRetries}`;
    };
    rows.push([
      String(n),
      'complete/dup/missing/rej/drops/retries',
      ...systems.map((k) => check(sum(k))),
      ...pairs.map(() => ''),
    ]);
  }
  const align = header.map((_, i) => (i < 2 ? 'left' : 'right'));
  return [formatTable(header, rows, { align }), ...notes].join('\n');
}

// =====================================================================================
// main
// =====================================================================================

const USAGE = `usage: node bench/fanout.mjs [options]   (run \`npm run build\` first)
  --clients 100,1000     client counts N (one session / room of N each)
  --systems tether,socketio
  --codecs json,msgpack  Tether's wire codecs, each measured as a system of its own (same server)
  --reps 3               repetitions per (system, N); medians are reported
  --messages M           messages per window phase (default 1000 at N<=100, else max(200, 100000/N))
  --window W             in-flight messages in the window phase (default max(2, round(4000/N)))
  --paced-deliveries D   offered load of the paced phase in deliveries/s (default 10000; msg/s = D/N)
  --paced-seconds S      length of a paced phase (default 3)
  --concurrency C        connection attempts at a time (default 20; see bench/README.md before raising it)
  --interleave           connect both systems, then alternate their repetitions (default: one system at a time)
  --json                 also print a JSON summary after the table
`;

const OPTIONS = {
  clients: { type: 'integers', min: 1, default: [100, 1000] },
  systems: { type: 'list', choices: ['tether', 'socketio'], default: ['tether', 'socketio'] },
  codecs: { type: 'list', choices: ['json', 'msgpack'], default: ['json', 'msgpack'] },
  reps: { type: 'integer', min: 1, default: 3 },
  messages: { type: 'integer', min: 1 },
  window: { type: 'integer', min: 1 },
  'paced-deliveries': { type: 'number', default: 10_000 },
  'paced-seconds': { type: 'number', default: 3 },
  concurrency: { type: 'integer', min: 1, default: 20 },
  json: { type: 'boolean' },
  interleave: { type: 'boolean' },
};

async function main() {
  const values = cliOptions(OPTIONS, USAGE);
  clientLoopDelay.enable();
  const ns = values.clients;
  // Tether once per codec (JSON keeps the key `tether`), then Socket.IO.
  const systems = [
    ...(values.systems.includes('tether')
      ? values.codecs.map((c) => (c === 'json' ? 'tether' : 'tether-msgpack'))
      : []),
    ...(values.systems.includes('socketio') ? ['socketio'] : []),
  ];

  const cfgs = new Map();
  for (const n of ns) {
    const messages = values.messages ?? (n <= 100 ? 1000 : Math.max(200, Math.round(100_000 / n)));
    const window = values.window ?? Math.max(2, Math.round(4000 / n));
    const pacedRate = Math.max(1, values['paced-deliveries'] / n);
    cfgs.set(n, {
      messages,
      window,
      warmup: Math.max(20, Math.round(messages / 4)),
      pacedRate,
      pacedMessages: Math.max(10, Math.round(pacedRate * values['paced-seconds'])),
      reps: values.reps,
      concurrency: values.concurrency,
    });
  }
  const os = await import('node:os');
  const cores = os.availableParallelism();
  const loadBefore = os.loadavg()[0];
  log(
    `node ${process.version}, ${cores} cores, load average ${loadBefore.toFixed(2)}, N = ${ns.join(', ')}, systems = ${systems.join(', ')}`,
  );

  exitOnInterrupt();

  const results = new Map();
  const t0 = performance.now();
  for (const n of ns) {
    results.set(
      n,
      await benchSystems(systems, n, cfgs.get(n), {
        interleave: values.interleave,
        flip: results.size % 2 === 1,
      }),
    );
    await sleep(500);
  }

  const out = [];
  const sioVersion = createRequire(import.meta.url)('socket.io/package.json').version;
  out.push(
    `Signal fan-out: one session/room of N clients, one server. Each server runs alone in its own child process`,
  );
  out.push(
    `(node fork); all clients of every system run in the bench process. Payload: {type:'${SIGNAL_TYPE}', data: ${PAYLOAD_BYTES} bytes incl. the`,
  );
  out.push(
    `send time}, delivered to all N including the sender. Latency = receive − send on the bench process's clock, every`,
  );
  out.push(
    `delivery counted. window = closed loop, at most W messages not yet delivered to all N (throughput, latency at`,
  );
  out.push(
    `saturation); paced = open loop at a fixed offered load. Warm-up, then ${cfgs.get(ns[0]).reps} reps; medians of the complete ones.`,
  );
  out.push(
    values.interleave
      ? `Every system connected at once, reps alternating A,B,C / C,B,A (--interleave).`
      : `One system at a time (server + clients set up, measured, torn down); the order reverses between Ns.`,
  );
  out.push(
    `Senders rotate round-robin over all N clients, each held to ≤ ${SENDER_RATE}/s (burst ${SENDER_BURST}) for every system, under`,
  );
  out.push(
    `Tether's per-connection limit (50/s, burst 100), which is unchanged. Tether: default server options, @tether/client`,
  );
  out.push(
    `Session (reliable, sequenced, acked), codec asked for in the handshake: JSON text frames or MessagePack binary`,
  );
  out.push(
    `frames (the same server serves both; each Tether system is its clients' codec). Socket.IO ${sioVersion}: transports ['websocket'], perMessageDeflate off, no`,
  );
  out.push(
    `connection-state recovery, in-memory adapter, client forceNew + reconnection off; server relays with io.to(room).emit.`,
  );
  out.push(
    `CPU µs/delivery: process CPU (user+sys) over the window phase / deliveries. Last row: phases complete / duplicate`,
  );
  out.push(
    `deliveries / missing deliveries / sends rejected / transport drops (Tether reconnecting+disconnected+exception,`,
  );
  out.push(
    `Socket.IO disconnect) / connect attempts retried (each client gets 3 attempts of up to ${CONNECT_TIMEOUT_MS / 1000} s).`,
  );
  out.push('');
  out.push(table(results, cfgs, systems));
  out.push('');
  const load = `1-min load average ${loadBefore.toFixed(2)} at start, ${os.loadavg()[0].toFixed(2)} at end`;
  out.push(
    `total time ${((performance.now() - t0) / 1000).toFixed(0)} s, node ${process.version}, ${cores} cores, ${load}`,
  );
  process.stdout.write(out.join('\n') + '\n');

  if (values.json) {
    const json = {
      bench: 'fanout',
      node: process.version,
      cores,
      loadAverage: { start: loadBefore, end: os.loadavg()[0] },
      payloadBytes: PAYLOAD_BYTES,
      senderRatePerS: SENDER_RATE,
      // Per N: each system's summary (or its error) under its key — `tether` (JSON codec),
      // `tether-msgpack`, `socketio` — and every numeric summary field as a ratio per pair.
      results: [...results].map(([n, measured]) => ({
        n,
        config: cfgs.get(n),
        ...Object.fromEntries(systems.map((k) => [k, measured[k]?.summary ?? measured[k]?.error])),
        ratios: Object.fromEntries(
          ratioPairs(systems).map(([a, b]) => {
            const x = measured[a]?.summary;
            const y = measured[b]?.summary;
            const keys = Object.keys(x ?? {}).filter((k) => typeof x[k] === 'number' && y);
            return [`${a}/${b}`, Object.fromEntries(keys.map((k) => [k, ratio(x[k], y[k])]))];
          }),
        ),
        reps: Object.fromEntries(systems.map((k) => [k, measured[k]?.reps])),
      })),
    };
    process.stdout.write(JSON.stringify(json, null, 2) + '\n');
  }
}

// Entry point, last so that every const above is initialised: a server child, or the bench.
const child = childRole();
if (child) await serve(child.args[0]);
else await main();
