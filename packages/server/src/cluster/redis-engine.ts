import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import { systemClock, type Clock } from '@tether/protocol';
import type {
  ClusterEngine,
  Fence,
  Followed,
  LogEntry,
  Logged,
  LogSink,
  Position,
  ResumeRecord,
  SessionSnapshot,
} from './engine.js';
import { RedisDirectory } from './redis-directory.js';
import { LogReader } from './redis-follow.js';
import { RedisKeys } from './redis-keys.js';
import { RedisLiveness } from './redis-liveness.js';
import { RedisMediaHomes } from './redis-media-homes.js';
import { RedisLog } from './redis-log.js';
import { loadScripts } from './redis-scripts.js';

export interface RedisEngineOptions {
  /** Unique in the cluster; default `<hostname>-<pid>-<random>`, so a restarted process is a new node. */
  nodeId?: string;
  /** Namespaces the cluster's keys (default `tether:`). */
  prefix?: string;
  /**
   * Entries a session's log keeps (about; default 10,000). A resume needing older ones fails
   * with RESUME_SEQUENCE_INVALID. Set it alike on every node: each append trims with its own.
   */
  logMaxLen?: number;
  /** How long a session with no member keeps its log and snapshot (ms, default 10 min). */
  idleSessionTtlMs?: number;
  /** Liveness key TTL (ms, default 3000): how long a dead node goes unnoticed. */
  livenessTtlMs?: number;
  /** Liveness refresh interval (ms, default 1000). */
  livenessRefreshMs?: number;
  /** How often other nodes are checked (ms, default: the refresh interval). */
  sweepMs?: number;
  /** Connections claimed per reap step (default 100). */
  reapBatch?: number;
  /** Entries per session per read of the follower (default 500). */
  readBatch?: number;
  /** How long one blocking read waits (ms, default 2000). */
  readBlockMs?: number;
  /** TCP connect timeout (ms, default 5000). */
  connectTimeoutMs?: number;
  /**
   * A connection that owes replies and receives nothing for this long is dead (ms, default
   * 3000): a blackholed link is noticed (state `lost`) instead of hanging every command. The
   * reader's allowance is this plus its blocking time.
   */
  socketTimeoutMs?: number;
  clock?: Clock;
}

/** `ready`: both connections up. `lost`: Redis unreachable (ioredis reconnects by itself). `closed`: after close(). */
export type RedisEngineState = 'ready' | 'lost' | 'closed';

export interface RedisEngineEvents {
  /** The connection to Redis was lost (with the last error) or is back. */
  state: (state: RedisEngineState, error?: Error) => void;
  /** This node's liveness key had expired (a stall, or Redis was lost): others may have taken its connections over. */
  lapsed: () => void;
  /** A sink threw, a background step (refresh, reap) failed. */
  error: (err: unknown) => void;
}

/** Redis was unreachable when the engine started. */
export class RedisUnreachableError extends Error {
  override readonly name = 'RedisUnreachableError';
  constructor(
    readonly url: string,
    cause: string,
  ) {
    super(`cannot reach Redis at ${url}: ${cause} — start one or fix --cluster`);
  }
}

const MIN_VERSION = [7, 0];
const READ_BLOCK_MS = 2000;

/**
 * The cluster engine on Redis (engine.ts says what an engine is). Two connections per node:
 * commands (scripts, directory, liveness) and the follower's blocking reader. Both are
 * fail-fast: no offline queue (a command while Redis is lost fails at once rather than piling
 * up in memory) and no resend of commands in flight when a connection drops (a resent append
 * could be applied twice). ioredis reconnects by itself; `state` says where it stands.
 */
export class RedisEngine implements ClusterEngine {
  readonly name = 'redis' as const;
  readonly nodeId: string;
  readonly directory: RedisDirectory;
  readonly mediaHomes: RedisMediaHomes;
  private readonly log: RedisLog;
  private readonly reader: LogReader;
  private readonly liveness: RedisLiveness;
  private readonly keys: RedisKeys;
  private readonly listeners = new Map<keyof RedisEngineEvents, Set<(...args: never[]) => void>>();
  private orphanHandler?: (records: ResumeRecord[]) => void;
  private nodeDownHandler?: (nodeId: string) => void;
  private current: RedisEngineState = 'ready';
  private lastError?: Error;

