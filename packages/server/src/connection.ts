import { timingSafeEqual } from 'node:crypto';
import {
  Heartbeat,
  LIMITS,
  errorNumber,
  jsonCodec,
  wireSize,
  type Codec,
  type ServerFrame,
  type Wire,
  type ErrorCode,
  type Clock,
  type ConnectionInfo,
  type Role,
  type ServerEvent,
  type TimerHandle,
  type TransportConfig,
} from '@tether/protocol';
import { isInterrupted, transition, type ConnectionState } from './connection-state.js';
import { Outbox, OutboxOverflowError, type OutboxLimits } from './outbox.js';
import { StrikeCounter, TokenBucket } from './rate-limit.js';

export type { ConnectionState } from './connection-state.js';

/** What a Connection needs of a socket: text out, close, a hard kill, and what Node still holds for it. */
export interface Link {
  /** `onWritten` runs once the frame has left the process (handed to the kernel). */
  send(data: Wire, onWritten?: () => void): void;
  close(code: number, reason: string): void;
  /** Drop the socket without a closing handshake (the path is dead). */
  terminate(): void;
  /** Bytes written to the socket that Node still holds (not yet handed to the kernel). */
  readonly bufferedBytes: number;
  /** Whether frames written now can still reach the client. */
  readonly open: boolean;
}

export interface ConnectionLimits {
  outbox: OutboxLimits;
  /** Past this many bytes held unsent for the socket, the connection ends with SEND_BUFFER_OVERFLOW. */
  sendBufferMaxBytes: number;
}

export interface ConnectionHooks {
  /** The attached transport died (closed, errored or silent past the heartbeat timeout); the state says whether it was confirmed. */
  onInterrupted(conn: Connection): void;
  /** The reconnect window passed without a resume. */
  onWindowPassed(conn: Connection): void;
  /** A bound on what is held for this connection was passed. */
  onOverflow(conn: Connection, code: 'BUFFER_OVERFLOW' | 'SEND_BUFFER_OVERFLOW'): void;
  /** The outbox of a connection without a transport took in `bytes`. */
  onHeld(conn: Connection, bytes: number): void;
}

/** A socket whose send buffer holds more than this is not being read: closing it politely would keep that buffer. */
const UNREAD_BYTES = LIMITS.frameMaxBytes;

/**
 * One client's membership of a session. It outlives its transports: a resume attaches a
 * new one to the same Connection, whose outbox replays what the client missed. Its state
 * changes only through the transition table of connection-state.ts.
 */
export class Connection {
  private _state: ConnectionState = 'pending';
  readonly outbox: Outbox;
  /** Highest client seq applied: ops at or below it are retransmissions and are ignored. */
  lastApplied = 0;
  readonly streams = new Set<string>();
  readonly signals: TokenBucket;
  readonly strikes: StrikeCounter;
  /** Media ops run one at a time per connection; replies keep the order of the ops. */
  chain: Promise<void> = Promise.resolve();
  inFlight = 0;
  /** How many times a transport was lost. */
  interruptions = 0;
  /** Takeovers of this connection by a node (appends for it carry it: cluster/engine.ts Fence). */
  epoch = 0;
  private link: Link | undefined;
  private heartbeat: Heartbeat | undefined;
  private windowTimer: TimerHandle | undefined;
  /**
   * Highest seq whose frame has left the process on the current transport. A client cannot
   * have received more, so acknowledgements count only up to here: one that acknowledges what
   * it never read keeps its frames in the outbox, whose bound then ends it.
   */
  private written = 0;

  constructor(
    readonly info: ConnectionInfo,
    readonly role: Role,
    private readonly secret: string,
    private readonly clock: Clock,
    private readonly config: TransportConfig,
    private readonly limits: ConnectionLimits,
    private readonly hooks: ConnectionHooks,
    /** The codec negotiated at connect, kept for the connection's life (its outbox is in it). */
    readonly codec: Codec = jsonCodec,
  ) {
    this.outbox = new Outbox(limits.outbox, codec);
    this.signals = new TokenBucket(LIMITS.signalBurst, LIMITS.signalRatePerSecond, clock);
    this.strikes = new StrikeCounter(LIMITS.abuseStrikesPer10s, 10_000, clock);
  }

