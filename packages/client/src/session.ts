import {
  ERRORS,
  Heartbeat,
  PROTOCOL_VERSION,
  TetherError,
  checkSignal,
  errorCodeForNumber,
  jsonCodec,
  msgpackCodec,
  errorNumber,
  isErrorCode,
  reasonForError,
  streamPropertiesSchema,
  systemClock,
  type ClientOp,
  type Clock,
  type Codec,
  type ConnectionInfo,
  type ErrorCode,
  type PeerConnection,
  type Reason,
  type Role,
  type ServerEventFrame,
  type ServerFrame,
  type StreamInfo,
  type StreamPropertiesInput,
  type TransportConfig,
  type Wire,
} from '@tether/protocol';
import { Emitter } from './emitter.js';
import type { SessionEvents } from './events.js';
import { Endpoints } from './endpoints.js';
import { Handshaker, kill } from './handshake.js';
import { MediaRouter } from './media-router.js';
import { Publisher, type PublisherOptions } from './media/publisher.js';
import type { Subscriber } from './media/subscriber.js';
import { DEFAULT_QUEUE_LIMITS, type OpResult } from './pending-ops.js';
import {
  BackoffPolicy,
  FIRST_CONNECT_TIMEOUT_MS,
  attemptTimeoutMs,
  isRetryable,
} from './reconnect-policy.js';
import { Reconnector } from './reconnector.js';
import {
  decodeRecoveryKey,
  encodeRecoveryKey,
  onPageLeave,
  sessionStorageStore,
  type RecoveryState,
  type RecoveryStore,
} from './recovery.js';
import { ReliableChannel } from './reliable-channel.js';
import { Roster } from './roster.js';
import { transition, type SessionState } from './session-state.js';
import type { SendOptions, SessionOptions, SignalOptions } from './session-options.js';
import { defaultWebSocket, type WebSocketLike } from './socket.js';

/**
 * A client's membership of one session: the public API. Survives network drops by itself —
 * the Handshaker opens transports, the ReliableChannel numbers, paces, acknowledges and
 * replays frames, the Reconnector decides when to retry and when to give up, and the
 * MediaRouter keeps publishers and subscribers in step with the connection.
 */
export class Session extends Emitter<SessionEvents> {
  readonly sessionId: string;
  private _state: SessionState = 'disconnected';
  private readonly roster = new Roster();
  private readonly clock: Clock;
  private readonly channel: ReliableChannel;
  private readonly handshaker: Handshaker;
  /** The servers this session may use (one URL, or a cluster's nodes). */
  private readonly endpoints: Endpoints;
  private readonly reconnector: Reconnector;
  private readonly media: MediaRouter;
  private config: TransportConfig | undefined;
  private mediaMode: 'routed' | 'relayed' = 'routed';
  private token: string | undefined;
  /** The role the token gave this connection (from the welcome); undefined before a join. */
  private _role: Role | undefined;
  private secret: string | undefined;
  /** The codec asked for in handshakes, and the one the server chose for this transport. */
  private readonly preferredCodec: Codec;
  private codec: Codec = jsonCodec;
  /** The transport: the socket that won the last handshake. */
  private ws: WebSocketLike | undefined;
  private heartbeat: Heartbeat | undefined;
  /** A refused resume is being replaced by a fresh join. */
  private rejoining = false;
  /** Where `recover: true` keeps the recovery key (this tab's sessionStorage). */
  private readonly store: RecoveryStore | undefined;
  private unwatchPage: (() => void) | undefined;
  /** The last transport's round-trip allowance: how long the next attempts may take. */
  private rttAllowanceMs = 0;

