import { Publisher as TetherPublisher, type Reason } from '@tether/client';
import { OTError, once, promiseOf, toOTError, type Callback } from './errors.js';
import { makeEvent, type EventOf } from './events.js';
import type { Stream } from './model.js';
import type { Session } from './session.js';
import { PublisherUnsupported } from './unsupported.js';
import { Widget, type WidgetProperties } from './widget.js';

export interface PublisherProperties extends WidgetProperties {
  name?: string;
  publishAudio?: boolean;
  publishVideo?: boolean;
  /** `false`/`null`: no microphone; a device id; or a track of the application's. */
  audioSource?: string | null | boolean | MediaStreamTrack;
  videoSource?: string | null | boolean | MediaStreamTrack;
  resolution?: `${number}x${number}`;
  frameRate?: 30 | 15 | 7 | 1;
  facingMode?: 'user' | 'environment' | 'left' | 'right';
}

export interface PublisherEvents {
  accessAllowed: EventOf<'accessAllowed', Publisher>;
  accessDenied: EventOf<'accessDenied', Publisher>;
  videoElementCreated: EventOf<'videoElementCreated', Publisher, { element: HTMLVideoElement }>;
  streamCreated: EventOf<'streamCreated', Publisher, { stream: Stream }>;
  streamDestroyed: EventOf<'streamDestroyed', Publisher, { stream: Stream; reason: string }>;
  destroyed: EventOf<'destroyed', Publisher>;
}

/**
 * OpenTok's Publisher: the camera preview from `OT.initPublisher` on (before any session), then
 * a published stream once `session.publish` is called. Media and its recovery are the client
 * SDK's Publisher, made from the preview's tracks.
 */
export class Publisher extends PublisherUnsupported<PublisherEvents> {
  accessAllowed = false;
  stream: Stream | undefined;
  session: Session | undefined;
  private readonly widget: Widget;
  private readonly media: Promise<MediaStream | undefined>;
  private mediaStream: MediaStream | undefined;
  private tether: TetherPublisher | undefined;
  private audioOn: boolean;
  private videoOn: boolean;
  private destroyedAlready = false;

  constructor(
    target: HTMLElement | string | undefined,
    private readonly props: PublisherProperties = {},
    callback?: Callback,
  ) {
    super();
    const done = once(callback);
    this.audioOn = props.publishAudio ?? true;
    this.videoOn = props.publishVideo ?? true;
    // A shared screen is shown as it is, not mirrored like a camera.
    this.widget = new Widget('publisher', target, isScreen(props) ? { mirror: false, ...props } : props);
    this.media = acquire(props).then(
      (ms) => {
        if (this.destroyedAlready) {
          for (const t of ms.getTracks()) t.stop();
          return undefined;
        }
        this.mediaStream = ms;
        for (const t of ms.getAudioTracks()) t.enabled = this.audioOn;
        for (const t of ms.getVideoTracks()) t.enabled = this.videoOn;
        this.accessAllowed = true;
        this.dispatch(makeEvent('accessAllowed', this, {}));
        this.widget.play(ms);
        this.dispatch(makeEvent('videoElementCreated', this, { element: this.widget.video }));
        done();
        return ms;
      },
      (err: unknown) => {
        const name = (err as Error)?.name;
        const denied = name === 'NotAllowedError' || name === 'SecurityError';
        this.dispatch(makeEvent('accessDenied', this, {}));
        done(
          new OTError(
            denied ? 'OT_USER_MEDIA_ACCESS_DENIED' : 'OT_NOT_SUPPORTED',
            `could not get the camera or microphone: ${(err as Error)?.message ?? String(err)}`,
          ),
        );
        return undefined;
      },
    );
  }

  get element(): HTMLElement | undefined {
    return this.destroyedAlready ? undefined : this.widget.element;
  }
  get id(): string {
    return this.widget.id;
  }

  /** Turns the microphone on or off; subscribers see `streamPropertyChanged`. */
  readonly publishAudio: { (value: boolean): Publisher; promise(value: boolean): Promise<void> } =
    Object.assign((value: boolean): Publisher => this.publishVideoOrAudio('audio', value), {
      promise: (value: boolean) =>
        promiseOf(
          (done) => this.publishVideoOrAudio('audio', value, done),
          () => undefined,
        ),
    });

  readonly publishVideo: {
    (value: boolean, callback?: Callback): Publisher;
    promise(value: boolean): Promise<void>;
  } = Object.assign(
    (value: boolean, callback?: Callback): Publisher => this.publishVideoOrAudio('video', value, callback),
    {
      promise: (value: boolean) =>
        promiseOf(
          (done) => this.publishVideoOrAudio('video', value, done),
          () => undefined,
        ),
    },
  );

  /** Stops publishing (if it does), stops the camera and takes the element off the page. */
  readonly destroy: { (): Publisher; promise(): Promise<void> } = Object.assign(
    (): Publisher => {
      if (this.destroyedAlready) return this;
      const session = this.session;
      if (session && this.tether) void session.tether.unpublish(this.tether).catch(() => undefined);
      this.finish();
      return this;
    },
    { promise: () => Promise.resolve(void this.destroy()) },
  );

  getImgData(): string | null {
    return this.widget.imgData();
  }
  getAudioSource(): MediaStreamTrack {
    return this.mediaStream?.getAudioTracks()[0] as MediaStreamTrack;
  }
  getVideoSource(): { deviceId: string | null; type: string | null; track: MediaStreamTrack | null } {
    const track = this.mediaStream?.getVideoTracks()[0] ?? null;
    return { deviceId: track?.getSettings().deviceId ?? null, type: track ? 'camera' : null, track };
  }

