import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { FakeClock, startTestServer, waitFor, type TestServer } from '@tether/testkit';

/** A raw protocol client: sends frames, records frames and the close code. */
async function raw(url: string) {
  const ws = new WebSocket(`${url.replace('http', 'ws')}/v1/ws`);
  const frames: any[] = [];
  let closeCode: number | undefined;
  ws.on('message', (d) => frames.push(JSON.parse(d.toString())));
  ws.on('close', (code) => (closeCode = code));
  await new Promise((r, j) => ws.once('open', r).once('error', j));
  return {
    ws,
    frames,
    send: (f: object) => ws.send(JSON.stringify(f)),
    closeCode: () => closeCode,
    next: async (t: string) => {
      await waitFor(() => frames.some((f) => f.t === t), `a ${t} frame`);
      return frames.find((f) => f.t === t);
    },
  };
}

describe('resume on the server', () => {
  let t: TestServer;
  let clock: FakeClock;
  let sessionId: string;

  beforeEach(async () => {
    clock = new FakeClock(Date.now());
    t = await startTestServer(
      {
        transport: {
          heartbeatIntervalMs: 1000,
          heartbeatTimeoutMs: 4000,
          reconnectWindowMs: 30_000,
          ackDelayMs: 50,
        },
      },
      clock,
    );
    sessionId = await t.createSession();
  });
  afterEach(async () => t.close());

  async function joined() {
    const c = await raw(t.url);
    c.send({ t: 'connect', v: 1, sessionId, token: await t.token(sessionId, 'publisher', 'raw') });
    const welcome = await c.next('welcome');
    c.send({ t: 'ack', ack: 0 }); // confirms the welcome: from now on the others see this connection
    return { c, welcome };
  }

  it('refuses a wrong secret with RESUME_BAD_SECRET and keeps the connection for its owner', async () => {
    const { c, welcome } = await joined();
    c.ws.terminate();
    const thief = await raw(t.url);
    thief.send({
      t: 'resume',
      v: 1,
      sessionId,
      connectionId: welcome.connection.connectionId,
      secret: 'not-the-secret',
      ack: 0,
    });
    expect((await thief.next('error')).code).toBe('RESUME_BAD_SECRET');
    await waitFor(() => thief.closeCode() === 4401, 'close 4401');
    const owner = await raw(t.url);
    owner.send({
      t: 'resume',
      v: 1,
      sessionId,
      connectionId: welcome.connection.connectionId,
      secret: welcome.secret,
      ack: 0,
    });
    expect((await owner.next('resumed')).ack).toBe(0);
  });

  it('refuses a resume after the window with RESUME_WINDOW_EXPIRED, and tells the others networkDisconnected', async () => {
    const { c, welcome } = await joined();
    const other = await joined();
    c.ws.terminate();
    await waitFor(() => other.c.frames.some((f) => f.t === 'connectionReconnecting'), 'reconnecting');
    // Advance the window in heartbeat-sized steps, the other client beating so it stays alive.
    // (A signal to itself is the barrier: its reply proves the server has heard from it.)
    for (let i = 1; i <= 30; i++) {
      other.c.send({
        t: 'signal',
        seq: i,
        type: 'tick',
        data: '',
        to: other.welcome.connection.connectionId,
      });
      await waitFor(() => other.c.frames.some((f) => f.t === 'reply' && f.re === i), `reply ${i}`);
      clock.advance(1000);
    }
    await waitFor(() => other.c.frames.some((f) => f.t === 'connectionDestroyed'), 'destroyed');
    expect(other.c.frames.find((f) => f.t === 'connectionDestroyed').reason).toBe('networkDisconnected');
    const late = await raw(t.url);
    late.send({
      t: 'resume',
      v: 1,
      sessionId,
      connectionId: welcome.connection.connectionId,
      secret: welcome.secret,
      ack: 0,
    });
    expect((await late.next('error')).code).toBe('RESUME_WINDOW_EXPIRED');
  });

  it('notices a silent transport at the heartbeat timeout, not before', async () => {
    const { c } = await joined();
    const other = await joined();
    c.ws.pause(); // reads nothing, sends nothing: a silent peer with an open socket
    clock.advance(3999);
    await new Promise((r) => setImmediate(r));
    expect(other.c.frames.some((f) => f.t === 'connectionReconnecting')).toBe(false);
    // The other client speaks (a signal to itself; its reply proves the server heard it) so it stays alive.
    other.c.send({ t: 'signal', seq: 1, type: 'tick', data: '', to: other.welcome.connection.connectionId });
    await waitFor(() => other.c.frames.some((f) => f.t === 'reply' && f.re === 1), 'reply');
    clock.advance(1);
    await waitFor(
      () => other.c.frames.some((f) => f.t === 'connectionReconnecting'),
      'reconnecting after 4 s',
    );
  });

  it('replays exactly the frames after the client ack, and says what it applied', async () => {
    const { c, welcome } = await joined();
    const other = await joined();
    for (let i = 1; i <= 3; i++) other.c.send({ t: 'signal', seq: i, type: 'x', data: String(i) });
    await waitFor(() => c.frames.filter((f) => f.t === 'signal').length === 3, 'three signals');
    c.send({ t: 'signal', seq: 1, type: 'y', data: 'mine' });
    await waitFor(() => c.frames.some((f) => f.t === 'reply'), 'reply');
    // The client applied up to the first signal only, then lost its transport.
    const firstSignal = c.frames.find((f) => f.t === 'signal');
    c.ws.terminate();
    const back = await raw(t.url);
    back.send({
      t: 'resume',
      v: 1,
      sessionId,
      connectionId: welcome.connection.connectionId,
      secret: welcome.secret,
      ack: firstSignal.seq,
    });
    const resumed = await back.next('resumed');
    expect(resumed.ack).toBe(1);
    await waitFor(() => back.frames.length >= 1 + (resumed.seq - firstSignal.seq), 'replay');
    const replayed = back.frames.slice(1).map((f) => f.seq);
    expect(replayed).toEqual(
      Array.from({ length: resumed.seq - firstSignal.seq }, (_, i) => firstSignal.seq + 1 + i),
    );
    // A retransmission of an applied op is ignored: no second reply, no second delivery.
    back.send({ t: 'signal', seq: 1, type: 'y', data: 'mine' });
    back.send({ t: 'signal', seq: 2, type: 'y', data: 'next' });
    await waitFor(
      () => other.c.frames.filter((f) => f.t === 'signal' && f.type === 'y').length === 2,
      'two y signals',
    );
    expect(other.c.frames.filter((f) => f.t === 'signal' && f.type === 'y').map((f) => f.data)).toEqual([
      'mine',
      'next',
    ]);
  });

  it('a resume on a new socket takes over from a half-open old one', async () => {
    const { c, welcome } = await joined();
    const other = await joined();
    const back = await raw(t.url);
    back.send({
      t: 'resume',
      v: 1,
      sessionId,
      connectionId: welcome.connection.connectionId,
      secret: welcome.secret,
      ack: 0,
    });
    await back.next('resumed');
    await waitFor(() => c.closeCode() !== undefined, 'old socket dropped');
    // The server never saw the connection interrupted, so the others heard nothing.
    expect(
      other.c.frames.some((f) => f.t === 'connectionReconnecting' || f.t === 'connectionReconnected'),
    ).toBe(false);
  });
});
