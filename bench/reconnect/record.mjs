/**
 * bench/reconnect/record.mjs — what bench/reconnect.mjs records: numbered messages one way
 * (when each was sent, when it first arrived, how often), a receiver's up/down transitions, and
 * the seeded PRNG of its fault schedules.
 */
import { performance } from 'node:perf_hooks';

const now = () => performance.now();

/** mulberry32: a small seeded PRNG, so a run's cut schedule can be repeated. */
export function prng(seed) {
  let a = seed >>> 0 || 1;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One direction of numbered messages: when each was sent, when it first arrived, how often. */
export class Stream {
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
export class Recorder {
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
