#!/usr/bin/env node
/**
 * bench/reconnect/storm-server.mjs — the server of one storm run, alone in a child process
 * (bench/lib/child.mjs), so that its CPU time is its own and not the 2 × N clients' of the bench.
 *
 *   node storm-server.mjs --child tether
 *   node storm-server.mjs --child socketio <pingIntervalMs> <pingTimeoutMs>
 *
 * Ready info: {port}. Requests: 'stats' → {upgrades, cpuUs, ...} — every HTTP upgrade request
 * the server saw (each one a reconnection attempt that reached it) and its process CPU time
 * (user + system, µs). Tether adds its connection counts by state.
 */
import { createServer } from 'node:http';
/* global fetch */
import { startTestServer } from '@tether/testkit';
import { Server as IOServer } from 'socket.io';
import { childRole, serveParent } from '../lib/child.mjs';

const { role, args } = childRole() ?? { role: '', args: [] };

const cpuUs = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

if (role === 'tether') {
  // The reconnect window is raised as in the rest of bench/reconnect.mjs: no client gives up.
  const t = await startTestServer({ transport: { reconnectWindowMs: 60_000 } });
  let upgrades = 0;
  t.server.http.server.on('upgrade', () => upgrades++);
  serveParent(
    { port: t.server.port },
    {
      stats: () => ({ upgrades, cpuUs: cpuUs(), sizes: t.server.hub.sizes() }),
      // The server's own counters (resumes, interruptions, connections destroyed by reason).
      metrics: async () => {
        const text = await (await fetch(`${t.url}/metrics`)).text();
        const wanted =
          /^tether_(resumes_total|interruptions_total|connections_destroyed_total|unconfirmed_discarded_total|interrupted_evictions_total)/;
        return { lines: text.split('\n').filter((l) => wanted.test(l)) };
      },
      close: async () => {
        await t.close();
        return {};
      },
    },
  );
} else if (role === 'socketio') {
  const [pingInterval, pingTimeout] = args.map(Number);
  const http = createServer();
  let upgrades = 0;
  http.on('upgrade', () => upgrades++);
  const io = new IOServer(http, {
    transports: ['websocket'],
    serveClient: false,
    pingInterval,
    pingTimeout,
    connectionStateRecovery: { maxDisconnectionDuration: 60_000 },
  });
  /** room → the socket id of its sender, to which the receivers' "up" messages go. */
  const senders = new Map();
  io.on('connection', (socket) => {
    const { room, role: who, name } = socket.handshake.auth ?? {};
    socket.join(String(room));
    if (who === 'sender') {
      senders.set(String(room), socket.id);
      // A recovered socket keeps its id, so the map stays right across a reconnection.
      socket.on('seq', (n) => socket.to(String(room)).emit('seq', n));
    } else {
      socket.on('up', (n) => {
        const to = senders.get(String(room));
        if (to) io.to(to).emit('up', { from: String(name), n });
      });
    }
  });
  await new Promise((resolve) => http.listen(0, '127.0.0.1', resolve));
  serveParent(
    { port: http.address().port },
    {
      stats: () => ({ upgrades, cpuUs: cpuUs() }),
      close: () => new Promise((resolve) => io.close(() => resolve({}))),
    },
  );
} else {
  process.stderr.write(`storm-server: unknown role '${role}'\n`);
  process.exit(2);
}