  /** Connects both connections, checks the server, loads the scripts and announces the node. */
  static async connect(url: string, opts: RedisEngineOptions = {}): Promise<RedisEngine> {
    const shown = redact(url);
    const socketTimeout = opts.socketTimeoutMs ?? 3000;
    const command = await open(url, shown, opts, socketTimeout);
    let reader: Redis | undefined;
    try {
      const info = await command.info('server');
      const version = /redis_version:(\d+)\.(\d+)/.exec(info);
      const [major = 0, minor = 0] = version ? [Number(version[1]), Number(version[2])] : [];
      if (major < MIN_VERSION[0]! || (major === MIN_VERSION[0] && minor < MIN_VERSION[1]!))
        throw new Error(
          `Redis at ${shown} is ${major}.${minor}; Tether needs ${MIN_VERSION.join('.')} or later`,
        );
      await loadScripts(command);
      reader = await open(url, shown, opts, socketTimeout + (opts.readBlockMs ?? READ_BLOCK_MS));
      const engine = new RedisEngine(command, reader, opts);
      await engine.liveness.start();
      engine.reader.start();
      return engine;
    } catch (err) {
      command.disconnect();
      reader?.disconnect();
      throw err;
    }
  }

  private constructor(
    private readonly command: Redis,
    private readonly readerConn: Redis,
    opts: RedisEngineOptions,
  ) {
    this.nodeId = opts.nodeId ?? `${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`;
    this.keys = new RedisKeys(opts.prefix ?? 'tether:');
    const logOpts = { maxLen: opts.logMaxLen ?? 10_000, idleTtlMs: opts.idleSessionTtlMs ?? 600_000 };
    this.log = new RedisLog(command, this.keys, logOpts);
    this.directory = new RedisDirectory(command, this.keys, this.nodeId, logOpts);
    this.mediaHomes = new RedisMediaHomes(command, this.keys, this.nodeId, logOpts.idleTtlMs);
    const onError = (err: unknown) => this.emit('error', err);
    this.reader = new LogReader(
      readerConn,
      command,
      this.keys.wake(this.nodeId),
      { batch: opts.readBatch ?? 500, blockMs: opts.readBlockMs ?? READ_BLOCK_MS },
      onError,
    );
    const refreshMs = opts.livenessRefreshMs ?? 1000;
    this.liveness = new RedisLiveness(
      command,
      this.keys,
      this.nodeId,
      this.directory,
      {
        ttlMs: opts.livenessTtlMs ?? 3000,
        refreshMs,
        sweepMs: opts.sweepMs ?? refreshMs,
        reapBatch: opts.reapBatch ?? 100,
      },
      opts.clock ?? systemClock,
      {
        orphans: (records) => this.orphanHandler?.(records),
        nodeDown: (id) => this.nodeDownHandler?.(id),
        lapsed: () => this.emit('lapsed'),
        error: onError,
      },
    );
    for (const conn of [command, readerConn]) {
      conn.on('error', (err: Error) => (this.lastError = err));
      conn.on('close', () => this.settle());
      conn.on('ready', () => {
        // First on the new connection: every later EVALSHA finds its script (a restarted Redis has none).
        if (conn === command) void loadScripts(command).catch(() => {});
        this.settle();
      });
    }
  }

  get available(): boolean {
    return this.current === 'ready';
  }

  get state(): RedisEngineState {
    return this.current;
  }

