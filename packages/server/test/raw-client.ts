import { createHmac } from 'node:crypto';
import { SESSION_EVENT_NAMES, type Session, type SessionEvents } from '@tether/client';
import { PROTOCOL_VERSION } from '@tether/protocol';
import { WebSocket } from 'ws';

/**
 * Test helpers for the server's integration tests: a raw WebSocket client that speaks
 * the JSON protocol by hand (so it can send anything at all), an event recorder for SDK
 * sessions, and waits that resolve on a condition and fail after a timeout — no sleeps.
 */

export const WAIT_MS = 5000;

/** A server frame as received: parsed JSON, loosely typed so tests can assert on anything. */
export type Frame = Record<string, any>;

export interface Closed {
  code: number;
  reason: string;
}

type Waiter = { check: () => boolean; fail: (err: Error) => void };

/** Waiters re-checked whenever something happens; each fails with a clear message after its timeout. */
class Conditions {
  private readonly waiters = new Set<Waiter>();

  /** `label` is called at the timeout, so the message shows what had happened by then. */
  wait<T>(probe: () => T | undefined, label: () => string, ms = WAIT_MS): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`timed out after ${ms} ms waiting for ${label()}`));
      }, ms);
      const waiter: Waiter = {
        check: () => {
          const value = probe();
          if (value === undefined) return false;
          clearTimeout(timer);
          this.waiters.delete(waiter);
          resolve(value);
          return true;
        },
        fail: (err) => {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          reject(err);
        },
      };
      this.waiters.add(waiter);
      waiter.check();
    });
  }

  changed(): void {
    for (const w of [...this.waiters]) w.check();
  }
}

/**
 * A WebSocket client with no protocol logic of its own: it sends exactly what a test gives it
 * and records every frame and the close. It answers the server's heartbeats (so a test longer
 * than the heartbeat timeout keeps its connection) unless told not to.
 */
export class RawClient {
  readonly frames: Frame[] = [];
  /** Text frames that were not JSON (the server never sends any; recorded to be asserted empty). */
  readonly garbage: string[] = [];
  closed: Closed | undefined;
  answerHeartbeats = true;
  private readonly conditions = new Conditions();

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      const text = isBinary ? '' : data.toString();
      let frame: Frame;
      try {
        frame = JSON.parse(text) as Frame;
      } catch {
        this.garbage.push(text);
        this.conditions.changed();
        return;
      }
      this.frames.push(frame);
      if (frame.t === 'hb' && this.answerHeartbeats && ws.readyState === ws.OPEN) ws.send('{"t":"hb"}');
      this.conditions.changed();
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.conditions.changed();
    });
    ws.on('error', () => undefined); // a close follows
  }

  /** Opens a socket to the server's endpoint; resolves once it is open. */
  static async open(serverUrl: string): Promise<RawClient> {
    const ws = new WebSocket(`${serverUrl.replace(/^http/, 'ws')}/v1/ws`);
    const client = new RawClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return client;
  }

  /**
   * Opens a socket and joins with `connect`; resolves with the welcome frame. Unless told
   * not to, it confirms the welcome at once (`{"t":"ack","ack":0}`), so the others see it.
   */
  static async join(
    serverUrl: string,
    sessionId: string,
    token: string,
    opts: { confirm?: boolean } = {},
  ): Promise<{ client: RawClient; welcome: Frame }> {
    const client = await RawClient.open(serverUrl);
    client.send({ t: 'connect', v: PROTOCOL_VERSION, sessionId, token });
    const welcome = await client.next((f) => f.t === 'welcome' || f.t === 'error', 'welcome');
    if (welcome.t !== 'welcome') throw new Error(`join refused: ${JSON.stringify(welcome)}`);
    if (opts.confirm !== false) client.send({ t: 'ack', ack: 0 });
    return { client, welcome };
  }

  get isOpen(): boolean {
    return this.ws.readyState === this.ws.OPEN;
  }

  /** Sends a value as JSON, or a string exactly as given. */
  send(frame: object | string): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** Sends bytes as a binary WebSocket frame. */
  sendBinary(bytes: Uint8Array): void {
    this.ws.send(bytes, { binary: true });
  }

  /** The first frame (received so far or later) matching `match`. */
  next(match: (f: Frame) => boolean, label = 'a matching frame', ms = WAIT_MS): Promise<Frame> {
    return this.conditions.wait(
      () => this.frames.find(match),
      () => `${label} (got ${this.describe()})`,
      ms,
    );
  }

  /** The n-th frame (0-based) matching `match`, counting every frame received. */
  nth(n: number, match: (f: Frame) => boolean, label = 'a matching frame', ms = WAIT_MS): Promise<Frame> {
    return this.conditions.wait(
      () => this.frames.filter(match)[n],
      () => `${label} #${n + 1} (got ${this.describe()})`,
      ms,
    );
  }

  /** Waits until `cond` holds over what was received. */
  until(cond: (frames: Frame[]) => boolean, label: string, ms = WAIT_MS): Promise<void> {
    return this.conditions
      .wait(
        () => (cond(this.frames) ? true : undefined),
        () => `${label} (got ${this.describe()})`,
        ms,
      )
      .then(() => undefined);
  }

  /** The reply to the op with client seq `re`. */
  reply(re: number, ms = WAIT_MS): Promise<Frame> {
    return this.next((f) => f.t === 'reply' && f.re === re, `reply to seq ${re}`, ms);
  }

  /** The n-th `error` frame (0-based). */
  error(n = 0, ms = WAIT_MS): Promise<Frame> {
    return this.nth(n, (f) => f.t === 'error', 'error frame', ms);
  }

  /** Resolves with the close code and reason once the server closed the socket. */
  waitClosed(ms = WAIT_MS): Promise<Closed> {
    return this.conditions.wait(
      () => this.closed,
      () => `the socket to close (got ${this.describe()})`,
      ms,
    );
  }

  /** Frames of one type. */
  ofType(t: string): Frame[] {
    return this.frames.filter((f) => f.t === t);
  }

  /** Stops reading: what the server sends piles up in the kernel, then in the server's send buffer. */
  pauseReading(): void {
    this.ws.pause();
  }

  resumeReading(): void {
    this.ws.resume();
  }

  close(): void {
    if (this.ws.readyState === this.ws.OPEN || this.ws.readyState === this.ws.CONNECTING) this.ws.terminate();
  }

  private describe(): string {
    const last = this.frames.slice(-6).map((f) => JSON.stringify(f).slice(0, 160));
    return `${this.frames.length} frames, last: ${last.join(' | ') || 'none'}; closed: ${this.closed ? `${this.closed.code} ${this.closed.reason}` : 'no'}`;
  }
}

