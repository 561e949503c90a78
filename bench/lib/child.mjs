/**
 * bench/lib/child.mjs — benchmark parts in child processes (a server, a forwarder, client
 * workers), so that each one's CPU time and event loop are its own.
 *
 * A benchmark script forks itself: `forkChild(SELF, role, args)` starts `node SELF --child role
 * …args`; in the child, `childRole()` returns the role and the script runs that part, which calls
 * `serveParent(info, handlers)` once it is ready. The parent then sends requests ({cmd, id}) and
 * the child answers each with `{re: id, ...result}` over the IPC channel (JSON). Every child still
 * alive when the benchmark exits — normally, by an error, or by Ctrl-C through `exitOnInterrupt`
 * — is killed by its pid; a child whose parent is gone exits by itself.
 */
import { fork } from 'node:child_process';

const CHILD_FLAG = '--child';

/** Children alive now: killed when this process exits. */
const alive = new Set();
let exitHookInstalled = false;

/** Kills (SIGKILL) every child forked by this process that is still alive. */
export function killChildren() {
  for (const proc of alive) proc.kill('SIGKILL');
}

/**
 * On SIGINT or SIGTERM: runs `cleanup` (e.g. deleting network namespaces), then exits with 130;
 * the children are killed on the way out.
 * @param {() => unknown} [cleanup]
 */
export function exitOnInterrupt(cleanup = () => undefined) {
  const onSignal = () => {
    Promise.resolve()
      .then(cleanup)
      .catch(() => undefined)
      .finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
}

/**
 * In a child forked by `forkChild`: its role and arguments; undefined in the benchmark itself.
 * @param {string[]} [argv]
 * @returns {{ role: string, args: string[] } | undefined}
 */
export function childRole(argv = process.argv) {
  return argv[2] === CHILD_FLAG ? { role: argv[3], args: argv.slice(4) } : undefined;
}

/**
 * @typedef {object} Child
 * @property {number} pid
 * @property {Record<string, any>} info what the child sent with its ready message
 * @property {(cmd: string, timeoutMs?: number) => Promise<Record<string, any>>} call a request and its answer; rejects if the child exits first or does not answer in time
 * @property {(timeoutMs?: number) => Promise<void>} stop asks the child to close (cmd 'close'), waits for it to exit, kills it if it has not after timeoutMs
 * @property {(signal?: NodeJS.Signals) => void} kill
 * @property {Promise<{ code: number | null, signal: string | null }>} exited
 */

/**
 * Forks `script` as `role` and waits until the child says it is ready.
 * @param {string} script path of the benchmark script (its own import.meta.url, as a path)
 * @param {string} role
 * @param {unknown[]} [args] passed as strings
 * @param {{ execArgv?: string[], label?: string, log?: (line: string) => void }} [options]
 *   label: names the child in errors (default: role); log: where a kill after a stop timeout is reported
 * @returns {Promise<Child>}
 */
export async function forkChild(
  script,
  role,
  args = [],
  { execArgv = [], label = role, log = (line) => process.stderr.write(`${line}\n`) } = {},
) {
  const proc = fork(script, [CHILD_FLAG, role, ...args.map(String)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    execArgv,
  });
  alive.add(proc);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', killChildren);
  }
  let gone = false;
  /** id → the pending request's settlers. */
  const waiting = new Map();
  const exited = new Promise((resolve) =>
    proc.once('exit', (code, signal) => {
      gone = true;
      alive.delete(proc);
      for (const { reject } of waiting.values()) reject(new Error(`${label} exited (${code ?? signal})`));
      waiting.clear();
      resolve({ code, signal });
    }),
  );
  const info = await new Promise((resolve, reject) => {
    exited.then(({ code, signal }) =>
      reject(new Error(`${label} exited (${code ?? signal}) before it was ready`)),
    );
    proc.on('message', (msg) => {
      if (msg.ready) resolve(msg);
      else if (msg.re !== undefined && waiting.has(msg.re)) {
        waiting.get(msg.re).resolve(msg);
        waiting.delete(msg.re);
      }
    });
  });
  let nextId = 1;
  const call = (cmd, timeoutMs = 0) =>
    new Promise((resolve, reject) => {
      if (gone) return reject(new Error(`${label} is gone`));
      const id = nextId++;
      let timer;
      const settle = (fn) => (x) => {
        clearTimeout(timer);
        fn(x);
      };
      waiting.set(id, { resolve: settle(resolve), reject: settle(reject) });
      if (timeoutMs > 0)
        timer = setTimeout(() => {
          waiting.delete(id);
          reject(new Error(`${label} did not answer '${cmd}' in ${timeoutMs} ms`));
        }, timeoutMs);
      proc.send({ cmd, id });
    });
  return {
    pid: proc.pid,
    info,
    call,
    exited,
    kill: (signal = 'SIGKILL') => void (gone || proc.kill(signal)),
    async stop(timeoutMs = 30_000) {
      if (gone) return;
      call('close').catch(() => undefined);
      let timer;
      const timeout = new Promise((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
      const outcome = await Promise.race([exited, timeout]);
      clearTimeout(timer);
      if (outcome === 'timeout') {
        log(`${label} did not exit in ${timeoutMs / 1000} s; killing pid ${proc.pid}`);
        proc.kill('SIGKILL');
        await exited;
      }
    },
  };
}

/**
 * In a child: tells the parent it is ready (with `info`), then answers each request by calling
 * `handlers[cmd]` with the request and sending back what it returns. After answering 'close' the
 * child exits; it also exits when the parent goes away.
 * @param {Record<string, unknown>} info
 * @param {Record<string, (msg: Record<string, any>) => unknown>} [handlers]
 */
export function serveParent(info, handlers = {}) {
  process.on('message', async (msg) => {
    const handler = handlers[msg.cmd];
    let result;
    try {
      result = handler ? await handler(msg) : { error: `unknown command '${msg.cmd}'` };
    } catch (err) {
      result = { error: String(err?.message ?? err) };
    }
    process.send({ ...result, re: msg.id }, () => {
      if (msg.cmd === 'close') process.exit(0);
    });
  });
  process.on('disconnect', () => process.exit(0));
  process.send({ ...info, ready: true });
}