  constructor(private readonly options: SessionOptions) {
    super();
    this.sessionId = options.sessionId;
    this.store = options.recover ? sessionStorageStore(options.sessionId) : undefined;
    this.preferredCodec = options.codec ?? jsonCodec;
    const clock = (this.clock = options.clock ?? systemClock);
    this.channel = new ReliableChannel(clock, { ...DEFAULT_QUEUE_LIMITS, ...options.queue });
    this.endpoints = new Endpoints(options.url);
    this.handshaker = new Handshaker({
      clock,
      endpoints: this.endpoints,
      WebSocket: async () => options.WebSocket ?? (await defaultWebSocket()),
      active: () => this._state !== 'disconnected',
      message: (ws, data) => this.onMessage(ws, data),
      closed: (ws, code, reason) => this.onClose(ws, code, reason),
      invalid: (code, message) => this.emit('exception', { code, message }),
    });
    this.reconnector = new Reconnector({
      clock,
      policy: options.reconnectPolicy ?? new BackoffPolicy(),
      windowMs: () => this.windowMs(),
      rejoinOnResumeFailure: options.rejoinOnResumeFailure === true,
      watchNetwork: options.watchNetwork !== false,
      resume: () => this.resume(),
      attemptReachedServer: () => this.handshaker.reachedServer,
      // Two gaps hold four round trips of the last transport: a slow path's handshake finishes.
      minRetryGapMs: () => 2 * this.rttAllowanceMs,
      offline: () => this.transportLost('offline'),
      rejoin: (code) => this.rejoin(code),
      end: (reason, code) => this.end(reason, code),
    });
    this.media = new MediaRouter({
      clock,
      ...(options.rtc ? { rtc: options.rtc } : {}),
      iceServers: options.iceServers ?? [],
      routed: () => this.mediaMode === 'routed',
      mediaWindowMs: () => {
        const server = this.config?.mediaWindowMs ?? 20_000;
        return Math.min(server, options.mediaWindowMs ?? server);
      },
      connected: () => this._state === 'connected',
      request: (op) => this.send(op, {}),
      exception: (code, message) => this.emit('exception', { code, message }),
    });
  }

  get state(): SessionState {
    return this._state;
  }
  /** This client's connection, once connected. */
  get connection(): ConnectionInfo | undefined {
    return this.roster.self;
  }
  /** What this connection may do (its token's role), once joined. */
  get role(): Role | undefined {
    return this._role;
  }
  /** Every connection in the session, this one included; `reconnecting` marks the ones inside their window. */
  get connections(): PeerConnection[] {
    return [...this.roster.connections.values()];
  }
  get streams(): StreamInfo[] {
    return [...this.roster.streams.values()];
  }

  /** The session's running archive, if it is being recorded (`archiveStarted` / `archiveStopped`). */
  get archive(): { id: string; name: string } | undefined {
    return this.roster.archive && { ...this.roster.archive };
  }

  /**
   * Joins the session. Resolves once `sessionConnected` has been emitted. With a recovery key
   * (given, or kept in sessionStorage with `recover: true`) it first resumes the connection
   * a previous page or process left inside its window; if that is refused it joins afresh.
   */
  async connect(token: string, options: { recoveryKey?: string } = {}): Promise<void> {
    if (this._state !== 'disconnected')
      throw new TetherError('INVALID_STATE', `connect() while ${this._state}`);
    const key = options.recoveryKey ?? this.store?.load() ?? undefined;
    const recovery = key === undefined ? undefined : decodeRecoveryKey(key, this.sessionId);
    this.token = token;
    this.setState('connecting');
    try {
      if (!recovery || !(await this.recover(recovery))) await this.firstJoin();
    } catch (err) {
      if ((this._state as SessionState) === 'connecting')
        this.setState('disconnected', err instanceof TetherError ? err.code : 'CONNECT_FAILED');
      throw err;
    }
  }

  /**
   * What a new page or process needs to resume this connection (`connect(token, {recoveryKey})`)
   * inside its window: keep it as safely as the token, it holds the connection's secret.
   * Undefined when not connected.
   */
  recoveryKey(): string | undefined {
    const self = this.roster.self;
    if (!self || !this.secret || !this.config || this._state === 'disconnected') return undefined;
    return encodeRecoveryKey({
      v: 1,
      sessionId: this.sessionId,
      connectionId: self.connectionId,
      secret: this.secret,
      mediaMode: this.mediaMode,
      config: this.config,
      ...this.channel.snapshot(),
      self,
      connections: [...this.roster.connections.values()],
      streams: [...this.roster.streams.values()],
      ...(this.roster.archive ? { archive: { ...this.roster.archive } } : {}),
    });
  }

  /** Leaves the session; also stops a reconnection in progress. */
  disconnect(): void {
    if (this._state === 'disconnected') return;
    if (this._state === 'connected' && this.ws) {
      this.channel.writeRaw({ t: 'leave' });
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
      return this.media.publish(what);
    }
    const parsed = streamPropertiesSchema.safeParse(what);
    if (!parsed.success) throw new TetherError('INVALID_ARGUMENT', parsed.error.issues[0]?.message);
    const result = await this.send({ t: 'publish', stream: parsed.data }, options);
    if (!result.stream) throw new TetherError('INTERNAL', 'publish reply without a stream');
    return result.stream;
  }

