import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FaultProxy, waitFor } from '@tether/testkit';
import { FencedError, type ResumeRecord } from '../src/cluster/engine.js';
import { RedisEngine, RedisUnreachableError } from '../src/cluster/redis-engine.js';
import { comparePositions } from '../src/cluster/redis-log.js';
import { REDIS_URL, RedisFixture, collector, join, signal, until } from './redis-helpers.js';

const FAST = { livenessTtlMs: 1500, livenessRefreshMs: 250, sweepMs: 200 };

let fx: RedisFixture;
beforeEach(() => {
  fx = new RedisFixture();
});
afterEach(async () => {
  await fx.cleanup();
});

/** Who got which connection through onOrphans: `<connection>` → node ids (one, if all is well). */
function takers(engines: RedisEngine[]) {
  const got = new Map<string, string[]>();
  const records: ResumeRecord[] = [];
  for (const e of engines)
    e.onOrphans((rs) => {
      for (const r of rs) {
        got.set(r.member.info.connectionId, [...(got.get(r.member.info.connectionId) ?? []), e.nodeId]);
        records.push(r);
      }
    });
  return { got, records };
}

async function joinMany(e: RedisEngine, n: number, tag = 'c'): Promise<string[]> {
  const ids = Array.from({ length: n }, (_, i) => `${tag}${i}`);
  for (const id of ids) await join(e, 's', id);
  return ids;
}

/** Every connection went to exactly one survivor, claimed for it (owner, epoch), with one `~moved` in the log. */
async function expectHandedOnce(e: RedisEngine, ids: string[], t: ReturnType<typeof takers>, epoch: number) {
  expect([...t.got.keys()].sort()).toEqual([...ids].sort());
  for (const id of ids) expect(t.got.get(id)).toHaveLength(1);
  for (const r of t.records)
    expect(r).toMatchObject({ epoch, member: { owner: t.got.get(r.member.info.connectionId)![0] } });
  const snap = await e.snapshot('s');
  const log = await e.read('s', '0-0', snap.at);
  for (const id of ids) {
    const moved = log.filter((l) => l.entry.event.t === '~moved' && l.entry.event.connectionId === id);
    expect(moved).toHaveLength(epoch);
    expect(snap.members.find((m) => m.info.connectionId === id)?.owner).toBe(t.got.get(id)![0]);
  }
}

const isNode = async (id: string) => (await fx.redis.sismember(fx.key('nodes'), id)) === 1;

