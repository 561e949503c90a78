/**
 * The client's media timers on a fake clock, against the real SFU over werift: the
 * publisher's wait before acting on a "not flowing" report, and the subscriber's grace
 * between "the publisher flows again" and blaming its own path. Signalling is the SFU's
 * own API called in process (what RoomMedia does for a routed session), so nothing but
 * the clock decides when a timer fires.
 */
import { MEDIA_TIMING, Publisher, Subscriber, type StreamInfo } from '@tether/client';
import type { ClientOp } from '@tether/protocol';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { Sfu } from '../src/media/sfu.js';
import { FakeClock, RtpSink, RtpSource, waitFor, weriftRtc } from '@tether/testkit';

type MediaChannel = Parameters<Publisher['start']>[0];

const closers: Array<() => unknown> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

function setup() {
  const clock = new FakeClock();
  const sfu = new Sfu(
    { clock, log: pino({ level: 'silent' }), mediaTimeoutMs: 1500, mediaWindowMs: 60_000 },
    { onFlowing: () => undefined, onGiveUp: () => undefined },
  );
  closers.push(() => sfu.close());
  const ops: string[] = [];
  const stream: StreamInfo = {
    streamId: 's1',
    connectionId: 'c1',
    name: '',
    hasAudio: true,
    hasVideo: true,
    videoType: 'camera',
    creationTime: clock.now(),
  };
  const channel: MediaChannel = {
    clock,
    rtc: weriftRtc,
    routed: true,
    mediaWindowMs: 60_000,
    iceServers: [],
    connected: true,
    async request(op: ClientOp) {
      ops.push(op.t);
      switch (op.t) {
        case 'publish':
          return { stream };
        case 'publishMedia':
          return { sdp: await sfu.publish(op.streamId, op.sdp) };
        case 'subscribe':
          return sfu.subscribe(op.streamId);
        case 'answerMedia':
          await sfu.answer(op.subscriptionId, op.sdp);
          return {};
        case 'restartMedia':
          return { sdp: await sfu.restart(op.subscriptionId) };
        case 'unsubscribe':
          sfu.unsubscribe(op.subscriptionId);
          return {};
        case 'unpublish':
          sfu.closeStream(op.streamId);
          return {};
        default:
          throw new Error(`unexpected op ${op.t}`);
      }
    },
  };
  const source = new RtpSource();
  const count = (t: string) => ops.filter((o) => o === t).length;
  return { clock, channel, source, ops, count, stream };
}

async function publishing(channel: MediaChannel, source: RtpSource) {
  const pub = new Publisher({ tracks: source.tracks });
  const states: string[] = [];
  pub.on('stateChanged', (e) => states.push(e.state));
  closers.push(() => pub.stop('clientDisconnected'));
  await pub.start(channel);
  return { pub, states };
}

describe('client media timers (fake clock, real SFU)', () => {
  it('a publisher acts on "not flowing" only if no "flowing" follows within pollMs', async () => {
    const { clock, channel, source, count } = setup();
    const { pub, states } = await publishing(channel, source);
    expect(states).toEqual(['publishRequesting', 'publishing']);

    // A stale report followed at once by the current one: nothing happens.
    pub.mediaFlowing(false);
    clock.advance(MEDIA_TIMING.pollMs - 1);
    pub.mediaFlowing(true);
    clock.advance(MEDIA_TIMING.pollMs * 10);
    expect(states).toEqual(['publishRequesting', 'publishing']);
    expect(count('publishMedia')).toBe(1);

    // A report that stands: at pollMs the publisher recovers (ICE restart through the SFU).
    pub.mediaFlowing(false);
    clock.advance(MEDIA_TIMING.pollMs - 1);
    expect(pub.state).toBe('publishing');
    clock.advance(1);
    expect(states).toEqual(['publishRequesting', 'publishing', 'publishRequesting']);
    await waitFor(() => count('publishMedia') === 2, 'the ICE-restart offer');
    pub.mediaFlowing(true);
    expect(states).toEqual(['publishRequesting', 'publishing', 'publishRequesting', 'publishing']);
  });

  it('a subscriber blames its own path (ICE restart) when packets do not follow "the publisher flows" within idleMs', async () => {
    const { clock, channel, source, count, stream } = setup();
    await publishing(channel, source);
    const sub = new Subscriber(stream, channel);
    closers.push(() => sub.end('clientDisconnected'));
    const sink = new RtpSink();
    sub.on('track', ({ track }) => sink.attach(track));
    const seen: string[] = [];
    sub.on('disconnected', (e) => seen.push(`disconnected:${e.cause}`));
    sub.on('connected', () => seen.push('connected'));
    await sub.start();
    expect(sub.state).toBe('playing');

    /** One poll of the subscriber's packet counter (getStats is asynchronous): the next is armed again. */
    const poll = async (n = 1) => {
      for (let i = 0; i < n; i++) {
        const armed = clock.pendingCount;
        clock.advance(MEDIA_TIMING.pollMs);
        await waitFor(() => clock.pendingCount >= armed, 'the next poll');
      }
    };

    // The publisher's side drops; the last packets arrive, then none.
    sub.publisherFlowing(false);
    expect(seen).toEqual(['disconnected:publisher']);
    for (let i = 0; i < 5; i++) source.sendOne();
    await waitFor(() => sink.received.audio === 5 && sink.received.video === 5, 'the last packets');
    await poll(); // counted
    await poll(MEDIA_TIMING.idleMs / MEDIA_TIMING.pollMs); // idle: blamed on the publisher, no restart
    expect(count('restartMedia')).toBe(0);

    // The server says the publisher flows again; our packets do not come back.
    sub.publisherFlowing(true);
    await poll(MEDIA_TIMING.idleMs / MEDIA_TIMING.pollMs - 1);
    expect(count('restartMedia')).toBe(0);
    await poll();
    await waitFor(() => count('restartMedia') === 1, 'the subscriber’s ICE restart');
    expect(seen).toEqual(['disconnected:publisher']);
  });
});