  videoWidth(): number | undefined {
    return this.widget.video.videoWidth || undefined;
  }
  videoHeight(): number | undefined {
    return this.widget.video.videoHeight || undefined;
  }

  /** @internal The archive indicator (see the archive hook in session.ts). */
  setArchiving(on: boolean): void {
    this.widget.setArchiving(on);
  }

  /** @internal Publishes into `host`'s session once the camera is there; resolves when the stream exists. */
  async publishTo(host: Session): Promise<void> {
    const ms = await this.media;
    if (!ms) throw new OTError('OT_USER_MEDIA_ACCESS_DENIED', 'the publisher has no camera or microphone');
    if (this.tether) throw new OTError('OT_INVALID_PARAMETER', 'this publisher is already published');
    this.session = host;
    const tp = new TetherPublisher({
      tracks: ms.getTracks(),
      name: this.props.name ?? '',
      audio: this.audioOn,
      video: this.videoOn,
      videoType: isScreen(this.props) ? 'screen' : 'camera',
    });
    this.tether = tp;
    tp.on('streamCreated', ({ stream }) => {
      // After a give-up on media, the client SDK publishes again: a new stream.
      if (this.stream?.streamId === stream.streamId) return;
      this.stream = host.streamFor(stream);
      host.published(this, this.stream);
      this.dispatch(makeEvent('streamCreated', this, { stream: this.stream }));
    });
    tp.on('streamDestroyed', ({ reason }) => this.streamEnded(reason));
    try {
      await host.tether.publish(tp);
    } catch (err) {
      this.tether = undefined;
      this.session = undefined;
      throw err;
    }
  }

  /** @internal The session unpublishes this publisher. */
  unpublishFrom(host: Session): void {
    const tp = this.tether;
    if (!tp) return;
    void host.tether.unpublish(tp).catch(() => undefined);
  }

  private streamEnded(reason: Reason): void {
    const stream = this.stream;
    if (!stream) return;
    this.stream = undefined;
    this.session?.published(this, undefined);
    const event = this.dispatch(makeEvent('streamDestroyed', this, { stream, reason }, true));
    // A stream given up on for the network is published again by the client SDK: keep the preview.
    if (reason === 'networkDisconnected') return;
    this.tether = undefined;
    this.session = undefined;
    if (!event.isDefaultPrevented()) this.finish();
  }

  private finish(): void {
    if (this.destroyedAlready) return;
    this.destroyedAlready = true;
    this.tether = undefined;
    this.session = undefined;
    for (const t of this.mediaStream?.getTracks() ?? []) t.stop();
    this.widget.remove();
    this.dispatch(makeEvent('destroyed', this, {}));
  }

  private publishVideoOrAudio(kind: 'audio' | 'video', on: boolean, callback?: Callback): Publisher {
    if (kind === 'audio') this.audioOn = on;
    else this.videoOn = on;
    const done = once(callback);
    this.apply(kind, on).then(
      () => done(),
      (err: unknown) => done(toOTError(err)),
    );
    return this;
  }

  private async apply(kind: 'audio' | 'video', on: boolean): Promise<void> {
    if (this.tether) {
      await (kind === 'audio' ? this.tether.publishAudio(on) : this.tether.publishVideo(on));
      return;
    }
    const ms = this.mediaStream;
    for (const t of (kind === 'audio' ? ms?.getAudioTracks() : ms?.getVideoTracks()) ?? []) t.enabled = on;
  }
}

/** getUserMedia with OpenTok's publisher properties. */
/** OpenTok's `videoSource` values that share a screen, a window or a tab instead of a camera. */
const SCREEN_SOURCES = new Set(['screen', 'window', 'application', 'browser']);

export function isScreen(props: PublisherProperties): boolean {
  return typeof props.videoSource === 'string' && SCREEN_SOURCES.has(props.videoSource);
}

export async function acquire(props: PublisherProperties): Promise<MediaStream> {
  const tracks: MediaStreamTrack[] = [];
  const media = globalThis.navigator?.mediaDevices;
  if (!media)
    throw new OTError('OT_NOT_SUPPORTED', 'this page has no getUserMedia (it needs https or localhost)');
  const screen = isScreen(props);
  if (screen) tracks.push(...(await media.getDisplayMedia({ video: true })).getVideoTracks());
  const audio = source(props.audioSource, tracks);
  let video = screen ? false : source(props.videoSource, tracks);
  if (typeof video === 'object') {
    if (props.resolution) {
      const [w, h] = props.resolution.split('x').map(Number);
      video = { ...video, width: { ideal: w! }, height: { ideal: h! } };
    }
    if (props.frameRate) video = { ...video, frameRate: { ideal: props.frameRate } };
    if (props.facingMode) video = { ...video, facingMode: props.facingMode };
  }
  if (audio === false && video === false) return new MediaStream(tracks);
  const ms = await media.getUserMedia({ audio, video });
  return new MediaStream([...tracks, ...ms.getTracks()]);
}

function source(
  value: PublisherProperties['audioSource'],
  given: MediaStreamTrack[],
): boolean | MediaTrackConstraints {
  if (value === false || value === null) return false;
  if (typeof value === 'string') return { deviceId: { exact: value } };
  if (value && typeof value === 'object') {
    given.push(value);
    return false;
  }
  return {};
}
