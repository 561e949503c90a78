import net, { type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_HOLD_BYTES, FaultProxy, SYN_RETRANSMIT_MS } from '../src/fault-proxy.js';

/** How long "nothing happens" is watched for. Generous, since only its absence is asserted. */
const QUIET_MS = 300;

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** For state with no event to wait on (the proxy's side of a socket): poll, with a generous limit. */
async function eventually(predicate: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!predicate()) {
    if (performance.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(10);
  }
}

/** An echo server over real loopback sockets, which records what reached it. */
interface Echo {
  port: number;
  sockets: Socket[];
  received: number;
  connections: number;
}

async function startEcho(): Promise<Echo> {
  const echo: Echo = { port: 0, sockets: [], received: 0, connections: 0 };
  const server = net.createServer((s) => {
    echo.connections++;
    echo.sockets.push(s);
    s.on('error', () => {});
    s.on('data', (chunk) => (echo.received += chunk.length));
    s.pipe(s);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  echo.port = (server.address() as net.AddressInfo).port;
  cleanups.push(() => {
    for (const s of echo.sockets) s.destroy();
    return new Promise((resolve) => server.close(resolve));
  });
  return echo;
}

async function startProxy(echo: Echo): Promise<FaultProxy> {
  const proxy = await FaultProxy.start({ target: { host: '127.0.0.1', port: echo.port } });
  cleanups.push(() => proxy.close());
  return proxy;
}

/** A client socket that records everything it sees, with event-driven waits. */
class Client {
  /** Bytes received so far; concatenated lazily, since some tests move tens of MiB. */
  length = 0;
  private chunks: Buffer[] = [];
  readonly events: string[] = [];
  errorCode: string | undefined;
  private waiters: (() => void)[] = [];

  constructor(readonly socket: Socket) {
    cleanups.push(() => socket.destroy());
    socket.on('data', (chunk: Buffer) => {
      this.chunks.push(chunk);
      this.length += chunk.length;
      this.wake();
    });
    socket.on('end', () => this.record('end'));
    socket.on('close', () => this.record('close'));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      this.errorCode = err.code;
      this.record('error');
    });
  }

  static connect(port: number): Promise<Client> {
    const socket = net.connect({ host: '127.0.0.1', port });
    const client = new Client(socket);
    return new Promise((resolve, reject) => {
      socket.once('connect', () => resolve(client));
      socket.once('error', reject);
    });
  }

  get data(): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0] ?? Buffer.alloc(0);
  }

  text(): string {
    return this.data.toString();
  }

  until(predicate: () => boolean): Promise<void> {
    if (predicate()) return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => (predicate() ? resolve() : this.waiters.push(check));
      this.waiters.push(check);
    });
  }

  untilBytes(n: number): Promise<void> {
    return this.until(() => this.length >= n);
  }

  untilEvent(event: string): Promise<void> {
    return this.until(() => this.events.includes(event));
  }

  /** Sends and waits for the echo of exactly these bytes; returns the round-trip time in ms. */
  async roundTrip(text: string): Promise<number> {
    const start = performance.now();
    const expected = this.length + Buffer.byteLength(text);
    this.socket.write(text);
    await this.untilBytes(expected);
    return performance.now() - start;
  }

  private record(event: string): void {
    this.events.push(event);
    this.wake();
  }

  private wake(): void {
    for (const check of this.waiters.splice(0)) check();
  }
}

const closedEvent = (s: Socket) =>
  new Promise<{ hadError: boolean; code?: string }>((resolve) => {
    let code: string | undefined;
    s.on('error', (err: NodeJS.ErrnoException) => (code = err.code));
    s.once('close', (hadError) => resolve({ hadError, code }));
  });

