/**
 * bench/cluster/systems.mjs — the two clusters bench/cluster.mjs compares, behind one interface:
 * three nodes on the same Redis, and clients spread over them that move to another node when
 * theirs dies.
 *
 *  - Tether: three `tether serve --cluster <redis>` processes (ClusterNode of @tether/testkit,
 *    built CLI), one key prefix per repetition. Each client is a `Session` given all three URLs,
 *    its home node first; the SDK moves to the next URL by itself.
 *  - Socket.IO 4: three server processes (children of the bench, `--child socketio`), each
 *    `new Server(http, { adapter: createAdapter(redis), connectionStateRecovery })` with
 *    @socket.io/redis-streams-adapter over node-redis, one stream and session-key prefix per
 *    repetition. socket.io-client has one URL per Manager and no list, so each client does what
 *    a Socket.IO app has to write to survive a server's death: on the Manager's
 *    `reconnect_attempt` it sets `socket.io.uri` to the next server's URL. The Socket object is
 *    the same, so its `auth`, its session id and its last offset (connection state recovery) go
 *    with it.
 */
import { createServer } from 'node:http';
import { forkChild, serveParent } from '../lib/child.mjs';

export const SIGNAL_TYPE = 'bench';
/** Socket.IO's recovery window, and how long a Tether node keeps a connection that left (its default is not changed). */
export const SIO_RECOVERY_MS = 60_000;
/** Time allowed for one connect attempt, both systems. */
const CONNECT_TIMEOUT_MS = 30_000;
const CONNECT_CONCURRENCY = 20;

/** Runs `fn(i)` for i in [0, n) with at most `limit` at a time. */
async function pool(n, limit, fn) {
  let next = 0;
  const worker = async () => {
    while (next < n) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.min(limit, n) }, worker));
}

/** The URLs in order from `home`: home first, then the next ones round. */
const fromHome = (urls, home) => urls.map((_, k) => urls[(home + k) % urls.length]);

/**
 * @typedef {object} ClientEvents
 * @property {(i: number, data: string) => void} onSignal every bench signal client i receives
 * @property {(i: number) => void} onDown client i lost its transport
 * @property {(i: number, recovered: boolean) => void} onUp client i is connected again; recovered: same connection, missed signals replayed
 */

// =====================================================================================
// Tether
// =====================================================================================

/** Three Tether cluster nodes on `redisUrl`, keys under `prefix`. */
export async function startTether(redisUrl, prefix) {
  const { ClusterNode, TEST_PROJECT } = await import('@tether/testkit');
  const { Session } = await import('@tether/client');
  const { TetherApi, createToken } = await import('@tether/server-sdk');
  const nodes = await Promise.all([0, 1, 2].map(() => ClusterNode.start({ redisUrl, prefix })));
  const urls = nodes.map((n) => n.url);
  return {
    urls,
    pids: nodes.map((n) => n.pid),
    kill: (k) => nodes[k].kill('SIGKILL'),
    // Clients are gone by then; nothing is left to drain.
    stop: () => Promise.all(nodes.map((n) => n.kill('SIGKILL'))),
    /**
     * n clients in a new session, client i homed on node i % 3.
     * @param {number} n
     * @param {ClientEvents} ev
     */
    async connect(n, ev) {
      const api = new TetherApi({ url: urls[0], ...TEST_PROJECT });
      const { sessionId } = await api.createSession();
      const sessions = new Array(n);
      let closing = false;
      await pool(n, CONNECT_CONCURRENCY, async (i) => {
        const token = await createToken({ ...TEST_PROJECT, sessionId, role: 'publisher', data: `c${i}` });
        const s = new Session({
          url: fromHome(urls, i % urls.length),
          sessionId,
          watchNetwork: false,
          attemptTimeoutMs: CONNECT_TIMEOUT_MS,
        });
        await s.connect(token);
        s.on(`signal:${SIGNAL_TYPE}`, (e) => ev.onSignal(i, e.data));
        s.on('sessionReconnecting', () => closing || ev.onDown(i));
        s.on('sessionReconnected', (e) => ev.onUp(i, !e.rejoined));
        sessions[i] = s;
      });
      let rejected = 0;
      return {
        send(i, data) {
          sessions[i].signal({ type: SIGNAL_TYPE, data }).catch(() => rejected++);
        },
        get rejected() {
          return rejected;
        },
        close() {
          closing = true;
          for (const s of sessions) s?.disconnect();
        },
      };
    },
  };
}

