import type { Clock, TimerHandle } from '@tether/protocol';

/**
 * Whether packets are arriving: `flowing` turns false after `timeoutMs` without one and
 * true again on the next. Codec-agnostic, and much faster than ICE consent expiry (30 s).
 */
export class PacketActivity {
  private last = 0;
  private everFlowed = false;
  private timer: TimerHandle | undefined;
  private _flowing = false;
  private closed = false;

  constructor(
    private readonly clock: Clock,
    private readonly timeoutMs: number,
    private readonly onChange: (flowing: boolean) => void,
  ) {}

  get flowing(): boolean {
    return this._flowing;
  }

  /** A packet arrived. */
  touch(): void {
    if (this.closed) return;
    this.last = this.clock.now();
    if (!this._flowing) {
      this._flowing = true;
      this.everFlowed = true;
      this.onChange(true);
    }
    if (this.timer === undefined) this.arm(this.timeoutMs);
  }

  close(): void {
    this.closed = true;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(ms: number): void {
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      const idle = this.clock.now() - this.last;
      if (idle >= this.timeoutMs) {
        if (this._flowing && this.everFlowed) {
          this._flowing = false;
          this.onChange(false);
        }
        return; // re-armed by the next packet
      }
      this.arm(this.timeoutMs - idle);
    }, ms);
  }
}
