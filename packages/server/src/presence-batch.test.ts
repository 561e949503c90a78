import { LIMITS, type PresenceChange } from '@tether/protocol';
import { FakeClock } from '@tether/testkit';
import { describe, expect, it } from 'vitest';
import type { LogEntry } from './cluster/engine.js';
import { PRESENCE_MAX_WAIT_MS, PresenceBatch } from './presence-batch.js';

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
const created = (id: string): PresenceChange => ({
  t: 'connectionCreated',
  connection: { connectionId: id, data: '', creationTime: 1 },
});

function batch() {
  const clock = new FakeClock(1_000);
  const appended: LogEntry[][] = [];
  const b = new PresenceBatch(
    () => clock.now(),
    (entries) => appended.push(entries),
  );
  return { b, clock, appended };
}

describe('PresenceBatch', () => {
  it('sends one change alone as its own event, not to its subject', async () => {
    const { b, appended } = batch();
    b.add(created('a'));
    expect(appended).toEqual([]);
    await turn();
    await turn();
    expect(appended).toEqual([[{ event: created('a'), except: 'a' }]]);
  });

  it('sends changes made over consecutive turns as one presence entry, in order, once a turn passes with none', async () => {
    const { b, appended } = batch();
    b.add(created('a'));
    b.add({ t: 'connectionReconnecting', connectionId: 'x' });
    await turn();
    b.add(created('b'));
    await turn();
    expect(appended).toEqual([]);
    await turn();
    await turn();
    expect(appended).toEqual([
      [
        {
          event: {
            t: 'presence',
            changes: [created('a'), { t: 'connectionReconnecting', connectionId: 'x' }, created('b')],
          },
        },
      ],
    ]);
    expect(b.size).toBe(0);
  });

  it(`waits at most ${PRESENCE_MAX_WAIT_MS} ms while changes keep coming`, async () => {
    const { b, clock, appended } = batch();
    b.add(created('a'));
    // A new change every turn, half the wait apart: never a quiet turn.
    for (let i = 0; appended.length === 0 && i < 10; i++) {
      clock.advance(PRESENCE_MAX_WAIT_MS / 2);
      b.add(created(`b${i}`));
      await turn();
    }
    // Flushed on the turn after the wait passed, with everything made until then.
    expect(appended).toHaveLength(1);
    expect((appended[0]?.[0]?.event as { changes: unknown[] }).changes).toHaveLength(3);
  });

  it(`flushes at once at ${LIMITS.presenceBatchMaxChanges} changes, and on demand`, () => {
    const { b, appended } = batch();
    for (let i = 0; i < LIMITS.presenceBatchMaxChanges; i++) b.add(created(`c${i}`));
    expect(appended).toHaveLength(1);
    b.add(created('d'));
    b.add(created('e'));
    b.flush();
    expect(appended).toHaveLength(2);
    expect(appended[1]).toEqual([{ event: { t: 'presence', changes: [created('d'), created('e')] } }]);
    b.flush();
    expect(appended).toHaveLength(2);
  });

  it('hands what is pending to an append of the caller (take), and then has nothing left to send', async () => {
    const { b, appended } = batch();
    b.add(created('a'));
    b.add(created('b'));
    expect(b.take()).toEqual([{ event: { t: 'presence', changes: [created('a'), created('b')] } }]);
    expect(b.take()).toEqual([]);
    await turn();
    await turn();
    expect(appended).toEqual([]);
  });
});