describe('liveness and orphans on Redis', () => {
  it('a node that stops refreshing has each of its connections handed to exactly one survivor', async () => {
    const dead = await fx.engine(FAST);
    const ids = await joinMany(dead, 30);
    const survivors = [await fx.engine(FAST), await fx.engine(FAST)];
    const t = takers(survivors);
    await dead.crash();
    await waitFor(() => t.got.size === ids.length, 'every connection taken over');
    // Reaped for good: the node leaves the set, its index goes.
    await until(async () => !(await isNode(dead.nodeId)), 'the dead node to leave the set');
    expect(await fx.redis.exists(fx.key(`node:${dead.nodeId}:owned`))).toBe(0);
    await expectHandedOnce(survivors[0]!, ids, t, 1);
  });

  it('a node killed with SIGKILL has each of its connections handed to exactly one survivor', async () => {
    const child = await startChild(fx.prefix, 25);
    const survivors = [await fx.engine(FAST), await fx.engine(FAST)];
    const t = takers(survivors);
    expect(await isNode(child.nodeId)).toBe(true);
    child.process.kill('SIGKILL');
    await waitFor(() => t.got.size === 25, 'every connection of the killed node taken over');
    await expectHandedOnce(
      survivors[0]!,
      Array.from({ length: 25 }, (_, i) => `k${i}`),
      t,
      1,
    );
  });

  it('a reaper that dies mid-way loses nothing: the rest when its lock expires, its own claims when it is reaped', async () => {
    const dead = await fx.engine(FAST);
    const ids = await joinMany(dead, 20);
    await dead.crash();
    // A reaper takes the lock, claims half, and dies before handing anything on.
    const reaper = await fx.engine(FAST);
    await fx.redis.set(fx.key(`node:${dead.nodeId}:reaper`), reaper.nodeId, 'PX', 1500);
    for (const id of ids.slice(0, 10)) expect(await reaper.directory.claim('s', id, 0)).toBeDefined();
    await reaper.crash();
    const survivors = [await fx.engine(FAST), await fx.engine(FAST)];
    const t = takers(survivors);
    await waitFor(() => t.got.size === ids.length, 'every connection taken over', 15_000);
    expect([...t.got.values()].every((nodes) => nodes.length === 1)).toBe(true);
    const epochs = new Map(t.records.map((r) => [r.member.info.connectionId, r.epoch]));
    for (const id of ids.slice(0, 10)) expect(epochs.get(id)).toBe(2);
    for (const id of ids.slice(10)) expect(epochs.get(id)).toBe(1);
    const log = await survivors[0]!.read('s', '0-0', (await survivors[0]!.snapshot('s')).at);
    expect(log.filter((l) => l.entry.event.t === '~moved')).toHaveLength(30);
  });

  it('a graceful close ends the node at once: its connections move without waiting for its TTL', async () => {
    const leaving = await fx.engine({ ...FAST, livenessTtlMs: 60_000 });
    const ids = await joinMany(leaving, 5);
    const t = takers([await fx.engine(FAST)]);
    await leaving.close();
    await waitFor(() => t.got.size === ids.length, 'the connections taken over (long before the 60 s TTL)');
  });

  it('a live node whose key lapsed is told; its connections went to a survivor, which fences it off', async () => {
    // Refreshes far apart, so the survivor (sweeping every 200 ms) reaps it between two of them.
    const slow = await fx.engine({ livenessTtlMs: 20_000, livenessRefreshMs: 2000 });
    const ids = await joinMany(slow, 3);
    let lapsed = 0;
    slow.on('lapsed', () => lapsed++);
    const t = takers([await fx.engine(FAST)]);
    // Just after a refresh (its TTL jumps back up), the key goes, as if the node had stalled.
    const key = fx.key(`node:${slow.nodeId}`);
    let ttl = await fx.redis.pttl(key);
    await until(async () => {
      const next = await fx.redis.pttl(key);
      const refreshed = next > ttl;
      ttl = next;
      return refreshed;
    }, 'a refresh');
    await fx.redis.del(key);
    await waitFor(() => t.got.size === ids.length, 'the takeover');
    const stale = slow.append('s', [{ event: { t: 'connectionReconnecting', connectionId: 'c0' } }], {
      connectionId: 'c0',
      epoch: 0,
    });
    await expect(stale).rejects.toBeInstanceOf(FencedError);
    await waitFor(() => lapsed === 1, 'the lapse, at its next refresh');
    // Alive again from that refresh on.
    expect(await isNode(slow.nodeId)).toBe(true);
    expect(await fx.redis.exists(key)).toBe(1);
  });
});

