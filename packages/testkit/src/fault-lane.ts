import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

/**
 * What a path does with the bytes it is given:
 *  - `pass`: delivers them, shaped by delay and throttle;
 *  - `blackhole`: holds them, as the sender's TCP would keep unacknowledged bytes to retransmit,
 *    and delivers them on restore;
 *  - `discard`: reads and throws them away (a lossy path, on purpose);
 *  - `dead`: like `blackhole`, but restore never comes (switchPath): nothing is delivered, ever.
 */
export type PathState = 'pass' | 'blackhole' | 'discard' | 'dead';
/** How a socket ended: FIN, RST, or torn down by the proxy itself. */
export type Ending = 'fin' | 'rst' | 'destroy';

export interface Shaping {
  delayMs: number;
  bytesPerSecond: number;
}

export function endSocket(s: Socket | null, how: Ending): void {
  if (!s || s.destroyed) return;
  if (how === 'rst') s.resetAndDestroy();
  else if (how === 'fin') s.end();
  else s.destroy();
}

/** Above this many queued bytes (delay/throttle) the source is paused, so TCP pushes back on the sender. */
const HIGH_WATER = 256 * 1024;
/** A throttled chunk is sliced into pieces of ~20 ms of wire time, so data trickles rather than lurches. */
const SLICES_PER_SECOND = 50;

/**
 * One direction of a connection. On a passing path it delivers chunks in order after the
 * configured delay and throttle; while blackholed it holds them (and any FIN or RST behind them)
 * up to `holdLimit` bytes, then pauses its source so the sender feels backpressure.
 */
export class Lane {
  private to: Socket | null = null;
  private readonly queue: { at: number; chunk: Buffer }[] = [];
  private timer: NodeJS.Timeout | null = null;
  /** Bytes waiting out a delay or throttle. */
  queuedBytes = 0;
  private awaitingDrain = false;
  private held: Buffer[] = [];
  /** Bytes in `held`: what this lane costs in memory while blackholed. */
  heldBytes = 0;
  // A dead path keeps nothing, only counts, so that it pushes back as a held one would.
  private sunkBytes = 0;
  // The source's end, owed to the destination once everything before it is delivered.
  private ending: 'fin' | 'rst' | null = null;
  private delivered: 'fin' | 'rst' | null = null;
  // The destination is gone: whatever comes is read and thrown away, and the source never paused.
  private closed = false;
  // Delivery time of the newest queued slice: keeps order when the delay shrinks mid-flight.
  private lastAt = 0;
  // When the throttled "wire" finishes sending what is already queued.
  private wireFreeAt = 0;

  constructor(
    private readonly from: Socket,
    private readonly shaping: Shaping,
    private readonly holdLimit: number,
    private mode: PathState,
  ) {}

  /** The destination, once there is one: a path down at accept time has no upstream yet. */
  attach(to: Socket): void {
    this.to = to;
    to.on('drain', () => {
      this.awaitingDrain = false;
      this.updateFlow();
    });
  }

  push(chunk: Buffer): void {
    if (this.closed || this.mode === 'discard') return;
    if (this.mode === 'dead') {
      this.sunkBytes += chunk.length;
      return this.updateFlow();
    }
    if (this.mode === 'blackhole') {
      this.held.push(chunk);
      this.heldBytes += chunk.length;
      return this.updateFlow();
    }
    this.shape(chunk);
  }

  /** The source ended: the end follows whatever is queued or held before it. */
  end(how: 'fin' | 'rst'): void {
    if (this.closed || this.mode === 'dead' || this.delivered === 'rst' || this.delivered === how) return;
    if (this.ending !== 'rst') this.ending = how;
    if (this.mode === 'pass' && this.queue.length === 0) this.finish();
  }

