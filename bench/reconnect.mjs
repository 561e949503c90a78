#!/usr/bin/env node
/**
 * bench/reconnect.mjs — automatic reconnection under network faults, while signals flow:
 * Tether versus Socket.IO 4 with connectionStateRecovery, side by side in the same run.
 *
 *   npm run build && node bench/reconnect.mjs [--cuts 20] [--switches 5] [--quick] [--json]
 *   node bench/reconnect.mjs --cuts 100            # the full issue run (~20 min)
 *   node bench/reconnect.mjs --scenario storm      # (c) alone: 500 clients per system
 *
 * Two scenarios, run concurrently (each on its own servers and proxies), and a third alone:
 *  (a) transient cut — K blackholes (FaultProxy.blackhole() … restore()) of a length drawn
 *      uniformly from 0.5–10 s (seeded). Every system has its own proxy per mode and suffers
 *      the same cut at the same moment. Two modes (`--cut-modes`), side by side:
 *       - hold: connections opened during the cut are held and delivered on restore, so an
 *         attempt made during the outage completes at once when the path returns (optimistic);
 *       - lost: they lose their SYN, as on a real dead path, and reach the server only at the
 *         client kernel's next SYN retransmission after the restore (1 s, 3 s, 7 s… after the
 *         connect), so recovery waits for that or for the next fresh attempt (honest).
 *      Existing connections are held in both (as TCP would keep and retransmit their bytes).
 *  (b) network switch — FaultProxy.switchPath(): the old path is dead for good (no FIN, no RST,
 *      nothing delivered) and new connections pass at once. R independent lanes in parallel,
 *      each switching once at a random moment 1–26 s in (so Socket.IO's 25 s ping phase varies).
 *  (c) recovery storm — bench/reconnect/storm.mjs: N clients of one session behind one proxy,
 *      cut at once and restored at once, each system in turn with its server in a child process.
 *
 * Tether runs once per reconnect policy of `--policy` (default: the previous default
 * 250/1000/0.3 and the SDK's current one), so a change of schedule is measured before/after on
 * the same faults.
 *
 * Per system and lane: a "receiver" client through the proxy (it suffers the faults) and a
 * "sender" client connected directly. The sender sends a numbered signal every 25 ms to the
 * receiver ("down"); the receiver sends a numbered one every 100 ms to the sender ("up").
 *  - Tether: server defaults (heartbeat 1 s, timeout floor 2.25 s, ack delay 250 ms), except
 *    the reconnect window, raised to 60 s; client SDK defaults but the reconnect policy
 *    (`--policy`). `sender.signal({type:'seq', …})`.
 *  - Socket.IO 4: `connectionStateRecovery: { maxDisconnectionDuration: 60_000 }`, default ping
 *    (pingInterval 25 s, pingTimeout 20 s), default client reconnection options; websocket
 *    transport only on both sides (like Tether's one WebSocket, and like bench/fanout.mjs). The
 *    server relays `seq`/`up` to the room (`socket.to(room).emit`), so packets are stored and
 *    replayed on a recovery; the client's `socket.emit` buffers while disconnected (default).
 *
 * Everything runs in this one process (the load is ~60 messages/s per lane); all times are
 * performance.now() of this process. Progress on stderr, the table on stdout, --json for a
 * machine-readable summary. bench/README.md explains each column.
 */
import { createServer } from 'node:http';
import { performance } from 'node:perf_hooks';
import { clearInterval, setInterval } from 'node:timers';
import { FaultProxy, startTestServer } from '@tether/testkit';
import { Server as IOServer } from 'socket.io';
import { io as ioClient } from 'socket.io-client';
import { exitOnInterrupt } from './lib/child.mjs';
import { cliOptions } from './lib/cli.mjs';
import { createLog } from './lib/log.mjs';
import { distribution } from './lib/stats.mjs';
import { formatRatio, formatWrapped } from './lib/table.mjs';
import { sleep } from './lib/time.mjs';
import { PREVIOUS_DEFAULT, parsePolicy } from './reconnect/policy.mjs';
import { prng, Recorder } from './reconnect/record.mjs';
import {
  SOCKETIO_VARIANTS,
  STORM_DOWN_EVERY_MS,
  STORM_UP_EVERY_MS,
  stormRun,
  stormSystems,
} from './reconnect/storm.mjs';
import { stormTable } from './reconnect/storm-report.mjs';

// =====================================================================================
// options
// =====================================================================================

