import { MediaStreamTrack, RTCPeerConnection } from 'werift';
import { afterEach, describe, expect, it } from 'vitest';
import { gatheredSdp } from './gathering.js';
import { resumeIceChecks } from './ice-restart.js';
import { peerConfig } from './peer-config.js';
import { FakeClock, waitFor } from '@tether/testkit';

const pcs: RTCPeerConnection[] = [];
afterEach(async () => {
  await Promise.all(pcs.splice(0).map((pc) => pc.close()));
});

/** Two werift peers on loopback, negotiated non-trickle, as the SDK and the SFU do. */
async function pair() {
  const clock = new FakeClock();
  const config = { ...peerConfig(), iceUseIpv6: false, iceAdditionalHostAddresses: ['127.0.0.1'] };
  const a = new RTCPeerConnection(config);
  const b = new RTCPeerConnection(config);
  pcs.push(a, b);
  a.addTransceiver(new MediaStreamTrack({ kind: 'video' }), { direction: 'sendonly' });
  const negotiate = async (iceRestart: boolean, resume: boolean) => {
    await a.setLocalDescription(await a.createOffer({ iceRestart }));
    await b.setRemoteDescription({ type: 'offer', sdp: await gatheredSdp(a, clock) });
    await b.setLocalDescription(await b.createAnswer());
    const answer = await gatheredSdp(b, clock);
    if (resume) resumeIceChecks(b);
    await a.setRemoteDescription({ type: 'answer', sdp: answer });
    if (resume) resumeIceChecks(a);
  };
  const nominated = (pc: RTCPeerConnection) => pc.iceTransports.every((t) => !!t.connection.nominated);
  return { a, b, negotiate, nominated };
}

describe('resumeIceChecks', () => {
  it('after an ICE restart werift runs no checks (no nominated pair); resumed, both ends nominate one again', async () => {
    const { a, b, negotiate, nominated } = await pair();
    await negotiate(false, false);
    await waitFor(
      () => a.connectionState === 'connected' && b.connectionState === 'connected',
      'first connection',
    );
    await waitFor(() => nominated(a) && nominated(b), 'a nominated pair');

    await negotiate(true, false);
    // What the workaround is for: new credentials, and nothing checking them.
    for (const pc of [a, b]) {
      expect(nominated(pc)).toBe(false);
      expect(pc.iceTransports.map((t) => t.state)).not.toContain('checking');
    }

    resumeIceChecks(a);
    resumeIceChecks(b);
    await waitFor(() => nominated(a) && nominated(b), 'a pair nominated after the restart');
    expect(a.connectionState).toBe('connected');
    expect(b.connectionState).toBe('connected');
  });

  it('leaves a transport with a nominated pair alone, and a closed peer connection', async () => {
    const { a, b, negotiate, nominated } = await pair();
    await negotiate(false, true);
    await waitFor(() => nominated(a) && nominated(b), 'a nominated pair');
    const before = a.iceTransports.map((t) => t.state);
    resumeIceChecks(a);
    expect(a.iceTransports.map((t) => t.state)).toEqual(before);
    await a.close();
    expect(() => resumeIceChecks(a)).not.toThrow();
  });

  it('does nothing to a peer connection without werift transports (browsers restart ICE by themselves)', () => {
    expect(() => resumeIceChecks({})).not.toThrow();
    expect(() => resumeIceChecks({ iceTransports: undefined })).not.toThrow();
  });
});
