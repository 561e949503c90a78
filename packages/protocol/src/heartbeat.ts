import type { Clock, TimerHandle } from './clock.js';

/** A timer this late means the event loop stalled (not the peer). */
const LATE_MS = 250;

export interface HeartbeatOptions {
  clock: Clock;
  /** How often a beat is sent. */
  intervalMs: number;
  /** Silence from the peer for this long means the transport is dead. */
  timeoutMs: number;
  sendBeat: () => void;
  onDead: (silentMs: number) => void;
}

/**
 * Liveness of one transport, used by both sides: send a beat every interval, and call
 * the transport dead once nothing at all (beat or frame) has arrived for the timeout.
 * Every inbound frame counts as life, so a busy link never needs extra beats to stay up,
 * and the next check is scheduled for the exact moment the timeout would pass.
 */
export class Heartbeat {
  private lastReceived: number;
  private lastSent: number;
  private timer: TimerHandle | undefined;
  private stopped = false;
  /** When the pending check was meant to run. */
  private due = 0;
  private rechecking = false;

  constructor(private readonly opts: HeartbeatOptions) {
    this.lastReceived = opts.clock.now();
    this.lastSent = opts.clock.now();
    this.schedule();
  }

  /** Something arrived from the peer. */
  received(): void {
    this.lastReceived = this.opts.clock.now();
  }

  /** Something was sent to the peer (a beat is then not needed this interval). */
  sent(): void {
    this.lastSent = this.opts.clock.now();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.opts.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    if (this.stopped) return;
    const now = this.opts.clock.now();
    const untilBeat = this.lastSent + this.opts.intervalMs - now;
    const untilDead = this.lastReceived + this.opts.timeoutMs - now;
    const delay = Math.max(0, Math.min(untilBeat, untilDead));
    this.due = now + delay;
    this.timer = this.opts.clock.setTimeout(() => this.tick(), delay);
  }

  private tick(): void {
    this.timer = undefined;
    if (this.stopped) return;
    const now = this.opts.clock.now();
    const silent = now - this.lastReceived;
    if (silent >= this.opts.timeoutMs && now - this.due > LATE_MS && !this.rechecking) {
      // This timer ran late: the process itself stalled, and what the peer sent may be waiting
      // unread. Look again once pending input has been read, before calling the peer dead.
      this.rechecking = true;
      this.timer = this.opts.clock.setTimeout(() => this.tick(), 0);
      return;
    }
    this.rechecking = false;
    if (silent >= this.opts.timeoutMs) {
      this.stopped = true;
      this.opts.onDead(silent);
      return;
    }
    if (now - this.lastSent >= this.opts.intervalMs) {
      this.lastSent = now;
      this.opts.sendBeat();
    }
    this.schedule();
  }
}
