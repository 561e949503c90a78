import type { ConnectionInfo, ServerEventFrame, StreamInfo, WelcomeFrame } from '@tether/protocol';
import { describe, expect, it } from 'vitest';
import { Roster } from './roster.js';

const me: ConnectionInfo = { connectionId: 'me', data: 'name=Me', creationTime: 10 };
const ada: ConnectionInfo = { connectionId: 'ada', data: 'name=Ada', creationTime: 1 };
const bob: ConnectionInfo = { connectionId: 'bob', data: 'name=Bob', creationTime: 2 };
const stream = (streamId: string, connectionId: string): StreamInfo => ({
  streamId,
  connectionId,
  name: `${streamId}-name`,
  hasAudio: true,
  hasVideo: true,
  videoType: 'camera',
  creationTime: 5,
});

function welcome(over: Partial<WelcomeFrame> = {}): WelcomeFrame {
  return {
    t: 'welcome',
    v: 1,
    session: { sessionId: 's', mediaMode: 'routed', archiveMode: 'manual', creationTime: 0 },
    connection: { ...me, role: 'publisher' },
    secret: 'sekrit',
    connections: [{ ...ada }, { ...bob, reconnecting: true }],
    streams: [stream('s-ada', 'ada')],
    config: {
      heartbeatIntervalMs: 1000,
      heartbeatTimeoutMs: 3000,
      reconnectWindowMs: 30000,
      ackDelayMs: 50,
      mediaWindowMs: 60000,
    },
    ...over,
  };
}

let seq = 0;
const f = <F extends Omit<ServerEventFrame, 'seq'>>(frame: F) =>
  ({ ...frame, seq: ++seq }) as unknown as ServerEventFrame;

describe('Roster.welcome', () => {
  it('loads self, peers and streams, and returns an event for each peer and stream already there', () => {
    const roster = new Roster();
    const events = roster.welcome(welcome());
    expect(events).toEqual([
      { name: 'connectionCreated', event: { connection: ada } },
      { name: 'connectionCreated', event: { connection: bob } },
      { name: 'streamCreated', event: { stream: stream('s-ada', 'ada') } },
    ]);
    expect(roster.self).toEqual(me);
    expect(roster.self).not.toHaveProperty('role');
    expect([...roster.connections.keys()].sort()).toEqual(['ada', 'bob', 'me']);
    expect(roster.connections.get('bob')?.reconnecting).toBe(true);
    expect(roster.connections.get('ada')?.reconnecting).toBeUndefined();
    expect([...roster.streams.keys()]).toEqual(['s-ada']);
  });

  it('gives events with plain connection info: no reconnecting flag', () => {
    const events = new Roster().welcome(welcome());
    for (const e of events)
      if (e.name === 'connectionCreated')
        expect(Object.keys(e.event.connection).sort()).toEqual(['connectionId', 'creationTime', 'data']);
  });

  it('returns no events in an empty session, but still knows self', () => {
    const roster = new Roster();
    expect(roster.welcome(welcome({ connections: [], streams: [] }))).toEqual([]);
    expect(roster.lookup('me')).toEqual(me);
  });

  it('replaces everything on a second welcome (a fresh join)', () => {
    const roster = new Roster();
    roster.welcome(welcome());
    const events = roster.welcome(
      welcome({
        connection: { ...me, connectionId: 'me2', role: 'subscriber' },
        connections: [bob],
        streams: [],
      }),
    );
    expect(events).toEqual([{ name: 'connectionCreated', event: { connection: bob } }]);
    expect([...roster.connections.keys()].sort()).toEqual(['bob', 'me2']);
    expect(roster.streams.size).toBe(0);
    expect(roster.self?.connectionId).toBe('me2');
  });
});

