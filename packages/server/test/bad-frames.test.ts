import type { Session } from '@tether/client';
import {
  ERRORS,
  LIMITS,
  PROTOCOL_VERSION,
  decodeServerFrame,
  errorNumber,
  isErrorCode,
} from '@tether/protocol';
import fc from 'fast-check';
import type { ServerOptions } from '@tether/server';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeClock, startTestServer, waitFor, type TestServer } from '@tether/testkit';
import { RawClient, Recorder, marker, type Frame } from './raw-client.js';

/**
 * Guarantee 6 over real loopback sockets: every bad frame gets its documented code, abuse is
 * closed with a code, and the rest of the session is served as if nothing happened.
 */

const signal = (seq: number, type = 'chat', data = '', extra: object = {}) => ({
  t: 'signal',
  seq,
  type,
  data,
  ...extra,
});
const numberOf = (code: keyof typeof ERRORS) => errorNumber(code);

/** A server, two well-behaved SDK clients (a sends, b observes), and raw clients that misbehave. */
function harness(serverOptions: () => { clock?: FakeClock; options?: ServerOptions } = () => ({})) {
  const h = {
    t: undefined as unknown as TestServer,
    sessionId: '',
    a: undefined as unknown as Session,
    b: undefined as unknown as Session,
    bLog: undefined as unknown as Recorder,
    clock: undefined as FakeClock | undefined,
    raws: [] as RawClient[],
    /** A raw client joined as a publisher. */
    async raw(data = 'raw') {
      const { client, welcome } = await RawClient.join(
        h.t.url,
        h.sessionId,
        await h.t.token(h.sessionId, 'publisher', data),
      );
      h.raws.push(client);
      return { raw: client, id: welcome.connection.connectionId as string, welcome };
    },
    /** A raw socket that has not joined. */
    async open() {
      const client = await RawClient.open(h.t.url);
      h.raws.push(client);
      return client;
    },
    /** The session still works for the well-behaved: a signal from a reaches b. */
    async stillServing() {
      const data = marker();
      await h.a.signal({ type: 'still-serving', data });
      await h.bLog.signal('still-serving', data);
    },
    /** What b received from a given sender, in order (its data). */
    signalsAtB(from: string, type?: string): string[] {
      return h.bLog
        .of('signal')
        .filter((e) => e.from?.connectionId === from && (type === undefined || e.type === type))
        .map((e) => e.data as string);
    },
  };
  beforeEach(async () => {
    const { clock, options = {} } = serverOptions();
    h.clock = clock;
    h.t = await startTestServer(options, clock);
    h.sessionId = await h.t.createSession();
    h.a = await h.t.join(h.sessionId, { data: 'good-a' });
    h.b = await h.t.join(h.sessionId, { data: 'good-b' });
    // a is seen once its client confirmed its welcome, which may come after b's: b's log starts
    // after it, so the joins of the test's own clients are not mistaken for a bad frame's.
    await waitFor(() => h.b.connections.length === 2, 'b sees a');
    h.bLog = new Recorder(h.b);
  });
  afterEach(async () => {
    for (const r of h.raws.splice(0)) r.close();
    await h.t.close();
  });
  return h;
}

/** Asserts a frame the server sent is valid by the protocol's own schema (so an SDK can decode it). */
function expectProtocolValid(frame: Frame) {
  const decoded = decodeServerFrame(JSON.stringify(frame));
  expect(decoded.ok, `server frame does not match the protocol schema: ${JSON.stringify(frame)}`).toBe(true);
}

