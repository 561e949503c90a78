import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/**
 * Test hosts on the real packet path: a network namespace joined to this one by a veth pair,
 * with nft switches that drop its packets (both directions, silently: no RST, no ICMP, no send
 * error), and a Tether client running inside it in its own Node process (the agent), driven
 * over JSON lines on its stdin/stdout.
 *
 * Linux only, as root, with `ip` (iproute2) and `nft` (nftables). Each namespace gets a /30 of
 * 10.77.0.0/16 (10.77.N.1 on this side, 10.77.N.2 inside, default route via this side), claimed
 * machine-wide through a lock directory so concurrent test processes never collide. Nothing is
 * routed beyond this machine: the namespace reaches only this host's own addresses.
 *
 * The agent runs the built SDK (`packages/client/dist`, `packages/testkit/dist`): run
 * `npm run build` first (`npm test` does).
 */

const AGENT = fileURLToPath(new URL('../dist/netns-agent.js', import.meta.url));
const LOCK_DIR = '/run/tether-netns';
const SUBNET = '10.77';
/** Interface names must not start with `veth`: werift never gathers candidates on those. */
const HOST_PREFIX = 'tth';
const HOST_IF = (n: number) => `${HOST_PREFIX}${n}`;
const NS_IF = (n: number) => `ttn${n}`;

export type CutKind = 'udp' | 'tcp' | 'all';

export const now = (): number => performance.timeOrigin + performance.now();

function which(tool: string): boolean {
  for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin')
    .split(':')
    .concat(['/usr/sbin', '/sbin']))
    if (fs.existsSync(path.join(dir, tool))) return true;
  return false;
}

/** Why namespaces cannot be used here, or undefined when they can. */
export function netnsUnavailable(): string | undefined {
  if (process.platform !== 'linux') return 'network namespaces need Linux';
  if (process.getuid?.() !== 0) return 'network namespaces need root';
  if (!which('ip')) return '`ip` not found (apt-get install iproute2)';
  if (!which('nft')) return '`nft` not found (apt-get install nftables)';
  if (!fs.existsSync(AGENT)) return `${AGENT} not built: run \`npm run build\` first`;
  return undefined;
}

/**
 * UDP sockets open in this process: its socket descriptors that /proc lists as UDP (v4 or v6)
 * in its network namespace. Counts unref'd sockets too, unlike process.getActiveResourcesInfo().
 */
export function udpSocketCount(): number {
  const inodes = new Set<string>();
  for (const file of ['/proc/self/net/udp', '/proc/self/net/udp6']) {
    let text = '';
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const inode = line.trim().split(/\s+/)[9];
      if (inode) inodes.add(inode);
    }
  }
  let n = 0;
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/self/fd/${fd}`));
      if (m && inodes.has(m[1]!)) n++;
    } catch {
      // closed meanwhile
    }
  }
  return n;
}

function run(cmd: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { timeout: 10_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${String(stderr).trim() || err.message}`));
      else resolve(String(stdout));
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

