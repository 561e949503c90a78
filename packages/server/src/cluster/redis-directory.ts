import type { Redis } from 'ioredis';
import type { CodecName } from '@tether/protocol';
import {
  FencedError,
  type Checkpoint,
  type ConnectionDirectory,
  type LogEntry,
  type Member,
  type ResumeRecord,
} from './engine.js';
import { memberFrom, pushEntry, type LogOptions } from './redis-log.js';
import { RedisKeys, ownedEntry, sessionKeyList } from './redis-keys.js';
import { runScript } from './redis-scripts.js';

/**
 * Resume records on Redis: one hash per connection, hash-tagged by its session so a claim can
 * bump the epoch and append the `~moved` entry to the session's log in one script.
 *
 * Beside the records, each node has an ownership index (a set of `<session> <connection>
 * <epoch>`) that its reaper walks when it dies. It lives in another slot than the records, so
 * it cannot change in the same script; it is kept a superset instead: an entry is added
 * before the record names its node at that epoch, and removed only once the record no longer
 * does. Epochs in the entries make every removal exact (a stale removal can never hit a newer
 * claim). This node's calls on one connection are serialized, so its own claims never race.
 */
export class RedisDirectory implements ConnectionDirectory {
  /** The last call on each connection from this node, for the serialization. */
  private readonly tails = new Map<string, Promise<unknown>>();

  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly nodeId: string,
    private readonly log: LogOptions,
  ) {}

  async register(record: ResumeRecord): Promise<void> {
    const { sessionId, member, epoch, checkpoint } = record;
    const key = this.keys.record(sessionId, member.info.connectionId);
    const fields: Record<string, string | number> = {
      member: JSON.stringify(member),
      owner: member.owner,
      secretDigest: record.secretDigest,
      codec: record.codec,
      joinedAt: record.joinedAt,
      epoch,
      seq: checkpoint.seq,
      at: checkpoint.at,
      lastApplied: checkpoint.lastApplied,
    };
    if (record.interruptedAt !== undefined) fields.interruptedAt = record.interruptedAt;
    await this.serial(sessionId, member.info.connectionId, async () => {
      // The record first and without waiting in between: the connection's first operations are
      // appended fenced by it, on this same Redis connection, right behind these commands.
      const written = this.redis.multi().del(key).hset(key, fields).exec();
      const indexed = this.redis.sadd(
        this.keys.owned(member.owner),
        indexEntry(sessionId, member.info.connectionId, epoch),
      );
      await Promise.all([written, indexed]);
    });
  }

  async load(sessionId: string, connectionId: string): Promise<ResumeRecord | undefined> {
    const keys = [this.keys.record(sessionId, connectionId), this.keys.session(sessionId).members];
    const [flat, member] = (await runScript(this.redis, 'LOAD', keys, [connectionId])) as [
      string[],
      (string | null)[],
    ];
    return recordFrom(sessionId, flat, member);
  }

  /** Refused (FencedError) when another node owns the connection now, or it is gone. */
  async checkpoint(
    sessionId: string,
    connectionId: string,
    cp: Checkpoint,
    interruptedAt?: number,
  ): Promise<void> {
    const args = [this.nodeId, cp.seq, cp.at, cp.lastApplied, interruptedAt ?? ''];
    const out = await runScript(this.redis, 'CHECKPOINT', [this.keys.record(sessionId, connectionId)], args);
    if (out === 'fenced') throw new FencedError(connectionId);
  }

  claim(sessionId: string, connectionId: string, epoch: number): Promise<ResumeRecord | undefined> {
    return this.serial(sessionId, connectionId, () => this.claimNow(sessionId, connectionId, epoch));
  }

  /** Removes this node's record (gone: nothing to do; another owner's: FencedError). */
  remove(sessionId: string, connectionId: string): Promise<void> {
    return this.serial(sessionId, connectionId, async () => {
      const out = (await runScript(
        this.redis,
        'REMOVE',
        [this.keys.record(sessionId, connectionId)],
        [this.nodeId],
      )) as string | [string, string];
      if (out === 'fenced') throw new FencedError(connectionId);
      if (Array.isArray(out))
        await this.redis.srem(this.keys.owned(this.nodeId), indexEntry(sessionId, connectionId, out[1]));
    });
  }

  /**
   * For the reaper: whether the record still names `owner` at `epoch`. Anything else means
   * the index entry is stale and can go.
   */
  async ownedBy(sessionId: string, connectionId: string, owner: string, epoch: string): Promise<boolean> {
    const [o, e] = await this.redis.hmget(this.keys.record(sessionId, connectionId), 'owner', 'epoch');
    return o === owner && e === epoch;
  }

  private async claimNow(
    sessionId: string,
    connectionId: string,
    epoch: number,
  ): Promise<ResumeRecord | undefined> {
    const entry: LogEntry = { event: { t: '~moved', connectionId, owner: this.nodeId, epoch: epoch + 1 } };
    const keys = [...sessionKeyList(this.keys.session(sessionId)), this.keys.record(sessionId, connectionId)];
    const args: (string | number)[] = [this.log.maxLen, this.log.idleTtlMs, epoch, this.nodeId, connectionId];
    pushEntry(args, entry);
    const mine = indexEntry(sessionId, connectionId, epoch + 1);
    // Same connection, in order: the index entry exists before the record can name this node.
    const [, out] = await Promise.all([
      this.redis.sadd(this.keys.owned(this.nodeId), mine),
      runScript(this.redis, 'CLAIM', keys, args) as Promise<unknown[]>,
    ]);
    if (out[0] !== 'ok') {
      const [, owner, now] = out as [string, string | null, string | null];
      // Unless it is this node's already (an earlier claim of this very epoch), the entry names nothing.
      if (!(owner === this.nodeId && now === String(epoch + 1)))
        await this.redis.srem(this.keys.owned(this.nodeId), mine);
      return undefined;
    }
    const [, previous, flat, member] = out as [string, string, string[], (string | null)[]];
    if (previous !== this.nodeId)
      await this.redis.srem(this.keys.owned(previous), indexEntry(sessionId, connectionId, epoch));
    return recordFrom(sessionId, flat, member);
  }

  private serial<T>(sessionId: string, connectionId: string, fn: () => Promise<T>): Promise<T> {
    const id = ownedEntry(sessionId, connectionId);
    const run = (this.tails.get(id) ?? Promise.resolve()).then(fn, fn);
    const tail = run.catch(() => {});
    this.tails.set(id, tail);
    void tail.then(() => {
      if (this.tails.get(id) === tail) this.tails.delete(id);
    });
    return run;
  }
}

