import {
  ERRORS,
  Session as TetherSession,
  TetherError,
  type ErrorCode,
  type ConnectionInfo,
  type SignalEvent as TetherSignal,
  type StreamInfo,
} from '@tether/client';
import { OTError, once, promiseOf, toOTError, type Callback } from './errors.js';
import { makeEvent } from './events.js';
import type { Connection, Stream } from './model.js';
import { Publisher, type PublisherProperties } from './publisher.js';
import { Registry } from './registry.js';
import {
  UNTYPED_SIGNAL,
  capabilitiesOf,
  type Capabilities,
  type ConnectionRef,
  type ExceptionSink,
  type PublisherRef,
  type SessionEvents,
  type SignalEvent,
  type StreamRef,
} from './session-types.js';
import { Subscriber, type SubscriberProperties } from './subscriber.js';
import { SessionUnsupported } from './unsupported.js';

/**
 * OpenTok's Session over the client SDK's: translates calls, events and errors, and keeps one
 * Connection / Stream object per id so that `event.from === session.connection` holds.
 * Reconnection is the client SDK's: it shows through as sessionReconnecting / sessionReconnected.
 */
export class Session extends SessionUnsupported<SessionEvents> {
  readonly sessionId: string;
  connection: Connection | undefined;
  capabilities: Capabilities = capabilitiesOf(undefined);
  /** @internal */
  readonly tether: TetherSession;
  private readonly registry = new Registry();
  private readonly publishers = new Map<string, Publisher>();
  private readonly subscribers = new Set<Subscriber>();

  constructor(
    readonly apiKey: string,
    sessionId: string,
    url: string,
    private readonly exception: ExceptionSink,
  ) {
    super();
    this.sessionId = sessionId;
    this.tether = new TetherSession({ url, sessionId });
    this.wire();
  }

  readonly connect: {
    (token: string, callback?: Callback): Session;
    promise(token: string): Promise<Session>;
  } = Object.assign(
    (token: string, callback?: Callback): Session => {
      const done = once(callback);
      this.tether.connect(token).then(
        () => done(),
        (err: unknown) => done(toOTError(err, 'connect')),
      );
      return this;
    },
    {
      promise: (token: string) =>
        promiseOf(
          (done) => this.connect(token, done),
          () => this,
        ),
    },
  );

  disconnect(): Promise<void> {
    this.tether.disconnect();
    return Promise.resolve();
  }

  /** Publishes a Publisher of `OT.initPublisher`, or makes one at `target` and publishes it. */
  readonly publish: {
    (publisher: PublisherRef, callback?: Callback): Publisher;
    (target?: HTMLElement | string, properties?: PublisherProperties, callback?: Callback): Publisher;
    promise(what?: PublisherRef | HTMLElement | string, properties?: PublisherProperties): Promise<Publisher>;
  } = Object.assign(
    (
      what?: PublisherRef | HTMLElement | string,
      properties?: PublisherProperties | Callback,
      callback?: Callback,
    ) => this.publishWith(what, properties, callback),
    {
      promise: (what?: PublisherRef | HTMLElement | string, properties?: PublisherProperties) => {
        let publisher: Publisher | undefined;
        return promiseOf(
          (done) => (publisher = this.publishWith(what, properties, done)),
          () => publisher!,
        );
      },
    },
  );

  private publishWith(
    what: PublisherRef | HTMLElement | string | undefined,
    properties: PublisherProperties | Callback | undefined,
    callback: Callback | undefined,
  ): Publisher {
    let publisher: Publisher;
    let done: Callback;
    if (what instanceof Publisher) {
      publisher = what;
      done = once(typeof properties === 'function' ? properties : callback);
    } else {
      if (typeof what === 'object' && !(what instanceof HTMLElement))
        throw new OTError(
          'OT_INVALID_PARAMETER',
          'publish(): pass a Publisher of OT.initPublisher, or a target element',
        );
      const props = typeof properties === 'object' ? properties : {};
      done = once(typeof properties === 'function' ? properties : callback);
      publisher = new Publisher(what, props);
    }
    if (this.tether.state !== 'connected') {
      const error = new OTError(
        'OT_NOT_CONNECTED',
        'publish() before the session is connected: call it in the connect callback',
      );
      // Never before publish() has returned the publisher the callback may refer to.
      queueMicrotask(() => done(error));
      return publisher;
    }
    publisher.publishTo(this).then(
      () => done(),
      (err: unknown) => done(toOTError(err, 'publish')),
    );
    return publisher;
  }

  unpublish(publisher: Publisher): void {
    publisher.unpublishFrom(this);
  }

