import {
  ERRORS,
  Heartbeat,
  LIMITS,
  PROTOCOL_VERSION,
  TokenBucket,
  TetherError,
  checkSignal,
  decodeServerFrame,
  errorCodeForNumber,
  errorNumber,
  isErrorCode,
  reasonForError,
  streamPropertiesSchema,
  systemClock,
  type ClientOp,
  type Clock,
  type ConnectionInfo,
  type ErrorCode,
  type PeerConnection,
  type Reason,
  type ResumedFrame,
  type ServerEventFrame,
  type ServerFrame,
  type StreamInfo,
  type StreamPropertiesInput,
  type TimerHandle,
  type TransportConfig,
  type WelcomeFrame,
} from '@tether/protocol';
import { Emitter } from './emitter.js';
import type { MediaChannel } from './media/channel.js';
import { Publisher, type PublisherOptions } from './media/publisher.js';
import { rtcProvider, type RtcProvider } from './media/rtc.js';
import { Subscriber } from './media/subscriber.js';
import type { SessionEvents } from './events.js';
import { networkWatcher } from './network.js';
import { DEFAULT_QUEUE_LIMITS, PendingOps, opFrame, type OpResult, type QueueLimits } from './pending-ops.js';
import { BackoffPolicy, type ReconnectPolicy } from './reconnect-policy.js';
import { Roster } from './roster.js';
import { defaultWebSocket, endpointUrl, type WebSocketConstructor, type WebSocketLike } from './socket.js';
import { transition, type SessionState } from './session-state.js';

export interface SessionOptions {
  /** The server, `http(s)://host:port` or `ws(s)://…`. */
  url: string;
  sessionId: string;
  /** Give up reconnecting after this long. Default: the server's window (30 s on a default server). */
  reconnectWindowMs?: number;
  /** When to retry; default: at once, then exponential backoff with jitter up to 1 s; attempts overlap when one hangs on a dead path. */
  reconnectPolicy?: ReconnectPolicy;
  /** When a resume is refused (server restarted, window passed), join again with the same token instead of ending. */
  rejoinOnResumeFailure?: boolean;
  /** Bounds of the queue of unanswered operations. */
  queue?: Partial<QueueLimits>;
  /**
   * Time allowed for one connect or resume attempt. Default: the heartbeat timeout (a path
   * that cannot answer within it would be called dead anyway), 5 s for the first connect.
   */
  attemptTimeoutMs?: number;
  /** React to browser `offline`/`online` events. Default true where they exist. */
  watchNetwork?: boolean;
  WebSocket?: WebSocketConstructor;
  clock?: Clock;
  /** WebRTC for Node (werift: `{ RTCPeerConnection }`); browsers use their own. */
  rtc?: RtcProvider;
  /** STUN/TURN servers for media (relayed sessions across NATs need them). Default: none. */
  iceServers?: RTCIceServer[];
  /** Give up on interrupted media after this long. Default: the server's media window (20 s). */
  mediaWindowMs?: number;
}

export interface SignalOptions {
  type: string;
  data?: string;
  /** A connection id; without it the signal goes to everyone in the session, this client included. */
  to?: string;
}

export interface SendOptions {
  /** Queue the operation while reconnecting and send it on resume (default). false: reject at once with RECONNECTING. */
  retryAfterReconnect?: boolean;
}

/** One connect or resume attempt: a socket until the server answers it. */
type Attempt = {
  ws: WebSocketLike;
  /** The socket opened and the first frame went out: the server is reachable on this path. */
  opened: boolean;
  timer: TimerHandle;
  settle: (err?: TetherError) => void;
  apply: (frame: ServerFrame) => void;
};

/**
 * A client's membership of one session. Survives network drops by itself: the transport
 * is resumed with the same connection, missed frames are replayed, and nothing is applied
 * twice in either direction.
 */
