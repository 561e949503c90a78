import { OTError, once, promiseOf, type Callback } from './errors.js';
import { makeEvent, type EventOf } from './events.js';
import { Connection, Stream } from './model.js';
import { Publisher, acquire, type PublisherProperties } from './publisher.js';
import { Session } from './session.js';
import { Subscriber } from './subscriber.js';
import { OTUnsupported } from './unsupported.js';

export type ExceptionEvent = EventOf<'exception', OTGlobal, { code: number; message: string; title: string }>;

export interface Device {
  kind: 'audioInput' | 'videoInput';
  deviceId: string;
  label: string;
}

export interface ScreenSharingCapability {
  supported: boolean;
  extensionRequired: string | undefined;
  extensionInstalled: boolean;
  extensionRegistered: boolean;
  supportedSources: { screen: boolean; window: boolean; application: boolean; browser: boolean };
}

/** OpenTok's log levels (OT.setLogLevel). */
const LEVELS = { NONE: 0, ERROR: 1, WARN: 2, INFO: 3, LOG: 4, DEBUG: 5 } as const;

/**
 * The Tether server this script came from: `<script src="https://tether.example/sdk/opentok.js">`
 * talks to https://tether.example, whatever page loaded it. Read while the script runs.
 */
function serverUrl(): string {
  const script =
    typeof document !== 'undefined' ? (document.currentScript as HTMLScriptElement | null) : null;
  if (script?.src) return new URL(script.src).origin;
  return globalThis.location?.origin ?? '';
}

/** The global `OT`: OpenTok's entry points over Tether's client SDK. */
export class OTGlobal extends OTUnsupported<{ exception: ExceptionEvent }> {
  readonly NONE = LEVELS.NONE;
  readonly ERROR = LEVELS.ERROR;
  readonly WARN = LEVELS.WARN;
  readonly INFO = LEVELS.INFO;
  readonly LOG = LEVELS.LOG;
  readonly DEBUG = LEVELS.DEBUG;
  readonly Session = Session;
  readonly Publisher = Publisher;
  readonly Subscriber = Subscriber;
  readonly Connection = Connection;
  readonly Stream = Stream;
  readonly Error = OTError;
  /** Where sessions connect; from the script's origin. */
  readonly serverUrl: string;
  private logLevel: number = LEVELS.ERROR;

  constructor(url = serverUrl()) {
    super();
    this.serverUrl = url;
  }

  /** `apiKey` is kept for OpenTok's signature: the token names the project. */
  initSession(apiKey: string, sessionId: string, _options?: object): Session {
    if (typeof sessionId !== 'string' || sessionId === '')
      throw new OTError('OT_INVALID_SESSION_ID', 'initSession(apiKey, sessionId): the session id is missing');
    return new Session(String(apiKey), sessionId, this.serverUrl, (code, message, title) => {
      this.report(LEVELS.ERROR, `${title}: ${message}`);
      this.dispatch(makeEvent('exception', this, { code, message, title }));
    });
  }

  /** The camera preview, on the page at once; `session.publish(publisher)` later publishes it. */
  readonly initPublisher: {
    (
      target?: HTMLElement | string | Callback,
      properties?: PublisherProperties | Callback,
      callback?: Callback,
    ): Publisher;
    promise(target?: HTMLElement | string, properties?: PublisherProperties): Promise<Publisher>;
  } = Object.assign(
    (
      target?: HTMLElement | string | Callback,
      properties?: PublisherProperties | Callback,
      callback?: Callback,
    ): Publisher => {
      if (typeof target === 'function') [callback, target] = [target, undefined];
      if (typeof properties === 'function') [callback, properties] = [properties, undefined];
      return new Publisher(target ?? undefined, properties ?? {}, callback);
    },
    {
      promise: (target?: HTMLElement | string, properties?: PublisherProperties) => {
        let publisher: Publisher | undefined;
        return promiseOf(
          (done) => (publisher = this.initPublisher(target, properties, done)),
          () => publisher!,
        );
      },
    },
  );

  /** getUserMedia with OpenTok's publisher properties (audioSource, videoSource, resolution…). */
  getUserMedia(properties: PublisherProperties = {}): Promise<MediaStream> {
    return acquire(properties);
  }

  /** Screens, windows and tabs are shared with the browser's getDisplayMedia (no extension). */
  checkScreenSharingCapability(
    callback?: (response: ScreenSharingCapability) => void,
  ): Promise<ScreenSharingCapability> {
    const supported = typeof globalThis.navigator?.mediaDevices?.getDisplayMedia === 'function';
    const response: ScreenSharingCapability = {
      supported,
      extensionRequired: undefined,
      extensionInstalled: false,
      extensionRegistered: false,
      supportedSources: { screen: supported, window: supported, application: supported, browser: supported },
    };
    callback?.(response);
    return Promise.resolve(response);
  }

  /** Tether's media is VP8 video and Opus audio. */
  getSupportedCodecs(): Promise<{ videoEncoders: 'VP8'[]; videoDecoders: 'VP8'[] }> {
    return Promise.resolve({ videoEncoders: ['VP8'], videoDecoders: ['VP8'] });
  }

  getAudioOutputDevices(): Promise<{ deviceId: string; label: string }[]> {
    const media = globalThis.navigator?.mediaDevices;
    if (!media) return Promise.resolve([]);
    return media
      .enumerateDevices()
      .then((list) =>
        list.filter((d) => d.kind === 'audiooutput').map((d) => ({ deviceId: d.deviceId, label: d.label })),
      );
  }

  /** 1 when this browser has WebRTC and getUserMedia, else 0. */
  checkSystemRequirements(): number {
    const g = globalThis as { RTCPeerConnection?: unknown; navigator?: Navigator };
    return typeof g.RTCPeerConnection === 'function' && !!g.navigator?.mediaDevices?.getUserMedia ? 1 : 0;
  }

  upgradeSystemRequirements(): void {}

  /** Cameras and microphones (labels once the page has been allowed to use them). */
  getDevices(callback?: (error: OTError | undefined, devices?: Device[]) => void): Promise<Device[]> {
    const done = once(callback as Callback | undefined) as unknown as typeof callback;
    const media = globalThis.navigator?.mediaDevices;
    const result = (
      media
        ? media.enumerateDevices()
        : Promise.reject(new OTError('OT_NOT_SUPPORTED', 'no mediaDevices here'))
    ).then(
      (list) => {
        const devices: Device[] = [];
        for (const d of list)
          if (d.kind === 'audioinput' || d.kind === 'videoinput')
            devices.push({
              kind: d.kind === 'audioinput' ? 'audioInput' : 'videoInput',
              deviceId: d.deviceId,
              label: d.label,
            });
        (done as NonNullable<typeof callback> | undefined)?.(undefined, devices);
        return devices;
      },
      (err: unknown) => {
        const error = err instanceof OTError ? err : new OTError('OT_NOT_SUPPORTED', String(err));
        (done as NonNullable<typeof callback> | undefined)?.(error);
        throw error;
      },
    );
    result.catch(() => undefined);
    return result;
  }

  setLogLevel(level: number): void {
    this.logLevel = level;
  }

  log(message: string): void {
    this.report(LEVELS.LOG, message);
  }

  private report(level: number, message: string): void {
    if (level > this.logLevel) return;
    if (level <= LEVELS.ERROR) console.error(`OT: ${message}`);
    else if (level === LEVELS.WARN) console.warn(`OT: ${message}`);
    else console.log(`OT: ${message}`);
  }
}

export const OT = new OTGlobal();
