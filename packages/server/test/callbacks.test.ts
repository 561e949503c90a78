import { afterEach, describe, expect, it } from 'vitest';
import type { CallbackPayload } from '@tether/protocol';
import {
  CallbackReceiver,
  FaultProxy,
  TEST_PROJECT,
  startTestServer,
  waitFor,
  type TestServer,
} from '@tether/testkit';
import type { ServerOptions } from '../src/index.js';

/**
 * Callbacks end to end: a real `node:http` receiver on loopback, a real test server (memory or,
 * in the redis project, the Redis engine), real SDK clients; every body checked with the
 * server SDK's verifyCallback.
 */
const TRANSPORT = {
  heartbeatIntervalMs: 150,
  heartbeatTimeoutMs: 600,
  reconnectWindowMs: 1500,
  ackDelayMs: 20,
};

/** `event:data[:reason]` of each callback, the way a test reads a sequence. */
const line = (p: CallbackPayload) => {
  if (p.event === 'archive') return `archive:${p.archive.status}`;
  const who =
    p.event.startsWith('stream') && 'stream' in p
      ? `${p.connection.data}/${p.stream.name}`
      : p.connection.data;
  return 'reason' in p ? `${p.event}:${who}:${p.reason}` : `${p.event}:${who}`;
};

describe('callbacks to an application back end', () => {
  let t: TestServer | undefined;
  let receiver: CallbackReceiver | undefined;
  let proxy: FaultProxy | undefined;

  afterEach(async () => {
    await t?.close();
    await proxy?.close();
    await receiver?.close();
    t = receiver = proxy = undefined;
  });

  const start = (callbacks: Partial<NonNullable<ServerOptions['callbacks']>> & { url: string }) => {
    const { url, ...rest } = callbacks;
    return startTestServer({
      transport: TRANSPORT,
      callbacks: { targets: [{ url }], flushTimeoutMs: 500, ...rest },
    });
  };
  const delivered = () => receiver!.delivered(TEST_PROJECT.apiSecret).map(line);

  it('sends connectionCreated, streamCreated, streamDestroyed and connectionDestroyed (clientDisconnected, forceDisconnected), each once, signed', async () => {
    receiver = await CallbackReceiver.start();
    t = await start({ url: receiver.url });
    const sessionId = await t.createSession({ mediaMode: 'relayed' });
    const a = await t.join(sessionId, { data: 'a' });
    const b = await t.join(sessionId, { data: 'b' });
    await waitFor(() => a.connections.length === 2, 'a sees b');
    const stream = await a.publish({ name: 'cam', hasAudio: false });
    await waitFor(() => b.streams.length === 1, 'b sees the stream');
    await a.unpublish(stream.streamId);
    a.disconnect();
    await waitFor(() => b.connections.length === 1, 'b sees a leave');
    await t.api.forceDisconnect(sessionId, b.connection!.connectionId);
    await waitFor(() => delivered().length === 6, 'six callbacks');
    expect(delivered()).toEqual([
      'connectionCreated:a',
      'connectionCreated:b',
      'streamCreated:a/cam',
      'streamDestroyed:a/cam:clientDisconnected',
      'connectionDestroyed:a:clientDisconnected',
      'connectionDestroyed:b:forceDisconnected',
    ]);
    const all = receiver.delivered(TEST_PROJECT.apiSecret);
    expect(new Set(all.map((p) => p.id)).size).toBe(6);
    for (const p of all) {
      expect(p).toMatchObject({ apiKey: TEST_PROJECT.apiKey, sessionId });
      expect(Math.abs(p.timestamp - Date.now())).toBeLessThan(10_000);
    }
    expect(all[2]).toMatchObject({
      stream: { id: stream.streamId, name: 'cam', hasAudio: false, hasVideo: true, videoType: 'camera' },
      connection: { id: all[0]!.event === 'connectionCreated' ? all[0]!.connection.id : '', data: 'a' },
    });
    // A wrong secret does not verify them.
    expect(() => receiver!.verify(receiver!.received[0]!, 'x'.repeat(20))).toThrow(
      /CALLBACK_SIGNATURE_INVALID/,
    );
    // Nothing was sent twice.
    expect(receiver.received).toHaveLength(6);
  });

  it('a server shutting down reports its connections ended (serverShutdown) before it stops', async () => {
    receiver = await CallbackReceiver.start();
    t = await start({ url: receiver.url });
    const sessionId = await t.createSession();
    await t.join(sessionId, { data: 'a' });
    await waitFor(() => delivered().length === 1, 'created');
    await t.server.close();
    expect(delivered()).toEqual(['connectionCreated:a', 'connectionDestroyed:a:serverShutdown']);
  });

  it('a force-disconnect asked twice at once ends the connection once: one callback', async () => {
    receiver = await CallbackReceiver.start();
    t = await start({ url: receiver.url });
    const sessionId = await t.createSession();
    const a = await t.join(sessionId, { data: 'a' });
    await waitFor(() => delivered().length === 1, 'created');
    const id = a.connection!.connectionId;
    await Promise.allSettled([t.api.forceDisconnect(sessionId, id), t.api.forceDisconnect(sessionId, id)]);
    await waitFor(() => delivered().length === 2, 'destroyed');
    // Another event after it: had a second end been queued, it would have arrived before this one.
    await t.join(sessionId, { data: 'b' });
    await waitFor(() => delivered().length === 3, 'b created');
    expect(delivered()).toEqual([
      'connectionCreated:a',
      'connectionDestroyed:a:forceDisconnected',
      'connectionCreated:b',
    ]);
  });

  it('a client whose network dies: no callback while it is away, networkDisconnected for its stream and itself at the window end', async () => {
    receiver = await CallbackReceiver.start();
    t = await start({ url: receiver.url });
    proxy = await FaultProxy.start({ target: { host: '127.0.0.1', port: t.server.port } });
    const sessionId = await t.createSession({ mediaMode: 'relayed' });
    const a = await t.join(sessionId, { data: 'a', url: proxy.url });
    await a.publish({ name: 'cam' });
    await waitFor(() => delivered().length === 2, 'created callbacks');
    proxy.blackhole();
    const cutAt = Date.now();
    await a.next('sessionReconnecting');
    expect(delivered()).toHaveLength(2); // an interruption is not a callback
    await a.next('sessionDisconnected');
    await waitFor(() => delivered().length === 4, 'destroyed callbacks');
    expect(delivered()).toEqual([
      'connectionCreated:a',
      'streamCreated:a/cam',
      'streamDestroyed:a/cam:networkDisconnected',
      'connectionDestroyed:a:networkDisconnected',
    ]);
    const destroyedAt = receiver.delivered(TEST_PROJECT.apiSecret)[3]!.timestamp;
    expect(destroyedAt - cutAt).toBeGreaterThanOrEqual(TRANSPORT.reconnectWindowMs);
  });

  it('a receiver answering 500 twice gets the same callback again after growing gaps, then it is delivered', async () => {
    receiver = await CallbackReceiver.start({ answer: (n) => (n <= 2 ? 500 : 200) });
    t = await start({ url: receiver.url, retry: { initialDelayMs: 200, jitter: 0 } });
    const sessionId = await t.createSession();
    await t.join(sessionId, { data: 'a' });
    await waitFor(() => receiver!.received.length === 3, 'three attempts');
    const [first, second, third] = receiver.received;
    expect(new Set(receiver.received.map((r) => r.headers['tether-callback-id'])).size).toBe(1);
    expect(receiver.received.map((r) => r.status)).toEqual([500, 500, 200]);
    const gaps = [second!.at - first!.at, third!.at - second!.at];
    expect(gaps[0]).toBeGreaterThanOrEqual(190);
    expect(gaps[1]).toBeGreaterThanOrEqual(390);
    expect(gaps[1]).toBeGreaterThan(gaps[0]!);
    // Each attempt is signed on its own and verifies.
    for (const r of receiver.received) receiver.verify(r, TEST_PROJECT.apiSecret);
    expect(delivered()).toEqual(['connectionCreated:a']);
    // The receiver records a request before its answer reaches the server.
    await waitFor(() => t!.server.callbacks.sizes().queued === 0, 'the queue empty');
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toMatch(/tether_callback_attempts_failed_total\{outcome="retry"\} 2\b/);
    expect(metrics).toMatch(/tether_callbacks_delivered_total 1\b/);
  });

  it('a receiver that does not answer within the timeout gets the callback again', async () => {
    receiver = await CallbackReceiver.start({ answer: (n) => (n === 1 ? 'hang' : 204) });
    t = await start({ url: receiver.url, retry: { timeoutMs: 300, initialDelayMs: 100, jitter: 0 } });
    const sessionId = await t.createSession();
    await t.join(sessionId, { data: 'a' });
    await waitFor(() => delivered().length === 1, 'delivered on the second attempt');
    const [first, second] = receiver.received;
    expect(receiver.received.map((r) => r.status)).toEqual([0, 204]);
    expect(second!.headers['tether-callback-id']).toBe(first!.headers['tether-callback-id']);
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(390); // the 300 ms timeout, then 100 ms
  });

  it('a receiver that refuses a callback (4xx) gets it once: not retried, counted as rejected', async () => {
    receiver = await CallbackReceiver.start({ answer: () => 401 });
    t = await start({ url: receiver.url, retry: { initialDelayMs: 50, jitter: 0 } });
    const sessionId = await t.createSession();
    await t.join(sessionId, { data: 'a' });
    await waitFor(() => receiver!.received.length === 1, 'the attempt');
    // Out of the queue: given up, no retry pending.
    await waitFor(() => t!.server.callbacks.sizes().queued === 0, 'given up');
    expect(receiver.received.map((r) => r.status)).toEqual([401]);
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toMatch(/tether_callbacks_dropped_total\{reason="rejected"\} 1\b/);
  });

  it('a receiver that is down: the bounded queue drops the oldest waiting callbacks, counted; the rest arrive when it is back', async () => {
    const port = await CallbackReceiver.freePort();
    t = await start({
      url: `http://127.0.0.1:${port}/callbacks`,
      queue: { projectEvents: 3 },
      retry: { initialDelayMs: 50, maxDelayMs: 100, maxAttempts: 1000 },
    });
    const sessionId = await t.createSession();
    for (let i = 0; i < 6; i++) {
      await t.join(sessionId, { data: `c${i}` });
      // One at a time: each is seen (connectionCreated) before the next joins.
      await waitFor(() => t!.server.hub.sizes().connected === i + 1, `c${i} confirmed`);
    }
    await waitFor(
      async () =>
        /tether_callbacks_dropped_total\{reason="projectQueueFull"\} 3\b/.test(
          await (await fetch(`${t!.url}/metrics`)).text(),
        ),
      'three dropped',
    );
    expect(t.server.callbacks.sizes().queued).toBe(3);
    receiver = await CallbackReceiver.start({ port });
    await waitFor(() => delivered().length === 3, 'the three kept');
    // The one being retried when the queue filled, then the newest: c1..c3 were dropped.
    expect(delivered()).toEqual(['connectionCreated:c0', 'connectionCreated:c4', 'connectionCreated:c5']);
    // The receiver records a request before its answer reaches the server.
    await waitFor(() => t!.server.callbacks.sizes().queued === 0, 'the queue empty');
    expect(t.server.callbacks.sizes()).toEqual({ queued: 0, bytes: 0 });
  });

  it('emit() sends any other payload (an archive status) in the same queue, validated', async () => {
    receiver = await CallbackReceiver.start();
    t = await start({ url: receiver.url });
    const sessionId = await t.createSession();
    expect(
      t.server.callbacks.emit({
        id: 'archive-cb-1',
        event: 'archive',
        apiKey: TEST_PROJECT.apiKey,
        sessionId,
        timestamp: Date.now(),
        archive: {
          id: 'ar-1',
          name: 'weekly',
          status: 'available',
          createdAt: Date.now() - 5000,
          duration: 5,
          size: 1234,
        },
      }),
    ).toBe(true);
    await waitFor(() => delivered().length === 1, 'archive callback');
    expect(receiver.delivered(TEST_PROJECT.apiSecret)[0]).toMatchObject({
      event: 'archive',
      archive: { status: 'available', size: 1234 },
    });
  });
});