const USAGE = `usage: node bench/reconnect.mjs [options]
  --cuts N          transient cuts (scenario a). Default 20; --cuts 100 is the full issue run (~20 min)
  --switches N      network switches (scenario b), run as N parallel lanes. Default 5
  --quick           smoke run: 3 cuts, 1 switch, 2 storm cuts
  --scenario S      cuts | switches | both (default, concurrently) | storm | all (both, then storm)
  --cut-modes L     hold,lost (default both): connections opened during a cut are held, or lose their SYN
  --policy L        Tether reconnect policies, 'default' or initialMs/capMs/jitter (default ${PREVIOUS_DEFAULT},default)
  --storm-clients N clients per system in the storm (scenario c). Default 500
  --storm-cuts N    storm cuts per system (default 3, 2 with --quick), of 3–8 s (--storm-min-cut, --storm-max-cut)
  --storm-mode M    lost (default) | hold: what connections opened during a storm cut do
  --storm-window S  recovery window after each storm restore, for the CPU figures (default 5)
  --storm-peers L   Socket.IO variants in the storm: socketio, socketio-fast (default both)
  --min-cut S       shortest cut in seconds (default 0.5)
  --max-cut S       longest cut in seconds (default 10)
  --settle S        quiet time after the last fault before counting (default 5)
  --seed N          seed of the cut lengths and switch moments (default 1)
  --json            print a JSON summary on stdout instead of the table
  --out FILE        also write the JSON summary to FILE (with the table on stdout)
`;

const opt = cliOptions(
  {
    cuts: { type: 'integer' },
    switches: { type: 'integer' },
    quick: { type: 'boolean' },
    scenario: { type: 'string', choices: ['cuts', 'switches', 'both', 'storm', 'all'], default: 'both' },
    'cut-modes': { type: 'list', choices: ['hold', 'lost'], default: ['hold', 'lost'] },
    policy: { type: 'list', default: [PREVIOUS_DEFAULT, 'default'] },
    'storm-clients': { type: 'integer', default: 500, min: 1 },
    'storm-cuts': { type: 'integer', min: 1 },
    'storm-min-cut': { type: 'number', default: 3 },
    'storm-max-cut': { type: 'number', default: 8 },
    'storm-mode': { type: 'string', choices: ['hold', 'lost'], default: 'lost' },
    'storm-window': { type: 'number', default: 5 },
    'storm-peers': {
      type: 'list',
      choices: Object.keys(SOCKETIO_VARIANTS),
      default: Object.keys(SOCKETIO_VARIANTS),
    },
    'min-cut': { type: 'number', default: 0.5 },
    'max-cut': { type: 'number', default: 10 },
    settle: { type: 'number' },
    seed: { type: 'integer', default: 1 },
    json: { type: 'boolean' },
    out: { type: 'string' },
  },
  USAGE,
);
const CUTS = opt.cuts ?? (opt.quick ? 3 : 20);
const SWITCHES = opt.switches ?? (opt.quick ? 1 : 5);
const MIN_CUT_S = opt['min-cut'];
const MAX_CUT_S = opt['max-cut'];
const SETTLE_MS = (opt.settle ?? (opt.quick ? 3 : 5)) * 1000;
const SEED = opt.seed;
const SCENARIOS = {
  both: ['cuts', 'switches'],
  all: ['cuts', 'switches', 'storm'],
}[opt.scenario] ?? [opt.scenario];
if (MAX_CUT_S < MIN_CUT_S) throw new Error('--max-cut must be ≥ --min-cut');
const CUT_MODES = opt['cut-modes'];
const POLICIES = opt.policy.map(parsePolicy);
const STORM = {
  clients: opt['storm-clients'],
  cuts: opt['storm-cuts'] ?? (opt.quick ? 2 : 3),
  minCutS: opt['storm-min-cut'],
  maxCutS: opt['storm-max-cut'],
  mode: opt['storm-mode'],
  windowMs: opt['storm-window'] * 1000,
  peers: opt['storm-peers'],
};
if (STORM.maxCutS < STORM.minCutS) throw new Error('--storm-max-cut must be ≥ --storm-min-cut');

/**
 * Sender → receiver ("down") every 25 ms; receiver → sender ("up") every 100 ms. 40 signals/s
 * stays under the SDK's pacing (90 % of the server's 50/s): at 50/s (20 ms, as before) the
 * sender's own queue grew by 5/s and the catch-up figures measured that backlog, not recovery.
 */
