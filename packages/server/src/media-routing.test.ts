import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '@tether/testkit';
import type { StreamInfo } from '@tether/protocol';
import type { LogEntry, MediaClaim, MediaHomes, SessionRecord } from './cluster/engine.js';
import { Sfu } from './media/sfu.js';
import { MediaRouting, REMOTE_MEDIA_TIMEOUT_MS } from './media-routing.js';
import { RoomMedia, type OpResult } from './room-media.js';

const STREAM: StreamInfo = {
  streamId: 'st1',
  connectionId: 'pub',
  name: 'cam',
  hasAudio: true,
  hasVideo: true,
  videoType: 'camera',
  creationTime: 0,
};

/** One node's routing of a routed session: `home` names where the media runs (this node is `me`). */
function node(me: string, home: string) {
  const clock = new FakeClock();
  const appended: LogEntry[] = [];
  const streams = new Map([[STREAM.streamId, STREAM]]);
  const media = new RoomMedia(
    { streams, send: () => undefined, broadcast: () => undefined },
    () =>
      new Sfu(
        { clock, log: pino({ level: 'silent' }), mediaTimeoutMs: 1500, mediaWindowMs: 20_000 },
        { onFlowing: () => undefined, onGiveUp: () => undefined },
      ),
    false,
  );
  const claims: MediaClaim[] = [];
  const homes: MediaHomes = {
    claim: async () => {
      const claim = { home, moved: false, announce: false };
      claims.push(claim);
      return claim;
    },
    release: async () => undefined,
    clearDead: async () => false,
  };
  const routing = new MediaRouting(
    {
      sessionId: 'sess',
      nodeId: me,
      media,
      get streamCount() {
        return streams.size;
      },
      append: async (entries) => {
        appended.push(...entries);
      },
    },
    homes,
    clock,
    true,
  );
  return { clock, appended, media, routing, claims };
}

const flush = () => new Promise((r) => setImmediate(r));
const records = (entries: LogEntry[]) => entries.map((e) => e.event as SessionRecord);

/** Starts a deferred op; its result in `.result` (not awaited here: a promise in a promise flattens). */
function deferred(run: ReturnType<MediaRouting['run']>): { result: Promise<OpResult> } {
  expect(typeof run).toBe('function');
  return { result: (run as () => Promise<OpResult>)() };
}

describe('MediaRouting (fake clock)', () => {
  it('an op of a client here travels to the home elsewhere through the log; its result comes back the same way', async () => {
    const b = node('B', 'A');
    const reply = deferred(b.routing.run('sub', { t: 'restartMedia', seq: 7, subscriptionId: 'x' }));
    await flush();
    expect(records(b.appended)).toEqual([
      {
        t: '~media',
        home: 'A',
        connectionId: 'sub',
        re: 7,
        op: { t: 'restartMedia', seq: 7, subscriptionId: 'x' },
      },
    ]);
    // Another connection's result, or another op's, is not this one's.
    b.routing.record({ t: '~mediaResult', connectionId: 'other', re: 7, result: { ok: true } });
    b.routing.record({ t: '~mediaResult', connectionId: 'sub', re: 6, result: { ok: true } });
    b.routing.record({ t: '~mediaResult', connectionId: 'sub', re: 7, result: { ok: true, sdp: 'v=0' } });
    expect(await reply.result).toEqual({ ok: true, sdp: 'v=0' });
  });

  it('mediaMoved fails the ops on their way with MEDIA_MOVED; a home that never answers fails them with CLUSTER_UNAVAILABLE', async () => {
    const b = node('B', 'A');
    const moved = deferred(b.routing.run('sub', { t: 'restartMedia', seq: 1, subscriptionId: 'x' }));
    await flush();
    b.routing.moved();
    expect(await moved.result).toMatchObject({ ok: false, code: 'MEDIA_MOVED' });

    const lost = deferred(b.routing.run('sub', { t: 'restartMedia', seq: 2, subscriptionId: 'x' }));
    await flush();
    b.clock.advance(REMOTE_MEDIA_TIMEOUT_MS - 1);
    b.routing.record({ t: '~mediaResult', connectionId: 'sub', re: 1, result: { ok: true } });
    b.clock.advance(1);
    expect(await lost.result).toMatchObject({ ok: false, code: 'CLUSTER_UNAVAILABLE' });
  });

  it('the home runs the ops addressed to it, one connection’s in log order, and appends each result; others’ it leaves alone', async () => {
    const a = node('A', 'A');
    a.media.becomeHome(false);
    a.routing.record({
      t: '~media',
      home: 'Z',
      connectionId: 'sub',
      re: 1,
      op: { t: 'unsubscribe', seq: 1, subscriptionId: 'x' },
    });
    a.routing.record({
      t: '~media',
      home: 'A',
      connectionId: 'sub',
      re: 2,
      op: { t: 'unsubscribe', seq: 2, subscriptionId: 'x' },
    });
    a.routing.record({
      t: '~media',
      home: 'A',
      connectionId: 'sub',
      re: 3,
      op: { t: 'publishMedia', seq: 3, streamId: 'st1', sdp: 'v=0' },
    });
    await flush();
    await flush();
    const results = records(a.appended);
    expect(
      results.map((r) => (r.t === '~mediaResult' ? [r.re, r.result.ok, !r.result.ok && r.result.code] : r.t)),
    ).toEqual([
      [2, false, 'SUBSCRIPTION_NOT_FOUND'],
      [3, false, 'NOT_PERMITTED'],
    ]);
  });

  it('a node that is no longer the home answers MEDIA_MOVED, and the sender asks for the home once more', async () => {
    const b = node('B', 'A');
    const reply = deferred(
      b.routing.run('pub', { t: 'publishMedia', seq: 4, streamId: 'st1', sdp: 'v=0' }),
    );
    await flush();
    const a = node('A', 'A'); // not home: its media went idle
    a.routing.record(records(b.appended)[0] as Extract<SessionRecord, { t: '~media' }>);
    await flush();
    const answer = records(a.appended)[0] as Extract<SessionRecord, { t: '~mediaResult' }>;
    expect(answer.result).toMatchObject({ ok: false, code: 'MEDIA_MOVED' });
    b.routing.record(answer);
    await flush();
    expect(b.claims).toHaveLength(2);
    b.routing.moved();
    expect(await reply.result).toMatchObject({ ok: false, code: 'MEDIA_MOVED' });
  });
});
