import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestServer, testCodec, waitFor, type TestServer } from '@tether/testkit';
import type { Session, SessionEvents } from '../src/index.js';

/** Records every event of the given names, in order, as `name:detail`. */
function record(session: Session, names: Array<keyof SessionEvents>): string[] {
  const log: string[] = [];
  for (const name of names)
    session.on(name, (e: any) => {
      const detail =
        e.connection?.data ??
        (e.stream ? (e.reason ?? e.stream.name) : undefined) ??
        e.reason ??
        (e.type ? `${e.type}=${e.data}` : '');
      log.push(`${String(name)}:${detail}${e.reason && e.connection ? `:${e.reason}` : ''}`);
    });
  return log;
}

const until = (cond: () => boolean) => waitFor(cond, 'the expected events', 5000);

describe('presence and signals over real sockets', () => {
  let t: TestServer;
  let sessionId: string;
  beforeEach(async () => {
    t = await startTestServer();
    sessionId = await t.createSession();
  });
  afterEach(async () => t.close());

  it('tells each joiner who is already there, and the others who arrived, in order', async () => {
    const a = await t.join(sessionId, { data: 'alice' });
    const aLog = record(a, ['connectionCreated', 'connectionDestroyed']);
    const b = await t.join(sessionId, { data: 'bob' });
    const c = new (b.constructor as typeof Session)({ url: t.url, sessionId, codec: testCodec() });
    const cLog = record(c, ['sessionConnected', 'connectionCreated']);
    await c.connect(await t.token(sessionId, 'publisher', 'carol'));
    await until(() => aLog.length === 2);
    expect(aLog).toEqual(['connectionCreated:bob', 'connectionCreated:carol']);
    expect(cLog).toEqual(['sessionConnected:carol', 'connectionCreated:alice', 'connectionCreated:bob']);
    expect(c.connections.map((x) => x.data).sort()).toEqual(['alice', 'bob', 'carol']);
    b.disconnect();
    await until(() => aLog.length === 3);
    expect(aLog[2]).toBe('connectionDestroyed:bob:clientDisconnected');
    c.disconnect();
  });

  it('delivers a signal to everyone exactly once, and a directed one only to its target', async () => {
    const a = await t.join(sessionId, { data: 'a' });
    const b = await t.join(sessionId, { data: 'b' });
    const c = await t.join(sessionId, { data: 'c' });
    const got = new Map<Session, string[]>([
      [a, []],
      [b, []],
      [c, []],
    ]);
    for (const [s, list] of got) s.on('signal', (e) => list.push(`${e.from?.data}:${e.type}:${e.data}`));
    const typed: string[] = [];
    b.on('signal:chat', (e) => typed.push(e.data));
    for (let i = 0; i < 20; i++) await a.signal({ type: 'chat', data: String(i) });
    await b.signal({ type: 'dm', data: 'hi', to: c.connection!.connectionId });
    await until(() => got.get(a)!.length === 20 && got.get(b)!.length === 20 && got.get(c)!.length === 21);
    const expected = Array.from({ length: 20 }, (_, i) => `a:chat:${i}`);
    expect(got.get(a)).toEqual(expected);
    expect(got.get(b)).toEqual(expected);
    expect(got.get(c)).toEqual([...expected, 'b:dm:hi']);
    expect(typed).toEqual(expected.map((s) => s.split(':')[2]));
  });

  it('publishes and unpublishes stream descriptors with events for the others', async () => {
    const a = await t.join(sessionId, { data: 'a' });
    const b = await t.join(sessionId, { data: 'b' });
    const bLog = record(b, ['streamCreated', 'streamDestroyed']);
    const stream = await a.publish({ name: 'cam', hasAudio: true, hasVideo: true });
    expect(stream.connectionId).toBe(a.connection!.connectionId);
    await until(() => bLog.length === 1);
    expect(b.streams.map((s) => s.name)).toEqual(['cam']);
    const late = await t.join(sessionId, { data: 'late' });
    expect(late.streams.map((s) => s.streamId)).toEqual([stream.streamId]);
    await a.unpublish(stream.streamId);
    await until(() => bLog.length === 2);
    expect(bLog).toEqual(['streamCreated:cam', 'streamDestroyed:clientDisconnected']);
    expect(a.streams).toEqual([]);
  });

  it('the server API lists connections and streams, signals, and force-disconnects', async () => {
    const a = await t.join(sessionId, { data: 'a' });
    const b = await t.join(sessionId, { data: 'b' });
    await b.publish({ name: 'cam' });
    const conns = await t.api.listConnections(sessionId);
    expect(conns.map((c) => c.data).sort()).toEqual(['a', 'b']);
    expect((await t.api.listStreams(sessionId)).map((s) => s.name)).toEqual(['cam']);
    const aSignals: string[] = [];
    a.on('signal', (e) => aSignals.push(`${e.from === null ? 'server' : 'peer'}:${e.data}`));
    expect(await t.api.signal(sessionId, { type: 'note', data: 'all' })).toEqual({ delivered: 2 });
    expect(
      await t.api.signal(sessionId, { type: 'note', data: 'you', to: a.connection!.connectionId }),
    ).toEqual({ delivered: 1 });
    await until(() => aSignals.length === 2);
    expect(aSignals).toEqual(['server:all', 'server:you']);
    const aLog = record(a, ['connectionDestroyed', 'streamDestroyed']);
    const bEnd = b.next('sessionDisconnected');
    await t.api.forceDisconnect(sessionId, b.connection!.connectionId);
    expect((await bEnd).reason).toBe('forceDisconnected');
    await until(() => aLog.length === 2);
    expect(aLog).toEqual(['streamDestroyed:forceDisconnected', 'connectionDestroyed:b:forceDisconnected']);
    expect(b.state).toBe('disconnected');
  });
});
