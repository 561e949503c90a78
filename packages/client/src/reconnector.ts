import { reasonForError, type Clock, type ErrorCode, type Reason, type TimerHandle } from '@tether/protocol';
import { browserOnline, networkWatcher } from './network.js';
import { isRetryable, OFFLINE_PROBE_MS, type ReconnectPolicy } from './reconnect-policy.js';

/** What the reconnector drives: the session, seen only through these. */
export interface ReconnectorHost {
  clock: Clock;
  policy: ReconnectPolicy;
  /** The reconnect window now (the server's, or shorter if the client asked). */
  windowMs(): number;
  /** Join afresh with the same token when a resume is refused, instead of ending. */
  rejoinOnResumeFailure: boolean;
  /** Watch the browser's online/offline events. */
  watchNetwork: boolean;
  /** One resume attempt; rejects with the error that failed it. */
  resume(): Promise<void>;
  /** An attempt reached the server and waits for its answer: another would race it. */
  attemptReachedServer(): boolean;
  /**
   * The shortest gap between two retries on the path last known. An attempt still opening is
   * dropped when the second one after it starts, so two gaps must hold a whole handshake
   * (TCP, TLS, upgrade: up to four round trips). 0 when nothing was measured.
   */
  minRetryGapMs?(): number;
  /** The browser went offline: the transport is gone now. */
  offline(): void;
  /** A fresh join in place of a refused resume. */
  rejoin(code: ErrorCode): void;
  /** Reconnection is over without success. */
  end(reason: Reason, code: ErrorCode): void;
}

/**
 * Every reconnection decision in one place: when to retry (the policy), when to give up
 * (the window), which failures are retried and which end it, rejoining after a refused
 * resume, and the browser's network events — offline means stop opening sockets and probe
 * slowly (`navigator.onLine` can be wrong), online means retry now.
 */
export class Reconnector {
  private reconnecting = false;
  private lostAt = 0;
  private attempt = 0;
  private retryTimer: TimerHandle | undefined;
  private windowTimer: TimerHandle | undefined;
  private unwatch: (() => void) | undefined;

  constructor(private readonly host: ReconnectorHost) {}

  /** Starts watching the browser's network (once the session is connected). */
  watch(): void {
    if (this.unwatch || !this.host.watchNetwork) return;
    this.unwatch = networkWatcher({ offline: () => this.host.offline(), online: () => this.retryNow() });
  }

  /** The transport was lost: retry inside the window. */
  start(): void {
    this.cancel();
    this.reconnecting = true;
    this.lostAt = this.host.clock.now();
    this.attempt = 0;
    this.windowTimer = this.host.clock.setTimeout(
      () => this.finish('networkDisconnected', 'NETWORK_DISCONNECTED'),
      this.host.windowMs(),
    );
    this.schedule();
  }

  /** A resume succeeded (or a rejoin began): stop retrying. */
  succeeded(): void {
    this.cancel();
  }

  /** The session ended: stop retrying and watching. */
  stop(): void {
    this.cancel();
    this.unwatch?.();
    this.unwatch = undefined;
  }

  /** Retry now (the network came back): cancels a pending backoff. */
  retryNow(): void {
    if (!this.reconnecting) return;
    if (this.retryTimer !== undefined) this.host.clock.clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    void this.tryResume();
  }

  private cancel(): void {
    this.reconnecting = false;
    if (this.retryTimer !== undefined) this.host.clock.clearTimeout(this.retryTimer);
    if (this.windowTimer !== undefined) this.host.clock.clearTimeout(this.windowTimer);
    this.retryTimer = undefined;
    this.windowTimer = undefined;
  }

  private schedule(): void {
    if (!this.reconnecting) return;
    if (this.retryTimer !== undefined) this.host.clock.clearTimeout(this.retryTimer);
    const elapsedMs = this.host.clock.now() - this.lostAt;
    const windowMs = this.host.windowMs();
    const policy = this.host.policy.nextRetryDelayMs({ attempt: this.attempt, elapsedMs, windowMs });
    if (policy === null) return this.finish('networkDisconnected', 'NETWORK_DISCONNECTED');
    // Offline: a socket cannot open, so only a slow probe runs until `online` says try now.
    // Otherwise no gap is shorter than a slow path's handshake needs, or no attempt would finish.
    const floor =
      this.attempt === 0 ? 0 : browserOnline() ? (this.host.minRetryGapMs?.() ?? 0) : OFFLINE_PROBE_MS;
    const delay = Math.max(policy, floor);
    this.retryTimer = this.host.clock.setTimeout(() => {
      this.retryTimer = undefined;
      void this.tryResume();
    }, delay);
  }

  private async tryResume(): Promise<void> {
    if (!this.reconnecting) return;
    // An attempt that reached the server is left to finish; one still opening may be stuck on a dead path.
    if (this.host.attemptReachedServer()) return this.schedule();
    this.attempt++;
    // The next attempt is scheduled now, not when this one fails: a dead path can hang it until its timeout.
    this.schedule();
    try {
      await this.host.resume();
    } catch (err) {
      if (!this.reconnecting) return;
      const code = (err as { code?: ErrorCode }).code ?? 'CONNECT_FAILED';
      if (isRetryable(code)) return; // the path failed: retried on the schedule
      this.refused(code);
    }
  }

  /** The server answered and refused: rejoin if asked to, else end with the reason of the code. */
  private refused(code: ErrorCode): void {
    if (this.host.rejoinOnResumeFailure) {
      this.cancel();
      this.host.rejoin(code);
      return;
    }
    this.finish(reasonForError(code) ?? 'resumeFailed', code);
  }

  private finish(reason: Reason, code: ErrorCode): void {
    this.cancel();
    this.host.end(reason, code);
  }
}
