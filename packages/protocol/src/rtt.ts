/**
 * Round-trip time of one transport, smoothed as TCP does for its retransmission timeout
 * (RFC 6298): `srtt` and `rttvar` from each sample, and an allowance of `srtt + 4·rttvar`
 * that a live path stays under with high probability. A slow or congested path raises it
 * by itself; a healthy one keeps it near zero.
 */
export class RttEstimator {
  private srtt: number | undefined;
  private rttvar = 0;

  /** A measured round trip, in ms. */
  sample(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    if (this.srtt === undefined) {
      this.srtt = ms;
      this.rttvar = ms / 2;
      return;
    }
    this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - ms);
    this.srtt = 0.875 * this.srtt + 0.125 * ms;
  }

  /** Whether any sample was taken. */
  get measured(): boolean {
    return this.srtt !== undefined;
  }

  /** The smoothed round trip (0 before any sample). */
  get smoothedMs(): number {
    return this.srtt ?? 0;
  }

  /** `srtt + 4·rttvar`: how much longer than the beat interval a live peer may stay silent. */
  get allowanceMs(): number {
    return Math.round((this.srtt ?? 0) + 4 * this.rttvar);
  }
}

/**
 * The silence after which a transport is dead: one beat interval plus the round-trip
 * allowance, never below `floorMs` (which sets detection on a healthy link) nor above
 * `ceilingMs` (which bounds it on the slowest).
 */
export function silenceTimeoutMs(
  intervalMs: number,
  allowanceMs: number,
  floorMs: number,
  ceilingMs: number,
): number {
  return Math.min(Math.max(intervalMs + allowanceMs, floorMs), Math.max(floorMs, ceilingMs));
}
