import { TetherError } from '@tether/protocol';
import { gatheredSdp, peerConfig } from '@tether/webrtc';
import { pino } from 'pino';
import { RTCPeerConnection } from 'werift';
import { afterEach, describe, expect, it } from 'vitest';
import { EARLY_SUBSCRIBER_WAIT_MS, Sfu } from './sfu.js';
import { FakeClock, RtpSource, waitFor } from '@tether/testkit';

const MEDIA_TIMEOUT_MS = 1500;
const MEDIA_WINDOW_MS = 20_000;

const closers: Array<() => unknown> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

function setup() {
  const clock = new FakeClock();
  const events: string[] = [];
  const at = () => clock.now() - 1_700_000_000_000;
  const sfu = new Sfu(
    {
      clock,
      log: pino({ level: 'silent' }),
      mediaTimeoutMs: MEDIA_TIMEOUT_MS,
      mediaWindowMs: MEDIA_WINDOW_MS,
    },
    {
      onFlowing: (streamId, flowing) => events.push(`${streamId} ${flowing ? 'flowing' : 'stopped'}@${at()}`),
      onGiveUp: (streamId) => events.push(`${streamId} givenUp@${at()}`),
    },
  );
  closers.push(() => sfu.close());
  return { clock, events, sfu };
}

/** A werift publisher negotiated with the SFU, as the SDK's routed publisher is. */
async function publisher(sfu: Sfu, clock: FakeClock, streamId: string) {
  const source = new RtpSource();
  const pc = new RTCPeerConnection({ ...peerConfig(), iceUseIpv6: false });
  closers.push(() => pc.close());
  for (const track of [source.audio, source.video]) pc.addTransceiver(track, { direction: 'sendonly' });
  await pc.setLocalDescription(await pc.createOffer());
  const answer = await sfu.publish(streamId, await gatheredSdp(pc, clock));
  await pc.setRemoteDescription({ type: 'answer', sdp: answer });
  await waitFor(() => pc.connectionState === 'connected', 'the publisher connected to the SFU');
  return { pc, source };
}

function settle<T>(p: Promise<T>) {
  const out: { value?: T; error?: unknown; settled: boolean } = { settled: false };
  p.then(
    (value) => Object.assign(out, { value, settled: true }),
    (error) => Object.assign(out, { error, settled: true }),
  );
  return out;
}
const flush = () => new Promise((r) => setImmediate(r));

describe('Sfu timers (fake clock)', () => {
  it('a silent publisher stops flowing after the media timeout and is given up exactly one media window later', async () => {
    const { clock, events, sfu } = setup();
    const { source } = await publisher(sfu, clock, 's1');
    // One packet, so none is still on its way when time moves on.
    source.sendOne();
    await waitFor(() => events.length > 0, 'the first packet at the SFU');
    expect(events).toEqual(['s1 flowing@0']);
    expect(sfu.isFlowing('s1')).toBe(true);
    clock.advance(MEDIA_TIMEOUT_MS);
    expect(events).toEqual(['s1 flowing@0', 's1 stopped@1500']);
    expect(sfu.isFlowing('s1')).toBe(false);
    clock.advance(MEDIA_WINDOW_MS - 1);
    expect(events).toHaveLength(2);
    clock.advance(1);
    expect(events).toEqual(['s1 flowing@0', 's1 stopped@1500', 's1 givenUp@21500']);
  });

  it('a publisher that flows again within the window is not given up; its next silence starts a new window', async () => {
    const { clock, events, sfu } = setup();
    const { source } = await publisher(sfu, clock, 's1');
    source.sendOne();
    await waitFor(() => events.length === 1, 'the first packet at the SFU');
    clock.advance(MEDIA_TIMEOUT_MS + MEDIA_WINDOW_MS - 1);
    source.sendOne();
    await waitFor(() => events.length === 3, 'the second packet at the SFU');
    clock.advance(MEDIA_TIMEOUT_MS + MEDIA_WINDOW_MS - 1);
    expect(events).toEqual(['s1 flowing@0', 's1 stopped@1500', 's1 flowing@21499', 's1 stopped@22999']);
    clock.advance(1);
    expect(events.at(-1)).toBe('s1 givenUp@42999');
  });

  it('an early subscriber waits for the publisher’s offer, up to EARLY_SUBSCRIBER_WAIT_MS, then STREAM_NOT_FOUND', async () => {
    const { clock, sfu } = setup();
    const early = settle(sfu.subscribe('s1'));
    clock.advance(EARLY_SUBSCRIBER_WAIT_MS - 1);
    await flush();
    expect(early.settled).toBe(false);
    clock.advance(1);
    await flush();
    expect(early.error).toBeInstanceOf(TetherError);
    expect((early.error as TetherError).code).toBe('STREAM_NOT_FOUND');
    expect(clock.pendingCount).toBe(0);
  });

  it('an early subscriber gets its offer as soon as the publisher negotiates, with no time passing', async () => {
    const { clock, sfu } = setup();
    const early = sfu.subscribe('s1');
    await publisher(sfu, clock, 's1');
    const { subscriptionId, sdp } = await early;
    expect(subscriptionId).toBeTruthy();
    expect(sdp).toMatch(/a=candidate:/);
    expect(sfu.stats()).toMatchObject({ ingests: 1, egresses: 1 });
  });

  it('a stream whose media moved here is given up one media window later unless published again fresh; an ICE restart is refused', async () => {
    const { clock, events, sfu } = setup();
    sfu.expect('s1');
    sfu.expect('s2');
    const pc = new RTCPeerConnection({ ...peerConfig(), iceUseIpv6: false });
    closers.push(() => pc.close());
    pc.addTransceiver('video', { direction: 'sendonly' });
    await pc.setLocalDescription(await pc.createOffer());
    const offer = await gatheredSdp(pc, clock);
    // An ICE restart of a peer connection the old home had: it cannot succeed here.
    await expect(sfu.publish('s1', offer)).rejects.toMatchObject({ code: 'MEDIA_MOVED' });
    // A fresh one: s1 is back, and no window runs for it.
    await sfu.publish('s1', offer, true);
    clock.advance(MEDIA_WINDOW_MS - 1);
    expect(events).toEqual([]);
    clock.advance(1);
    expect(events).toEqual([`s2 givenUp@${MEDIA_WINDOW_MS}`]);
    expect(sfu.stats().ingests).toBe(1);
  });
});
