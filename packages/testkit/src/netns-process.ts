import { execFile, execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

/** The built agent (netns-agent.ts): `npm run build` makes it. */
export const AGENT = fileURLToPath(new URL('../dist/netns-agent.js', import.meta.url));

/** Epoch ms with sub-ms precision: the clock the agents stamp their events with. */
export const now = (): number => performance.timeOrigin + performance.now();

export function run(cmd: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { timeout: 10_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${String(stderr).trim() || err.message}`));
      else resolve(String(stdout));
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

export function runQuiet(cmd: string, args: string[]): Promise<void> {
  return run(cmd, args).then(
    () => undefined,
    () => undefined,
  );
}

export function spawnSyncQuiet(cmd: string, args: string[]): void {
  try {
    execFileSync(cmd, args, { stdio: 'ignore', timeout: 10_000 });
  } catch {
    // already gone
  }
}

/** A namespace or an agent this process made: agents go first, since they run inside namespaces. */
export interface Tracked {
  readonly layer: 'agent' | 'netns';
  destroy(): Promise<void>;
  destroySync(): void;
}

const live = new Set<Tracked>();
let exitHookInstalled = false;

export function track(x: Tracked): void {
  live.add(x);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A test process that dies still removes its namespaces and agents (synchronously).
  process.once('exit', () => {
    for (const item of live) item.destroySync();
  });
}

export function untrack(x: Tracked): void {
  live.delete(x);
}

/** Destroys every namespace and agent this process started and has not destroyed yet (for afterEach). */
export async function destroyAllNetns(): Promise<void> {
  const items = [...live];
  await Promise.all(items.filter((i) => i.layer === 'agent').map((i) => i.destroy()));
  await Promise.all(items.filter((i) => i.layer === 'netns').map((i) => i.destroy()));
}