// =====================================================================================
// Socket.IO
// =====================================================================================

/** In a child process: one Socket.IO server on the Redis streams adapter. */
export async function serveSocketIo(redisUrl, streamName, sessionKeyPrefix) {
  const { Server } = await import('socket.io');
  const { createAdapter } = await import('@socket.io/redis-streams-adapter');
  const { createClient } = await import('redis');
  const redis = createClient({ url: redisUrl });
  await redis.connect();
  const http = createServer();
  // As bench/fanout.mjs: websocket only, no per-message deflate. Connection state recovery on,
  // stored by the adapter in Redis (a stream of the packets, a key per disconnected session).
  const io = new Server(http, {
    transports: ['websocket'],
    serveClient: false,
    perMessageDeflate: false,
    connectionStateRecovery: { maxDisconnectionDuration: SIO_RECOVERY_MS },
    adapter: createAdapter(redis, { streamName, sessionKeyPrefix }),
  });
  io.on('connection', (socket) => {
    const room = String(socket.handshake.auth?.room ?? '');
    // A recovered socket is in its rooms again already; a new one joins.
    if (!socket.recovered) socket.join(room);
    socket.on('signal', (msg) => io.to(room).emit('signal', msg));
  });
  await new Promise((resolve) => http.listen(0, '127.0.0.1', resolve));
  serveParent(
    { url: `http://127.0.0.1:${http.address().port}` },
    {
      close: () =>
        new Promise((resolve) => io.close(() => resolve({}))).then(() => redis.quit().catch(() => {})),
    },
  );
}

/** Three Socket.IO server processes forked from `script` (bench/cluster.mjs). */
export async function startSocketIo(script, redisUrl, prefix, log) {
  const { io } = await import('socket.io-client');
  const children = await Promise.all(
    [0, 1, 2].map((k) =>
      forkChild(script, 'socketio', [redisUrl, `${prefix}stream`, `${prefix}session:`], {
        label: `socket.io server ${k}`,
        log,
      }),
    ),
  );
  const urls = children.map((c) => c.info.url);
  return {
    urls,
    pids: children.map((c) => c.pid),
    async kill(k) {
      children[k].kill('SIGKILL');
      await children[k].exited;
    },
    stop: () => Promise.all(children.map((c) => c.stop())),
    /**
     * n clients in a new room, client i first on server i % 3.
     * @param {number} n
     * @param {ClientEvents} ev
     */
    async connect(n, ev) {
      const room = `room-${Math.random().toString(36).slice(2)}`;
      const sockets = new Array(n);
      let closing = false;
      await pool(n, CONNECT_CONCURRENCY, async (i) => {
        const order = fromHome(urls, i % urls.length);
        let at = 0;
        // Default reconnection (delay 1 s ± 50 %, up to 5 s); forceNew: a Manager and a
        // WebSocket per client, as separate users have.
        const socket = io(order[0], {
          transports: ['websocket'],
          forceNew: true,
          timeout: CONNECT_TIMEOUT_MS,
          auth: { room },
        });
        // What a Socket.IO app writes to fail over: the Manager retries its one URL, so before
        // each attempt point it at the next server. Same Socket: auth, pid and offset are kept.
        socket.io.on('reconnect_attempt', () => {
          at = (at + 1) % order.length;
          socket.io.uri = order[at];
        });
        await new Promise((resolve, reject) => {
          socket.once('connect', resolve);
          socket.once('connect_error', reject);
        });
        socket.on('signal', (msg) => ev.onSignal(i, msg.data));
        socket.on('disconnect', () => closing || ev.onDown(i));
        socket.on('connect', () => ev.onUp(i, socket.recovered));
        sockets[i] = socket;
      });
      return {
        send(i, data) {
          sockets[i].emit('signal', { type: SIGNAL_TYPE, data });
        },
        rejected: 0,
        close() {
          closing = true;
          for (const s of sockets) s?.disconnect();
        },
      };
    },
  };
}

/** Deletes every key under `prefix` (a repetition's cluster state, either system). */
export async function deleteKeys(redisUrl, prefix) {
  const { createClient } = await import('redis');
  const redis = createClient({ url: redisUrl });
  await redis.connect();
  try {
    const keys = [];
    for await (const batch of redis.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) keys.push(...batch);
    for (let k = 0; k < keys.length; k += 500) await redis.del(keys.slice(k, k + 500));
    return keys.length;
  } finally {
    await redis.quit();
  }
}