  get id(): string {
    return this.info.connectionId;
  }

  get state(): ConnectionState {
    return this._state;
  }

  get attached(): boolean {
    return this.link !== undefined;
  }

  /**
   * Attached, but its client has been silent for over half the heartbeat timeout: a live one
   * beats every interval, so this one is most likely gone and about to be found dead.
   */
  get silentTooLong(): boolean {
    const hb = this.heartbeat;
    return hb !== undefined && hb.silentMs * 2 > hb.timeoutMs;
  }

  /** Bytes this server holds for the connection: its outbox and what its socket has not sent yet. */
  get heldBytes(): number {
    return this.outbox.pendingBytes + (this.link?.bufferedBytes ?? 0);
  }

  secretMatches(candidate: string): boolean {
    const a = Buffer.from(this.secret);
    const b = Buffer.from(candidate);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  /**
   * The first transport, which the welcome is written to; the connection stays pending until
   * confirmed. `rttMs` is the round trip its handshake took.
   */
  start(link: Link, rttMs: number): void {
    this.attach(link, rttMs);
  }

  /** The client showed it has the welcome (a frame after it): others may now see the connection. */
  confirm(): void {
    this.setState('connected');
  }

  /**
   * Attaches the transport of a resume, replacing (and killing) any previous one: everything
   * up to `ack` is acknowledged, then `answer` and the frames after `ack` are written.
   * Returns the state before (the caller tells the others what changed).
   */
  resumeOn(link: Link, ack: number, answer: string, replay: readonly Wire[], rttMs: number): ConnectionState {
    const before = this._state;
    if (before !== 'connected') this.setState('connected');
    this.clearWindow();
    this.outbox.ack(ack);
    this.attach(link, rttMs);
    this.sendRaw(answer);
    for (let i = 0; i < replay.length && this.link === link; i++)
      this.sendReliable(replay[i] as Wire, ack + 1 + i);
    return before;
  }

  /** The given link closed or went silent; ignored if it is no longer the attached one. */
  linkLost(link: Link, terminate = false): void {
    if (this.link !== link) return;
    this.detachQuietly();
    if (terminate) link.terminate();
    if (this._state !== 'connected' && this._state !== 'pending') return;
    this.setState(this._state === 'connected' ? 'interrupted' : 'pendingInterrupted');
    this.interruptions++;
    this.windowTimer = this.clock.setTimeout(() => {
      this.windowTimer = undefined;
      if (isInterrupted(this._state)) this.hooks.onWindowPassed(this);
    }, this.config.reconnectWindowMs);
    this.hooks.onInterrupted(this);
  }

  /**
   * This node is draining: the transport is closed with SERVER_DRAINING, so the client
   * resumes on another node at once; the connection waits here, interrupted, until taken over.
   */
  drain(): void {
    const link = this.link;
    if (!link) return;
    this.linkLost(link);
    link.close(errorNumber('SERVER_DRAINING'), 'SERVER_DRAINING');
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

  /** The client answered a ping: a round-trip sample. */
  pong(id: number): void {
    this.heartbeat?.pong(id);
  }

  /**
   * A cumulative acknowledgement from the client. False when it is beyond the last frame
   * assigned (a broken or malicious client); counted only up to what has left the process.
   */
  acknowledge(ack: number): boolean {
    if (ack > this.outbox.seq) return false;
    this.outbox.ack(Math.min(ack, this.written));
    return true;
  }

  /** Sends a reliable event: numbered, kept for replay until acknowledged, written now if attached. */
  deliver(event: ServerEvent, at?: string): void {
    this.deliverEncoded(this.codec.body(event), at);
  }

  /**
   * As deliver, with a body already encoded by this connection's codec (shared across a
   * fan-out); `at` is the session log position it came from.
   */
  deliverEncoded(body: Wire, at?: string): void {
    if (this._state === 'closed') return;
    let frame: Wire;
    try {
      frame = this.outbox.push(body, at);
    } catch (err) {
      if (err instanceof OutboxOverflowError) {
        this.hooks.onOverflow(this, 'BUFFER_OVERFLOW');
        return;
      }
      throw err;
    }
    if (this.link) this.sendReliable(frame, this.outbox.seq);
    else if (isInterrupted(this._state)) this.hooks.onHeld(this, wireSize(frame));
  }

  /** Sends an unreliable frame (ack, heartbeat, error) in this connection's codec, if a transport is attached. */
  send(frame: ServerFrame): void {
    this.sendRaw(this.codec.encode(frame));
  }

  /** Sends bytes already encoded (the handshake's JSON answer). */
  sendRaw(data: Wire): void {
    const link = this.link;
    if (!link) return;
    this.heartbeat?.sent();
    link.send(data);
    this.checkSendBuffer(link);
  }

  /** Ends the connection: a last frame if attached, then close with the code. */
  close(code: number, reason: string, lastFrame?: ServerFrame): void {
    if (this._state === 'closed') return;
    this.setState('closed');
    this.clearWindow();
    const link = this.detachQuietly();
    if (!link) return;
    // A client that does not read would get the bye only after everything queued before it.
    if (link.bufferedBytes > UNREAD_BYTES) {
      link.terminate();
      return;
    }
    if (lastFrame) link.send(this.codec.encode(lastFrame));
    link.close(code, reason);
  }

  private sendReliable(frame: Wire, seq: number): void {
    const link = this.link as Link;
    this.heartbeat?.sent();
    link.send(frame, () => {
      if (this.link === link && seq > this.written) this.written = seq;
    });
    this.checkSendBuffer(link);
  }

  private checkSendBuffer(link: Link): void {
    if (link.bufferedBytes > this.limits.sendBufferMaxBytes && this.link === link)
      this.hooks.onOverflow(this, 'SEND_BUFFER_OVERFLOW');
  }

  /**
   * A new transport and its heartbeat, seeded with the round trip of its handshake: until the
   * first ping is answered, that is all that is known of the path, and the client's first
   * frame after the welcome takes one round trip to come — past the floor on a slow path.
   */
  private attach(link: Link, rttMs: number): void {
    this.detachQuietly()?.terminate();
    this.link = link;
    this.written = this.outbox.ackedSeq;
    this.heartbeat = new Heartbeat({
      clock: this.clock,
      intervalMs: this.config.heartbeatIntervalMs,
      timeoutMs: this.config.heartbeatTimeoutMs,
      ...(this.config.heartbeatTimeoutMaxMs ? { maxTimeoutMs: this.config.heartbeatTimeoutMaxMs } : {}),
      // The server measures the round trip (the client answers each ping) and tells its allowance.
      measures: true,
      sendBeat: (ping) => {
        const hb = this.heartbeat;
        this.send({
          t: 'hb',
          ack: this.lastApplied,
          seq: this.outbox.seq,
          ping,
          ...(hb?.measured ? { rtt: hb.allowanceMs } : {}),
        });
      },
      onDead: () => this.linkLost(link, true),
    });
    this.heartbeat.sample(rttMs);
  }

  private setState(next: ConnectionState): void {
    this._state = transition(this._state, next);
  }

  private clearWindow(): void {
    if (this.windowTimer !== undefined) this.clock.clearTimeout(this.windowTimer);
    this.windowTimer = undefined;
  }

  private detachQuietly(): Link | undefined {
    const link = this.link;
    this.heartbeat?.stop();
    this.heartbeat = undefined;
    this.link = undefined;
    return link;
  }
}
