import { describe, expect, it } from 'vitest';
import type { StreamInfo } from '@tether/protocol';
import type { LogEntry, Member } from './engine.js';
import { applyOps, emptyState, foldEntry, foldOps, fromSnapshot, toSnapshot } from './session-fold.js';

const member = (id: string, owner = 'n1'): Member => ({
  info: { connectionId: id, data: '', creationTime: 1 },
  role: 'publisher',
  state: 'connected',
  owner,
});
const stream = (id: string, conn: string): StreamInfo => ({
  streamId: id,
  connectionId: conn,
  name: '',
  hasAudio: true,
  hasVideo: true,
  videoType: 'camera',
  creationTime: 2,
});
const e = (event: LogEntry['event']): LogEntry => ({ event });

function fold(entries: LogEntry[]) {
  const state = emptyState();
  for (const entry of entries) foldEntry(state, entry);
  return state;
}

describe('session fold', () => {
  it('a joined member is pending until connectionCreated, interrupted and back with the reconnect events', () => {
    const s = fold([e({ t: '~joined', member: member('a') })]);
    expect(s.members.get('a')?.state).toBe('pending');
    foldEntry(s, e({ t: 'connectionCreated', connection: member('a').info }));
    expect(s.members.get('a')?.state).toBe('connected');
    foldEntry(s, e({ t: 'connectionReconnecting', connectionId: 'a' }));
    expect(s.members.get('a')?.state).toBe('interrupted');
    foldEntry(s, e({ t: 'connectionReconnected', connectionId: 'a' }));
    expect(s.members.get('a')?.state).toBe('connected');
  });

  it('keeps members in join order; a re-join keeps its place', () => {
    const s = fold([
      e({ t: '~joined', member: member('b') }),
      e({ t: '~joined', member: member('a') }),
      e({ t: '~joined', member: member('c') }),
      e({ t: '~joined', member: member('b', 'n2') }),
    ]);
    expect([...s.members.keys()]).toEqual(['b', 'a', 'c']);
    expect(s.members.get('b')?.owner).toBe('n2');
  });

  it('connectionDestroyed and ~ended remove the member; a later patch does not bring it back', () => {
    const s = fold([
      e({ t: '~joined', member: member('a') }),
      e({ t: '~joined', member: member('b') }),
      e({ t: 'connectionDestroyed', connectionId: 'a', reason: 'clientDisconnected' }),
      e({
        t: '~ended',
        connectionId: 'b',
        reason: 'networkDisconnected',
        code: 'NETWORK_DISCONNECTED',
        seen: true,
      }),
      e({ t: 'connectionReconnecting', connectionId: 'a' }),
      e({ t: '~moved', connectionId: 'b', owner: 'n2', epoch: 1 }),
    ]);
    expect(s.members.size).toBe(0);
  });

  it('~moved sets the owner and nothing else', () => {
    const s = fold([
      e({ t: '~joined', member: member('a') }),
      e({ t: 'connectionReconnecting', connectionId: 'a' }),
      e({ t: '~moved', connectionId: 'a', owner: 'n2', epoch: 1 }),
    ]);
    expect(s.members.get('a')).toEqual({ ...member('a', 'n2'), state: 'interrupted' });
  });

  it('streams: created in order, property changes patch only what they name, destroyed', () => {
    const s = fold([
      e({ t: 'streamCreated', stream: stream('s2', 'a') }),
      e({ t: 'streamCreated', stream: stream('s1', 'a') }),
      e({ t: 'streamPropertyChanged', streamId: 's1', hasVideo: false }),
      e({ t: 'streamPropertyChanged', streamId: 'gone', hasAudio: false }),
    ]);
    expect([...s.streams.keys()]).toEqual(['s2', 's1']);
    expect(s.streams.get('s1')).toEqual({ ...stream('s1', 'a'), hasVideo: false });
    expect(s.streams.has('gone')).toBe(false);
    foldEntry(
      s,
      e({ t: 'streamDestroyed', streamId: 's2', connectionId: 'a', reason: 'clientDisconnected' }),
    );
    expect([...s.streams.keys()]).toEqual(['s1']);
  });

  it('entries that change nothing have no ops (signals, replies, ~request, an empty property change)', () => {
    expect(foldOps(e({ t: 'signal', from: 'a', type: 'x', data: 'y' }))).toEqual([]);
    expect(foldOps(e({ t: 'reply', re: 1, ok: true }))).toEqual([]);
    expect(foldOps(e({ t: '~request', connectionId: 'a', request: { kind: 'forceDisconnect' } }))).toEqual(
      [],
    );
    expect(foldOps(e({ t: 'streamPropertyChanged', streamId: 's' }))).toEqual([]);
  });

  it('ops do not depend on the state: folding from a snapshot equals folding from the start', () => {
    const log: LogEntry[] = [
      e({ t: '~joined', member: member('a') }),
      e({ t: 'connectionCreated', connection: member('a').info }),
      e({ t: '~joined', member: member('b') }),
      e({ t: 'streamCreated', stream: stream('s1', 'a') }),
      e({ t: 'connectionReconnecting', connectionId: 'a' }),
      e({ t: 'connectionDestroyed', connectionId: 'b', reason: 'clientDisconnected' }),
      e({ t: 'streamPropertyChanged', streamId: 's1', hasAudio: false }),
      e({ t: '~joined', member: member('c') }),
    ];
    for (let cut = 0; cut <= log.length; cut++) {
      const resumed = fromSnapshot(toSnapshot(fold(log.slice(0, cut)), String(cut)));
      for (const entry of log.slice(cut)) applyOps(resumed, foldOps(entry));
      expect(toSnapshot(resumed, 'end')).toEqual(toSnapshot(fold(log), 'end'));
    }
  });
});
