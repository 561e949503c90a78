import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import OpenTok from 'opentok';
import { Session, type SessionEvents } from '@tether/client';
import {
  RtpSource,
  TEST_PROJECT,
  startTestServer,
  waitFor,
  weriftRtc,
  type TestServer,
} from '@tether/testkit';

/**
 * The official `opentok` npm package (2.23), constructed with Tether's URL as its API URL,
 * driving a real Tether server: an OpenTok back end ported by changing that one URL.
 */
type Callback<T> = (err: Error | null, value?: T) => void;
const call = <T>(fn: (cb: Callback<T>) => void) =>
  new Promise<T>((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value as T))));

describe('the opentok server SDK against tether serve', () => {
  let t: TestServer;
  let ot: OpenTok;
  const sources: RtpSource[] = [];
  const sessions: Session[] = [];

  beforeEach(async () => {
    t = await startTestServer();
    ot = new OpenTok(TEST_PROJECT.apiKey, TEST_PROJECT.apiSecret, t.url);
  });
  afterEach(async () => {
    for (const s of sessions.splice(0)) s.disconnect();
    for (const s of sources.splice(0)) s.stop();
    await t.close();
  });

  const createSession = (opts: OpenTok.SessionOptions = {}) =>
    call<OpenTok.Session>((cb) => ot.createSession(opts, cb as never)).then((s) => s.sessionId);

  const join = async (sessionId: string, token: string) => {
    const s = new Session({ url: t.url, sessionId, rtc: weriftRtc });
    sessions.push(s);
    await s.connect(token);
    return s;
  };

  it('createSession makes a Tether session with its media and archive modes; both token formats join it with role and data', async () => {
    const routed = await createSession({ mediaMode: 'routed', archiveMode: 'always' });
    const relayed = await createSession();
    expect(await t.api.getSession(routed)).toMatchObject({ mediaMode: 'routed', archiveMode: 'always' });
    expect(await t.api.getSession(relayed)).toMatchObject({ mediaMode: 'relayed', archiveMode: 'manual' });
    // OpenTok refuses `always` without routed media, in the SDK and here.
    await expect(createSession({ archiveMode: 'always' })).rejects.toThrow(/routed/);

    const jwt = ot.generateToken(routed, { role: 'moderator', data: 'alice' });
    const t1 = ot.generateToken(routed, { role: 'subscriber', data: 'bob' }, true);
    expect(t1.startsWith('T1==')).toBe(true);
    const alice = await join(routed, jwt);
    const bob = await join(routed, t1);
    expect(alice.connection).toMatchObject({ data: 'alice' });
    expect(bob.connection).toMatchObject({ data: 'bob' });
    await waitFor(() => alice.connections.length === 2, 'alice sees bob');
    expect(alice.connections.map((c) => c.data)).toEqual(['alice', 'bob']);
    // The role is enforced: a subscriber's token cannot publish.
    await expect(bob.publish(bob.initPublisher({ tracks: [] }))).rejects.toMatchObject({
      code: 'NOT_PERMITTED',
    });
  });

  it('an expired or forged OpenTok token is refused with Tether’s codes', async () => {
    const sessionId = await createSession();
    const soon = ot.generateToken(sessionId, { expireTime: Math.floor(Date.now() / 1000) + 1 });
    const soonT1 = ot.generateToken(sessionId, { expireTime: Math.floor(Date.now() / 1000) + 1 }, true);
    const other = new OpenTok(TEST_PROJECT.apiKey, 'another-secret-entirely-0123456789', t.url);
    await expect(join(sessionId, other.generateToken(sessionId))).rejects.toMatchObject({
      code: 'TOKEN_INVALID_SIGNATURE',
    });
    await expect(join(sessionId, other.generateToken(sessionId, {}, true))).rejects.toMatchObject({
      code: 'TOKEN_INVALID_SIGNATURE',
    });
    // Whole seconds: the tokens expire at the next second boundary but one.
    await new Promise((r) => setTimeout(r, 2000 - (Date.now() % 1000)));
    await expect(join(sessionId, soon)).rejects.toMatchObject({ code: 'TOKEN_EXPIRED' });
    await expect(join(sessionId, soonT1)).rejects.toMatchObject({ code: 'TOKEN_EXPIRED' });
  });

  it('signal (to all and to one), forceDisconnect, listStreams and getStream act on the live session', async () => {
    const sessionId = await createSession();
    const a = await join(sessionId, ot.generateToken(sessionId, { data: 'a' }));
    const b = await join(sessionId, ot.generateToken(sessionId, { data: 'b' }));
    const got: Record<string, string[]> = { a: [], b: [] };
    for (const [name, s] of [
      ['a', a],
      ['b', b],
    ] as const)
      s.on('signal', (e: SessionEvents['signal']) =>
        got[name]!.push(`${e.type}:${e.data}:${e.from === null}`),
      );
    await call<void>((cb) => ot.signal(sessionId, null, { type: 'news', data: 'to all' }, cb as never));
    await call<void>((cb) =>
      ot.signal(sessionId, b.connection!.connectionId, { type: 'dm', data: 'to b' }, cb as never),
    );
    await waitFor(() => got.a!.length === 1 && got.b!.length === 2, 'the signals');
    expect(got).toEqual({ a: ['news:to all:true'], b: ['news:to all:true', 'dm:to b:true'] });
    await expect(
      call<void>((cb) => ot.signal(sessionId, 'no-such-connection', { type: 'x', data: '' }, cb as never)),
    ).rejects.toThrow(/not found/i);

    const source = new RtpSource();
    sources.push(source);
    source.start();
    await a.publish(a.initPublisher({ name: 'a-cam', tracks: source.tracks }));
    const streams = await call<OpenTok.Stream[]>((cb) => ot.listStreams(sessionId, cb as never));
    expect(streams.map((s) => [s.name, s.videoType])).toEqual([['a-cam', 'camera']]);
    const one = await call<OpenTok.Stream>((cb) => ot.getStream(sessionId, streams[0]!.id, cb as never));
    expect(one).toMatchObject({
      id: streams[0]!.id,
      name: 'a-cam',
      videoType: 'camera',
      layoutClassList: [],
    });
    await expect(call((cb) => ot.getStream(sessionId, 'nope', cb as never))).rejects.toThrow();

    const ended = new Promise<SessionEvents['sessionDisconnected']>((r) => b.once('sessionDisconnected', r));
    await call<void>((cb) => ot.forceDisconnect(sessionId, b.connection!.connectionId, cb as never));
    expect((await ended).reason).toBe('forceDisconnected');
    await expect(
      call<void>((cb) => ot.forceDisconnect(sessionId, b.connection!.connectionId, cb as never)),
    ).rejects.toThrow(/not found/i);
  });

  it('a back end of another project, or without credentials, is refused', async () => {
    const sessionId = await createSession();
    const stranger = new OpenTok('other-project', 'other-secret-0123456789abcdef', t.url);
    await expect(call((cb) => stranger.listStreams(sessionId, cb as never))).rejects.toThrow();
    const res = await fetch(`${t.url}/v2/project/${TEST_PROJECT.apiKey}/session/${sessionId}/stream`);
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ code: 403, tetherCode: 'API_AUTH_MISSING' });
  });
});
