import type { Session } from '@tether/client';
import { errorNumber } from '@tether/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '@tether/testkit';
import { RawClient, Recorder, marker } from './raw-client.js';

/**
 * Guarantee 7, authority: subscribers cannot publish; only moderators force-disconnect or
 * force-unpublish others; nobody touches another session. Real SDK clients over loopback.
 */

describe('roles decide what a connection may do', () => {
  let t: TestServer;
  let sessionId: string;
  beforeEach(async () => {
    t = await startTestServer();
    sessionId = await t.createSession();
  });
  afterEach(async () => t.close());

  /** Signals from `from` and waits until every recorder got it: afterwards, anything sent before it has arrived too. */
  const settle = async (from: Session, ...logs: Recorder[]) => {
    const data = marker();
    await from.signal({ type: 'settle', data });
    for (const log of logs) await log.signal('settle', data);
  };

  it('a subscriber cannot publish: publish() rejects with NOT_PERMITTED and nobody sees a stream', async () => {
    const sub = await t.join(sessionId, { role: 'subscriber', data: 'sub' });
    const watcher = await t.join(sessionId, { role: 'publisher', data: 'watcher' });
    const watcherLog = new Recorder(watcher);
    const err = await sub.publish({ name: 'sneaky' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'TetherError', code: 'NOT_PERMITTED' });
    expect(sub.state).toBe('connected');
    await settle(sub, watcherLog);
    expect(watcherLog.of('streamCreated')).toEqual([]);
    expect(await t.api.listStreams(sessionId)).toEqual([]);
    expect(sub.streams).toEqual([]);
  });

  it('a subscriber can still signal and receive streams (the refusal is of publishing only)', async () => {
    const sub = await t.join(sessionId, { role: 'subscriber', data: 'sub' });
    const subLog = new Recorder(sub);
    const pub = await t.join(sessionId, { role: 'publisher', data: 'pub' });
    const stream = await pub.publish({ name: 'cam' });
    await subLog.next('streamCreated', (e) => e.stream.streamId === stream.streamId);
    await settle(sub, subLog);
  });

  it('a publisher cannot force-disconnect or force-unpublish others (NOT_PERMITTED), and the target is unaffected', async () => {
    const pub = await t.join(sessionId, { role: 'publisher', data: 'pub' });
    const target = await t.join(sessionId, { role: 'publisher', data: 'target' });
    const targetLog = new Recorder(target);
    const pubLog = new Recorder(pub);
    const stream = await target.publish({ name: 'cam' });
    await pubLog.next('streamCreated', (e) => e.stream.streamId === stream.streamId);

    await expect(pub.forceDisconnect(target.connection!.connectionId)).rejects.toMatchObject({
      code: 'NOT_PERMITTED',
    });
    await expect(pub.forceUnpublish(stream.streamId)).rejects.toMatchObject({ code: 'NOT_PERMITTED' });
    // Not even its own connection or stream by the force route: forcing is a moderator's tool.
    const own = await pub.publish({ name: 'own' });
    await expect(pub.forceUnpublish(own.streamId)).rejects.toMatchObject({ code: 'NOT_PERMITTED' });

    await settle(target, targetLog, pubLog);
    expect(target.state).toBe('connected');
    expect(targetLog.of('sessionDisconnected')).toEqual([]);
    expect(targetLog.of('streamDestroyed')).toEqual([]);
    expect(pubLog.of('connectionDestroyed')).toEqual([]);
    expect((await t.api.listStreams(sessionId)).map((s) => s.name).sort()).toEqual(['cam', 'own']);
  });

  it('a subscriber cannot force-disconnect or force-unpublish either', async () => {
    const sub = await t.join(sessionId, { role: 'subscriber', data: 'sub' });
    const target = await t.join(sessionId, { role: 'publisher', data: 'target' });
    const stream = await target.publish({ name: 'cam' });
    await expect(sub.forceDisconnect(target.connection!.connectionId)).rejects.toMatchObject({
      code: 'NOT_PERMITTED',
    });
    await expect(sub.forceUnpublish(stream.streamId)).rejects.toMatchObject({ code: 'NOT_PERMITTED' });
    expect(await t.api.listStreams(sessionId)).toHaveLength(1);
    expect(await t.api.listConnections(sessionId)).toHaveLength(2);
  });

  it('a moderator force-disconnects: the target gets sessionDisconnected forceDisconnected, the others streamDestroyed and connectionDestroyed with the same reason', async () => {
    const mod = await t.join(sessionId, { role: 'moderator', data: 'mod' });
    const target = await t.join(sessionId, { role: 'publisher', data: 'target' });
    const other = await t.join(sessionId, { role: 'subscriber', data: 'other' });
    const modLog = new Recorder(mod);
    const otherLog = new Recorder(other);
    const targetLog = new Recorder(target);
    const stream = await target.publish({ name: 'cam' });
    await otherLog.next('streamCreated', (e) => e.stream.streamId === stream.streamId);
    const targetId = target.connection!.connectionId;

    await mod.forceDisconnect(targetId);
    const ended = await targetLog.next('sessionDisconnected');
    expect(ended).toMatchObject({ reason: 'forceDisconnected', code: 'FORCE_DISCONNECTED' });
    expect(target.state).toBe('disconnected');
    for (const log of [modLog, otherLog]) {
      expect((await log.next('streamDestroyed', (e) => e.stream.streamId === stream.streamId)).reason).toBe(
        'forceDisconnected',
      );
      expect(
        (await log.next('connectionDestroyed', (e) => e.connection.connectionId === targetId)).reason,
      ).toBe('forceDisconnected');
    }
    // The stream goes before its connection, so nobody sees a stream whose owner is gone.
    const order = otherLog.events
      .filter((e) => e.name === 'streamDestroyed' || e.name === 'connectionDestroyed')
      .map((e) => e.name);
    expect(order).toEqual(['streamDestroyed', 'connectionDestroyed']);
    expect(await t.api.listConnections(sessionId)).toHaveLength(2);
    expect(await t.api.listStreams(sessionId)).toEqual([]);
    await settle(mod, otherLog);
  });

  it('the force-disconnected client gets bye forceDisconnected and close code 4603 on the wire', async () => {
    const mod = await t.join(sessionId, { role: 'moderator', data: 'mod' });
    const { client: raw, welcome } = await RawClient.join(
      t.url,
      sessionId,
      await t.token(sessionId, 'publisher', 'raw'),
    );
    try {
      await mod.forceDisconnect(welcome.connection.connectionId);
      const closed = await raw.waitClosed();
      expect(raw.ofType('bye')).toEqual([
        expect.objectContaining({ reason: 'forceDisconnected', code: 'FORCE_DISCONNECTED' }),
      ]);
      expect(closed.code).toBe(errorNumber('FORCE_DISCONNECTED'));
    } finally {
      raw.close();
    }
  });

  it('a moderator force-unpublishes: everyone, the owner included, gets streamDestroyed forceUnpublished, and the owner stays connected', async () => {
    const mod = await t.join(sessionId, { role: 'moderator', data: 'mod' });
    const owner = await t.join(sessionId, { role: 'publisher', data: 'owner' });
    const other = await t.join(sessionId, { role: 'subscriber', data: 'other' });
    const logs = [new Recorder(mod), new Recorder(owner), new Recorder(other)];
    const stream = await owner.publish({ name: 'cam' });
    await logs[2]!.next('streamCreated', (e) => e.stream.streamId === stream.streamId);

    await mod.forceUnpublish(stream.streamId);
    for (const log of logs)
      expect((await log.next('streamDestroyed', (e) => e.stream.streamId === stream.streamId)).reason).toBe(
        'forceUnpublished',
      );
    expect(owner.state).toBe('connected');
    expect(owner.streams).toEqual([]);
    expect(await t.api.listStreams(sessionId)).toEqual([]);
    for (const log of logs) expect(log.of('connectionDestroyed')).toEqual([]);
    // The owner can publish again afterwards: the stream slot was freed.
    await expect(owner.publish({ name: 'again' })).resolves.toMatchObject({ name: 'again' });
    await settle(owner, ...logs);
  });

  it('unpublishing someone else’s stream is NOT_PERMITTED, for a publisher and for a moderator (who must use forceUnpublish)', async () => {
    const owner = await t.join(sessionId, { role: 'publisher', data: 'owner' });
    const pub = await t.join(sessionId, { role: 'publisher', data: 'pub' });
    const mod = await t.join(sessionId, { role: 'moderator', data: 'mod' });
    const ownerLog = new Recorder(owner);
    const stream = await owner.publish({ name: 'cam' });
    await expect(pub.unpublish(stream.streamId)).rejects.toMatchObject({ code: 'NOT_PERMITTED' });
    await expect(mod.unpublish(stream.streamId)).rejects.toMatchObject({ code: 'NOT_PERMITTED' });
    await expect(pub.unpublish('no-such-stream')).rejects.toMatchObject({ code: 'STREAM_NOT_FOUND' });
    await settle(pub, ownerLog);
    expect(ownerLog.of('streamDestroyed')).toEqual([]);
    expect((await t.api.listStreams(sessionId)).map((s) => s.streamId)).toEqual([stream.streamId]);
  });

  it('a moderator forcing an unknown connection or stream gets CONNECTION_NOT_FOUND / STREAM_NOT_FOUND', async () => {
    const mod = await t.join(sessionId, { role: 'moderator', data: 'mod' });
    await expect(mod.forceDisconnect('no-such-connection')).rejects.toMatchObject({
      code: 'CONNECTION_NOT_FOUND',
    });
    await expect(mod.forceUnpublish('no-such-stream')).rejects.toMatchObject({ code: 'STREAM_NOT_FOUND' });
    expect(mod.state).toBe('connected');
  });
});

