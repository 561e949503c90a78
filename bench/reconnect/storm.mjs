/**
 * bench/reconnect/storm.mjs — scenario (c) of bench/reconnect.mjs, a recovery storm: N clients
 * of one session (one Socket.IO room) behind one FaultProxy, all cut at once for a few seconds and
 * restored at once, while a sender connected directly signals the session. One run per system —
 * each Tether policy of `--policy`, then Socket.IO — one after the other, never two at once: the
 * server of each run is alone in a child process (storm-server.mjs), so its CPU time is its own.
 *
 * What a run measures, from the restore on: when each client is up again (p50, p99, the last),
 * how many connection attempts the clients made (each one a connection the proxy accepted) and
 * how many reached the server (upgrade requests it saw), the server's CPU time for the recovery
 * (its CPU over the window minus its steady rate before the cut), and whether any signal was
 * lost or delivered twice.
 */
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { clearInterval, setInterval } from 'node:timers';
import { fileURLToPath } from 'node:url';
import { Session } from '@tether/client';
import { TetherApi, createToken } from '@tether/server-sdk';
import { FaultProxy, TEST_PROJECT } from '@tether/testkit';
import { io as ioClient } from 'socket.io-client';
import { WebSocket } from 'ws';
import { forkChild } from '../lib/child.mjs';
import { distribution } from '../lib/stats.mjs';
import { sleep } from '../lib/time.mjs';
import { Stream } from './record.mjs';
import { fmtMs } from './storm-report.mjs';

const SERVER_SCRIPT = fileURLToPath(new URL('./storm-server.mjs', import.meta.url));
/** The sender signals the whole session this often; each client signals the sender this often. */
export const STORM_DOWN_EVERY_MS = 250;
export const STORM_UP_EVERY_MS = 2000;
/** Clients joining at once while the session fills up. */
const JOIN_CONCURRENCY = 20;
/** Quiet time after the session is full, then the window that gives the server's steady CPU rate. */
const FILL_SETTLE_MS = 2000;
const BASELINE_MS = 3000;
/** Give up waiting for every client to be back after this long (the run then says how many are not). */
const UP_CAP_MS = 60_000;
/** Period of the storm's timeline (server CPU, upgrades, clients up) after each restore. */
const TIMELINE_MS = 250;
/** After the traffic stops: time for the last signals to arrive before lost ones are counted. */
const DRAIN_MS = 3000;

const now = () => performance.now();

/** Socket.IO's own defaults, and a ping that notices a dead path about as fast as Tether's heartbeat. */
export const SOCKETIO_VARIANTS = {
  socketio: { label: 'Socket.IO 4 (CSR)', ping: [25_000, 20_000] },
  'socketio-fast': { label: 'Socket.IO 4 (CSR, ping 1 s + 1.25 s)', ping: [1000, 1250] },
};

/** What one client did: its signals both ways, its transitions, its connection attempts. */
class ClientRecord {
  down = new Stream();
  up = new Stream();
  /** {t, up, recovered} */
  transitions = [];
  attempts = 0;
  counting = false;
  ended = null;
  went(up, recovered) {
    this.transitions.push({ t: now(), up, recovered });
  }
  attempt() {
    if (this.counting) this.attempts++;
  }
  /** Down at some point since `t0`, and not up again yet. */
  downSince(t0) {
    const last = this.transitions.at(-1);
    return last !== undefined && last.t >= t0 && !last.up;
  }
}

/** Runs `fn(i)` for i < n, at most `limit` at once. */
async function pool(n, limit, fn) {
  let next = 0;
  const worker = async () => {
    while (next < n) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.min(limit, n) }, worker));
}

