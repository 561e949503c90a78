/**
 * The commands a netns agent answers: name → params → result. The driver's `Agent.call` and the
 * agent's handler table are both typed against this one map, so the two cannot drift apart
 * without `tsc` saying so. Everything here crosses a JSON line: plain data only (no functions,
 * no `undefined` values — a field that may be absent is optional).
 */
import type {
  PublisherState,
  SessionOptions,
  SessionState,
  StreamInfo,
  SubscriberState,
} from '@tether/client';

type Empty = Record<string, never>;

/** The Session options that survive JSON: no clock, socket, WebRTC, policy or codec objects (the agent takes TETHER_TEST_CODEC). */
export type AgentSessionOptions = Omit<
  SessionOptions,
  'url' | 'sessionId' | 'WebSocket' | 'clock' | 'rtc' | 'reconnectPolicy' | 'codec'
>;

export interface AgentSubStats {
  streamId: string;
  state: SubscriberState;
  audio: number;
  video: number;
  total: number;
  /** How many payload counters were seen, per kind. */
  counters: { audio: number; video: number };
  lastCounter: { audio: number | null; video: number | null };
  /** Epoch ms of the last packet, 0 before the first. */
  lastAt: number;
}

export interface AgentStats {
  session: SessionState | 'none';
  connectionId?: string;
  publisher: { state: PublisherState; streamId?: string } | null;
  /** Packets the generated source sent (audio and video). */
  sent: number;
  iceRestarts: number;
  peerConnections: number;
  subs: Record<string, AgentSubStats>;
}

export interface AgentContinuity {
  /** Each counter is the previous + 1 (strict). */
  ok: boolean;
  /** None missing between the first and the last; retransmissions and reordering allowed. */
  complete: boolean;
  missing: number;
  duplicates: number;
  n: number;
  first: number | null;
  last: number | null;
  /** The first ten places where the counter did not go up by one. */
  gaps: { at: number; from: number; to: number }[];
}

export interface AgentCommands {
  join: {
    params: { url: string; sessionId: string; token: string; options?: AgentSessionOptions };
    result: { connectionId?: string };
  };
  /**
   * Generated RTP: an audio and a video packet every `intervalMs` (default 20), or `rate` packets/s;
   * `encoded`: real VP8/Opus from ffmpeg instead (EncodedSource).
   */
  publish: {
    params: { name?: string; intervalMs?: number; rate?: number; republish?: boolean; encoded?: boolean };
    result: { stream: StreamInfo };
  };
  unpublish: { params: Empty; result: Empty };
  subscribe: {
    params: { streamId: string; key?: string; timeoutMs?: number };
    result: { sub: string; state: SubscriberState };
  };
  unsubscribe: { params: { sub: string }; result: Empty };
  /** Stops the generated RTP without unpublishing (the server then sees the publisher go silent). */
  pauseSource: { params: Empty; result: Empty };
  forceUnpublish: { params: { streamId: string }; result: Empty };
  leave: { params: Empty; result: Empty };
  stats: { params: Empty; result: AgentStats };
  /** Payload counters of one kind from index `from` (negative: the last -from) on, none below `since`. */
  continuity: {
    params: { sub: string; kind?: 'audio' | 'video'; from?: number; since?: number };
    result: AgentContinuity;
  };
  /** Active handles by kind (ref'd ones) and every open UDP socket. */
  resources: { params: Empty; result: { udpSockets: number; [kind: string]: number } };
  ping: { params: Empty; result: { at: number } };
  exit: { params: Empty; result: Empty };
}

export type AgentCommand = keyof AgentCommands;
export type AgentParams<K extends AgentCommand> = AgentCommands[K]['params'];
export type AgentResult<K extends AgentCommand> = AgentCommands[K]['result'];

/** The agent's side: one handler per command, each taking its params and giving its result. */
export type AgentHandlers = {
  [K in AgentCommand]: (params: AgentParams<K>) => AgentResult<K> | Promise<AgentResult<K>>;
};

/** A command line on the agent's stdin. */
export interface AgentRequest<K extends AgentCommand = AgentCommand> {
  id: number;
  cmd: K;
  args: AgentParams<K>;
}

/** An answer line on the agent's stdout (events are `{ ev, at, data }` lines beside them). */
export type AgentReply =
  | { re: number; ok: true; value: unknown }
  | { re: number; ok: false; error: { code: string; message: string } };
