// The facade's public types against the official OpenTok.js typings (@opentok/client's .d.ts,
// a devDependency: types only, its code is never used). Checked by `tsc -p` in
// ../typings.test.ts: every assignment below must compile. What OpenTok has and the facade does
// not is listed in README's "Porting from OpenTok".
import type OTNS from '@opentok/client';
import type {
  Connection,
  OTGlobal,
  Publisher,
  PublisherEvents,
  Session,
  SessionEvents,
  Stream,
  Subscriber,
  SubscriberEvents,
} from '../../src/index.js';

declare const ot: OTGlobal;
declare const session: Session;
declare const publisher: Publisher;
declare const subscriber: Subscriber;
declare const sessionEvents: SessionEvents;
declare const publisherEvents: PublisherEvents;
declare const subscriberEvents: SubscriberEvents;
declare const otSession: OTNS.Session;
declare const otPublisher: OTNS.Publisher;
declare const otSubscriber: OTNS.Subscriber;

// ------------------------------------------------------------------ data objects
export const connection: OTNS.Connection = {} as Connection;
export const stream: OTNS.Stream = {} as Stream;

// ------------------------------------------------------------------ OT
// Every function of OpenTok's namespace (its classes are checked as whole classes below; its
// emitter base classes are internal to its typings).
type OTClasses = 'Session' | 'Publisher' | 'Subscriber' | 'Connection' | 'Stream';
export const otMembers: Omit<typeof OTNS, OTClasses | 'OTEventEmitter' | 'SessionOTEventEmitter'> = ot;
export const initSession: (apiKey: string, sessionId: string) => Session = ot.initSession;
export const initPublisher: (
  target?: HTMLElement | string,
  props?: OTNS.PublisherProperties,
  cb?: (error?: OTNS.OTError) => void,
) => Publisher = ot.initPublisher;
ot.on('exception', (e) => {
  const ok: OTNS.ExceptionEvent = e;
  void ok;
});

// ------------------------------------------------------------------ whole classes
// Every member OpenTok's classes have: the facade's own, and those it answers with
// OT_NOT_SUPPORTED (src/unsupported.ts).
export const wholeSession: OTNS.Session = session;
export const wholePublisher: OTNS.Publisher = publisher;
export const wholeSubscriber: OTNS.Subscriber = subscriber;

// ------------------------------------------------------------------ Session
export const sessionMembers: Pick<
  OTNS.Session,
  'sessionId' | 'connection' | 'capabilities' | 'disconnect' | 'forceDisconnect' | 'forceUnpublish' | 'signal'
> = session;
export const connect: (token: string, cb: (error?: OTNS.OTError) => void) => Session = session.connect;
export const publishTarget: (
  target: string | HTMLElement,
  props?: OTNS.PublisherProperties,
  cb?: (error?: OTNS.OTError) => void,
) => Publisher = session.publish;
export const publishPublisher: (publisher: Publisher, cb?: (error?: OTNS.OTError) => void) => Publisher =
  session.publish;
export const subscribe: (
  stream: OTNS.Stream,
  target?: HTMLElement | string,
  props?: OTNS.SubscriberProperties,
  cb?: (error?: OTNS.OTError) => void,
) => Subscriber = session.subscribe;
export const getPublisherForStream: (stream: OTNS.Stream) => Publisher | undefined =
  session.getPublisherForStream;
export const getSubscribersForStream: (stream: OTNS.Stream) => Subscriber[] = session.getSubscribersForStream;
export const unpublish: (publisher: Publisher) => void = session.unpublish;
export const unsubscribe: (subscriber: Subscriber) => void = session.unsubscribe;
session.on({ sessionConnected: () => undefined }, {});
session.off();