export class Session extends Emitter<SessionEvents> {
  readonly sessionId: string;
  private _state: SessionState = 'disconnected';
  private readonly roster = new Roster();
  private readonly ops: PendingOps;
  private readonly clock: Clock;
  private readonly policy: ReconnectPolicy;
  private config: TransportConfig | undefined;
  private token: string | undefined;
  private secret: string | undefined;
  /** Highest server seq applied. */
  private lastSeq = 0;
  private ackedSeq = 0;
  private ackTimer: TimerHandle | undefined;
  private ws: WebSocketLike | undefined;
  private heartbeat: Heartbeat | undefined;
  private readonly attempts = new Set<Attempt>();
  private lostAt = 0;
  private attempt = 0;
  private retryTimer: TimerHandle | undefined;
  private windowTimer: TimerHandle | undefined;
  private unwatchNetwork: (() => void) | undefined;
  /** A refused resume is being replaced by a fresh join. */
  private rejoining = false;
  /** Paces signals to the server's limit, so queued ones resent after a resume are never refused. */
  private readonly pacer: TokenBucket;
  /** Ops waiting to be written on the current transport, in seq order. */
  private outQueue: Array<{ seq: number; body: string }> = [];
  private pumpTimer: TimerHandle | undefined;
  /** Highest op seq written on the current transport (heartbeats tell the server, which detects lost frames). */
  private lastWritten = 0;
  private readonly publishers = new Set<Publisher>();
  private readonly subscribers = new Set<Subscriber>();

  constructor(private readonly options: SessionOptions) {
    super();
    this.sessionId = options.sessionId;
    this.clock = options.clock ?? systemClock;
    this.policy = options.reconnectPolicy ?? new BackoffPolicy();
    this.ops = new PendingOps({ ...DEFAULT_QUEUE_LIMITS, ...options.queue });
    this.pacer = new TokenBucket(LIMITS.signalBurst, LIMITS.signalRatePerSecond, this.clock);
  }

  get state(): SessionState {
    return this._state;
  }
  /** This client's connection, once connected. */
  get connection(): ConnectionInfo | undefined {
    return this.roster.self;
  }
  /** Every connection in the session, this one included; `reconnecting` marks the ones inside their window. */
  get connections(): PeerConnection[] {
    return [...this.roster.connections.values()];
  }
  get streams(): StreamInfo[] {
    return [...this.roster.streams.values()];
  }

  /** Joins the session. Resolves once `sessionConnected` has been emitted. */
  async connect(token: string): Promise<void> {
    if (this._state !== 'disconnected')
      throw new TetherError('INVALID_STATE', `connect() while ${this._state}`);
    this.token = token;
    this.setState('connecting');
    try {
      await this.join();
    } catch (err) {
      if ((this._state as SessionState) === 'connecting')
        this.setState('disconnected', err instanceof TetherError ? err.code : 'CONNECT_FAILED');
      throw err;
    }
  }

  /** Leaves the session; also stops a reconnection in progress. */
  disconnect(): void {
    if (this._state === 'disconnected') return;
    if (this._state === 'connected' && this.ws) {
      this.ws.send('{"t":"leave"}');
      this.ws.close(1000, 'leave');
    }
    this.end('clientDisconnected');
  }

  /** Sends a signal; resolves when the server has accepted it (it is then delivered exactly once). */
  signal(signal: SignalOptions, options: SendOptions = {}): Promise<void> {
    const data = signal.data ?? '';
    const bad = checkSignal(signal.type, data);
    if (bad) return Promise.reject(new TetherError(bad));
    const op: ClientOp = {
      t: 'signal',
      type: signal.type,
      data,
      ...(signal.to !== undefined ? { to: signal.to } : {}),
    };
    return this.send(op, options).then(() => undefined);
  }

  /** A publisher of real media (camera and microphone by default in browsers, or the given tracks). */
  initPublisher(options: PublisherOptions = {}): Publisher {
    return new Publisher(options);
  }

  /**
   * Publishes a Publisher (real media) or a bare stream descriptor; resolves with the
   * stream as others see it, once media flows (routed) or the stream exists (relayed).
   */
  async publish(
    what: Publisher | StreamPropertiesInput = {},
    options: SendOptions = {},
  ): Promise<StreamInfo> {
    if (what instanceof Publisher) {
      if (this._state !== 'connected') throw new TetherError('NOT_CONNECTED');
      this.publishers.add(what);
      return what.start(this.mediaChannel());
    }
    return this.publishDescriptor(what, options);
  }

  /** Subscribes to a stream; resolves when it plays. Events on the subscriber say when it drops and returns. */
  async subscribe(stream: StreamInfo): Promise<Subscriber> {
    if (this._state !== 'connected') throw new TetherError('NOT_CONNECTED');
    const subscriber = new Subscriber(stream, this.mediaChannel());
    this.subscribers.add(subscriber);
    subscriber.on('destroyed', () => this.subscribers.delete(subscriber));
    await subscriber.start();
    return subscriber;
  }

