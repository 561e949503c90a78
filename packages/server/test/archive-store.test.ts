import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { RedisArchiveStore } from '../src/archive/redis-store.js';
import { SqliteArchiveStore } from '../src/archive/sqlite-store.js';
import type { ArchiveRecord, ArchiveStore } from '../src/archive/store.js';
import { REDIS_URL, RedisFixture } from './redis-helpers.js';

/** The same contract for both stores: SQLite (the embedded default) and the cluster's Redis. */
function record(id: string, over: Partial<ArchiveRecord> = {}): ArchiveRecord {
  return {
    id,
    project: 'p1',
    owner: 'dir-1',
    sessionId: 's1',
    name: id,
    outputMode: 'individual',
    hasAudio: true,
    hasVideo: true,
    resolution: '640x480',
    layout: { type: 'bestFit' },
    status: 'started',
    createdAt: 1000,
    duration: 0,
    size: 0,
    streams: [],
    ...over,
  };
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

const stores: Array<[string, () => Promise<{ store: ArchiveStore; reopen: () => Promise<ArchiveStore> }>]> = [
  [
    'SQLite',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'tether-store-'));
      const file = join(dir, 'archives.db');
      const opened: ArchiveStore[] = [];
      const open = async () => {
        const s = new SqliteArchiveStore(file);
        opened.push(s);
        return s;
      };
      cleanups.push(async () => {
        for (const s of opened) await s.close().catch(() => undefined);
        rmSync(dir, { recursive: true, force: true });
      });
      return { store: await open(), reopen: open };
    },
  ],
  [
    'Redis',
    async () => {
      const fixture = new RedisFixture();
      cleanups.push(() => fixture.cleanup());
      const open = async () => new RedisArchiveStore(new Redis(REDIS_URL), fixture.prefix, true);
      const stores = [await open()];
      cleanups.push(async () => {
        for (const s of stores) await s.close();
      });
      return {
        store: stores[0]!,
        reopen: async () => {
          const s = await open();
          stores.push(s);
          return s;
        },
      };
    },
  ],
];

describe.each(stores)('%s archive store', (_name, make) => {
  it('keeps records across a reopen: get, update, per-project and per-session pages newest first, delete', async () => {
    const { store, reopen } = await make();
    await store.insert(record('a', { createdAt: 1000 }));
    await store.insert(record('b', { createdAt: 2000, sessionId: 's2' }));
    await store.insert(record('c', { createdAt: 3000 }));
    await store.insert(record('x', { createdAt: 4000, project: 'p2' }));
    expect(await store.update('a', { status: 'available', size: 42, duration: 1.5 })).toBe(true);
    expect(await store.update('nope', { status: 'failed' })).toBe(false);

    const again = await reopen();
    expect(await again.get('a')).toMatchObject({
      status: 'available',
      size: 42,
      project: 'p1',
      owner: 'dir-1',
    });
    expect(await again.get('nope')).toBeUndefined();
    const all = await again.list('p1', { offset: 0, count: 10 });
    expect(all.count).toBe(3);
    expect(all.items.map((r) => r.id)).toEqual(['c', 'b', 'a']);
    expect((await again.list('p1', { offset: 1, count: 1 })).items.map((r) => r.id)).toEqual(['b']);
    const s1 = await again.list('p1', { sessionId: 's1', offset: 0, count: 10 });
    expect([s1.count, s1.items.map((r) => r.id)]).toEqual([2, ['c', 'a']]);
    expect((await again.list('p2', { offset: 0, count: 10 })).items.map((r) => r.id)).toEqual(['x']);

    expect(await again.delete('c')).toBe(true);
    expect(await again.delete('c')).toBe(false);
    expect((await again.list('p1', { offset: 0, count: 10 })).count).toBe(2);
  });

  it('knows the one recording per session, and what is unfinished', async () => {
    const { store } = await make();
    await store.insert(record('a'));
    await store.insert(record('b', { sessionId: 's2', status: 'available' }));
    expect((await store.recording('s1'))?.id).toBe('a');
    expect(await store.recording('s2')).toBeUndefined();
    expect((await store.unfinished()).map((r) => r.id)).toEqual(['a']);
    await store.update('a', { status: 'stopped' });
    expect(await store.recording('s1')).toBeUndefined();
    expect((await store.unfinished()).map((r) => r.id)).toEqual(['a']);
    await store.update('a', { status: 'failed', reason: 'serverRestarted' });
    expect(await store.unfinished()).toEqual([]);
    expect(await store.get('a')).toMatchObject({ status: 'failed', reason: 'serverRestarted' });
  });
});
