import { TetherError } from '@tether/protocol';
import type { Redis } from 'ioredis';
import type { MediaClaim, MediaHomes } from './engine.js';
import type { RedisKeys } from './redis-keys.js';
import { runScript } from './redis-scripts.js';

/** The value of a media key whose home gave it up (draining) or died: the next claim is a move. */
const RELEASED = '-';
/** How many times a claim retries when other nodes change the key under it. */
const CLAIM_TRIES = 5;

/**
 * Media homes on Redis: `{<sessionId>}:media` holds the home's node id, or `-` once a home
 * went (drained, or found dead) and the media must come back elsewhere. Each change is a
 * compare-and-set of that one key (SWAP), so it stays a single-slot script; whether the named
 * node lives is its liveness key, read before the swap. A live home's key has no expiry (it
 * goes when the session's media does); a released one lives as long as an idle session.
 */
export class RedisMediaHomes implements MediaHomes {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly nodeId: string,
    private readonly releasedTtlMs: number,
  ) {}

  async claim(sessionId: string, host = true): Promise<MediaClaim> {
    const key = this.keys.mediaHome(sessionId);
    for (let i = 0; i < CLAIM_TRIES; i++) {
      const current = await this.redis.get(key);
      if (current === this.nodeId) return { home: current, moved: false, announce: false };
      const live =
        current !== null && current !== RELEASED && (await this.redis.exists(this.keys.node(current))) === 1;
      if (live) return { home: current, moved: false, announce: false };
      if (!host) return { home: '', moved: false, announce: false };
      if (await this.swap(key, current ?? '', this.nodeId))
        return {
          home: this.nodeId,
          moved: current !== null,
          announce: current !== null && current !== RELEASED,
        };
    }
    throw new TetherError('CLUSTER_UNAVAILABLE', `the media home of ${sessionId} keeps changing`);
  }

  async release(sessionId: string, handover: boolean): Promise<void> {
    const key = this.keys.mediaHome(sessionId);
    await this.swap(key, this.nodeId, handover ? RELEASED : '', handover ? this.releasedTtlMs : undefined);
  }

  clearDead(sessionId: string, dead: string): Promise<boolean> {
    return this.swap(this.keys.mediaHome(sessionId), dead, RELEASED, this.releasedTtlMs);
  }

  private async swap(key: string, expected: string, next: string, ttlMs?: number): Promise<boolean> {
    const swapped = await runScript(this.redis, 'SWAP', [key], [expected, next, ttlMs ?? '']);
    return swapped === 1;
  }
}