describe('Roster.apply', () => {
  it('connectionCreated adds the peer and reports it', () => {
    const roster = new Roster();
    roster.welcome(welcome({ connections: [] }));
    const carol = { connectionId: 'carol', data: '', creationTime: 3 };
    expect(roster.apply(f({ t: 'connectionCreated', connection: carol }))).toEqual([
      { name: 'connectionCreated', event: { connection: carol } },
    ]);
    expect(roster.lookup('carol')).toEqual(carol);
  });

  it('connectionDestroyed removes the peer and reports it with its info and the reason', () => {
    const roster = new Roster();
    roster.welcome(welcome());
    expect(
      roster.apply(f({ t: 'connectionDestroyed', connectionId: 'ada', reason: 'networkDisconnected' })),
    ).toEqual([{ name: 'connectionDestroyed', event: { connection: ada, reason: 'networkDisconnected' } }]);
    expect(roster.connections.has('ada')).toBe(false);
  });

  it('connectionDestroyed of a connection it never knew still reports it, with a placeholder', () => {
    const roster = new Roster();
    roster.welcome(welcome());
    expect(
      roster.apply(f({ t: 'connectionDestroyed', connectionId: 'ghost', reason: 'forceDisconnected' })),
    ).toEqual([
      {
        name: 'connectionDestroyed',
        event: {
          connection: { connectionId: 'ghost', data: '', creationTime: 0 },
          reason: 'forceDisconnected',
        },
      },
    ]);
  });

  it('connectionReconnecting / connectionReconnected set and clear the flag and report the peer', () => {
    const roster = new Roster();
    roster.welcome(welcome());
    expect(roster.apply(f({ t: 'connectionReconnecting', connectionId: 'ada' }))).toEqual([
      { name: 'connectionReconnecting', event: { connection: ada } },
    ]);
    expect(roster.connections.get('ada')?.reconnecting).toBe(true);
    expect(roster.apply(f({ t: 'connectionReconnected', connectionId: 'ada' }))).toEqual([
      { name: 'connectionReconnected', event: { connection: ada } },
    ]);
    expect(roster.connections.get('ada')?.reconnecting).toBe(false);
    // bob arrived in the welcome as reconnecting
    expect(roster.apply(f({ t: 'connectionReconnected', connectionId: 'bob' }))).toEqual([
      { name: 'connectionReconnected', event: { connection: bob } },
    ]);
    expect(roster.connections.get('bob')?.reconnecting).toBe(false);
  });

  it('ignores reconnecting / reconnected of an unknown connection', () => {
    const roster = new Roster();
    roster.welcome(welcome());
    expect(roster.apply(f({ t: 'connectionReconnecting', connectionId: 'ghost' }))).toEqual([]);
    expect(roster.apply(f({ t: 'connectionReconnected', connectionId: 'ghost' }))).toEqual([]);
    expect(roster.connections.has('ghost')).toBe(false);
  });

  it('streamCreated adds and reports the stream', () => {
    const roster = new Roster();
    roster.welcome(welcome({ streams: [] }));
    const s = stream('s-bob', 'bob');
    expect(roster.apply(f({ t: 'streamCreated', stream: s }))).toEqual([
      { name: 'streamCreated', event: { stream: s } },
    ]);
    expect(roster.streams.get('s-bob')).toEqual(s);
  });

  it('streamDestroyed removes the stream and reports it with the reason', () => {
    const roster = new Roster();
    roster.welcome(welcome());
    expect(
      roster.apply(
        f({ t: 'streamDestroyed', streamId: 's-ada', connectionId: 'ada', reason: 'forceUnpublished' }),
      ),
    ).toEqual([
      { name: 'streamDestroyed', event: { stream: stream('s-ada', 'ada'), reason: 'forceUnpublished' } },
    ]);
    expect(roster.streams.size).toBe(0);
  });

  it('streamDestroyed of an unknown stream gives no event, twice or never seen', () => {
    const roster = new Roster();
    roster.welcome(welcome());
    const destroyed = f({
      t: 'streamDestroyed',
      streamId: 's-ada',
      connectionId: 'ada',
      reason: 'clientDisconnected',
    });
    expect(roster.apply(destroyed)).toHaveLength(1);
    expect(roster.apply(destroyed)).toEqual([]);
    expect(
      roster.apply(
        f({ t: 'streamDestroyed', streamId: 'nope', connectionId: 'ada', reason: 'clientDisconnected' }),
      ),
    ).toEqual([]);
  });

  it('streamPropertyChanged updates the stream and reports each property that changed', () => {
    const roster = new Roster();
    roster.welcome(welcome());
    expect(
      roster.apply(f({ t: 'streamPropertyChanged', streamId: 's-ada', hasAudio: false, hasVideo: false })),
    ).toEqual([
      {
        name: 'streamPropertyChanged',
        event: {
          stream: { ...stream('s-ada', 'ada'), hasAudio: false, hasVideo: false },
          changedProperty: 'hasAudio',
          oldValue: true,
          newValue: false,
        },
      },
      {
        name: 'streamPropertyChanged',
        event: {
          stream: { ...stream('s-ada', 'ada'), hasAudio: false, hasVideo: false },
          changedProperty: 'hasVideo',
          oldValue: true,
          newValue: false,
        },
      },
    ]);
    expect(roster.streams.get('s-ada')).toMatchObject({ hasAudio: false, hasVideo: false });
    const [back] = roster.apply(f({ t: 'streamPropertyChanged', streamId: 's-ada', hasVideo: true }));
    expect(back).toMatchObject({
      name: 'streamPropertyChanged',
      event: { changedProperty: 'hasVideo', oldValue: false, newValue: true },
    });
    expect(roster.streams.get('s-ada')).toMatchObject({ hasAudio: false, hasVideo: true });
  });

  it('streamPropertyChanged reports nothing for unchanged or absent properties, or an unknown stream', () => {
    const roster = new Roster();
    roster.welcome(welcome());
    expect(
      roster.apply(f({ t: 'streamPropertyChanged', streamId: 's-ada', hasAudio: true, hasVideo: true })),
    ).toEqual([]);
    expect(roster.apply(f({ t: 'streamPropertyChanged', streamId: 's-ada' }))).toEqual([]);
    expect(roster.apply(f({ t: 'streamPropertyChanged', streamId: 'nope', hasAudio: false }))).toEqual([]);
    expect(roster.streams.get('s-ada')).toEqual(stream('s-ada', 'ada'));
    expect(roster.streams.has('nope')).toBe(false);
  });

  it('gives no roster events for signals, replies and media frames, and changes nothing', () => {
    const roster = new Roster();
    roster.welcome(welcome());
    const before = { c: [...roster.connections.keys()], s: [...roster.streams.keys()] };
    expect(roster.apply(f({ t: 'signal', from: 'ada', type: 'chat', data: 'hi' }))).toEqual([]);
    expect(roster.apply(f({ t: 'reply', re: 1, ok: true }))).toEqual([]);
    expect(roster.apply(f({ t: 'streamMedia', streamId: 's-ada', flowing: false }))).toEqual([]);
    expect(
      roster.apply(
        f({ t: 'mediaRelay', subscriptionId: 'sub', streamId: 's-ada', from: 'ada', kind: 'subscribe' }),
      ),
    ).toEqual([]);
    expect({ c: [...roster.connections.keys()], s: [...roster.streams.keys()] }).toEqual(before);
  });

  it('keeps the connection of a connectionCreated event plain: the internal reconnecting flag does not leak into it', () => {
    const roster = new Roster();
    roster.welcome(welcome({ connections: [] }));
    const carol = { connectionId: 'carol', data: '', creationTime: 3 };
    const [created] = roster.apply(f({ t: 'connectionCreated', connection: { ...carol } }));
    const [reconnecting] = roster.apply(f({ t: 'connectionReconnecting', connectionId: 'carol' }));
    expect(reconnecting?.event).toEqual({ connection: carol });
    // The application may keep the connection object of connectionCreated: it must stay plain ConnectionInfo.
    expect(created?.event).toStrictEqual({ connection: carol });
  });

  it('lookup gives plain info for known connections and a placeholder otherwise', () => {
    const roster = new Roster();
    roster.welcome(welcome());
    expect(roster.lookup('bob')).toStrictEqual(bob);
    expect(roster.lookup('me')).toStrictEqual(me);
    expect(roster.lookup('ghost')).toEqual({ connectionId: 'ghost', data: '', creationTime: 0 });
  });

  it('clear() forgets connections and streams', () => {
    const roster = new Roster();
    roster.welcome(welcome());
    roster.clear();
    expect(roster.connections.size).toBe(0);
    expect(roster.streams.size).toBe(0);
  });
});

