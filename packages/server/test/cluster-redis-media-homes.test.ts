import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RedisFixture } from './redis-helpers.js';

/** The media home of a session on the real Redis: who runs its SFU, and how it moves. */
let fx: RedisFixture;
beforeEach(() => {
  fx = new RedisFixture();
});
afterEach(async () => {
  await fx.cleanup();
});

const FAST = { livenessTtlMs: 1500, livenessRefreshMs: 250, sweepMs: 200 };

describe('RedisMediaHomes', () => {
  it('the first node to claim a session is its home; a live home stays home for every other node', async () => {
    const [a, b] = await Promise.all([fx.engine(FAST), fx.engine(FAST)]);
    expect(await a.mediaHomes.claim('s1')).toEqual({ home: a.nodeId, moved: false, announce: false });
    expect(await b.mediaHomes.claim('s1')).toEqual({ home: a.nodeId, moved: false, announce: false });
    expect(await a.mediaHomes.claim('s1')).toEqual({ home: a.nodeId, moved: false, announce: false });
    // Claims at once from both: exactly one home.
    const both = await Promise.all([a.mediaHomes.claim('s2'), b.mediaHomes.claim('s2')]);
    expect(new Set(both.map((c) => c.home)).size).toBe(1);
  });

  it('a dead home is replaced by the first claimer, which announces the move; clearDead is true for one caller only', async () => {
    const [a, b, c] = await Promise.all([fx.engine(FAST), fx.engine(FAST), fx.engine(FAST)]);
    await a.mediaHomes.claim('s1');
    await a.mediaHomes.claim('s2');
    await a.crash();
    await fx.redis.del(fx.key(`node:${a.nodeId}`)); // as its liveness key expiring would
    expect(await b.mediaHomes.claim('s1')).toEqual({ home: b.nodeId, moved: true, announce: true });
    expect(await c.mediaHomes.claim('s1')).toEqual({ home: b.nodeId, moved: false, announce: false });
    // s2: two survivors find the dead home at once; one says so, and the next claim is a quiet move.
    const cleared = await Promise.all([
      b.mediaHomes.clearDead('s2', a.nodeId),
      c.mediaHomes.clearDead('s2', a.nodeId),
    ]);
    expect(cleared.filter(Boolean)).toHaveLength(1);
    expect(await b.mediaHomes.clearDead('s1', a.nodeId)).toBe(false); // not its home any more
    expect(await c.mediaHomes.claim('s2')).toEqual({ home: c.nodeId, moved: true, announce: false });
  });

  it('a draining home hands over (the next claim is a move); an idle one lets go (the next is fresh); a draining node claims nothing', async () => {
    const [a, b] = await Promise.all([fx.engine(FAST), fx.engine(FAST)]);
    await a.mediaHomes.claim('s1');
    await a.mediaHomes.release('s1', true);
    expect(await a.mediaHomes.claim('s1', false)).toEqual({ home: '', moved: false, announce: false });
    expect(await b.mediaHomes.claim('s1')).toEqual({ home: b.nodeId, moved: true, announce: false });
    // Only the home can let go: a's release now changes nothing.
    await a.mediaHomes.release('s1', false);
    expect(await a.mediaHomes.claim('s1')).toEqual({ home: b.nodeId, moved: false, announce: false });
    await b.mediaHomes.release('s1', false);
    expect(await fx.redis.exists(fx.key('{s1}:media'))).toBe(0);
    expect(await a.mediaHomes.claim('s1')).toEqual({ home: a.nodeId, moved: false, announce: false });
  });

  it('the liveness sweep tells the survivors of a dead node', async () => {
    const [a, b] = await Promise.all([fx.engine(FAST), fx.engine(FAST)]);
    const down: string[] = [];
    b.onOrphans(() => undefined);
    b.onNodeDown((id) => down.push(id));
    await a.crash();
    await expect.poll(() => down.includes(a.nodeId), { timeout: 5000 }).toBe(true);
  });
});
