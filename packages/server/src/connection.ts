import { timingSafeEqual } from 'node:crypto';
import {
  Heartbeat,
  LIMITS,
  errorNumber,
  type ErrorCode,
  type Clock,
  type ConnectionInfo,
  type Role,
  type ServerEvent,
  type TimerHandle,
  type TransportConfig,
} from '@tether/protocol';
import { Outbox, OutboxOverflowError, encodeEventBody, type OutboxLimits } from './outbox.js';
import { StrikeCounter, TokenBucket } from './rate-limit.js';

/** What a Connection needs of a socket: text out, close, and a hard kill for dead paths. */
export interface Link {
  send(text: string): void;
  close(code: number, reason: string): void;
  /** Drop the socket without a closing handshake (the path is dead). */
  terminate(): void;
}

/**
 * `connected`: a transport is attached. `interrupted`: the transport died and the
 * connection waits, inside its reconnect window, for a resume. `closed`: ended for good.
 */
export type ConnectionState = 'connected' | 'interrupted' | 'closed';

export interface ConnectionHooks {
  /** The attached transport died (closed, errored or silent past the heartbeat timeout). */
  onInterrupted(conn: Connection): void;
  /** The outbox overflowed. */
  onOverflow(conn: Connection): void;
}

/**
 * One client's membership of a session. It outlives its transports: a resume attaches a
 * new one to the same Connection, whose outbox replays what the client missed.
 */
export class Connection {
  state: ConnectionState = 'connected';
  readonly outbox: Outbox;
  /** Highest client seq applied: ops at or below it are retransmissions and are ignored. */
  lastApplied = 0;
  readonly streams = new Set<string>();
  readonly signals: TokenBucket;
  readonly strikes: StrikeCounter;
  windowTimer: TimerHandle | undefined;
  /** Media ops run one at a time per connection; replies keep the order of the ops. */
  chain: Promise<void> = Promise.resolve();
  inFlight = 0;
  /** How many times a transport was lost. */
  interruptions = 0;
  private link: Link | undefined;
  private heartbeat: Heartbeat | undefined;

  constructor(
    readonly info: ConnectionInfo,
    readonly role: Role,
    private readonly secret: string,
    private readonly clock: Clock,
    private readonly config: TransportConfig,
    outboxLimits: OutboxLimits,
    private readonly hooks: ConnectionHooks,
  ) {
    this.outbox = new Outbox(outboxLimits);
    this.signals = new TokenBucket(LIMITS.signalBurst, LIMITS.signalRatePerSecond, clock);
    this.strikes = new StrikeCounter(LIMITS.abuseStrikesPer10s, 10_000, clock);
  }

  get id(): string {
    return this.info.connectionId;
  }

  get attached(): boolean {
    return this.link !== undefined;
  }

  secretMatches(candidate: string): boolean {
    const a = Buffer.from(this.secret);
    const b = Buffer.from(candidate);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  /** Attaches a transport, replacing (and killing) any previous one. */
  attach(link: Link): void {
    this.detachQuietly()?.terminate();
    this.link = link;
    this.state = 'connected';
    this.heartbeat = new Heartbeat({
      clock: this.clock,
      intervalMs: this.config.heartbeatIntervalMs,
      timeoutMs: this.config.heartbeatTimeoutMs,
      sendBeat: () => this.sendRaw(`{"t":"hb","ack":${this.lastApplied},"seq":${this.outbox.seq}}`),
      onDead: () => this.linkLost(link, true),
    });
  }

  /** The given link closed or went silent; ignored if it is no longer the attached one. */
  linkLost(link: Link, terminate = false): void {
    if (this.link !== link) return;
    this.detachQuietly();
    if (terminate) link.terminate();
    if (this.state === 'connected') {
      this.state = 'interrupted';
      this.interruptions++;
      this.hooks.onInterrupted(this);
    }
  }

  /** Drops the current transport (it lost data); the connection waits for a resume. */
  dropLink(code: ErrorCode): void {
    const link = this.link;
    if (!link) return;
    this.linkLost(link);
    link.close(errorNumber(code), code);
  }

  /** Whether `link` is the transport attached now (frames from a replaced one are ignored). */
  isCurrent(link: Link): boolean {
    return this.link === link;
  }

  /** Any frame from the client proves the transport alive. */
  received(): void {
    this.heartbeat?.received();
  }

  /** Sends a reliable event: numbered, kept for replay until acknowledged, written now if attached. */
  deliver(event: ServerEvent): void {
    this.deliverEncoded(encodeEventBody(event));
  }

  /** As deliver, with a body already encoded by encodeEventBody (shared across a fan-out). */
  deliverEncoded(body: string): void {
    if (this.state === 'closed') return;
    let frame: string;
    try {
      frame = this.outbox.push(body);
    } catch (err) {
      if (err instanceof OutboxOverflowError) {
        this.hooks.onOverflow(this);
        return;
      }
      throw err;
    }
    this.sendRaw(frame);
  }

  /** Sends an unreliable frame (ack, heartbeat, error) if a transport is attached. */
  sendRaw(text: string): void {
    if (!this.link) return;
    this.heartbeat?.sent();
    this.link.send(text);
  }

  /** Ends the connection: a last frame if attached, then close with the code. */
  close(code: number, reason: string, lastFrame?: string): void {
    this.state = 'closed';
    if (this.windowTimer !== undefined) this.clock.clearTimeout(this.windowTimer);
    this.windowTimer = undefined;
    const link = this.detachQuietly();
    if (link) {
      if (lastFrame) link.send(lastFrame);
      link.close(code, reason);
    }
  }

  private detachQuietly(): Link | undefined {
    const link = this.link;
    this.heartbeat?.stop();
    this.heartbeat = undefined;
    this.link = undefined;
    return link;
  }
}
