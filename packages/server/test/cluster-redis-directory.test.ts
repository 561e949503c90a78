import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FencedError } from '../src/cluster/engine.js';
import { RedisFixture, join, record, member } from './redis-helpers.js';

let fx: RedisFixture;
beforeEach(() => {
  fx = new RedisFixture();
});
afterEach(async () => {
  await fx.cleanup();
});

describe('the Redis connection directory', () => {
  it('loads what was registered, with the member as the log has it now', async () => {
    const a = await fx.engine();
    const r = await join(a, 's', 'c1');
    expect(await a.directory.load('s', 'c1')).toEqual(r);
    await a.append('s', [{ event: { t: 'connectionCreated', connection: r.member.info } }]);
    await a.append('s', [{ event: { t: 'connectionReconnecting', connectionId: 'c1' } }]);
    await a.directory.checkpoint('s', 'c1', { seq: 3, at: '5-0', lastApplied: 2 }, 1234);
    expect(await a.directory.load('s', 'c1')).toEqual({
      ...r,
      member: { ...r.member, state: 'interrupted' },
      checkpoint: { seq: 3, at: '5-0', lastApplied: 2 },
      interruptedAt: 1234,
    });
    expect(await a.directory.load('s', 'nobody')).toBeUndefined();
  });

  it('two nodes claiming one connection at once: exactly one wins, once in the log, once in the indexes', async () => {
    const [owner, a, b] = [await fx.engine(), await fx.engine(), await fx.engine()];
    const ids = Array.from({ length: 20 }, (_, i) => `c${i}`);
    for (const id of ids) await join(owner, 's', id);
    const results = await Promise.all(
      ids.map((id) => Promise.all([a.directory.claim('s', id, 0), b.directory.claim('s', id, 0)])),
    );
    const snapshot = await a.snapshot('s');
    const moved = (await a.read('s', '0-0', snapshot.at)).filter((l) => l.entry.event.t === '~moved');
    expect(moved).toHaveLength(ids.length);
    const [ownedA, ownedB, ownedOld] = await Promise.all(
      [a, b, owner].map((e) => fx.redis.smembers(fx.key(`node:${e.nodeId}:owned`))),
    );
    expect(ownedOld).toEqual([]);
    results.forEach(([ra, rb], i) => {
      const id = ids[i]!;
      expect([ra, rb].filter(Boolean)).toHaveLength(1);
      const winner = ra ? a : b;
      expect(ra ?? rb).toMatchObject({ epoch: 1, member: { owner: winner.nodeId } });
      expect(moved.filter((l) => l.entry.event.t === '~moved' && l.entry.event.connectionId === id)).toEqual([
        expect.objectContaining({
          entry: { event: { t: '~moved', connectionId: id, owner: winner.nodeId, epoch: 1 } },
        }),
      ]);
      expect(snapshot.members.find((m) => m.info.connectionId === id)?.owner).toBe(winner.nodeId);
      expect(ownedA!.includes(`s ${id} 1`)).toBe(winner === a);
      expect(ownedB!.includes(`s ${id} 1`)).toBe(winner === b);
    });
    // A stale claim (epoch 0 again) fails and leaves the owner's index entry alone.
    const first = results[0]![0] ? a : b;
    expect(await first.directory.claim('s', 'c0', 0)).toBeUndefined();
    expect(await fx.redis.sismember(fx.key(`node:${first.nodeId}:owned`), 's c0 1')).toBe(1);
  });

  it('a checkpoint never moves backwards, and compares positions as numbers', async () => {
    const a = await fx.engine();
    await join(a, 's', 'c1');
    const cp = async () => (await a.directory.load('s', 'c1'))!.checkpoint;
    await a.directory.checkpoint('s', 'c1', { seq: 5, at: '9-0', lastApplied: 4 });
    await a.directory.checkpoint('s', 'c1', { seq: 3, at: '8-0', lastApplied: 2 });
    expect(await cp()).toEqual({ seq: 5, at: '9-0', lastApplied: 4 });
    // '10-1' is after '9-0' (as text it sorts before).
    await a.directory.checkpoint('s', 'c1', { seq: 6, at: '10-1', lastApplied: 4 });
    expect(await cp()).toEqual({ seq: 6, at: '10-1', lastApplied: 4 });
    // A seq that moves on with a position that goes back is not a checkpoint: refused as a pair.
    await a.directory.checkpoint('s', 'c1', { seq: 7, at: '10-0', lastApplied: 9 });
    expect(await cp()).toEqual({ seq: 6, at: '10-1', lastApplied: 9 });
    // Checkpoints arriving out of order end at the greatest.
    await Promise.all(
      [12, 8, 15, 11, 14].map((n) =>
        a.directory.checkpoint('s', 'c1', { seq: n, at: `20-${n}`, lastApplied: n }),
      ),
    );
    expect(await cp()).toEqual({ seq: 15, at: '20-15', lastApplied: 15 });
    await a.directory.checkpoint('s', 'c1', { seq: 15, at: '20-15', lastApplied: 15 }, 99);
    expect((await a.directory.load('s', 'c1'))!.interruptedAt).toBe(99);
    await a.directory.checkpoint('s', 'c1', { seq: 15, at: '20-15', lastApplied: 15 });
    expect((await a.directory.load('s', 'c1'))!.interruptedAt).toBeUndefined();
  });

  it('only the owner checkpoints or removes; removing drops the record and the index entry', async () => {
    const [a, b] = [await fx.engine(), await fx.engine()];
    await join(a, 's', 'c1');
    const cp = { seq: 1, at: '1-0', lastApplied: 1 };
    await expect(b.directory.checkpoint('s', 'c1', cp)).rejects.toBeInstanceOf(FencedError);
    await expect(b.directory.remove('s', 'c1')).rejects.toBeInstanceOf(FencedError);
    await a.directory.remove('s', 'c1');
    expect(await a.directory.load('s', 'c1')).toBeUndefined();
    expect(await fx.redis.smembers(fx.key(`node:${a.nodeId}:owned`))).toEqual([]);
    // Gone: removing again is nothing; a checkpoint for it is refused.
    await a.directory.remove('s', 'c1');
    await expect(a.directory.checkpoint('s', 'c1', cp)).rejects.toBeInstanceOf(FencedError);
    expect(await fx.redis.exists(fx.key('{s}:conn:c1'))).toBe(0);
  });

  it('stores the secret digest and nothing of the secret', async () => {
    const a = await fx.engine();
    const r = { ...record('s', member('c1', a.nodeId)), secretDigest: 'abc_-' };
    await a.directory.register(r);
    const fields = await fx.redis.hgetall(fx.key('{s}:conn:c1'));
    expect(Object.keys(fields).sort()).toEqual(
      ['at', 'codec', 'epoch', 'joinedAt', 'lastApplied', 'member', 'owner', 'secretDigest', 'seq'].sort(),
    );
    expect(fields.secretDigest).toBe('abc_-');
  });
});
