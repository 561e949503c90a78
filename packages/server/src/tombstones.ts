import type { Reason } from '@tether/protocol';

/**
 * Recently ended connections, so a late resume hears why it is refused (window expired
 * rather than unknown). Bounded: the oldest entries go first.
 */
export class Tombstones {
  private readonly entries = new Map<string, Reason>();
  constructor(private readonly max = 10_000) {}

  add(connectionId: string, reason: Reason): void {
    this.entries.delete(connectionId);
    this.entries.set(connectionId, reason);
    if (this.entries.size > this.max) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
  }

  get(connectionId: string): Reason | undefined {
    return this.entries.get(connectionId);
  }
}
