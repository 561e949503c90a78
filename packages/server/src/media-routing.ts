import type { Clock, TimerHandle } from '@tether/protocol';
import type {
  LogEntry,
  MediaHomes,
  MediaOp as HomeOp,
  MediaResult,
  SessionRecord,
} from './cluster/engine.js';
import { failure, type Deferred, type MediaOp, type OpResult, type RoomMedia } from './room-media.js';

/** How long a media op waits for a media home on another node before it fails (the home died mid-way, say). */
export const REMOTE_MEDIA_TIMEOUT_MS = 15_000;

const MOVED: OpResult = {
  ok: false,
  code: 'MEDIA_MOVED',
  detail: "the session's media moved to another node",
};
/** The answer of a node named home that is not any more (its media went idle): worth one more claim. */
const NOT_HOME = 'not the media home any more';

/** What routing needs of its room. */
export interface RoutingView {
  readonly sessionId: string;
  readonly nodeId: string;
  readonly media: RoomMedia;
  readonly streamCount: number;
  /** Appends now (a deferred op runs outside the append of its operation). */
  append(entries: LogEntry[]): Promise<void>;
}

type Pending = { resolve: (result: OpResult) => void; timer: TimerHandle };

/**
 * Where a routed session's media ops run. One node of the cluster — the session's media home,
 * named by the engine's `MediaHomes` — runs the session's SFU; a media op of a client on
 * another node travels to it through the session's log (`~media`), and its result comes back
 * the same way (`~mediaResult`) to the node that owns the connection, which replies in order
 * with the connection's other ops. Through the log, not a side channel: the home's replica
 * has folded everything the sender had seen when it appended, so the op is checked against
 * the same session (the stream it names exists there too), and no message can overtake another.
 *
 * When the home dies or drains, the session's media moves: `mediaMoved` goes to every client
 * (from the node that found the home dead, the node that took its place, or the draining home
 * itself), its publishers publish again on fresh peer connections and its subscribers
 * subscribe again, and the new home gives each stream the media window to come back
 * (Sfu.expect). One process (the memory engine): this node is always the home, nothing travels.
 */
export class MediaRouting {
  /** Ops sent to a home elsewhere, by `<connectionId> <seq>`. */
  private readonly pending = new Map<string, Pending>();
  /** At the home: each connection's ops run one at a time, in log order. */
  private readonly chains = new Map<string, Promise<void>>();
  /** Draining: this node hosts no session's media any more. */
  private hosting = true;

  constructor(
    private readonly room: RoutingView,
    private readonly homes: MediaHomes,
    private readonly clock: Clock,
    /** A cluster engine: the home may be elsewhere. */
    private readonly clustered: boolean,
  ) {}

  /** A media op of a connection this node owns. */
  run(connectionId: string, op: MediaOp): OpResult | Deferred {
    const { media } = this.room;
    // A session without streams has no media to run: what is asked is refused here (no stream,
    // no subscription), and no home is claimed for it — a late unsubscribe must not make one.
    if (
      !this.clustered ||
      !media.routed ||
      media.isHome ||
      op.t === 'streamProperty' ||
      op.t === 'relay' ||
      this.room.streamCount === 0
    )
      return media.run(connectionId, op);
    return async () => {
      // A home that answers "moved" without a `mediaMoved` (it let the media go idle meanwhile): ask again.
      for (let attempt = 0; ; attempt++) {
        const claim = await this.homes.claim(this.room.sessionId, this.hosting);
        if (claim.home === this.room.nodeId) {
          if (claim.announce) await this.announce();
          media.becomeHome(claim.moved);
          const ran = media.run(connectionId, op);
          const result = typeof ran === 'function' ? await ran() : ran;
          // The last stream went while the claim was on its way: let the media go again.
          if (this.room.streamCount === 0) await this.idle();
          return result;
        }
        if (claim.home === '') return MOVED;
        const result = await this.remote(connectionId, op as HomeOp, claim.home);
        if (result.ok || result.detail !== NOT_HOME || attempt > 0) return result;
      }
    };
  }

