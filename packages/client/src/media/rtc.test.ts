import { TetherError } from '@tether/protocol';
import { gatheredSdp, peerConfig } from '@tether/webrtc';
import { afterEach, describe, expect, it } from 'vitest';
import { CONNECT_TIMEOUT_MS, iceConnected } from './rtc.js';
import { FakeClock, RtpSource, weriftRtc } from '@tether/testkit';

const pcs: RTCPeerConnection[] = [];
function peer(): RTCPeerConnection {
  const pc = new weriftRtc.RTCPeerConnection(peerConfig());
  pcs.push(pc);
  return pc;
}
afterEach(() => {
  for (const pc of pcs.splice(0)) pc.close();
});

const flush = () => new Promise((r) => setImmediate(r));

describe('iceConnected', () => {
  it('fails with MEDIA_NEGOTIATION_FAILED exactly at the timeout, on the injected clock, and unhooks itself', async () => {
    const clock = new FakeClock();
    const pc = peer();
    const previous = () => undefined;
    pc.onconnectionstatechange = previous;
    let error: unknown;
    iceConnected(pc, clock).catch((err) => (error = err));
    clock.advance(CONNECT_TIMEOUT_MS - 1);
    await flush();
    expect(error).toBeUndefined();
    clock.advance(1);
    await flush();
    expect(error).toBeInstanceOf(TetherError);
    expect((error as TetherError).code).toBe('MEDIA_NEGOTIATION_FAILED');
    expect(pc.onconnectionstatechange).toBe(previous);
  });

  it('resolves once ICE connects, clears its timer, keeps calling the handler it wrapped, then unhooks', async () => {
    const clock = new FakeClock();
    const [a, b] = [peer(), peer()];
    for (const track of new RtpSource().tracks) a.addTransceiver(track, { direction: 'sendonly' });
    const seen: string[] = [];
    const previous = () => seen.push(a.connectionState);
    a.onconnectionstatechange = previous;
    const connected = iceConnected(a, clock);
    await a.setLocalDescription(await a.createOffer());
    await b.setRemoteDescription({ type: 'offer', sdp: await gatheredSdp(a, clock) });
    await b.setLocalDescription(await b.createAnswer());
    await a.setRemoteDescription({ type: 'answer', sdp: await gatheredSdp(b, clock) });
    await connected;
    expect(a.connectionState).toBe('connected');
    expect(seen).toContain('connected');
    expect(clock.pendingCount).toBe(0);
    expect(a.onconnectionstatechange).toBe(previous);
    await expect(iceConnected(a, clock)).resolves.toBeUndefined();
  });
});