const DOWN_EVERY_MS = 25;
const UP_EVERY_MS = 100;
/** Tether: defaults, except the reconnect window (so no scenario gives up). */
const TETHER_TRANSPORT = { reconnectWindowMs: 60_000 };
/** Socket.IO: defaults as shipped (pingInterval 25 s, pingTimeout 20 s), recovery window 60 s. */
const SIO_PING_INTERVAL_MS = 25_000;
const SIO_RECOVERY = { maxDisconnectionDuration: 60_000 };
/** After a fault, both receivers must be up and quiet this long before the next fault. */
const STEADY_MS = 1000;
/** …and at least this long after the restore (a short cut is noticed only when traffic resumes). */
const MIN_AFTER_RESTORE_MS = 2000;
/** Give up waiting for a system to come back after this long (it is then reported as such). */
const WAIT_CAP_MS = 75_000;
const WARMUP_MS = 2000;
/** Switch moments are drawn from [SWITCH_AT_MIN, SWITCH_AT_MIN + 25 s): all phases of a 25 s ping. */
const SWITCH_AT_MIN_MS = 1000;

const now = () => performance.now();
const T0 = now();
const log = createLog('reconnect', T0);

// =====================================================================================
// systems: a server, and pairs of clients (receiver through a proxy, sender direct)
// =====================================================================================

/** @param {import('./reconnect/policy.mjs').PolicySpec} policy the receivers' reconnect policy */
async function startTether(policy) {
  const t = await startTestServer({ transport: TETHER_TRANSPORT });
  const join = (sessionId, opts) => t.join(sessionId, { ...opts, reconnectPolicy: policy.make() });
  return {
    name: `tether:${policy.key}`,
    label: policy.label,
    tether: true,
    policy: policy.key,
    target: { host: '127.0.0.1', port: t.server.port },
    async pair(proxy) {
      const rec = new Recorder();
      const sessionId = await t.createSession();
      const sender = await t.join(sessionId, { data: 'sender' });
      sender.on('signal:up', (e) => {
        if (e.from?.data === 'receiver') rec.up.received(Number(e.data));
      });
      let receiver;
      let closed = false;
      const wire = (s) => {
        s.on('signal:seq', (e) => {
          if (e.from?.data === 'sender') rec.down.received(Number(e.data));
        });
        s.on('sessionReconnecting', (e) => rec.transition(false, e.cause));
        s.on('sessionReconnected', (e) =>
          rec.transition(true, e.rejoined ? 'rejoined' : 'resumed', !e.rejoined),
        );
        s.on('exception', (e) => rec.exception(e.code));
        s.on('sessionDisconnected', (e) => {
          if (closed) return;
          // The session ended for good: recorded, then a fresh join so the run can go on.
          rec.transition(false, `ended:${e.reason}${e.code ? `/${e.code}` : ''}`);
          log(
            `tether receiver session ENDED: ${e.reason} ${e.code ?? ''} — joining again with a new connection`,
          );
          void rejoin();
        });
      };
      const rejoin = async () => {
        while (!closed) {
          try {
            const s = await join(sessionId, { data: 'receiver', url: proxy.url });
            if (closed) return s.disconnect();
            wire(s);
            receiver = s;
            rec.transition(true, 'joined again (new connection)', false);
            return;
          } catch {
            await sleep(500);
          }
        }
      };
      receiver = await join(sessionId, { data: 'receiver', url: proxy.url });
      wire(receiver);
      return {
        rec,
        sendDown(n) {
          rec.down.sent(n);
          sender
            .signal({ type: 'seq', data: String(n) })
            .catch((err) => rec.down.reject(n, err?.code ?? String(err)));
        },
        sendUp(n) {
          rec.up.sent(n);
          receiver
            .signal({ type: 'up', data: String(n) })
            .catch((err) => rec.up.reject(n, err?.code ?? String(err)));
        },
        busy: () => receiver.state !== 'connected',
        state: () => receiver.state,
        close() {
          closed = true;
          receiver.disconnect();
          sender.disconnect();
        },
      };
    },
    close: () => t.close(),
  };
}

