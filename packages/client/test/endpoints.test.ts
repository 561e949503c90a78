import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { FaultProxy, startTestServer, type TestServer } from '@tether/testkit';
import type { SessionEvents } from '../src/index.js';

/** A loopback port with nothing listening: connections to it are refused at once. */
async function deadPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  await new Promise((r) => srv.close(r));
  return port;
}

describe('a list of server URLs', () => {
  const servers: TestServer[] = [];
  const proxies: FaultProxy[] = [];
  afterEach(async () => {
    for (const p of proxies.splice(0)) await p.close();
    for (const s of servers.splice(0)) await s.close();
  });

  it('the first connect passes over a server that is down and joins through the next', async () => {
    const t = await startTestServer();
    servers.push(t);
    const sessionId = await t.createSession();
    const dead = `http://127.0.0.1:${await deadPort()}`;
    const s = await t.join(sessionId, { url: [dead, t.url], data: 'via-second' });
    expect(s.state).toBe('connected');
    expect((await t.api.listConnections(sessionId)).map((c) => c.data)).toEqual(['via-second']);
  });

  it('a client whose server went dark (no FIN, no RST) moves to the next one by itself', async () => {
    const [a, b] = [await startTestServer(), await startTestServer()];
    servers.push(a, b);
    const proxy = await FaultProxy.start({ target: { host: '127.0.0.1', port: a.server.port } });
    proxies.push(proxy);
    const sessionId = await a.createSession();
    // Two servers that share no state: the resume on b is refused, and the client joins there again.
    const s = await a.join(sessionId, {
      url: [proxy.url, b.url],
      rejoinOnResumeFailure: true,
      data: 'mover',
    });
    const back = new Promise<SessionEvents['sessionReconnected']>((r) => s.once('sessionReconnected', r));
    proxy.blackhole();
    const e = await back;
    expect(e.rejoined).toBe(true);
    expect((await b.api.listConnections(sessionId)).map((c) => c.data)).toEqual(['mover']);
    expect(s.state).toBe('connected');
  }, 20_000);

  it('a draining node sends its clients to the next server at once, and refuses new ones with SERVER_DRAINING', async () => {
    const [a, b] = [await startTestServer(), await startTestServer()];
    servers.push(a, b);
    const sessionId = await a.createSession();
    const s = await a.join(sessionId, { url: [a.url, b.url], rejoinOnResumeFailure: true, data: 'deployed' });
    const lost = new Promise<SessionEvents['sessionReconnecting']>((r) => s.once('sessionReconnecting', r));
    const back = new Promise<SessionEvents['sessionReconnected']>((r) => s.once('sessionReconnected', r));
    const drained = a.server.drain(5000);
    expect((await lost).cause).toBe('serverDraining');
    const started = Date.now();
    // Two servers that share no state: b refuses the resume, the client joins there again.
    expect((await back).rejoined).toBe(true);
    expect(Date.now() - started).toBeLessThan(1000);
    expect((await b.api.listConnections(sessionId)).map((c) => c.data)).toEqual(['deployed']);
    const health = await fetch(`${a.url}/health`);
    expect(health.status).toBe(503);
    // The drained node's connection never moved (no cluster): it is reported as left behind.
    expect(await drained).toBe(1);
  }, 20_000);
});