describe('FaultProxy', () => {
  it('passes bytes both ways unchanged, and passes a clean close through', async () => {
    const echo = await startEcho();
    const proxy = await startProxy(echo);
    expect(proxy.url).toBe(`ws://127.0.0.1:${proxy.port}`);
    const c = await Client.connect(proxy.port);
    await c.roundTrip('hello');
    expect(c.text()).toBe('hello');
    expect(proxy.connectionCount).toBe(1);

    const bulk = randomBytes(1024 * 1024);
    c.socket.write(bulk);
    await c.untilBytes(5 + bulk.length);
    expect(c.data.subarray(5).equals(bulk)).toBe(true);

    c.socket.end();
    await c.untilEvent('close');
    expect(c.events).toEqual(['end', 'close']);
    await eventually(() => proxy.connectionCount === 0);
  });

  it('blackhole holds bytes both ways without closing; restore delivers each exactly once, in order', async () => {
    const echo = await startEcho();
    const proxy = await startProxy(echo);
    const c = await Client.connect(proxy.port);
    await c.roundTrip('ping');
    const serverSide = echo.sockets[0]!;

    proxy.blackhole();
    c.socket.write('up1-');
    c.socket.write('up2-');
    serverSide.write('down1-');
    serverSide.write('down2-');
    await eventually(() => proxy.heldBytes === 8 + 12);
    await sleep(QUIET_MS);
    expect(c.text()).toBe('ping');
    expect(echo.received).toBe(4);
    expect(c.events).toEqual([]); // no end, close or error: the path is silent, not closed
    expect(proxy.connectionCount).toBe(1);

    proxy.restore();
    expect(proxy.heldBytes).toBe(0);
    await c.untilBytes(4 + 12 + 8);
    await c.roundTrip('after');
    // Held bytes go first, each direction in order; then the echo of what was held upstream.
    expect(c.text()).toBe('pingdown1-down2-up1-up2-after');
    expect(echo.received).toBe(4 + 8 + 5);
    expect(serverSide.destroyed).toBe(false);
  });

  it('blackhole({ discard: true }) drops bytes both ways and keeps the connection open', async () => {
    const echo = await startEcho();
    const proxy = await startProxy(echo);
    const c = await Client.connect(proxy.port);
    await c.roundTrip('ping');
    const serverSide = echo.sockets[0]!;

    proxy.blackhole({ discard: true });
    c.socket.write('lost-up');
    serverSide.write('lost-down');
    await sleep(QUIET_MS);
    expect(c.text()).toBe('ping');
    expect(echo.received).toBe(4);
    expect(c.events).toEqual([]);
    expect(proxy.heldBytes).toBe(0);

    proxy.restore();
    await c.roundTrip('after');
    // The stream is ordered, so had either lost chunk been delivered it would show up here.
    expect(c.text()).toBe('pingafter');
    expect(echo.received).toBe(4 + 5);
    expect(serverSide.destroyed).toBe(false);
  });

  it('in discard mode reads and drops rather than holds, so a sender is never stalled', async () => {
    const echo = await startEcho();
    const proxy = await startProxy(echo);
    const c = await Client.connect(proxy.port);
    proxy.blackhole({ discard: true });
    // Far more than loopback socket buffers hold: the write completes only if the proxy keeps reading.
    await new Promise<void>((resolve, reject) =>
      c.socket.write(randomBytes(32 * 1024 * 1024), (err) => (err ? reject(err) : resolve())),
    );
    await sleep(QUIET_MS); // let the proxy read (and drop) what the kernel still holds
    proxy.restore();
    await c.roundTrip('after');
    expect([c.data.length, echo.received]).toEqual([5, 5]);
  });

  it('holds at most holdBytes per direction, then pushes back on the writer; restore delivers it all', async () => {
    const echo = await startEcho();
    const proxy = await startProxy(echo);
    const c = await Client.connect(proxy.port);
    proxy.blackhole();
    // Held (4 MiB) plus what loopback socket buffers take is far below this: the writer must back up.
    const payload = randomBytes(48 * 1024 * 1024);
    let written = false;
    c.socket.write(payload, () => (written = true));
    await eventually(() => proxy.heldBytes >= DEFAULT_HOLD_BYTES);
    await sleep(QUIET_MS);
    // One read past the bound at most: the proxy stopped reading instead of growing.
    expect(proxy.heldBytes).toBeLessThanOrEqual(DEFAULT_HOLD_BYTES + 64 * 1024);
    expect(c.socket.writableLength).toBeGreaterThan(0);
    expect(written).toBe(false);
    expect(echo.received).toBe(0);

    proxy.restore();
    await c.untilBytes(payload.length);
    expect(written).toBe(true);
    expect(echo.received).toBe(payload.length);
    expect(c.data.equals(payload)).toBe(true);
  });

  it('holdBytes sets the bound; a bound that is not a positive number of bytes is refused', async () => {
    const echo = await startEcho();
    const proxy = await FaultProxy.start({ target: { host: '127.0.0.1', port: echo.port }, holdBytes: 1024 });
    cleanups.push(() => proxy.close());
    const c = await Client.connect(proxy.port);
    proxy.blackhole();
    c.socket.write(randomBytes(16 * 1024 * 1024));
    await eventually(() => proxy.heldBytes >= 1024);
    await sleep(QUIET_MS);
    expect(proxy.heldBytes).toBeLessThanOrEqual(1024 + 64 * 1024);
    expect(c.socket.writableLength).toBeGreaterThan(0);
    const target = { host: '127.0.0.1', port: echo.port };
    await expect(FaultProxy.start({ target, holdBytes: 0 })).rejects.toThrow(RangeError);
    await expect(FaultProxy.start({ target, holdBytes: Infinity })).rejects.toThrow(RangeError);
  });

  it('bytes in flight under a delay when the blackhole starts are held, not lost', async () => {
    const echo = await startEcho();
    const proxy = await startProxy(echo);
    const c = await Client.connect(proxy.port);
    proxy.delay(100);
    c.socket.write('in-flight');
    await eventually(() => proxy.queuedBytes === 'in-flight'.length); // on its way, not yet there
    proxy.blackhole();
    expect([proxy.queuedBytes, proxy.heldBytes]).toEqual([0, 'in-flight'.length]);
    await sleep(QUIET_MS); // well past the delay
    expect(echo.received).toBe(0);
    proxy.restore();
    proxy.delay(0);
    await c.roundTrip('-after');
    expect(c.text()).toBe('in-flight-after');
  });

  it('delay and throttle apply to held bytes from the restore on', async () => {
    const echo = await startEcho();
    const proxy = await startProxy(echo);
    const c = await Client.connect(proxy.port);
    proxy.blackhole();
    c.socket.write('held');
    await eventually(() => proxy.heldBytes === 4);
    proxy.delay(150);
    let start = performance.now();
    proxy.restore();
    await c.untilBytes(4);
    expect(performance.now() - start).toBeGreaterThanOrEqual(300); // both ways, as for any byte
    expect(c.text()).toBe('held');

    proxy.delay(0);
    proxy.throttle(128 * 1024);
    proxy.blackhole();
    const payload = randomBytes(64 * 1024);
    c.socket.write(payload);
    await eventually(() => proxy.heldBytes === payload.length);
    start = performance.now();
    proxy.restore();
    await c.untilBytes(4 + payload.length);
    expect(performance.now() - start).toBeGreaterThanOrEqual(400); // 0.5 s at the nominal rate
    expect(c.data.subarray(4).equals(payload)).toBe(true);
  });

  it('connections made during a blackhole reach the server only on restore, with what they sent', async () => {
    const echo = await startEcho();
    const proxy = await startProxy(echo);
    proxy.blackhole();
    const c = await Client.connect(proxy.port); // accepted: a dead path still completes the handshake
    c.socket.write('early-');
    await sleep(QUIET_MS);
    expect(c.text()).toBe('');
    expect(c.events).toEqual([]);
    expect(echo.connections).toBe(0);
    expect(proxy.connectionCount).toBe(1);

    proxy.restore();
    await c.roundTrip('after');
    expect(c.text()).toBe('early-after');
    expect(echo.connections).toBe(1);
  });

  it('in discard mode, connections made during the blackhole reach the server on restore, without what they sent', async () => {
    const echo = await startEcho();
    const proxy = await startProxy(echo);
    proxy.blackhole({ discard: true });
    const c = await Client.connect(proxy.port);
    c.socket.write('lost');
    await sleep(QUIET_MS);
    expect(echo.connections).toBe(0);
    proxy.restore();
    await c.roundTrip('after');
    expect(c.text()).toBe('after');
    expect(echo.connections).toBe(1);
  });

  it("blackhole({ newConnections: 'lost' }): a new connection reaches the server at its first SYN retransmission after the restore, 1 s after the connect", async () => {
    const echo = await startEcho();
    const proxy = await startProxy(echo);
    const old = await Client.connect(proxy.port);
    await old.roundTrip('old-');
    proxy.blackhole({ newConnections: 'lost' });
    const openedAt = performance.now();
    const lost = await Client.connect(proxy.port); // the proxy's kernel accepts; the SYN "was lost" beyond it
    lost.socket.write('hello');
    old.socket.write('held-');
    await eventually(() => proxy.heldBytes === 'hello'.length + 'held-'.length);

    proxy.restore();
    await old.untilBytes('old-held-'.length); // an existing connection is delivered at the restore, as by default
    const fresh = await Client.connect(proxy.port);
    await fresh.roundTrip('fresh'); // and new connections pass again
    expect(echo.connections).toBe(2);
    expect(lost.text()).toBe('');

    await lost.untilBytes('hello'.length);
    expect(performance.now() - openedAt).toBeGreaterThanOrEqual(SYN_RETRANSMIT_MS[0]! - 10);
    expect(lost.text()).toBe('hello');
    expect(echo.connections).toBe(3);
    expect(proxy.acceptedCount).toBe(3);
  });

  it('a SYN retransmission that falls inside a new blackhole is lost too; the next one after the restore gets through', async () => {
    const echo = await startEcho();
    const proxy = await FaultProxy.start({
      target: { host: '127.0.0.1', port: echo.port },
      synRetransmitMs: [300, 900],
    });
    cleanups.push(() => proxy.close());
    proxy.blackhole({ newConnections: 'lost' });
    const openedAt = performance.now();
    const c = await Client.connect(proxy.port);
    c.socket.write('x');
    proxy.restore();
    proxy.blackhole(); // down again before the retransmission at 300 ms
    await sleep(500);
    expect(echo.connections).toBe(0);
    proxy.restore();
    await c.untilBytes(1);
    expect(performance.now() - openedAt).toBeGreaterThanOrEqual(900 - 10);
    expect(echo.connections).toBe(1);
  });

  it('a connection whose SYN was lost, with no retransmission left, never reaches the server', async () => {
    const echo = await startEcho();
    const proxy = await FaultProxy.start({
      target: { host: '127.0.0.1', port: echo.port },
      synRetransmitMs: [],
    });
    cleanups.push(() => proxy.close());
    proxy.blackhole({ newConnections: 'lost' });
    const lost = await Client.connect(proxy.port);
    lost.socket.write('hello?');
    proxy.restore();
    const fresh = await Client.connect(proxy.port);
    await fresh.roundTrip('fresh');
    await sleep(QUIET_MS);
    expect(lost.text()).toBe('');
    expect(lost.events).toEqual([]); // open and silent: only its client can give up on it
    expect(echo.connections).toBe(1);
    expect(proxy.connectionCount).toBe(2);

    lost.socket.destroy(); // the client gives up: the proxy lets go of it
    await eventually(() => proxy.connectionCount === 1);
    expect(proxy.heldBytes).toBe(0);
    expect(echo.connections).toBe(1);
  });

  it('a connection given up during a blackhole, before it reached the server, is never made', async () => {
    const echo = await startEcho();
    const proxy = await startProxy(echo);
    proxy.blackhole();
    const c = await Client.connect(proxy.port);
    c.socket.write(randomBytes(1024 * 1024));
    await eventually(() => proxy.heldBytes === 1024 * 1024);
    c.socket.destroy();
    await eventually(() => proxy.connectionCount === 0);
    expect(proxy.heldBytes).toBe(0); // freed, not kept for a restore
    proxy.restore();
    await sleep(QUIET_MS);
    expect(echo.connections).toBe(0);
  });

  it('reset drops what a blackhole held: its memory is freed', async () => {
    const echo = await startEcho();
    const proxy = await startProxy(echo);
    const c = await Client.connect(proxy.port);
    await c.roundTrip('x');
    proxy.blackhole();
    c.socket.write(randomBytes(1024 * 1024));
    echo.sockets[0]!.write(randomBytes(1024 * 1024));
    await eventually(() => proxy.heldBytes === 2 * 1024 * 1024);
    proxy.reset();
    expect(proxy.heldBytes).toBe(0);
    await c.untilEvent('close');
    expect(c.errorCode).toBe('ECONNRESET');
    expect(c.length).toBe(1);
  });

  it("blackhole({ newConnections: 'pass' }) leaves new connections working", async () => {
    const echo = await startEcho();
    const proxy = await startProxy(echo);
    const old = await Client.connect(proxy.port);
    proxy.blackhole({ newConnections: 'pass' });
    const fresh = await Client.connect(proxy.port);
    old.socket.write('held');
    await fresh.roundTrip('fresh');
    expect(fresh.text()).toBe('fresh');
    await sleep(QUIET_MS);
    expect(old.text()).toBe('');
    expect(old.events).toEqual([]);
  });

  it('holds back a FIN sent during a blackhole and delivers it on restore, after the bytes before it', async () => {
    const echo = await startEcho();
    const proxy = await startProxy(echo);
    const c = await Client.connect(proxy.port);
    await c.roundTrip('x');
    const serverSide = echo.sockets[0]!;
    const seen: string[] = [];
    serverSide.on('data', (chunk: Buffer) => seen.push(chunk.toString()));
    serverSide.on('end', () => seen.push('FIN'));
    const serverClosed = closedEvent(serverSide);
    proxy.blackhole();
    c.socket.end('bye');
    await sleep(QUIET_MS);
    expect(serverSide.readableEnded).toBe(false);
    expect(seen).toEqual([]);
    proxy.restore();
    expect(await serverClosed).toEqual({ hadError: false, code: undefined });
    expect(seen).toEqual(['bye', 'FIN']);
  });

  it('in discard mode the bytes are lost but the FIN is not: it arrives on restore', async () => {
    const echo = await startEcho();
    const proxy = await startProxy(echo);
    const c = await Client.connect(proxy.port);
    await c.roundTrip('x');
    const serverClosed = closedEvent(echo.sockets[0]!);
    proxy.blackhole({ discard: true });
    c.socket.end('lost');
    await sleep(QUIET_MS);
    expect(echo.sockets[0]!.readableEnded).toBe(false);
    proxy.restore();
    expect(await serverClosed).toEqual({ hadError: false, code: undefined });
    expect(echo.received).toBe(1);
  });

  it('holds back an RST sent during a blackhole and delivers it on restore', async () => {
    const echo = await startEcho();
    const proxy = await startProxy(echo);
    const c = await Client.connect(proxy.port);
    await c.roundTrip('x');
    const serverClosed = closedEvent(echo.sockets[0]!);
    proxy.blackhole();
    c.socket.resetAndDestroy();
    await eventually(() => proxy.connectionCount === 0); // the proxy saw the RST…
    await sleep(QUIET_MS);
    expect(echo.sockets[0]!.destroyed).toBe(false); // …and the server did not
    proxy.restore();
    expect(await serverClosed).toEqual({ hadError: true, code: 'ECONNRESET' });
  });

  it('delivers the bytes held before an RST ahead of it', async () => {
    const echo = await startEcho();
    const proxy = await startProxy(echo);
    const c = await Client.connect(proxy.port);
    await c.roundTrip('x');
    const serverClosed = closedEvent(echo.sockets[0]!);
    proxy.blackhole();
    c.socket.write('last', () => c.socket.resetAndDestroy());
    await eventually(() => proxy.connectionCount === 0);
    proxy.restore();
    // Linux may report an RST right behind data as a plain end of stream, so only the order is
    // asserted here: the bytes arrive, then the connection ends.
    await serverClosed;
    expect(echo.received).toBe(1 + 4);
  });

  it('reset yields ECONNRESET on the client and on the server', async () => {
    const echo = await startEcho();
    const proxy = await startProxy(echo);
    const c = await Client.connect(proxy.port);
    await c.roundTrip('x');
    const serverClosed = closedEvent(echo.sockets[0]!);
    proxy.reset();
    await c.untilEvent('close');
    expect(c.errorCode).toBe('ECONNRESET');
    expect(c.events).not.toContain('end');
    expect(await serverClosed).toEqual({ hadError: true, code: 'ECONNRESET' });
  });

  it('closeAll ends every connection cleanly (FIN) on both sides', async () => {
    const echo = await startEcho();
    const proxy = await startProxy(echo);
    const c = await Client.connect(proxy.port);
    await c.roundTrip('x');
    const serverClosed = closedEvent(echo.sockets[0]!);
    proxy.closeAll();
    await c.untilEvent('close');
    expect(c.events).toEqual(['end', 'close']);
    expect(c.errorCode).toBeUndefined();
    expect(await serverClosed).toEqual({ hadError: false, code: undefined });
  });

  it('delay adds at least the latency per direction, keeps order, and 0 removes it', async () => {
    const echo = await startEcho();
    const proxy = await startProxy(echo);
    const c = await Client.connect(proxy.port);
    proxy.delay(150);
    expect(await c.roundTrip('slow')).toBeGreaterThanOrEqual(300);

    const expected: string[] = [];
    for (let i = 0; i < 50; i++) {
      expected.push(`<${i}>`);
      c.socket.write(`<${i}>`);
      if (i === 25) proxy.delay(0); // shrinking the delay mid-flight must not reorder
      await new Promise((resolve) => setImmediate(resolve));
    }
    await c.untilBytes(4 + expected.join('').length);
    expect(c.text()).toBe(`slow${expected.join('')}`);

    expect(await c.roundTrip('fast')).toBeLessThan(100);
  });

  it('throttle limits throughput per direction and 0 removes it', async () => {
    const echo = await startEcho();
    const proxy = await startProxy(echo);
    const c = await Client.connect(proxy.port);
    proxy.throttle(128 * 1024);
    const payload = randomBytes(64 * 1024);
    let start = performance.now();
    c.socket.write(payload);
    await c.untilBytes(payload.length);
    expect(performance.now() - start).toBeGreaterThanOrEqual(400); // 0.5 s at the nominal rate
    expect(c.data.equals(payload)).toBe(true);

    proxy.throttle(0);
    start = performance.now();
    c.socket.write(payload);
    await c.untilBytes(2 * payload.length);
    expect(performance.now() - start).toBeLessThan(300);
  });

  it('rejects a delay or throttle that is not a number of ms or bytes per second', async () => {
    const proxy = await startProxy(await startEcho());
    expect(() => proxy.delay(-1)).toThrow(RangeError);
    expect(() => proxy.delay(Number.NaN)).toThrow(RangeError);
    expect(() => proxy.throttle(-1)).toThrow(RangeError);
    proxy.throttle(Infinity);
    proxy.delay(0);
  });

  it('switchPath leaves old connections open but dead, while a new connection works at once', async () => {
    const echo = await startEcho();
    const proxy = await startProxy(echo);
    const old = await Client.connect(proxy.port);
    await old.roundTrip('before');
    proxy.switchPath();

    const fresh = await Client.connect(proxy.port);
    await fresh.roundTrip('fresh');
    expect(fresh.text()).toBe('fresh');

    old.socket.write('lost');
    echo.sockets[0]!.write('lost-down');
    proxy.restore(); // a dead path stays dead
    proxy.closeAll(); // and cannot carry a FIN either
    await fresh.untilEvent('close');
    await sleep(QUIET_MS);
    expect(old.text()).toBe('before');
    expect(old.events).toEqual([]);
    expect(echo.received).toBe('before'.length + 'fresh'.length);
    expect(echo.sockets[0]!.destroyed).toBe(false);
    expect(proxy.connectionCount).toBe(1);

    await proxy.close(); // only close() ends it
    await old.untilEvent('close');
  });

  it('a dead path never delivers what a blackhole held, nor a FIN or RST from either end', async () => {
    const echo = await startEcho();
    const proxy = await startProxy(echo);
    const a = await Client.connect(proxy.port);
    await a.roundTrip('a');
    const b = await Client.connect(proxy.port);
    await b.roundTrip('b');
    const [aServer, bServer] = echo.sockets as [Socket, Socket];
    const bServerClosed = closedEvent(bServer);
    proxy.blackhole();
    a.socket.write('held-up');
    aServer.write('held-down');
    await eventually(() => proxy.heldBytes === 16);
    proxy.switchPath();
    expect(proxy.heldBytes).toBe(0); // never to be delivered: freed at once
    proxy.restore();

    aServer.end(); // the server's FIN must not reach client a…
    b.socket.resetAndDestroy(); // …nor client b's RST the server
    await sleep(QUIET_MS);
    expect(a.text()).toBe('a');
    expect(a.events).toEqual([]);
    expect(echo.received).toBe(2);
    expect(bServer.destroyed).toBe(false);
    await proxy.close();
    expect((await bServerClosed).code).toBeUndefined(); // closed by close(), never reset
  });

  it('a dead path pushes back on a writer once it has taken holdBytes, keeping none of it', async () => {
    const echo = await startEcho();
    const proxy = await startProxy(echo);
    const c = await Client.connect(proxy.port);
    await c.roundTrip('x');
    proxy.switchPath();
    let written = false;
    c.socket.write(randomBytes(48 * 1024 * 1024), () => (written = true));
    await sleep(QUIET_MS);
    expect(c.socket.writableLength).toBeGreaterThan(0);
    expect(written).toBe(false);
    expect(proxy.heldBytes).toBe(0);
    expect(echo.received).toBe(1);
  });

  it('refuseNew destroys new connections at once without reaching the server, until allowNew', async () => {
    const echo = await startEcho();
    const proxy = await startProxy(echo);
    const existing = await Client.connect(proxy.port);
    proxy.refuseNew();
    const refused = new Client(net.connect({ host: '127.0.0.1', port: proxy.port }));
    await refused.untilEvent('close');
    expect(refused.text()).toBe('');
    await existing.roundTrip('still');
    expect(echo.connections).toBe(1);
    expect(proxy.acceptedCount).toBe(2); // a refused attempt is still an attempt

    proxy.allowNew();
    const later = await Client.connect(proxy.port);
    await later.roundTrip('later');
    expect(echo.connections).toBe(2);
  });

  it('retarget sends new connections to the new target; existing ones stay where they were', async () => {
    const a = await startEcho();
    const b = await startEcho();
    const proxy = await startProxy(a);
    const first = await Client.connect(proxy.port);
    await first.roundTrip('to-a');
    proxy.retarget({ host: '127.0.0.1', port: b.port });
    const second = await Client.connect(proxy.port);
    await second.roundTrip('to-b');
    await first.roundTrip('a-again');
    expect([a.connections, a.received]).toEqual([1, 'to-a'.length + 'a-again'.length]);
    expect([b.connections, b.received]).toEqual([1, 'to-b'.length]);
  });

  it('resets the client when the target refuses, as when the server is down', async () => {
    const echo = await startEcho();
    const proxy = await startProxy(echo);
    const down = await startEcho();
    const downPort = down.port;
    await cleanups.pop()!(); // stop the second server: its port now refuses
    proxy.retarget({ host: '127.0.0.1', port: downPort });
    const c = await Client.connect(proxy.port);
    await c.untilEvent('close');
    expect(c.errorCode).toBe('ECONNRESET');
  });

  it('close stops listening and destroys every connection', async () => {
    const echo = await startEcho();
    const proxy = await startProxy(echo);
    const c = await Client.connect(proxy.port);
    await c.roundTrip('x');
    await proxy.close();
    await c.untilEvent('close');
    expect(proxy.connectionCount).toBe(0);
    await expect(Client.connect(proxy.port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});
