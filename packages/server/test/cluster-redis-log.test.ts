import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TetherError, type StreamInfo } from '@tether/protocol';
import { waitFor } from '@tether/testkit';
import { FencedError, type LogEntry, type Logged } from '../src/cluster/engine.js';
import { Redis } from 'ioredis';
import { LogReader } from '../src/cluster/redis-follow.js';
import { comparePositions } from '../src/cluster/redis-log.js';
import { emptyState, foldEntry, fromSnapshot, toSnapshot } from '../src/cluster/session-fold.js';
import { REDIS_URL, RedisFixture, collector, join, member, signal } from './redis-helpers.js';

let fx: RedisFixture;
beforeEach(() => {
  fx = new RedisFixture();
});
afterEach(async () => {
  await fx.cleanup();
});

const last = (got: Logged[]) => got[got.length - 1]?.at;

describe('the Redis log', () => {
  it('orders stream ids as numbers, not as text', () => {
    expect(comparePositions('9-0', '10-0')).toBe(-1);
    expect(comparePositions('10-2', '10-10')).toBe(-1);
    expect(comparePositions('10-10', '10-10')).toBe(0);
    expect(comparePositions('0-0', '1-0')).toBe(-1);
    expect(comparePositions('1700000000001-0', '1700000000000-99')).toBe(1);
  });

  it('appends from two nodes interleave in one order that both followers see identically; each append stays contiguous', async () => {
    const [a, b] = [await fx.engine(), await fx.engine()];
    const seen = [collector(), collector()];
    await a.follow('s', seen[0]!.sink);
    await b.follow('s', seen[1]!.sink);
    const batches = (from: string) =>
      Array.from({ length: 100 }, (_, i) =>
        [0, 1, 2].slice(0, 1 + (i % 3)).map((k) => signal(from, `${i}.${k}`)),
      );
    const total = 2 * batches('a').flat().length;
    // Fired without waiting: both nodes' appends race.
    await Promise.all([
      ...batches('a').map((e) => a.append('s', e)),
      ...batches('b').map((e) => b.append('s', e)),
    ]);
    await waitFor(() => seen.every((c) => c.got.length === total), 'both followers to see every entry');
    expect(seen[1]!.got).toEqual(seen[0]!.got);
    expect(await a.read('s', '0-0', last(seen[0]!.got)!)).toEqual(seen[0]!.got);
    const signals = seen[0]!.got.map((l) => l.entry.event as { from: string; data: string });
    for (const from of ['a', 'b']) {
      const mine = signals.filter((s) => s.from === from).map((s) => s.data);
      expect(mine).toEqual(batches(from).flatMap((e) => e.map((x) => (x.event as { data: string }).data)));
    }
    // A batch is never split by another node's entries: `i.k` with k > 0 follows `i.(k-1)` directly.
    signals.forEach((s, n) => {
      const [i, k] = s.data.split('.');
      if (k !== '0') expect(signals[n - 1]).toEqual({ ...s, data: `${i}.${Number(k) - 1}` });
    });
  });

  it('a follower joining during concurrent appends gets a snapshot the entries after it continue: no gap, no duplicate', async () => {
    const [writer, reader] = [await fx.engine(), await fx.engine()];
    const script = churn(300);
    const followers: { snapshot: ReturnType<typeof toSnapshot>; got: Logged[] }[] = [];
    let done = 0;
    const writing = (async () => {
      for (const step of script) {
        await writer.append('s', step);
        done++;
      }
    })();
    // Followers join at staggered points while the writer runs.
    for (let i = 0; i < 6; i++) {
      await waitFor(() => done >= i * 50, `the writer at step ${i * 50}`);
      const c = collector();
      const { snapshot } = await reader.follow('s', c.sink);
      followers.push({ snapshot, got: c.got });
    }
    await writing;
    const final = await reader.snapshot('s');
    await waitFor(
      () => followers.every((f) => (last(f.got) ?? f.snapshot.at) === final.at),
      'every follower to reach the end of the log',
    );
    // The snapshot hashes agree with folding the whole log from the start.
    const whole = emptyState();
    for (const l of await reader.read('s', '0-0', final.at)) foldEntry(whole, l.entry);
    expect(toSnapshot(whole, final.at)).toEqual(final);
    expect(final.members.length).toBeGreaterThan(0);
    expect(final.streams.length).toBeGreaterThan(0);
    for (const f of followers) {
      expect(f.got).toEqual(await reader.read('s', f.snapshot.at, final.at));
      const state = fromSnapshot(f.snapshot);
      for (const l of f.got) foldEntry(state, l.entry);
      expect(toSnapshot(state, final.at)).toEqual(final);
    }
  });

  it('a follower that joins with an older position than the read in flight gets every entry after its own', async () => {
    const e = await fx.engine();
    const conn = new Redis(REDIS_URL);
    const id = (await conn.client('ID')) as number;
    const reader = new LogReader(conn, fx.redis, fx.key('wake'), { batch: 100, blockMs: 5000 }, (err) => {
      throw err;
    });
    reader.start();
    try {
      const [one, two] = [collector(), collector()];
      reader.add('s', fx.key('{s}:log'), '0-0', 0, one.sink);
      await reader.wake();
      const at = await e.appendAt(
        's',
        Array.from({ length: 10 }, (_, i) => signal('x', String(i))),
      );
      await waitFor(() => one.got.length === 10, 'the first follower');
      // The reader now blocks reading after the 10th entry; a follower arrives with the 3rd's position,
      // unannounced (no wake), so that read returns with the 11th entry alone.
      await untilBlocked(fx.redis, id);
      reader.add('s', fx.key('{s}:log'), at[2]!, 3, two.sink);
      at.push(...(await e.appendAt('s', [signal('x', '10')])));
      await waitFor(() => two.got.length === 8, 'the second follower');
      expect(two.got.map((l) => l.at)).toEqual(at.slice(3));
      expect(one.got.map((l) => l.at)).toEqual(at);
    } finally {
      await reader.stop();
    }
  });

  it('unfollow stops deliveries to that sink only', async () => {
    const e = await fx.engine();
    const [one, two] = [collector(), collector()];
    const f1 = await e.follow('s', one.sink);
    await e.follow('s', two.sink);
    await e.append('s', [signal('x', '1')]);
    await waitFor(() => one.got.length === 1 && two.got.length === 1, 'both sinks');
    f1.unfollow();
    await e.append('s', [signal('x', '2')]);
    await waitFor(() => two.got.length === 2, 'the second sink');
    expect(one.got.map((l) => (l.entry.event as { data: string }).data)).toEqual(['1']);
  });

  it('a fence refuses the append of a stale owner, writing nothing', async () => {
    const [a, b] = [await fx.engine(), await fx.engine()];
    await join(a, 's', 'c1');
    await a.append('s', [signal('c1', 'mine')], { connectionId: 'c1', epoch: 0 });
    expect(await b.directory.claim('s', 'c1', 0)).toMatchObject({ epoch: 1, member: { owner: b.nodeId } });
    const before = await a.snapshot('s');
    const stale = a.append(
      's',
      [signal('c1', 'late'), { event: { t: 'connectionReconnecting', connectionId: 'c1' } }],
      {
        connectionId: 'c1',
        epoch: 0,
      },
    );
    await expect(stale).rejects.toBeInstanceOf(FencedError);
    expect(await a.snapshot('s')).toEqual(before);
    await b.append('s', [signal('c1', 'new owner')], { connectionId: 'c1', epoch: 1 });
    const data = (await a.read('s', '0-0', (await a.snapshot('s')).at)).map((l) => l.entry.event.t);
    expect(data).toEqual(['~joined', 'signal', '~moved', 'signal']);
    // Gone for good: no one may append for it.
    await b.directory.remove('s', 'c1');
    await expect(b.append('s', [signal('c1', 'x')], { connectionId: 'c1', epoch: 1 })).rejects.toBeInstanceOf(
      FencedError,
    );
  });

  it('keeps about logMaxLen entries; a read older than the retained log fails with RESUME_SEQUENCE_INVALID', async () => {
    const e = await fx.engine({ logMaxLen: 100 });
    const first = await e.appendAt('s', [signal('x', '0')]);
    expect(await e.read('s', '0-0', first[0]!)).toHaveLength(1);
    const at: string[] = [...first];
    for (let i = 0; i < 20; i++)
      at.push(
        ...(await e.appendAt(
          's',
          Array.from({ length: 50 }, (_, k) => signal('x', `${i}.${k}`)),
        )),
      );
    const len = await fx.redis.xlen(fx.key('{s}:log'));
    // MAXLEN ~ trims whole stream nodes (stream-node-max-entries, 100 by default).
    expect(len).toBeGreaterThanOrEqual(100);
    expect(len).toBeLessThanOrEqual(200);
    const end = at[at.length - 1]!;
    const gone = e.read('s', at[0]!, end);
    await expect(gone).rejects.toBeInstanceOf(TetherError);
    await expect(gone).rejects.toMatchObject({ code: 'RESUME_SEQUENCE_INVALID' });
    await expect(e.read('s', '0-0', end)).rejects.toMatchObject({ code: 'RESUME_SEQUENCE_INVALID' });
    const kept = at[at.length - 90]!;
    expect((await e.read('s', kept, end)).map((l) => l.at)).toEqual(at.slice(at.length - 89));
  });

  it('reads in pages without losing or repeating an entry', async () => {
    const e = await fx.engine();
    const at = await e.appendAt(
      's',
      Array.from({ length: 2500 }, (_, i) => signal('x', String(i))),
    );
    const got = await e.read('s', at[10]!, at[2400]!);
    expect(got.map((l) => l.at)).toEqual(at.slice(11, 2401));
  });

  it('a session nobody is a member of expires; a new member keeps it', async () => {
    const e = await fx.engine({ idleSessionTtlMs: 60_000 });
    await e.append('s', [signal('api', 'hello')]);
    expect(await fx.redis.pttl(fx.key('{s}:log'))).toBeGreaterThan(0);
    await e.append('s', [{ event: { t: '~joined', member: member('c1', e.nodeId) } }]);
    expect(await fx.redis.pttl(fx.key('{s}:log'))).toBe(-1);
    await e.append('s', [
      { event: { t: 'connectionDestroyed', connectionId: 'c1', reason: 'clientDisconnected' } },
    ]);
    expect(await fx.redis.pttl(fx.key('{s}:log'))).toBeGreaterThan(0);
    expect(await fx.redis.pttl(fx.key('{s}:meta'))).toBeGreaterThan(0);
  });
});

