import {
  LIMITS,
  TetherError,
  TokenBucket,
  jsonCodec,
  type ClientFrame,
  type ClientOp,
  type Clock,
  type Codec,
  type ReplyFrame,
  type TimerHandle,
  type Wire,
} from '@tether/protocol';
import { PendingOps, type OpResult, type QueueLimits } from './pending-ops.js';

/** Where the channel writes once a transport is attached; false when the write failed. */
export type Sink = (data: Wire) => boolean;

/** What an inbound reliable seq means for the receiver. */
export type Arrival = 'next' | 'replayed' | 'gap';

/**
 * The reliable channel of one connection, both directions, independent of the socket under it.
 *
 * Out: every operation gets the next seq and waits in PendingOps until its reply; ops are
 * written in order, signals paced to stay inside the server's rate limit (see PACING); after
 * a resume, what the server did not apply is written again with the same seq.
 *
 * In: the server's reliable frames are applied once each, in order (`arrive`); the highest
 * applied seq is acknowledged, piggybacked on every frame out or after a short delay.
 */
export class ReliableChannel {
  private readonly ops: PendingOps;
  private readonly pacer: TokenBucket;
  private sink: Sink | undefined;
  private ackDelayMs = 50;
  /** Ops waiting to be written on the current transport, in seq order. */
  private queue: Array<{ seq: number; op: ClientOp; body: Wire }> = [];
  private codec: Codec = jsonCodec;
  private pumpTimer: TimerHandle | undefined;
  private ackTimer: TimerHandle | undefined;
  /** Highest op seq written on the current transport (heartbeats tell the server, which detects lost frames). */
  private lastWritten = 0;
  /** Signals written but not yet answered: bounds how many can reach the server at once. */
  private signalsInFlight = new Set<number>();
  /** Highest server seq applied. */
  private lastSeq = 0;
  private ackedSeq = 0;

  constructor(
    private readonly clock: Clock,
    limits: QueueLimits,
  ) {
    this.ops = new PendingOps(limits, jsonCodec);
    this.pacer = new TokenBucket(PACING.burst, PACING.ratePerSecond, clock);
  }

  /** Highest server seq applied (what a resume acknowledges). */
  get received(): number {
    return this.lastSeq;
  }

  /** Both positions and the unanswered ops, for a recovery key. */
  snapshot(): { received: number; opSeq: number; pending: Array<{ seq: number; op: ClientOp }> } {
    const { lastSeq, pending } = this.ops.snapshot();
    return { received: this.lastSeq, opSeq: lastSeq, pending };
  }

  /** Continues the channel of a page that is gone, from its snapshot; a resume follows. */
  restore(received: number, opSeq: number, pending: Array<{ seq: number; op: ClientOp }>): void {
    this.detach();
    this.lastSeq = received;
    this.ackedSeq = received;
    this.ops.restore(opSeq, pending);
  }

  /** Numbers an op and keeps it until its reply; written now if a transport is attached. */
  send(op: ClientOp): Promise<OpResult> {
    let added;
    try {
      added = this.ops.add(op);
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.sink) {
      this.queue.push({ seq: added.seq, op, body: added.body });
      this.pump();
    }
    return added.promise;
  }

  /** A new transport of a fresh connection: both directions number from 1. */
  attachFresh(sink: Sink, codec: Codec, ackDelayMs: number): void {
    this.lastSeq = 0;
    this.ackedSeq = 0;
    this.attach(sink, codec, ackDelayMs, 0);
  }

  /** Throws RESUME_SEQUENCE_INVALID if a server that has sent up to `seq` is behind what was applied here. */
  checkResume(seq: number): void {
    if (seq < this.lastSeq)
      throw new TetherError('RESUME_SEQUENCE_INVALID', `server is at ${seq}, client applied ${this.lastSeq}`);
  }

  /** A resumed transport: the server applied our ops up to `ack`; what follows is written again. */
  attachResumed(sink: Sink, codec: Codec, ackDelayMs: number, ack: number): void {
    this.ackedSeq = this.lastSeq;
    this.attach(sink, codec, ackDelayMs, ack);
  }

  private attach(sink: Sink, codec: Codec, ackDelayMs: number, applied: number): void {
    this.detach();
    this.sink = sink;
    this.codec = codec;
    this.ops.useCodec(codec);
    this.ackDelayMs = ackDelayMs;
    // What the server did not apply goes again, with the same seq, in order, paced.
    this.lastWritten = applied;
    this.queue = this.ops.unapplied(applied).map(({ seq, op, body }) => ({ seq, op, body }));
    this.pump();
  }

