import { describe, expect, it } from 'vitest';
import { PresenceLog, type PresenceChange } from './presence-log.js';

const reconnecting = (connectionId: string): PresenceChange => ({
  t: 'connectionReconnecting',
  connectionId,
});
const reconnected = (connectionId: string): PresenceChange => ({ t: 'connectionReconnected', connectionId });
const destroyed = (connectionId: string): PresenceChange => ({
  t: 'connectionDestroyed',
  connectionId,
  reason: 'networkDisconnected',
});

describe('PresenceLog', () => {
  it('gives a member that does not hear quiet changes (a subscriber, events suppressed) only the others', () => {
    const log = new PresenceLog<string>();
    log.left('viewer');
    log.left('host');
    log.record(destroyed('other-viewer'), true);
    log.record(reconnecting('speaker'));
    expect(log.back('viewer', 'viewer', false)).toEqual([reconnecting('speaker')]);
    expect(log.back('host', 'host')).toEqual([destroyed('other-viewer'), reconnecting('speaker')]);
  });

  it('keeps nothing while nobody is away', () => {
    const log = new PresenceLog<string>();
    log.record(reconnecting('x'));
    expect(log.size).toBe(0);
  });

  it('gives a member back the net change of each other connection since it left, in the order of last changes', () => {
    const log = new PresenceLog<string>();
    log.record(reconnecting('before')); // nobody away yet: not kept
    log.left('r');
    log.record(reconnecting('x'));
    log.record(reconnecting('y'));
    log.record(reconnected('x')); // x dropped and came back: no change
    log.record(reconnecting('r')); // r itself
    log.record(destroyed('z'));
    log.record(reconnected('w')); // w was reconnecting when r left
    log.record(reconnecting('x'));
    log.record(reconnected('x'));
    log.record(reconnecting('x')); // x is away again, net
    expect(log.back('r', 'r')).toEqual([
      reconnecting('y'),
      destroyed('z'),
      reconnected('w'),
      reconnecting('x'),
    ]);
    expect(log.isAway('r')).toBe(false);
    expect(log.size).toBe(0);
  });

  it('a connection destroyed after dropping is destroyed, whatever came before', () => {
    const log = new PresenceLog<string>();
    log.left('r');
    log.record(reconnecting('x'));
    log.record(destroyed('x'));
    expect(log.back('r', 'r')).toEqual([destroyed('x')]);
  });

  it('each member gets what happened after it left; the log keeps only what the one away longest needs', () => {
    const log = new PresenceLog<string>();
    log.left('a');
    log.record(reconnecting('a'));
    log.left('b');
    log.record(reconnecting('b'));
    log.record(destroyed('z'));
    expect(log.size).toBe(3);
    expect(log.back('b', 'b')).toEqual([destroyed('z')]);
    expect(log.size).toBe(3);
    expect(log.back('a', 'a')).toEqual([reconnecting('b'), destroyed('z')]);
    expect(log.size).toBe(0);
  });

  it('forgets a member that ended while away, and what only it needed', () => {
    const log = new PresenceLog<string>();
    log.left('a');
    log.record(reconnecting('x'));
    log.left('b');
    log.record(reconnecting('y'));
    log.forget('a');
    expect(log.size).toBe(1);
    expect(log.back('a', 'a')).toEqual([]);
    expect(log.back('b', 'b')).toEqual([reconnecting('y')]);
  });

  it('a member that leaves again starts over from then', () => {
    const log = new PresenceLog<string>();
    log.left('a');
    log.record(reconnecting('x'));
    expect(log.back('a', 'a')).toEqual([reconnecting('x')]);
    log.left('a');
    log.record(reconnected('x'));
    expect(log.back('a', 'a')).toEqual([reconnected('x')]);
  });

  it('past its bound names the member away longest, which ending frees the changes it kept', () => {
    const log = new PresenceLog<string>(3);
    log.left('old');
    log.record(reconnecting('p'));
    log.record(reconnecting('q'));
    log.left('new');
    expect(log.record(reconnecting('s'))).toBeUndefined();
    expect(log.record(reconnecting('t'))).toBe('old');
    log.forget('old');
    expect(log.size).toBe(2);
    expect(log.back('new', 'new')).toEqual([reconnecting('s'), reconnecting('t')]);
  });

  it('N members away at once cost N changes, not N²', () => {
    const log = new PresenceLog<number>();
    for (let i = 0; i < 1000; i++) {
      log.left(i);
      log.record(reconnecting(`m${i}`));
    }
    expect(log.size).toBe(1000);
    // The first to leave learns of the 999 after it; the last of none.
    expect(log.back(0, 'm0')).toHaveLength(999);
    expect(log.back(999, 'm999')).toEqual([]);
  });
});
