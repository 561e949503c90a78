import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pageSockets, startTestServer, testCodec, waitFor, type TestServer } from '@tether/testkit';
import { Session } from '@tether/client';

const TRANSPORT = {
  heartbeatIntervalMs: 150,
  heartbeatTimeoutMs: 600,
  reconnectWindowMs: 4000,
  ackDelayMs: 20,
};

describe('resume across a reload with a recovery key', () => {
  let t: TestServer;
  let sessionId: string;
  beforeEach(async () => {
    t = await startTestServer({ transport: TRANSPORT });
    sessionId = await t.createSession();
  });
  afterEach(() => t.close());

  it('a new page resumes the same connection: nothing lost, nothing twice, the others see only an interruption', async () => {
    const page = pageSockets();
    const token = await t.token(sessionId, 'publisher', 'alice');
    const alice = new Session({ url: t.url, sessionId, WebSocket: page.WebSocket, codec: testCodec() });
    await alice.connect(token);
    const bob = await t.join(sessionId, { data: 'bob' });
    await waitFor(() => alice.connections.length === 2, 'alice sees bob');
    const bobSaw: string[] = [];
    for (const name of ['connectionDestroyed', 'connectionReconnecting', 'connectionReconnected'] as const)
      bob.on(name, () => bobSaw.push(name));
    const bobGot: string[] = [];
    bob.on('signal', (e) => bobGot.push(`${e.from?.data}:${e.data}`));
    const aliceGot: string[] = [];
    alice.on('signal', (e) => aliceGot.push(`${e.from?.data}:${e.data}`));

    for (let i = 0; i < 3; i++) await bob.signal({ type: 'chat', data: `b${i}` });
    await waitFor(() => aliceGot.length === 3, 'the first page got the first signals');
    // Sent, not yet answered, when the page goes: the new page must deliver it, once.
    void alice.signal({ type: 'chat', data: 'a-last' }).catch(() => undefined);
    const key = alice.recoveryKey() as string;
    page.unload();
    await waitFor(() => bobSaw.includes('connectionReconnecting'), 'bob sees alice reconnecting');
    // The conversation goes on while the page reloads.
    for (let i = 3; i < 6; i++) await bob.signal({ type: 'chat', data: `b${i}` });

    const reloaded = new Session({ url: t.url, sessionId, codec: testCodec() });
    const reloadedGot: string[] = [];
    reloaded.on('signal', (e) => reloadedGot.push(`${e.from?.data}:${e.data}`));
    const created: string[] = [];
    reloaded.on('connectionCreated', (e) => created.push(e.connection.data));
    let recovered: boolean | undefined;
    reloaded.on('sessionConnected', (e) => (recovered = e.recovered));
    await reloaded.connect(token, { recoveryKey: key });

    expect(recovered).toBe(true);
    expect(reloaded.connection?.connectionId).toBe(alice.connection?.connectionId);
    expect(created).toEqual(['bob']);
    await waitFor(() => bobGot.includes('alice:a-last') && reloadedGot.length >= 3, 'both sides caught up');
    await waitFor(() => bobSaw.includes('connectionReconnected'), 'bob sees alice back');
    expect(bobGot.filter((s) => s.startsWith('alice:'))).toEqual(['alice:a-last']);
    // The new page gets exactly what the old one had not applied, in order.
    expect(reloadedGot.filter((s) => s.startsWith('bob:'))).toEqual(['bob:b3', 'bob:b4', 'bob:b5']);
    expect(bobSaw).not.toContain('connectionDestroyed');
    expect(bob.connections.map((c) => c.data).sort()).toEqual(['alice', 'bob']);
    reloaded.disconnect();
    alice.disconnect();
  });

  it('a key past its window is refused by the server and the page joins afresh', async () => {
    const page = pageSockets();
    const token = await t.token(sessionId, 'publisher', 'alice');
    const alice = new Session({ url: t.url, sessionId, WebSocket: page.WebSocket, codec: testCodec() });
    await alice.connect(token);
    const key = alice.recoveryKey() as string;
    const oldId = alice.connection?.connectionId;
    alice.disconnect(); // a leave: the connection is gone for good
    const again = new Session({ url: t.url, sessionId, codec: testCodec() });
    let recovered: boolean | undefined;
    again.on('sessionConnected', (e) => (recovered = e.recovered));
    await again.connect(token, { recoveryKey: key });
    expect(recovered).toBeUndefined();
    expect(again.connection?.connectionId).not.toBe(oldId);
    again.disconnect();
  });

  it('a key that is not one is a clear error, and one for another session too', async () => {
    const s = new Session({ url: t.url, sessionId, codec: testCodec() });
    const token = await t.token(sessionId);
    await expect(s.connect(token, { recoveryKey: 'nonsense' })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    const other = await t.createSession();
    const a = await t.join(other);
    const key = a.recoveryKey() as string;
    await expect(s.connect(token, { recoveryKey: key })).rejects.toThrow(/recovery key is for session/);
  });
});