  unsubscribe(subscriber: Subscriber): void {
    subscriber.end('clientDisconnected');
    this.subscribers.delete(subscriber);
  }

  private mediaChannel(): MediaChannel {
    const routed = () => this.mediaMode === 'routed';
    const windowMs = () => {
      const server = this.config?.mediaWindowMs ?? 20_000;
      return Math.min(server, this.options.mediaWindowMs ?? server);
    };
    const connected = () => this._state === 'connected';
    return {
      clock: this.clock,
      rtc: rtcProvider(this.options.rtc),
      iceServers: this.options.iceServers ?? [],
      // Read live: the session's mode, window and state change after a publisher is made.
      get routed() {
        return routed();
      },
      get mediaWindowMs() {
        return windowMs();
      },
      get connected() {
        return connected();
      },
      request: (op) => this.send(op, {}),
    };
  }

  private mediaMode: 'routed' | 'relayed' = 'routed';

  private async publishDescriptor(
    properties: StreamPropertiesInput,
    options: SendOptions,
  ): Promise<StreamInfo> {
    const parsed = streamPropertiesSchema.safeParse(properties);
    if (!parsed.success) throw new TetherError('INVALID_ARGUMENT', parsed.error.issues[0]?.message);
    const result = await this.send({ t: 'publish', stream: parsed.data }, options);
    if (!result.stream) throw new TetherError('INTERNAL', 'publish reply without a stream');
    return result.stream;
  }

  async unpublish(what: Publisher | string, options: SendOptions = {}): Promise<void> {
    if (what instanceof Publisher) {
      this.publishers.delete(what);
      const streamId = what.stream?.streamId;
      what.stop('clientDisconnected');
      if (streamId) await this.unpublish(streamId, options).catch(() => undefined);
      return;
    }
    const streamId = what;
    await this.send({ t: 'unpublish', streamId }, options);
    const stream = this.roster.streams.get(streamId);
    if (stream) {
      this.roster.streams.delete(streamId);
      this.emit('streamDestroyed', { stream, reason: 'clientDisconnected' });
    }
  }

  /** Moderators only. */
  async forceDisconnect(connectionId: string, options: SendOptions = {}): Promise<void> {
    await this.send({ t: 'forceDisconnect', connectionId }, options);
  }

  /** Moderators only. */
  async forceUnpublish(streamId: string, options: SendOptions = {}): Promise<void> {
    await this.send({ t: 'forceUnpublish', streamId }, options);
  }

  // ------------------------------------------------------------------ operations out

  private send(op: ClientOp, { retryAfterReconnect = true }: SendOptions): Promise<OpResult> {
    if (this._state === 'disconnected' || this._state === 'connecting')
      return Promise.reject(new TetherError('NOT_CONNECTED'));
    if (this._state === 'reconnecting' && !retryAfterReconnect)
      return Promise.reject(new TetherError('RECONNECTING'));
    let added;
    try {
      added = this.ops.add(op);
    } catch (err) {
      return Promise.reject(err);
    }
    if (this._state === 'connected') {
      this.outQueue.push(added);
      this.pump();
    }
    return added.promise;
  }

  /** Writes queued ops in order; a signal waits for a token of the pacer (and everything behind it waits too). */
  private pump(): void {
    if (this.pumpTimer !== undefined) return;
    while (this.outQueue.length > 0 && this._state === 'connected' && this.ws) {
      const op = this.outQueue[0] as { seq: number; body: string };
      if (op.body.startsWith('{"t":"signal"') && !this.pacer.take()) {
        this.pumpTimer = this.clock.setTimeout(() => {
          this.pumpTimer = undefined;
          this.pump();
        }, this.pacer.waitMs());
        return;
      }
      this.outQueue.shift();
      this.lastWritten = op.seq;
      this.write(opFrame(op.body, op.seq, this.lastSeq));
    }
  }

  private write(text: string): void {
    if (!this.ws) return;
    this.ackedSeq = this.lastSeq;
    this.heartbeat?.sent();
    try {
      this.ws.send(text);
    } catch {
      this.transportLost('socketClosed');
    }
  }

  private scheduleAck(): void {
    if (this.lastSeq - this.ackedSeq >= 32) return this.sendAck();
    if (this.ackTimer !== undefined) return;
    this.ackTimer = this.clock.setTimeout(() => this.sendAck(), this.config?.ackDelayMs ?? 50);
  }