/** Records the events of an SDK session, in order, with waits that resolve on a condition. */
export class Recorder {
  readonly events: Array<{ name: keyof SessionEvents; event: Frame }> = [];
  private readonly conditions = new Conditions();

  constructor(
    readonly session: Session,
    names: ReadonlyArray<keyof SessionEvents> = SESSION_EVENT_NAMES.filter(
      (n) =>
        n !== 'sessionConnected' &&
        n !== 'sessionReconnected' &&
        n !== 'roomStateUpdate' &&
        n !== 'streamPropertyChanged',
    ),
  ) {
    for (const name of names)
      session.on(name, (event: unknown) => {
        this.events.push({ name, event: event as Frame });
        this.conditions.changed();
      });
  }

  of(name: keyof SessionEvents): Frame[] {
    return this.events.filter((e) => e.name === name).map((e) => e.event);
  }

  /** The first event of this name (already recorded or later) matching `match`. */
  next(name: keyof SessionEvents, match: (e: Frame) => boolean = () => true, ms = WAIT_MS): Promise<Frame> {
    return this.conditions.wait(
      () => this.of(name).find(match),
      () => `${String(name)} (recorded: ${this.events.map((e) => String(e.name)).join(', ') || 'nothing'})`,
      ms,
    );
  }

  /** A signal of this type and data, which the session received. */
  signal(type: string, data: string, ms = WAIT_MS): Promise<Frame> {
    return this.next('signal', (e) => e.type === type && e.data === data, ms);
  }
}

/** Signs arbitrary JWT claims with HS256 (tokens the SDK would refuse to create). */
export function signJwt(
  payload: object,
  secret: string,
  header: object = { alg: 'HS256', typ: 'JWT' },
): string {
  const b64 = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const signingInput = `${b64(header)}.${b64(payload)}`;
  return `${signingInput}.${createHmac('sha256', secret).update(signingInput).digest('base64url')}`;
}

let markerCount = 0;
/** A unique signal data, to mark a point in an ordered stream of frames. */
export function marker(): string {
  return `marker-${process.pid}-${++markerCount}`;
}
