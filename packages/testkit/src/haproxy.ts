import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * HAProxy from Debian's packages in front of cluster nodes, as users deploy Tether: one URL
 * for clients, WebSocket upgrades passed through, nodes checked on `/health` (a draining node
 * answers 503 and gets no new clients), a connection refused by a dead node retried on another.
 */
export class Haproxy {
  private output = '';

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
  ) {
    child.stdout?.on('data', (d: Buffer) => (this.output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (this.output += d.toString()));
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get log(): string {
    return this.output.slice(-65_536);
  }

  static async start(backends: Array<{ port: number }>): Promise<Haproxy> {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'tether-haproxy-'));
    const cfg = join(dir, 'haproxy.cfg');
    writeFileSync(
      cfg,
      [
        'global',
        '  maxconn 4096',
        'defaults',
        '  mode http',
        '  timeout connect 1s',
        '  timeout client 60s',
        '  timeout server 60s',
        // A WebSocket, once upgraded, is a tunnel: its own (long) idle timeout.
        '  timeout tunnel 1h',
        '  retries 3',
        '  option redispatch',
        `frontend tether`,
        `  bind 127.0.0.1:${port}`,
        '  default_backend nodes',
        'backend nodes',
        '  balance roundrobin',
        '  option httpchk GET /health',
        '  http-check expect status 200',
        ...backends.map((b, i) => `  server n${i} 127.0.0.1:${b.port} check inter 250 fall 2 rise 1`),
        '',
      ].join('\n'),
    );
    const child = spawn('haproxy', ['-f', cfg, '-db'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const proxy = new Haproxy(child, port);
    await new Promise<void>((resolve, reject) => {
      const deadline = Date.now() + 10_000;
      const attempt = () => {
        if (child.exitCode !== null) return reject(new Error(`haproxy exited:\n${proxy.log}`));
        fetch(`${proxy.url}/health`)
          .then((r) => (r.status === 200 ? resolve() : retry()))
          .catch(retry);
      };
      const retry = () =>
        Date.now() > deadline
          ? reject(new Error(`haproxy did not serve within 10 s:\n${proxy.log}`))
          : setTimeout(attempt, 100);
      attempt();
    });
    return proxy;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGKILL');
    await exited;
  }
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  await new Promise((r) => srv.close(r));
  return port;
}
