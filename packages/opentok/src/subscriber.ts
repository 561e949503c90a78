import type { Reason, Subscriber as TetherSubscriber } from '@tether/client';
import { once, toOTError, type Callback } from './errors.js';
import { makeEvent, type EventOf } from './events.js';
import type { Stream } from './model.js';
import type { Session } from './session.js';
import { SubscriberUnsupported, notSupported } from './unsupported.js';
import { Widget, type WidgetProperties } from './widget.js';

export interface SubscriberProperties extends WidgetProperties {
  subscribeToAudio?: boolean;
  subscribeToVideo?: boolean;
  audioVolume?: number;
}

export interface SubscriberEvents {
  videoElementCreated: EventOf<'videoElementCreated', Subscriber, { element: HTMLVideoElement }>;
  /** The stream dropped (on this side or the publisher's); the client SDK is recovering it. */
  disconnected: EventOf<'disconnected', Subscriber>;
  /** It plays again after a `disconnected`. */
  connected: EventOf<'connected', Subscriber>;
  destroyed: EventOf<'destroyed', Subscriber, { reason: string }>;
  videoEnabled: EventOf<'videoEnabled', Subscriber, { reason: string }>;
  videoDisabled: EventOf<'videoDisabled', Subscriber, { reason: string }>;
  audioBlocked: EventOf<'audioBlocked', Subscriber>;
}

/**
 * OpenTok's Subscriber: returned at once by `session.subscribe`, its element on the page with
 * `OT_loading` until the stream plays. Media and its recovery are the client SDK's Subscriber.
 */
export class Subscriber extends SubscriberUnsupported<SubscriberEvents> {
  stream: Stream | undefined;
  private readonly widget: Widget;
  private tether: TetherSubscriber | undefined;
  private ended = false;
  /** Set by the session when the application cancelled `streamDestroyed`: the element stays. */
  keepElement = false;
  private videoOn: boolean;
  private audioOn: boolean;
  private videoElementSent = false;
  /** Between a `disconnected` and the `connected` that ends it. */
  private interrupted = false;

  constructor(
    private readonly session: Session,
    stream: Stream,
    target: HTMLElement | string | undefined,
    props: SubscriberProperties,
  ) {
    super();
    this.stream = stream;
    this.videoOn = props.subscribeToVideo ?? true;
    this.audioOn = props.subscribeToAudio ?? true;
    this.widget = new Widget('subscriber', target, { name: stream.name, ...props });
    if (props.audioVolume !== undefined) this.widget.video.volume = clampVolume(props.audioVolume);
    this.widget.onAudioBlocked = () => this.dispatch(makeEvent('audioBlocked', this, {}));
  }

  get element(): HTMLElement | undefined {
    return this.widget.element;
  }
  get id(): string {
    return this.widget.id;
  }

  /** Stops or resumes showing the video (locally: the track is disabled); `videoDisabled` / `videoEnabled`. */
  readonly subscribeToVideo: { (value: boolean): Subscriber; promise(value: boolean): Promise<void> } =
    Object.assign(
      (value: boolean): Subscriber => {
        if (value === this.videoOn) return this;
        this.videoOn = value;
        this.enableTracks();
        this.dispatch(
          makeEvent(value ? 'videoEnabled' : 'videoDisabled', this, { reason: 'subscribeToVideo' }),
        );
        return this;
      },
      { promise: (value: boolean) => Promise.resolve(void this.subscribeToVideo(value)) },
    );

  readonly subscribeToAudio: { (value: boolean): Subscriber; promise(value: boolean): Promise<void> } =
    Object.assign(
      (value: boolean): Subscriber => {
        this.audioOn = value;
        this.enableTracks();
        return this;
      },
      { promise: (value: boolean) => Promise.resolve(void this.subscribeToAudio(value)) },
    );

  /** 0–100. */
  readonly setAudioVolume: { (value: number): Subscriber; promise(value: number): Promise<void> } =
    Object.assign(
      (value: number): Subscriber => {
        this.widget.video.volume = clampVolume(value);
        return this;
      },
      { promise: (value: number) => Promise.resolve(void this.setAudioVolume(value)) },
    );

