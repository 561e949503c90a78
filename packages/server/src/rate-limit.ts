import type { Clock } from '@tether/protocol';

export { TokenBucket } from '@tether/protocol';

/** Counts strikes in a sliding window; `strike()` says whether the limit is passed. */
export class StrikeCounter {
  private times: number[] = [];
  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly clock: Clock,
  ) {}

  strike(): boolean {
    const now = this.clock.now();
    this.times.push(now);
    while (this.times.length > 0 && (this.times[0] ?? 0) <= now - this.windowMs) this.times.shift();
    return this.times.length > this.limit;
  }
}