describe('bad frames after the handshake: an error with its code, and nobody else notices', () => {
  const h = harness();

  it('invalid JSON gets an error frame FRAME_INVALID_JSON; the connection stays up and the session keeps serving', async () => {
    const { raw } = await h.raw();
    raw.send('{"t":"signal",');
    raw.send('not json at all');
    const first = await raw.error(0);
    const second = await raw.error(1);
    for (const err of [first, second]) {
      expect(err).toMatchObject({ t: 'error', code: 'FRAME_INVALID_JSON' });
      expect(err.re).toBeUndefined();
      expect(err.message).toContain(ERRORS.FRAME_INVALID_JSON.message);
      expectProtocolValid(err);
    }
    // Not closed, and no sequence number was consumed: the next op is seq 1.
    raw.send(signal(1, 'chat', 'after-bad-json'));
    expect(await raw.reply(1)).toMatchObject({ ok: true });
    expect(raw.isOpen).toBe(true);
    await h.stillServing();
  });

  it('a binary frame is not JSON: FRAME_INVALID_JSON, and the connection stays up', async () => {
    const { raw } = await h.raw();
    raw.sendBinary(Buffer.from([0x7b, 0x00, 0xff]));
    expect(await raw.error(0)).toMatchObject({ code: 'FRAME_INVALID_JSON' });
    raw.send(signal(1));
    expect(await raw.reply(1)).toMatchObject({ ok: true });
    await h.stillServing();
  });

  const schemaViolations: Array<[string, object | string, number | undefined]> = [
    ['a signal without type and data', { t: 'signal', seq: 1 }, 1],
    ['a signal whose data is a number', signal(1, 'chat', 42 as unknown as string), 1],
    ['a signal whose seq is a string', { t: 'signal', seq: '1', type: 'chat', data: '' }, undefined],
    ['a signal whose seq is 0', signal(0), 0],
    ['a signal whose seq is negative', signal(-3), -3],
    ['a signal whose `to` is not an id', signal(1, 'chat', '', { to: 'not an id' }), 1],
    ['a signal whose type is over 1024 characters', signal(1, 'x'.repeat(1025)), 1],
    ['a publish whose hasAudio is a string', { t: 'publish', seq: 1, stream: { hasAudio: 'yes' } }, 1],
    ['a publish whose videoType is unknown', { t: 'publish', seq: 1, stream: { videoType: 'hologram' } }, 1],
    ['an unpublish without streamId', { t: 'unpublish', seq: 1 }, 1],
    [
      'a forceDisconnect whose connectionId is an object',
      { t: 'forceDisconnect', seq: 1, connectionId: {} },
      1,
    ],
    ['an unknown frame type', { t: 'bogus', seq: 1 }, 1],
    ['a frame without t', { seq: 1, type: 'chat', data: '' }, 1],
    ['a frame whose t is a number', { t: 7 }, undefined],
    ['an ack that is negative', { t: 'ack', ack: -1 }, undefined],
    ['an ack that is not a number', { t: 'ack', ack: 'all' }, undefined],
    ['a JSON array', '[]', undefined],
    ['JSON null', 'null', undefined],
    ['a JSON number', '42', undefined],
    ['a JSON string', '"signal"', undefined],
  ];

  it.each(schemaViolations)(
    'a schema violation (%s) gets FRAME_INVALID naming its seq, consumes no sequence number, and the session keeps serving',
    async (_label, frame, re) => {
      const { raw } = await h.raw();
      raw.send(frame);
      const err = await raw.error(0);
      expect(err).toMatchObject({ t: 'error', code: 'FRAME_INVALID' });
      expect(err.message).toContain(ERRORS.FRAME_INVALID.message);
      expect(err.re).toBe(re);
      expectProtocolValid(err);
      raw.send(signal(1, 'chat', 'after-bad-frame'));
      expect(await raw.reply(1)).toMatchObject({ ok: true });
      expect(raw.isOpen).toBe(true);
      await h.stillServing();
    },
  );

  it('a non-integer seq gets a FRAME_INVALID error frame that is itself valid by the protocol schema', async () => {
    const { raw } = await h.raw();
    raw.send(signal(1.5));
    const err = await raw.error(0);
    expect(err).toMatchObject({ code: 'FRAME_INVALID' });
    // errorFrameSchema says `re` is an integer: an SDK must be able to decode every frame the server sends.
    expectProtocolValid(err);
    await h.stillServing();
  });

  it('a frame of exactly 64 KiB is within the limit and is applied', async () => {
    const { raw, id } = await h.raw();
    const head = JSON.stringify(signal(1, 'padded', 'fits')).slice(0, -1);
    const text = head + ' '.repeat(LIMITS.frameMaxBytes - head.length - 1) + '}';
    expect(Buffer.byteLength(text)).toBe(LIMITS.frameMaxBytes);
    raw.send(text);
    expect(await raw.reply(1)).toMatchObject({ ok: true });
    await h.bLog.signal('padded', 'fits');
    expect(h.signalsAtB(id, 'padded')).toEqual(['fits']);
  });

  it('a frame over 64 KiB ends the connection with close code 4202 (FRAME_TOO_LARGE); the others see connectionDestroyed and streamDestroyed with reason protocolError', async () => {
    const { raw, id } = await h.raw('big-sender');
    raw.send({ t: 'publish', seq: 1, stream: { name: 'cam' } });
    expect(await raw.reply(1)).toMatchObject({ ok: true });
    await h.bLog.next('streamCreated', (e) => e.stream.connectionId === id);

    const head = JSON.stringify(signal(2, 'big', 'x')).slice(0, -1);
    raw.send(head + ' '.repeat(LIMITS.frameMaxBytes - head.length) + '}'); // 64 KiB + 1 byte
    const closed = await raw.waitClosed();
    const destroyed = await h.bLog.next('connectionDestroyed', (e) => e.connection.connectionId === id);
    const streamGone = await h.bLog.next('streamDestroyed', (e) => e.stream.connectionId === id);
    expect(destroyed.reason).toBe('protocolError');
    expect(streamGone.reason).toBe('protocolError');
    expect(raw.ofType('bye')).toEqual([
      expect.objectContaining({ reason: 'protocolError', code: 'FRAME_TOO_LARGE' }),
    ]);
    expect(closed.code).toBe(numberOf('FRAME_TOO_LARGE'));
    expect(h.signalsAtB(id, 'big')).toEqual([]);
    await h.stillServing();
  });

  it('a frame over the 1 MiB WebSocket cap also ends the connection for good (not a resumable drop): the others see connectionDestroyed protocolError', async () => {
    const { raw, id } = await h.raw('huge-sender');
    raw.send('x'.repeat(1024 * 1024 + 1));
    const closed = await raw.waitClosed();
    // The WebSocket layer answers first with 1009 (message too big); either code says "too large".
    expect([numberOf('FRAME_TOO_LARGE'), 1009]).toContain(closed.code);
    const destroyed = await h.bLog.next('connectionDestroyed', (e) => e.connection.connectionId === id);
    expect(destroyed.reason).toBe('protocolError');
    expect(h.bLog.of('connectionReconnecting')).toEqual([]);
    await h.stillServing();
  });

  it('connect or resume after the handshake gets FRAME_UNEXPECTED; the connection keeps its id and stays up', async () => {
    const { raw, id, welcome } = await h.raw('twice');
    raw.send({
      t: 'connect',
      v: PROTOCOL_VERSION,
      sessionId: h.sessionId,
      token: await h.t.token(h.sessionId),
    });
    raw.send({
      t: 'resume',
      v: PROTOCOL_VERSION,
      sessionId: h.sessionId,
      connectionId: id,
      secret: welcome.secret,
      ack: 0,
    });
    expect(await raw.error(0)).toMatchObject({ code: 'FRAME_UNEXPECTED' });
    expect(await raw.error(1)).toMatchObject({ code: 'FRAME_UNEXPECTED' });
    expect(raw.ofType('welcome')).toHaveLength(1);
    expect(raw.ofType('resumed')).toHaveLength(0);
    raw.send(signal(1, 'chat', 'same-connection'));
    expect(await raw.reply(1)).toMatchObject({ ok: true });
    await h.bLog.signal('chat', 'same-connection');
    expect(h.signalsAtB(id)).toEqual(['same-connection']);
    // b saw exactly one connection arrive for the raw client: the second connect made none.
    await h.stillServing();
    expect(h.bLog.of('connectionCreated').filter((e) => e.connection.data === 'twice')).toHaveLength(1);
  });

  /** Resumes a connection on a fresh socket; resolves with the socket and its `resumed` frame. */
  const resume = async (id: string, secret: string, ack: number) => {
    const raw = await h.open();
    raw.send({ t: 'resume', v: PROTOCOL_VERSION, sessionId: h.sessionId, connectionId: id, secret, ack });
    const resumed = await raw.next((f) => f.t === 'resumed' || f.t === 'error', 'resumed');
    expect(resumed.t, JSON.stringify(resumed)).toBe('resumed');
    return { raw, resumed };
  };
  /** The highest server seq a socket has seen (reliable frames, and `resumed`, whose replay follows it). */
  const lastSeq = (raw: RawClient) =>
    Math.max(0, ...raw.frames.filter((f) => typeof f.seq === 'number').map((f) => f.seq as number));

  it('a sequence gap drops only that transport (close 4204, SEQUENCE_GAP): the op after the gap is not applied, the others see connectionReconnecting, and after a resume the op is applied once', async () => {
    const { raw, id, welcome } = await h.raw('gappy');
    raw.send(signal(1, 'chat', 'first'));
    expect(await raw.reply(1)).toMatchObject({ ok: true });
    raw.send(signal(3, 'chat', 'after-gap'));
    const closed = await raw.waitClosed();
    expect(closed.code).toBe(numberOf('SEQUENCE_GAP'));
    expect(raw.ofType('bye')).toEqual([]); // the connection is not ended, only its transport
    await h.bLog.next('connectionReconnecting', (e) => e.connection.connectionId === id);
    expect(h.signalsAtB(id)).toEqual(['first']);

    // The client resumes; the server says it applied seq 1, so seq 2 and 3 are sent (again).
    const { raw: again, resumed } = await resume(id, welcome.secret, lastSeq(raw));
    expect(resumed.ack).toBe(1);
    again.send(signal(2, 'chat', 'second'));
    again.send(signal(3, 'chat', 'after-gap'));
    expect(await again.reply(2)).toMatchObject({ ok: true });
    expect(await again.reply(3)).toMatchObject({ ok: true });
    await h.bLog.signal('chat', 'after-gap');
    await h.bLog.next('connectionReconnected', (e) => e.connection.connectionId === id);
    expect(h.signalsAtB(id)).toEqual(['first', 'second', 'after-gap']);
    expect(h.bLog.of('connectionDestroyed')).toEqual([]);
    await h.stillServing();
  });

  it('repeated sequence gaps are abuse: past 50 within 10 s the connection is ended with bye ABUSE_CLOSED, close 4221, and the others see connectionDestroyed protocolError', async () => {
    const { raw: first, id, welcome } = await h.raw('gap-abuser');
    first.send(signal(1, 'chat', 'first'));
    await first.reply(1);
    let raw = first;
    for (let gap = 1; gap <= LIMITS.abuseStrikesPer10s; gap++) {
      raw.send(signal(3, 'chat', `gap-${gap}`));
      expect((await raw.waitClosed()).code, `gap ${gap}`).toBe(numberOf('SEQUENCE_GAP'));
      raw = (await resume(id, welcome.secret, lastSeq(raw))).raw;
    }
    raw.send(signal(3, 'chat', 'the-last-gap'));
    expect((await raw.waitClosed()).code).toBe(numberOf('ABUSE_CLOSED'));
    expect(raw.ofType('bye')).toEqual([
      expect.objectContaining({ reason: 'protocolError', code: 'ABUSE_CLOSED' }),
    ]);
    expect((await h.bLog.next('connectionDestroyed', (e) => e.connection.connectionId === id)).reason).toBe(
      'protocolError',
    );
    expect(h.signalsAtB(id)).toEqual(['first']);
    // Ended for good: a further resume is refused.
    const late = await h.open();
    late.send({
      t: 'resume',
      v: PROTOCOL_VERSION,
      sessionId: h.sessionId,
      connectionId: id,
      secret: welcome.secret,
      ack: lastSeq(raw),
    });
    // Refused with the code of that ending, so a client that missed the bye still ends with protocolError.
    expect(await late.error(0)).toMatchObject({ code: 'ABUSE_CLOSED' });
    await late.waitClosed();
    await h.stillServing();
  });

  it('a retransmitted op is applied once: the others get the signal once and the sender gets one reply', async () => {
    const { raw, id } = await h.raw('retransmitter');
    raw.send(signal(1, 'chat', 'once'));
    raw.send(signal(1, 'chat', 'once'));
    raw.send(signal(2, 'chat', 'two'));
    raw.send(signal(1, 'chat', 'once')); // an old retransmission after newer ops: ignored, no gap
    raw.send(signal(3, 'chat', 'three'));
    await raw.reply(3);
    await h.bLog.signal('chat', 'three');
    expect(h.signalsAtB(id)).toEqual(['once', 'two', 'three']);
    expect(raw.ofType('reply').map((r) => r.re)).toEqual([1, 2, 3]);
    expect(raw.ofType('signal').map((s) => s.data)).toEqual(['once', 'two', 'three']);
    expect(raw.ofType('error')).toEqual([]);
    await h.stillServing();
  });

  it('a retransmitted publish creates one stream, not two', async () => {
    const { raw, id } = await h.raw('pub-twice');
    const publish = { t: 'publish', seq: 1, stream: { name: 'cam' } };
    raw.send(publish);
    raw.send(publish);
    raw.send(signal(2, 'chat', 'after-publish'));
    await raw.reply(2);
    await h.bLog.signal('chat', 'after-publish');
    expect(h.bLog.of('streamCreated').filter((e) => e.stream.connectionId === id)).toHaveLength(1);
    expect(raw.ofType('reply').filter((r) => r.re === 1)).toHaveLength(1);
    expect((await h.t.api.listStreams(h.sessionId)).filter((s) => s.connectionId === id)).toHaveLength(1);
  });

  it('an ack beyond what the server sent gets FRAME_INVALID (naming the op it rode on) and changes nothing', async () => {
    const { raw, id } = await h.raw('acker');
    raw.send({ t: 'ack', ack: 1000 });
    expect(await raw.error(0)).toMatchObject({ code: 'FRAME_INVALID' });
    raw.send({ t: 'hb', ack: 1000 });
    expect(await raw.error(1)).toMatchObject({ code: 'FRAME_INVALID' });
    // Piggybacked on an op: the op is refused, and the error says which one.
    raw.send(signal(1, 'chat', 'bad-ack', { ack: 1000 }));
    const err = await raw.error(2);
    expect(err).toMatchObject({ code: 'FRAME_INVALID' });
    expect(err.re).toBe(1);
    expect(raw.isOpen).toBe(true);
    // The refused op consumed no seq: seq 1 is still next, and a correct ack is accepted silently.
    raw.send(signal(1, 'chat', 'good', { ack: 0 }));
    expect(await raw.reply(1)).toMatchObject({ ok: true });
    await h.bLog.signal('chat', 'good');
    expect(h.signalsAtB(id)).toEqual(['good']);
    const sent = Math.max(...raw.frames.filter((f) => typeof f.seq === 'number').map((f) => f.seq as number));
    raw.send({ t: 'ack', ack: sent });
    raw.send(signal(2, 'chat', 'after-ack'));
    expect(await raw.reply(2)).toMatchObject({ ok: true });
    expect(raw.ofType('error')).toHaveLength(3);
    await h.stillServing();
  });

  it('an invalid signal type gets reply ok:false SIGNAL_TYPE_INVALID and reaches nobody; 128 characters of the alphabet are fine', async () => {
    const { raw, id } = await h.raw('typer');
    const bad = ['', 'x'.repeat(129), 'has space', 'a/b', 'é', 'line\nbreak', 'semi;colon', 'tab\t'];
    const good = ['x'.repeat(128), 'Az09-_.~:', 'a'];
    let seq = 0;
    for (const type of bad) raw.send(signal(++seq, type, 'bad'));
    for (const type of good) raw.send(signal(++seq, type, 'good'));
    for (let re = 1; re <= bad.length; re++) {
      const reply = await raw.reply(re);
      expect(reply, `type ${JSON.stringify(bad[re - 1])}`).toMatchObject({
        ok: false,
        code: 'SIGNAL_TYPE_INVALID',
      });
      expect(reply.message).toContain(ERRORS.SIGNAL_TYPE_INVALID.message);
      expectProtocolValid(reply);
    }
    for (let re = bad.length + 1; re <= seq; re++) expect(await raw.reply(re)).toMatchObject({ ok: true });
    await h.bLog.signal('a', 'good');
    expect(
      h.bLog
        .of('signal')
        .filter((e) => e.from?.connectionId === id)
        .map((e) => e.type),
    ).toEqual(good);
    expect(raw.isOpen).toBe(true);
    await h.stillServing();
  });

  it('signal data over 8 KiB of UTF-8 gets SIGNAL_DATA_TOO_LARGE, counting multi-byte characters by their bytes', async () => {
    const { raw, id } = await h.raw('sizer');
    const cases: Array<[string, string, boolean]> = [
      ['2,731 € (8,193 bytes)', '€'.repeat(2731), false],
      ['2,730 € and 2 ASCII (8,192 bytes)', '€'.repeat(2730) + 'ab', true],
      ['8,193 ASCII', 'x'.repeat(8193), false],
      ['8,192 ASCII', 'x'.repeat(8192), true],
      ['4,097 é (8,194 bytes)', 'é'.repeat(4097), false],
      ['2,048 emoji (8,192 bytes)', '😀'.repeat(2048), true],
      ['2,048 emoji and 1 ASCII (8,193 bytes)', '😀'.repeat(2048) + 'x', false],
    ];
    cases.forEach(([, data], i) => raw.send(signal(i + 1, 'size', data)));
    for (let i = 0; i < cases.length; i++) {
      const [label, , ok] = cases[i]!;
      const reply = await raw.reply(i + 1);
      if (ok) expect(reply, label).toMatchObject({ ok: true });
      else expect(reply, label).toMatchObject({ ok: false, code: 'SIGNAL_DATA_TOO_LARGE' });
    }
    raw.send(signal(cases.length + 1, 'size', 'end'));
    await h.bLog.signal('size', 'end');
    expect(h.signalsAtB(id, 'size')).toEqual([
      ...cases.filter(([, , ok]) => ok).map(([, data]) => data),
      'end',
    ]);
    await h.stillServing();
  });

  it('a signal to an unknown connection gets SIGNAL_TARGET_NOT_FOUND and reaches nobody; one to a present connection reaches only it', async () => {
    const { raw } = await h.raw('director');
    const aLog = new Recorder(h.a);
    raw.send(signal(1, 'dm', 'nobody', { to: 'no-such-connection' }));
    raw.send(signal(2, 'dm', 'to-a', { to: h.a.connection!.connectionId }));
    expect(await raw.reply(1)).toMatchObject({ ok: false, code: 'SIGNAL_TARGET_NOT_FOUND' });
    expect(await raw.reply(2)).toMatchObject({ ok: true });
    await aLog.signal('dm', 'to-a');
    await h.stillServing();
    expect(
      aLog
        .of('signal')
        .filter((e) => e.type === 'dm')
        .map((e) => e.data),
    ).toEqual(['to-a']);
    expect(h.bLog.of('signal').filter((e) => e.type === 'dm')).toEqual([]);
    expect(raw.ofType('signal').filter((s) => s.type === 'dm')).toEqual([]);
  });

  it('a signal to a connection that has left gets SIGNAL_TARGET_NOT_FOUND', async () => {
    const { raw } = await h.raw('late-director');
    const goneId = h.a.connection!.connectionId;
    h.a.disconnect();
    await h.bLog.next('connectionDestroyed', (e) => e.connection.connectionId === goneId);
    raw.send(signal(1, 'dm', 'too-late', { to: goneId }));
    expect(await raw.reply(1)).toMatchObject({ ok: false, code: 'SIGNAL_TARGET_NOT_FOUND' });
  });

  it('more than 50 rejected frames within 10 s close the connection with 4221 (ABUSE_CLOSED); 50 are tolerated; the others see connectionDestroyed protocolError', async () => {
    const { raw, id } = await h.raw('abuser');
    // Every kind of rejected frame counts.
    const kinds: Array<object | string> = [
      'not json',
      { t: 'bogus' },
      { t: 'ack', ack: 999 },
      { t: 'connect', v: 1, sessionId: 'x', token: 'y' },
    ];
    for (let i = 0; i < LIMITS.abuseStrikesPer10s; i++) raw.send(kinds[i % kinds.length]!);
    await raw.error(LIMITS.abuseStrikesPer10s - 1);
    raw.send(signal(1, 'chat', 'still-here'));
    expect(await raw.reply(1)).toMatchObject({ ok: true });
    expect(raw.isOpen).toBe(true);

    raw.send('the last straw');
    const closed = await raw.waitClosed();
    expect(closed.code).toBe(numberOf('ABUSE_CLOSED'));
    expect(raw.ofType('error')).toHaveLength(LIMITS.abuseStrikesPer10s + 1);
    expect(raw.ofType('bye')).toEqual([
      expect.objectContaining({ reason: 'protocolError', code: 'ABUSE_CLOSED' }),
    ]);
    const destroyed = await h.bLog.next('connectionDestroyed', (e) => e.connection.connectionId === id);
    expect(destroyed.reason).toBe('protocolError');
    await h.stillServing();
  });

  it('nothing a client sends crashes the server: 400 random frames get documented codes and the session keeps serving', async () => {
    const types = [
      'connect',
      'resume',
      'signal',
      'publish',
      'unpublish',
      'forceDisconnect',
      'forceUnpublish',
      'ack',
      'hb',
      'bogus',
    ];
    const anything = fc.oneof(fc.jsonValue(), fc.integer(), fc.double(), fc.string());
    const frameArb = fc.oneof(
      fc.jsonValue().map((v) => JSON.stringify(v) ?? 'null'),
      fc.string({ maxLength: 64 }),
      fc
        .record(
          {
            t: fc.constantFrom(...types),
            seq: anything,
            ack: anything,
            type: anything,
            data: anything,
            to: anything,
            stream: anything,
            streamId: anything,
            connectionId: anything,
            v: anything,
          },
          { requiredKeys: ['t'] },
        )
        .map((v) => JSON.stringify(v)),
    );
    const samples = fc.sample(frameArb, { numRuns: 400, seed: 424242 });
    const documented = new Set<number>(Object.values(ERRORS).map((e) => e.num));
    let raw = (await h.raw('fuzz')).raw;
    for (const text of samples) {
      if (!raw.isOpen) {
        const closed = await raw.waitClosed();
        expect(documented.has(closed.code), `close code ${closed.code}`).toBe(true);
        raw = (await h.raw('fuzz')).raw;
      }
      raw.send(text);
    }
    // Whatever state the last fuzzing socket is in, the server answers a fresh, correct client.
    const fresh = (await h.raw('after-fuzz')).raw;
    fresh.send(signal(1, 'chat', 'after-fuzz'));
    expect(await fresh.reply(1)).toMatchObject({ ok: true });
    for (const r of h.raws)
      for (const f of r.frames)
        if (f.t === 'error') expect(isErrorCode(f.code), `error code ${f.code}`).toBe(true);
    for (const r of h.raws) expect(r.garbage).toEqual([]);
    await h.stillServing();
    const late = await h.t.join(h.sessionId, { data: 'late' });
    expect(late.state).toBe('connected');
  });
});

