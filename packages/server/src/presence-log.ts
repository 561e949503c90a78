import type { PresenceChange as AnyPresenceChange } from '@tether/protocol';

/**
 * A change in another connection's presence that a member away is not sent but told the net
 * of when back. Not `connectionCreated`: a join goes into the away member's outbox like any event.
 */
export type PresenceChange = Exclude<AnyPresenceChange, { t: 'connectionCreated' }>;

/** Presence changes a session keeps for its members that are away (DEFAULTS, PROTOCOL.md Limits). */
export const PRESENCE_LOG_MAX_CHANGES = 10_000;

/**
 * The presence changes of a session that its members without a transport were not sent,
 * kept once for all of them. Queued one by one in each away member's outbox they would cost
 * N² frames when N members drop at once (each told of every other), and every connection the
 * interrupted budget then ended would tell each of the rest: the bound itself would end them
 * in cascade. Instead a member coming back gets the net change of each connection since it
 * left (a drop and its return cancel out), after the replay of what it holds.
 *
 * Bounded: past `maxChanges` kept, the member away longest (which keeps the oldest ones)
 * must be ended; `record` says which.
 */
export class PresenceLog<C> {
  private changes: PresenceChange[] = [];
  /** The changes subscribers are not told of (connection events suppressed), by reference. */
  private readonly quiet = new WeakSet<PresenceChange>();
  /** Position of `changes[0]` since the log began. */
  private base = 0;
  /** Where each away member left; insertion order is the order they left in. */
  private readonly away = new Map<C, number>();

  constructor(private readonly maxChanges = PRESENCE_LOG_MAX_CHANGES) {}

  /** Changes kept now. */
  get size(): number {
    return this.changes.length;
  }

  isAway(member: C): boolean {
    return this.away.has(member);
  }

  /**
   * `member` is not sent changes from now on (it lost its transport, or looks lost): they are
   * kept for it. One already away keeps the point it left at.
   */
  left(member: C): void {
    if (!this.away.has(member)) this.away.set(member, this.base + this.changes.length);
  }

  /**
   * A change the away members are not sent, kept if any is away; `quiet`: only members that
   * hear quiet changes get it back (not subscribers of a session with connection events
   * suppressed). Returns the member away longest if the log is now past its bound (the caller
   * ends it, which forgets it).
   */
  record(change: PresenceChange, quiet = false): C | undefined {
    if (this.away.size === 0) return undefined;
    this.changes.push(change);
    if (quiet) this.quiet.add(change);
    if (this.changes.length <= this.maxChanges) return undefined;
    return this.away.keys().next().value;
  }

  /**
   * `member` is back: the net change of every other connection since it left, in the order of
   * their last change. A connection destroyed meanwhile is destroyed; one that dropped and came
   * back as often as it dropped has no change. The member is no longer away.
   */
  back(member: C, self: string, hearsQuiet = true): PresenceChange[] {
    const from = this.away.get(member);
    if (from === undefined) return [];
    const net = new Map<string, { first: PresenceChange; last: PresenceChange }>();
    for (let i = Math.max(0, from - this.base); i < this.changes.length; i++) {
      const change = this.changes[i] as PresenceChange;
      if (change.connectionId === self || (!hearsQuiet && this.quiet.has(change))) continue;
      const seen = net.get(change.connectionId);
      // Re-inserted so the map's order is the order of last changes.
      net.delete(change.connectionId);
      net.set(change.connectionId, { first: seen?.first ?? change, last: change });
    }
    this.forget(member);
    const out: PresenceChange[] = [];
    for (const { first, last } of net.values())
      if (last.t === 'connectionDestroyed' || first.t === last.t) out.push(last);
    return out;
  }

  /** `member` ended (or came back): nothing is kept for it any more. */
  forget(member: C): void {
    if (!this.away.delete(member)) return;
    const oldest = this.away.values().next().value;
    const keepFrom = oldest === undefined ? this.base + this.changes.length : oldest;
    const drop = keepFrom - this.base;
    if (drop <= 0) return;
    this.changes = drop >= this.changes.length ? [] : this.changes.slice(drop);
    this.base = keepFrom;
  }
}