async function startSocketIo() {
  const http = createServer();
  const io = new IOServer(http, {
    transports: ['websocket'],
    serveClient: false,
    connectionStateRecovery: SIO_RECOVERY,
  });
  io.on('connection', (socket) => {
    const room = String(socket.handshake.auth?.room ?? '');
    socket.join(room); // a recovered socket is back in its rooms already; joining again is a no-op
    socket.on('seq', (n) => socket.to(room).emit('seq', n));
    socket.on('up', (n) => socket.to(room).emit('up', n));
  });
  await new Promise((resolve) => http.listen(0, '127.0.0.1', resolve));
  const port = http.address().port;
  const url = `http://127.0.0.1:${port}`;
  let rooms = 0;
  const clients = [];
  const connect = async (to, room) => {
    // Default reconnection options (delay 1 s … 5 s, ×0.5 jitter, attempt timeout 20 s, no limit).
    const socket = ioClient(to, { transports: ['websocket'], forceNew: true, auth: { room } });
    clients.push(socket);
    await new Promise((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('connect_error', reject);
    });
    return socket;
  };
  return {
    name: 'socketio',
    label: 'Socket.IO 4 (CSR)',
    target: { host: '127.0.0.1', port },
    async pair(proxy) {
      const rec = new Recorder();
      const room = `room-${++rooms}`;
      const sender = await connect(url, room);
      sender.on('up', (n) => rec.up.received(n));
      const receiver = await connect(`http://${proxy.host}:${proxy.port}`, room);
      let lastPingAt = now();
      receiver.io.on('ping', () => (lastPingAt = now()));
      receiver.on('seq', (n) => rec.down.received(n));
      receiver.on('disconnect', (reason) => rec.transition(false, reason));
      receiver.on('connect', () => {
        lastPingAt = now();
        rec.transition(true, receiver.recovered ? 'recovered' : 'NOT recovered', receiver.recovered);
      });
      receiver.on('connect_error', () => rec.exception('connect_error'));
      return {
        rec,
        sendDown(n) {
          rec.down.sent(n);
          sender.emit('seq', n);
        },
        sendUp(n) {
          rec.up.sent(n);
          receiver.emit('up', n);
        },
        // Down, or a ping overdue: a cut swallowed a ping and the disconnect is still to come
        // (~20 s later). Waiting for it keeps each detection with the cut that caused it.
        busy: () => !receiver.connected || now() - lastPingAt > SIO_PING_INTERVAL_MS + 1500,
        state: () =>
          receiver.connected
            ? now() - lastPingAt > SIO_PING_INTERVAL_MS + 1500
              ? 'ping overdue'
              : 'connected'
            : 'disconnected',
        close() {
          receiver.close();
          sender.close();
        },
      };
    },
    async close() {
      for (const c of clients) c.close();
      await new Promise((resolve) => io.close(() => resolve()));
    },
  };
}

/** Numbered traffic both ways on a pair until stopped. */
function startTraffic(pair) {
  let down = 0;
  let up = 0;
  const d = setInterval(() => pair.sendDown(++down), DOWN_EVERY_MS);
  const u = setInterval(() => pair.sendUp(++up), UP_EVERY_MS);
  return () => {
    clearInterval(d);
    clearInterval(u);
  };
}

/**
 * Waits until every lane is up and quiet for STEADY_MS (and MIN_AFTER_RESTORE_MS have passed
 * since `since`). Returns the names of lanes still busy at the cap.
 */
async function steady(lanes, since, { flow = true, capMs = WAIT_CAP_MS } = {}) {
  let quietSince = null;
  const busy1 = (l) => l.pair.busy() || (flow && !l.pair.rec.down.flowing(since));
  while (now() - since < capMs) {
    const busy = lanes.some(busy1);
    if (busy) quietSince = null;
    else quietSince ??= now();
    if (quietSince !== null && now() - quietSince >= STEADY_MS && now() - since >= MIN_AFTER_RESTORE_MS)
      return [];
    await sleep(50);
  }
  return lanes
    .filter(busy1)
    .map(
      (l) =>
        `${l.sys.name} (${l.pair.state()}${l.pair.rec.down.flowing(since) ? '' : ', no new signals arriving'})`,
    );
}

// =====================================================================================
// analysis
// =====================================================================================

/**
 * What one fault did to one pair. `from`: when the previous fault was settled (messages sent
 * after it are this fault's to deliver); `until`: start of the next fault (receiver events
 * before it are this one's).
 */
function analyzeFault(rec, fault, from, until) {
  const down = rec.transitions.find((tr) => !tr.up && tr.t >= fault.t0 && tr.t < until);
  const up = down ? rec.transitions.find((tr) => tr.up && tr.t >= down.t && tr.t < until) : undefined;
  const flaps = rec.transitions.filter((tr) => !tr.up && tr.t >= fault.t0 && tr.t < until).length;
  // Missed = sent before the receiver was back: the later of restore/switch and its reconnect.
  const back = Math.max(fault.t1, up?.t ?? -Infinity);
  const d = rec.down.completion(from, back);
  const u = rec.up.completion(from, back);
  return {
    detectMs: down ? down.t - fault.t0 : null,
    detectCause: down?.info ?? null,
    detectedAfterRestore: down && fault.t1 > fault.t0 ? down.t > fault.t1 : null,
    recoverMs: up ? up.t - fault.t1 : null,
    reconnectMs: up ? up.t - down.t : null,
    recovered: up ? up.recovered : null,
    recoverInfo: up?.info ?? null,
    drops: flaps,
    catchUpMs: d.missing === 0 ? Math.max(0, d.lastAt - fault.t1) : null,
    downNeeded: d.needed,
    downMissing: d.missing,
    upCatchUpMs: u.missing === 0 ? Math.max(0, u.lastAt - fault.t1) : null,
    upMissing: u.missing,
  };
}

