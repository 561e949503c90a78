/**
 * What a load run saw. Every signal carries its sender's number and send time; each member
 * of the session checks, per sender, that the numbers arrive once each and in order, and how
 * long each took (one process: one clock). At the end, a signal the server accepted that a
 * member never received is lost.
 */
export class Tally {
  /** Per receiver, per sender: the last number seen. */
  private readonly last = new Map<string, Map<string, number>>();
  readonly latencies: number[] = [];
  deliveries = 0;
  duplicates = 0;
  reordered = 0;
  /** Accepted by the server, per sender: the highest number (sent in order, accepted in order). */
  private readonly accepted = new Map<string, { session: string; n: number }>();
  readonly reconnects: number[] = [];
  refused = 0;

  /** A receiver in a session joins the tally (it expects every member's signals from now on). */
  member(receiver: string): void {
    this.last.set(receiver, new Map());
  }

  accept(sender: string, session: string, n: number): void {
    this.accepted.set(sender, { session, n });
  }

  received(receiver: string, sender: string, n: number, sentAt: number, now: number): void {
    const seen = this.last.get(receiver);
    if (!seen) return;
    const prev = seen.get(sender) ?? 0;
    if (n <= prev) this.duplicates++;
    else {
      if (n !== prev + 1) this.reordered++;
      seen.set(sender, n);
      this.deliveries++;
      this.latencies.push(now - sentAt);
    }
  }

  /**
   * Signals the server accepted that a member of the sender's session has not received (every
   * member joined before the first signal: each should have every one). `members`: member → session.
   */
  missing(members: ReadonlyMap<string, string>): number {
    let lost = 0;
    for (const [sender, { session, n }] of this.accepted)
      for (const [receiver, s] of members) {
        if (s !== session || receiver === sender) continue;
        const got = this.last.get(receiver)?.get(sender) ?? 0;
        if (got < n) lost += n - got;
      }
    return lost;
  }
}

/** The p-th percentile (0–100) of unsorted numbers; NaN for none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}