  /** Subscribes to another client's stream; returns its Subscriber at once, `callback` once it plays. */
  readonly subscribe: {
    (
      stream: StreamRef,
      target?: HTMLElement | string | Callback,
      properties?: SubscriberProperties | Callback,
      callback?: Callback,
    ): Subscriber;
    promise(
      stream: StreamRef,
      target?: HTMLElement | string,
      properties?: SubscriberProperties,
    ): Promise<Subscriber>;
  } = Object.assign(
    (
      stream: StreamRef,
      target?: HTMLElement | string | Callback,
      properties?: SubscriberProperties | Callback,
      callback?: Callback,
    ) => this.subscribeWith(stream, target, properties, callback),
    {
      promise: (stream: StreamRef, target?: HTMLElement | string, properties?: SubscriberProperties) => {
        let subscriber: Subscriber | undefined;
        return promiseOf(
          (done) => (subscriber = this.subscribeWith(stream, target, properties, done)),
          () => subscriber!,
        );
      },
    },
  );

  private subscribeWith(
    stream: StreamRef,
    target: HTMLElement | string | Callback | undefined,
    properties: SubscriberProperties | Callback | undefined,
    callback: Callback | undefined,
  ): Subscriber {
    if (typeof target === 'function') [callback, target] = [target, undefined];
    if (typeof properties === 'function') [callback, properties] = [properties, undefined];
    const known = this.registry.knownStream(stream.streamId);
    if (!known)
      throw new OTError('OT_NOT_FOUND', `subscribe(): no stream ${stream.streamId} in this session`);
    const subscriber = new Subscriber(this, known, target, properties ?? {});
    this.subscribers.add(subscriber);
    subscriber.start(callback);
    return subscriber;
  }

  unsubscribe(subscriber: Subscriber): void {
    subscriber.unsubscribe();
  }

  /** Sends to everyone (this client included) or to `to`; queued while reconnecting unless `retryAfterReconnect: false`. */
  signal(
    signal: { type?: string; data?: string; to?: ConnectionRef; retryAfterReconnect?: boolean },
    callback?: Callback,
  ): Promise<void> {
    return this.call(
      'signal',
      () =>
        this.tether.signal(
          {
            type: signal.type || UNTYPED_SIGNAL,
            data: signal.data ?? '',
            ...(signal.to ? { to: signal.to.connectionId } : {}),
          },
          { retryAfterReconnect: signal.retryAfterReconnect ?? true },
        ),
      callback,
    );
  }

  forceDisconnect(connection: ConnectionRef, callback?: Callback): Promise<void> {
    return this.call('forceDisconnect', () => this.tether.forceDisconnect(connection.connectionId), callback);
  }

  forceUnpublish(stream: StreamRef, callback?: Callback): Promise<void> {
    return this.call('forceUnpublish', () => this.tether.forceUnpublish(stream.streamId), callback);
  }

  getPublisherForStream(stream: StreamRef): Publisher | undefined {
    return this.publishers.get(stream.streamId);
  }

  /**
   * Typed as OpenTok's typings type it (a one-element tuple); at run time, as in OpenTok, an
   * array, empty when nobody here subscribes to that stream.
   */
  getSubscribersForStream(stream: StreamRef): [Subscriber] {
    return [...this.subscribers].filter((s) => s.stream?.streamId === stream.streamId) as [Subscriber];
  }

  /** @internal The one Stream object of this stream. */
  streamFor(info: StreamInfo): Stream {
    return this.registry.stream(info);
  }

  /** @internal A publisher of this session got a stream, or lost it. */
  published(publisher: Publisher, stream: Stream | undefined): void {
    for (const [id, p] of this.publishers) if (p === publisher) this.publishers.delete(id);
    if (stream) this.publishers.set(stream.streamId, publisher);
  }

  /** @internal */
  subscriberEnded(subscriber: Subscriber): void {
    this.subscribers.delete(subscriber);
  }

  private connectionFor(id: string, info?: ConnectionInfo): Connection {
    return this.registry.connection(id, info);
  }

  private isMine(connectionId: string): boolean {
    return connectionId === this.connection?.connectionId;
  }

  /** A Tether call as OpenTok's: error-first callback once, and a promise (handled, so a callback-only app sees no unhandled rejection). */
  private call(op: 'signal' | 'forceDisconnect' | 'forceUnpublish', run: () => Promise<void>, cb?: Callback) {
    const done = once(cb);
    const result = run().then(
      () => done(),
      (err: unknown) => {
        const error = toOTError(err, op);
        done(error);
        throw error;
      },
    );
    result.catch(() => undefined);
    return result;
  }

