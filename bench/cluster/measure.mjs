/**
 * bench/cluster/measure.mjs — the two measurements of bench/cluster.mjs on a started cluster
 * (either system, see systems.mjs): cross-node fan-out, and recovery after a node is killed.
 * All times are epoch milliseconds of the bench process (every client lives in it), carried in
 * the payload, so a latency is receive − send on one clock.
 */
import { performance } from 'node:perf_hooks';
import { drive } from '../lib/drive.mjs';
import { distribution, floorRank } from '../lib/stats.mjs';
import { epochMs as now, sleep } from '../lib/time.mjs';

const PAYLOAD_BYTES = 100;
/** Per-sender pacing below Tether's per-connection limit (50/s, burst 100), both systems alike. */
const SENDER_RATE = 40;
const SENDER_BURST = 80;
/** A phase with no delivery for this long is abandoned (reported incomplete). */
const STALL_MS = 15_000;

/** `tag:msg:sendTime:` padded to PAYLOAD_BYTES. */
function payload(tag, msg, t) {
  const head = `${tag}:${msg}:${t.toFixed(3)}:`;
  return head + 'x'.repeat(Math.max(0, PAYLOAD_BYTES - head.length));
}

/** `[tag, msg, sendTime]` of a payload. */
function parse(data) {
  const a = data.indexOf(':');
  const b = data.indexOf(':', a + 1);
  const c = data.indexOf(':', b + 1);
  return [Number(data.slice(0, a)), Number(data.slice(a + 1, b)), Number(data.slice(b + 1, c))];
}

/** Picks senders round-robin, each held to SENDER_RATE/s with a burst of SENDER_BURST (as bench/fanout.mjs). */
class Senders {
  constructor(n) {
    this.n = n;
    this.next = 0;
    this.tokens = new Float64Array(n).fill(SENDER_BURST);
    this.updated = new Float64Array(n).fill(performance.now());
  }
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
    return -1;
  }
}

// =====================================================================================
// fan-out
// =====================================================================================

/**
 * Cross-node fan-out: n clients spread over the three nodes, each message sent by one of them
 * (round-robin) and delivered to all n, sender included. Closed loop (`window`: at most that many
 * messages not yet delivered to all n in flight) for throughput, then open loop (`rate` msg/s)
 * for latency at a moderate load.
 */
export async function fanout(system, n, { messages, window, warmup, rate, pacedMessages }) {
  let phase = null;
  let tagCounter = 0;
  const faults = { down: 0 };
  const clients = await system.connect(n, {
    onSignal(i, data) {
      const p = phase;
      if (!p) return;
      const t = now();
      const [tag, msg, sent] = parse(data);
      if (tag !== p.tag) return;
      const slot = msg * n + i;
      if (p.seen[slot]) return void p.duplicates++;
      p.seen[slot] = 1;
      p.lat[p.delivered++] = t - sent;
      p.lastDelivery = t;
      if (++p.perMsg[msg] === n) {
        p.completed++;
        p.onComplete();
      }
    },
    onDown: () => faults.down++,
    onUp: () => undefined,
  });
  const senders = new Senders(n);
  const run = (mode, m) =>
    new Promise((resolve) => {
      const p = {
        tag: ++tagCounter,
        seen: new Uint8Array(m * n),
        perMsg: new Uint32Array(m),
        lat: new Float64Array(m * n),
        delivered: 0,
        duplicates: 0,
        completed: 0,
        sent: 0,
        firstSend: 0,
        lastDelivery: 0,
        onComplete: () => undefined,
      };
      const finish = (complete) => {
        phase = null;
        const lat = p.lat.subarray(0, p.delivered).sort();
        resolve({
          complete,
          expected: m * n,
          delivered: p.delivered,
          duplicates: p.duplicates,
          deliveriesPerS: p.delivered / ((p.lastDelivery - p.firstSend) / 1000),
          p50: floorRank(lat, 0.5),
          p99: floorRank(lat, 0.99),
        });
      };
      const sendOne = () => {
        const i = senders.take();
        if (i < 0) return false;
        const t = now();
        if (p.sent === 0) p.firstSend = t;
        clients.send(i, payload(p.tag, p.sent++, t));
        return true;
      };
      phase = p;
      drive(p, { mode, messages: m, window, rate, stallMs: STALL_MS, sendOne }).then(finish);
    });
  try {
    await run('window', warmup);
    const win = await run('window', messages);
    const paced = await run('paced', pacedMessages);
    return { window: win, paced, transportDrops: faults.down, rejected: clients.rejected };
  } finally {
    clients.close();
    await sleep(300);
  }
}