describe('Redis unreachable', () => {
  it('while running: the state goes lost and back, commands fail at once meanwhile, the follower misses nothing', async () => {
    const proxy = await FaultProxy.start({ target: { host: '127.0.0.1', port: 6379 } });
    try {
      const cut = await fx.engine(FAST, `redis://127.0.0.1:${proxy.port}`);
      const direct = await fx.engine(FAST);
      const states: string[] = [];
      let lostError: Error | undefined;
      cut.on('state', (state, err) => {
        states.push(state);
        if (err) lostError = err;
      });
      const c = collector();
      await cut.follow('s', c.sink);
      await direct.append('s', [signal('d', '0')]);
      await waitFor(() => c.got.length === 1, 'the first entry');
      proxy.refuseNew();
      proxy.reset();
      await waitFor(() => cut.state === 'lost', 'the lost state');
      expect(lostError).toBeInstanceOf(Error);
      const started = Date.now();
      await expect(cut.append('s', [signal('c', 'during')])).rejects.toThrow();
      expect(Date.now() - started).toBeLessThan(500);
      // Others go on meanwhile.
      for (let i = 1; i <= 50; i++) await direct.append('s', [signal('d', String(i))]);
      proxy.allowNew();
      await waitFor(() => cut.state === 'ready', 'the ready state');
      expect(states).toEqual(['lost', 'ready']);
      await waitFor(() => c.got.length === 51, 'every entry appended during the outage');
      expect(c.got.map((l) => (l.entry.event as { data: string }).data)).toEqual(
        Array.from({ length: 51 }, (_, i) => String(i)),
      );
      await cut.append('s', [signal('c', 'after')]);
      await waitFor(() => c.got.length === 52, 'its own append after');
    } finally {
      await proxy.close();
    }
  });

  it('a blackholed link is noticed (lost) within the socket timeout, and recovers when the path returns', async () => {
    const proxy = await FaultProxy.start({ target: { host: '127.0.0.1', port: 6379 } });
    try {
      const opts = { ...FAST, socketTimeoutMs: 500, readBlockMs: 500 };
      const cut = await fx.engine(opts, `redis://127.0.0.1:${proxy.port}`);
      const direct = await fx.engine(FAST);
      const c = collector();
      await cut.follow('s', c.sink);
      proxy.blackhole();
      const hanging = cut.append('s', [signal('c', 'into the hole')]).then(
        () => 'answered',
        (err: unknown) => err,
      );
      await waitFor(() => cut.state === 'lost', 'the lost state', 5000);
      // Its outcome is unknown (it may have been applied); it fails rather than hang.
      expect(await hanging).toBeInstanceOf(Error);
      for (let i = 0; i < 20; i++) await direct.append('s', [signal('d', String(i))]);
      proxy.restore();
      await waitFor(() => cut.state === 'ready', 'the ready state');
      await waitFor(
        () => c.got.filter((l) => (l.entry.event as { from: string }).from === 'd').length === 20,
        'the entries of the outage',
      );
    } finally {
      await proxy.close();
    }
  });

  it('a follower cut off while the log is trimmed past it is told its follow broke, and gets nothing past the hole', async () => {
    const proxy = await FaultProxy.start({ target: { host: '127.0.0.1', port: 6379 } });
    try {
      const opts = { ...FAST, logMaxLen: 100 };
      const cut = await fx.engine(opts, `redis://127.0.0.1:${proxy.port}`);
      const direct = await fx.engine(opts);
      const c = collector();
      let broken = 0;
      await cut.follow('s', c.sink, () => broken++);
      await direct.append('s', [signal('d', 'before')]);
      await waitFor(() => c.got.length === 1, 'the first entry');
      proxy.refuseNew();
      proxy.reset();
      await waitFor(() => cut.state === 'lost', 'the lost state');
      for (let i = 0; i < 10; i++)
        await direct.append(
          's',
          Array.from({ length: 50 }, (_, k) => signal('d', `${i}.${k}`)),
        );
      proxy.allowNew();
      await waitFor(() => broken === 1, 'the broken follow');
      expect(c.got).toHaveLength(1);
      // A new follow starts again from a snapshot and goes on.
      const again = collector();
      const { snapshot } = await cut.follow('s', again.sink);
      await direct.append('s', [signal('d', 'after')]);
      await waitFor(() => again.got.length === 1, 'the entry after the new snapshot');
      expect(comparePositions(again.got[0]!.at, snapshot.at)).toBe(1);
      expect(c.got).toHaveLength(1);
    } finally {
      await proxy.close();
    }
  });

  it('at start: a clear error naming the URL', async () => {
    const port = await closedPort();
    const url = `redis://127.0.0.1:${port}`;
    const attempt = RedisEngine.connect(url);
    await expect(attempt).rejects.toBeInstanceOf(RedisUnreachableError);
    await expect(attempt).rejects.toThrow(
      `cannot reach Redis at redis://127.0.0.1:${port}: ECONNREFUSED — start one or fix --cluster`,
    );
  });

  it('the error never shows a password', async () => {
    const port = await closedPort();
    await expect(RedisEngine.connect(`redis://:hunter2@127.0.0.1:${port}`)).rejects.toThrow(
      `cannot reach Redis at redis://:***@127.0.0.1:${port}: ECONNREFUSED`,
    );
  });
});

// ---- the child node -------------------------------------------------------------------------

let bundle: string;
let bundleDir: string;
beforeAll(async () => {
  bundleDir = mkdtempSync(joinPath(tmpdir(), 'tether-redis-node-'));
  bundle = joinPath(bundleDir, 'redis-node.cjs');
  // Bundled from the sources, so the child runs what this test sees (no build step, no stale dist).
  await build({
    entryPoints: [fileURLToPath(new URL('./fixtures/redis-node.ts', import.meta.url))],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    outfile: bundle,
    alias: { '@tether/protocol': fileURLToPath(new URL('../../protocol/src/index.ts', import.meta.url)) },
    logLevel: 'silent',
  });
});
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(bundleDir, { recursive: true, force: true });
});

async function startChild(prefix: string, count: number): Promise<{ process: ChildProcess; nodeId: string }> {
  const child = fork(
    bundle,
    [REDIS_URL, prefix, String(count), String(FAST.livenessTtlMs), String(FAST.livenessRefreshMs)],
    {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    },
  );
  children.push(child);
  const nodeId = await new Promise<string>((resolve, reject) => {
    child.once('message', (m) => resolve((m as { nodeId: string }).nodeId));
    child.once('exit', (code) => reject(new Error(`the child node exited (${code}) before it was ready`)));
  });
  return { process: child, nodeId };
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}
