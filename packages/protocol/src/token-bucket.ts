import type { Clock } from './clock.js';

/** Used by the server to limit signals, and by the SDK to pace its own so it never hits that limit. */
/** A token bucket: `burst` tokens, refilled at `perSecond`. */
export class TokenBucket {
  private tokens: number;
  private updated: number;

  constructor(
    private readonly burst: number,
    private readonly perSecond: number,
    private readonly clock: Clock,
  ) {
    this.tokens = burst;
    this.updated = clock.now();
  }

  take(): boolean {
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.updated) / 1000) * this.perSecond);
    this.updated = now;
    // Tolerate float drift: ten refills of 0.1 must make a whole token.
    if (this.tokens < 1 - 1e-9) return false;
    this.tokens = Math.max(0, this.tokens - 1);
    return true;
  }

  /** Milliseconds until `take()` can succeed. */
  waitMs(): number {
    const now = this.clock.now();
    const tokens = Math.min(this.burst, this.tokens + ((now - this.updated) / 1000) * this.perSecond);
    return tokens >= 1 - 1e-9 ? 0 : Math.ceil(((1 - tokens) / this.perSecond) * 1000);
  }
}
