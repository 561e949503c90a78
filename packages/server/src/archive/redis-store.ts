import { archiveSchema } from '@tether/protocol';
import { Redis } from 'ioredis';
import type { ArchivePatch, ArchiveRecord, ArchiveStore } from './store.js';

/**
 * Archive records in the cluster's Redis, so every node sees every archive (a client joining
 * through any node learns of a running one; any node lists them). Under the cluster's key
 * prefix: `archive:<id>` the record (JSON), `archives:<project>` and
 * `archives:<project>:<sessionId>` sorted sets by creation time, `archives:unfinished` the
 * ids started or stopped, `archives:recording:<sessionId>` the one recording. An archive is
 * written by the node that records it (one writer), so a read-modify-write per change is safe;
 * each change's keys are written together (MULTI).
 */
export class RedisArchiveStore implements ArchiveStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix = 'tether:',
    /** Whether close() ends the connection (it made it). */
    private readonly owned = false,
  ) {}

  /** A store on its own connection to the cluster's Redis (`tether serve --cluster`), keys under `prefix`. */
  static connect(url: string, prefix = 'tether:'): RedisArchiveStore {
    return new RedisArchiveStore(new Redis(url, { maxRetriesPerRequest: 2 }), prefix, true);
  }

  async insert(record: ArchiveRecord): Promise<void> {
    const tx = this.redis.multi();
    tx.set(this.key(record.id), JSON.stringify(record));
    tx.zadd(this.byProject(record.project), record.createdAt, record.id);
    tx.zadd(this.bySession(record.project, record.sessionId), record.createdAt, record.id);
    this.index(tx, record);
    await tx.exec();
  }

  async update(id: string, patch: ArchivePatch): Promise<boolean> {
    const current = await this.get(id);
    if (!current) return false;
    const next = { ...current, ...patch };
    const tx = this.redis.multi();
    tx.set(this.key(id), JSON.stringify(next));
    this.index(tx, next);
    await tx.exec();
    return true;
  }

  async get(id: string): Promise<ArchiveRecord | undefined> {
    return parse(await this.redis.get(this.key(id)));
  }

  async list(
    project: string,
    query: { sessionId?: string; offset: number; count: number },
  ): Promise<{ count: number; items: ArchiveRecord[] }> {
    const set =
      query.sessionId === undefined ? this.byProject(project) : this.bySession(project, query.sessionId);
    const [count, ids] = await Promise.all([
      this.redis.zcard(set),
      this.redis.zrevrange(set, query.offset, query.offset + query.count - 1),
    ]);
    const bodies = ids.length > 0 ? await this.redis.mget(ids.map((id) => this.key(id))) : [];
    const items = bodies.map(parse).filter((r): r is ArchiveRecord => r !== undefined);
    return { count, items };
  }

  async delete(id: string): Promise<boolean> {
    const record = await this.get(id);
    if (!record) return false;
    const tx = this.redis.multi();
    tx.del(this.key(id));
    tx.zrem(this.byProject(record.project), id);
    tx.zrem(this.bySession(record.project, record.sessionId), id);
    tx.srem(this.unfinishedKey, id);
    await tx.exec();
    return true;
  }

  async unfinished(): Promise<ArchiveRecord[]> {
    const ids = await this.redis.smembers(this.unfinishedKey);
    const bodies = ids.length > 0 ? await this.redis.mget(ids.map((id) => this.key(id))) : [];
    return bodies.map(parse).filter((r): r is ArchiveRecord => r !== undefined);
  }

  async recording(sessionId: string): Promise<ArchiveRecord | undefined> {
    const id = await this.redis.get(this.recordingKey(sessionId));
    return id ? this.get(id) : undefined;
  }

  async close(): Promise<void> {
    if (this.owned) this.redis.disconnect();
  }

  private index(tx: ReturnType<Redis['multi']>, record: ArchiveRecord): void {
    if (record.status === 'started' || record.status === 'stopped') tx.sadd(this.unfinishedKey, record.id);
    else tx.srem(this.unfinishedKey, record.id);
    if (record.status === 'started') tx.set(this.recordingKey(record.sessionId), record.id);
    else tx.eval(DEL_IF, 1, this.recordingKey(record.sessionId), record.id);
  }

  private key(id: string): string {
    return `${this.prefix}archive:${id}`;
  }
  private byProject(project: string): string {
    return `${this.prefix}archives:${project}`;
  }
  private bySession(project: string, sessionId: string): string {
    return `${this.prefix}archives:${project}:${sessionId}`;
  }
  private get unfinishedKey(): string {
    return `${this.prefix}archives:unfinished`;
  }
  private recordingKey(sessionId: string): string {
    return `${this.prefix}archives:recording:${sessionId}`;
  }
}

/** Deletes the session's "recording" key only if it still names this archive. */
const DEL_IF = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";

function parse(body: string | null | undefined): ArchiveRecord | undefined {
  if (!body) return undefined;
  const json = JSON.parse(body) as { project?: unknown; owner?: unknown };
  if (typeof json.project !== 'string') return undefined;
  const owner = typeof json.owner === 'string' ? { owner: json.owner } : {};
  return { ...archiveSchema.parse(json), project: json.project, ...owner };
}
