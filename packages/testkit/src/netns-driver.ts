import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { createInterface } from 'node:readline';
import { Netns, type CutKind } from './netns.js';
import type { AgentCommand, AgentParams, AgentReply, AgentRequest, AgentResult } from './netns-commands.js';
import { AGENT, track, untrack, type Tracked } from './netns-process.js';

/**
 * The driver of a netns agent: a Tether client in its own Node process (netns-agent.ts),
 * usually inside a namespace (netns.ts), driven over JSON lines on its stdin/stdout. Commands
 * and their answers are typed by netns-commands.ts.
 *
 * The agent runs the built SDK (`packages/client/dist`, `packages/testkit/dist`): run
 * `npm run build` first (`npm test` does).
 */

export interface AgentEvent<T = any> {
  /** Position in the agent's event log. */
  i: number;
  ev: string;
  /** Epoch ms (sub-ms precision) on the agent's clock — the same clock as this process's `now()`. */
  at: number;
  data: T;
}

export interface AgentOptions {
  /** Run the agent inside this namespace (else in this one, as a plain child process). */
  netns?: Netns;
  /** For messages. */
  label?: string;
  /** Echo the agent's stderr here as it comes (default: kept, shown when a call fails). */
  echoStderr?: boolean;
}

/**
 * The arguments after the command's name: its params (optional when every one of them is), then
 * a timeout in ms.
 */
export type CallArgs<K extends AgentCommand> =
  Record<string, never> extends AgentParams<K>
    ? [params?: AgentParams<K>, timeoutMs?: number]
    : [params: AgentParams<K>, timeoutMs?: number];

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: ReturnType<typeof setTimeout>;
  cmd: string;
}

/**
 * A Tether client in its own Node process (see netns-agent.ts): `call(cmd, params)` runs a
 * command there (netns-commands.ts lists them); everything it sees comes back as events, kept
 * in order in `events`.
 */
export class Agent implements Tracked {
  readonly layer = 'agent';
  readonly events: AgentEvent[] = [];
  readonly label: string;
  private readonly pending = new Map<number, Pending>();
  private readonly waiters = new Set<() => void>();
  private nextId = 1;
  private stderr: string[] = [];
  private exited: { code: number | null; signal: string | null } | undefined;
  private readonly exitPromise: Promise<void>;
  private destroyed = false;

