import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RtpSink, RtpSource, startTestServer, waitFor, weriftRtc, type TestServer } from '@tether/testkit';
import type { Subscriber } from '../src/index.js';

describe('real media over WebRTC (werift in Node)', () => {
  let t: TestServer;
  let source: RtpSource;
  beforeEach(async () => {
    t = await startTestServer();
    source = new RtpSource();
  });
  afterEach(async () => {
    source.stop();
    await t.close();
  });

  async function receive(sub: Subscriber): Promise<RtpSink> {
    const sink = new RtpSink();
    for (const track of sub.tracks) sink.attach(track);
    sub.on('track', ({ track }) => sink.attach(track));
    return sink;
  }

  it('routed: a subscriber that subscribes as soon as the stream is announced gets its media', async () => {
    const sessionId = await t.createSession({ mediaMode: 'routed' });
    const pub = await t.join(sessionId, { data: 'pub', rtc: weriftRtc });
    const early = await t.join(sessionId, { data: 'early', rtc: weriftRtc });
    const subscribed = new Promise<Subscriber>((resolve, reject) =>
      early.once('streamCreated', ({ stream }) => early.subscribe(stream).then(resolve, reject)),
    );
    source.start();
    await pub.publish(pub.initPublisher({ tracks: source.tracks }));
    const sub = await subscribed;
    const sink = await receive(sub);
    await waitFor(() => sink.received.video > 20, 'packets at the early subscriber');
  }, 30_000);

  for (const mediaMode of ['routed', 'relayed'] as const) {
    it(`${mediaMode}: a publisher's audio and video reach two subscribers, continuous`, async () => {
      const sessionId = await t.createSession({ mediaMode });
      const pub = await t.join(sessionId, { data: 'pub', rtc: weriftRtc });
      const s1 = await t.join(sessionId, { data: 's1', rtc: weriftRtc });
      const s2 = await t.join(sessionId, { data: 's2', rtc: weriftRtc });
      const publisher = pub.initPublisher({ name: 'gen', tracks: source.tracks });
      const states: string[] = [];
      publisher.on('stateChanged', (e) => states.push(e.state));
      source.start();
      const stream = await pub.publish(publisher);
      expect(publisher.state).toBe('publishing');
      expect(states).toEqual(['publishRequesting', 'publishing']);
      await waitFor(() => s1.streams.length === 1 && s2.streams.length === 1, 'streams seen');
      const [sub1, sub2] = await Promise.all([s1.subscribe(stream), s2.subscribe(stream)]);
      expect(sub1.state).toBe('playing');
      const [k1, k2] = await Promise.all([receive(sub1), receive(sub2)]);
      await waitFor(
        () =>
          k1.received.video > 50 &&
          k2.received.video > 50 &&
          k1.received.audio > 50 &&
          k2.received.audio > 50,
        'packets at both',
      );
      for (const k of [k1, k2]) {
        expect(k.continuous('video')).toBe(true);
        expect(k.continuous('audio')).toBe(true);
      }
      // Audio/video disable is reflected to subscribers.
      const changed = s1.next('streamPropertyChanged');
      await publisher.publishVideo(false);
      expect(await changed).toMatchObject({ changedProperty: 'hasVideo', newValue: false });
      // Unpublish cleans up everywhere.
      const ended = new Promise((r) => sub1.once('destroyed', r));
      await pub.unpublish(publisher);
      await ended;
      expect(sub1.state).toBe('noPlay');
      if (mediaMode === 'routed') {
        const room = t.server.hub.room(sessionId)!;
        await waitFor(() => room.media.subscriptionCount === 0, 'subscriptions cleaned');
      }
    }, 30_000);
  }
});
