import type { Clock, TimerHandle } from './clock.js';
import { RttEstimator, silenceTimeoutMs } from './rtt.js';

/** A timer this late means the event loop stalled (not the peer). */
const LATE_MS = 250;

export interface HeartbeatOptions {
  clock: Clock;
  /** How often a beat is sent. */
  intervalMs: number;
  /**
   * Silence from the peer for this long at least means the transport is dead; the timeout
   * in force is the interval plus the measured round-trip allowance, within these bounds.
   */
  timeoutMs: number;
  /** Upper bound of the adaptive timeout. Default: `timeoutMs` (a fixed timeout). */
  maxTimeoutMs?: number;
  /**
   * Sends a beat. A side that `measures` passes a ping id, which the peer echoes at once
   * (`pong`): the round trip between them is a sample.
   */
  sendBeat: (ping?: number) => void;
  onDead: (silentMs: number) => void;
  /** This side pings and measures the round trip (the server); the other answers pings. */
  measures?: boolean;
}

/**
 * Liveness of one transport, used by both sides: send a beat every interval, and call
 * the transport dead once nothing at all (beat or frame) has arrived for the timeout.
 * Every inbound frame counts as life, so a busy link never needs extra beats to stay up,
 * and the next check is scheduled for the exact moment the timeout would pass.
 *
 * The measuring side also pings on a busy link — one ping out at a time, a new one an
 * interval after the last — so that its round-trip estimate follows the path while data
 * flows: a timeout left at the handshake's guess would make the next outage slow to notice.
 */
export class Heartbeat {
  private lastReceived: number;
  private lastSent: number;
  private timer: TimerHandle | undefined;
  private stopped = false;
  /** When the pending check was meant to run. */
  private due = 0;
  private rechecking = false;
  private readonly rtt = new RttEstimator();
  /**
   * The allowance the peer measured and told us (a side that answers pings does not measure):
   * it replaces this side's own estimate, which is only the handshake's one round trip.
   */
  private reportedAllowance: number | undefined;
  private lastPing = 0;
  /** When the ping out was first sent (0: none is out). */
  private pingSentAt = 0;
  /** When the latest ping id was first sent: the next is due an interval later. */
  private lastPingAt: number;

  constructor(private readonly opts: HeartbeatOptions) {
    this.lastReceived = opts.clock.now();
    this.lastSent = opts.clock.now();
    this.lastPingAt = opts.clock.now();
    this.schedule();
  }

  /** Something arrived from the peer. */
  received(): void {
    this.lastReceived = this.opts.clock.now();
  }

  /** How long the peer has been silent, in ms. */
  get silentMs(): number {
    return this.opts.clock.now() - this.lastReceived;
  }

  /** Something was sent to the peer (a beat is then not needed this interval). */
  sent(): void {
    this.lastSent = this.opts.clock.now();
  }

  /** The peer echoed a ping: a round-trip sample, if it answers the latest one. */
  pong(id: number): void {
    if (id !== this.lastPing || this.pingSentAt === 0) return;
    this.rtt.sample(this.opts.clock.now() - this.pingSentAt);
    this.pingSentAt = 0;
    // The next ping may be due already (a round trip longer than the interval): send it now.
    if (this.timer !== undefined && !this.rechecking) {
      this.opts.clock.clearTimeout(this.timer);
      this.schedule();
    }
  }

  /** A round trip measured outside the beats (a handshake). */
  sample(ms: number): void {
    this.rtt.sample(ms);
  }

  /**
   * The peer's measurement of the round-trip allowance, which this side adopts from now on:
   * it is fresher than a handshake sample, so a path that was slow at the handshake and is
   * fast now stops keeping this side's timeout high.
   */
  report(allowanceMs: number): void {
    this.reportedAllowance = allowanceMs;
  }

  /** Whether a round trip was measured (sampled here or reported by the peer). */
  get measured(): boolean {
    return this.rtt.measured || this.reportedAllowance !== undefined;
  }

  /** `srtt + 4·rttvar` in ms: what a beat tells the peer. */
  get allowanceMs(): number {
    return this.reportedAllowance ?? this.rtt.allowanceMs;
  }

  /** The silence that means a dead transport, now. */
  get timeoutMs(): number {
    const { intervalMs, timeoutMs, maxTimeoutMs } = this.opts;
    return silenceTimeoutMs(intervalMs, this.allowanceMs, timeoutMs, maxTimeoutMs ?? timeoutMs);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.opts.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** A new ping is due an interval after this (never, while one is out or for a side that answers). */
  private pingDueAfter(): number {
    return this.opts.measures && this.pingSentAt === 0 ? this.lastPingAt : Infinity;
  }

  private schedule(): void {
    if (this.stopped) return;
    const now = this.opts.clock.now();
    const untilBeat = Math.min(this.lastSent, this.pingDueAfter()) + this.opts.intervalMs - now;
    const untilDead = this.lastReceived + this.timeoutMs - now;
    const delay = Math.max(0, Math.min(untilBeat, untilDead));
    this.due = now + delay;
    this.timer = this.opts.clock.setTimeout(() => this.tick(), delay);
  }

  private tick(): void {
    this.timer = undefined;
    if (this.stopped) return;
    const now = this.opts.clock.now();
    const silent = now - this.lastReceived;
    const timeoutMs = this.timeoutMs;
    if (silent >= timeoutMs && now - this.due > LATE_MS && !this.rechecking) {
      // This timer ran late: the process itself stalled, and what the peer sent may be waiting
      // unread. Look again once pending input has been read, before calling the peer dead.
      this.rechecking = true;
      this.timer = this.opts.clock.setTimeout(() => this.tick(), 0);
      return;
    }
    this.rechecking = false;
    if (silent >= timeoutMs) {
      this.stopped = true;
      this.opts.onDead(silent);
      return;
    }
    if (now - Math.min(this.lastSent, this.pingDueAfter()) >= this.opts.intervalMs) {
      this.lastSent = now;
      if (this.opts.measures) {
        // A ping not answered yet stays the one to answer: a late pong is still a true sample.
        if (this.pingSentAt === 0) {
          this.lastPing++;
          this.pingSentAt = now;
          this.lastPingAt = now;
        }
        this.opts.sendBeat(this.lastPing);
      } else this.opts.sendBeat();
    }
    this.schedule();
  }
}
