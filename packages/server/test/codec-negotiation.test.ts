import { PROTOCOL_VERSION, errorNumber, jsonCodec, msgpackCodec } from '@tether/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startTestServer, type TestServer } from '@tether/testkit';
import { Recorder, WAIT_MS, type Frame } from './raw-client.js';

/**
 * Codec negotiation as PROTOCOL.md states it, byte by byte over a raw socket: the handshake is
 * JSON text both ways; `codec: 'msgpack'` in connect makes every later frame binary MessagePack,
 * both ways; a resume keeps the codec the connection joined with, whatever it asks; bad frames
 * on a MessagePack connection get their error in MessagePack and the connection keeps serving.
 */

interface Message {
  binary: boolean;
  frame: Frame;
}

/** A socket that records every message as it came (text or binary) and decodes it. */
async function open(url: string) {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/v1/ws`);
  const got: Message[] = [];
  let closed: number | undefined;
  ws.on('message', (data: Buffer, binary: boolean) => {
    // Decoded loosely (not the schema): the test asserts on what came, whatever it is.
    const decoded = binary
      ? msgpackCodec.decodeServer(new Uint8Array(data))
      : jsonCodec.decodeServer(data.toString());
    got.push({ binary, frame: decoded.ok ? decoded.frame : { undecodable: data.toString('hex') } });
  });
  ws.on('close', (code) => (closed = code));
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  const until = async <T>(probe: () => T | undefined, what: string): Promise<T> => {
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const v = probe();
      if (v !== undefined) return v;
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(got).slice(0, 400)}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  return {
    ws,
    got,
    text: (frame: object | string) => ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame)),
    binary: (value: unknown) => ws.send(msgpackCodec.encode(value as Record<string, unknown>)),
    next: (match: (f: Frame) => boolean, what: string) => until(() => got.find((m) => match(m.frame)), what),
    closed: () => until(() => closed, 'the close'),
  };
}
type Raw = Awaited<ReturnType<typeof open>>;

describe('codec negotiation', () => {
  let t: TestServer;
  let sessionId: string;
  const raws: Raw[] = [];
  beforeEach(async () => {
    t = await startTestServer();
    sessionId = await t.createSession();
  });
  afterEach(async () => {
    for (const r of raws.splice(0)) r.ws.terminate();
    await t.close();
  });

  async function joinMsgpack(data: string) {
    const c = await open(t.url);
    raws.push(c);
    c.text({
      t: 'connect',
      v: PROTOCOL_VERSION,
      sessionId,
      token: await t.token(sessionId, 'publisher', data),
      codec: 'msgpack',
    });
    const welcome = await c.next((f) => f.t === 'welcome', 'the welcome');
    c.binary({ t: 'ack', ack: 0 });
    return { c, welcome };
  }

  it('connect asks for msgpack: the welcome is JSON text naming it, every frame after it is MessagePack, both ways', async () => {
    const observer = await t.join(sessionId, { data: 'observer', codec: jsonCodec });
    const log = new Recorder(observer);
    const { c, welcome } = await joinMsgpack('raw');
    expect(welcome).toMatchObject({ binary: false, frame: { t: 'welcome', codec: 'msgpack' } });
    c.binary({ t: 'signal', seq: 1, type: 'hello', data: 'from msgpack' });
    await c.next((f) => f.t === 'reply' && f.re === 1, 'the reply');
    // A JSON peer gets it as any signal; the sender's own copy comes back in MessagePack.
    await log.signal('hello', 'from msgpack');
    await observer.signal({ type: 'hello', data: 'from json' });
    await c.next((f) => f.t === 'signal' && f.data === 'from json', 'the JSON peer’s signal');
    expect(c.got.map((m) => m.frame.t)).toEqual(expect.arrayContaining(['welcome', 'signal', 'reply']));
    expect(c.got.slice(1).every((m) => m.binary)).toBe(true);
  });

  it('without codec (or codec json) everything stays JSON text', async () => {
    for (const codec of [undefined, 'json'] as const) {
      const c = await open(t.url);
      raws.push(c);
      c.text({
        t: 'connect',
        v: PROTOCOL_VERSION,
        sessionId,
        token: await t.token(sessionId),
        ...(codec ? { codec } : {}),
      });
      expect(await c.next((f) => f.t === 'welcome', 'the welcome')).toMatchObject({
        binary: false,
        frame: { codec: 'json' },
      });
      c.text({ t: 'ack', ack: 0 });
      c.text({ t: 'signal', seq: 1, type: 'x', data: '' });
      await c.next((f) => f.t === 'reply', 'the reply');
      expect(c.got.every((m) => !m.binary)).toBe(true);
    }
  });

  it('bad frames on a msgpack connection get their code in MessagePack, and it keeps serving', async () => {
    const { c } = await joinMsgpack('raw');
    const errors = () => c.got.filter((m) => m.frame.t === 'error');
    c.text('{"t":"ack","ack":0}'); // text after a msgpack handshake
    c.ws.send(Uint8Array.of(0xc1)); // not MessagePack at all
    c.binary([1, 2]); // MessagePack, not a frame
    c.binary({ t: 'signal', seq: 1, type: 5, data: '' }); // a frame with a bad field: the error names its seq
    await c.next(() => errors().length === 4, 'four errors');
    expect(errors().map((m) => [m.binary, m.frame.code, m.frame.re])).toEqual([
      [true, 'FRAME_INVALID', undefined],
      [true, 'FRAME_INVALID', undefined],
      [true, 'FRAME_INVALID', undefined],
      [true, 'FRAME_INVALID', 1],
    ]);
    c.binary({ t: 'signal', seq: 1, type: 'x', data: 'still here' });
    await c.next((f) => f.t === 'reply' && f.re === 1 && f.ok === true, 'the reply');
  });

  it('a connect sent as MessagePack is refused: the handshake is JSON text', async () => {
    const c = await open(t.url);
    raws.push(c);
    c.binary({
      t: 'connect',
      v: PROTOCOL_VERSION,
      sessionId,
      token: await t.token(sessionId),
      codec: 'msgpack',
    });
    expect(await c.next((f) => f.t === 'error', 'the refusal')).toMatchObject({
      binary: false,
      frame: { code: 'FRAME_INVALID_JSON' },
    });
    expect(await c.closed()).toBe(errorNumber('FRAME_INVALID_JSON'));
  });

  it('a resume keeps the codec the connection joined with, whatever it asks, and replays in it', async () => {
    const { c, welcome } = await joinMsgpack('raw');
    const connectionId = welcome.frame.connection.connectionId as string;
    await t.api.signal(sessionId, { type: 'x', data: 'seen' });
    const seen = await c.next((f) => f.t === 'signal' && f.data === 'seen', 'the first signal');
    c.ws.terminate();
    await t.api.signal(sessionId, { type: 'x', data: 'missed' });
    const back = await open(t.url);
    raws.push(back);
    back.text({
      t: 'resume',
      v: PROTOCOL_VERSION,
      sessionId,
      connectionId,
      secret: welcome.frame.secret,
      ack: seen.frame.seq,
      codec: 'json',
    });
    expect(await back.next((f) => f.t === 'resumed', 'resumed')).toMatchObject({
      binary: false,
      frame: { codec: 'msgpack' },
    });
    expect(await back.next((f) => f.t === 'signal', 'the replay')).toMatchObject({
      binary: true,
      frame: { data: 'missed', seq: (seen.frame.seq as number) + 1 },
    });
  });
});