  private constructor(
    private readonly child: ChildProcess,
    readonly netns: Netns | undefined,
    label: string,
    echo: boolean,
  ) {
    this.label = label;
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => this.onLine(line));
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      this.stderr.push(chunk);
      if (this.stderr.length > 200) this.stderr.splice(0, this.stderr.length - 200);
      if (echo) process.stderr.write(chunk.replace(/^/gm, `[${label}] `));
    });
    child.stdin!.on('error', () => undefined);
    this.exitPromise = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exited = { code, signal };
        const err = new Error(`agent ${label} exited (${code ?? signal})\n${this.stderrTail()}`);
        for (const p of this.pending.values()) {
          clearTimeout(p.timer);
          p.reject(err);
        }
        this.pending.clear();
        this.wake();
        resolve();
      });
    });
  }

  static async start(opts: AgentOptions = {}): Promise<Agent> {
    if (!fs.existsSync(AGENT)) throw new Error(`${AGENT} not built: run \`npm run build\` first`);
    const node = process.execPath;
    const child = opts.netns
      ? spawn('ip', ['netns', 'exec', opts.netns.name, node, AGENT], { stdio: ['pipe', 'pipe', 'pipe'] })
      : spawn(node, [AGENT], { stdio: ['pipe', 'pipe', 'pipe'] });
    const agent = new Agent(
      child,
      opts.netns,
      opts.label ?? opts.netns?.name ?? `agent-${child.pid}`,
      opts.echoStderr ?? false,
    );
    track(agent);
    await agent.next('ready', undefined, { timeoutMs: 15_000 });
    return agent;
  }

  /** The server's URL as seen from this agent: the veth address from a namespace, loopback otherwise. */
  serverUrl(port: number): string {
    return `http://${this.netns ? this.netns.hostAddress : '127.0.0.1'}:${port}`;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  call<K extends AgentCommand>(
    cmd: K,
    ...[params, timeoutMs = 30_000]: CallArgs<K>
  ): Promise<AgentResult<K>> {
    if (this.exited) return Promise.reject(new Error(`agent ${this.label} has exited`));
    const id = this.nextId++;
    return new Promise<AgentResult<K>>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(
          new Error(`agent ${this.label}: ${cmd} got no answer in ${timeoutMs} ms\n${this.stderrTail()}`),
        );
      }, timeoutMs);
      // The agent answers with the result type of this very command (netns-commands.ts).
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer, cmd });
      const request: AgentRequest<K> = { id, cmd, args: params ?? ({} as AgentParams<K>) };
      this.child.stdin!.write(JSON.stringify(request) + '\n');
    });
  }

  /** The current length of the event log: pass it as `after` to wait only for what happens next. */
  mark(): number {
    return this.events.length;
  }

  /** Events of that name (matching `pred`) from position `after` on. */
  all<T = any>(ev: string, pred?: (data: T) => boolean, after = 0): AgentEvent<T>[] {
    return this.events.slice(after).filter((e) => e.ev === ev && (!pred || pred(e.data)));
  }

  find<T = any>(ev: string, pred?: (data: T) => boolean, after = 0): AgentEvent<T> | undefined {
    return this.events.slice(after).find((e) => e.ev === ev && (!pred || pred(e.data)));
  }

  /** The first event of that name (matching `pred`) at or after `after` — already there or still to come. */
  async next<T = any>(
    ev: string,
    pred?: (data: T) => boolean,
    opts: { after?: number; timeoutMs?: number } = {},
  ): Promise<AgentEvent<T>> {
    const { after = 0, timeoutMs = 20_000 } = opts;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.find(ev, pred, after);
      if (found) return found;
      if (this.exited)
        throw new Error(`agent ${this.label} exited while waiting for ${ev}\n${this.stderrTail()}`);
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`agent ${this.label}: no ${ev} event within ${timeoutMs} ms\n${this.recent()}`);
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.waiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, left);
        this.waiters.add(wake);
      });
    }
  }

  /** Polls an agent-side condition (each poll is a call) until it holds. */
  async until(cond: () => Promise<boolean>, what: string, timeoutMs = 20_000, everyMs = 50): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await cond())) {
      if (Date.now() > deadline)
        throw new Error(
          `agent ${this.label}: timed out after ${timeoutMs} ms waiting for ${what}\n${this.recent()}`,
        );
      await new Promise((r) => setTimeout(r, everyMs));
    }
  }

  /** The last events, for failure messages. */
  recent(n = 25): string {
    return this.events
      .slice(-n)
      .map(
        (e) =>
          `  #${e.i} ${new Date(e.at).toISOString().slice(11, 23)} ${e.ev} ${JSON.stringify(e.data).slice(0, 200)}`,
      )
      .join('\n');
  }

  stderrTail(): string {
    return this.stderr.join('').split('\n').slice(-30).join('\n');
  }

  /** Asks the agent to leave and exit; kills it if it does not within 3 s. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    untrack(this);
    if (!this.exited) {
      this.call('exit', {}, 3000).catch(() => undefined);
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 3000);
      await this.exitPromise;
      clearTimeout(timer);
    }
  }

  destroySync(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    untrack(this);
    if (!this.exited) this.child.kill('SIGKILL');
  }

  /** Kills the agent at once (SIGKILL): its client vanishes without leaving, as in a crash. */
  async kill(): Promise<void> {
    this.destroyed = true;
    untrack(this);
    if (!this.exited) this.child.kill('SIGKILL');
    await this.exitPromise;
  }

  private onLine(line: string): void {
    let msg: Partial<AgentReply> & { ev?: unknown; at?: number; data?: unknown };
    try {
      msg = JSON.parse(line);
    } catch {
      this.stderr.push(`(stdout) ${line}\n`);
      return;
    }
    if (typeof msg.re === 'number') {
      const p = this.pending.get(msg.re);
      if (!p) return;
      this.pending.delete(msg.re);
      clearTimeout(p.timer);
      const reply = msg as AgentReply;
      if (reply.ok) p.resolve(reply.value);
      else {
        const err = new Error(
          `agent ${this.label}: ${p.cmd} failed: ${reply.error?.code ?? ''} ${reply.error?.message ?? ''}`.trim(),
        );
        (err as Error & { code?: string }).code = reply.error?.code;
        p.reject(err);
      }
      return;
    }
    if (typeof msg.ev === 'string') {
      this.events.push({ i: this.events.length, ev: msg.ev, at: msg.at ?? 0, data: msg.data ?? {} });
      this.wake();
    }
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }
}

/** A namespace with an agent in it: the usual unit of a fault test. */
export interface NetnsClient {
  netns: Netns;
  agent: Agent;
  cut(kind: CutKind): Promise<void>;
  heal(): Promise<void>;
  destroy(): Promise<void>;
}

export async function startNetnsClient(
  opts: { label?: string; echoStderr?: boolean } = {},
): Promise<NetnsClient> {
  const netns = await Netns.create();
  try {
    const agent = await Agent.start({ netns, ...opts });
    return {
      netns,
      agent,
      cut: (kind) => netns.cut(kind),
      heal: () => netns.heal(),
      async destroy() {
        await agent.destroy();
        await netns.destroy();
      },
    };
  } catch (err) {
    await netns.destroy();
    throw err;
  }
}