describe('bad frames before the handshake: refused with their code, and the socket closed with it', () => {
  const h = harness();

  const cases: Array<[string, string, keyof typeof ERRORS]> = [
    ['invalid JSON', '{"t":', 'FRAME_INVALID_JSON'],
    ['a connect without a token', JSON.stringify({ t: 'connect', v: 1, sessionId: 'abc' }), 'FRAME_INVALID'],
    [
      'a connect whose v is not an integer',
      JSON.stringify({ t: 'connect', v: 1.5, sessionId: 'abc', token: 't' }),
      'FRAME_INVALID',
    ],
    ['a heartbeat', JSON.stringify({ t: 'hb' }), 'FRAME_UNEXPECTED'],
    ['an ack', JSON.stringify({ t: 'ack', ack: 0 }), 'FRAME_UNEXPECTED'],
    ['a signal', JSON.stringify(signal(1, 'chat', 'early')), 'FRAME_UNEXPECTED'],
    ['a publish', JSON.stringify({ t: 'publish', seq: 1, stream: {} }), 'FRAME_UNEXPECTED'],
    ['a leave', JSON.stringify({ t: 'leave' }), 'FRAME_UNEXPECTED'],
  ];

  it.each(cases)(
    '%s as the first frame gets an error frame %s and the matching close code',
    async (_label, text, code) => {
      const raw = await h.open();
      raw.send(text);
      expect(await raw.error(0)).toMatchObject({ t: 'error', code });
      const closed = await raw.waitClosed();
      expect(closed.code).toBe(numberOf(code));
      expect(raw.frames.filter((f) => f.t !== 'error')).toEqual([]);
      await h.stillServing();
      expect(h.bLog.of('connectionCreated')).toEqual([]);
    },
  );

  it('a frame over 64 KiB before the handshake is refused with FRAME_TOO_LARGE and close code 4202', async () => {
    const raw = await h.open();
    const frame = JSON.stringify({
      t: 'connect',
      v: PROTOCOL_VERSION,
      sessionId: h.sessionId,
      token: await h.t.token(h.sessionId),
    });
    raw.send(frame.slice(0, -1) + ' '.repeat(LIMITS.frameMaxBytes - frame.length + 1) + '}');
    expect(await raw.error(0)).toMatchObject({ code: 'FRAME_TOO_LARGE' });
    expect((await raw.waitClosed()).code).toBe(numberOf('FRAME_TOO_LARGE'));
    expect(raw.ofType('welcome')).toEqual([]);
    await h.stillServing();
    expect(h.bLog.of('connectionCreated')).toEqual([]);
  });

  it.each([0, 2, 999])(
    'a connect with protocol version %s is refused with PROTOCOL_VERSION_UNSUPPORTED and close code 4106',
    async (v) => {
      const raw = await h.open();
      raw.send({ t: 'connect', v, sessionId: h.sessionId, token: await h.t.token(h.sessionId) });
      const err = await raw.error(0);
      expect(err).toMatchObject({ code: 'PROTOCOL_VERSION_UNSUPPORTED' });
      expect(err.message).toContain(`v${v}`);
      expect((await raw.waitClosed()).code).toBe(numberOf('PROTOCOL_VERSION_UNSUPPORTED'));
      expect(raw.ofType('welcome')).toEqual([]);
      await h.stillServing();
      expect(h.bLog.of('connectionCreated')).toEqual([]);
    },
  );

  it('a resume with an unsupported protocol version is refused with PROTOCOL_VERSION_UNSUPPORTED (4106), before the secret is even looked at', async () => {
    const { id, welcome } = await h.raw('resumer');
    const raw = await h.open();
    raw.send({ t: 'resume', v: 2, sessionId: h.sessionId, connectionId: id, secret: welcome.secret, ack: 0 });
    expect(await raw.error(0)).toMatchObject({ code: 'PROTOCOL_VERSION_UNSUPPORTED' });
    expect((await raw.waitClosed()).code).toBe(numberOf('PROTOCOL_VERSION_UNSUPPORTED'));
    expect(raw.ofType('resumed')).toEqual([]);
  });
});

