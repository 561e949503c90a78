import { PROTOCOL_VERSION } from '@tether/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RawClient, type Frame } from './raw-client.js';
import { FakeClock, startTestServer, type TestServer, waitFor } from '@tether/testkit';

/**
 * Issue 10.1: nobody ever sees a connection its client did not confirm. A welcomed
 * connection stays unseen until its client's first frame after the welcome (or a resume with
 * the welcome's secret); lost before that, it ends without a word to anyone. Raw sockets over
 * loopback; every server timer on a fake clock.
 */

const WINDOW_MS = 30_000;
const PRESENCE = [
  'connectionCreated',
  'connectionReconnecting',
  'connectionReconnected',
  'connectionDestroyed',
];

describe('a connection is seen only once its client confirmed the welcome', () => {
  let t: TestServer;
  let clock: FakeClock;
  let sessionId: string;
  let observer: RawClient;
  let observerId: string;
  let observerSeq = 0;
  const raws: RawClient[] = [];

  beforeEach(async () => {
    clock = new FakeClock(Date.now());
    t = await startTestServer(
      {
        transport: {
          heartbeatIntervalMs: 1000,
          heartbeatTimeoutMs: 4000,
          reconnectWindowMs: WINDOW_MS,
          ackDelayMs: 50,
        },
      },
      clock,
    );
    sessionId = await t.createSession();
    const joined = await join('observer');
    observer = joined.client;
    observerId = joined.welcome.connection.connectionId;
    observerSeq = 0;
  });
  afterEach(async () => {
    for (const r of raws.splice(0)) r.close();
    await t.close();
  });

  async function join(data: string, confirm = true) {
    const joined = await RawClient.join(t.url, sessionId, await t.token(sessionId, 'publisher', data), {
      confirm,
    });
    raws.push(joined.client);
    return { ...joined, id: joined.welcome.connection.connectionId as string };
  }

  /** The observer hears from the server after everything sent before: a signal to itself, and its reply. */
  async function barrier(): Promise<void> {
    const seq = ++observerSeq;
    observer.send({ t: 'signal', seq, type: 'barrier', data: '', to: observerId });
    await observer.reply(seq);
  }

  /** Moves the server clock on in heartbeat-sized steps, the observer speaking at each so it stays attached. */
  async function pass(ms: number): Promise<void> {
    for (let left = ms; left > 0; left -= 1000) {
      await barrier();
      clock.advance(Math.min(1000, left));
    }
    await barrier();
  }

  /** Presence frames the observer got about `id`. */
  const presenceOf = (id: string): Frame[] =>
    observer.frames.filter(
      (f) => PRESENCE.includes(f.t) && (f.connectionId === id || f.connection?.connectionId === id),
    );
  const listed = async () => (await t.api.listConnections(sessionId)).map((c) => c.data);
  /** Connections by state, as the server holds them. */
  const sizes = () => {
    const all = t.server.hub.room(sessionId)?.members() ?? [];
    const count = (match: (s: string) => boolean) => all.filter((c) => match(c.state)).length;
    return {
      pending: count((s) => s === 'pending'),
      connected: count((s) => s === 'connected'),
      interrupted: count((s) => s === 'interrupted' || s === 'pendingInterrupted'),
    };
  };
  const metrics = async () => (await fetch(`${t.url}/metrics`)).text();

  it('a socket that sends connect and drops before any answer is never seen, not even when its window passes', async () => {
    const ghost = await RawClient.open(t.url);
    raws.push(ghost);
    ghost.send({
      t: 'connect',
      v: PROTOCOL_VERSION,
      sessionId,
      token: await t.token(sessionId, 'publisher', 'ghost'),
    });
    ghost.close();
    // Either the token check finished after the close (no connection is made at all), or the
    // welcome went to a socket that was closing (an unconfirmed connection waits, unseen).
    for (let i = 0; ; i++) {
      if (
        sizes().interrupted === 1 ||
        /tether_unconfirmed_discarded_total\{outcome="socketClosed"\} 1/.test(await metrics())
      )
        break;
      if (i > 500) throw new Error('the server never handled the connect');
      await new Promise((r) => setTimeout(r, 10));
    }
    await barrier();
    expect(await listed()).toEqual(['observer']);
    await pass(WINDOW_MS + 1000);
    expect(sizes()).toMatchObject({ pending: 0, interrupted: 0, connected: 1 });
    expect(observer.frames.filter((f) => PRESENCE.includes(f.t))).toEqual([]);
    expect(await listed()).toEqual(['observer']);
    expect(await metrics()).toMatch(
      /tether_unconfirmed_discarded_total\{outcome="(socketClosed|networkDisconnected)"\} 1/,
    );
  });

  it('a connection whose welcome was written but never confirmed is unseen while it waits and ends unseen: no connectionCreated, connectionReconnecting or connectionDestroyed', async () => {
    const { client, id } = await join('unconfirmed', false);
    expect(sizes().pending).toBe(1);
    client.close();
    await waitFor(() => sizes().interrupted === 1, 'the unconfirmed connection to lose its transport');
    await barrier();
    expect(presenceOf(id)).toEqual([]);
    expect(await listed()).toEqual(['observer']);
    await pass(WINDOW_MS + 1000);
    expect(sizes().interrupted).toBe(0);
    expect(presenceOf(id)).toEqual([]);
    expect(await metrics()).toMatch(/tether_unconfirmed_discarded_total\{outcome="networkDisconnected"\} 1/);
  });

  it('a client whose first welcome was lost and who joins again is seen exactly once, and the lost attempt never', async () => {
    const first = await join('retrier', false);
    // Its network drops mid-handshake: the server's socket stays open but hears nothing more.
    first.client.pauseReading();
    await pass(5000); // past the heartbeat timeout: the first attempt lost its transport, unseen
    expect(sizes().interrupted).toBe(1);
    const second = await join('retrier');
    await observer.next(
      (f) => f.t === 'connectionCreated' && f.connection.connectionId === second.id,
      'the retry seen',
    );
    await pass(WINDOW_MS + 1000);
    const created = observer.ofType('connectionCreated').filter((f) => f.connection.data === 'retrier');
    expect(created.map((f) => f.connection.connectionId)).toEqual([second.id]);
    expect(presenceOf(first.id)).toEqual([]);
    expect(presenceOf(second.id).map((f) => f.t)).toEqual(['connectionCreated']);
    expect(await listed()).toEqual(['observer', 'retrier']);
    expect(sizes()).toMatchObject({ pending: 0, interrupted: 0, connected: 2 });
  });

  it('an unconfirmed connection receives the session’s events, is in nobody’s welcome, and is seen at its first frame', async () => {
    const pending = await join('pending', false);
    observer.send({ t: 'signal', seq: ++observerSeq, type: 'news', data: 'while-pending' });
    await pending.client.next((f) => f.t === 'signal' && f.data === 'while-pending', 'the broadcast');
    const third = await join('third');
    expect(third.welcome.connections.map((c: Frame) => c.data)).toEqual(['observer']);
    await barrier();
    expect(presenceOf(pending.id)).toEqual([]);
    expect((await listed()).sort()).toEqual(['observer', 'third']);

    pending.client.send({ t: 'hb', ack: 1, seq: 0 });
    await observer.next(
      (f) => f.t === 'connectionCreated' && f.connection.connectionId === pending.id,
      'seen',
    );
    await third.client.next(
      (f) => f.t === 'connectionCreated' && f.connection.connectionId === pending.id,
      'seen',
    );
    expect((await listed()).sort()).toEqual(['observer', 'pending', 'third']);
    pending.client.send({ t: 'signal', seq: 1, type: 'chat', data: 'hello' });
    expect(await pending.client.reply(1)).toMatchObject({ ok: true });
  });

  it('a client that got its welcome but lost the socket before confirming resumes with the secret: it is seen then, created and never reconnecting', async () => {
    const { client, welcome, id } = await join('resumer', false);
    client.close();
    await waitFor(() => sizes().interrupted === 1, 'transport lost');
    await pass(3000);
    expect(presenceOf(id)).toEqual([]);
    const back = await RawClient.open(t.url);
    raws.push(back);
    back.send({
      t: 'resume',
      v: PROTOCOL_VERSION,
      sessionId,
      connectionId: id,
      secret: welcome.secret,
      ack: 0,
    });
    expect(await back.next((f) => f.t === 'resumed' || f.t === 'error', 'resumed')).toMatchObject({
      t: 'resumed',
    });
    await observer.next(
      (f) => f.t === 'connectionCreated' && f.connection.connectionId === id,
      'seen on resume',
    );
    await barrier();
    expect(presenceOf(id).map((f) => f.t)).toEqual(['connectionCreated']);
    expect((await listed()).sort()).toEqual(['observer', 'resumer']);
  });

  it('a leave before confirming ends the connection with its bye and without a word to the others', async () => {
    const { client, id } = await join('leaver', false);
    client.send({ t: 'leave' });
    expect((await client.waitClosed()).code).toBe(4604);
    expect(client.ofType('bye')).toEqual([
      expect.objectContaining({ reason: 'clientDisconnected', code: 'LEFT' }),
    ]);
    await barrier();
    expect(presenceOf(id)).toEqual([]);
    expect(sizes()).toMatchObject({ pending: 0, interrupted: 0 });
  });
});
