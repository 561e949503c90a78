import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * The load run's own path to the server, so it can break it as a network does: a cut leaves
 * every connection open through it dead — nothing more is carried either way, no FIN, no RST,
 * what was sent is held (the sockets stop being read, as a TCP path that went dark) — while
 * new connections pass. Clients notice by their heartbeats and resume on a fresh connection,
 * which is what `tether load --cut-every` measures.
 */
export class CutProxy {
  private readonly pairs = new Set<{ client: Socket; server: Socket; dead: boolean }>();
  private readonly dead = new Set<Socket>();
  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(target: { host: string; port: number }): Promise<CutProxy> {
    const ready: { proxy?: CutProxy } = {};
    const server = createServer((client) => ready.proxy?.accept(client, target));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', resolve);
    });
    const address = server.address();
    if (!address || typeof address === 'string') throw new Error('the load proxy has no port');
    ready.proxy = new CutProxy(server, address.port);
    return ready.proxy;
  }

  /** Connections open through the proxy now. */
  get open(): number {
    return this.pairs.size;
  }

  /** Every connection open now goes dark; returns how many. */
  cut(): number {
    let n = 0;
    for (const pair of this.pairs) {
      if (pair.dead) continue;
      pair.dead = true;
      n++;
      for (const s of [pair.client, pair.server]) {
        s.unpipe();
        s.pause();
        this.dead.add(s);
      }
      this.pairs.delete(pair);
    }
    return n;
  }

  async close(): Promise<void> {
    for (const pair of this.pairs) {
      pair.client.destroy();
      pair.server.destroy();
    }
    for (const s of this.dead) s.destroy();
    this.pairs.clear();
    this.dead.clear();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket, target: { host: string; port: number }): void {
    const server = connect(target.port, target.host);
    const pair = { client, server, dead: false };
    this.pairs.add(pair);
    client.pipe(server);
    server.pipe(client);
    const end = () => {
      if (pair.dead) return; // a dark path says nothing
      this.pairs.delete(pair);
      client.destroy();
      server.destroy();
    };
    for (const s of [client, server]) {
      s.on('error', end);
      s.on('close', end);
    }
  }
}
