export { OT, OTGlobal, type Device, type ExceptionEvent } from './ot.js';
export { Session } from './session.js';
export {
  UNTYPED_SIGNAL,
  type SessionEvents,
  type SignalEvent,
  type Capabilities,
  type StreamRef,
  type ConnectionRef,
  type PublisherRef,
} from './session-types.js';
export { Publisher, type PublisherEvents, type PublisherProperties } from './publisher.js';
export { Subscriber, type SubscriberEvents, type SubscriberProperties } from './subscriber.js';
export { Connection, Stream } from './model.js';
export { OTEvent, OTEventEmitter, type EventOf } from './events.js';
export {
  ERROR_MAP,
  OP_CODES,
  OT_ERRORS,
  OTError,
  toOTError,
  type ClientErrorCode,
  type OTErrorName,
} from './errors.js';
export { Widget, DEFAULT_WIDTH, DEFAULT_HEIGHT, type WidgetProperties } from './widget.js';