function summarize(results) {
  const faults = results.length;
  const detected = results.filter((r) => r.detectMs !== null);
  const recoveredAny = results.filter((r) => r.recoverMs !== null);
  const count = (arr, key) => {
    const out = {};
    for (const r of arr) if (r[key] !== null) out[r[key]] = (out[r[key]] ?? 0) + 1;
    return out;
  };
  return {
    faults,
    detected: detected.length,
    detectedAfterRestore: detected.filter((r) => r.detectedAfterRestore).length,
    detectCauses: count(detected, 'detectCause'),
    detect: distribution(results.map((r) => r.detectMs)),
    recover: distribution(results.map((r) => r.recoverMs)),
    reconnect: distribution(results.map((r) => r.reconnectMs)),
    recoveredTrue: recoveredAny.filter((r) => r.recovered === true).length,
    recoveredFalse: recoveredAny.filter((r) => r.recovered === false).length,
    recoverInfo: count(recoveredAny, 'recoverInfo'),
    drops: results.reduce((n, r) => n + r.drops, 0),
    catchUp: distribution(results.map((r) => r.catchUpMs)),
    catchUpNever: results.filter((r) => r.catchUpMs === null).length,
    upCatchUp: distribution(results.map((r) => r.upCatchUpMs)),
    upCatchUpNever: results.filter((r) => r.upCatchUpMs === null).length,
  };
}

function totalsOf(recs) {
  const sum = (dir) => {
    const acc = {
      sent: 0,
      lost: 0,
      lostSilently: 0,
      lostRejected: 0,
      dup: 0,
      reordered: 0,
      deliveredRejected: 0,
      unknown: 0,
      rejectCodes: {},
    };
    for (const rec of recs) {
      const t = rec[dir].totals();
      for (const k of Object.keys(acc)) if (k !== 'rejectCodes') acc[k] += t[k];
      for (const [c, n] of Object.entries(t.rejectCodes)) acc.rejectCodes[c] = (acc.rejectCodes[c] ?? 0) + n;
    }
    return acc;
  };
  const exceptions = {};
  for (const rec of recs)
    for (const [c, n] of Object.entries(rec.exceptions)) exceptions[c] = (exceptions[c] ?? 0) + n;
  return { down: sum('down'), up: sum('up'), exceptions };
}

const s1 = (ms) => (ms === null || ms === undefined ? '—' : `${(ms / 1000).toFixed(2)}`);

/** One line of a per-fault progress report. */
function faultLine(r) {
  const det =
    r.detectMs === null
      ? 'not detected'
      : `detected ${s1(r.detectMs)} s (${r.detectCause}${r.detectedAfterRestore ? ', after restore' : ''})`;
  const rcv =
    r.recoverMs === null
      ? ''
      : `, back +${s1(r.recoverMs)} s${r.recovered === false ? ' NOT recovered' : ''}`;
  const cu =
    r.catchUpMs === null
      ? `, ${r.downMissing}/${r.downNeeded} down missing`
      : `, all down +${s1(r.catchUpMs)} s`;
  const up = r.upMissing ? `, ${r.upMissing} up missing` : '';
  return `${det}${rcv}${cu}${up}`;
}

// =====================================================================================
// scenarios
// =====================================================================================

/** What each cut mode asks of FaultProxy.blackhole(). */
const CUT_MODE_OPTIONS = { hold: {}, lost: { newConnections: 'lost' } };

