import { OTError } from './errors.js';
import { OTEventEmitter } from './events.js';

/**
 * Members OpenTok's classes have and the facade does not support (README, "Porting from
 * OpenTok", says why for each group). They exist so that an application calling one gets
 * OpenTok's own OT_NOT_SUPPORTED error — a rejected promise, or a neutral value for getters —
 * instead of a TypeError, and so that the facade's classes are whole OpenTok classes to the
 * type checker. Bases of Session, Publisher and Subscriber; nothing here does anything.
 */
export function notSupported(what: string): Promise<never> {
  return Promise.reject(
    new OTError(
      'OT_NOT_SUPPORTED',
      `${what} is not supported by Tether's OpenTok facade (see "Porting from OpenTok" in Tether's README)`,
    ),
  );
}

/** OpenTok's widget style, with its defaults (the facade's widgets have no style controls). */
const STYLE = {
  audioLevelDisplayMode: 'off',
  backgroundImageURI: '',
  buttonDisplayMode: 'off',
  nameDisplayMode: 'auto',
  videoDisabledDisplayMode: 'off',
} as const;

type Mode = 'auto' | 'on' | 'off';
type PublisherStyle = Omit<typeof STYLE, 'audioLevelDisplayMode'> & {
  audioLevelDisplayMode: Mode;
  buttonDisplayMode: Mode;
  nameDisplayMode: Mode;
  videoDisabledDisplayMode: Mode;
  archiveStatusDisplayMode: 'auto' | 'off';
};
type SubscriberStyle = Omit<PublisherStyle, 'archiveStatusDisplayMode'> & { audioBlockedDisplayMode: Mode };
type Connector = { setTrack(track: MediaStreamTrack): Promise<MediaStreamTrack>; destroy(): Promise<void> };

export class SessionUnsupported<Events extends object> extends OTEventEmitter<Events> {
  disableForceMute(): Promise<void> {
    return notSupported('session.disableForceMute()');
  }
  forceMuteStream(_stream: unknown): Promise<void> {
    return notSupported('session.forceMuteStream()');
  }
  forceMuteAll(_excludedStreams?: unknown[]): Promise<void> {
    return notSupported('session.forceMuteAll()');
  }
  setEncryptionSecret(_secret: string): Promise<void> {
    return notSupported('session.setEncryptionSecret()');
  }
  setIceConfig(_iceConfig: unknown): Promise<void> {
    return notSupported('session.setIceConfig()');
  }
}

/** What a publisher and a subscriber both lack. */
class WidgetUnsupported<Events extends object> extends OTEventEmitter<Events> {
  getStats(callback?: (error?: OTError, stats?: never) => void): Promise<never> {
    const result = notSupported('getStats()');
    result.catch((err: OTError) => callback?.(err));
    return result;
  }
  getRtcStatsReport(): Promise<never> {
    return notSupported('getRtcStatsReport()');
  }
  setStyle(_style: unknown, _value?: unknown): void {}
  setAudioMediaProcessorConnector(_connector: Connector | null): Promise<void> {
    return notSupported('setAudioMediaProcessorConnector()');
  }
  setVideoMediaProcessorConnector(_connector: Connector | null): Promise<void> {
    return notSupported('setVideoMediaProcessorConnector()');
  }
  setPreferredFrameRate(_frameRate: number): Promise<void> {
    return notSupported('setPreferredFrameRate()');
  }
  setPreferredResolution(_resolution: { width: number; height: number }): Promise<void> {
    return notSupported('setPreferredResolution()');
  }
}

export class PublisherUnsupported<Events extends object> extends WidgetUnsupported<Events> {
  getStyle(): PublisherStyle {
    return { ...STYLE, archiveStatusDisplayMode: 'auto' };
  }
  applyVideoFilter(_filter: unknown): Promise<void> {
    return notSupported('publisher.applyVideoFilter()');
  }
  getVideoFilter(): null {
    return null;
  }
  clearVideoFilter(): Promise<void> {
    return notSupported('publisher.clearVideoFilter()');
  }
  applyAudioFilter(_filter: unknown): Promise<void> {
    return notSupported('publisher.applyAudioFilter()');
  }
  clearAudioFilter(): Promise<void> {
    return notSupported('publisher.clearAudioFilter()');
  }
  getAudioFilter(): null {
    return null;
  }
  publishCaptions(_value: boolean): Promise<void> {
    return notSupported('publisher.publishCaptions()');
  }
  cycleVideo(): Promise<{ deviceId: string }> {
    return notSupported('publisher.cycleVideo()');
  }
  setAudioSource(_source: string | MediaStreamTrack): Promise<undefined> {
    return notSupported('publisher.setAudioSource()');
  }
  setVideoSource(_deviceId: string): Promise<undefined> {
    return notSupported('publisher.setVideoSource()');
  }
  getVideoContentHint(): '' {
    return '';
  }
  setVideoContentHint(_hint: 'text' | 'detail' | 'motion' | ''): Promise<void> {
    return notSupported('publisher.setVideoContentHint()');
  }
  setTargetScalabilityMode(_mode: string): void {}
  getTargetScalabilityMode(): undefined {
    return undefined;
  }
  setMaxVideoBitrate(_bitrateBps: number): Promise<void> {
    return notSupported('publisher.setMaxVideoBitrate()');
  }
  setVideoBitratePreset(_preset: 'default' | 'bw_saver' | 'extra_bw_saver'): Promise<void> {
    return notSupported('publisher.setVideoBitratePreset()');
  }
  getMaxVideoBitrate(): number {
    return 0;
  }
  getVideoBitratePreset(): 'default' {
    return 'default';
  }
}

export class SubscriberUnsupported<Events extends object> extends WidgetUnsupported<Events> {
  getStyle(): SubscriberStyle {
    return { ...STYLE, audioBlockedDisplayMode: 'auto' };
  }
  subscribeToCaptions(_value: boolean): Promise<void> {
    return notSupported('subscriber.subscribeToCaptions()');
  }
  isSubscribedToCaptions(): boolean {
    return false;
  }
  setCaptionsTranslationLanguage(_lang: string | null): Promise<void> {
    return notSupported('subscriber.setCaptionsTranslationLanguage()');
  }
  getCaptionsTranslationLanguage(): null {
    return null;
  }
}

/** OpenTok's global functions the facade does not support. */
export class OTUnsupported<Events extends object> extends OTEventEmitter<Events> {
  readonly hasMediaProcessorSupport: {
    (mediaType?: 'audio' | 'video' | 'both'): boolean;
    promise: (mediaType?: 'audio' | 'video' | 'both') => Promise<boolean>;
  } = Object.assign(() => false, { promise: () => Promise.resolve(false) });
  hasEndToEndEncryptionSupport(): boolean {
    return false;
  }
  setProxyUrl(_proxyUrl: string): void {}
  registerScreenSharingExtension(_kind: string, _id: string, _version: number): void {}
  reportIssue(callback?: (error?: OTError, reportId?: string) => void): Promise<string> {
    const result = notSupported('OT.reportIssue()');
    result.catch((err: OTError) => callback?.(err));
    return result;
  }
  setAudioOutputDevice(_deviceId: string): Promise<void> {
    return notSupported('OT.setAudioOutputDevice()');
  }
  getActiveAudioOutputDevice(): Promise<{ deviceId: string | null | undefined; label: string | null }> {
    return notSupported('OT.getActiveAudioOutputDevice()');
  }
  unblockAudio(): Promise<undefined> {
    return notSupported('OT.unblockAudio()');
  }
}
