import type { ErrorCode } from '@tether/protocol';

/**
 * Recently ended connections and the code each ended with, so a late resume hears why it
 * is refused (window expired, overflow, forced) rather than "unknown". Bounded: the oldest entries go first.
 */
export class Tombstones {
  private readonly entries = new Map<string, ErrorCode>();
  constructor(private readonly max = 10_000) {}

  add(connectionId: string, code: ErrorCode): void {
    this.entries.delete(connectionId);
    this.entries.set(connectionId, code);
    if (this.entries.size > this.max) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
  }

  get(connectionId: string): ErrorCode | undefined {
    return this.entries.get(connectionId);
  }
}
