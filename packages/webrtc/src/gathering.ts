import { TetherError, type Clock } from '@tether/protocol';

/** What non-trickle negotiation needs of a peer connection; the browser's and werift's both have it. */
export interface GatheringPeer {
  readonly iceGatheringState: string;
  readonly localDescription?: { readonly sdp?: string } | null;
  onicegatheringstatechange: ((ev: any) => any) | null | undefined;
}

/** Long enough for host candidates, and for a STUN or TURN server that answers at all. */
export const GATHERING_TIMEOUT_MS = 5000;

/**
 * Non-trickle negotiation: resolves with the local SDP once every candidate is in it, or
 * after `timeoutMs` with what is there (a partial candidate list still connects).
 */
export async function gatheredSdp(
  pc: GatheringPeer,
  clock: Clock,
  timeoutMs = GATHERING_TIMEOUT_MS,
): Promise<string> {
  if (pc.iceGatheringState !== 'complete') {
    await new Promise<void>((resolve) => {
      const previous = pc.onicegatheringstatechange;
      const handler = (ev: unknown) => {
        if (typeof previous === 'function') previous.call(pc, ev);
        if (pc.iceGatheringState === 'complete') done();
      };
      let settled = false;
      const done = () => {
        if (settled) return;
        settled = true;
        clock.clearTimeout(timer);
        // Unhook, unless another wait hooked on top since: then this one stays a pass-through.
        if (pc.onicegatheringstatechange === handler) pc.onicegatheringstatechange = previous;
        resolve();
      };
      const timer = clock.setTimeout(done, timeoutMs);
      pc.onicegatheringstatechange = handler;
    });
  }
  const sdp = pc.localDescription?.sdp;
  if (!sdp) throw new TetherError('MEDIA_NEGOTIATION_FAILED', 'no local description');
  return sdp;
}