  /** Subscribes to a stream; resolves when it plays. Events on the subscriber say when it drops and returns. */
  async subscribe(stream: StreamInfo): Promise<Subscriber> {
    if (this._state !== 'connected') throw new TetherError('NOT_CONNECTED');
    return this.media.subscribe(stream);
  }

  unsubscribe(subscriber: Subscriber): void {
    this.media.unsubscribe(subscriber);
  }

  async unpublish(what: Publisher | string, options: SendOptions = {}): Promise<void> {
    if (what instanceof Publisher) {
      const streamId = this.media.unpublish(what);
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
    return this.channel.send(op);
  }

  // ------------------------------------------------------------------ transports

  /** The first join: each server of the list in turn, while they fail on their path. */
  private async firstJoin(): Promise<void> {
    for (let tries = this.endpoints.all.length; ;) {
      try {
        return await this.join();
      } catch (err) {
        const pathFailure =
          err instanceof TetherError && isRetryable(err.code) && err.code !== 'DISCONNECTED';
        if (--tries === 0 || !pathFailure || this._state !== 'connecting') throw err;
      }
    }
  }

  private join(): Promise<void> {
    const first = JSON.stringify({
      t: 'connect',
      v: PROTOCOL_VERSION,
      sessionId: this.sessionId,
      token: this.token ?? '',
      ...this.codecRequest(),
    });
    return this.handshaker.open(first, this.attemptTimeoutMs(), (ws, frame, rttMs) => {
      if (frame.t !== 'welcome')
        throw new TetherError('FRAME_UNEXPECTED', `expected welcome, got ${frame.t}`);
      this.config = frame.config;
      this.secret = frame.secret;
      this.mediaMode = frame.session.mediaMode;
      this.attachTransport(ws, frame.config, frame.codec, 'fresh', rttMs);
      this.channel.confirm();
      const events = this.roster.welcome(frame);
      const rejoined = this.rejoining;
      this.rejoining = false;
      this.setState('connected');
      this.connected();
      const { role, ...connection } = frame.connection;
      this._role = role;
      if (rejoined) {
        this.emit('sessionReconnected', { rejoined: true, connection });
        this.media.rejoined();
      } else this.emit('sessionConnected', { connection });
      for (const e of events) this.emit(e.name, e.event as never);
    });
  }

  /** Resumes a connection from a recovery key; false when the server refused it. */
  private async recover(state: RecoveryState): Promise<boolean> {
    this.config = state.config;
    this.secret = state.secret;
    this.mediaMode = state.mediaMode;
    this.channel.restore(state.received, state.opSeq, state.pending);
    const first = JSON.stringify({
      t: 'resume',
      v: PROTOCOL_VERSION,
      sessionId: this.sessionId,
      connectionId: state.connectionId,
      secret: state.secret,
      ack: state.received,
      ...this.codecRequest(),
    });
    const accept = (ws: WebSocketLike, frame: ServerFrame, rttMs: number) => {
      if (frame.t !== 'resumed')
        throw new TetherError('FRAME_UNEXPECTED', `expected resumed, got ${frame.t}`);
      this.config = frame.config;
      this.attachTransport(ws, frame.config, frame.codec, { ack: frame.ack, seq: frame.seq }, rttMs);
      const events = this.roster.restore(state.self, state.connections, state.streams, state.archive);
      this.setState('connected');
      this.connected();
      this.emit('sessionConnected', { connection: state.self, recovered: true });
      for (const e of events) this.emit(e.name, e.event as never);
      // Media does not survive the page that made it: its streams end, the app publishes anew.
      for (const stream of state.streams)
        if (stream.connectionId === state.self.connectionId)
          void this.unpublish(stream.streamId).catch(() => undefined);
    };
    // A path that fails is retried on the policy's schedule inside the window, as for any
    // drop: joining afresh would drop the connection the server still keeps for this page.
    const policy = this.options.reconnectPolicy ?? new BackoffPolicy();
    const start = this.clock.now();
    for (let attempt = 0; ; attempt++) {
      try {
        await this.handshaker.open(first, this.attemptTimeoutMs(), accept);
        return true;
      } catch (err) {
        if (this._state === 'disconnected') throw err;
        const code = err instanceof TetherError ? err.code : 'CONNECT_FAILED';
        const delay = isRetryable(code)
          ? policy.nextRetryDelayMs({
              attempt: attempt + 1,
              elapsedMs: this.clock.now() - start,
              windowMs: state.config.reconnectWindowMs,
            })
          : null;
        if (delay === null) {
          this.channel.reset(new TetherError('DISCONNECTED', 'recovery refused'));
          this.roster.clear();
          this.secret = undefined;
          this.store?.clear();
          if (isRetryable(code)) throw err; // never reached the server inside the window
          return false;
        }
        await new Promise<void>((resolve) => this.clock.setTimeout(resolve, delay));
      }
    }
  }

  private resume(): Promise<void> {
    const self = this.roster.self;
    if (this._state !== 'reconnecting' || !self || !this.secret) return Promise.resolve();
    const first = JSON.stringify({
      t: 'resume',
      v: PROTOCOL_VERSION,
      sessionId: this.sessionId,
      connectionId: self.connectionId,
      secret: this.secret,
      ack: this.channel.received,
      ...this.codecRequest(),
    });
    return this.handshaker.open(first, this.attemptTimeoutMs(), (ws, frame, rttMs) => {
      if (frame.t !== 'resumed')
        throw new TetherError('FRAME_UNEXPECTED', `expected resumed, got ${frame.t}`);
      this.config = frame.config;
      this.attachTransport(ws, frame.config, frame.codec, { ack: frame.ack, seq: frame.seq }, rttMs);
      this.reconnector.succeeded();
      this.setState('connected');
      this.emit('sessionReconnected', { rejoined: false, connection: self });
      this.media.resumed();
    });
  }

  private codecRequest(): { codec?: Codec['name'] } {
    return this.preferredCodec === jsonCodec ? {} : { codec: this.preferredCodec.name };
  }

  /** A connection is established (joined or recovered): watch the network, keep the key on leaving. */
  private connected(): void {
    this.reconnector.watch();
    const store = this.store;
    if (store && !this.unwatchPage)
      this.unwatchPage = onPageLeave(() => {
        const key = this.recoveryKey();
        if (key) store.save(key);
      });
  }

  /** The socket that won a handshake becomes the transport; the channel writes on it. */
  private attachTransport(
    ws: WebSocketLike,
    config: TransportConfig,
    codecName: Codec['name'] | undefined,
    position: 'fresh' | { ack: number; seq: number },
    rttMs: number,
  ): void {
    // The server names the codec it chose; an older one names none and speaks JSON.
    const codec = codecName === 'msgpack' ? msgpackCodec : jsonCodec;
    const sink = (data: Wire): boolean => {
      if (this.ws !== ws) return false;
      this.heartbeat?.sent();
      try {
        ws.send(data);
        return true;
      } catch {
        this.transportLost('socketClosed');
        return false;
      }
    };
    // A refused resume position leaves no trace: checked before anything changes.
    if (position !== 'fresh') this.channel.checkResume(position.seq);
    this.ws = ws;
    this.heartbeat?.stop();
    this.heartbeat = new Heartbeat({
      clock: this.clock,
      intervalMs: config.heartbeatIntervalMs,
      timeoutMs: config.heartbeatTimeoutMs,
      ...(config.heartbeatTimeoutMaxMs ? { maxTimeoutMs: config.heartbeatTimeoutMaxMs } : {}),
      sendBeat: () => {
        if (this.ws === ws) this.channel.beat();
      },
      onDead: () => {
        if (this.ws === ws) this.transportLost('heartbeatTimeout');
      },
    });
    // Until the server reports its own measurement, the handshake is the one round trip known.
    this.heartbeat.sample(rttMs);
    this.codec = codec;
    if (position === 'fresh') this.channel.attachFresh(sink, codec, config.ackDelayMs);
    else this.channel.attachResumed(sink, codec, config.ackDelayMs, position.ack);
  }

  private attemptTimeoutMs(): number {
    if (this.options.attemptTimeoutMs !== undefined) return this.options.attemptTimeoutMs;
    return this.config ? attemptTimeoutMs(this.config, this.rttAllowanceMs) : FIRST_CONNECT_TIMEOUT_MS;
  }

  private onClose(ws: WebSocketLike, code: number, _reason: string): void {
    if (ws !== this.ws) return;
    const ending = errorCodeForNumber(code);
    if (ending && reasonForError(ending) && code !== errorNumber('LEFT')) {
      // A close code that ends the connection on purpose (the bye frame may have been lost).
      this.end(reasonForError(ending) as Reason, ending);
      return;
    }
    if (ending === 'SERVER_DRAINING') {
      // That node is going away: the resume goes to the next one at once.
      this.endpoints.failed(this.endpoints.current);
      this.transportLost('serverDraining');
      return;
    }
    this.transportLost('socketClosed');
  }

  private onMessage(ws: WebSocketLike, data: Wire): void {
    if (ws !== this.ws) return;
    const decoded = this.codec.decodeServer(data);
    if (!decoded.ok) {
      this.emit('exception', { code: decoded.code, message: `from server: ${decoded.message}` });
      return;
    }
    this.heartbeat?.received();
    this.dispatch(decoded.frame);
  }

  // ------------------------------------------------------------------ frames in

  private dispatch(frame: ServerFrame): void {
    switch (frame.t) {
      case 'hb':
        // Answered at once, so the server measures the round trip; its estimate comes back in `rtt`.
        if (frame.ping !== undefined) this.channel.beat(frame.ping);
        if (frame.rtt !== undefined) this.heartbeat?.report(frame.rtt);
        // Everything sent before this beat has arrived (one ordered stream), so a higher seq means frames were lost.
        if (this.channel.lostFrames(frame.seq)) {
          this.emit('exception', {
            code: 'SEQUENCE_GAP',
            message: `server sent up to ${frame.seq}, received ${this.channel.received}`,
          });
          this.transportLost('protocolError');
        }
        return;
      case 'ack':
        return;
      case 'error':
        if (frame.re !== undefined)
          this.channel.fail(
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
    const arrival = this.channel.arrive(frame.seq);
    if (arrival === 'replayed') return; // applied already
    if (arrival === 'gap') {
      this.emit('exception', {
        code: 'SEQUENCE_GAP',
        message: `expected ${this.channel.received + 1}, got ${frame.seq}`,
      });
      this.transportLost('protocolError');
      return;
    }
    if (frame.t === 'reply') {
      if (frame.ok && frame.stream) this.roster.streams.set(frame.stream.streamId, frame.stream);
      this.channel.settle(frame);
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
    if (this.media.frame(frame)) return;
    for (const e of this.roster.apply(frame)) this.emit(e.name, e.event as never);
    if (frame.t === 'streamDestroyed') this.media.streamEnded(frame.streamId, frame.reason);
  }

  // ------------------------------------------------------------------ reconnection

  private transportLost(cause: SessionEvents['sessionReconnecting']['cause']): void {
    if (this._state !== 'connected') return;
    this.dropTransport();
    this.setState('reconnecting');
    this.emit('sessionReconnecting', { cause });
    this.reconnector.start();
  }

  private windowMs(): number {
    const server = this.config?.reconnectWindowMs ?? 30_000;
    return Math.min(server, this.options.reconnectWindowMs ?? server);
  }

  /** Retry now (the network came back): cancels a pending backoff and any attempt on the old path. */
  retryNow(): void {
    this.reconnector.retryNow();
  }

  private rejoin(code: ErrorCode): void {
    this.channel.reset(new TetherError(code, 'the connection was replaced by a fresh join'));
    this.roster.clear();
    this.setState('connecting');
    this.rejoining = true;
    this.join().catch((err: unknown) =>
      this.end('resumeFailed', err instanceof TetherError ? err.code : code),
    );
  }

  // ------------------------------------------------------------------ endings

  private end(reason: Reason, code?: ErrorCode): void {
    if (this._state === 'disconnected') return;
    this.handshaker.abort();
    this.dropTransport();
    this.reconnector.stop();
    this.unwatchPage?.();
    this.unwatchPage = undefined;
    this.store?.clear();
    this.channel.reset(
      new TetherError(code && code !== 'LEFT' ? code : 'DISCONNECTED', `session ended: ${reason}`),
    );
    this.media.ended(reason);
    this.roster.clear();
    this.setState('disconnected', code);
    this.emit('sessionDisconnected', { reason, ...(code ? { code } : {}) });
  }

  private dropTransport(): void {
    this.channel.detach();
    if (this.heartbeat) this.rttAllowanceMs = this.heartbeat.allowanceMs;
    this.heartbeat?.stop();
    this.heartbeat = undefined;
    const ws = this.ws;
    this.ws = undefined;
    if (ws) kill(ws);
  }

  private setState(next: SessionState, code?: ErrorCode): void {
    this._state = transition(this._state, next);
    const reasonless = { state: next, errorCode: code ? ERRORS[code].num : 0 } as const;
    this.emit('roomStateUpdate', reasonless);
  }
}
