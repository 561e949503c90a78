import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestServer, waitFor, type TestServer } from '@tether/testkit';
import type { Role, Session } from '../src/index.js';

/**
 * A session created with `connectionEventsSuppressed` (PROTOCOL.md, Large sessions): its
 * subscribers are told of publishers and moderators only, never of each other; publishers and
 * moderators are told of everyone.
 */

describe('connection events suppressed', () => {
  let t: TestServer;
  let sessionId: string;
  beforeEach(async () => {
    t = await startTestServer();
    sessionId = await t.createSession({ connectionEventsSuppressed: true });
  });
  afterEach(async () => t.close());

  async function member(role: Role, data: string) {
    const log: string[] = [];
    const s: Session = await t.join(sessionId, { role, data });
    s.on('connectionCreated', (e) => log.push(`+${e.connection.data}`));
    s.on('connectionDestroyed', (e) => log.push(`-${e.connection.data}`));
    const known = () =>
      s.connections
        .map((c) => c.data)
        .filter((d) => d !== data)
        .sort();
    return { s, log, known };
  }

  it('subscribers hear only of the stage; the stage hears of everyone, joins and leaves', async () => {
    const host = await member('moderator', 'host');
    const viewers = [];
    for (let i = 0; i < 5; i++) viewers.push(await member('subscriber', `v${i}`));
    const speaker = await member('publisher', 'speaker');
    await waitFor(() => host.log.length === 6, 'the host told of every join');
    expect(host.log).toEqual(['+v0', '+v1', '+v2', '+v3', '+v4', '+speaker']);
    expect(speaker.known()).toEqual(['host', 'v0', 'v1', 'v2', 'v3', 'v4']);
    for (const v of viewers)
      await waitFor(() => v.known().length === 2, `a viewer told of the speaker: ${v.known()} ${v.log}`);
    for (const v of viewers) expect(v.known()).toEqual(['host', 'speaker']);

    viewers[0]!.s.disconnect();
    speaker.s.disconnect();
    await waitFor(() => host.log.length === 8, 'the host told of both leaves');
    expect(host.log.slice(6).sort()).toEqual(['-speaker', '-v0']);
    for (const v of viewers.slice(1))
      await waitFor(() => v.log.includes('-speaker'), 'a viewer told the speaker left');
    // A viewer's own roster never had another viewer: nothing of theirs to hear.
    for (const v of viewers.slice(1)) {
      expect(v.log.filter((e) => e.includes('v'))).toEqual([]);
      expect(v.known()).toEqual(['host']);
    }
  });
});
