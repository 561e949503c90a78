import { TetherError, isErrorCode, type ClientOp, type ReplyFrame, type StreamInfo } from '@tether/protocol';

export interface QueueLimits {
  /** Operations sent or queued but not yet answered. Default 1024. */
  maxOps: number;
  /** Their encoded size in bytes (UTF-16 length). Default 1 MiB. */
  maxBytes: number;
}

export const DEFAULT_QUEUE_LIMITS: QueueLimits = { maxOps: 1024, maxBytes: 1024 * 1024 };

export interface OpResult {
  stream?: StreamInfo;
  subscriptionId?: string;
  sdp?: string;
}

interface Pending {
  seq: number;
  /** The frame without `seq`/`ack`: they are added at each (re)send. */
  body: string;
  resolve: (result: OpResult) => void;
  reject: (err: TetherError) => void;
}

/**
 * The client's reliable outbox: every operation gets the next seq and stays here until
 * the server's reply for it arrives. After a resume, the ones the server did not apply
 * are sent again with the same seq, so the server applies each exactly once.
 */
export class PendingOps {
  private readonly queue: Pending[] = [];
  private bytes = 0;
  private lastSeq = 0;

  constructor(private readonly limits: QueueLimits = DEFAULT_QUEUE_LIMITS) {}

  get size(): number {
    return this.queue.length;
  }

  /** Numbers an op and keeps it. Throws CLIENT_QUEUE_FULL past a limit. */
  add(op: ClientOp): { seq: number; body: string; promise: Promise<OpResult> } {
    const body = JSON.stringify(op);
    if (this.queue.length + 1 > this.limits.maxOps || this.bytes + body.length > this.limits.maxBytes)
      throw new TetherError(
        'CLIENT_QUEUE_FULL',
        `${this.queue.length} operations, ${this.bytes} bytes waiting`,
      );
    const seq = ++this.lastSeq;
    let entry!: Pending;
    const promise = new Promise<OpResult>((resolve, reject) => {
      entry = { seq, body, resolve, reject };
    });
    this.queue.push(entry);
    this.bytes += body.length;
    return { seq, body, promise };
  }

  /** Applies a reply: settles its op. Replies arrive in seq order, so it is the first one. */
  settle(reply: ReplyFrame): void {
    const index = this.queue.findIndex((p) => p.seq === reply.re);
    if (index < 0) return;
    const [entry] = this.queue.splice(index, 1);
    if (!entry) return;
    this.bytes -= entry.body.length;
    if (reply.ok)
      entry.resolve({
        ...(reply.stream ? { stream: reply.stream } : {}),
        ...(reply.subscriptionId ? { subscriptionId: reply.subscriptionId } : {}),
        ...(reply.sdp ? { sdp: reply.sdp } : {}),
      });
    else entry.reject(new TetherError(isErrorCode(reply.code) ? reply.code : 'INTERNAL', reply.message));
  }

  /** Rejects one op by seq (an unreliable error frame named it). */
  fail(seq: number, err: TetherError): void {
    const index = this.queue.findIndex((p) => p.seq === seq);
    if (index < 0) return;
    const [entry] = this.queue.splice(index, 1);
    if (!entry) return;
    this.bytes -= entry.body.length;
    entry.reject(err);
  }

  /** Ops the server has not applied (seq > ack), in order, to send again after a resume. */
  unapplied(ack: number): Array<{ seq: number; body: string }> {
    return this.queue.filter((p) => p.seq > ack);
  }

  /** The numbering and what waits for an answer, for a recovery key. */
  snapshot(): { lastSeq: number; pending: Array<{ seq: number; body: string }> } {
    return { lastSeq: this.lastSeq, pending: this.queue.map(({ seq, body }) => ({ seq, body })) };
  }

  /**
   * Takes over the ops of a page that is gone: numbered as they were, answered into the void
   * (their callers went with that page), sent again if the server did not apply them.
   */
  restore(lastSeq: number, pending: Array<{ seq: number; body: string }>): void {
    this.rejectAll(new TetherError('DISCONNECTED', 'replaced by a recovered connection'));
    this.lastSeq = lastSeq;
    for (const { seq, body } of pending) {
      this.queue.push({ seq, body, resolve: () => undefined, reject: () => undefined });
      this.bytes += body.length;
    }
  }

  /** A new connection numbers from 1 again: every op still waiting fails with the code. */
  reset(err: TetherError): void {
    this.rejectAll(err);
    this.lastSeq = 0;
  }

  /** The session ended: every op still waiting fails with the code. */
  rejectAll(err: TetherError): void {
    const all = this.queue.splice(0);
    this.bytes = 0;
    for (const p of all) p.reject(err);
  }
}

/** The frame for an op: its body with seq and the piggybacked ack spliced in. */
export function opFrame(body: string, seq: number, ack: number): string {
  return `{"seq":${seq},"ack":${ack},${body.slice(1)}`;
}