  private sendAck(): void {
    if (this.ackTimer !== undefined) this.clock.clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    if (this.lastSeq > this.ackedSeq && this._state === 'connected')
      this.write(`{"t":"ack","ack":${this.lastSeq}}`);
  }

  // ------------------------------------------------------------------ transports

  private async join(): Promise<void> {
    await this.handshake(
      { t: 'connect', v: PROTOCOL_VERSION, sessionId: this.sessionId, token: this.token ?? '' },
      (frame) => {
        if (frame.t !== 'welcome')
          throw new TetherError('FRAME_UNEXPECTED', `expected welcome, got ${frame.t}`);
        this.welcomed(frame);
      },
    );
  }

  /**
   * Opens a socket, sends the first frame and waits for the answer. `apply` runs
   * synchronously on the answer, so the frames right behind it (a replay) see its state.
   * Attempts may overlap: one still opening may be stuck on a dead path, so a newer one
   * starts beside it, and the first answered wins.
   */
  private async handshake(first: object, apply: (frame: ServerFrame) => void): Promise<void> {
    const WS = this.options.WebSocket ?? (await defaultWebSocket());
    if (this._state === 'disconnected') throw new TetherError('DISCONNECTED');
    const opening = [...this.attempts].filter((a) => !a.opened);
    if (opening.length >= 2) opening[0]?.settle(new TetherError('DISCONNECTED', 'superseded'));
    await new Promise<void>((resolve, reject) => {
      const ws = new WS(endpointUrl(this.options.url));
      const timeoutMs = this.options.attemptTimeoutMs ?? this.config?.heartbeatTimeoutMs ?? 5000;
      const due = this.clock.now() + timeoutMs;
      const expire = (recheck: boolean) => {
        // A timer that ran late means this process stalled: the answer may be waiting unread.
        if (recheck && this.clock.now() - due > 250)
          attempt.timer = this.clock.setTimeout(() => expire(false), 0);
        else attempt.settle(new TetherError('CONNECT_FAILED', 'attempt timed out'));
      };
      const attempt: Attempt = {
        ws,
        opened: false,
        timer: this.clock.setTimeout(() => expire(true), timeoutMs),
        settle: (err) => {
          if (!this.attempts.delete(attempt)) return;
          this.clock.clearTimeout(attempt.timer);
          if (err) {
            if (this.ws === ws) this.ws = undefined;
            kill(ws);
            reject(err);
          } else resolve();
        },
        apply,
      };
      this.attempts.add(attempt);
      ws.onopen = () => {
        // Another attempt already sent its handshake: a second resume could reach the server after
        // it and take the connection over from the socket this client keeps. Let that one answer.
        if ([...this.attempts].some((a) => a !== attempt && a.opened))
          return attempt.settle(new TetherError('DISCONNECTED', 'superseded'));
        attempt.opened = true;
        ws.send(JSON.stringify(first));
      };
      ws.onmessage = (ev) =>
        this.onSocketMessage(ws, typeof ev.data === 'string' ? ev.data : String(ev.data), attempt);
      ws.onclose = (ev) => this.onSocketClose(ws, ev.code, ev.reason, attempt);
      ws.onerror = () => undefined; // a close follows every error
    });
  }

  private abortAttempts(): void {
    for (const attempt of [...this.attempts]) attempt.settle(new TetherError('DISCONNECTED', 'superseded'));
  }

  private onSocketClose(ws: WebSocketLike, code: number, reason: string, attempt?: Attempt): void {
    if (attempt && this.attempts.has(attempt)) {
      const refused = errorCodeForNumber(code);
      attempt.settle(
        new TetherError(
          refused ?? 'CONNECT_FAILED',
          refused ? undefined : `socket closed (${code} ${reason})`,
        ),
      );
      return;
    }
    if (ws !== this.ws) return;
    const ending = errorCodeForNumber(code);
    if (ending && reasonForError(ending) && code !== errorNumber('LEFT')) {
      // A close code that ends the connection on purpose (the bye frame may have been lost).
      this.end(reasonForError(ending) as Reason, ending);
      return;
    }
    this.transportLost('socketClosed');
  }

