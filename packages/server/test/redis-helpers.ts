import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { LogEntry, Logged, Member, ResumeRecord } from '../src/cluster/engine.js';
import { RedisEngine, type RedisEngineOptions } from '../src/cluster/redis-engine.js';

/** The real Redis the cluster tests run against (`redis-cli ping`). */
export const REDIS_URL = process.env.TETHER_TEST_REDIS ?? 'redis://127.0.0.1:6379';

/**
 * One test's corner of Redis: a random key prefix, the engines it started, and a plain
 * client to look at the keys. `cleanup()` closes the engines and deletes every key under
 * the prefix.
 */
export class RedisFixture {
  readonly prefix = `tether-test-${randomBytes(6).toString('hex')}:`;
  readonly redis = new Redis(REDIS_URL);
  private readonly engines: RedisEngine[] = [];

  async engine(opts: RedisEngineOptions = {}, url = REDIS_URL): Promise<RedisEngine> {
    const e = await RedisEngine.connect(url, { prefix: this.prefix, ...opts });
    this.engines.push(e);
    return e;
  }

  key(rest: string): string {
    return `${this.prefix}${rest}`;
  }

  async cleanup(): Promise<void> {
    await Promise.all(this.engines.map((e) => e.close()));
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', `${this.prefix}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await this.redis.del(...keys);
    } while (cursor !== '0');
    this.redis.disconnect();
  }
}

export function member(id: string, owner: string): Member {
  return {
    info: { connectionId: id, data: `data of ${id}`, creationTime: 1_700_000_000_000 },
    role: 'publisher',
    state: 'pending',
    owner,
  };
}

export function record(sessionId: string, m: Member, epoch = 0): ResumeRecord {
  return {
    sessionId,
    member: m,
    secretDigest: `digest-${m.info.connectionId}`,
    codec: 'json',
    joinedAt: '0-0',
    epoch,
    checkpoint: { seq: 0, at: '0-0', lastApplied: 0 },
  };
}

export function signal(from: string, data: string): LogEntry {
  return { event: { t: 'signal', from, type: 'n', data } };
}

/** A sink that keeps what it got. */
export function collector(): { got: Logged[]; sink: (batch: readonly Logged[]) => void } {
  const got: Logged[] = [];
  return { got, sink: (batch) => got.push(...batch) };
}

/** Registers a connection and appends its `~joined`, as an owner does at a welcome. */
export async function join(engine: RedisEngine, sessionId: string, id: string): Promise<ResumeRecord> {
  const r = record(sessionId, member(id, engine.nodeId));
  await engine.directory.register(r);
  await engine.append(sessionId, [{ event: { t: '~joined', member: r.member } }]);
  return r;
}

/** waitFor for a condition that needs Redis to answer. */
export async function until(cond: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!(await cond())) {
    if (Date.now() - start > timeoutMs)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
