import type { ClientOp, Clock } from '@tether/protocol';
import type { OpResult } from '../pending-ops.js';
import type { RtcProvider } from './rtc.js';

/** What publishers and subscribers need of their session: its signalling and its settings. */
export interface MediaChannel {
  readonly clock: Clock;
  readonly rtc: RtcProvider;
  readonly routed: boolean;
  readonly mediaWindowMs: number;
  /** STUN/TURN servers for peer connections; none by default (werift would otherwise pick a public one). */
  readonly iceServers: RTCIceServer[];
  /** Signalling is up (the session is connected). */
  readonly connected: boolean;
  /** A reliable operation; queued while reconnecting. */
  request(op: ClientOp): Promise<OpResult>;
}

/** Tuning of media liveness; the defaults suit real networks. */
export const MEDIA_TIMING = {
  /** No inbound packet for this long: the path is down (the server uses 1.5 s for publishers). */
  idleMs: 2000,
  pollMs: 250,
  /** Between two ICE restarts while media stays down. */
  retryMs: 2000,
};
