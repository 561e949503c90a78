import {
  TetherError,
  callbackPayloadSchema,
  type CallbackPayload,
  type Clock,
  type TimerHandle,
} from '@tether/protocol';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics.js';
import { DEFAULT_RETRY_POLICY, retryDelayMs, type RetryPolicy } from './backoff.js';
import {
  CallbackQueue,
  DEFAULT_QUEUE_LIMITS,
  type DropScope,
  type QueueLimits,
  type Queued,
} from './queue.js';
import { httpSender, type Send, type SendOutcome } from './sender.js';
import { CallbackTargets, type CallbackTarget } from './targets.js';

export interface CallbackOptions {
  /** Where to POST: one URL per project, and/or one (no `apiKey`) for every other project. */
  targets: CallbackTarget[];
  queue?: Partial<QueueLimits>;
  retry?: Partial<RetryPolicy>;
  /** How long `close()` waits for queued callbacks to be delivered. Default 5 s. */
  flushTimeoutMs?: number;
}

export interface CallbackDeps {
  secretFor(apiKey: string): string | undefined;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  /** The jitter's randomness. Default Math.random. */
  random?: () => number;
  /** How an attempt is made. Default HTTP (sender.ts). */
  send?: Send;
}

/** Why a callback was not delivered (the `reason` label of tether_callbacks_dropped_total). */
export type DropReason =
  'projectQueueFull' | 'serverQueueFull' | 'retriesExhausted' | 'rejected' | 'shutdown';

const DROP_BY_SCOPE: Record<DropScope, DropReason> = {
  project: 'projectQueueFull',
  server: 'serverQueueFull',
};

/** Connections and streams whose end was reported lately: a second end appended in a race is not sent again. */
const ENDED_REMEMBERED = 10_000;

/** A receiver down under load drops many: one log line per project and reason per this long, with the count. */
const DROP_LOG_INTERVAL_MS = 10_000;

/**
 * The callbacks of this server: queued (bounded), sent to each project's URL one at a time
 * in the order they happened, retried with backoff, dropped (counted, logged) past the
 * bounds. Session monitoring events come from the hub (`after`, once their log append
 * succeeded); anything else — an archive recorder — calls `emit`.
 */
export class Callbacks {
  private readonly targets: CallbackTargets;
  private readonly queue: CallbackQueue;
  private readonly policy: RetryPolicy;
  private readonly send: Send;
  private readonly random: () => number;
  private readonly flushTimeoutMs: number;
  private readonly retryTimers = new Map<string, TimerHandle>();
  private readonly appending = new Set<Promise<void>>();
  private readonly idle: Array<() => void> = [];
  private readonly abort = new AbortController();
  private readonly dropLog = new Map<string, { at: number; count: number }>();
  /** Insertion-ordered, so the oldest is forgotten first. */
  private readonly ended = new Set<string>();
  private closed = false;

  constructor(
    options: CallbackOptions | undefined,
    knownKey: (apiKey: string) => boolean,
    private readonly deps: CallbackDeps,
  ) {
    this.targets = new CallbackTargets(options?.targets ?? [], knownKey);
    this.policy = { ...DEFAULT_RETRY_POLICY, ...options?.retry };
    const limits = { ...DEFAULT_QUEUE_LIMITS, ...options?.queue };
    for (const [name, value] of Object.entries({ ...limits, ...this.policy }))
      if (!Number.isFinite(value) || value < 0)
        throw new TetherError('INVALID_ARGUMENT', `callback option ${name} must be a number ≥ 0`);
    this.queue = new CallbackQueue(limits);
    this.send = deps.send ?? httpSender(this.policy.timeoutMs, () => deps.clock.now());
    this.random = deps.random ?? Math.random;
    this.flushTimeoutMs = options?.flushTimeoutMs ?? 5000;
  }

  /** Whether a project's events are wanted (a URL is configured for it): the hub builds none otherwise. */
  enabledFor(apiKey: string): boolean {
    return this.targets.urlFor(apiKey) !== undefined;
  }

  /** Callbacks waiting or being sent, and their bytes (the tether_callbacks_queued gauges). */
  sizes(): { queued: number; bytes: number } {
    return { queued: this.queue.size, bytes: this.queue.bytes };
  }

  /**
   * Queues a callback built elsewhere (an archive's status). It is validated against the
   * payload schema (a bad one is a bug: INVALID_ARGUMENT). False when its project has no URL.
   */
  emit(payload: CallbackPayload): boolean {
    const parsed = callbackPayloadSchema().safeParse(payload);
    if (!parsed.success)
      throw new TetherError('INVALID_ARGUMENT', `not a callback payload: ${parsed.error.message}`);
    if (!this.enabledFor(payload.apiKey)) return false;
    this.enqueue(parsed.data);
    return true;
  }

  /**
   * Session events this node appended to a session's log: queued once the append succeeded,
   * in append order (each node sends the events it appended, so a cluster sends each once).
   * An append that failed did not happen: its events are not sent.
   */
  after(appended: Promise<void>, payloads: readonly CallbackPayload[]): void {
    const tracked = appended.then(
      () => {
        for (const payload of payloads) if (this.firstEnd(payload)) this.enqueue(payload);
      },
      () => undefined,
    );
    this.appending.add(tracked);
    void tracked.finally(() => this.appending.delete(tracked));
  }

