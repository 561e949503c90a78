import { describe, expect, it } from 'vitest';
import { decodeClientFrame, decodeServerFrame, encodeFrame, type Decoded } from './codec.js';
import { clientFrameSchema, serverFrameSchema, type ClientFrame, type ServerFrame } from './frames.js';
import { LIMITS } from './limits.js';

const conn = { connectionId: 'conn-1', data: 'name=Ada', creationTime: 1_700_000_000_000 };
const stream = {
  streamId: 'str.1',
  connectionId: 'conn-1',
  name: 'camera',
  hasAudio: true,
  hasVideo: false,
  videoType: 'screen' as const,
  creationTime: 1_700_000_000_500,
};
const config = {
  heartbeatIntervalMs: 5000,
  heartbeatTimeoutMs: 15000,
  reconnectWindowMs: 30000,
  ackDelayMs: 100,
  mediaWindowMs: 60000,
};

/** One sample of every client frame type, optional fields present and absent. */
const clientFrames: Record<ClientFrame['t'], ClientFrame[]> = {
  connect: [
    { t: 'connect', v: 1, sessionId: '1_MX40-abc~x.y', token: 'eyJ.token.sig' },
    { t: 'connect', v: 1, sessionId: 's', token: 't', sdk: 'tether-js/1.0.0' },
  ],
  resume: [{ t: 'resume', v: 1, sessionId: 's', connectionId: 'conn-1', secret: 'sekrit', ack: 0 }],
  signal: [
    { t: 'signal', seq: 1, type: 'chat', data: 'hello' },
    { t: 'signal', seq: 2, ack: 7, type: 'chat:msg', data: '€😀', to: 'conn-2' },
  ],
  publish: [
    {
      t: 'publish',
      seq: 3,
      ack: 0,
      stream: { name: 'cam', hasAudio: false, hasVideo: true, videoType: 'camera' },
    },
  ],
  unpublish: [
    { t: 'unpublish', seq: 4, streamId: 'str.1' },
    { t: 'unpublish', seq: 4, streamId: 'str.1', reason: 'networkDisconnected' },
  ],
  forceDisconnect: [{ t: 'forceDisconnect', seq: 5, ack: 2, connectionId: 'conn-2' }],
  forceUnpublish: [{ t: 'forceUnpublish', seq: 6, streamId: 'str.1' }],
  publishMedia: [
    { t: 'publishMedia', seq: 7, streamId: 'str.1', sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n' },
    { t: 'publishMedia', seq: 8, streamId: 'str.1', sdp: 'v=0', fresh: true },
  ],
  subscribe: [{ t: 'subscribe', seq: 8, ack: 1, streamId: 'str.1' }],
  answerMedia: [{ t: 'answerMedia', seq: 9, subscriptionId: 'sub-1', sdp: 'v=0' }],
  restartMedia: [{ t: 'restartMedia', seq: 10, subscriptionId: 'sub-1' }],
  unsubscribe: [{ t: 'unsubscribe', seq: 11, subscriptionId: 'sub-1' }],
  relay: [
    { t: 'relay', seq: 12, subscriptionId: 'sub-1', kind: 'offer', sdp: 'v=0' },
    { t: 'relay', seq: 13, subscriptionId: 'sub-1', kind: 'restart' },
  ],
  streamProperty: [
    { t: 'streamProperty', seq: 14, streamId: 'str.1', hasAudio: false },
    { t: 'streamProperty', seq: 15, streamId: 'str.1', hasAudio: true, hasVideo: false },
  ],
  ack: [
    { t: 'ack', ack: 0 },
    { t: 'ack', ack: Number.MAX_SAFE_INTEGER },
  ],
  hb: [{ t: 'hb' }, { t: 'hb', ack: 12 }],
  leave: [{ t: 'leave' }],
};

/** One sample of every server frame type. */
const serverFrames: Record<ServerFrame['t'], ServerFrame[]> = {
  welcome: [
    {
      t: 'welcome',
      v: 1,
      session: { sessionId: 's', mediaMode: 'routed', archiveMode: 'manual', creationTime: 1 },
      connection: { ...conn, role: 'moderator' },
      secret: 'sekrit',
      connections: [
        { connectionId: 'conn-2', data: '', creationTime: 2 },
        { connectionId: 'conn-3', data: 'x', creationTime: 3, reconnecting: true },
      ],
      streams: [stream],
      config,
    },
    {
      t: 'welcome',
      v: 1,
      session: { sessionId: 's', mediaMode: 'relayed', archiveMode: 'always', creationTime: 0 },
      connection: { ...conn, role: 'subscriber' },
      secret: 's',
      connections: [],
      streams: [],
      config: { ...config, reconnectWindowMs: 0, ackDelayMs: 0 },
      archive: { id: 'ar-1', name: 'class' },
    },
  ],
  resumed: [{ t: 'resumed', ack: 3, seq: 0, config }],
  connectionCreated: [{ t: 'connectionCreated', seq: 1, connection: conn }],
  connectionDestroyed: [
    { t: 'connectionDestroyed', seq: 2, ack: 1, connectionId: 'conn-1', reason: 'networkDisconnected' },
  ],
  connectionReconnecting: [{ t: 'connectionReconnecting', seq: 3, connectionId: 'conn-1' }],
  connectionReconnected: [{ t: 'connectionReconnected', seq: 4, connectionId: 'conn-1' }],
  presence: [
    {
      t: 'presence',
      seq: 5,
      changes: [
        { t: 'connectionCreated', connection: conn },
        { t: 'connectionReconnecting', connectionId: 'conn-2' },
        { t: 'connectionReconnected', connectionId: 'conn-2' },
        { t: 'connectionDestroyed', connectionId: 'conn-3', reason: 'clientDisconnected' },
      ],
    },
  ],
  streamCreated: [{ t: 'streamCreated', seq: 5, stream }],
  streamDestroyed: [
    { t: 'streamDestroyed', seq: 6, streamId: 'str.1', connectionId: 'conn-1', reason: 'forceUnpublished' },
  ],
  signal: [
    { t: 'signal', seq: 7, from: 'conn-2', type: 'chat', data: 'hi' },
    { t: 'signal', seq: 8, ack: 4, from: null, type: 'server', data: '', to: 'conn-1' },
  ],
  reply: [
    { t: 'reply', seq: 9, re: 1, ok: true },
    { t: 'reply', seq: 10, re: 3, ok: true, stream },
    {
      t: 'reply',
      seq: 11,
      ack: 3,
      re: 2,
      ok: false,
      code: 'NOT_PERMITTED',
      message: 'subscribers cannot publish',
    },
    { t: 'reply', seq: 12, re: 8, ok: true, subscriptionId: 'sub-1', sdp: 'v=0' },
  ],
  streamPropertyChanged: [{ t: 'streamPropertyChanged', seq: 13, streamId: 'str.1', hasVideo: false }],
  streamMedia: [{ t: 'streamMedia', seq: 14, streamId: 'str.1', flowing: false }],
  mediaMoved: [{ t: 'mediaMoved', seq: 16 }],
  archiveStarted: [{ t: 'archiveStarted', seq: 17, id: 'ar-1', name: 'class' }],
  archiveStopped: [{ t: 'archiveStopped', seq: 18, id: 'ar-1' }],
  mediaRelay: [
    {
      t: 'mediaRelay',
      seq: 15,
      subscriptionId: 'sub-1',
      streamId: 'str.1',
      from: 'conn-2',
      kind: 'subscribe',
    },
    {
      t: 'mediaRelay',
      seq: 16,
      ack: 9,
      subscriptionId: 'sub-1',
      streamId: 'str.1',
      from: 'conn-2',
      kind: 'answer',
      sdp: 'v=0',
    },
  ],
  ack: [{ t: 'ack', ack: 11 }],
  hb: [{ t: 'hb' }, { t: 'hb', ack: 1 }],
  error: [
    { t: 'error', code: 'FRAME_INVALID', message: 'seq: too small' },
    { t: 'error', code: 'RATE_LIMITED', message: 'slow down', re: 42 },
  ],
  bye: [{ t: 'bye', reason: 'serverShutdown', code: 'SERVER_SHUTDOWN', message: 'bye' }],
};

function discriminators(schema: {
  def: { options: ReadonlyArray<{ shape: { t: { def: { values: unknown[] } } } }> };
}): string[] {
  return schema.def.options.map((o) => String(o.shape.t.def.values[0])).sort();
}

function failure(decoded: Decoded<unknown>): Extract<Decoded<unknown>, { ok: false }> {
  if (decoded.ok) throw new Error(`expected a decode failure, got ${JSON.stringify(decoded.frame)}`);
  return decoded;
}

describe('encodeFrame / decodeClientFrame', () => {
  it('has a sample for every client frame type of the schema', () => {
    expect(Object.keys(clientFrames).sort()).toEqual(discriminators(clientFrameSchema as never));
  });

  for (const [t, samples] of Object.entries(clientFrames)) {
    it(`round-trips every ${t} client frame unchanged`, () => {
      for (const frame of samples) {
        const text = encodeFrame(frame);
        expect(() => JSON.parse(text)).not.toThrow();
        expect(decodeClientFrame(text)).toEqual({ ok: true, frame });
      }
    });
  }

  it('fills the stream defaults of a publish frame', () => {
    const decoded = decodeClientFrame('{"t":"publish","seq":1,"stream":{}}');
    expect(decoded).toEqual({
      ok: true,
      frame: {
        t: 'publish',
        seq: 1,
        stream: { name: '', hasAudio: true, hasVideo: true, videoType: 'camera' },
      },
    });
  });

  it('drops unknown keys rather than passing them through', () => {
    const decoded = decodeClientFrame('{"t":"leave","evil":{"x":1}}');
    expect(decoded).toEqual({ ok: true, frame: { t: 'leave' } });
  });

  it('refuses a server-only frame type from a client', () => {
    const bad = failure(decodeClientFrame(encodeFrame(serverFrames.bye[0]!)));
    expect(bad.code).toBe('FRAME_INVALID');
    expect(bad.message).toMatch(/^t: /);
  });
});

describe('encodeFrame / decodeServerFrame', () => {
  it('has a sample for every server frame type of the schema', () => {
    expect(Object.keys(serverFrames).sort()).toEqual(discriminators(serverFrameSchema as never));
  });

  for (const [t, samples] of Object.entries(serverFrames)) {
    it(`round-trips every ${t} server frame unchanged`, () => {
      for (const frame of samples) {
        const text = encodeFrame(frame);
        expect(() => JSON.parse(text)).not.toThrow();
        expect(decodeServerFrame(text)).toEqual({ ok: true, frame });
      }
    });
  }

  it('refuses a presence batch that is empty, past its bound, or has a change of another kind', () => {
    const change = { t: 'connectionReconnecting', connectionId: 'conn-2' };
    const batch = (changes: unknown[]) => JSON.stringify({ t: 'presence', seq: 1, changes });
    expect(decodeServerFrame(batch(Array(LIMITS.presenceBatchMaxChanges).fill(change))).ok).toBe(true);
    for (const changes of [
      [],
      Array(LIMITS.presenceBatchMaxChanges + 1).fill(change),
      [{ t: 'signal', from: null, type: 'a', data: '' }],
      [{ t: 'connectionDestroyed', connectionId: 'conn-2', reason: 'whatever' }],
    ]) {
      const bad = failure(decodeServerFrame(batch(changes)));
      expect(bad).toMatchObject({ code: 'FRAME_INVALID', seq: 1 });
      expect(bad.message).toMatch(/^changes/);
    }
  });

  it('refuses a client-only frame type from a server', () => {
    const bad = failure(decodeServerFrame(encodeFrame(clientFrames.connect[0]!)));
    expect(bad.code).toBe('FRAME_INVALID');
    expect(bad.message).toMatch(/^t: /);
  });
});

describe('decode failures', () => {
  it.each(['', '{', '{"t":"leave"', "{'t':'leave'}", 'undefined', 'NaN', '{"t":"leave",}', '\u0000'])(
    'gives FRAME_INVALID_JSON for text that is not JSON: %j',
    (text) => {
      for (const decode of [decodeClientFrame, decodeServerFrame]) {
        const bad = failure(decode(text));
        expect(bad).toEqual({ ok: false, code: 'FRAME_INVALID_JSON', message: 'frame is not valid JSON' });
        expect(bad).not.toHaveProperty('seq');
      }
    },
  );

  it.each(['null', '[]', '[{"t":"leave"}]', '1', '"leave"', 'true'])(
    'names the whole frame when JSON %s is not an object',
    (text) => {
      const bad = failure(decodeClientFrame(text));
      expect(bad.code).toBe('FRAME_INVALID');
      expect(bad.message).toMatch(/^frame: /);
      expect(bad).not.toHaveProperty('seq');
    },
  );

  it('names `t` for an unknown or missing frame type, keeping seq', () => {
    const unknown = failure(decodeClientFrame('{"t":"nope","seq":3}'));
    expect(unknown).toMatchObject({ code: 'FRAME_INVALID', seq: 3 });
    expect(unknown.message).toMatch(/^t: /);
    const missing = failure(decodeServerFrame('{"seq":4}'));
    expect(missing).toMatchObject({ code: 'FRAME_INVALID', seq: 4 });
    expect(missing.message).toMatch(/^t: /);
    const wrongType = failure(decodeClientFrame('{"t":7}'));
    expect(wrongType.message).toMatch(/^t: /);
  });

  // Each kind of schema violation, the path the message must name, and whether the frame had a seq.
  // seq: the `seq` the failure must carry; undefined: none; null: not checked here (see the echo test below).
  const violations: Array<[kind: string, text: string, path: string, seq: number | undefined | null]> = [
    ['missing field', '{"t":"signal","seq":2,"type":"a"}', 'data', 2],
    ['wrong type', '{"t":"signal","seq":2,"type":"a","data":5}', 'data', 2],
    ['seq zero', '{"t":"signal","seq":0,"type":"a","data":"b"}', 'seq', 0],
    ['seq negative', '{"t":"unpublish","seq":-1,"streamId":"s"}', 'seq', -1],
    ['seq not an integer', '{"t":"unpublish","seq":1.5,"streamId":"s"}', 'seq', null],
    ['seq beyond safe integers', '{"t":"unpublish","seq":9007199254740992,"streamId":"s"}', 'seq', null],
    ['seq as a string', '{"t":"unpublish","seq":"1","streamId":"s"}', 'seq', undefined],
    ['negative ack', '{"t":"ack","ack":-1}', 'ack', undefined],
    ['nested field', '{"t":"publish","seq":2,"stream":{"name":5}}', 'stream.name', 2],
    ['bad enum value', '{"t":"publish","seq":2,"stream":{"videoType":"webcam"}}', 'stream.videoType', 2],
    ['string too long', `{"t":"publish","seq":2,"stream":{"name":"${'n'.repeat(257)}"}}`, 'stream.name', 2],
    ['id with a bad character', '{"t":"unpublish","seq":9,"streamId":"a/b"}', 'streamId', 9],
    ['empty id', '{"t":"forceDisconnect","seq":9,"connectionId":""}', 'connectionId', 9],
    ['bad session id', '{"t":"connect","v":1,"sessionId":"a b","token":"x"}', 'sessionId', undefined],
    ['empty token', '{"t":"connect","v":1,"sessionId":"s","token":""}', 'token', undefined],
    ['empty sdp', '{"t":"publishMedia","seq":3,"streamId":"s","sdp":""}', 'sdp', 3],
    ['bad relay kind', '{"t":"relay","seq":3,"subscriptionId":"s","kind":"bye"}', 'kind', 3],
    [
      'signal type over the frame bound',
      `{"t":"signal","seq":3,"type":"${'a'.repeat(1025)}","data":""}`,
      'type',
      3,
    ],
  ];

  it.each(violations)('gives FRAME_INVALID naming the path for a %s', (_kind, text, path, seq) => {
    const bad = failure(decodeClientFrame(text));
    expect(bad.code).toBe('FRAME_INVALID');
    expect(bad.message.startsWith(`${path}: `)).toBe(true);
    expect(bad.message.length).toBeGreaterThan(path.length + 2);
    if (seq === undefined) expect(bad).not.toHaveProperty('seq');
    else if (seq !== null) expect(bad.seq).toBe(seq);
  });

  // zod/mini alone says "Invalid input" for everything; the protocol registers English messages.
  it.each([
    [
      'wrong type',
      '{"t":"signal","seq":2,"type":"a","data":5}',
      'data: Invalid input: expected string, received number',
    ],
    [
      'missing field',
      '{"t":"subscribe","seq":2}',
      'streamId: Invalid input: expected string, received undefined',
    ],
    ['seq zero', '{"t":"signal","seq":0,"type":"a","data":"b"}', 'seq: Too small: expected number to be >0'],
    [
      'empty token',
      '{"t":"connect","v":1,"sessionId":"s","token":""}',
      'token: Too small: expected string to have >=1 characters',
    ],
    [
      'bad enum value',
      '{"t":"relay","seq":3,"subscriptionId":"s","kind":"bye"}',
      'kind: Invalid option: expected one of "offer"|"answer"|"restart"',
    ],
  ])('says in English what was wrong: %s', (_kind, text, message) => {
    expect(failure(decodeClientFrame(text)).message).toBe(message);
  });

  const serverViolations: Array<[kind: string, frame: unknown, path: string]> = [
    ['unknown reason', { t: 'bye', reason: 'becauseISaidSo', code: 'X', message: 'm' }, 'reason'],
    [
      'array element',
      { ...serverFrames.welcome[0]!, streams: [{ ...stream, hasAudio: 'yes' }] },
      'streams.0.hasAudio',
    ],
    [
      'connection data over 1000 characters',
      { t: 'connectionCreated', seq: 1, connection: { ...conn, data: 'd'.repeat(1001) } },
      'connection.data',
    ],
    [
      'non-integer config',
      { t: 'resumed', ack: 0, seq: 0, config: { ...config, heartbeatIntervalMs: 0.5 } },
      'config.heartbeatIntervalMs',
    ],
    [
      'from missing (null is required for the server API)',
      { t: 'signal', seq: 1, type: 'a', data: 'b' },
      'from',
    ],
  ];

  it.each(serverViolations)(
    'gives FRAME_INVALID naming the path for a server frame with %s',
    (_kind, frame, path) => {
      const bad = failure(decodeServerFrame(JSON.stringify(frame)));
      expect(bad.code).toBe('FRAME_INVALID');
      expect(bad.message.startsWith(`${path}: `)).toBe(true);
    },
  );

  // The server echoes the extracted seq as `re` of an error frame (Hub.reject); an echo the client's own
  // decoder refuses turns a precise error into a second, confusing one.
  it.each([1.5, 1e300, -1])(
    'only extracts a seq that can be echoed as `re` of an error frame (seq %s)',
    (seq) => {
      const bad = failure(decodeClientFrame(`{"t":"unpublish","seq":${seq},"streamId":"a/b"}`));
      const echoed = encodeFrame({
        t: 'error',
        code: bad.code,
        message: bad.message,
        ...(bad.seq !== undefined ? { re: bad.seq } : {}),
      });
      expect(decodeServerFrame(echoed).ok).toBe(true);
    },
  );
});