async function tetherFleet(port, proxy, n, policy) {
  const url = `http://127.0.0.1:${port}`;
  const api = new TetherApi({ url, ...TEST_PROJECT });
  const { sessionId } = await api.createSession();
  const token = (data) => createToken({ ...TEST_PROJECT, sessionId, role: 'publisher', data });
  const recs = Array.from({ length: n }, () => new ClientRecord());
  const sender = new Session({ url, sessionId });
  sender.on('signal:up', (e) => recs[Number(e.from?.data)]?.up.received(Number(e.data)));
  await sender.connect(await token('sender'));
  const senderId = sender.connection.connectionId;
  const sessions = [];
  await pool(n, JOIN_CONCURRENCY, async (i) => {
    const rec = recs[i];
    // Every WebSocket the SDK opens for this client is one connection attempt.
    const Counting = class extends WebSocket {
      constructor(...args) {
        super(...args);
        rec.attempt();
      }
    };
    const s = new Session({ url: proxy.url, sessionId, reconnectPolicy: policy.make(), WebSocket: Counting });
    s.on('signal:seq', (e) => {
      if (e.from?.connectionId === senderId) rec.down.received(Number(e.data));
    });
    s.on('sessionReconnecting', () => rec.went(false));
    s.on('sessionReconnected', (e) => rec.went(true, !e.rejoined));
    s.on('sessionDisconnected', (e) => (rec.ended = `${e.reason}${e.code ? `/${e.code}` : ''}`));
    await s.connect(await token(String(i)));
    sessions[i] = s;
  });
  return {
    recs,
    sendDown(k) {
      for (const r of recs) r.down.sent(k);
      sender.signal({ type: 'seq', data: String(k) }).catch(() => undefined);
    },
    sendUp(i, k) {
      recs[i].up.sent(k);
      sessions[i]
        .signal({ type: 'up', data: String(k), to: senderId })
        .catch((err) => recs[i].up.reject(k, err?.code ?? String(err)));
    },
    close() {
      for (const s of sessions) s?.disconnect();
      sender.disconnect();
    },
  };
}

async function socketIoFleet(port, proxy, n) {
  const room = 'storm';
  const recs = Array.from({ length: n }, () => new ClientRecord());
  const sockets = [];
  const open = (url, auth) =>
    new Promise((resolve, reject) => {
      // Default reconnection options (delay 1 s … 5 s, ×0.5 jitter, attempt timeout 20 s).
      const socket = ioClient(url, { transports: ['websocket'], forceNew: true, auth: { room, ...auth } });
      sockets.push(socket);
      socket.once('connect', () => resolve(socket));
      socket.once('connect_error', reject);
    });
  const sender = await open(`http://127.0.0.1:${port}`, { role: 'sender' });
  sender.on('up', ({ from, n: k }) => recs[Number(from)]?.up.received(k));
  const receivers = [];
  await pool(n, JOIN_CONCURRENCY, async (i) => {
    const rec = recs[i];
    const s = await open(`http://${proxy.host}:${proxy.port}`, { role: 'receiver', name: String(i) });
    s.on('seq', (k) => rec.down.received(k));
    s.on('disconnect', () => rec.went(false));
    s.on('connect', () => rec.went(true, s.recovered));
    s.io.on('reconnect_attempt', () => rec.attempt());
    receivers[i] = s;
  });
  return {
    recs,
    sendDown(k) {
      for (const r of recs) r.down.sent(k);
      sender.emit('seq', k);
    },
    sendUp(i, k) {
      recs[i].up.sent(k);
      receivers[i].emit('up', k);
    },
    close() {
      for (const s of sockets) s.close();
    },
  };
}

/**
 * The systems of a storm: one per Tether policy, then the Socket.IO variants asked for.
 * @param {import('./policy.mjs').PolicySpec[]} policies
 * @param {string[]} socketio keys of SOCKETIO_VARIANTS
 */
export function stormSystems(policies, socketio) {
  return [
    ...policies.map((p) => ({
      key: `tether:${p.key}`,
      label: p.label,
      role: 'tether',
      args: [],
      fleet: (port, proxy, n) => tetherFleet(port, proxy, n, p),
    })),
    ...socketio.map((k) => ({
      key: k,
      label: SOCKETIO_VARIANTS[k].label,
      role: 'socketio',
      args: SOCKETIO_VARIANTS[k].ping,
      fleet: (port, proxy, n) => socketIoFleet(port, proxy, n),
    })),
  ];
}

/**
 * One storm run of one system: the session fills up, the server's steady CPU rate is measured,
 * then each cut of `cutsMs` in turn — all clients cut at once, restored at once, a recovery
 * window, and quiet until every client is back and caught up.
 * @param {ReturnType<typeof stormSystems>[number]} sys
 * @param {{ clients: number, cutsMs: number[], windowMs: number, mode: 'hold' | 'lost' }} o
 * @param {(line: string) => void} log
 */