  private onSocketMessage(ws: WebSocketLike, text: string, attempt?: Attempt): void {
    const handshaking = attempt !== undefined && this.attempts.has(attempt);
    if (!handshaking && ws !== this.ws) return;
    const decoded = decodeServerFrame(text);
    if (!decoded.ok) {
      this.emit('exception', { code: decoded.code, message: `from server: ${decoded.message}` });
      return;
    }
    const frame = decoded.frame;
    if (handshaking) {
      if (frame.t === 'error') {
        attempt.settle(
          new TetherError(isErrorCode(frame.code) ? frame.code : 'CONNECT_FAILED', frame.message),
        );
        return;
      }
      // This attempt won: the others are dropped and its socket becomes the transport.
      for (const other of [...this.attempts])
        if (other !== attempt) other.settle(new TetherError('DISCONNECTED', 'superseded'));
      this.ws = ws;
      try {
        attempt.apply(frame);
        attempt.settle();
      } catch (err) {
        attempt.settle(err instanceof TetherError ? err : new TetherError('INTERNAL', String(err)));
      }
      return;
    }
    this.heartbeat?.received();
    this.dispatch(frame);
  }

  private startHeartbeat(ws: WebSocketLike, config: TransportConfig): void {
    this.heartbeat?.stop();
    this.heartbeat = new Heartbeat({
      clock: this.clock,
      intervalMs: config.heartbeatIntervalMs,
      timeoutMs: config.heartbeatTimeoutMs,
      sendBeat: () => {
        if (this.ws === ws) this.write(`{"t":"hb","ack":${this.lastSeq},"seq":${this.lastWritten}}`);
      },
      onDead: () => {
        if (this.ws === ws) this.transportLost('heartbeatTimeout');
      },
    });
  }

  // ------------------------------------------------------------------ frames in

  private welcomed(frame: WelcomeFrame): void {
    this.config = frame.config;
    this.secret = frame.secret;
    this.mediaMode = frame.session.mediaMode;
    this.lastSeq = 0;
    this.ackedSeq = 0;
    this.lastWritten = 0;
    const events = this.roster.welcome(frame);
    if (this.ws) this.startHeartbeat(this.ws, frame.config);
    const rejoined = this.rejoining;
    this.rejoining = false;
    this.setState('connected');
    this.watchNetwork();
    const { role: _role, ...connection } = frame.connection;
    if (rejoined) {
      this.emit('sessionReconnected', { rejoined: true, connection });
      // A fresh connection has none of the old streams: publish them again, drop old subscriptions.
      for (const s of [...this.subscribers]) s.end('networkDisconnected');
      for (const p of this.publishers) p.destroyed('networkDisconnected');
    } else this.emit('sessionConnected', { connection });
    for (const e of events) this.emit(e.name, e.event as never);
  }

  private resumed(frame: ResumedFrame): void {
    if (frame.seq < this.lastSeq)
      throw new TetherError(
        'RESUME_SEQUENCE_INVALID',
        `server is at ${frame.seq}, client applied ${this.lastSeq}`,
      );
    this.config = frame.config;
    this.ackedSeq = this.lastSeq;
    this.clearReconnectTimers();
    if (this.ws) this.startHeartbeat(this.ws, frame.config);
    this.setState('connected');
    // What the server did not apply goes again, with the same seq, in order, paced.
    this.lastWritten = frame.ack;
    this.outQueue = this.ops.unapplied(frame.ack);
    this.pump();
    this.emit('sessionReconnected', { rejoined: false, connection: this.roster.self as ConnectionInfo });
    for (const p of this.publishers) p.signallingBack();
    for (const s of this.subscribers) s.signallingBack();
  }

  private dispatch(frame: ServerFrame): void {
    switch (frame.t) {
      case 'hb':
        // Everything sent before this beat has arrived (one ordered stream), so a higher seq means frames were lost.
        if (frame.seq !== undefined && frame.seq > this.lastSeq) {
          this.emit('exception', {
            code: 'SEQUENCE_GAP',
            message: `server sent up to ${frame.seq}, received ${this.lastSeq}`,
          });
          this.transportLost('protocolError');
        }
        return;
      case 'ack':
        return;
      case 'error':
        if (frame.re !== undefined)
          this.ops.fail(
            frame.re,
            new TetherError(isErrorCode(frame.code) ? frame.code : 'INTERNAL', frame.message),
          );
        this.emit('exception', { code: frame.code, message: frame.message });
        return;
      case 'bye':
        this.end(frame.reason, isErrorCode(frame.code) ? frame.code : undefined);
        return;
      case 'welcome':
      case 'resumed':
        this.emit('exception', { code: 'FRAME_UNEXPECTED', message: `${frame.t} outside a handshake` });
        return;
      default:
        this.reliable(frame);
    }
  }