  /** The transport is gone: nothing more is written until the next attach. */
  detach(): void {
    this.sink = undefined;
    this.queue = [];
    this.signalsInFlight.clear();
    if (this.pumpTimer !== undefined) this.clock.clearTimeout(this.pumpTimer);
    if (this.ackTimer !== undefined) this.clock.clearTimeout(this.ackTimer);
    this.pumpTimer = undefined;
    this.ackTimer = undefined;
  }

  /** A reliable frame arrived with `seq`: apply it only when it is `next`. */
  arrive(seq: number): Arrival {
    if (seq <= this.lastSeq) return 'replayed';
    if (seq !== this.lastSeq + 1) return 'gap';
    this.lastSeq = seq;
    this.scheduleAck();
    return 'next';
  }

  /** The server's heartbeat says it sent up to `seq`: more than arrived means frames were lost. */
  lostFrames(seq: number | undefined): boolean {
    return seq !== undefined && seq > this.lastSeq;
  }

  settle(reply: ReplyFrame): void {
    this.ops.settle(reply);
    if (this.signalsInFlight.delete(reply.re)) this.pump();
  }

  fail(seq: number, err: TetherError): void {
    this.ops.fail(seq, err);
    if (this.signalsInFlight.delete(seq)) this.pump();
  }

  /** The connection is replaced or ended: every op still waiting fails. */
  reset(err: TetherError): void {
    this.detach();
    this.ops.reset(err);
  }

  /** Shows the server the welcome arrived (a connection is unseen by others until then). */
  confirm(): void {
    this.write(this.codec.encode({ t: 'ack', ack: this.lastSeq }));
  }

  /** A heartbeat frame: what was applied here and the last op written; `pong` answers a ping. */
  beat(pong?: number): void {
    const frame: ClientFrame = { t: 'hb', ack: this.lastSeq, seq: this.lastWritten };
    if (pong !== undefined) frame.pong = pong;
    this.write(this.codec.encode(frame));
  }

  /** A frame outside the reliable stream (a leave), written now if attached. */
  writeRaw(frame: ClientFrame): void {
    this.sink?.(this.codec.encode(frame));
  }

  /**
   * Writes queued ops in order. A signal waits for a pacer token and for room in the
   * in-flight window; everything behind it waits too, so order is kept.
   */
  private pump(): void {
    if (this.pumpTimer !== undefined) return;
    while (this.queue.length > 0 && this.sink) {
      const op = this.queue[0] as { seq: number; op: ClientOp; body: Wire };
      if (op.op.t === 'signal') {
        if (this.signalsInFlight.size >= PACING.inFlight) return; // a reply frees room
        if (!this.pacer.take()) {
          this.pumpTimer = this.clock.setTimeout(() => {
            this.pumpTimer = undefined;
            this.pump();
          }, this.pacer.waitMs());
          return;
        }
        this.signalsInFlight.add(op.seq);
      }
      this.queue.shift();
      this.lastWritten = op.seq;
      if (!this.write(this.codec.sequenced(op.body, op.seq, this.lastSeq))) return;
    }
  }

  private write(data: Wire): boolean {
    if (!this.sink) return false;
    this.ackedSeq = this.lastSeq;
    return this.sink(data);
  }

  private scheduleAck(): void {
    if (this.lastSeq - this.ackedSeq >= 32) return this.sendAck();
    if (this.ackTimer !== undefined) return;
    this.ackTimer = this.clock.setTimeout(() => this.sendAck(), this.ackDelayMs);
  }

  private sendAck(): void {
    if (this.ackTimer !== undefined) this.clock.clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    if (this.lastSeq > this.ackedSeq) this.write(this.codec.encode({ t: 'ack', ack: this.lastSeq }));
  }
}

/**
 * How the SDK paces signals so the server's bucket (LIMITS.signalBurst, signalRatePerSecond)
 * never refuses it. Frames can reach the server bunched — a path that stalled releases what
 * it held all at once — but never more than the in-flight window early: in any span the server
 * receives at most `inFlight + burst + rate × span` signals, which stays inside its bucket
 * while `inFlight + burst ≤ LIMITS.signalBurst` and `rate ≤ LIMITS.signalRatePerSecond`.
 */
export const PACING = {
  burst: 30,
  ratePerSecond: LIMITS.signalRatePerSecond * 0.9,
  inFlight: 60,
} as const;