// =====================================================================================
// recovery after a node kill
// =====================================================================================

/**
 * n clients spread over the three nodes; one client on node 1 sends a numbered signal to all
 * every 1000/rate ms. After `steadyMs`, node 0 (a third of the clients) is killed with SIGKILL.
 * The flow goes on until every client of node 0 is back (or `capMs`), then `afterMs` more; then
 * up to `settleMs` for the last deliveries. Every client's receipts are checked against every
 * signal sent (all clients were in the session before the first): lost, duplicated, reordered.
 */
export async function recovery(system, n, { rate, steadyMs, afterMs, capMs, settleMs }, log) {
  const SENDER = 1; // homed on node 1, which stays up
  const KILLED = 0;
  const victims = [];
  for (let i = 0; i < n; i++) if (i % 3 === KILLED) victims.push(i);
  /** Per client: the seqs in arrival order, and the first arrival time of each. */
  const got = Array.from({ length: n }, () => ({ seqs: [], at: new Map() }));
  const sendTimes = [];
  let killAt = Infinity;
  const upAt = new Map();
  const recovered = new Map();
  const down = new Set();
  let allBack = () => undefined;
  const clients = await system.connect(n, {
    onSignal(i, data) {
      const t = now();
      const [, seq] = parse(data);
      const g = got[i];
      g.seqs.push(seq);
      if (!g.at.has(seq)) g.at.set(seq, t);
    },
    onDown: (i) => down.add(i),
    onUp(i, rec) {
      if (now() < killAt || upAt.has(i)) return;
      upAt.set(i, now());
      recovered.set(i, rec);
      if (victims.every((v) => upAt.has(v))) allBack();
    },
  });
  let timer;
  const sendNext = () => {
    const t = now();
    clients.send(SENDER, payload(0, sendTimes.length, t));
    sendTimes.push(t);
  };
  const period = 1000 / rate;
  const flowStart = performance.now();
  const tick = () => {
    const due = Math.floor((performance.now() - flowStart) / period) + 1;
    while (sendTimes.length < due) sendNext();
    timer = setTimeout(tick, Math.max(1, period / 2));
  };
  try {
    tick();
    await sleep(steadyMs);
    const back = new Promise((resolve) => (allBack = resolve));
    killAt = now();
    await system.kill(KILLED);
    const capped = await Promise.race([back.then(() => false), sleep(capMs).then(() => true)]);
    if (capped)
      log(
        `  ${victims.length - victims.filter((v) => upAt.has(v)).length} clients not back in ${capMs / 1000} s`,
      );
    await sleep(afterMs);
    clearTimeout(timer);
    const total = sendTimes.length;
    const settleEnd = performance.now() + settleMs;
    const complete = () => got.every((g) => g.at.has(total - 1) && g.at.size >= total);
    while (performance.now() < settleEnd && !complete()) await sleep(100);

    // Per client: lost, duplicated, reordered (a first receipt of a seq lower than one already received).
    let lost = 0;
    let duplicated = 0;
    let reordered = 0;
    let clientsLosing = 0;
    for (const g of got) {
      const l = total - g.at.size;
      lost += l;
      if (l > 0) clientsLosing++;
      duplicated += g.seqs.length - g.at.size;
      const first = new Set();
      let max = -1;
      for (const s of g.seqs) {
        if (first.has(s)) continue;
        first.add(s);
        if (s < max) reordered++;
        else max = s;
      }
    }
    // kill → last missed signal delivered, per victim: the latest first arrival among the
    // signals sent before it was back (null if one of them never arrived).
    const lastMissed = victims.map((v) => {
      const up = upAt.get(v);
      if (up === undefined) return null;
      let latest = -Infinity;
      for (let s = 0; s < total && sendTimes[s] <= up; s++) {
        const at = got[v].at.get(s);
        if (at === undefined) return null;
        latest = Math.max(latest, at);
      }
      return latest - killAt;
    });
    const upMs = victims.map((v) => (upAt.has(v) ? upAt.get(v) - killAt : null));
    return {
      clients: n,
      victims: victims.length,
      sent: total,
      back: upMs.filter((x) => x !== null).length,
      recovered: victims.filter((v) => recovered.get(v) === true).length,
      upMs: distribution(upMs),
      lastMissedMs: distribution(lastMissed),
      lastMissedMissing: lastMissed.filter((x) => x === null).length,
      lost,
      clientsLosing,
      duplicated,
      reordered,
      othersDown: [...down].filter((i) => i % 3 !== KILLED).length,
    };
  } finally {
    clearTimeout(timer);
    clients.close();
    await sleep(300);
  }
}
