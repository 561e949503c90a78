import type { Clock, TimerHandle } from '@tether/protocol';

export interface RecoveryOptions {
  clock: Clock;
  /** How long media may stay down before giving up. */
  windowMs: number;
  /** Time between two restart attempts while media stays down. */
  retryMs: number;
  /** Whether signalling is up (a restart needs it). */
  canSignal: () => boolean;
  /** Renegotiate with an ICE restart. */
  restart: () => Promise<void>;
  onDown: () => void;
  onUp: () => void;
  onGiveUp: () => void;
}

/**
 * Recovery of one media path, on its own: when it goes down, restart ICE at once if the
 * signalling is up (else as soon as it is back), retry while it stays down, give up after
 * the media window. The session's own reconnection never waits for this, nor this for it.
 */
export class MediaRecovery {
  private downSince: number | undefined;
  private windowTimer: TimerHandle | undefined;
  private retryTimer: TimerHandle | undefined;
  private restarting = false;
  private closed = false;

  constructor(private readonly opts: RecoveryOptions) {}

  get down(): boolean {
    return this.downSince !== undefined;
  }

  /** The path is down (ICE disconnected/failed, or packets stopped). */
  lost(): void {
    if (this.closed || this.downSince !== undefined) return;
    this.downSince = this.opts.clock.now();
    this.windowTimer = this.opts.clock.setTimeout(() => this.giveUp(), this.opts.windowMs);
    this.opts.onDown();
    this.attempt();
  }

  /** Media flows again. */
  recovered(): void {
    if (this.closed || this.downSince === undefined) return;
    this.downSince = undefined;
    this.clearTimers();
    this.opts.onUp();
  }

  /** Signalling is back (session resumed, or the browser went online): try now. */
  signallingBack(): void {
    if (this.down) this.attempt();
  }

  close(): void {
    this.closed = true;
    this.clearTimers();
  }

  private attempt(): void {
    if (this.closed || !this.down) return;
    if (this.retryTimer !== undefined) this.opts.clock.clearTimeout(this.retryTimer);
    this.retryTimer = this.opts.clock.setTimeout(() => this.attempt(), this.opts.retryMs);
    if (this.restarting || !this.opts.canSignal()) return;
    this.restarting = true;
    this.opts
      .restart()
      .catch(() => undefined) // the next attempt comes with the retry timer
      .finally(() => {
        this.restarting = false;
      });
  }

  private giveUp(): void {
    if (this.closed) return;
    this.closed = true;
    this.clearTimers();
    this.opts.onGiveUp();
  }

  private clearTimers(): void {
    if (this.windowTimer !== undefined) this.opts.clock.clearTimeout(this.windowTimer);
    if (this.retryTimer !== undefined) this.opts.clock.clearTimeout(this.retryTimer);
    this.windowTimer = undefined;
    this.retryTimer = undefined;
  }
}

/**
 * Watches a peer connection: down when ICE says disconnected/failed or when packets stop
 * for `idleMs` (counted with `count`, polled every `pollMs`); up when both are fine again.
 */
export class PathWatch {
  private last = -1;
  private lastChange = 0;
  private timer: TimerHandle | undefined;
  private closed = false;
  private iceBad = false;
  private idle = false;

  constructor(
    private readonly pc: RTCPeerConnection,
    private readonly clock: Clock,
    /** Packet counter to detect a silent path; without it only ICE state counts. */
    private readonly count: ((pc: RTCPeerConnection) => Promise<number>) | undefined,
    private readonly opts: { idleMs: number; pollMs: number },
    private readonly onHealth: (healthy: boolean) => void,
  ) {
    this.lastChange = clock.now();
    const previous = pc.onconnectionstatechange;
    pc.onconnectionstatechange = (ev) => {
      if (typeof previous === 'function') previous.call(pc, ev);
      const state = pc.connectionState;
      if (state === 'disconnected' || state === 'failed') this.set('ice', true);
      else if (state === 'connected') this.set('ice', false);
    };
    this.poll();
  }

  close(): void {
    this.closed = true;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
  }

  private set(what: 'ice' | 'idle', bad: boolean): void {
    const before = this.iceBad || this.idle;
    if (what === 'ice') this.iceBad = bad;
    else this.idle = bad;
    const after = this.iceBad || this.idle;
    if (before !== after) this.onHealth(!after);
  }

  private poll(): void {
    const count = this.count;
    if (this.closed || !count) return;
    this.timer = this.clock.setTimeout(() => {
      count(this.pc).then(
        (n) => {
          const now = this.clock.now();
          if (n !== this.last) {
            this.last = n;
            this.lastChange = now;
            if (n > 0) this.set('idle', false);
          } else if (n > 0 && now - this.lastChange >= this.opts.idleMs) this.set('idle', true);
          this.poll();
        },
        () => this.poll(),
      );
    }, this.opts.pollMs);
  }
}