  on<K extends keyof RedisEngineEvents>(event: K, fn: RedisEngineEvents[K]): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(fn);
    return () => set.delete(fn);
  }

  async follow(sessionId: string, sink: LogSink, onBroken?: () => void): Promise<Followed> {
    const { snapshot, n } = await this.log.numberedSnapshot(sessionId);
    const unfollow = this.reader.add(
      sessionId,
      this.keys.session(sessionId).log,
      snapshot.at,
      n,
      sink,
      onBroken,
    );
    try {
      await this.reader.wake();
    } catch (err) {
      unfollow();
      throw err;
    }
    return { snapshot, unfollow };
  }

  async append(sessionId: string, entries: readonly LogEntry[], fence?: Fence): Promise<void> {
    await this.log.append(sessionId, entries, fence);
  }

  /** `append`, resolving with the entries' positions (the script returns them anyway). */
  appendAt(sessionId: string, entries: readonly LogEntry[], fence?: Fence): Promise<Position[]> {
    return this.log.append(sessionId, entries, fence);
  }

  snapshot(sessionId: string): Promise<SessionSnapshot> {
    return this.log.snapshot(sessionId);
  }

  read(sessionId: string, after: Position, upTo: Position): Promise<Logged[]> {
    return this.log.read(sessionId, after, upTo);
  }

  /** Dead nodes are reaped from the first handler on: a node that cannot take orphans over takes none. */
  onOrphans(handler: (records: ResumeRecord[]) => void): void {
    this.orphanHandler = handler;
    this.liveness.startSweeping();
  }

  onNodeDown(handler: (nodeId: string) => void): void {
    this.nodeDownHandler = handler;
  }

  /** A graceful leave: no more deliveries, the liveness key goes at once (the others take the connections over). */
  async close(): Promise<void> {
    if (this.current === 'closed') return;
    this.setState('closed');
    await this.liveness.leave().catch(() => {});
    await this.command.del(this.keys.wake(this.nodeId)).catch(() => {});
    await this.reader.stop();
    // QUIT waits for the replies in flight; without a connection there are none to wait for.
    if (this.command.status === 'ready') await this.command.quit().catch(() => {});
    else this.command.disconnect();
  }

  /** Stops at once without a word to Redis, as a killed process would (for tests of node death). */
  async crash(): Promise<void> {
    this.setState('closed');
    this.liveness.stop();
    this.command.disconnect();
    await this.reader.stop();
  }

  private settle(): void {
    if (this.current === 'closed') return;
    const up = this.command.status === 'ready' && this.readerConn.status === 'ready';
    this.setState(up ? 'ready' : 'lost');
  }

  private setState(state: RedisEngineState): void {
    if (state === this.current) return;
    this.current = state;
    this.emit('state', state, state === 'lost' ? this.lastError : undefined);
  }

  private emit<K extends keyof RedisEngineEvents>(event: K, ...args: Parameters<RedisEngineEvents[K]>): void {
    for (const fn of [...(this.listeners.get(event) ?? [])]) (fn as (...a: typeof args) => void)(...args);
  }
}

/** One connection, ready, or a clear error naming the URL (the first attempt is the only one). */
async function open(
  url: string,
  shown: string,
  opts: RedisEngineOptions,
  socketTimeout: number,
): Promise<Redis> {
  let connected = false;
  let lastError: (Error & { code?: string }) | undefined;
  const options: RedisOptions = {
    lazyConnect: true,
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    // Commands in flight fail as soon as the connection drops.
    maxRetriesPerRequest: 0,
    connectTimeout: opts.connectTimeoutMs ?? 5000,
    socketTimeout,
    // No retry before the first success: an unreachable Redis at start is an error, not a wait.
    retryStrategy: (times) => (connected ? Math.min(100 * times, 1000) : null),
  };
  const conn = new Redis(url, options);
  const onError = (err: Error) => (lastError = err);
  conn.on('error', onError);
  try {
    await conn.connect();
  } catch (err) {
    conn.disconnect();
    const cause = lastError?.code ?? lastError?.message ?? (err instanceof Error ? err.message : String(err));
    throw new RedisUnreachableError(shown, cause);
  }
  connected = true;
  return conn;
}

/** The URL without its password, for messages. */
function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}