async function runCuts(systems, count, rng) {
  const durations = Array.from({ length: count }, () => MIN_CUT_S + rng() * (MAX_CUT_S - MIN_CUT_S));
  const lanes = [];
  for (const mode of CUT_MODES)
    for (const sys of systems) {
      const proxy = await FaultProxy.start({ target: sys.target });
      lanes.push({ sys, mode, proxy, pair: await sys.pair(proxy), faults: [] });
    }
  const stops = lanes.map((l) => startTraffic(l.pair));
  const begin = now();
  await sleep(WARMUP_MS);
  const faults = [];
  for (let k = 0; k < count; k++) {
    const dur = durations[k];
    log(`[cuts] cut ${k + 1}/${count}: ${dur.toFixed(1)} s blackhole…`);
    const t0 = now();
    for (const l of lanes) l.proxy.blackhole(CUT_MODE_OPTIONS[l.mode]);
    await sleep(dur * 1000);
    for (const l of lanes) l.proxy.restore();
    const t1 = now();
    const fault = { k: k + 1, t0, t1, cutMs: t1 - t0 };
    faults.push(fault);
    const stuck = await steady(lanes, t1);
    fault.settledAt = now();
    if (stuck.length)
      log(`[cuts]   still not back ${WAIT_CAP_MS / 1000} s after the restore: ${stuck.join(', ')}`);
    const from = faults.length > 1 ? faults.at(-2).settledAt : begin;
    for (const l of lanes)
      log(
        `[cuts]   ${l.mode.padEnd(4)} ${l.sys.label.padEnd(24)} ${faultLine(analyzeFault(l.pair.rec, fault, from, Infinity))}`,
      );
  }
  for (const stop of stops) stop();
  const stuck = await steady(lanes, now(), { flow: false });
  if (stuck.length) log(`[cuts] at the end, still not back: ${stuck.join(', ')}`);
  await sleep(SETTLE_MS);
  const out = Object.fromEntries(CUT_MODES.map((m) => [m, { systems: {} }]));
  for (const l of lanes) {
    const results = faults.map((f, i) =>
      analyzeFault(l.pair.rec, f, i === 0 ? begin : faults[i - 1].settledAt, faults[i + 1]?.t0 ?? Infinity),
    );
    out[l.mode].systems[l.sys.name] = {
      summary: summarize(results),
      totals: totalsOf([l.pair.rec]),
      perFault: results,
      unattributed: unattributed(l.pair.rec, faults),
    };
    l.pair.close();
    await l.proxy.close();
  }
  return { faults: faults.map((f) => ({ k: f.k, cutMs: Math.round(f.cutMs) })), modes: out };
}

/** Receiver drops that happened before the first fault (should be none). */
function unattributed(rec, faults) {
  const first = faults[0]?.t0 ?? Infinity;
  return rec.transitions.filter((tr) => !tr.up && tr.t < first).length;
}

async function runSwitches(systems, count, rng) {
  const at = Array.from({ length: count }, () => SWITCH_AT_MIN_MS + rng() * SIO_PING_INTERVAL_MS);
  const reps = [];
  for (let i = 0; i < count; i++) {
    const lanes = [];
    for (const sys of systems) {
      const proxy = await FaultProxy.start({ target: sys.target });
      lanes.push({ sys, proxy, pair: await sys.pair(proxy) });
    }
    reps.push({ i, lanes, stops: [], begin: 0, fault: null });
  }
  for (const rep of reps) {
    rep.stops = rep.lanes.map((l) => startTraffic(l.pair));
    rep.begin = now();
  }
  await sleep(WARMUP_MS);
  await Promise.all(
    reps.map(async (rep) => {
      await sleep(at[rep.i]);
      log(
        `[switch] switch ${rep.i + 1}/${count}: network switch (old path dead for good, new connections pass)…`,
      );
      const t0 = now();
      for (const l of rep.lanes) l.proxy.switchPath();
      rep.fault = { k: rep.i + 1, t0, t1: t0 };
      const stuck = await steady(rep.lanes, t0);
      if (stuck.length)
        log(
          `[switch]   still not back ${WAIT_CAP_MS / 1000} s after switch ${rep.i + 1}: ${stuck.join(', ')}`,
        );
      for (const l of rep.lanes)
        log(
          `[switch]   #${rep.i + 1} ${l.sys.label.padEnd(18)} ${faultLine(analyzeFault(l.pair.rec, rep.fault, rep.begin, Infinity))}`,
        );
    }),
  );
  for (const rep of reps) for (const stop of rep.stops) stop();
  const stuck = await steady(
    reps.flatMap((r) => r.lanes),
    now(),
    { flow: false },
  );
  if (stuck.length) log(`[switch] at the end, still not back: ${stuck.join(', ')}`);
  await sleep(SETTLE_MS);
  const out = {};
  for (const sys of systems) {
    const mine = reps.map((rep) => ({ rep, lane: rep.lanes.find((l) => l.sys === sys) }));
    const results = mine.map(({ rep, lane }) => analyzeFault(lane.pair.rec, rep.fault, rep.begin, Infinity));
    out[sys.name] = {
      summary: summarize(results),
      totals: totalsOf(mine.map(({ lane }) => lane.pair.rec)),
      perFault: results,
      unattributed: mine.reduce((n, { rep, lane }) => n + unattributed(lane.pair.rec, [rep.fault]), 0),
    };
  }
  for (const rep of reps)
    for (const l of rep.lanes) {
      l.pair.close();
      await l.proxy.close();
    }
  return { faults: reps.map((r) => ({ k: r.i + 1, atMs: Math.round(at[r.i]) })), systems: out };
}

// =====================================================================================
// report
// =====================================================================================

function fmtStats(st, unit = 's') {
  if (st.n === 0) return '—';
  const f = (ms) => (ms / 1000).toFixed(2);
  if (st.n < 10) return `${st.values.map(f).join(' ')} ${unit} (p50 ${f(st.p50)})`;
  return `p50 ${f(st.p50)}  p99 ${f(st.p99)} ${unit} (n=${st.n})`;
}

