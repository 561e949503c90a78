import net, { type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { endSocket, Lane, type Ending, type PathState, type Shaping } from './fault-lane.js';

export interface FaultProxyOptions {
  target: { host: string; port: number };
  /** Default 127.0.0.1: the proxy is for loopback tests only. */
  host?: string;
  /** Default 0: an ephemeral port. */
  port?: number;
  /** What a blackhole holds per direction per connection before pushing back. Default DEFAULT_HOLD_BYTES. */
  holdBytes?: number;
  /**
   * When a client's kernel sends a lost SYN again, in ms after its connect (see
   * `blackhole({ newConnections: 'lost' })`). Default SYN_RETRANSMIT_MS; [] never sends it again.
   */
  synRetransmitMs?: readonly number[];
}

/** Linux's SYN retransmissions: an initial RTO of 1 s, doubled for each of tcp_syn_retries = 6. */
export const SYN_RETRANSMIT_MS: readonly number[] = [1000, 3000, 7000, 15_000, 31_000, 63_000];

/** 4 MiB: about what Linux lets a TCP send buffer grow to (net.ipv4.tcp_wmem's maximum). */
export const DEFAULT_HOLD_BYTES = 4 * 1024 * 1024;

/** One client connection and, once its path is up, its connection to the target. */
class Link {
  upstream: Socket | null = null;
  private readonly toUpstream: Lane;
  private toClient: Lane | null = null;

  constructor(
    readonly client: Socket,
    public state: PathState,
    private readonly target: () => { host: string; port: number },
    private readonly shaping: Shaping,
    private readonly holdLimit: number,
    private readonly onGone: (link: Link) => void,
  ) {
    this.toUpstream = new Lane(client, shaping, holdLimit, state);
    client.on('error', () => {}); // reported through 'close'
    client.on('data', (chunk: Buffer) => this.toUpstream.push(chunk));
    client.on('end', () => {
      if (this.state === 'pass') this.toUpstream.end('fin');
      else this.endedWhileDown(client, 'fin');
    });
    client.on('close', (hadError) => {
      if (this.state === 'pass') this.closePeer(client, hadError);
      else this.endedWhileDown(client, hadError ? 'rst' : 'fin');
      this.checkGone();
    });
    // A path that is down at accept time never reaches the target: the server sees nothing
    // until restore (or, if its SYN was lost, a retransmission after it), when the connection
    // is made and what the client sent is delivered.
    if (state === 'pass') this.connectUpstream();
  }

  /** Bytes held in memory for this connection, both directions. */
  get heldBytes(): number {
    return this.toUpstream.heldBytes + (this.toClient?.heldBytes ?? 0);
  }

  get queuedBytes(): number {
    return this.toUpstream.queuedBytes + (this.toClient?.queuedBytes ?? 0);
  }

  setState(next: PathState): void {
    if (this.state === 'dead' || next === this.state) return;
    this.state = next;
    if (next === 'pass' && !this.upstream && !this.client.destroyed) this.connectUpstream();
    // In-flight bytes, and ends that happened while the path was down, go or come back with it.
    this.toUpstream.setMode(next);
    this.toClient?.setMode(next);
    this.checkGone();
  }

  /** Ends both sides at once; anything queued by delay or throttle, or held by a blackhole, is dropped. */
  terminate(how: Ending): void {
    this.toUpstream.drop();
    this.toClient?.drop();
    endSocket(this.client, how);
    endSocket(this.upstream, how);
  }

  private connectUpstream(): void {
    const { host, port } = this.target();
    const up = net.connect({ host, port, allowHalfOpen: true });
    this.upstream = up;
    up.setNoDelay(true);
    this.toUpstream.attach(up);
    const toClient = new Lane(up, this.shaping, this.holdLimit, this.state);
    toClient.attach(this.client);
    this.toClient = toClient;
    up.on('error', () => {}); // reported through 'close'; a refused target resets the client
    up.on('data', (chunk: Buffer) => toClient.push(chunk));
    up.on('end', () => {
      if (this.state === 'pass') toClient.end('fin');
      else this.endedWhileDown(up, 'fin');
    });
    up.on('close', (hadError) => {
      if (this.state === 'pass') this.closePeer(up, hadError);
      else this.endedWhileDown(up, hadError ? 'rst' : 'fin');
      this.checkGone();
    });
  }

  /**
   * One side ended while the path was down: its end waits behind what it sent, for a restore
   * (never, on a dead path). Our side of it is released so connectionCount tracks the client;
   * what was held for it cannot be delivered any more. (A side that only half-closed would see
   * our FIN: a liberty taken on a down path.)
   */
  private endedWhileDown(side: Socket, how: 'fin' | 'rst'): void {
    if (side === this.client && !this.upstream) {
      // A connection that never got through: given up on, it is never made.
      this.toUpstream.drop();
    } else {
      const [fromSide, toSide] =
        side === this.client ? [this.toUpstream, this.toClient] : [this.toClient, this.toUpstream];
      fromSide?.end(how);
      toSide?.drop();
    }
    side.destroy();
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
    if (!this.client.destroyed || (this.upstream && !this.upstream.destroyed)) return;
    this.toUpstream.drop();
    this.toClient?.drop();
    this.onGone(this);
  }
}

/**
 * A fault-injecting TCP proxy for integration tests: real loopback sockets, with switches for
 * the ways networks fail — blackholes, resets, clean closes, latency, throttling, path switches,
 * refused connections and moved servers.
 *
 * The proxy terminates TCP on both sides, so it stands in for what a real network and the
 * senders' kernels would do between them:
 *  - `blackhole()` behaves like an outage under TCP: nothing arrives, nothing closes, and what
 *    each side sends is held — as its TCP would keep unacknowledged bytes to retransmit — then
 *    delivered exactly once, in order, on `restore()`, followed by any FIN or RST sent meanwhile.
 *    The hold is bounded like a socket buffer: past `holdBytes` (default DEFAULT_HOLD_BYTES,
 *    4 MiB per direction per connection) the proxy stops reading, so the sender's kernel
 *    buffers fill and its writes back up; nothing is ever silently dropped.
 *  - `blackhole({ discard: true })` is a lossy path on purpose: bytes are read and thrown away
 *    (a FIN or RST is still owed and arrives on restore), so a sender is never stalled.
 *  - A connection opened during a blackhole is, by default, held like the bytes: it reaches the
 *    target on restore, with what its client sent. `blackhole({ newConnections: 'lost' })` is the
 *    real case of a dead path, which loses the SYN: the connection reaches the target only when
 *    the client's kernel sends its SYN again after the restore — 1 s, 3 s, 7 s, … after the
 *    connect (`synRetransmitMs`) — and never if its last retransmission came before the restore.
 *    (The proxy's kernel has already accepted it, so the client sees an open socket that is
 *    silent until then.)
 *  - `switchPath()` makes current connections a dead path for good: nothing is ever delivered,
 *    no FIN or RST reaches either end, and senders feel the same backpressure as a blackhole's.
 * Delay and throttle apply to held bytes too, from the moment of restore: they leave as a
 * retransmission would, at the path's latency and rate. Bytes the proxy had already written on
 * (into a socket's buffer or the kernel's) before a cut still arrive; only what it has not yet
 * written is held.
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
  private accepted = 0;
  /** A blackhole is on (restore() ends it). */
  private cut = false;
  private losingSyns = false;
  /** Connections whose SYN was lost: when they were opened, and the timer of their next retransmission. */
  private readonly synLost = new Map<Link, { openedAt: number; timer: NodeJS.Timeout | null }>();

  private constructor(
    private readonly server: net.Server,
    target: { host: string; port: number },
    private readonly holdBytes: number,
    private readonly synRetransmitMs: readonly number[],
  ) {
    const address = server.address() as net.AddressInfo;
    this.host = address.address;
    this.port = address.port;
    this.url = `ws://${this.host}:${this.port}`;
    this.target = { ...target };
    server.on('connection', (client) => this.accept(client));
  }

  static async start(opts: FaultProxyOptions): Promise<FaultProxy> {
    const holdBytes = opts.holdBytes ?? DEFAULT_HOLD_BYTES;
    if (!(holdBytes > 0 && holdBytes < Infinity))
      throw new RangeError(`holdBytes: ${holdBytes}: pass a finite number of bytes > 0`);
    // allowHalfOpen: a client's FIN is forwarded, not answered by the proxy on the server's behalf.
    const server = net.createServer({ allowHalfOpen: true, noDelay: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    return new FaultProxy(server, opts.target, holdBytes, opts.synRetransmitMs ?? SYN_RETRANSMIT_MS);
  }

  /** Client connections accepted since start, refused and lost ones included: every attempt a client made. */
  get acceptedCount(): number {
    return this.accepted;
  }

  /** Number of currently open client-side sockets (dead paths included). */
  get connectionCount(): number {
    let n = 0;
    for (const link of this.links) if (!link.client.destroyed) n++;
    return n;
  }

  /** Bytes held in memory by blackholes, all connections and directions together. */
  get heldBytes(): number {
    let n = 0;
    for (const link of this.links) n += link.heldBytes;
    return n;
  }

  /** Bytes waiting out a delay or throttle, all connections and directions together. */
  get queuedBytes(): number {
    let n = 0;
    for (const link of this.links) n += link.queuedBytes;
    return n;
  }

  /**
   * Cut current connections without closing them. New ones are cut too ('blackhole', the
   * default: accepted, they reach the target on restore), pass ('pass'), or lose their SYN
   * ('lost': they reach the target at their client's next SYN retransmission after the restore).
   * Bytes are held for restore, or with `discard: true` thrown away.
   */
  blackhole(opts: { newConnections?: 'blackhole' | 'pass' | 'lost'; discard?: boolean } = {}): void {
    const state = opts.discard ? 'discard' : 'blackhole';
    for (const link of this.links) if (!this.synLost.has(link)) link.setState(state);
    this.cut = true;
    this.losingSyns = opts.newConnections === 'lost';
    // A connection whose SYN is lost holds what its client sent until a retransmission gets through.
    this.newState = opts.newConnections === 'pass' ? 'pass' : this.losingSyns ? 'blackhole' : state;
  }

  /**
   * End the blackhole: what was held is delivered, then the connections carry new bytes again;
   * a connection whose SYN was lost waits for its next retransmission.
   */
  restore(): void {
    this.cut = false;
    this.losingSyns = false;
    this.newState = 'pass';
    for (const link of this.links) {
      if (this.synLost.has(link)) this.retransmitLater(link);
      else link.setState('pass');
    }
  }

  /**
   * RST both sides of every connection, dropping what a blackhole held. A dead path
   * (switchPath) cannot carry an RST: it is left alone.
   */
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
    for (const link of [...this.synLost.keys()]) this.forgetSyn(link);
    this.cut = false;
    this.losingSyns = false;
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
    for (const link of [...this.synLost.keys()]) this.forgetSyn(link);
    this.links.clear();
    await closed;
  }

  private accept(client: Socket): void {
    this.accepted++;
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
      this.holdBytes,
      (l) => {
        this.links.delete(l);
        this.forgetSyn(l);
      },
    );
    this.links.add(link);
    if (this.losingSyns) this.synLost.set(link, { openedAt: performance.now(), timer: null });
  }

  /** Schedules the next SYN retransmission of a connection whose SYN was lost: it gets through if the path is up then. */
  private retransmitLater(link: Link): void {
    const lost = this.synLost.get(link);
    if (!lost) return;
    if (lost.timer) clearTimeout(lost.timer);
    lost.timer = null;
    const elapsed = performance.now() - lost.openedAt;
    const next = this.synRetransmitMs.find((ms) => ms >= elapsed);
    if (next === undefined) return; // its kernel has sent its last SYN: never made
    lost.timer = setTimeout(() => {
      lost.timer = null;
      if (this.cut) return; // lost too; the next restore schedules the one after
      this.synLost.delete(link);
      link.setState('pass');
    }, next - elapsed);
  }

  private forgetSyn(link: Link): void {
    const lost = this.synLost.get(link);
    if (lost?.timer) clearTimeout(lost.timer);
    this.synLost.delete(link);
  }
}