  setMode(next: PathState): void {
    if (this.mode === 'dead' || next === this.mode) return;
    const prev = this.mode;
    this.mode = next;
    if (next === 'dead') {
      // Never delivered, and so never ended either: a switched-away path just goes quiet.
      this.clear();
      this.ending = null;
    } else if (next === 'discard') {
      // Bytes are lost with the path; an end is not (it arrives on restore, like a retransmitted FIN).
      this.clear();
    } else if (next === 'blackhole') {
      if (prev === 'pass') this.recall();
    } else {
      const held = this.held;
      this.held = [];
      this.heldBytes = 0;
      // Held bytes set out now, so delay and throttle apply to them from the restore on.
      for (const chunk of held) this.shape(chunk);
      if (this.ending && this.queue.length === 0) this.finish();
    }
    this.updateFlow();
  }

  /** Nothing more will be delivered (the connection is torn down or its destination gone): free it all. */
  drop(): void {
    this.closed = true;
    this.clear();
    this.ending = null;
    this.updateFlow();
  }

  /** Bytes queued by delay/throttle but not yet written return to the hold, ahead of any newer ones. */
  private recall(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.held = [...this.queue.map((q) => q.chunk), ...this.held];
    this.heldBytes += this.queuedBytes;
    this.queue.length = 0;
    this.queuedBytes = 0;
    this.lastAt = 0;
    this.wireFreeAt = 0;
  }

  private clear(): void {
    this.recall();
    this.held = [];
    this.heldBytes = 0;
    this.sunkBytes = 0;
  }

  private shape(chunk: Buffer): void {
    const { delayMs, bytesPerSecond: rate } = this.shaping;
    if (delayMs === 0 && rate === Infinity && this.queue.length === 0) return this.write(chunk);
    const now = performance.now();
    const sliceSize = rate === Infinity ? chunk.length : Math.max(1, Math.floor(rate / SLICES_PER_SECOND));
    for (let offset = 0; offset < chunk.length; offset += sliceSize) {
      const slice = chunk.subarray(offset, offset + sliceSize);
      this.wireFreeAt = Math.max(now, this.wireFreeAt) + (slice.length * 1000) / rate;
      this.lastAt = Math.max(this.wireFreeAt + delayMs, this.lastAt);
      this.queue.push({ at: this.lastAt, chunk: slice });
      this.queuedBytes += slice.length;
    }
    this.updateFlow();
    this.schedule();
  }

  private write(chunk: Buffer): void {
    if (!this.to?.writable) return;
    if (!this.to.write(chunk)) {
      this.awaitingDrain = true;
      this.updateFlow();
    }
  }

  private finish(): void {
    const how = this.ending;
    if (!how) return;
    this.ending = null;
    this.delivered = how;
    const to = this.to;
    if (how === 'fin' || !to || to.writableLength === 0) return endSocket(to, how);
    // An RST discards what the socket has not yet written: let the bytes before it go first.
    to.once('drain', () => endSocket(to, how));
  }

  private schedule(): void {
    const head = this.queue[0];
    if (this.timer || !head) return;
    this.timer = setTimeout(() => this.flush(), Math.max(0, Math.ceil(head.at - performance.now())));
  }

  private flush(): void {
    this.timer = null;
    const now = performance.now();
    // Timers may fire a fraction of a millisecond early; strict `<=` keeps latency ≥ the delay.
    for (let head = this.queue[0]; head && head.at <= now; head = this.queue[0]) {
      this.queue.shift();
      this.queuedBytes -= head.chunk.length;
      this.write(head.chunk);
    }
    if (this.queue.length === 0 && this.ending) this.finish();
    this.updateFlow();
    this.schedule();
  }

  private updateFlow(): void {
    let hold: boolean;
    if (this.closed || this.mode === 'discard') hold = false;
    else if (this.mode === 'pass') hold = this.queuedBytes > HIGH_WATER || this.awaitingDrain;
    else hold = this.heldBytes + this.sunkBytes >= this.holdLimit;
    if (hold && !this.from.isPaused()) this.from.pause();
    else if (!hold && this.from.isPaused()) this.from.resume();
  }
}
