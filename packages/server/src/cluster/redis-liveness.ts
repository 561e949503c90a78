import type { Redis } from 'ioredis';
import type { Clock, TimerHandle } from '@tether/protocol';
import type { ResumeRecord } from './engine.js';
import type { RedisDirectory } from './redis-directory.js';
import { RedisKeys } from './redis-keys.js';
import { runScript } from './redis-scripts.js';

export interface LivenessOptions {
  /** How long the node's key lives unrefreshed (ms): the time to notice a dead node. */
  ttlMs: number;
  /** How often the key is refreshed (ms); well under ttlMs so a slow tick does not kill the node. */
  refreshMs: number;
  /** How often the other nodes' keys are checked (ms). */
  sweepMs: number;
  /** Connections claimed per step of a reap (and per onOrphans call). */
  reapBatch: number;
}

export interface LivenessHandlers {
  orphans(records: ResumeRecord[]): void;
  /** A node found dead (each sweep that finds it, until it is reaped). */
  nodeDown(nodeId: string): void;
  /** This node's key had expired when it was refreshed: others may have taken its connections. */
  lapsed(): void;
  error(err: unknown): void;
}

/**
 * Node liveness and the reaping of dead nodes. Each node keeps `node:<id>` alive (SET PX,
 * refreshed) and stays in the nodes set until reaped. Every node checks the set; a node whose
 * key expired is dead, and one live node — the holder of its reap lock (SET NX PX) — claims
 * each connection of its ownership index for itself (the claim script: epoch bump and
 * `~moved`) and hands the claimed records to `orphans`, a batch at a time.
 *
 * Correctness never rests on the lock (it only saves duplicate work): each claim is atomic on
 * the record's epoch, so a connection goes to exactly one node even when two reap at once. A
 * reaper that dies mid-way loses nothing: the index entries it had not finished are still
 * there when its lock expires, and the connections it had claimed are owned by a dead node
 * now, so they are reaped in their turn.
 */
export class RedisLiveness {
  private refreshTimer?: TimerHandle;
  private sweepTimer?: TimerHandle;
  private running = false;
  private sweeping?: Promise<void>;

  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly nodeId: string,
    private readonly directory: RedisDirectory,
    private readonly opts: LivenessOptions,
    private readonly clock: Clock,
    private readonly on: LivenessHandlers,
  ) {}

  async start(): Promise<void> {
    await this.redis.set(this.keys.node(this.nodeId), this.nodeId, 'PX', this.opts.ttlMs);
    await this.redis.sadd(this.keys.nodes(), this.nodeId);
    this.running = true;
    this.scheduleRefresh();
  }

  /** Starts checking the other nodes (once someone takes the orphans). */
  startSweeping(): void {
    if (this.running && this.sweepTimer === undefined) this.scheduleSweep();
  }

  /** Stops refreshing and sweeping; the key expires by itself (as if the process died). */
  stop(): void {
    this.running = false;
    if (this.refreshTimer) this.clock.clearTimeout(this.refreshTimer);
    if (this.sweepTimer) this.clock.clearTimeout(this.sweepTimer);
    this.refreshTimer = this.sweepTimer = undefined;
  }

  /** A graceful leave: the key goes at once, so the others take the connections over without waiting for its TTL. */
  async leave(): Promise<void> {
    this.stop();
    // A reap in flight stops at the end of its batch; what it claimed has been handed on.
    await this.sweeping;
    await this.redis.del(this.keys.node(this.nodeId));
  }

  private scheduleRefresh(): void {
    this.refreshTimer = this.clock.setTimeout(() => {
      void this.refresh().finally(() => {
        if (this.running) this.scheduleRefresh();
      });
    }, this.opts.refreshMs);
  }

  private scheduleSweep(): void {
    this.sweepTimer = this.clock.setTimeout(() => {
      this.sweeping = this.sweep().finally(() => {
        this.sweeping = undefined;
        if (this.running) this.scheduleSweep();
      });
    }, this.opts.sweepMs);
  }

  private async refresh(): Promise<void> {
    if (this.redis.status !== 'ready') return; // the engine reports the lost connection
    try {
      const before = await this.redis.set(
        this.keys.node(this.nodeId),
        this.nodeId,
        'PX',
        this.opts.ttlMs,
        'GET',
      );
      // Back in the set if a reaper took it out meanwhile: from now on it is alive again.
      await this.redis.sadd(this.keys.nodes(), this.nodeId);
      if (before === null && this.running) this.on.lapsed();
    } catch (err) {
      if (this.redis.status === 'ready') this.on.error(err);
    }
  }

  private async sweep(): Promise<void> {
    if (this.redis.status !== 'ready') return;
    try {
      const others = (await this.redis.smembers(this.keys.nodes())).filter((id) => id !== this.nodeId);
      if (others.length === 0) return;
      const pipe = this.redis.pipeline();
      for (const id of others) pipe.exists(this.keys.node(id));
      const alive = (await pipe.exec()) ?? [];
      for (let i = 0; i < others.length && this.running; i++)
        if (alive[i]?.[1] === 0) {
          this.tell(others[i]!);
          await this.reap(others[i]!);
        }
    } catch (err) {
      if (this.redis.status === 'ready') this.on.error(err);
    }
  }

  /** Takes a dead node's connections over, if no other node is at it. */
  private async reap(dead: string): Promise<void> {
    const lock = this.keys.reapLock(dead);
    const lockMs = this.opts.ttlMs;
    if ((await this.redis.set(lock, this.nodeId, 'PX', lockMs, 'NX')) !== 'OK') return;
    const index = this.keys.owned(dead);
    try {
      let cursor = '0';
      do {
        // Back before its connections went: it keeps the rest.
        if ((await this.redis.exists(this.keys.node(dead))) === 1) return;
        const [next, items] = await this.redis.sscan(index, cursor, 'COUNT', this.opts.reapBatch);
        cursor = next;
        const claimed = (await Promise.all(items.map((item) => this.take(dead, item)))).filter(
          (r): r is ResumeRecord => r !== undefined,
        );
        await runScript(this.redis, 'LOCK', [lock], [this.nodeId, lockMs]);
        if (claimed.length > 0) this.hand(claimed);
      } while (cursor !== '0' && this.running);
      if (cursor === '0' && (await this.redis.scard(index)) === 0) {
        // Nothing left of it: forget the node (only now, so a reaper dying before this leaves it findable).
        await this.redis.del(index, this.keys.wake(dead));
        await this.redis.srem(this.keys.nodes(), dead);
      }
    } finally {
      await runScript(this.redis, 'LOCK', [lock], [this.nodeId, '']).catch(() => {});
    }
  }

  /** One index entry of a dead node: claimed for this node, or dropped when the record moved on or went. */
  private async take(dead: string, item: string): Promise<ResumeRecord | undefined> {
    const [sessionId, connectionId, epoch] = item.split(' ');
    if (
      sessionId &&
      connectionId &&
      epoch &&
      (await this.directory.ownedBy(sessionId, connectionId, dead, epoch))
    ) {
      const record = await this.directory.claim(sessionId, connectionId, Number(epoch));
      // Claimed: the claim removed the entry. Not: someone else moved it on since.
      if (record) return record;
    }
    await this.redis.srem(this.keys.owned(dead), item);
    return undefined;
  }

  private tell(dead: string): void {
    try {
      this.on.nodeDown(dead);
    } catch (err) {
      this.on.error(err);
    }
  }

  private hand(records: ResumeRecord[]): void {
    try {
      this.on.orphans(records);
    } catch (err) {
      this.on.error(err);
    }
  }
}