  /** Not supported (the server sends every frame it has): a no-op, its promise rejects. */
  readonly restrictFrameRate: { (value: boolean): Subscriber; promise(value: boolean): Promise<void> } =
    Object.assign((_value: boolean): Subscriber => this, {
      promise: (_value: boolean) => notSupported('subscriber.restrictFrameRate()'),
    });

  getImgData(): string | null {
    return this.widget.imgData();
  }
  getAudioVolume(): number {
    return Math.round(this.widget.video.volume * 100);
  }
  isAudioBlocked(): boolean {
    return this.widget.video.muted;
  }
  videoWidth(): number | undefined {
    return this.widget.video.videoWidth || undefined;
  }
  videoHeight(): number | undefined {
    return this.widget.video.videoHeight || undefined;
  }

  /** @internal Subscribes through the client SDK; `callback` once it plays or fails. */
  start(callback: Callback | undefined): void {
    const done = once(callback);
    const stream = this.stream!;
    this.session.tether.subscribe(stream.info).then(
      (ts) => {
        if (this.ended) {
          // The application unsubscribed while this was on its way: it subscribed, and is ended.
          this.session.tether.unsubscribe(ts);
          done();
          return;
        }
        this.attach(ts);
        done();
      },
      (err: unknown) => {
        const error = toOTError(err, 'subscribe');
        if (!this.ended)
          this.end(error.tetherCode === 'NOT_CONNECTED' ? 'clientDisconnected' : 'networkDisconnected');
        done(error);
      },
    );
  }

  /** @internal The application unsubscribed. */
  unsubscribe(): void {
    if (this.tether) this.session.tether.unsubscribe(this.tether);
    else this.end('clientDisconnected');
  }

  /** @internal The publisher turned its video on or off. */
  publisherVideo(on: boolean): void {
    this.dispatch(makeEvent(on ? 'videoEnabled' : 'videoDisabled', this, { reason: 'publishVideo' }));
  }

  private attach(ts: TetherSubscriber): void {
    this.tether = ts;
    ts.on('track', () => this.render());
    ts.on('disconnected', () => {
      if (this.interrupted) return;
      this.interrupted = true;
      this.dispatch(makeEvent('disconnected', this, {}));
    });
    const resumed = () => {
      if (!this.interrupted) return;
      this.interrupted = false;
      this.dispatch(makeEvent('connected', this, {}));
    };
    ts.on('connected', resumed);
    // Given up and subscribed again (a new peer): playing again is the end of the interruption too.
    ts.on('stateChanged', ({ state }) => {
      if (state === 'playing') resumed();
    });
    ts.on('destroyed', ({ reason }) => this.end(reason));
    this.render();
  }

  /** Plays the subscriber's current tracks (they change when it subscribes again after a give-up). */
  private render(): void {
    const tracks = this.tether?.tracks ?? [];
    if (tracks.length === 0) return;
    const current = this.widget.video.srcObject as MediaStream | null;
    if (current && tracks.every((t) => current.getTrackById(t.id))) return;
    this.enableTracks(tracks);
    this.widget.play(new MediaStream(tracks));
    if (!this.videoElementSent) {
      this.videoElementSent = true;
      this.dispatch(makeEvent('videoElementCreated', this, { element: this.widget.video }));
    }
  }

  private enableTracks(tracks = this.tether?.tracks ?? []): void {
    for (const t of tracks) t.enabled = t.kind === 'video' ? this.videoOn : this.audioOn;
  }

  private end(reason: Reason | string): void {
    if (this.ended) return;
    this.ended = true;
    this.tether = undefined;
    this.dispatch(makeEvent('destroyed', this, { reason }));
    this.stream = undefined;
    // A microtask later: the session's cancelable streamDestroyed / sessionDisconnected that
    // ends this subscriber comes right after, and cancelling it keeps the element.
    queueMicrotask(() => {
      if (!this.keepElement) this.widget.remove();
      this.session.subscriberEnded(this);
    });
  }
}

function clampVolume(v: number): number {
  return Math.min(100, Math.max(0, v)) / 100;
}
