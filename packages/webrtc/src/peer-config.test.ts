import { MediaStreamTrack, RTCPeerConnection } from 'werift';
import { afterEach, describe, expect, it } from 'vitest';
import { peerConfig } from './peer-config.js';

const pcs: RTCPeerConnection[] = [];
afterEach(async () => {
  await Promise.all(pcs.splice(0).map((pc) => pc.close()));
});

async function transportsFor(config: ConstructorParameters<typeof RTCPeerConnection>[0]): Promise<number> {
  const pc = new RTCPeerConnection({ ...config, iceUseIpv6: false });
  pcs.push(pc);
  pc.addTransceiver(new MediaStreamTrack({ kind: 'audio' }), { direction: 'sendonly' });
  pc.addTransceiver(new MediaStreamTrack({ kind: 'video' }), { direction: 'sendonly' });
  await pc.setLocalDescription(await pc.createOffer());
  return pc.iceTransports.length;
}

describe('peerConfig', () => {
  it('gives werift one transport for audio and video, where its default opens one per track', async () => {
    expect(await transportsFor({ iceServers: [] })).toBe(2);
    expect(await transportsFor(peerConfig())).toBe(1);
  });

  it('names no STUN server unless given one (werift would ask a public one)', () => {
    expect(peerConfig()).toEqual({ bundlePolicy: 'max-bundle', iceServers: [] });
    const turn = { urls: 'turn:turn.example:3478', username: 'u', credential: 'c' };
    expect(peerConfig([turn]).iceServers).toEqual([turn]);
  });
});
