import {
  TetherError,
  isErrorCode,
  jsonCodec,
  wireSize,
  type ClientOp,
  type Codec,
  type ReplyFrame,
  type StreamInfo,
  type Wire,
} from '@tether/protocol';

export interface QueueLimits {
  /** Operations sent or queued but not yet answered. Default 1024. */
  maxOps: number;
  /** Their encoded size (wireSize: UTF-16 length of JSON text, bytes of MessagePack). Default 1 MiB. */
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
  op: ClientOp;
  /** The frame without `seq`/`ack` (the codec adds them at each (re)send). */
  body: Wire;
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

  constructor(
    private readonly limits: QueueLimits = DEFAULT_QUEUE_LIMITS,
    private codec: Codec = jsonCodec,
  ) {}

  /** The connection's codec changed (negotiated in a handshake): bodies not yet applied are encoded again. */
  useCodec(codec: Codec): void {
    if (codec === this.codec) return;
    this.codec = codec;
    this.bytes = 0;
    for (const p of this.queue) {
      p.body = codec.body(p.op);
      this.bytes += wireSize(p.body);
    }
  }

  get size(): number {
    return this.queue.length;
  }

  /** Numbers an op and keeps it. Throws CLIENT_QUEUE_FULL past a limit. */
  add(op: ClientOp): { seq: number; body: Wire; promise: Promise<OpResult> } {
    const body = this.codec.body(op);
    const size = wireSize(body);
    if (this.queue.length + 1 > this.limits.maxOps || this.bytes + size > this.limits.maxBytes)
      throw new TetherError(
        'CLIENT_QUEUE_FULL',
        `${this.queue.length} operations, ${this.bytes} bytes waiting`,
      );
    const seq = ++this.lastSeq;
    let entry!: Pending;
    const promise = new Promise<OpResult>((resolve, reject) => {
      entry = { seq, op, body, resolve, reject };
    });
    this.queue.push(entry);
    this.bytes += size;
    return { seq, body, promise };
  }

  /** Applies a reply: settles its op. Replies arrive in seq order, so it is the first one. */
  settle(reply: ReplyFrame): void {
    const index = this.queue.findIndex((p) => p.seq === reply.re);
    if (index < 0) return;
    const [entry] = this.queue.splice(index, 1);
    if (!entry) return;
    this.bytes -= wireSize(entry.body);
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
    this.bytes -= wireSize(entry.body);
    entry.reject(err);
  }

  /** Ops the server has not applied (seq > ack), in order, to send again after a resume. */
  unapplied(ack: number): Array<{ seq: number; op: ClientOp; body: Wire }> {
    return this.queue.filter((p) => p.seq > ack);
  }

  /** The numbering and what waits for an answer, for a recovery key. */
  snapshot(): { lastSeq: number; pending: Array<{ seq: number; op: ClientOp }> } {
    return { lastSeq: this.lastSeq, pending: this.queue.map(({ seq, op }) => ({ seq, op })) };
  }

  /**
   * Takes over the ops of a page that is gone: numbered as they were, answered into the void
   * (their callers went with that page), sent again if the server did not apply them.
   */
  restore(lastSeq: number, pending: Array<{ seq: number; op: ClientOp }>): void {
    this.rejectAll(new TetherError('DISCONNECTED', 'replaced by a recovered connection'));
    this.lastSeq = lastSeq;
    for (const { seq, op } of pending) {
      const body = this.codec.body(op);
      this.queue.push({ seq, op, body, resolve: () => undefined, reject: () => undefined });
      this.bytes += wireSize(body);
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