export async function stormRun(sys, o, log) {
  const child = await forkChild(SERVER_SCRIPT, sys.role, sys.args, {
    label: `storm server (${sys.label})`,
    log,
  });
  const proxy = await FaultProxy.start({ target: { host: '127.0.0.1', port: child.info.port } });
  const stats = async () => ({ ...(await child.call('stats', 10_000)), t: now() });
  let fleet;
  const timers = [];
  const loadAtStart = loadavg()[0];
  try {
    const joinStart = now();
    fleet = await sys.fleet(child.info.port, proxy, o.clients);
    const { recs } = fleet;
    log(`[storm] ${sys.label}: ${o.clients} clients joined in ${((now() - joinStart) / 1000).toFixed(1)} s`);
    let down = 0;
    timers.push(setInterval(() => fleet.sendDown(++down), STORM_DOWN_EVERY_MS));
    // Each client's signals are spread over the period: a few every 20 ms, not all at once.
    const slots = Math.max(1, Math.round(STORM_UP_EVERY_MS / 20));
    const upCount = new Array(o.clients).fill(0);
    let tick = 0;
    timers.push(
      setInterval(() => {
        tick = (tick + 1) % slots;
        for (let i = tick; i < o.clients; i += slots) fleet.sendUp(i, ++upCount[i]);
      }, 20),
    );
    let settledAt = now();
    await sleep(FILL_SETTLE_MS);
    const b0 = await stats();
    await sleep(BASELINE_MS);
    const b1 = await stats();
    const baselineUsPerMs = (b1.cpuUs - b0.cpuUs) / (b1.t - b0.t);

    const cuts = [];
    for (const [k, cutMs] of o.cutsMs.entries()) {
      for (const r of recs) {
        r.counting = true;
        r.attempts = 0;
      }
      const accepted0 = proxy.acceptedCount;
      const t0 = now();
      proxy.blackhole({ newConnections: o.mode === 'lost' ? 'lost' : 'blackhole' });
      log(
        `[storm] ${sys.label}: cut ${k + 1}/${o.cutsMs.length} (${o.mode}), ${(cutMs / 1000).toFixed(1)} s…`,
      );
      const c0 = await stats();
      await sleep(cutMs - (now() - t0));
      const c1 = await stats();
      const bench0 = process.cpuUsage();
      proxy.restore();
      const t1 = now();
      // The storm's shape: the server's CPU and the upgrades it saw, every TIMELINE_MS from the restore.
      // (A server that stalls answers late: each sample covers the time since the one before.)
      const timeline = [];
      let sampling = true;
      const sampler = (async () => {
        for (let last = c1; sampling;) {
          await sleep(TIMELINE_MS);
          const st = await stats();
          timeline.push({
            atMs: Math.round(st.t - t1),
            cpuPct: Math.round((st.cpuUs - last.cpuUs) / 10 / (st.t - last.t)),
            upgrades: st.upgrades - last.upgrades,
            up: recs.filter((r) => !r.downSince(t0)).length,
          });
          last = st;
        }
      })();
      while (now() - t1 < UP_CAP_MS && recs.some((r) => r.downSince(t0) && r.ended === null)) await sleep(10);
      await sleep(Math.max(t1 + o.windowMs, now() + 1000) - now());
      sampling = false;
      await sampler;
      const w1 = await stats();
      const bench = process.cpuUsage(bench0);
      for (const r of recs) r.counting = false;
      const windowMs = w1.t - c1.t;
      const cut = {
        cutMs,
        ...analyzeCut(recs, { t0, t1, from: settledAt }),
        proxyAccepted: proxy.acceptedCount - accepted0,
        serverUpgrades: w1.upgrades - c0.upgrades,
        serverUpgradesDuringCut: c1.upgrades - c0.upgrades,
        cutCpuMs: (c1.cpuUs - c0.cpuUs) / 1000,
        windowMs,
        recoveryCpuMs: (w1.cpuUs - c1.cpuUs - baselineUsPerMs * windowMs) / 1000,
        benchCpuPct: (bench.user + bench.system) / 10 / windowMs,
        stillDown: recs.filter((r) => r.downSince(t0)).length,
        timeline,
      };
      cuts.push(cut);
      log(
        `[storm] ${sys.label}:   ${cut.wentDown}/${o.clients} down, up p50 ${fmtMs(cut.up.p50)}, all ${fmtMs(cut.up.max)} ` +
          `after the restore; ${cut.serverUpgrades} upgrades at the server; recovery CPU ${cut.recoveryCpuMs.toFixed(0)} ms`,
      );
      // Quiet before the next cut: every client back, and the signals sent meanwhile arrived.
      const quietFrom = now();
      while (now() - quietFrom < UP_CAP_MS && recs.some((r) => !r.down.flowing(t1))) await sleep(50);
      await sleep(1000);
      settledAt = now();
    }
    for (const t of timers.splice(0)) clearInterval(t);
    await sleep(DRAIN_MS);
    const serverCounters = sys.role === 'tether' ? (await child.call('metrics', 10_000)).lines : [];
    return {
      loadAvg: [loadAtStart, loadavg()[0]],
      serverCounters,
      key: sys.key,
      label: sys.label,
      clients: o.clients,
      baselineCpuPct: baselineUsPerMs / 10,
      cuts,
      ...pooled(cuts),
      down: signalTotals(recs, 'down'),
      upSignals: signalTotals(recs, 'up'),
      ended: recs.filter((r) => r.ended !== null).length,
      endedReasons: count(recs.map((r) => r.ended).filter((x) => x !== null)),
    };
  } finally {
    for (const t of timers) clearInterval(t);
    fleet?.close();
    await proxy.close();
    await child.stop();
  }
}

