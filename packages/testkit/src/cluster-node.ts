import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { TEST_PROJECT } from './test-server.js';

/** The CLI's entry, built (`npm run build`): from src/ or dist/ of this package alike. */
const CLI = fileURLToPath(new URL('../../cli/dist/bin.js', import.meta.url));

export interface ClusterNodeOptions {
  /** The cluster's Redis, e.g. `redis://127.0.0.1:6379`. */
  redisUrl: string;
  /** The cluster's key prefix: one per test, so tests never see each other's keys. */
  prefix: string;
  /** Listen on this port (a node restarted in place); default a free one. */
  port?: number;
  /** Extra `tether serve` flags (`--reconnect-window 5000`…). */
  args?: string[];
  env?: NodeJS.ProcessEnv;
  /** How long to wait for the node to listen. Default 15 s. */
  startTimeoutMs?: number;
}

/** A fresh key prefix for one test's cluster. */
export function clusterPrefix(): string {
  return `tether-test-${randomBytes(4).toString('hex')}:`;
}

/**
 * A Tether node in its own process — `tether serve --cluster <redis>` from the built CLI —
 * so a test can kill it as a crash would (SIGKILL: no goodbye, its liveness key left to
 * expire) or as a deploy does (SIGTERM: drain).
 */
export class ClusterNode {
  private output = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
    readonly port: number,
  ) {
    this.exited = new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null)
        resolve({ code: child.exitCode, signal: child.signalCode });
      else child.once('exit', (code, signal) => resolve({ code, signal }));
    });
    child.stdout?.on('data', (d: Buffer) => this.keep(d));
    child.stderr?.on('data', (d: Buffer) => this.keep(d));
  }

  static async start(opts: ClusterNodeOptions): Promise<ClusterNode> {
    const child = spawn(
      process.execPath,
      [
        CLI,
        'serve',
        '--port',
        String(opts.port ?? 0),
        '--project',
        `${TEST_PROJECT.apiKey}:${TEST_PROJECT.apiSecret}`,
        '--cluster',
        opts.redisUrl,
        '--log-level',
        'warn',
        ...(opts.args ?? []),
      ],
      {
        env: { ...process.env, ...opts.env, TETHER_CLUSTER_PREFIX: opts.prefix },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let seen = '';
    const { url, port } = await new Promise<{ url: string; port: number }>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`cluster node did not listen within ${opts.startTimeoutMs ?? 15_000} ms:\n${seen}`));
      }, opts.startTimeoutMs ?? 15_000);
      const onData = (d: Buffer) => {
        seen += d.toString();
        const m = /Tether is listening on (http:\/\/[^\s]+:(\d+))/.exec(seen);
        if (m) {
          clearTimeout(timer);
          child.stdout?.off('data', onData);
          resolve({ url: m[1] as string, port: Number(m[2]) });
        }
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', (d: Buffer) => (seen += d.toString()));
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`cluster node exited (${code ?? signal}) before listening:\n${seen}`));
      });
    });
    const node = new ClusterNode(child, url, port);
    node.output = seen;
    return node;
  }

  get pid(): number {
    return this.child.pid as number;
  }

  /** What the node printed (stdout and stderr, the last 64 KiB): for a failing test's message. */
  get log(): string {
    return this.output;
  }

  /** Sends a signal; resolves when the process has exited. */
  async kill(
    signal: NodeJS.Signals = 'SIGKILL',
  ): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }

  private keep(d: Buffer): void {
    this.output = (this.output + d.toString()).slice(-65_536);
  }
}
