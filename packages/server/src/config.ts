import type { TransportConfig } from '@tether/protocol';
import type { ArchiveStorage } from './archive/storage.js';
import type { ArchiveStore } from './archive/store.js';
import type { ClusterEngine } from './cluster/engine.js';
import { DEFAULT_INTERRUPTED_LIMITS, type InterruptedLimits } from './interrupted-budget.js';
import type { OutboxLimits } from './outbox.js';
import type { Project } from './projects.js';
import type { CallbackOptions } from './callbacks/dispatcher.js';

/**
 * Defaults, documented in the README: a dead transport is noticed 2.25 s after the last
 * frame on a healthy link; a slow one raises that from its measured round trip, up to 15 s.
 * Beats every 500 ms so that an idle link survives a sudden latency rise of up to 1.75 s
 * (floor − interval): nothing sent after the rise arrives sooner, so no measurement can help.
 */
export const DEFAULTS = {
  port: 7100,
  host: '127.0.0.1',
  dataDir: '.tether',
  transport: {
    heartbeatIntervalMs: 500,
    heartbeatTimeoutMs: 2250,
    heartbeatTimeoutMaxMs: 15_000,
    reconnectWindowMs: 30_000,
    ackDelayMs: 250,
    mediaWindowMs: 20_000,
  } satisfies TransportConfig,
  /** No RTP from a publisher for this long: its media is interrupted (subscribers are told). */
  mediaTimeoutMs: 1500,
  outbox: { maxFrames: 4096, maxBytes: 4 * 1024 * 1024 } satisfies OutboxLimits,
  /** Bytes held for interrupted connections, per session and for the server. */
  interrupted: DEFAULT_INTERRUPTED_LIMITS,
};

/**
 * What Node may hold unsent for one socket: more than a full outbox can be in UTF-8 (the
 * outbox counts UTF-16 units, at most 3 bytes each) plus room for unreliable frames, so only
 * a client that does not read reaches it. 16 MiB at the default outbox.
 */
export function defaultSendBufferMaxBytes(outbox: OutboxLimits): number {
  return 3 * outbox.maxBytes + 4 * 1024 * 1024;
}

export interface ServerOptions {
  /** Port of the WebSocket endpoint and HTTP API (0 picks a free one). Default 7100. */
  port?: number;
  host?: string;
  /** Projects to accept; without any, a development project is created (and persisted in dataDir). */
  projects?: Project[];
  /** Where the development project and archives (records and files) are kept. Default `.tether` in the working directory. */
  dataDir?: string;
  transport?: Partial<TransportConfig>;
  outbox?: Partial<OutboxLimits>;
  /** Bytes Node may hold unsent for one socket before the connection ends (SEND_BUFFER_OVERFLOW). Default 3 × outbox bytes + 4 MiB. */
  sendBufferMaxBytes?: number;
  /** Bytes held for interrupted connections, per session and for the server (INTERRUPTED_BUDGET_EXCEEDED). Default 32 MiB / 256 MiB. */
  interrupted?: Partial<InterruptedLimits>;
  /** No packet from a routed publisher for this long means its media is interrupted. Default 1500 ms. */
  mediaTimeoutMs?: number;
  /** The cluster engine sessions' logs go through. Default: the memory engine (one process, no service). */
  engine?: ClusterEngine;
  /**
   * Callbacks to application back ends (README, Callbacks): their URLs, the queue's bounds
   * (default 1000 / 4 MiB per project, 10,000 / 32 MiB per server) and the retry policy
   * (1 s doubling to 60 s, ±30 %, 10 attempts, 10 s each). Default none.
   */
  callbacks?: CallbackOptions;
  /**
   * Archives: where records and files are kept. Default: SQLite `archives.db` and the folder
   * `archives/` in dataDir. `ffmpeg` composes composed archives (default `ffmpeg` on the PATH).
   */
  archives?: { store?: ArchiveStore; storage?: ArchiveStorage; ffmpeg?: string };
  /** pino level; `silent` in tests. Default `info`. */
  logLevel?: string;
}
