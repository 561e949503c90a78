import net, { type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

export interface FaultProxyOptions {
  target: { host: string; port: number };
  /** Default 127.0.0.1: the proxy is for loopback tests only. */
  host?: string;
  /** Default 0: an ephemeral port. */
  port?: number;
}

/** `dead` is a blackhole that `restore()` does not end: the path is gone for good (see switchPath). */
type PathState = 'pass' | 'blackhole' | 'dead';
type Ending = 'fin' | 'rst' | 'destroy';
/** How a side ended while its path was down: the other side is owed it if the path comes back. */
type Owed = 'fin' | 'rst' | null;

function endSocket(s: Socket | null, how: Ending): void {
  if (!s || s.destroyed) return;
  if (how === 'rst') s.resetAndDestroy();
  else if (how === 'fin') s.end();
  else s.destroy();
}

interface Shaping {
  delayMs: number;
  bytesPerSecond: number;
}

/** Above this many queued bytes (delay/throttle) the source is paused, so TCP pushes back on the sender. */
const HIGH_WATER = 256 * 1024;
/** A throttled chunk is sliced into pieces of ~20 ms of wire time, so data trickles rather than lurches. */
const SLICES_PER_SECOND = 50;

/** One direction of a connection: delivers chunks in order after the configured delay and throttle. */
class Lane {
  private readonly queue: { at: number; chunk: Buffer }[] = [];
  private timer: NodeJS.Timeout | null = null;
  private queuedBytes = 0;
  private awaitingDrain = false;
  private endPending = false;
  // Delivery time of the newest queued slice: keeps order when the delay shrinks mid-flight.
  private lastAt = 0;
  // When the throttled "wire" finishes sending what is already queued.
  private wireFreeAt = 0;

  constructor(
    private readonly from: Socket,
    private readonly to: Socket,
    private readonly shaping: Shaping,
  ) {
    to.on('drain', () => {
      this.awaitingDrain = false;
      this.updateFlow();
    });
  }

  push(chunk: Buffer): void {
    const { delayMs, bytesPerSecond: rate } = this.shaping;
    if (delayMs === 0 && rate === Infinity && this.queue.length === 0) return this.write(chunk);
    const now = performance.now();
    const sliceSize = rate === Infinity ? chunk.length : Math.max(1, Math.floor(rate / SLICES_PER_SECOND));
    for (let offset = 0; offset < chunk.length; offset += sliceSize) {
      const slice = chunk.subarray(offset, offset + sliceSize);
      this.wireFreeAt = Math.max(now, this.wireFreeAt) + (slice.length * 1000) / rate;
      this.lastAt = Math.max(this.wireFreeAt + delayMs, this.lastAt);
      this.queue.push({ at: this.lastAt, chunk: slice });
      this.queuedBytes += slice.length;
    }
    this.updateFlow();
    this.schedule();
  }

  /** The source finished: pass the FIN on once everything queued before it is delivered. */
  end(): void {
    this.endPending = true;
    if (this.queue.length === 0) this.finish();
  }

  /** The path went down: whatever is queued is lost. Returns whether a FIN was among it. */
  drop(): boolean {
    const hadEnd = this.endPending;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.queue.length = 0;
    this.queuedBytes = 0;
    this.endPending = false;
    // Never leave the source paused: a downed path must keep reading so it can discard.
    this.awaitingDrain = false;
    this.updateFlow();
    return hadEnd;
  }

  private write(chunk: Buffer): void {
    if (!this.to.writable) return;
    if (!this.to.write(chunk)) {
      this.awaitingDrain = true;
      this.updateFlow();
    }
  }

  private finish(): void {
    this.endPending = false;
    if (this.to.writable) this.to.end();
  }

  private schedule(): void {
    const head = this.queue[0];
    if (this.timer || !head) return;
    this.timer = setTimeout(() => this.flush(), Math.max(0, Math.ceil(head.at - performance.now())));
  }

  private flush(): void {
    this.timer = null;
    const now = performance.now();
    // Timers may fire a fraction of a millisecond early; strict `<=` keeps latency ≥ the delay.
    for (let head = this.queue[0]; head && head.at <= now; head = this.queue[0]) {
      this.queue.shift();
      this.queuedBytes -= head.chunk.length;
      this.write(head.chunk);
    }
    if (this.queue.length === 0 && this.endPending) this.finish();
    this.updateFlow();
    this.schedule();
  }

  private updateFlow(): void {
    const hold = this.queuedBytes > HIGH_WATER || this.awaitingDrain;
    if (hold && !this.from.isPaused()) this.from.pause();
    else if (!hold && this.from.isPaused()) this.from.resume();
  }
}

/** One client connection and, once its path is up, its connection to the target. */
class Link {
  upstream: Socket | null = null;
  private toUpstream: Lane | null = null;
  private toClient: Lane | null = null;
  private clientOwed: Owed = null; // the client ended while the path was down
  private upstreamOwed: Owed = null; // the target ended while the path was down

  constructor(
    readonly client: Socket,
    public state: PathState,
    private readonly target: () => { host: string; port: number },
    private readonly shaping: Shaping,
    private readonly onGone: (link: Link) => void,
  ) {
    client.on('error', () => {}); // reported through 'close'
    // Always flowing: while the path is down, bytes are read and discarded, never buffered.
    client.on('data', (chunk: Buffer) => {
      if (this.state === 'pass') this.toUpstream?.push(chunk);
    });
    client.on('end', () => {
      if (this.state === 'pass') return this.toUpstream?.end();
      // Release our side so connectionCount tracks the client; the target hears nothing yet.
      // (A client that only half-closed would see our FIN: a liberty taken on a down path.)
      this.clientOwed = 'fin';
      client.destroy();
    });
    client.on('close', (hadError) => {
      if (this.state === 'pass') this.closePeer(client, hadError);
      else this.clientOwed ??= hadError ? 'rst' : 'fin';
      this.checkGone();
    });
    // A path that is down at accept time never reaches the target: the server sees nothing.
    if (state === 'pass') this.connectUpstream();
  }

  setState(next: PathState): void {
    if (this.state === 'dead' || next === this.state) return;
    const wasPassing = this.state === 'pass';
    this.state = next;
    if (wasPassing) {
      // In-flight data is lost with the path, and so is an in-flight FIN (delivered on restore).
      if (this.toUpstream?.drop()) this.clientOwed ??= 'fin';
      if (this.toClient?.drop()) this.upstreamOwed ??= 'fin';
    } else if (next === 'pass') {
      if (!this.upstream && !this.client.destroyed) this.connectUpstream();
      // Ends that happened while the path was down arrive now, like retransmitted FINs/RSTs.
      if (this.clientOwed) endSocket(this.upstream, this.clientOwed);
      if (this.upstreamOwed) endSocket(this.client, this.upstreamOwed);
      this.checkGone();
    }
  }

  /** Ends both sides at once; anything still queued by delay or throttle is dropped. */
  terminate(how: Ending): void {
    this.toUpstream?.drop();
    this.toClient?.drop();
    endSocket(this.client, how);
    endSocket(this.upstream, how);
  }

  private connectUpstream(): void {
    const { host, port } = this.target();
    const up = net.connect({ host, port, allowHalfOpen: true });
    this.upstream = up;
    up.setNoDelay(true);
    this.toUpstream = new Lane(this.client, up, this.shaping);
    this.toClient = new Lane(up, this.client, this.shaping);
    up.on('error', () => {}); // reported through 'close'; a refused target resets the client
    up.on('data', (chunk: Buffer) => {
      if (this.state === 'pass') this.toClient?.push(chunk);
    });
    up.on('end', () => {
      if (this.state === 'pass') return this.toClient?.end();
      this.upstreamOwed = 'fin';
      up.destroy();
    });
    up.on('close', (hadError) => {
      if (this.state === 'pass') this.closePeer(up, hadError);
      else this.upstreamOwed ??= hadError ? 'rst' : 'fin';
      this.checkGone();
    });
  }

  /** On a live path a socket's end reaches its peer: an RST as an RST, a local destroy as a close. */
  private closePeer(closed: Socket, hadError: boolean): void {
    const peer = closed === this.client ? this.upstream : this.client;
    if (hadError) this.terminate('rst');
    else if (!closed.readableEnded) endSocket(peer, 'destroy');
    // Otherwise its FIN is travelling through the lane, behind any delayed data; the peer
    // closes in its own time, as it would over a real network.
  }

  private checkGone(): void {
    if (this.client.destroyed && (!this.upstream || this.upstream.destroyed)) this.onGone(this);
  }
}

/**
 * A fault-injecting TCP proxy for integration tests: real loopback sockets, with switches for
 * the ways networks fail — blackholes, resets, clean closes, latency, throttling, path switches,
 * refused connections and moved servers. The proxy terminates TCP on both sides, so "dropped"
 * means the proxy reads and discards; bytes already handed to the kernel may still arrive.
 */
export class FaultProxy {
  readonly host: string;
  readonly port: number;
  readonly url: string;
  private readonly links = new Set<Link>();
  private readonly shaping: Shaping = { delayMs: 0, bytesPerSecond: Infinity };
  private target: { host: string; port: number };
  private newState: PathState = 'pass';
  private refusing = false;

  private constructor(
    private readonly server: net.Server,
    target: { host: string; port: number },
  ) {
    const address = server.address() as net.AddressInfo;
    this.host = address.address;
    this.port = address.port;
    this.url = `ws://${this.host}:${this.port}`;
    this.target = { ...target };
    server.on('connection', (client) => this.accept(client));
  }

  static async start(opts: FaultProxyOptions): Promise<FaultProxy> {
    // allowHalfOpen: a client's FIN is forwarded, not answered by the proxy on the server's behalf.
    const server = net.createServer({ allowHalfOpen: true, noDelay: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    return new FaultProxy(server, opts.target);
  }

  /** Number of currently open client-side sockets (dead paths included). */
  get connectionCount(): number {
    let n = 0;
    for (const link of this.links) if (!link.client.destroyed) n++;
    return n;
  }

  /** Drop all bytes both ways on current connections without closing them; new ones too unless 'pass'. */
  blackhole(opts: { newConnections?: 'blackhole' | 'pass' } = {}): void {
    for (const link of this.links) link.setState('blackhole');
    this.newState = opts.newConnections === 'pass' ? 'pass' : 'blackhole';
  }

  /** End the blackhole: surviving connections carry new bytes again; those sent meanwhile are lost. */
  restore(): void {
    this.newState = 'pass';
    for (const link of this.links) link.setState('pass');
  }

  /** RST both sides of every connection. A dead path (switchPath) cannot carry an RST: it is left alone. */
  reset(): void {
    for (const link of this.links) if (link.state !== 'dead') link.terminate('rst');
  }

  /** FIN both sides of every connection, dead paths excepted. */
  closeAll(): void {
    for (const link of this.links) if (link.state !== 'dead') link.terminate('fin');
  }

  /** Deliver each chunk `ms` later, per direction, in order. 0 removes the delay. */
  delay(ms: number): void {
    if (!(ms >= 0 && ms < Infinity)) throw new RangeError(`delay(${ms}): pass a finite number of ms ≥ 0`);
    this.shaping.delayMs = ms;
  }

  /** Limit each direction to `bytesPerSecond`, in order. 0 or Infinity removes the limit. */
  throttle(bytesPerSecond: number): void {
    if (!(bytesPerSecond >= 0)) throw new RangeError(`throttle(${bytesPerSecond}): pass a rate ≥ 0`);
    this.shaping.bytesPerSecond = bytesPerSecond > 0 ? bytesPerSecond : Infinity;
  }

  /** Current connections become a dead path for good (never closed until close()); new ones pass. */
  switchPath(): void {
    for (const link of this.links) link.setState('dead');
    this.newState = 'pass';
  }

  /** Destroy new connections as soon as they are accepted, until allowNew(). */
  refuseNew(): void {
    this.refusing = true;
  }

  allowNew(): void {
    this.refusing = false;
  }

  /** Send new connections (and blackholed ones not yet connected) to another target. */
  retarget(target: { host: string; port: number }): void {
    this.target = { ...target };
  }

  /** Stop listening and destroy every connection, dead paths included. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const link of this.links) link.terminate('destroy');
    this.links.clear();
    await closed;
  }

  private accept(client: Socket): void {
    if (this.refusing) {
      // We have already accepted, so a true ECONNREFUSED is impossible; an RST is the closest.
      client.on('error', () => {});
      client.resetAndDestroy();
      return;
    }
    const link = new Link(
      client,
      this.newState,
      () => this.target,
      this.shaping,
      (l) => this.links.delete(l),
    );
    this.links.add(link);
  }
}
