#!/usr/bin/env node
/**
 * bench/reconnect.mjs — automatic reconnection under network faults, while signals flow:
 * Tether versus Socket.IO 4 with connectionStateRecovery, side by side in the same run.
 *
 *   npm run build && node bench/reconnect.mjs [--cuts 20] [--switches 5] [--quick] [--json]
 *   node bench/reconnect.mjs --cuts 100            # the full issue run (~20 min)
 *
 * Two scenarios, run concurrently (each on its own servers and proxies):
 *  (a) transient cut — K blackholes (FaultProxy.blackhole() … restore()) of a length drawn
 *      uniformly from 0.5–10 s (seeded). Both systems have their own proxy and suffer the same
 *      cut at the same moment.
 *  (b) network switch — FaultProxy.switchPath(): the old path is dead for good (no FIN, no RST,
 *      nothing delivered) and new connections pass at once. R independent lanes in parallel,
 *      each switching once at a random moment 1–26 s in (so Socket.IO's 25 s ping phase varies).
 *
 * Per system and lane: a "receiver" client through the proxy (it suffers the faults) and a
 * "sender" client connected directly. The sender sends a numbered signal every 20 ms to the
 * receiver ("down"); the receiver sends a numbered one every 100 ms to the sender ("up").
 *  - Tether: defaults as shipped (heartbeat 1 s / timeout 4 s / ack delay 50 ms), except the
 *    reconnect window, raised to 60 s; client SDK defaults. `sender.signal({type:'seq', …})`.
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
import { cliOptions } from './lib/cli.mjs';
import { createLog } from './lib/log.mjs';
import { distribution } from './lib/stats.mjs';
import { formatRatio, formatWrapped } from './lib/table.mjs';
import { sleep } from './lib/time.mjs';

// =====================================================================================
// options
// =====================================================================================

const USAGE = `usage: node bench/reconnect.mjs [options]
  --cuts N          transient cuts (scenario a). Default 20; --cuts 100 is the full issue run (~20 min)
  --switches N      network switches (scenario b), run as N parallel lanes. Default 5
  --quick           smoke run: 3 cuts, 1 switch, < 2 minutes
  --scenario S      cuts | switches | both (default both, run concurrently)
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
    scenario: { type: 'string', choices: ['cuts', 'switches', 'both'], default: 'both' },
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
const SCENARIOS = opt.scenario === 'both' ? ['cuts', 'switches'] : [opt.scenario];
if (MAX_CUT_S < MIN_CUT_S) throw new Error('--max-cut must be ≥ --min-cut');

/** Sender → receiver ("down") every 20 ms; receiver → sender ("up") every 100 ms. */
const DOWN_EVERY_MS = 20;
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

