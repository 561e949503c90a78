import { byId, seconds } from './dom.js';

/** Drops and total time away, in the top bar: what the reconnection saved the user from. */
export class AwayMeter {
  private drops = 0;
  private awayMs = 0;
  private since: number | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor() {
    byId('meter').hidden = false;
    this.render();
  }

  /** The connection dropped at `at`. */
  lost(at: number): void {
    if (this.since !== undefined) return;
    this.drops++;
    this.since = at;
    this.timer = setInterval(() => this.render(), 100);
    this.render();
  }

  /** Back (or ended) at `at`; returns how long this drop lasted. */
  back(at: number): number {
    if (this.since === undefined) return 0;
    const ms = at - this.since;
    this.awayMs += ms;
    this.since = undefined;
    clearInterval(this.timer);
    this.render();
    return ms;
  }

  private render(): void {
    const live = this.since === undefined ? 0 : Date.now() - this.since;
    byId('drops').textContent = String(this.drops);
    byId('away').textContent = seconds(this.awayMs + live);
  }
}