export function indexEntry(sessionId: string, connectionId: string, epoch: number | string): string {
  return `${ownedEntry(sessionId, connectionId)} ${epoch}`;
}

/** A record from its hash (flat HGETALL) and the member as the session's snapshot has it now. */
function recordFrom(
  sessionId: string,
  flat: readonly string[],
  live: readonly (string | null)[],
): ResumeRecord | undefined {
  const h = new Map<string, string>();
  for (let i = 0; i < flat.length; i += 2) h.set(flat[i]!, flat[i + 1]!);
  const owner = h.get('owner');
  if (owner === undefined) return undefined;
  // The snapshot's member is current (state); the stored one stands in once the snapshot forgot it.
  const member: Member = { ...(memberFrom(live) ?? (JSON.parse(h.get('member')!) as Member)), owner };
  const record: ResumeRecord = {
    sessionId,
    member,
    secretDigest: h.get('secretDigest')!,
    codec: h.get('codec') as CodecName,
    joinedAt: h.get('joinedAt')!,
    epoch: Number(h.get('epoch')),
    checkpoint: { seq: Number(h.get('seq')), at: h.get('at')!, lastApplied: Number(h.get('lastApplied')) },
  };
  const interruptedAt = h.get('interruptedAt');
  if (interruptedAt !== undefined) record.interruptedAt = Number(interruptedAt);
  return record;
}
