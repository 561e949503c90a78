import type { PresenceChange } from '@tether/protocol';
import { describe, expect, it } from 'vitest';
import { viewFor, type LogEntry } from './engine.js';

const created = (id: string): PresenceChange => ({
  t: 'connectionCreated',
  connection: { connectionId: id, data: id, creationTime: 1 },
});
const left = (id: string): PresenceChange => ({
  t: 'connectionDestroyed',
  connectionId: id,
  reason: 'clientDisconnected',
});

describe('viewFor: what each role is sent of an entry (connection events suppressed)', () => {
  const batch: LogEntry = {
    event: { t: 'presence', changes: [created('viewer1'), created('host'), left('viewer2')] },
    quiet: ['viewer1', 'viewer2'],
  };

  it('gives publishers and moderators the whole entry', () => {
    expect(viewFor(batch, 'publisher')).toBe(batch.event);
    expect(viewFor(batch, 'moderator')).toBe(batch.event);
  });

  it('gives a subscriber a batch without the quiet subjects, in order, or nothing when none is left', () => {
    expect(viewFor(batch, 'subscriber')).toEqual({ t: 'presence', changes: [created('host')] });
    expect(viewFor({ ...batch, quiet: ['viewer1', 'host', 'viewer2'] }, 'subscriber')).toBeUndefined();
  });

  it('gives a subscriber no single presence change about a quiet subject, and everything else as it is', () => {
    expect(viewFor({ event: left('viewer2'), quiet: ['viewer2'] }, 'subscriber')).toBeUndefined();
    expect(
      viewFor({ event: { t: 'connectionReconnecting', connectionId: 'v' }, quiet: ['v'] }, 'subscriber'),
    ).toBeUndefined();
    const signal: LogEntry = {
      event: { t: 'signal', from: 'viewer1', type: 'chat', data: 'hi' },
      quiet: ['viewer1'],
    };
    expect(viewFor(signal, 'subscriber')).toBe(signal.event);
    const plain: LogEntry = { event: created('viewer3') };
    expect(viewFor(plain, 'subscriber')).toBe(plain.event);
  });
});
