import { MemoryEngine } from '@tether/server';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { FakeClock, startTestServer, waitFor, type TestServer } from '@tether/testkit';

/**
 * Presence changes are not queued one by one for members that are away or whose client has
 * gone silent (PROTOCOL.md, Presence while away): they get the net change when they are heard
 * again. Raw sockets; a fake clock makes the silence exact.
 */

async function raw(url: string) {
  const ws = new WebSocket(`${url.replace('http', 'ws')}/v1/ws`);
  const frames: any[] = [];
  ws.on('message', (d) => frames.push(JSON.parse(d.toString())));
  ws.on('error', () => undefined);
  await new Promise((r, j) => ws.once('open', r).once('error', j));
  return {
    ws,
    frames,
    send: (f: object) => ws.send(JSON.stringify(f)),
    of: (t: string) => frames.filter((f) => f.t === t),
  };
}

describe('presence for members that are away or silent', () => {
  let t: TestServer;
  let clock: FakeClock;
  let sessionId: string;

  beforeEach(async () => {
    clock = new FakeClock(Date.now());
    t = await startTestServer(
      {
        // One process: sparing a silent member is the memory engine's (a cluster node sends an
        // attached connection every entry, since another node may rebuild its replay).
        engine: new MemoryEngine(),
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

  async function joined(data: string) {
    const c = await raw(t.url);
    c.send({ t: 'connect', v: 1, sessionId, token: await t.token(sessionId, 'publisher', data) });
    await waitFor(() => c.of('welcome').length === 1, `${data}'s welcome`);
    const welcome = c.of('welcome')[0];
    c.send({ t: 'ack', ack: 0 });
    return { ...c, id: welcome.connection.connectionId as string };
  }

  it('a member silent for over half the heartbeat timeout is not told of a drop until it speaks, then at once', async () => {
    const silent = await joined('silent');
    const talking = await joined('talking');
    const dropping = await joined('dropping');
    await waitFor(() => silent.of('connectionCreated').length === 2, 'silent sees both others');
    // 2.5 s of silence from everyone (the timeout is 4 s); then one of them speaks.
    clock.advance(2500);
    talking.send({ t: 'signal', seq: 1, type: 'chat', data: 'first' });
    await waitFor(() => talking.of('reply').length === 1, 'the reply to talking');

    dropping.ws.terminate();
    await waitFor(() => talking.of('connectionReconnecting').length === 1, 'talking told of the drop');
    // A later frame to the silent one: had it been told, the notice would be before it.
    talking.send({ t: 'signal', seq: 2, type: 'chat', data: 'second' });
    await waitFor(() => silent.of('signal').some((s) => s.data === 'second'), 'the later signal');
    expect(silent.of('connectionReconnecting')).toEqual([]);

    silent.send({ t: 'hb' });
    await waitFor(() => silent.of('connectionReconnecting').length === 1, 'silent catches up');
    expect(silent.of('connectionReconnecting')[0]).toMatchObject({ connectionId: dropping.id });
    // Numbered after what it already had: nothing is replayed out of order.
    const seqs = silent.frames.filter((f) => f.seq !== undefined && f.t !== 'hb').map((f) => f.seq);
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
  });

  it('a drop and its return while a member is away cancel out; an ending does not', async () => {
    const away = await joined('away');
    const flapping = await joined('flapping');
    const leaving = await joined('leaving');
    const welcome = (away.frames[0] ?? {}) as any;
    await waitFor(() => away.of('connectionCreated').length === 2, 'away sees both others');
    const lastSeq = Math.max(
      ...away.frames.filter((f) => f.seq !== undefined && f.t !== 'hb').map((f) => f.seq),
    );
    away.ws.terminate();
    await waitFor(() => t.server.hub.sizes().interrupted === 1, 'away is interrupted');

    // flapping drops and resumes; leaving leaves for good.
    const flapWelcome = flapping.of('welcome')[0];
    flapping.ws.terminate();
    await waitFor(() => t.server.hub.sizes().interrupted === 2, 'flapping is interrupted');
    const back = await raw(t.url);
    back.send({
      t: 'resume',
      v: 1,
      sessionId,
      connectionId: flapping.id,
      secret: flapWelcome.secret,
      ack: Math.max(
        0,
        ...flapping.frames.filter((f) => f.seq !== undefined && f.t !== 'hb').map((f) => f.seq),
      ),
    });
    await waitFor(() => back.of('resumed').length === 1, 'flapping resumed');
    leaving.send({ t: 'leave' });
    await waitFor(() => t.server.hub.sizes().connected === 1, 'leaving is gone');

    const again = await raw(t.url);
    again.send({ t: 'resume', v: 1, sessionId, connectionId: away.id, secret: welcome.secret, ack: lastSeq });
    await waitFor(
      () => again.of('resumed').length === 1 && again.of('connectionDestroyed').length === 1,
      'away back',
    );
    expect(again.of('connectionDestroyed')[0]).toMatchObject({
      connectionId: leaving.id,
      reason: 'clientDisconnected',
    });
    expect(again.of('connectionReconnecting')).toEqual([]);
    expect(again.of('connectionReconnected')).toEqual([]);
    back.ws.terminate();
    again.ws.terminate();
  });
});