function fmtCodes(obj) {
  const e = Object.entries(obj);
  return e.length ? e.map(([k, v]) => `${k} ${v}`).join(', ') : '—';
}

function fmtDir(t) {
  let s = `${t.sent} / ${t.lost} / ${t.dup} / ${t.reordered}`;
  if (t.lostRejected) s += ` (${t.lostRejected} of the lost rejected)`;
  return s;
}

/**
 * One scenario's table: a column per system; the last column is the ratio of p50s of the
 * Tether column with the SDK's default policy (else the first Tether one) to Socket.IO's.
 */
function table(title, result, systems, end) {
  const xs = systems.map((s) => result.systems[s.name]);
  const main = systems.findIndex((s) => s.policy === 'default');
  const a = xs[main >= 0 ? main : systems.findIndex((s) => s.tether)];
  const b = xs[systems.findIndex((s) => !s.tether)];
  const rows = [];
  const row = (label, cells, r = '') => rows.push([label, ...cells, r]);
  const cols = (fn) => xs.map(fn);
  const rat = (key) => (a && b ? formatRatio(a.summary[key].p50, b.summary[key].p50, { missing: '—' }) : '');
  const n = xs[0].summary.faults;
  row(
    '',
    systems.map((s) => s.label),
    a && b ? 'ratio of p50' : '',
  );
  row(
    'detected',
    cols(
      (x) =>
        `${x.summary.detected}/${n}${x.summary.detectedAfterRestore ? `, ${x.summary.detectedAfterRestore} of them only after the restore` : ''}`,
    ),
  );
  row(
    '  as (cause / reason)',
    cols((x) => fmtCodes(x.summary.detectCauses)),
  );
  row(
    'detection    fault → down',
    cols((x) => fmtStats(x.summary.detect)),
    rat('detect'),
  );
  row(
    `recovery     ${end} → up`,
    cols((x) => fmtStats(x.summary.recover)),
    rat('recover'),
  );
  row(
    'reconnect    down → up',
    cols((x) => fmtStats(x.summary.reconnect)),
    rat('reconnect'),
  );
  row(
    '  state kept on recovery',
    cols((x) => `${x.summary.recoveredTrue} yes, ${x.summary.recoveredFalse} no`),
  );
  row(
    `catch-up     ${end} → down`,
    cols((x) => fmtStats(x.summary.catchUp)),
    rat('catchUp'),
  );
  row(
    '  never complete',
    cols((x) => `${x.summary.catchUpNever}/${n}`),
  );
  row(
    `up catch-up  ${end} → up`,
    cols((x) => fmtStats(x.summary.upCatchUp)),
    rat('upCatchUp'),
  );
  row(
    '  never complete',
    cols((x) => `${x.summary.upCatchUpNever}/${n}`),
  );
  row(
    'down sent/lost/dup/reordered',
    cols((x) => fmtDir(x.totals.down)),
  );
  row(
    'up   sent/lost/dup/reordered',
    cols((x) => fmtDir(x.totals.up)),
  );
  row(
    '  sends rejected by the SDK',
    cols((x) => `down: ${fmtCodes(x.totals.down.rejectCodes)}; up: ${fmtCodes(x.totals.up.rejectCodes)}`),
  );
  row(
    '  client exceptions/errors',
    cols((x) => fmtCodes(x.totals.exceptions)),
  );
  const width = systems.length > 2 ? 36 : 50;
  return [title, formatWrapped(rows, { widths: [30, ...systems.map(() => width)], indent: '  ' })].join('\n');
}

/** Recovery after a restore, every cut mode side by side: the honest figure next to the optimistic one. */
function recoveryTable(cuts, systems) {
  const rows = [['', ...CUT_MODES.flatMap((m) => [`${m}: detection`, `${m}: restore → up`])]];
  for (const s of systems)
    rows.push([
      s.label,
      ...CUT_MODES.flatMap((m) => {
        const x = cuts.modes[m].systems[s.name].summary;
        return [fmtStats(x.detect), fmtStats(x.recover)];
      }),
    ]);
  const widths = [26, ...CUT_MODES.flatMap(() => [34, 34])].slice(0, -1);
  return [
    `recovery after a restore, by cut mode (hold: connections opened during the cut complete on restore; lost: their SYN is lost)`,
    formatWrapped(rows, { widths, indent: '  ' }),
  ].join('\n');
}

// =====================================================================================
// main
// =====================================================================================

/** Storm cut lengths, seeded: the same for every system of the run. */
function stormCuts(rng) {
  return Array.from({ length: STORM.cuts }, () =>
    Math.round((STORM.minCutS + rng() * (STORM.maxCutS - STORM.minCutS)) * 1000),
  );
}

