import type { Clock, Codec } from '@tether/protocol';
import type { RtcProvider } from './media/rtc.js';
import type { QueueLimits } from './pending-ops.js';
import type { ReconnectPolicy } from './reconnect-policy.js';
import type { WebSocketConstructor } from './socket.js';

export interface SessionOptions {
  /**
   * The server, `http(s)://host:port` or `ws(s)://…` — or a list of them (a cluster's nodes):
   * an attempt that fails on its path (no socket, no answer in time) moves to the next.
   */
  url: string | readonly string[];
  sessionId: string;
  /** Give up reconnecting after this long. Default: the server's window (30 s on a default server). */
  reconnectWindowMs?: number;
  /**
   * When to retry; default: at once, then exponential backoff with jitter up to 500 ms; attempts
   * overlap when one hangs on a dead path, and are never closer than a slow path's handshake needs.
   */
  reconnectPolicy?: ReconnectPolicy;
  /** When a resume is refused (server restarted, window passed), join again with the same token instead of ending. */
  rejoinOnResumeFailure?: boolean;
  /**
   * Keep a recovery key in this tab's sessionStorage when the page goes away, so that a
   * reload inside the reconnect window resumes the same connection (same id, nothing lost)
   * instead of joining again. Opt-in: the key holds the connection's secret. Default false.
   */
  recover?: boolean;
  /**
   * The wire codec to ask for: `jsonCodec` (default) or `msgpackCodec`, a compact binary one.
   * Negotiated in the handshake: a server that does not offer it answers in JSON.
   */
  codec?: Codec;
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