describe('Roster.apply of a presence batch', () => {
  it('gives one event per change, in the order of the batch, as if each had come alone; its own change is skipped', () => {
    const roster = new Roster();
    roster.welcome(welcome({ connections: [{ ...ada }] }));
    const carol: ConnectionInfo = { connectionId: 'carol', data: 'name=Carol', creationTime: 3 };
    const events = roster.apply(
      f({
        t: 'presence',
        changes: [
          { t: 'connectionCreated', connection: bob },
          { t: 'connectionCreated', connection: me },
          { t: 'connectionReconnecting', connectionId: 'ada' },
          { t: 'connectionCreated', connection: carol },
          { t: 'connectionDestroyed', connectionId: 'bob', reason: 'clientDisconnected' },
          { t: 'connectionReconnected', connectionId: 'ada' },
        ],
      }),
    );
    expect(events).toEqual([
      { name: 'connectionCreated', event: { connection: bob } },
      { name: 'connectionReconnecting', event: { connection: ada } },
      { name: 'connectionCreated', event: { connection: carol } },
      { name: 'connectionDestroyed', event: { connection: bob, reason: 'clientDisconnected' } },
      { name: 'connectionReconnected', event: { connection: ada } },
    ]);
    expect([...roster.connections.keys()]).toEqual(['me', 'ada', 'carol']);
    expect(roster.connections.get('ada')?.reconnecting).toBe(false);
  });
});

