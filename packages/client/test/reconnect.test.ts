import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FaultProxy, hold, startTestServer, waitFor, type TestServer } from '@tether/testkit';
import { BackoffPolicy, SESSION_EVENT_NAMES, TetherError, type Session } from '../src/index.js';

/** Short timers so faults are noticed in well under a second; the defaults are 1 s / 4 s / 30 s. */
const TRANSPORT = {
  heartbeatIntervalMs: 150,
  heartbeatTimeoutMs: 600,
  reconnectWindowMs: 4000,
  ackDelayMs: 20,
};

function events(session: Session): string[] {
  const log: string[] = [];
  const names = SESSION_EVENT_NAMES.filter(
    (n) =>
      n !== 'sessionConnected' &&
      n !== 'signal' &&
      n !== 'exception' &&
      n !== 'roomStateUpdate' &&
      n !== 'streamPropertyChanged',
  );
  for (const name of names) session.on(name, (e: any) => log.push(e.reason ? `${name}:${e.reason}` : name));
  return log;
}

function signals(session: Session): string[] {
  const got: string[] = [];
  session.on('signal', (e) => got.push(`${e.from?.data ?? 'server'}:${e.data}`));
  return got;
}

describe('automatic reconnection through a faulty network', () => {
  let t: TestServer;
  let proxy: FaultProxy;
  let sessionId: string;

  beforeEach(async () => {
    t = await startTestServer({ transport: TRANSPORT });
    proxy = await FaultProxy.start({ target: { host: '127.0.0.1', port: t.server.port } });
    sessionId = await t.createSession();
  });
  afterEach(async () => {
    await t.close();
    await proxy.close();
  });

  it('keeps connection, streams and every signal exactly once in order across a 1.5 s blackhole', async () => {
    const a = await t.join(sessionId, { data: 'a', url: proxy.url });
    const b = await t.join(sessionId, { data: 'b' });
    const stream = await a.publish({ name: 'cam' });
    await waitFor(() => b.streams.length === 1, 'b sees the stream');
    const aEvents = events(a);
    const bEvents = events(b);
    const aGot = signals(a);
    const bGot = signals(b);
    const idBefore = a.connection!.connectionId;

    proxy.blackhole();
    const cutAt = Date.now();
    await a.next('sessionReconnecting');
    const detectedMs = Date.now() - cutAt;
    expect(detectedMs).toBeLessThan(TRANSPORT.heartbeatTimeoutMs + 300);
    await waitFor(() => bEvents.includes('connectionReconnecting'), 'b sees a reconnecting');
    expect(b.connections.find((c) => c.connectionId === idBefore)?.reconnecting).toBe(true);

    // Signals both ways while the path is down: b's are sent now, a's are queued.
    const bSent = Array.from({ length: 5 }, (_, i) => b.signal({ type: 'chat', data: `b${i}` }));
    const aSent = Array.from({ length: 3 }, (_, i) => a.signal({ type: 'chat', data: `a${i}` }));
    await Promise.all(bSent);
    await hold(1500 - (Date.now() - cutAt));
    proxy.restore();

    await Promise.all(aSent);
    await waitFor(() => aGot.length === 8 && bGot.length === 8, 'all signals delivered');
    const bSeq = ['b:b0', 'b:b1', 'b:b2', 'b:b3', 'b:b4'];
    const aSeq = ['a:a0', 'a:a1', 'a:a2'];
    // Per sender, exactly once and in order, on both sides.
    expect(aGot.filter((s) => s.startsWith('b:'))).toEqual(bSeq);
    expect(aGot.filter((s) => s.startsWith('a:'))).toEqual(aSeq);
    expect(bGot.filter((s) => s.startsWith('b:'))).toEqual(bSeq);
    expect(bGot.filter((s) => s.startsWith('a:'))).toEqual(aSeq);

    expect(a.connection!.connectionId).toBe(idBefore);
    expect(a.state).toBe('connected');
    expect(a.streams.map((s) => s.streamId)).toEqual([stream.streamId]);
    expect(b.streams.map((s) => s.streamId)).toEqual([stream.streamId]);
    expect(aEvents).toEqual(['sessionReconnecting', 'sessionReconnected']);
    expect(bEvents).toEqual(['connectionReconnecting', 'connectionReconnected']);
    const listed = await t.api.listConnections(sessionId);
    expect(listed.find((c) => c.connectionId === idBefore)?.reconnecting).toBe(false);
  });

  it('notices a reset at once and resumes without waiting for the heartbeat', async () => {
    const a = await t.join(sessionId, { data: 'a', url: proxy.url });
    const cutAt = Date.now();
    proxy.reset();
    await a.next('sessionReconnecting');
    await a.next('sessionReconnected');
    expect(Date.now() - cutAt).toBeLessThan(TRANSPORT.heartbeatTimeoutMs);
  });

  it('resumes over a slow path even when its retries come faster than its handshake', async () => {
    proxy.delay(400); // each way: opening a WebSocket takes ~800 ms, a resume ~1.6 s
    // Retries every ~100–260 ms: each attempt would be dropped, for a newer one, long before its answer.
    const a = await t.join(sessionId, {
      data: 'a',
      url: proxy.url,
      reconnectPolicy: new BackoffPolicy({ initialDelayMs: 100, maxDelayMs: 200 }),
    });
    const ended = a.next('sessionDisconnected').then(() => 'ended');
    const id = a.connection!.connectionId;
    proxy.reset();
    await a.next('sessionReconnecting');
    expect(await Promise.race([a.next('sessionReconnected').then(() => 'resumed'), ended])).toBe('resumed');
    expect(a.connection!.connectionId).toBe(id);
  });

  it('resumes over a new path when the old one dies for good (network switch)', async () => {
    const a = await t.join(sessionId, { data: 'a', url: proxy.url });
    const b = await t.join(sessionId, { data: 'b' });
    const aGot = signals(a);
    const id = a.connection!.connectionId;
    proxy.switchPath();
    const switchedAt = Date.now();
    await b.signal({ type: 'chat', data: 'while-switching' });
    await a.next('sessionReconnected');
    const recoveredMs = Date.now() - switchedAt;
    expect(recoveredMs).toBeLessThan(TRANSPORT.heartbeatTimeoutMs + 500);
    expect(a.connection!.connectionId).toBe(id);
    await waitFor(() => aGot.length === 1, 'the missed signal');
    expect(aGot).toEqual(['b:while-switching']);
  });

  it('rejects at once with RECONNECTING when retryAfterReconnect is false, and sends nothing', async () => {
    const a = await t.join(sessionId, { data: 'a', url: proxy.url });
    const b = await t.join(sessionId, { data: 'b' });
    const bGot = signals(b);
    proxy.blackhole();
    await a.next('sessionReconnecting');
    const err = await a
      .signal({ type: 'chat', data: 'no-retry' }, { retryAfterReconnect: false })
      .catch((e) => e);
    expect(err).toBeInstanceOf(TetherError);
    expect(err.code).toBe('RECONNECTING');
    const marker = a.signal({ type: 'chat', data: 'marker' });
    proxy.restore();
    await marker;
    await waitFor(() => bGot.length === 1, 'the queued marker');
    expect(bGot).toEqual(['a:marker']);
  });

  it('gives up after the reconnect window: networkDisconnected for it and for the others', async () => {
    const a = await t.join(sessionId, { data: 'a', url: proxy.url });
    const b = await t.join(sessionId, { data: 'b' });
    await a.publish({ name: 'cam' });
    await waitFor(() => b.streams.length === 1, 'stream seen');
    const bEvents = events(b);
    proxy.blackhole();
    const cutAt = Date.now();
    await a.next('sessionReconnecting');
    const pending = a.signal({ type: 'chat', data: 'never' });
    const end = await a.next('sessionDisconnected');
    expect(end.reason).toBe('networkDisconnected');
    expect(Date.now() - cutAt).toBeGreaterThanOrEqual(TRANSPORT.reconnectWindowMs);
    expect(a.state).toBe('disconnected');
    await expect(pending).rejects.toMatchObject({ code: 'NETWORK_DISCONNECTED' });
    await waitFor(() => bEvents.includes('connectionDestroyed:networkDisconnected'), 'b told');
    expect(bEvents).toEqual([
      'connectionReconnecting',
      'streamDestroyed:networkDisconnected',
      'connectionDestroyed:networkDisconnected',
    ]);
    expect(b.streams).toEqual([]);
  });

  it('can connect again after a disconnect and signal on the new connection', async () => {
    const a = await t.join(sessionId, { data: 'a' });
    await a.signal({ type: 'chat', data: 'first' });
    a.disconnect();
    await a.connect(await t.token(sessionId));
    await a.signal({ type: 'chat', data: 'second' });
    expect(a.state).toBe('connected');
  });

  it('resumes after a cut so short the heartbeat never notices: lost frames are found by position', async () => {
    const a = await t.join(sessionId, { data: 'a', url: proxy.url });
    const b = await t.join(sessionId, { data: 'b' });
    const aGot = signals(a);
    const bGot = signals(b);
    const aEvents = events(a);
    // A lossy path on purpose: a holding blackhole (like TCP) loses nothing, leaving no gap to find.
    proxy.blackhole({ discard: true });
    const lostUp = a.signal({ type: 'chat', data: 'up' });
    await b.signal({ type: 'chat', data: 'down' });
    await hold(50);
    proxy.restore();
    await lostUp;
    await waitFor(() => aGot.length === 2 && bGot.length === 2, 'both signals both ways');
    expect(aGot.sort()).toEqual(['a:up', 'b:down']);
    expect(bGot.sort()).toEqual(['a:up', 'b:down']);
    // The gap was found (by whichever side saw it first) and healed by a resume.
    expect(aEvents.filter((e) => e.startsWith('session'))).toEqual([
      'sessionReconnecting',
      'sessionReconnected',
    ]);
  });

  it('stops reconnecting when disconnect() is called during reconnection', async () => {
    const a = await t.join(sessionId, { data: 'a', url: proxy.url });
    proxy.blackhole();
    await a.next('sessionReconnecting');
    const queued = a.signal({ type: 'chat', data: 'x' });
    a.disconnect();
    expect(a.state).toBe('disconnected');
    await expect(queued).rejects.toMatchObject({ code: 'DISCONNECTED' });
    proxy.restore();
    const before = proxy.connectionCount;
    await hold(TRANSPORT.heartbeatTimeoutMs);
    expect(proxy.connectionCount).toBeLessThanOrEqual(before);
    expect(a.state).toBe('disconnected');
  });

  it('bounds the client queue: past its limit a send rejects with CLIENT_QUEUE_FULL', async () => {
    const a = await t.join(sessionId, { data: 'a', url: proxy.url, queue: { maxOps: 5 } });
    proxy.blackhole();
    await a.next('sessionReconnecting');
    const queued = Array.from({ length: 5 }, (_, i) => a.signal({ type: 'chat', data: String(i) }));
    await expect(a.signal({ type: 'chat', data: 'sixth' })).rejects.toMatchObject({
      code: 'CLIENT_QUEUE_FULL',
    });
    proxy.restore();
    await Promise.all(queued);
  });

  it('refuses a resume after a server restart; the client ends with resumeFailed', async () => {
    const a = await t.join(sessionId, { data: 'a', url: proxy.url });
    const other = await startTestServer({ transport: TRANSPORT });
    try {
      proxy.retarget({ host: '127.0.0.1', port: other.server.port });
      proxy.reset();
      const end = await a.next('sessionDisconnected');
      expect(end).toEqual({ reason: 'resumeFailed', code: 'RESUME_UNKNOWN_CONNECTION' });
    } finally {
      await other.close();
    }
  });

  it('joins afresh with the same token when the application opted in, and says so', async () => {
    const a = await t.join(sessionId, { data: 'a', url: proxy.url, rejoinOnResumeFailure: true });
    const oldId = a.connection!.connectionId;
    const other = await startTestServer({ transport: TRANSPORT });
    try {
      proxy.retarget({ host: '127.0.0.1', port: other.server.port });
      proxy.reset();
      const back = await a.next('sessionReconnected');
      expect(back.rejoined).toBe(true);
      expect(back.connection.connectionId).not.toBe(oldId);
      expect(a.state).toBe('connected');
      // The fresh connection numbers its operations from 1 again.
      await a.signal({ type: 'chat', data: 'after-rejoin' });
    } finally {
      a.disconnect();
      await other.close();
    }
  });

  it('ends a client whose server outbox overflowed while away with bufferOverflow, and tells the others', async () => {
    await t.close();
    t = await startTestServer({ transport: TRANSPORT, outbox: { maxFrames: 20 } });
    proxy.retarget({ host: '127.0.0.1', port: t.server.port });
    sessionId = await t.createSession();
    const a = await t.join(sessionId, { data: 'a', url: proxy.url });
    const b = await t.join(sessionId, { data: 'b' });
    const bEvents = events(b);
    proxy.blackhole();
    await a.next('sessionReconnecting');
    for (let i = 0; i < 25; i++) await b.signal({ type: 'chat', data: String(i) });
    await waitFor(() => bEvents.includes('connectionDestroyed:bufferOverflow'), 'b told of the overflow');
    proxy.restore();
    const end = await a.next('sessionDisconnected');
    expect(end.reason).toBe('bufferOverflow');
  });
});