/** One cut, per client: down after the cut, up after the restore, catch-up of the signals sent meanwhile. */
function analyzeCut(recs, { t0, t1, from }) {
  const detect = [];
  const up = [];
  const attempts = [];
  const catchUp = [];
  let wentDown = 0;
  let kept = 0;
  let notKept = 0;
  let flaps = 0;
  let catchUpNever = 0;
  for (const r of recs) {
    const after = r.transitions.filter((tr) => tr.t >= t0);
    const d = after.find((tr) => !tr.up);
    const u = d ? after.find((tr) => tr.up && tr.t >= d.t) : undefined;
    flaps += after.filter((tr) => !tr.up).length;
    if (d) {
      wentDown++;
      detect.push(d.t - t0);
      attempts.push(r.attempts);
    }
    if (u) {
      up.push(u.t - t1);
      if (u.recovered) kept++;
      else notKept++;
    }
    const c = r.down.completion(from, Math.max(t1, u?.t ?? -Infinity));
    if (c.missing) catchUpNever++;
    else catchUp.push(Math.max(0, c.lastAt - t1));
  }
  return {
    wentDown,
    flaps,
    kept,
    notKept,
    detect: distribution(detect),
    up: distribution(up),
    attemptsPerClient: distribution(attempts),
    attemptsTotal: attempts.reduce((a, b) => a + b, 0),
    catchUp: distribution(catchUp),
    catchUpNever,
  };
}

/** Every cut of a run together: per-client figures pooled, counts and CPU summed. */
function pooled(cuts) {
  const all = (key) => cuts.flatMap((c) => c[key].values);
  const total = (key) => cuts.reduce((n, c) => n + c[key], 0);
  return {
    wentDown: total('wentDown'),
    flaps: total('flaps'),
    kept: total('kept'),
    notKept: total('notKept'),
    detect: distribution(all('detect')),
    up: distribution(all('up')),
    allUp: distribution(cuts.map((c) => (c.up.n ? c.up.max : null))),
    attemptsPerClient: distribution(all('attemptsPerClient')),
    attemptsTotal: total('attemptsTotal'),
    proxyAccepted: total('proxyAccepted'),
    serverUpgrades: total('serverUpgrades'),
    serverUpgradesDuringCut: total('serverUpgradesDuringCut'),
    recoveryCpuMs: total('recoveryCpuMs'),
    windowMs: total('windowMs'),
    benchCpuPct: cuts.reduce((n, c) => n + c.benchCpuPct * c.windowMs, 0) / Math.max(1, total('windowMs')),
    catchUp: distribution(all('catchUp')),
    catchUpNever: total('catchUpNever'),
    stillDown: total('stillDown'),
  };
}

function count(values) {
  const out = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return out;
}

/** Signals of the clients whose session lived to the end: one that ended was told, and misses the rest. */
function signalTotals(recs, dir) {
  const acc = { sent: 0, lost: 0, dup: 0, reordered: 0, lostRejected: 0 };
  for (const r of recs) {
    if (r.ended !== null) continue;
    const t = r[dir].totals();
    for (const k of Object.keys(acc)) acc[k] += t[k];
  }
  return acc;
}
