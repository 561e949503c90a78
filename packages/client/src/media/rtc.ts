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

/**
 * After an ICE restart, werift (the WebRTC of Node, 0.25) renegotiates new credentials but does
 * not run connectivity checks again once DTLS is up, so the path never comes back: start them.
 * Browsers restart ICE by themselves (they have no `iceTransports`): nothing to do there.
 */
export function resumeIceChecks(pc: RTCPeerConnection): void {
  const transports = (pc as unknown as { iceTransports?: WeriftIceTransport[] }).iceTransports;
  for (const t of transports ?? [])
    if (
      t.state !== 'closed' &&
      t.state !== 'checking' &&
      t.connection &&
      !t.connection.nominated &&
      t.connection.remoteUsername
    )
      t.start().catch(() => undefined); // a failed start shows as a path still down: recovery retries
}

interface WeriftIceTransport {
  state: string;
  connection?: { nominated?: unknown; remoteUsername?: string };
  start(): Promise<void>;
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