/** Waits until the client `id` is blocked in a command (CLIENT LIST flag `b`). */
async function untilBlocked(redis: Redis, id: number): Promise<void> {
  const start = Date.now();
  while (!/ flags=\S*b/.test((await redis.client('LIST', 'ID', id)) as string)) {
    if (Date.now() - start > 5000) throw new Error(`client ${id} never blocked`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Appends that keep changing presence and streams (joins, confirms, drops, streams, property changes). */
function churn(steps: number): LogEntry[][] {
  const out: LogEntry[][] = [];
  const stream = (id: string, conn: string): StreamInfo => ({
    streamId: id,
    connectionId: conn,
    name: id,
    hasAudio: true,
    hasVideo: true,
    videoType: 'camera',
    creationTime: 5,
  });
  for (let i = 0; i < steps; i++) {
    const id = `c${i}`;
    const step: LogEntry[] = [{ event: { t: '~joined', member: member(id, 'n') } }];
    if (i % 3 !== 2) step.push({ event: { t: 'connectionCreated', connection: member(id, 'n').info } });
    if (i % 4 === 0) step.push({ event: { t: 'streamCreated', stream: stream(`st${i}`, id) } });
    if (i % 4 === 1)
      step.push({ event: { t: 'streamPropertyChanged', streamId: `st${i - 1}`, hasVideo: false } });
    if (i % 5 === 3) step.push({ event: { t: 'connectionReconnecting', connectionId: `c${i - 2}` } });
    if (i % 7 === 6)
      step.push({
        event: { t: 'connectionDestroyed', connectionId: `c${i - 5}`, reason: 'clientDisconnected' },
      });
    if (i % 8 === 7)
      step.push({
        event: {
          t: 'streamDestroyed',
          streamId: `st${i - 7}`,
          connectionId: 'x',
          reason: 'clientDisconnected',
        },
      });
    if (i % 2 === 0) step.push(signal(id, 'hi'));
    out.push(step);
  }
  return out;
}
