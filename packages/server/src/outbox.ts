import { jsonCodec, wireSize, type Codec, type Wire } from '@tether/protocol';

export interface OutboxLimits {
  /** Unacknowledged frames kept for replay. */
  maxFrames: number;
  /** Their total size in bytes (wireSize: UTF-16 length for JSON text, a close upper bound for ASCII; bytes for binary). */
  maxBytes: number;
}

export const DEFAULT_OUTBOX_LIMITS: OutboxLimits = { maxFrames: 4096, maxBytes: 4 * 1024 * 1024 };

export class OutboxOverflowError extends Error {
  constructor(
    readonly frames: number,
    readonly bytes: number,
  ) {
    super(`outbox overflow: ${frames} frames, ${bytes} bytes unacknowledged`);
  }
}

/**
 * The per-connection reliable outbox, which is also its replay log: every event gets the
 * next sequence number and stays here until the client acknowledges it. A resume replays
 * what is after the client's acknowledgement. Bounded in count and bytes.
 */
export class Outbox {
  private frames: Wire[] = [];
  /** The session log position each frame came from (parallel to `frames`), for checkpoints. */
  private positions: (string | undefined)[] = [];
  /** The log position of the last acknowledged frame. */
  private ackedPosition: string | undefined;
  private head = 0;
  private bytes = 0;
  /** Highest seq assigned. */
  private lastSeq = 0;
  /** Highest seq the client acknowledged. */
  private acked = 0;

  constructor(
    private readonly limits: OutboxLimits = DEFAULT_OUTBOX_LIMITS,
    /** The connection's codec: it numbers each body (encoded once for a whole fan-out). */
    private readonly codec: Codec = jsonCodec,
  ) {}

  get seq(): number {
    return this.lastSeq;
  }
  get ackedSeq(): number {
    return this.acked;
  }
  get pendingFrames(): number {
    return this.lastSeq - this.acked;
  }
  get pendingBytes(): number {
    return this.bytes;
  }
  /** The session log position of the last frame the client acknowledged (undefined before any). */
  get ackedAt(): string | undefined {
    return this.ackedPosition;
  }

  /**
   * An empty outbox whose numbering goes on from `seq` (everything up to it acknowledged, the
   * last of it at log position `at`): a connection taken over from another node.
   */
  startAt(seq: number, at: string | undefined): void {
    if (this.lastSeq !== 0) throw new Error('startAt on an outbox in use');
    this.lastSeq = this.acked = seq;
    this.ackedPosition = at;
  }

  /** Numbers a pre-encoded event body and keeps it; returns the frame to send. Throws OutboxOverflowError past a limit. */
  push(body: Wire, at?: string): Wire {
    const seq = this.lastSeq + 1;
    const frame = this.codec.sequenced(body, seq);
    const size = wireSize(frame);
    if (this.pendingFrames + 1 > this.limits.maxFrames || this.bytes + size > this.limits.maxBytes) {
      throw new OutboxOverflowError(this.pendingFrames + 1, this.bytes + size);
    }
    this.lastSeq = seq;
    this.frames.push(frame);
    this.positions.push(at);
    this.bytes += size;
    return frame;
  }

  /**
   * Cumulative acknowledgement. Returns false when `ack` is beyond what was sent
   * (a broken or malicious client); an old ack is harmless and ignored.
   */
  ack(ack: number): boolean {
    if (ack > this.lastSeq) return false;
    while (this.acked < ack) {
      const frame = this.frames[this.head];
      this.frames[this.head] = '';
      this.ackedPosition = this.positions[this.head] ?? this.ackedPosition;
      this.positions[this.head] = undefined;
      this.head++;
      this.bytes -= frame === undefined ? 0 : wireSize(frame);
      this.acked++;
    }
    // Compact now and then so the array does not grow forever.
    if (this.head > 1024 && this.head * 2 > this.frames.length) {
      this.frames = this.frames.slice(this.head);
      this.positions = this.positions.slice(this.head);
      this.head = 0;
    }
    return true;
  }

  /** Frames after `ack`, to replay on resume; undefined if `ack` is outside what this outbox can replay. */
  after(ack: number): Wire[] | undefined {
    if (ack < this.acked || ack > this.lastSeq) return undefined;
    const start = this.head + (ack - this.acked);
    return this.frames.slice(start);
  }
}
