import { createServer, connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { CutProxy } from './proxy.js';

const closers: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

/** An echo server on loopback that records whether each of its connections saw an end. */
async function echo() {
  const ends: string[] = [];
  const server = createServer((s) => {
    s.on('data', (d) => s.write(d));
    s.on('end', () => ends.push('end'));
    s.on('error', () => ends.push('error'));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(() => new Promise((r) => server.close(r)));
  return { port: (server.address() as { port: number }).port, ends };
}

function client(port: number): Promise<{ socket: Socket; got: string[]; closed: () => boolean }> {
  return new Promise((resolve) => {
    const got: string[] = [];
    let closed = false;
    const socket = connect(port, '127.0.0.1', () => resolve({ socket, got, closed: () => closed }));
    socket.on('data', (d) => got.push(d.toString()));
    socket.on('close', () => (closed = true));
    socket.on('error', () => undefined);
    closers.push(() => socket.destroy());
  });
}

const until = async (cond: () => boolean) => {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(cond()).toBe(true);
};

describe('CutProxy', () => {
  it('a cut leaves open connections dark — nothing carried, no end either way — while new ones pass', async () => {
    const target = await echo();
    const proxy = await CutProxy.start({ host: '127.0.0.1', port: target.port });
    closers.push(() => proxy.close());
    const old = await client(proxy.port);
    old.socket.write('one');
    await until(() => old.got.join('') === 'one');
    expect(proxy.cut()).toBe(1);
    old.socket.write('two');
    const fresh = await client(proxy.port);
    fresh.socket.write('three');
    await until(() => fresh.got.join('') === 'three');
    // The dark path: what was written after the cut never arrived, and neither side was told.
    expect(old.got.join('')).toBe('one');
    expect(old.closed()).toBe(false);
    expect(target.ends).toEqual([]);
    expect(proxy.open).toBe(1);
  });
});
