import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifyCallback, type CallbackPayload } from '@tether/server-sdk';

/** One request as the receiver read it. */
export interface ReceivedCallback {
  /** Real time it arrived (ms, Date.now()). */
  at: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The status it was answered with. */
  status: number;
}

/**
 * An application back end's callback endpoint for tests: a real HTTP server on loopback that
 * records every request and answers with `answer(n)` (n: the 1-based count of requests with
 * that callback id, so "500 twice, then 200" is `(n) => (n <= 2 ? 500 : 200)`; `'hang'` never
 * answers). It can stop
 * and start again on the same port, as a receiver that is down for a while.
 */
export class CallbackReceiver {
  readonly received: ReceivedCallback[] = [];
  private readonly seen = new Map<string, number>();
  private server: Server | undefined;

  private constructor(
    public port: number,
    public answer: (n: number, id: string) => number | 'hang',
  ) {}

  static async start(
    opts: { port?: number; answer?: (n: number, id: string) => number | 'hang' } = {},
  ): Promise<CallbackReceiver> {
    const receiver = new CallbackReceiver(opts.port ?? 0, opts.answer ?? (() => 200));
    await receiver.listen();
    return receiver;
  }

  /** A port nothing listens on (yet): a receiver that is down from the start. */
  static async freePort(): Promise<number> {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((r) => probe.close(() => r()));
    return port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/callbacks`;
  }

  async listen(): Promise<void> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const id = String(req.headers['tether-callback-id'] ?? '');
        const n = (this.seen.get(id) ?? 0) + 1;
        this.seen.set(id, n);
        const answer = this.answer(n, id);
        // 'hang': read, never answered (a receiver stuck past the sender's timeout); status 0.
        const status = answer === 'hang' ? 0 : answer;
        this.received.push({ at: Date.now(), headers: req.headers, body: Buffer.concat(chunks), status });
        if (answer !== 'hang') res.writeHead(status).end();
      });
    });
    await new Promise<void>((r) => server.listen(this.port, '127.0.0.1', r));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  /** Stops listening (connections refused from now on). */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }

  /**
   * Every request answered 2xx, verified with the server SDK (signature, timestamp, schema):
   * what the application saw, in arrival order. Throws if any fails verification.
   */
  delivered(secret: string): CallbackPayload[] {
    return this.received.filter((r) => r.status >= 200 && r.status < 300).map((r) => this.verify(r, secret));
  }

  /** One request checked with the server SDK's verifyCallback (throws its TetherError). */
  verify(r: ReceivedCallback, secret: string): CallbackPayload {
    return verifyCallback({ body: r.body, headers: r.headers, secret });
  }

  close(): Promise<void> {
    return this.stop();
  }
}