describe('rate limits (fake server clock, so the bucket does not refill by accident)', () => {
  const clock = { current: undefined as FakeClock | undefined };
  // The SDK clients run on real time and never see the fake one move: a long heartbeat timeout keeps them attached while it jumps.
  const h = harness(() => ({
    clock: (clock.current = new FakeClock(Date.now())),
    options: { transport: { heartbeatTimeoutMs: 600_000 } },
  }));

  const flood = (raw: RawClient, from: number, count: number, tag: string) => {
    for (let i = 0; i < count; i++) raw.send(signal(from + i, 'flood', `${tag}${from + i}`));
  };
  const replies = (raw: RawClient, from: number, to: number) =>
    raw.ofType('reply').filter((r) => r.re >= from && r.re <= to);

  it('150 signals back to back: the first 100 are accepted, the other 50 get RATE_LIMITED, the others receive exactly the 100 in order, and the connection stays up', async () => {
    const { raw, id } = await h.raw('flooder');
    flood(raw, 1, 150, 's');
    await raw.reply(150);
    const rs = replies(raw, 1, 150);
    expect(rs.map((r) => r.re)).toEqual(Array.from({ length: 150 }, (_, i) => i + 1));
    expect(rs.slice(0, LIMITS.signalBurst).every((r) => r.ok === true)).toBe(true);
    for (const r of rs.slice(LIMITS.signalBurst))
      expect(r).toMatchObject({ ok: false, code: 'RATE_LIMITED' });
    await h.stillServing(); // a's marker is applied after the flood, so b has all of it by then
    expect(h.signalsAtB(id, 'flood')).toEqual(
      Array.from({ length: LIMITS.signalBurst }, (_, i) => `s${i + 1}`),
    );
    expect(raw.isOpen).toBe(true);
  });

  it('past the burst the SDK’s signal() rejects with a TetherError of code RATE_LIMITED, and the session stays connected', async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 150 }, (_, i) => h.a.signal({ type: 'sdk-flood', data: String(i) })),
    );
    expect(results.slice(0, LIMITS.signalBurst).every((r) => r.status === 'fulfilled')).toBe(true);
    for (const r of results.slice(LIMITS.signalBurst))
      expect(r).toMatchObject({ status: 'rejected', reason: { name: 'TetherError', code: 'RATE_LIMITED' } });
    expect(h.a.state).toBe('connected');
    await h.bLog.signal('sdk-flood', String(LIMITS.signalBurst - 1));
    expect(h.bLog.of('signal').filter((e) => e.type === 'sdk-flood')).toHaveLength(LIMITS.signalBurst);
  });

  it('the signal bucket refills at 50 per second', async () => {
    const { raw } = await h.raw('steady');
    flood(raw, 1, LIMITS.signalBurst, 'a');
    await raw.reply(LIMITS.signalBurst);
    expect(replies(raw, 1, LIMITS.signalBurst).every((r) => r.ok)).toBe(true);
    clock.current!.advance(1000);
    flood(raw, LIMITS.signalBurst + 1, LIMITS.signalRatePerSecond + 1, 'b');
    const last = LIMITS.signalBurst + LIMITS.signalRatePerSecond + 1;
    await raw.reply(last);
    const rs = replies(raw, LIMITS.signalBurst + 1, last);
    expect(rs.slice(0, LIMITS.signalRatePerSecond).every((r) => r.ok)).toBe(true);
    expect(rs[LIMITS.signalRatePerSecond]).toMatchObject({ ok: false, code: 'RATE_LIMITED' });
    await h.stillServing();
  });

  it('a signal flood is not served forever: past 50 rate-limited signals within 10 s the connection is closed with 4221 (ABUSE_CLOSED)', async () => {
    const { raw, id } = await h.raw('flood-forever');
    const total = LIMITS.signalBurst + LIMITS.abuseStrikesPer10s + 1; // 100 accepted, then 51 rejected
    flood(raw, 1, total, 'f');
    const closed = await raw.waitClosed();
    expect(closed.code).toBe(numberOf('ABUSE_CLOSED'));
    expect(raw.ofType('bye')).toEqual([
      expect.objectContaining({ reason: 'protocolError', code: 'ABUSE_CLOSED' }),
    ]);
    expect((await h.bLog.next('connectionDestroyed', (e) => e.connection.connectionId === id)).reason).toBe(
      'protocolError',
    );
    await h.stillServing();
  });
});

