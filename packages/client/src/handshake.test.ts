import { PROTOCOL_VERSION, type ServerFrame } from '@tether/protocol';
import { FakeClock } from '@tether/testkit';
import { describe, expect, it } from 'vitest';
import { Endpoints } from './endpoints.js';
import { Handshaker } from './handshake.js';
import type { WebSocketLike } from './socket.js';

/** A socket scripted by the test: it opens, answers and closes when told to. */
class ScriptedSocket implements WebSocketLike {
  static made: ScriptedSocket[] = [];
  readyState = 0;
  sent: string[] = [];
  killed = false;
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  constructor(readonly url: string) {
    ScriptedSocket.made.push(this);
  }
  send(data: string) {
    this.sent.push(data);
  }
  close() {
    this.killed = true;
  }
  terminate() {
    this.killed = true;
  }
  open() {
    this.readyState = 1;
    this.onopen?.({});
  }
  answer(frame: object) {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }
}

const resumed: ServerFrame = {
  t: 'resumed',
  ack: 0,
  seq: 0,
  config: {
    heartbeatIntervalMs: 1000,
    heartbeatTimeoutMs: 4000,
    reconnectWindowMs: 30000,
    mediaWindowMs: 20000,
    ackDelayMs: 50,
  },
} as ServerFrame;

function setup(urls: string | string[] = 'http://127.0.0.1:1') {
  ScriptedSocket.made = [];
  const clock = new FakeClock();
  const messages: string[] = [];
  const closes: number[] = [];
  const handshaker = new Handshaker({
    clock,
    endpoints: new Endpoints(urls),
    WebSocket: () => Promise.resolve(ScriptedSocket),
    active: () => true,
    message: (_ws, text) => messages.push(text),
    closed: (_ws, code) => closes.push(code),
    invalid: () => undefined,
  });
  const tick = () => new Promise((r) => setImmediate(r));
  return { clock, handshaker, messages, closes, tick };
}

describe('Handshaker', () => {
  it('sends the first frame once the socket opens, and hands the winner its later frames', async () => {
    const { handshaker, messages, tick } = setup();
    const won: WebSocketLike[] = [];
    const done = handshaker.open('{"t":"resume"}', 1000, (ws) => won.push(ws));
    await tick();
    const ws = ScriptedSocket.made[0] as ScriptedSocket;
    expect(ws.url).toBe('ws://127.0.0.1:1/v1/ws');
    ws.open();
    expect(ws.sent).toEqual(['{"t":"resume"}']);
    expect(handshaker.reachedServer).toBe(true);
    ws.answer(resumed);
    await done;
    expect(won).toEqual([ws]);
    ws.answer({ t: 'ack', ack: 1 });
    expect(messages).toEqual(['{"t":"ack","ack":1}']);
  });

  it('times out an attempt that never answers, and kills its socket', async () => {
    const { clock, handshaker, tick } = setup();
    const done = handshaker.open('{}', 1000, () => undefined);
    await tick();
    clock.advance(1000);
    await expect(done).rejects.toMatchObject({ code: 'CONNECT_FAILED' });
    expect(ScriptedSocket.made[0]?.killed).toBe(true);
  });

  it('an attempt stuck opening does not hold back a newer one; the first answered wins, the other is dropped', async () => {
    const { handshaker, tick } = setup();
    const first = handshaker.open('{"n":1}', 10_000, () => undefined);
    await tick();
    const second = handshaker.open('{"n":2}', 10_000, () => undefined);
    await tick();
    const [a, b] = ScriptedSocket.made as [ScriptedSocket, ScriptedSocket];
    b.open();
    // The old one opens late: the server already has the newer resume, so this one stands down.
    a.open();
    expect(a.sent).toEqual([]);
    await expect(first).rejects.toMatchObject({ code: 'DISCONNECTED' });
    b.answer(resumed);
    await second;
  });

  it('drops the attempts still opening as soon as one opens, before its answer', async () => {
    const { handshaker, tick } = setup();
    const first = handshaker.open('{"n":1}', 10_000, () => undefined);
    await tick();
    const second = handshaker.open('{"n":2}', 10_000, () => undefined);
    await tick();
    const [a, b] = ScriptedSocket.made as [ScriptedSocket, ScriptedSocket];
    b.open(); // reached the server: a, stuck on the dead path, would only reach it later for nothing
    expect(a.killed).toBe(true);
    await expect(first).rejects.toMatchObject({ code: 'DISCONNECTED' });
    expect(handshaker.reachedServer).toBe(true);
    b.answer(resumed);
    await second;
    expect(b.killed).toBe(false);
  });

  it('keeps at most two attempts opening', async () => {
    const { handshaker, tick } = setup();
    const attempts = [1, 2, 3].map((n) =>
      handshaker
        .open(`{"n":${n}}`, 10_000, () => undefined)
        .then(
          () => 'answered',
          (err: { code: string }) => err.code,
        ),
    );
    await tick();
    expect(ScriptedSocket.made[0]?.killed).toBe(true);
    expect(ScriptedSocket.made.slice(1).every((s) => !s.killed)).toBe(true);
    handshaker.abort();
    expect(await Promise.all(attempts)).toEqual(['DISCONNECTED', 'DISCONNECTED', 'DISCONNECTED']);
    expect(ScriptedSocket.made.every((s) => s.killed)).toBe(true);
  });

  it('with several servers, an attempt that fails on its path sends the next one to the next server; a refusal does not', async () => {
    const { clock, handshaker, tick } = setup(['http://a:1', 'http://b:2']);
    const first = handshaker.open('{}', 1000, () => undefined);
    await tick();
    clock.advance(1000);
    await expect(first).rejects.toMatchObject({ code: 'CONNECT_FAILED' });
    const second = handshaker.open('{}', 1000, () => undefined);
    await tick();
    const b = ScriptedSocket.made[1] as ScriptedSocket;
    expect(b.url).toBe('ws://b:2/v1/ws');
    b.open();
    b.answer({ t: 'error', code: 'RESUME_BAD_SECRET', message: 'no' });
    await expect(second).rejects.toMatchObject({ code: 'RESUME_BAD_SECRET' });
    // The server answered: the path works, the next attempt stays there.
    void handshaker.open('{}', 1000, () => undefined).catch(() => undefined);
    await tick();
    expect(ScriptedSocket.made[2]?.url).toBe('ws://b:2/v1/ws');
    handshaker.abort();
  });

  it('a refusal (error frame or close code) fails the attempt with its code', async () => {
    const { handshaker, tick } = setup();
    const refused = handshaker.open('{}', 1000, () => undefined);
    await tick();
    const ws = ScriptedSocket.made[0] as ScriptedSocket;
    ws.open();
    ws.answer({ t: 'error', code: 'RESUME_BAD_SECRET', message: 'no' });
    await expect(refused).rejects.toMatchObject({ code: 'RESUME_BAD_SECRET' });
  });

  it('an answer that accept() rejects fails the attempt with that error and drops the socket', async () => {
    const { handshaker, tick } = setup();
    const done = handshaker.open(JSON.stringify({ t: 'connect', v: PROTOCOL_VERSION }), 1000, () => {
      throw new Error('bad answer');
    });
    await tick();
    const ws = ScriptedSocket.made[0] as ScriptedSocket;
    ws.open();
    ws.answer(resumed);
    await expect(done).rejects.toMatchObject({ code: 'INTERNAL' });
    expect(ws.killed).toBe(true);
  });
});