  private reliable(frame: ServerEventFrame): void {
    if (frame.seq <= this.lastSeq) return; // replayed, applied already
    if (frame.seq !== this.lastSeq + 1) {
      this.emit('exception', {
        code: 'SEQUENCE_GAP',
        message: `expected ${this.lastSeq + 1}, got ${frame.seq}`,
      });
      this.transportLost('protocolError');
      return;
    }
    this.lastSeq = frame.seq;
    this.scheduleAck();
    if (frame.t === 'reply') {
      if (frame.ok && frame.stream) this.roster.streams.set(frame.stream.streamId, frame.stream);
      this.ops.settle(frame);
      return;
    }
    if (frame.t === 'signal') {
      const event = {
        type: frame.type,
        data: frame.data,
        from: frame.from === null ? null : this.roster.lookup(frame.from),
        ...(frame.to !== undefined ? { to: frame.to } : {}),
      };
      this.emit('signal', event);
      this.emit(`signal:${frame.type}`, event);
      return;
    }
    if (frame.t === 'streamMedia') {
      for (const p of this.publishers)
        if (p.stream?.streamId === frame.streamId) p.mediaFlowing(frame.flowing);
      for (const s of this.subscribers)
        if (s.stream.streamId === frame.streamId) s.publisherFlowing(frame.flowing);
      return;
    }
    if (frame.t === 'mediaRelay') {
      this.mediaRelay(frame);
      return;
    }
    for (const e of this.roster.apply(frame)) this.emit(e.name, e.event as never);
    if (frame.t === 'streamDestroyed') {
      for (const p of this.publishers) if (p.stream?.streamId === frame.streamId) p.destroyed(frame.reason);
      for (const s of [...this.subscribers]) if (s.stream.streamId === frame.streamId) s.end(frame.reason);
    }
  }

  private mediaRelay(frame: Extract<ServerEventFrame, { t: 'mediaRelay' }>): void {
    const fail = (err: unknown) =>
      this.emit('exception', {
        code: err instanceof TetherError ? err.code : 'MEDIA_NEGOTIATION_FAILED',
        message: String(err),
      });
    if (frame.kind === 'offer') {
      for (const s of this.subscribers)
        if (s.id === frame.subscriptionId && frame.sdp) s.relayOffer(frame.sdp).catch(fail);
      return;
    }
    for (const p of this.publishers)
      if (p.stream?.streamId === frame.streamId)
        p.relay(frame.subscriptionId, frame.kind, frame.sdp).catch(fail);
  }

  // ------------------------------------------------------------------ reconnection

  private transportLost(cause: SessionEvents['sessionReconnecting']['cause']): void {
    if (this._state !== 'connected') return;
    this.dropSocket();
    this.setState('reconnecting');
    this.lostAt = this.clock.now();
    this.attempt = 0;
    const windowMs = this.windowMs();
    this.windowTimer = this.clock.setTimeout(
      () => this.end('networkDisconnected', 'NETWORK_DISCONNECTED'),
      windowMs,
    );
    this.emit('sessionReconnecting', { cause });
    this.scheduleRetry();
  }

  private windowMs(): number {
    const server = this.config?.reconnectWindowMs ?? 30_000;
    return Math.min(server, this.options.reconnectWindowMs ?? server);
  }

  private scheduleRetry(): void {
    if (this._state !== 'reconnecting') return;
    if (this.retryTimer !== undefined) this.clock.clearTimeout(this.retryTimer);
    const delay = this.policy.nextRetryDelayMs({
      attempt: this.attempt,
      elapsedMs: this.clock.now() - this.lostAt,
      windowMs: this.windowMs(),
    });
    if (delay === null) return this.end('networkDisconnected', 'NETWORK_DISCONNECTED');
    this.retryTimer = this.clock.setTimeout(() => {
      this.retryTimer = undefined;
      void this.tryResume();
    }, delay);
  }

  /** Retry now (the network came back): cancels a pending backoff and any attempt on the old path. */
  retryNow(): void {
    if (this._state !== 'reconnecting') return;
    if (this.retryTimer !== undefined) this.clock.clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    void this.tryResume();
  }