  /**
   * Waits for the appends in progress, then up to `flushTimeoutMs` for the queue to empty;
   * what is left is dropped (`shutdown`) and the attempt in flight aborted.
   */
  async close(): Promise<void> {
    await Promise.allSettled([...this.appending]);
    if (this.queue.size > 0) {
      let timer: TimerHandle | undefined;
      await new Promise<void>((resolve) => {
        this.idle.push(resolve);
        timer = this.deps.clock.setTimeout(resolve, this.flushTimeoutMs);
      });
      if (timer) this.deps.clock.clearTimeout(timer);
    }
    this.closed = true;
    for (const timer of this.retryTimers.values()) this.deps.clock.clearTimeout(timer);
    this.retryTimers.clear();
    this.abort.abort();
    const left = this.queue.clear();
    if (left.length > 0) {
      this.deps.metrics.callbacksDropped.inc({ reason: 'shutdown' }, left.length);
      this.deps.log.warn({ count: left.length }, 'callbacks: not delivered before shutdown');
    }
  }

  /**
   * Whether this is the first end of its connection or stream (ids are never reused). Two ends
   * of one connection can both reach the log when they are appended before the first comes
   * back from Redis (a force-disconnect asked twice at once): the clients fold the second
   * away, and so must the callbacks.
   */
  private firstEnd(payload: CallbackPayload): boolean {
    const key =
      payload.event === 'connectionDestroyed'
        ? `c ${payload.sessionId} ${payload.connection.id}`
        : payload.event === 'streamDestroyed'
          ? `s ${payload.sessionId} ${payload.stream.id}`
          : undefined;
    if (key === undefined) return true;
    if (this.ended.has(key)) return false;
    this.ended.add(key);
    if (this.ended.size > ENDED_REMEMBERED) this.ended.delete(this.ended.values().next().value!);
    return true;
  }

  private enqueue(payload: CallbackPayload): void {
    if (this.closed) return;
    const body = JSON.stringify(payload);
    const item: Queued = {
      apiKey: payload.apiKey,
      id: payload.id,
      event: payload.event,
      body,
      bytes: Buffer.byteLength(body),
    };
    for (const { item: old, scope } of this.queue.push(item))
      this.dropped(old, DROP_BY_SCOPE[scope], 'the queue is full');
    this.pump(payload.apiKey);
  }

  /** Starts the next callback of a project, unless one is being sent. */
  private pump(apiKey: string): void {
    if (this.closed) return;
    const item = this.queue.take(apiKey);
    if (item) this.attempt(item, 1);
  }

  private attempt(item: Queued, n: number): void {
    const url = this.targets.urlFor(item.apiKey);
    const secret = this.deps.secretFor(item.apiKey);
    if (!url || !secret) {
      this.dropped(item, 'rejected', 'no URL or secret for its project');
      this.done(item);
      return;
    }
    // A sender that fails instead of answering an outcome must not stall its project's line.
    void this.send(url, item, secret, this.abort.signal).then(
      (outcome) => this.settle(item, n, outcome),
      (err: unknown) => this.settle(item, n, { kind: 'retry', detail: String(err) }),
    );
  }

  private settle(item: Queued, n: number, outcome: SendOutcome): void {
    if (this.closed) return;
    if (outcome.kind === 'delivered') {
      this.deps.metrics.callbacksDelivered.inc();
      this.done(item);
      return;
    }
    this.deps.metrics.callbackAttemptsFailed.inc({ outcome: outcome.kind });
    const delay = outcome.kind === 'retry' ? retryDelayMs(this.policy, n, this.random) : undefined;
    if (delay === undefined) {
      this.dropped(
        item,
        outcome.kind === 'rejected' ? 'rejected' : 'retriesExhausted',
        `attempt ${n}: ${outcome.detail}`,
      );
      this.done(item);
      return;
    }
    this.deps.log.debug(
      { apiKey: item.apiKey, callbackId: item.id, attempt: n, delayMs: delay, detail: outcome.detail },
      'callbacks: attempt failed, retrying',
    );
    this.retryTimers.set(
      item.apiKey,
      this.deps.clock.setTimeout(() => {
        this.retryTimers.delete(item.apiKey);
        this.attempt(item, n + 1);
      }, delay),
    );
  }

  private done(item: Queued): void {
    this.queue.finish(item.apiKey);
    if (this.queue.size === 0) for (const resolve of this.idle.splice(0)) resolve();
    this.pump(item.apiKey);
  }

  private dropped(item: Queued, reason: DropReason, detail: string): void {
    this.deps.metrics.callbacksDropped.inc({ reason });
    const key = `${item.apiKey} ${reason}`;
    const now = this.deps.clock.now();
    const last = this.dropLog.get(key);
    if (last && now - last.at < DROP_LOG_INTERVAL_MS) {
      last.count++;
      return;
    }
    this.dropLog.set(key, { at: now, count: 0 });
    this.deps.log.warn(
      {
        apiKey: item.apiKey,
        callbackId: item.id,
        event: item.event,
        reason,
        detail,
        ...(last?.count ? { alsoDroppedSinceLastLine: last.count } : {}),
      },
      'callbacks: dropped a callback',
    );
  }
}
