import { describe, expect, it } from 'vitest';
import type { ConnectionInfo, StreamInfo } from '@tether/protocol';
import type { LogEntry } from '../cluster/engine.js';
import { monitorPayloads, type SessionView } from './monitor.js';

const alice: ConnectionInfo = { connectionId: 'c-a', data: 'alice', creationTime: 10 };
const cam: StreamInfo = {
  streamId: 's-1',
  connectionId: 'c-a',
  name: 'cam',
  hasAudio: true,
  hasVideo: false,
  videoType: 'screen',
  creationTime: 20,
};
const view: SessionView = {
  memberInfo: (id) => (id === alice.connectionId ? alice : undefined),
  streams: new Map([[cam.streamId, cam]]),
};
let n = 0;
const ctx = { apiKey: 'k', sessionId: 'sess', now: 99, newId: () => `id-${n++}` };

describe('session events as callbacks', () => {
  it("turns a connection's end (its streams, then itself) into callbacks that describe them as they were", () => {
    const entries: LogEntry[] = [
      {
        event: {
          t: '~ended',
          connectionId: 'c-a',
          reason: 'forceDisconnected',
          code: 'FORCE_DISCONNECTED',
          seen: true,
        },
        to: 'c-a',
      },
      { event: { t: 'streamDestroyed', streamId: 's-1', connectionId: 'c-a', reason: 'forceDisconnected' } },
      { event: { t: 'connectionDestroyed', connectionId: 'c-a', reason: 'forceDisconnected' } },
    ];
    const connection = { id: 'c-a', data: 'alice', createdAt: 10 };
    expect(monitorPayloads(entries, view, ctx)).toEqual([
      {
        id: expect.any(String),
        event: 'streamDestroyed',
        apiKey: 'k',
        sessionId: 'sess',
        timestamp: 99,
        connection,
        stream: {
          id: 's-1',
          name: 'cam',
          hasAudio: true,
          hasVideo: false,
          videoType: 'screen',
          createdAt: 20,
        },
        reason: 'forceDisconnected',
      },
      {
        id: expect.any(String),
        event: 'connectionDestroyed',
        apiKey: 'k',
        sessionId: 'sess',
        timestamp: 99,
        connection,
        reason: 'forceDisconnected',
      },
    ]);
  });

  it('knows a stream created earlier in the same append, and ignores what is not a monitoring event', () => {
    const fresh = { ...cam, streamId: 's-2', name: 'new' };
    const entries: LogEntry[] = [
      { event: { t: 'connectionCreated', connection: alice }, except: 'c-a' },
      { event: { t: 'connectionReconnecting', connectionId: 'c-a' }, except: 'c-a' },
      { event: { t: 'signal', from: 'c-a', type: 'chat', data: 'hi' } },
      { event: { t: 'streamCreated', stream: fresh } },
      { event: { t: 'streamDestroyed', streamId: 's-2', connectionId: 'c-a', reason: 'clientDisconnected' } },
    ];
    const got = monitorPayloads(entries, view, ctx);
    expect(got.map((p) => p.event)).toEqual(['connectionCreated', 'streamCreated', 'streamDestroyed']);
    expect(new Set(got.map((p) => p.id)).size).toBe(3);
  });

  it('turns each join and leave of a presence batch into its callback, in order; interruptions are none', () => {
    const bob: ConnectionInfo = { connectionId: 'c-b', data: 'bob', creationTime: 11 };
    const entries: LogEntry[] = [
      {
        event: {
          t: 'presence',
          changes: [
            { t: 'connectionCreated', connection: bob },
            { t: 'connectionReconnecting', connectionId: 'c-a' },
            { t: 'connectionDestroyed', connectionId: 'c-a', reason: 'networkDisconnected' },
          ],
        },
      },
    ];
    expect(monitorPayloads(entries, view, ctx).map((p) => [p.event, p.connection.data])).toEqual([
      ['connectionCreated', 'bob'],
      ['connectionDestroyed', 'alice'],
    ]);
  });
});
