import { TetherError } from '@tether/protocol';

/**
 * The WebRTC implementation: the browser's, or one the application passes in Node
 * (werift's `RTCPeerConnection` has the same shape).
 */
export interface RtcProvider {
  RTCPeerConnection: new (config?: RTCConfiguration) => RTCPeerConnection;
}

export function rtcProvider(given: RtcProvider | undefined): RtcProvider {
  if (given) return given;
  const global = (globalThis as { RTCPeerConnection?: RtcProvider['RTCPeerConnection'] }).RTCPeerConnection;
  if (!global) throw new TetherError('MEDIA_UNAVAILABLE');
  return { RTCPeerConnection: global };
}

/** Non-trickle negotiation: resolves with the local SDP once every candidate is in it. */
export async function gatheredSdp(pc: RTCPeerConnection, timeoutMs = 5000): Promise<string> {
  if (pc.iceGatheringState !== 'complete') {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs); // send what we have: a partial candidate list still connects
      const previous = pc.onicegatheringstatechange;
      pc.onicegatheringstatechange = (ev) => {
        if (typeof previous === 'function') previous.call(pc, ev);
        if (pc.iceGatheringState === 'complete') {
          clearTimeout(timer);
          resolve();
        }
      };
    });
  }
  const sdp = pc.localDescription?.sdp;
  if (!sdp) throw new TetherError('MEDIA_NEGOTIATION_FAILED', 'no local description');
  return sdp;
}

/** Packets received on all inbound RTP streams of a peer connection (from getStats). */
export async function packetsReceived(pc: RTCPeerConnection): Promise<number> {
  const report = await pc.getStats();
  let total = 0;
  report.forEach((stat: { type?: string; packetsReceived?: number }) => {
    if (stat.type === 'inbound-rtp') total += stat.packetsReceived ?? 0;
  });
  return total;
}

/** Packets sent on all outbound RTP streams of a peer connection (from getStats). */
export async function packetsSent(pc: RTCPeerConnection): Promise<number> {
  const report = await pc.getStats();
  let total = 0;
  report.forEach((stat: { type?: string; packetsSent?: number }) => {
    if (stat.type === 'outbound-rtp') total += stat.packetsSent ?? 0;
  });
  return total;
}
