import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { AGENT, run, runQuiet, spawnSyncQuiet, track, untrack, type Tracked } from './netns-process.js';

/**
 * Test hosts on the real packet path: a network namespace joined to this one by a veth pair,
 * with nft switches that drop its packets (both directions, silently: no RST, no ICMP, no send
 * error). A Tether client runs inside one as an agent (netns-driver.ts).
 *
 * Linux only, as root, with `ip` (iproute2) and `nft` (nftables). Each namespace gets a /30 of
 * 10.77.0.0/16 (10.77.N.1 on this side, 10.77.N.2 inside, default route via this side), claimed
 * machine-wide through a lock directory so concurrent test processes never collide. Nothing is
 * routed beyond this machine: the namespace reaches only this host's own addresses.
 */

const LOCK_DIR = '/run/tether-netns';
const SUBNET = '10.77';
/** Interface names must not start with `veth`: werift never gathers candidates on those. */
const HOST_PREFIX = 'tth';
const HOST_IF = (n: number) => `${HOST_PREFIX}${n}`;
const NS_IF = (n: number) => `ttn${n}`;

export type CutKind = 'udp' | 'tcp' | 'all';

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
export class Netns implements Tracked {
  readonly layer = 'netns';
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
    untrack(this);
    await runQuiet('ip', ['netns', 'del', this.name]);
    await runQuiet('ip', ['link', 'del', this.hostIf]);
    fs.rmSync(path.join(LOCK_DIR, String(this.index)), { recursive: true, force: true });
  }

  destroySync(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    untrack(this);
    spawnSyncQuiet('ip', ['netns', 'del', this.name]);
    spawnSyncQuiet('ip', ['link', 'del', this.hostIf]);
    fs.rmSync(path.join(LOCK_DIR, String(this.index)), { recursive: true, force: true });
  }
}
