import { TetherError, type Clock } from '@tether/protocol';

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

/** How long a first negotiation may take to connect before it counts as failed. */
export const CONNECT_TIMEOUT_MS = 15_000;

/** Resolves once the peer connection is connected; fails with MEDIA_NEGOTIATION_FAILED after `timeoutMs`. */
export function iceConnected(
  pc: RTCPeerConnection,
  clock: Clock,
  timeoutMs = CONNECT_TIMEOUT_MS,
): Promise<void> {
  if (pc.connectionState === 'connected') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const previous = pc.onconnectionstatechange;
    const handler = function (this: RTCPeerConnection, ev: Event) {
      if (typeof previous === 'function') previous.call(pc, ev);
      if (pc.connectionState === 'connected') settle();
    };
    let settled = false;
    const settle = (err?: TetherError) => {
      if (settled) return;
      settled = true;
      clock.clearTimeout(timer);
      // Unhook, unless something hooked on top since: then this one stays a pass-through.
      if (pc.onconnectionstatechange === handler) pc.onconnectionstatechange = previous;
      if (err) reject(err);
      else resolve();
    };
    const timer = clock.setTimeout(
      () =>
        settle(
          new TetherError('MEDIA_NEGOTIATION_FAILED', `ICE did not connect within ${timeoutMs / 1000} s`),
        ),
      timeoutMs,
    );
    pc.onconnectionstatechange = handler;
  });
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
