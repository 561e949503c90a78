import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { jsonCodec, msgpackCodec, type Session } from '@tether/client';
import { startTestServer, waitFor, type TestServer } from '@tether/testkit';

/**
 * One session, clients on both codecs: the room encodes each event once per codec in use, and
 * every client sees the same thing whatever its codec — the same signals, in order, with the
 * same data, the same stream names and connection data. Text travels as Unicode: a lone
 * surrogate (not text; UTF-8 cannot carry it) arrives as U+FFFD for everyone, long or short.
 */
const LONE = '\ud800';
const TEXTS = [
  'plain',
  'é€😀',
  `short ${LONE} lone`,
  `${'long '.repeat(20)}${LONE}${'\udc00'}tail`, // past the length where MessagePack's encoder changes method
  `${'x'.repeat(300)}\udbff`,
];
const asUtf8 = (text: string) => Buffer.from(text, 'utf8').toString('utf8');

describe('clients on JSON and on MessagePack in one session see the same session', () => {
  let t: TestServer;
  let sessionId: string;
  beforeEach(async () => {
    t = await startTestServer();
    sessionId = await t.createSession();
  });
  afterEach(async () => t.close());

  const join = (data: string, codec: typeof jsonCodec) => t.join(sessionId, { data, codec });
  const codecOf = (s: Session) =>
    t.server.hub.rooms.get(sessionId)?.member(s.connection!.connectionId)?.codec.name;

  it('every signal reaches both, in order, with the same data, from either side and from the server API', async () => {
    const j = await join('json', jsonCodec);
    const m = await join('msgpack', msgpackCodec);
    expect([codecOf(j), codecOf(m)]).toEqual(['json', 'msgpack']);
    const got = new Map<Session, string[]>([
      [j, []],
      [m, []],
    ]);
    for (const [s, list] of got) s.on('signal', (e) => list.push(`${e.from?.data ?? 'api'}:${e.data}`));
    const expected: string[] = [];
    for (const text of TEXTS) {
      await j.signal({ type: 'x', data: text });
      await m.signal({ type: 'x', data: text });
      await t.api.signal(sessionId, { type: 'x', data: text });
      expected.push(`json:${asUtf8(text)}`, `msgpack:${asUtf8(text)}`, `api:${asUtf8(text)}`);
    }
    await waitFor(() => [...got.values()].every((l) => l.length === expected.length), 'every signal');
    expect(got.get(j)).toEqual(expected);
    expect(got.get(m)).toEqual(expected);
  });

  it('stream names and connection data read the same on both', async () => {
    const j = await join(`json ${LONE}${'j'.repeat(80)}`, jsonCodec);
    const m = await join(`msgpack ${LONE}${'m'.repeat(80)}`, msgpackCodec);
    for (const [from, to] of [
      [j, m],
      [m, j],
    ] as const) {
      const name = `${from === j ? 'j' : 'm'} ${'cam '.repeat(15)}${LONE}`;
      const seen = new Promise<string>((resolve) => to.once('streamCreated', (e) => resolve(e.stream.name)));
      const stream = await from.publish({ name });
      expect(stream.name).toBe(asUtf8(name));
      expect(await seen).toBe(asUtf8(name));
    }
    const data = (s: Session) => s.connections.map((c) => c.data).sort();
    expect(data(j)).toEqual(data(m));
    expect(data(m)).toEqual(
      [`json ${LONE}${'j'.repeat(80)}`, `msgpack ${LONE}${'m'.repeat(80)}`].map(asUtf8),
    );
  });
});