  /** A `~media` or `~mediaResult` record of the log. */
  record(rec: Extract<SessionRecord, { t: '~media' | '~mediaResult' }>): void {
    if (rec.t === '~mediaResult') {
      const key = `${rec.connectionId} ${rec.re}`;
      const waiting = this.pending.get(key);
      if (!waiting) return;
      this.pending.delete(key);
      this.clock.clearTimeout(waiting.timer);
      waiting.resolve(rec.result);
      return;
    }
    if (rec.home !== this.room.nodeId) return;
    const id = rec.connectionId;
    const next = (this.chains.get(id) ?? Promise.resolve()).then(async () => {
      const { media } = this.room;
      let result: OpResult;
      if (!media.isHome) result = { ok: false, code: 'MEDIA_MOVED', detail: NOT_HOME };
      else {
        const ran = media.run(id, rec.op);
        result = typeof ran === 'function' ? await ran().catch(failure) : ran;
      }
      const sent: MediaResult = result.ok
        ? {
            ok: true,
            ...(result.subscriptionId !== undefined ? { subscriptionId: result.subscriptionId } : {}),
            ...(result.sdp !== undefined ? { sdp: result.sdp } : {}),
          }
        : { ok: false, code: result.code, ...(result.detail !== undefined ? { detail: result.detail } : {}) };
      await this.room
        .append([{ event: { t: '~mediaResult', connectionId: id, re: rec.re, result: sent } }])
        .catch(() => undefined); // the sender times out, and its client tries again
    });
    this.chains.set(id, next);
    void next.finally(() => {
      if (this.chains.get(id) === next) this.chains.delete(id);
    });
  }

  /** `mediaMoved` came through the log: ops on their way to the old home will not be answered. */
  moved(): void {
    for (const [key, waiting] of this.pending) {
      this.clock.clearTimeout(waiting.timer);
      waiting.resolve(MOVED);
      this.pending.delete(key);
    }
  }

  /** Another node died: if it was this session's home, the media moves (one node says so). */
  async nodeDown(dead: string): Promise<void> {
    if (!this.room.media.routed || this.room.streamCount === 0) return;
    if (await this.homes.clearDead(this.room.sessionId, dead)) await this.announce();
  }

  /** The session's streams are all gone: the home lets its media go (the next media op claims a home again). */
  async idle(): Promise<void> {
    if (!this.clustered || !this.room.media.isHome || this.room.streamCount > 0) return;
    this.room.media.leaveHome();
    await this.homes.release(this.room.sessionId, false);
  }

  /** Draining: the media moves to another node now, and this one takes none back. */
  async handOver(): Promise<void> {
    this.hosting = false;
    if (!this.clustered || !this.room.media.isHome) return;
    this.room.media.leaveHome();
    await this.homes.release(this.room.sessionId, true);
    if (this.room.streamCount > 0) await this.announce();
  }

  /** Whether this node must keep following the session with no connection of its own: it runs its media. */
  get pinned(): boolean {
    return this.clustered && this.room.media.isHome && this.room.streamCount > 0;
  }

  close(): void {
    this.moved();
  }

  private announce(): Promise<void> {
    return this.room.append([{ event: { t: 'mediaMoved' } }]);
  }

  private remote(connectionId: string, op: HomeOp, home: string): Promise<OpResult> {
    const key = `${connectionId} ${op.seq}`;
    return new Promise<OpResult>((resolve) => {
      const timer = this.clock.setTimeout(() => {
        this.pending.delete(key);
        resolve({ ok: false, code: 'CLUSTER_UNAVAILABLE', detail: `the media home ${home} did not answer` });
      }, REMOTE_MEDIA_TIMEOUT_MS);
      this.pending.set(key, { resolve, timer });
      this.room
        .append([{ event: { t: '~media', home, connectionId, re: op.seq, op } }])
        .catch((err: unknown) => {
          this.clock.clearTimeout(timer);
          this.pending.delete(key);
          resolve(failure(err));
        });
    });
  }
}