describe('Roster: the running archive', () => {
  it('a welcome that names one reports archiveStarted last; archiveStarted / archiveStopped keep it', () => {
    const roster = new Roster();
    const events = roster.welcome(welcome({ archive: { id: 'ar1', name: 'class' } }));
    expect(events.at(-1)).toEqual({ name: 'archiveStarted', event: { id: 'ar1', name: 'class' } });
    expect(roster.archive).toEqual({ id: 'ar1', name: 'class' });
    // Another archive's stop leaves it; its own ends it.
    roster.apply(f({ t: 'archiveStopped', id: 'other' }));
    expect(roster.archive).toEqual({ id: 'ar1', name: 'class' });
    expect(roster.apply(f({ t: 'archiveStopped', id: 'ar1' }))).toEqual([
      { name: 'archiveStopped', event: { id: 'ar1' } },
    ]);
    expect(roster.archive).toBeUndefined();
    roster.apply(f({ t: 'archiveStarted', id: 'ar2', name: '' }));
    expect(roster.archive).toEqual({ id: 'ar2', name: '' });
    expect(roster.welcome(welcome()).some((e) => e.name === 'archiveStarted')).toBe(false);
    expect(roster.archive).toBeUndefined();
  });

  it('a recovery key that remembers one restores it (its archiveStarted was before the key: not replayed)', () => {
    const roster = new Roster();
    const events = roster.restore(me, [ada], [], { id: 'ar1', name: 'class' });
    expect(events.at(-1)).toEqual({ name: 'archiveStarted', event: { id: 'ar1', name: 'class' } });
    expect(roster.archive).toEqual({ id: 'ar1', name: 'class' });
  });
});