async function main() {
  exitOnInterrupt();
  log(
    `seed ${SEED}; scenarios: ${SCENARIOS.join(' + ')}; cuts ${CUTS} (${MIN_CUT_S}–${MAX_CUT_S} s, modes ${CUT_MODES.join(', ')}), switches ${SWITCHES}; policies ${POLICIES.map((p) => p.key).join(', ')}`,
  );
  const servers = { cuts: null, switches: null };
  const all = [];
  const start = async () => {
    const set = [];
    for (const p of POLICIES) set.push(await startTether(p));
    set.push(await startSocketIo());
    all.push(...set);
    return set;
  };
  const runs = [];
  const rngCuts = prng(SEED);
  const rngSwitch = prng(SEED ^ 0x9e3779b9);
  if (SCENARIOS.includes('cuts') && CUTS > 0) {
    servers.cuts = await start();
    runs.push(runCuts(servers.cuts, CUTS, rngCuts).then((r) => ['cuts', r]));
  }
  if (SCENARIOS.includes('switches') && SWITCHES > 0) {
    servers.switches = await start();
    runs.push(runSwitches(servers.switches, SWITCHES, rngSwitch).then((r) => ['switches', r]));
  }
  const results = Object.fromEntries(await Promise.all(runs));
  for (const s of all) await s.close();
  if (SCENARIOS.includes('storm')) {
    // Alone, after the others: its CPU figures must not share the machine with them.
    const cutsMs = stormCuts(prng(SEED ^ 0x51f15e));
    const stormRuns = [];
    for (const sys of stormSystems(POLICIES, STORM.peers))
      stormRuns.push(
        await stormRun(
          sys,
          { clients: STORM.clients, cutsMs, windowMs: STORM.windowMs, mode: STORM.mode },
          log,
        ),
      );
    results.storm = { cutsMs, runs: stormRuns };
  }

  const config = {
    seed: SEED,
    cuts: CUTS,
    cutSeconds: [MIN_CUT_S, MAX_CUT_S],
    cutModes: CUT_MODES,
    switches: SWITCHES,
    downEveryMs: DOWN_EVERY_MS,
    upEveryMs: UP_EVERY_MS,
    settleMs: SETTLE_MS,
    policies: POLICIES.map((p) => ({ key: p.key, options: p.options ?? 'SDK default' })),
    storm: { ...STORM, downEveryMs: STORM_DOWN_EVERY_MS, upEveryMs: STORM_UP_EVERY_MS },
    tether: { transport: 'server defaults (heartbeat 1000 ms, timeout floor 2250 ms)', ...TETHER_TRANSPORT },
    socketio: {
      connectionStateRecovery: SIO_RECOVERY,
      ping: 'defaults (25000/20000 ms)',
      transports: ['websocket'],
      reconnection: 'client defaults',
    },
    wallSeconds: Math.round((now() - T0) / 1000),
  };
  const json = `${JSON.stringify({ config, ...results }, null, 2)}\n`;
  if (opt.out) (await import('node:fs')).writeFileSync(opt.out, json);
  if (opt.json) {
    process.stdout.write(json);
    return;
  }
  const systems = servers.cuts ?? servers.switches;
  const out = [];
  if (results.cuts) {
    const d = distribution(results.cuts.faults.map((f) => f.cutMs));
    for (const mode of CUT_MODES)
      out.push(
        table(
          `(a) transient cut, mode ${mode} — ${CUTS} blackholes of ${MIN_CUT_S}–${MAX_CUT_S} s (p50 ${(d.p50 / 1000).toFixed(1)} s), seed ${SEED}; down 1 per ${DOWN_EVERY_MS} ms, up 1 per ${UP_EVERY_MS} ms`,
          results.cuts.modes[mode],
          systems,
          'restore',
        ),
      );
    out.push(recoveryTable(results.cuts, systems));
  }
  if (results.switches)
    out.push(
      table(
        `(b) network switch — ${SWITCHES} switches (old path dead for good), parallel lanes, seed ${SEED}`,
        results.switches,
        systems,
        'switch',
      ),
    );
  if (results.storm)
    out.push(
      stormTable(
        `(c) recovery storm — ${STORM.clients} clients in one session behind one proxy, ${STORM.cuts} cuts (${STORM.mode}) of ${results.storm.cutsMs.map((ms) => (ms / 1000).toFixed(1)).join(', ')} s, seed ${SEED}`,
        results.storm.runs,
      ),
    );
  out.push(`wall time ${config.wallSeconds} s`);
  process.stdout.write(`${out.join('\n\n')}\n`);
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`${err?.stack ?? err}\n`);
    process.exit(1);
  },
);