  private async tryResume(): Promise<void> {
    if (this._state !== 'reconnecting' || !this.roster.self || !this.secret) return;
    // An attempt that reached the server is left to finish; one still opening may be stuck on a dead path.
    if ([...this.attempts].some((a) => a.opened)) return this.scheduleRetry();
    this.attempt++;
    // The next attempt is scheduled now, not when this one fails: a dead path can hang it until its timeout.
    this.scheduleRetry();
    const frame = {
      t: 'resume',
      v: PROTOCOL_VERSION,
      sessionId: this.sessionId,
      connectionId: this.roster.self.connectionId,
      secret: this.secret,
      ack: this.lastSeq,
    };
    try {
      await this.handshake(frame, (answer) => {
        if (answer.t !== 'resumed')
          throw new TetherError('FRAME_UNEXPECTED', `expected resumed, got ${answer.t}`);
        this.resumed(answer);
      });
    } catch (err) {
      if (this._state !== 'reconnecting') return;
      const code = err instanceof TetherError ? err.code : 'CONNECT_FAILED';
      // A path that failed is retried on the schedule; a server that answered and refused is final.
      if (code === 'DISCONNECTED' || code === 'CONNECT_FAILED' || code === 'FRAME_UNEXPECTED') return;
      this.resumeRefused(code);
    }
  }

  private resumeRefused(code: ErrorCode): void {
    if (this.options.rejoinOnResumeFailure && this.token) {
      this.clearReconnectTimers();
      this.ops.reset(new TetherError(code, 'the connection was replaced by a fresh join'));
      this.roster.clear();
      this.setState('connecting');
      this.rejoining = true;
      this.join().catch((err: unknown) =>
        this.end('resumeFailed', err instanceof TetherError ? err.code : code),
      );
      return;
    }
    this.end(reasonForError(code) ?? 'resumeFailed', code);
  }

  private watchNetwork(): void {
    if (this.unwatchNetwork || this.options.watchNetwork === false) return;
    this.unwatchNetwork = networkWatcher({
      offline: () => this.transportLost('offline'),
      online: () => this.retryNow(),
    });
  }

  // ------------------------------------------------------------------ endings

  private end(reason: Reason, code?: ErrorCode): void {
    if (this._state === 'disconnected') return;
    this.abortAttempts();
    this.dropSocket();
    this.clearReconnectTimers();
    this.unwatchNetwork?.();
    this.unwatchNetwork = undefined;
    this.ops.reset(
      new TetherError(code && code !== 'LEFT' ? code : 'DISCONNECTED', `session ended: ${reason}`),
    );
    for (const p of this.publishers) p.stop(reason);
    for (const s of this.subscribers) s.end(reason);
    this.publishers.clear();
    this.subscribers.clear();
    this.roster.clear();
    this.setState('disconnected', code);
    this.emit('sessionDisconnected', { reason, ...(code ? { code } : {}) });
  }

  private dropSocket(): void {
    this.outQueue = [];
    if (this.pumpTimer !== undefined) this.clock.clearTimeout(this.pumpTimer);
    this.pumpTimer = undefined;
    this.heartbeat?.stop();
    this.heartbeat = undefined;
    if (this.ackTimer !== undefined) this.clock.clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    const ws = this.ws;
    this.ws = undefined;
    if (ws) kill(ws);
  }

  private clearReconnectTimers(): void {
    if (this.retryTimer !== undefined) this.clock.clearTimeout(this.retryTimer);
    if (this.windowTimer !== undefined) this.clock.clearTimeout(this.windowTimer);
    this.retryTimer = undefined;
    this.windowTimer = undefined;
  }

  private setState(next: SessionState, code?: ErrorCode): void {
    this._state = transition(this._state, next);
    const reasonless = { state: next, errorCode: code ? ERRORS[code].num : 0 } as const;
    this.emit('roomStateUpdate', reasonless);
  }
}

/** Drops a socket now: handlers off, no closing handshake on a path that may be dead. */
function kill(ws: WebSocketLike): void {
  ws.onopen = null;
  ws.onmessage = null;
  ws.onclose = null;
  ws.onerror = () => undefined;
  const terminate = (ws as { terminate?: () => void }).terminate;
  try {
    if (terminate) terminate.call(ws);
    else if (ws.readyState <= 1) ws.close();
  } catch {
    // closing a socket that is already gone
  }
}