/** mulberry32: a small seeded PRNG, so a run's cut schedule can be repeated. */
function prng(seed) {
  let a = seed >>> 0 || 1;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// =====================================================================================
// recording
// =====================================================================================

/** One direction of numbered messages: when each was sent, when it first arrived, how often. */
class Stream {
  sentAt = [];
  recvAt = [];
  recvCount = [];
  /** n → error code, for sends the SDK rejected (the application was told). */
  rejected = new Map();
  maxSeen = 0;
  reordered = 0;
  unknown = 0;
  /** The most recent first arrival: when, and when that message had been sent. */
  lastArrivalAt = -Infinity;
  lastArrivalSentAt = -Infinity;

  sent(n) {
    this.sentAt[n] = now();
  }
  received(n) {
    const t = now();
    if (!Number.isInteger(n) || this.sentAt[n] === undefined) {
      this.unknown++;
      return;
    }
    if (this.recvCount[n]) {
      this.recvCount[n]++;
      return;
    }
    this.recvCount[n] = 1;
    this.recvAt[n] = t;
    this.lastArrivalAt = t;
    this.lastArrivalSentAt = this.sentAt[n];
    if (n < this.maxSeen) this.reordered++;
    else this.maxSeen = n;
  }
  reject(n, code) {
    this.rejected.set(n, code);
  }
  /** Messages sent after `since` are arriving (the path works again, whatever was lost). */
  flowing(since) {
    return this.lastArrivalSentAt > since && now() - this.lastArrivalAt < 500;
  }

  /** The messages sent in (from, to]: how many, how many never arrived, when the last one arrived. */
  completion(from, to) {
    let needed = 0;
    let missing = 0;
    let lastAt = -Infinity;
    for (let n = 1; n < this.sentAt.length; n++) {
      const s = this.sentAt[n];
      if (s === undefined || s <= from || s > to) continue;
      needed++;
      const r = this.recvAt[n];
      if (r === undefined) missing++;
      else if (r > lastAt) lastAt = r;
    }
    return { needed, missing, lastAt };
  }

  totals() {
    let sent = 0;
    let lost = 0;
    let dup = 0;
    let lostRejected = 0;
    let deliveredRejected = 0;
    const codes = {};
    for (let n = 1; n < this.sentAt.length; n++) {
      if (this.sentAt[n] === undefined) continue;
      sent++;
      const got = this.recvCount[n] ?? 0;
      if (got === 0) lost++;
      if (got > 1) dup += got - 1;
      const code = this.rejected.get(n);
      if (code !== undefined) {
        codes[code] = (codes[code] ?? 0) + 1;
        if (got === 0) lostRejected++;
        else deliveredRejected++;
      }
    }
    return {
      sent,
      lost,
      lostSilently: lost - lostRejected,
      lostRejected,
      dup,
      reordered: this.reordered,
      rejectCodes: codes,
      deliveredRejected,
      unknown: this.unknown,
    };
  }
}

/** Everything observed of one receiver/sender pair. */
class Recorder {
  down = new Stream();
  up = new Stream();
  /** Receiver state changes: {t, up, info, recovered}. The first connect is not one. */
  transitions = [];
  exceptions = {};
  transition(up, info, recovered) {
    this.transitions.push({ t: now(), up, info, ...(up ? { recovered } : {}) });
  }
  exception(code) {
    this.exceptions[code] = (this.exceptions[code] ?? 0) + 1;
  }
}

// =====================================================================================
// systems: a server, and pairs of clients (receiver through a proxy, sender direct)
// =====================================================================================

async function startTether() {
  const t = await startTestServer({ transport: TETHER_TRANSPORT });
  return {
    name: 'tether',
    label: 'Tether',
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
            const s = await t.join(sessionId, { data: 'receiver', url: proxy.url });
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
      receiver = await t.join(sessionId, { data: 'receiver', url: proxy.url });
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

async function runCuts(systems, count, rng) {
  const durations = Array.from({ length: count }, () => MIN_CUT_S + rng() * (MAX_CUT_S - MIN_CUT_S));
  const lanes = [];
  for (const sys of systems) {
    const proxy = await FaultProxy.start({ target: sys.target });
    lanes.push({ sys, proxy, pair: await sys.pair(proxy), faults: [] });
  }
  const stops = lanes.map((l) => startTraffic(l.pair));
  const begin = now();
  await sleep(WARMUP_MS);
  const faults = [];
  for (let k = 0; k < count; k++) {
    const dur = durations[k];
    log(`[cuts] cut ${k + 1}/${count}: ${dur.toFixed(1)} s blackhole…`);
    const t0 = now();
    for (const l of lanes) l.proxy.blackhole();
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
      log(`[cuts]   ${l.sys.label.padEnd(18)} ${faultLine(analyzeFault(l.pair.rec, fault, from, Infinity))}`);
  }
  for (const stop of stops) stop();
  const stuck = await steady(lanes, now(), { flow: false });
  if (stuck.length) log(`[cuts] at the end, still not back: ${stuck.join(', ')}`);
  await sleep(SETTLE_MS);
  const out = {};
  for (const l of lanes) {
    const results = faults.map((f, i) =>
      analyzeFault(l.pair.rec, f, i === 0 ? begin : faults[i - 1].settledAt, faults[i + 1]?.t0 ?? Infinity),
    );
    out[l.sys.name] = {
      summary: summarize(results),
      totals: totalsOf([l.pair.rec]),
      perFault: results,
      unattributed: unattributed(l.pair.rec, faults),
    };
    l.pair.close();
    await l.proxy.close();
  }
  return { faults: faults.map((f) => ({ k: f.k, cutMs: Math.round(f.cutMs) })), systems: out };
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

function table(title, result, systems, end) {
  const [a, b] = systems.map((s) => result.systems[s.name]);
  const rows = [];
  const row = (label, x, y = '', r = '') => rows.push([label, x, y, r]);
  const cols = (fn) => [fn(a), b ? fn(b) : ''];
  const rat = (key) => (b ? formatRatio(a.summary[key].p50, b.summary[key].p50, { missing: '—' }) : '');
  const n = a.summary.faults;
  row('', systems[0].label, systems[1]?.label ?? '', b ? 'ratio of p50' : '');
  row(
    'detected',
    ...cols(
      (x) =>
        `${x.summary.detected}/${n}${x.summary.detectedAfterRestore ? `, ${x.summary.detectedAfterRestore} of them only after the restore` : ''}`,
    ),
  );
  row('  as (cause / reason)', ...cols((x) => fmtCodes(x.summary.detectCauses)));
  row('detection    fault → down', ...cols((x) => fmtStats(x.summary.detect)), rat('detect'));
  row(`recovery     ${end} → up`, ...cols((x) => fmtStats(x.summary.recover)), rat('recover'));
  row('reconnect    down → up', ...cols((x) => fmtStats(x.summary.reconnect)), rat('reconnect'));
  row(
    '  state kept on recovery',
    ...cols((x) => `${x.summary.recoveredTrue} yes, ${x.summary.recoveredFalse} no`),
  );
  row(`catch-up     ${end} → down`, ...cols((x) => fmtStats(x.summary.catchUp)), rat('catchUp'));
  row('  never complete', ...cols((x) => `${x.summary.catchUpNever}/${n}`));
  row(`up catch-up  ${end} → up`, ...cols((x) => fmtStats(x.summary.upCatchUp)), rat('upCatchUp'));
  row('  never complete', ...cols((x) => `${x.summary.upCatchUpNever}/${n}`));
  row('down sent/lost/dup/reordered', ...cols((x) => fmtDir(x.totals.down)));
  row('up   sent/lost/dup/reordered', ...cols((x) => fmtDir(x.totals.up)));
  row(
    '  sends rejected by the SDK',
    ...cols((x) => `down: ${fmtCodes(x.totals.down.rejectCodes)}; up: ${fmtCodes(x.totals.up.rejectCodes)}`),
  );
  row('  client exceptions/errors', ...cols((x) => fmtCodes(x.totals.exceptions)));
  return [title, formatWrapped(rows, { widths: [30, 50, 50], indent: '  ' })].join('\n');
}

// =====================================================================================
// main
// =====================================================================================

async function main() {
  log(
    `seed ${SEED}; scenarios: ${SCENARIOS.join(' + ')}; cuts ${CUTS} (${MIN_CUT_S}–${MAX_CUT_S} s), switches ${SWITCHES}; down every ${DOWN_EVERY_MS} ms, up every ${UP_EVERY_MS} ms`,
  );
  const servers = { cuts: null, switches: null };
  const all = [];
  const start = async () => {
    const pair = [await startTether(), await startSocketIo()];
    all.push(...pair);
    return pair;
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

  const config = {
    seed: SEED,
    cuts: CUTS,
    cutSeconds: [MIN_CUT_S, MAX_CUT_S],
    switches: SWITCHES,
    downEveryMs: DOWN_EVERY_MS,
    upEveryMs: UP_EVERY_MS,
    settleMs: SETTLE_MS,
    tether: { transport: 'defaults (heartbeat 1000/4000 ms, ackDelay 50 ms)', ...TETHER_TRANSPORT },
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
    out.push(
      table(
        `(a) transient cut — ${CUTS} blackholes of ${MIN_CUT_S}–${MAX_CUT_S} s (p50 ${(d.p50 / 1000).toFixed(1)} s), seed ${SEED}; down 1 per ${DOWN_EVERY_MS} ms, up 1 per ${UP_EVERY_MS} ms`,
        results.cuts,
        systems,
        'restore',
      ),
    );
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