// Each event the facade dispatches is what OpenTok's typings say a handler of that name receives.
otSession.on('sessionConnected', (_e) => void ((): typeof _e => sessionEvents.sessionConnected));
otSession.on('sessionReconnecting', (_e) => void ((): typeof _e => sessionEvents.sessionReconnecting));
otSession.on('sessionReconnected', (_e) => void ((): typeof _e => sessionEvents.sessionReconnected));
otSession.on('sessionDisconnected', (_e) => void ((): typeof _e => sessionEvents.sessionDisconnected));
otSession.on('connectionCreated', (_e) => void ((): typeof _e => sessionEvents.connectionCreated));
otSession.on('connectionDestroyed', (_e) => void ((): typeof _e => sessionEvents.connectionDestroyed));
otSession.on('streamCreated', (_e) => void ((): typeof _e => sessionEvents.streamCreated));
otSession.on('streamDestroyed', (_e) => void ((): typeof _e => sessionEvents.streamDestroyed));
otSession.on('streamPropertyChanged', (_e) => void ((): typeof _e => sessionEvents.streamPropertyChanged));
// OpenTok types a signal's `type` as 'signal'; at run time it is 'signal:<type>' for a typed one, as here.
otSession.on('signal', (_e) => void ((): Omit<typeof _e, 'type'> => sessionEvents.signal));
otSession.on('signal:chat', (_e) => void ((): Omit<typeof _e, 'type'> => sessionEvents.signal));
export const signalType: string = sessionEvents.signal.type;
otSession.on('archiveStarted', (_e) => void ((): typeof _e => sessionEvents.archiveStarted));
otSession.on('archiveStopped', (_e) => void ((): typeof _e => sessionEvents.archiveStopped));

// ------------------------------------------------------------------ Publisher
export const publisherMembers: Pick<
  OTNS.Publisher,
  'accessAllowed' | 'element' | 'id' | 'stream' | 'videoWidth' | 'videoHeight'
> = publisher;
export const publishAudio: (value: boolean) => Publisher = publisher.publishAudio;
export const publishVideo: (value: boolean, cb?: (error?: OTNS.OTError) => void) => Publisher =
  publisher.publishVideo;
export const destroy: () => Publisher = publisher.destroy;
otPublisher.on('accessAllowed', (_e) => void ((): typeof _e => publisherEvents.accessAllowed));
otPublisher.on('accessDenied', (_e) => void ((): typeof _e => publisherEvents.accessDenied));
otPublisher.on('videoElementCreated', (_e) => void ((): typeof _e => publisherEvents.videoElementCreated));
otPublisher.on('streamCreated', (_e) => void ((): typeof _e => publisherEvents.streamCreated));
otPublisher.on('streamDestroyed', (_e) => void ((): typeof _e => publisherEvents.streamDestroyed));
otPublisher.on('destroyed', (_e) => void ((): typeof _e => publisherEvents.destroyed));

// ------------------------------------------------------------------ Subscriber
export const subscriberMembers: Pick<
  OTNS.Subscriber,
  'element' | 'id' | 'stream' | 'getAudioVolume' | 'isAudioBlocked' | 'videoWidth' | 'videoHeight'
> = subscriber;
export const subscribeToVideo: (value: boolean) => Subscriber = subscriber.subscribeToVideo;
export const subscribeToAudio: (value: boolean) => Subscriber = subscriber.subscribeToAudio;
export const setAudioVolume: (value: number) => Subscriber = subscriber.setAudioVolume;
otSubscriber.on('connected', (_e) => void ((): typeof _e => subscriberEvents.connected));
otSubscriber.on('disconnected', (_e) => void ((): typeof _e => subscriberEvents.disconnected));
otSubscriber.on('destroyed', (_e) => void ((): typeof _e => subscriberEvents.destroyed));
otSubscriber.on('videoElementCreated', (_e) => void ((): typeof _e => subscriberEvents.videoElementCreated));
otSubscriber.on('videoEnabled', (_e) => void ((): typeof _e => subscriberEvents.videoEnabled));
otSubscriber.on('videoDisabled', (_e) => void ((): typeof _e => subscriberEvents.videoDisabled));
otSubscriber.on('audioBlocked', (_e) => void ((): typeof _e => subscriberEvents.audioBlocked));