  private wire(): void {
    const t = this.tether;
    t.on('sessionConnected', ({ connection }) => {
      this.registry.clear();
      this.connection = this.connectionFor(connection.connectionId, connection);
      this.capabilities = capabilitiesOf(t.role);
      // OpenTok's (deprecated) lists of who and what was there; connectionCreated / streamCreated follow for each.
      const mine = connection.connectionId;
      this.dispatch(
        makeEvent('sessionConnected', this, {
          connections: t.connections
            .filter((c) => c.connectionId !== mine)
            .map((c) => this.connectionFor(c.connectionId, c)),
          streams: t.streams.filter((x) => x.connectionId !== mine).map((x) => this.streamFor(x)),
        }),
      );
      // OpenTok reports one's own connection too.
      this.dispatch(makeEvent('connectionCreated', this, { connection: this.connection }));
    });
    t.on('sessionReconnecting', () => this.dispatch(makeEvent('sessionReconnecting', this, {})));
    t.on('sessionReconnected', ({ connection }) => {
      this.connection = this.connectionFor(connection.connectionId, connection);
      this.dispatch(makeEvent('sessionReconnected', this, {}));
    });
    t.on('sessionDisconnected', ({ reason }) => {
      const event = this.dispatch(makeEvent('sessionDisconnected', this, { reason }, true));
      // Cancelled: the subscribers' elements stay on the page (they are removed a microtask later).
      if (event.isDefaultPrevented()) for (const s of this.subscribers) s.keepElement = true;
      this.publishers.clear();
      this.capabilities = capabilitiesOf(undefined);
    });
    t.on('connectionCreated', ({ connection }) => {
      if (this.isMine(connection.connectionId)) return;
      const c = this.connectionFor(connection.connectionId, connection);
      this.dispatch(makeEvent('connectionCreated', this, { connection: c }));
    });
    t.on('connectionDestroyed', ({ connection, reason }) => {
      const c = this.connectionFor(connection.connectionId, connection);
      this.registry.forgetConnection(connection.connectionId);
      this.dispatch(makeEvent('connectionDestroyed', this, { connection: c, reason }));
    });
    t.on('streamCreated', ({ stream }) => {
      if (this.isMine(stream.connectionId)) return; // the Publisher reports its own
      this.dispatch(makeEvent('streamCreated', this, { stream: this.streamFor(stream) }));
    });
    t.on('streamDestroyed', ({ stream: info, reason }) => {
      const stream = this.streamFor(info);
      this.registry.forgetStream(info.streamId);
      if (this.isMine(info.connectionId)) return;
      const event = this.dispatch(makeEvent('streamDestroyed', this, { stream, reason }, true));
      if (event.isDefaultPrevented())
        for (const s of this.getSubscribersForStream(stream)) s.keepElement = true;
    });
    t.on('streamPropertyChanged', ({ stream: info, changedProperty, oldValue, newValue }) => {
      const stream = this.streamFor(info);
      stream[changedProperty] = newValue;
      this.dispatch(
        makeEvent('streamPropertyChanged', this, { stream, changedProperty, oldValue, newValue }),
      );
      if (changedProperty === 'hasVideo')
        for (const s of this.getSubscribersForStream(stream)) s.publisherVideo(newValue);
    });
    t.on('signal', (e: TetherSignal) => this.signalled(e));
    t.on('exception', ({ code, message }) => {
      const error = Object.hasOwn(ERRORS, code)
        ? toOTError(new TetherError(code as ErrorCode, message))
        : new OTError('OT_INTERNAL_ERROR', message);
      this.exception(error.code, message, `${error.name} (${code})`);
    });
    // Recording: OpenTok's session events, and every publisher's OT_archiving-on/off indicator.
    let running: { id: string; name: string } | undefined;
    t.on('archiveStarted', ({ id, name }) => {
      running = { id, name };
      for (const p of new Set(this.publishers.values())) p.setArchiving(true);
      this.dispatch(makeEvent('archiveStarted', this, { id, name }));
    });
    t.on('archiveStopped', ({ id }) => {
      const name = running?.id === id ? running.name : '';
      running = undefined;
      for (const p of new Set(this.publishers.values())) p.setArchiving(false);
      this.dispatch(makeEvent('archiveStopped', this, { id, name }));
    });
  }

  private signalled(e: TetherSignal): void {
    const untyped = e.type === UNTYPED_SIGNAL;
    const type = untyped ? 'signal' : (`signal:${e.type}` as const);
    const from = e.from ? this.connectionFor(e.from.connectionId, e.from) : null;
    const event = makeEvent(type, this, { data: e.data, from }) as SignalEvent;
    // Listeners of 'signal' get every signal; those of 'signal:<type>' their type's.
    this.dispatch(event, 'signal');
    if (!untyped) this.dispatch(event);
  }
}