function runQuiet(cmd: string, args: string[]): Promise<void> {
  return run(cmd, args).then(
    () => undefined,
    () => undefined,
  );
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Claims a free subnet index machine-wide; reclaims the ones left by dead processes. */
function claimIndex(name: string): number {
  fs.mkdirSync(LOCK_DIR, { recursive: true });
  const start = 1 + Math.floor(Math.random() * 250);
  for (let k = 0; k < 250; k++) {
    const n = 1 + ((start + k) % 250);
    const dir = path.join(LOCK_DIR, String(n));
    try {
      fs.mkdirSync(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (!reclaimStale(n, dir)) continue;
      try {
        fs.mkdirSync(dir);
      } catch {
        continue;
      }
    }
    fs.writeFileSync(path.join(dir, 'owner'), `${process.pid} ${name}\n`);
    if (fs.existsSync(`/sys/class/net/${HOST_IF(n)}`)) {
      // An interface nobody owns any more (a crash between creation and lock): remove it.
      try {
        execFileSync('ip', ['link', 'del', HOST_IF(n)], { stdio: 'ignore' });
      } catch {
        fs.rmSync(dir, { recursive: true, force: true });
        continue;
      }
    }
    return n;
  }
  throw new Error('no free 10.77.N.0/30 subnet for a test namespace');
}

/** A lock whose owner died: delete what it left (namespace, interface) and the lock. */
function reclaimStale(n: number, dir: string): boolean {
  let owner = '';
  try {
    owner = fs.readFileSync(path.join(dir, 'owner'), 'utf8').trim();
  } catch {
    // being written right now, or a crash before writing: old enough means stale
    try {
      if (Date.now() - fs.statSync(dir).mtimeMs < 10_000) return false;
    } catch {
      return true;
    }
  }
  const [pid, ns] = owner.split(' ');
  if (pid && alive(Number(pid))) return false;
  if (ns) spawnSyncQuiet('ip', ['netns', 'del', ns]);
  spawnSyncQuiet('ip', ['link', 'del', HOST_IF(n)]);
  fs.rmSync(dir, { recursive: true, force: true });
  return true;
}

function spawnSyncQuiet(cmd: string, args: string[]): void {
  try {
    execFileSync(cmd, args, { stdio: 'ignore', timeout: 10_000 });
  } catch {
    // already gone
  }
}

const live = new Set<Netns | Agent>();
let exitHookInstalled = false;
function track(x: Netns | Agent): void {
  live.add(x);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A test process that dies still removes its namespaces and agents (synchronously).
  process.once('exit', () => {
    for (const item of live) item.destroySync();
  });
}

/** Destroys every namespace and agent this process started and has not destroyed yet (for afterEach). */
export async function destroyAllNetns(): Promise<void> {
  const items = [...live];
  await Promise.all(items.filter((i) => i instanceof Agent).map((i) => i.destroy()));
  await Promise.all(items.filter((i) => i instanceof Netns).map((i) => i.destroy()));
}

let counter = 0;

let guard: Promise<string> | undefined;
/** Idempotent (one atomic nft transaction), shared by every test process; left in place. */
function forwardGuard(): Promise<string> {
  guard ??= run(
    'nft',
    ['-f', '-'],
    [
      'add table inet tether_forward',
      'add chain inet tether_forward forward { type filter hook forward priority -10; policy accept; }',
      'flush chain inet tether_forward forward',
      `add rule inet tether_forward forward iifname "${HOST_PREFIX}*" oifname "${HOST_PREFIX}*" accept`,
      `add rule inet tether_forward forward iifname "${HOST_PREFIX}*" counter drop`,
      `add rule inet tether_forward forward oifname "${HOST_PREFIX}*" counter drop`,
    ].join('\n') + '\n',
  );
  return guard;
}

/** One network namespace with a veth pair to this one, and nft switches to cut it off. */
export class Netns {
  /** This side of the veth pair. */
  readonly hostAddress: string;
  /** The namespace's side. */
  readonly address: string;
  readonly hostIf: string;
  readonly nsIf: string;
  private _cut: CutKind | undefined;
  private destroyed = false;

  private constructor(
    readonly name: string,
    readonly index: number,
  ) {
    this.hostAddress = `${SUBNET}.${index}.1`;
    this.address = `${SUBNET}.${index}.2`;
    this.hostIf = HOST_IF(index);
    this.nsIf = NS_IF(index);
  }

  static async create(): Promise<Netns> {
    const why = netnsUnavailable();
    if (why) throw new Error(why);
    const name = `tether-${process.pid}-${++counter}`;
    const index = claimIndex(name);
    const ns = new Netns(name, index);
    track(ns);
    try {
      await ns.setUp();
    } catch (err) {
      await ns.destroy();
      throw err;
    }
    return ns;
  }

  get cutKind(): CutKind | undefined {
    return this._cut;
  }

  private async setUp(): Promise<void> {
    const { name, hostIf, nsIf, hostAddress, address } = this;
    await run('ip', ['netns', 'add', name]);
    await run('ip', ['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf, 'netns', name]);
    await run('ip', ['addr', 'add', `${hostAddress}/30`, 'dev', hostIf]);
    await run('ip', ['link', 'set', hostIf, 'up']);
    // Namespaces reach each other (relayed media between two of them) through this one:
    // forwarding is turned on for the test interfaces only, behind a guard that forwards
    // between them and nowhere else, so nothing from a namespace ever leaves the machine.
    await forwardGuard();
    fs.writeFileSync(`/proc/sys/net/ipv4/conf/${hostIf}/forwarding`, '1');
    await run('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
    await run('ip', ['-n', name, 'addr', 'add', `${address}/30`, 'dev', nsIf]);
    await run('ip', ['-n', name, 'link', 'set', nsIf, 'up']);
    await run('ip', ['-n', name, 'route', 'add', 'default', 'via', hostAddress]);
    // Drops at the device, both ways: a dropped egress packet is not reported to the sender
    // (unlike the inet output hook, which makes sendmsg fail with EPERM), so it looks like a
    // dead network and not like a local error. Loopback inside the namespace is untouched.
    await this.nft(
      [
        'table netdev tether {',
        `  chain ingress { type filter hook ingress device "${nsIf}" priority 0; policy accept; }`,
        `  chain egress { type filter hook egress device "${nsIf}" priority 0; policy accept; }`,
        '}',
      ].join('\n'),
    );
  }

  private nft(script: string): Promise<string> {
    return run('ip', ['netns', 'exec', this.name, 'nft', '-f', '-'], script + '\n');
  }

  /** Drops the namespace's packets of that kind, both directions, until heal(). */
  async cut(kind: CutKind): Promise<void> {
    const match =
      kind === 'all' ? ['meta protocol { ip, ip6 }'] : [`ip protocol ${kind}`, `ip6 nexthdr ${kind}`];
    const lines = ['flush chain netdev tether ingress', 'flush chain netdev tether egress'];
    for (const chain of ['ingress', 'egress'])
      for (const m of match) lines.push(`add rule netdev tether ${chain} ${m} counter drop`);
    await this.nft(lines.join('\n'));
    this._cut = kind;
  }

  /** Lets everything through again. */
  async heal(): Promise<void> {
    await this.nft('flush chain netdev tether ingress\nflush chain netdev tether egress');
    this._cut = undefined;
  }

  /** Packets dropped by the current cut (both directions). */
  async dropped(): Promise<number> {
    const out = await run('ip', ['netns', 'exec', this.name, 'nft', 'list', 'table', 'netdev', 'tether']);
    let n = 0;
    for (const m of out.matchAll(/counter packets (\d+)/g)) n += Number(m[1]);
    return n;
  }

  /** A command inside the namespace. */
  exec(cmd: string, args: string[]): Promise<string> {
    return run('ip', ['netns', 'exec', this.name, cmd, ...args]);
  }

  /** Removes the namespace (its veth pair and nft table go with it) and frees the subnet. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    live.delete(this);
    await runQuiet('ip', ['netns', 'del', this.name]);
    await runQuiet('ip', ['link', 'del', this.hostIf]);
    fs.rmSync(path.join(LOCK_DIR, String(this.index)), { recursive: true, force: true });
  }

  destroySync(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    live.delete(this);
    spawnSyncQuiet('ip', ['netns', 'del', this.name]);
    spawnSyncQuiet('ip', ['link', 'del', this.hostIf]);
    fs.rmSync(path.join(LOCK_DIR, String(this.index)), { recursive: true, force: true });
  }
}

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

interface Pending {
  resolve: (v: any) => void;
  reject: (e: Error) => void;
  timer: ReturnType<typeof setTimeout>;
  cmd: string;
}

/**
 * A Tether client in its own Node process (see netns-agent.ts): `call(cmd, args)` runs a
 * command there; everything it sees comes back as events, kept in order in `events`.
 */
export class Agent {
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

  call<T = any>(cmd: string, args: Record<string, unknown> = {}, timeoutMs = 30_000): Promise<T> {
    if (this.exited) return Promise.reject(new Error(`agent ${this.label} has exited`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(
          new Error(`agent ${this.label}: ${cmd} got no answer in ${timeoutMs} ms\n${this.stderrTail()}`),
        );
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer, cmd });
      this.child.stdin!.write(JSON.stringify({ id, cmd, args }) + '\n');
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
    live.delete(this);
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
    live.delete(this);
    if (!this.exited) this.child.kill('SIGKILL');
  }

  /** Kills the agent at once (SIGKILL): its client vanishes without leaving, as in a crash. */
  async kill(): Promise<void> {
    this.destroyed = true;
    live.delete(this);
    if (!this.exited) this.child.kill('SIGKILL');
    await this.exitPromise;
  }

  private onLine(line: string): void {
    let msg: any;
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
      if (msg.ok) p.resolve(msg.value);
      else {
        const err = new Error(
          `agent ${this.label}: ${p.cmd} failed: ${msg.error?.code ?? ''} ${msg.error?.message ?? ''}`.trim(),
        );
        (err as Error & { code?: string }).code = msg.error?.code;
        p.reject(err);
      }
      return;
    }
    if (typeof msg.ev === 'string') {
      this.events.push({ i: this.events.length, ev: msg.ev, at: msg.at, data: msg.data ?? {} });
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