describe('a client can never read or affect another session', () => {
  let t: TestServer;
  let sessionA: string;
  let sessionB: string;
  let mod: Session;
  let bClient: Session;
  let bLog: Recorder;
  let bStream: { streamId: string };
  beforeEach(async () => {
    t = await startTestServer();
    sessionA = await t.createSession();
    sessionB = await t.createSession();
    mod = await t.join(sessionA, { role: 'moderator', data: 'mod-in-A' });
    bClient = await t.join(sessionB, { role: 'publisher', data: 'in-B' });
    bLog = new Recorder(bClient);
    bStream = await bClient.publish({ name: 'b-cam' });
  });
  afterEach(async () => t.close());

  const bUnaffected = async () => {
    expect(bClient.state).toBe('connected');
    const data = marker();
    await bClient.signal({ type: 'alive', data });
    await bLog.signal('alive', data);
    expect(bLog.of('sessionDisconnected')).toEqual([]);
    expect(bLog.of('streamDestroyed')).toEqual([]);
    expect(bLog.events.filter((e) => e.name === 'signal' && e.event.type !== 'alive')).toEqual([]);
    expect((await t.api.listStreams(sessionB)).map((s) => s.streamId)).toEqual([bStream.streamId]);
  };

  it('a moderator of session A force-disconnecting a connection of session B gets CONNECTION_NOT_FOUND, and B’s client is unaffected', async () => {
    await expect(mod.forceDisconnect(bClient.connection!.connectionId)).rejects.toMatchObject({
      code: 'CONNECTION_NOT_FOUND',
    });
    await bUnaffected();
  });

  it('a moderator of session A force-unpublishing a stream of session B gets STREAM_NOT_FOUND, and the stream stays', async () => {
    await expect(mod.forceUnpublish(bStream.streamId)).rejects.toMatchObject({ code: 'STREAM_NOT_FOUND' });
    await expect(mod.unpublish(bStream.streamId)).rejects.toMatchObject({ code: 'STREAM_NOT_FOUND' });
    await bUnaffected();
  });

  it('a signal addressed to a connection of another session gets SIGNAL_TARGET_NOT_FOUND and is not delivered', async () => {
    await expect(
      mod.signal({ type: 'dm', data: 'cross', to: bClient.connection!.connectionId }),
    ).rejects.toMatchObject({
      code: 'SIGNAL_TARGET_NOT_FOUND',
    });
    await mod.signal({ type: 'broadcast', data: 'only-A' });
    await bUnaffected();
  });

  it('a client of session A sees nothing of session B: no connections, streams or signals of B in its roster', async () => {
    const modLog = new Recorder(mod);
    await bClient.signal({ type: 'b-only', data: 'secret' });
    await bClient.publish({ name: 'b-cam-2' });
    const data = marker();
    await mod.signal({ type: 'settle', data });
    await modLog.signal('settle', data);
    expect(mod.connections.map((c) => c.data)).toEqual(['mod-in-A']);
    expect(mod.streams).toEqual([]);
    expect(modLog.of('signal').map((e) => e.type)).toEqual(['settle']);
    expect(modLog.of('streamCreated')).toEqual([]);
    expect(modLog.of('connectionCreated')).toEqual([]);
  });
});