describe('handshake timeout (every server timer runs on the injected clock)', () => {
  const clock = { current: undefined as FakeClock | undefined };
  // The SDK clients run on real time and never see the fake one move: a long heartbeat timeout keeps them attached while it jumps.
  const h = harness(() => ({
    clock: (clock.current = new FakeClock(Date.now())),
    options: { transport: { heartbeatTimeoutMs: 600_000 } },
  }));

  it('a socket that sends no connect or resume within 10 s gets HANDSHAKE_TIMEOUT and close code 4107, not a moment before', async () => {
    const early = await h.open();
    const silent = await h.open();
    clock.current!.advance(9_999);
    // Still in its handshake at 9.999 s: a bad first frame gets FRAME_UNEXPECTED, not HANDSHAKE_TIMEOUT.
    early.send({ t: 'hb' });
    expect(await early.error(0)).toMatchObject({ code: 'FRAME_UNEXPECTED' });
    expect(silent.frames).toEqual([]);
    expect(silent.isOpen).toBe(true);

    clock.current!.advance(1);
    expect(await silent.error(0)).toMatchObject({ code: 'HANDSHAKE_TIMEOUT' });
    expect((await silent.waitClosed()).code).toBe(numberOf('HANDSHAKE_TIMEOUT'));
    expect(silent.frames).toHaveLength(1);
    await h.stillServing();
  });

  it('a socket that completed its handshake is never closed by the handshake timer', async () => {
    const { raw } = await h.raw('prompt');
    clock.current!.advance(10_000);
    clock.current!.advance(5_000);
    raw.send(signal(1, 'tick', 'after-15-s'));
    expect(await raw.reply(1)).toMatchObject({ ok: true });
    expect(raw.isOpen).toBe(true);
    expect(raw.ofType('error')).toEqual([]);
    expect(raw.ofType('bye')).toEqual([]);
  });
});
