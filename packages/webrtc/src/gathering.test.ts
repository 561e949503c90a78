import { TetherError } from '@tether/protocol';
import { MediaStreamTrack, RTCPeerConnection } from 'werift';
import { afterEach, describe, expect, it } from 'vitest';
import { gatheredSdp, GATHERING_TIMEOUT_MS } from './gathering.js';
import { peerConfig } from './peer-config.js';
import { FakeClock } from '@tether/testkit';

const pcs: RTCPeerConnection[] = [];
function peer(): RTCPeerConnection {
  const pc = new RTCPeerConnection({ ...peerConfig(), iceUseIpv6: false });
  pc.addTransceiver(new MediaStreamTrack({ kind: 'video' }), { direction: 'sendonly' });
  pcs.push(pc);
  return pc;
}
afterEach(async () => {
  await Promise.all(pcs.splice(0).map((pc) => pc.close()));
});

/** Settles a promise into a value that can be inspected synchronously. */
function track<T>(p: Promise<T>) {
  const out: { value?: T; error?: unknown; settled: boolean } = { settled: false };
  p.then(
    (value) => Object.assign(out, { value, settled: true }),
    (error) => Object.assign(out, { error, settled: true }),
  );
  return out;
}
const flush = () => new Promise((r) => setImmediate(r));

describe('gatheredSdp', () => {
  it('asked mid-gathering, resolves with every candidate once gathering completes, and leaves no timer nor hook', async () => {
    const clock = new FakeClock();
    const pc = peer();
    const previous = () => undefined;
    pc.onicegatheringstatechange = previous;
    const setting = pc.setLocalDescription(await pc.createOffer());
    expect(pc.iceGatheringState).not.toBe('complete');
    const sdp = await gatheredSdp(pc, clock);
    await setting;
    expect(sdp).toMatch(/a=candidate:/);
    expect(clock.pendingCount).toBe(0);
    expect(pc.onicegatheringstatechange).toBe(previous);
  });

  it('returns at once when gathering is already complete, setting no timer', async () => {
    const clock = new FakeClock();
    const pc = peer();
    await pc.setLocalDescription(await pc.createOffer());
    expect(pc.iceGatheringState).toBe('complete');
    expect(await gatheredSdp(pc, clock)).toMatch(/a=candidate:/);
    expect(clock.pendingCount).toBe(0);
  });

  it('gives up waiting exactly at the timeout, on the injected clock; with no description, MEDIA_NEGOTIATION_FAILED', async () => {
    const clock = new FakeClock();
    const pc = peer();
    const result = track(gatheredSdp(pc, clock));
    clock.advance(GATHERING_TIMEOUT_MS - 1);
    await flush();
    expect(result.settled).toBe(false);
    clock.advance(1);
    await flush();
    expect(result.error).toBeInstanceOf(TetherError);
    expect((result.error as TetherError).code).toBe('MEDIA_NEGOTIATION_FAILED');
    expect(clock.pendingCount).toBe(0);
  });
});
