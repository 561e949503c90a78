import { afterEach, describe, expect, it } from 'vitest';
import { FaultProxy, hold, startTestServer, waitFor, type TestServer } from '@tether/testkit';

/**
 * The SDK paces its signals so that the server's own rate limit never refuses it, even when
 * the network bunches them: a path that stalls holds what was sent (as TCP does) and lets it
 * all through at once, and a reconnect flushes a queue that grew while away.
 */
describe('the SDK stays inside the server rate limit', () => {
  let t: TestServer;
  let proxy: FaultProxy;
  let sessionId: string;
  afterEach(async () => {
    await t.close();
    await proxy.close();
  });

  async function setup(transport: Record<string, number>) {
    t = await startTestServer({ transport });
    proxy = await FaultProxy.start({ target: { host: '127.0.0.1', port: t.server.port } });
    sessionId = await t.createSession();
  }

  async function flood(n: number, during: () => Promise<void>) {
    const a = await t.join(sessionId, { data: 'a', url: proxy.url });
    const codes: string[] = [];
    a.on('exception', (e) => codes.push(String(e.code)));
    const sends = Array.from({ length: n }, (_, i) =>
      a.signal({ type: 'n', data: String(i) }).then(
        () => 'ok',
        (err: { code: string }) => err.code,
      ),
    );
    await during();
    const outcomes = await Promise.all(sends);
    return { outcomes, codes, a };
  }

  it('400 back-to-back signals across a 2 s stall that holds and then releases them: none refused', async () => {
    await setup({
      heartbeatIntervalMs: 1000,
      heartbeatTimeoutMs: 6000,
      reconnectWindowMs: 30_000,
      ackDelayMs: 20,
    });
    const { outcomes, codes } = await flood(400, async () => {
      await hold(1500);
      proxy.blackhole();
      await hold(2000);
      proxy.restore();
    });
    expect(outcomes.filter((o) => o !== 'ok')).toEqual([]);
    expect(codes).not.toContain('RATE_LIMITED');
  }, 30_000);

  it('a queue that grew during a cut is flushed after the reconnect without a refusal', async () => {
    await setup({
      heartbeatIntervalMs: 150,
      heartbeatTimeoutMs: 600,
      reconnectWindowMs: 20_000,
      ackDelayMs: 20,
    });
    let reconnected = 0;
    const codes: string[] = [];
    const a = await t.join(sessionId, { data: 'b', url: proxy.url });
    a.on('sessionReconnected', () => reconnected++);
    a.on('exception', (e) => codes.push(String(e.code)));
    proxy.blackhole();
    await a.next('sessionReconnecting');
    const queued = Array.from({ length: 300 }, (_, i) =>
      a.signal({ type: 'n', data: String(i) }).then(
        () => 'ok',
        (err: { code: string }) => err.code,
      ),
    );
    await hold(3000);
    proxy.restore();
    const all = await Promise.all(queued);
    await waitFor(() => reconnected > 0, 'reconnected');
    expect(all.filter((o) => o !== 'ok')).toEqual([]);
    expect(codes).not.toContain('RATE_LIMITED');
  }, 60_000);
});
