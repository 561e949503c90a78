import {
  TetherError,
  decodeServerFrame,
  errorCodeForNumber,
  isErrorCode,
  type Clock,
  type ServerFrame,
  type TimerHandle,
} from '@tether/protocol';
import type { Endpoints } from './endpoints.js';
import { endpointUrl, messageData, type WebSocketConstructor, type WebSocketLike } from './socket.js';

/** What the handshaker needs of the session it opens transports for. */
export interface HandshakeHost {
  clock: Clock;
  /** The servers to try; a path failure moves the next attempt to the next one. */
  endpoints: Endpoints;
  WebSocket: () => Promise<WebSocketConstructor>;
  /** False once the session ended: no attempt starts then. */
  active(): boolean;
  /** A socket that won its handshake: every later message of it. */
  message(ws: WebSocketLike, data: string | Uint8Array): void;
  /** A socket that won its handshake closed. */
  closed(ws: WebSocketLike, code: number, reason: string): void;
  /** An answer from the server that is not a valid frame. */
  invalid(code: string, message: string): void;
}

/** One connect or resume attempt: a socket until the server answers it. */
interface Attempt {
  ws: WebSocketLike;
  /** The server it went to. */
  url: string;
  /** The socket opened and the first frame went out: the server is reachable on this path. */
  opened: boolean;
  /** The server answered: this socket is the transport now. */
  won: boolean;
  /** When the first frame went out: the answer measures a round trip. */
  sentAt: number;
  timer: TimerHandle;
  settle: (err?: TetherError) => void;
}

/**
 * Opens transports: a socket, the first frame (connect or resume), the answer. Attempts may
 * overlap — one still opening may be stuck on a dead path, so a newer one starts beside it —
 * and the first answered wins; the others are dropped. At most two are ever opening, and none
 * once one has opened (reached the server).
 */
export class Handshaker {
  private readonly attempts = new Set<Attempt>();

  constructor(private readonly host: HandshakeHost) {}

  /** An attempt reached the server and waits for its answer: a new one would race it there. */
  get reachedServer(): boolean {
    return [...this.attempts].some((a) => a.opened);
  }

  /**
   * Sends `first` on a new socket and waits for the answer. `accept` runs synchronously on
   * the answer with the winning socket and the round trip it took, so the frames right behind it (a replay) see its
   * state; if it throws, the attempt fails with that error.
   */
  async open(
    first: string,
    timeoutMs: number,
    accept: (ws: WebSocketLike, frame: ServerFrame, rttMs: number) => void,
  ): Promise<void> {
    const WS = await this.host.WebSocket();
    if (!this.host.active()) throw new TetherError('DISCONNECTED');
    const opening = [...this.attempts].filter((a) => !a.opened);
    const oldest = opening.length >= 2 ? opening[0] : undefined;
    if (oldest) {
      // Two attempts in a row could not even open on that server's path: try the next one.
      this.host.endpoints.failed(oldest.url);
      oldest.settle(superseded());
    }
    const { clock } = this.host;
    await new Promise<void>((resolve, reject) => {
      const url = this.host.endpoints.current;
      const ws = new WS(endpointUrl(url));
      ws.binaryType = 'arraybuffer';
      const due = clock.now() + timeoutMs;
      const expire = (recheck: boolean) => {
        // A timer that ran late means this process stalled: the answer may be waiting unread.
        if (recheck && clock.now() - due > 250) attempt.timer = clock.setTimeout(() => expire(false), 0);
        else attempt.settle(new TetherError('CONNECT_FAILED', 'attempt timed out'));
      };
      const attempt: Attempt = {
        ws,
        url,
        opened: false,
        won: false,
        sentAt: 0,
        timer: clock.setTimeout(() => expire(true), timeoutMs),
        settle: (err) => {
          if (!this.attempts.delete(attempt)) return;
          clock.clearTimeout(attempt.timer);
          if (err) {
            kill(ws);
            // A path that failed, or a node going away: the next attempt tries the next server.
            if (
              err.code === 'CONNECT_FAILED' ||
              err.code === 'SERVER_DRAINING' ||
              err.code === 'CLUSTER_UNAVAILABLE'
            )
              this.host.endpoints.failed(url);
            reject(err);
          } else resolve();
        },
      };
      this.attempts.add(attempt);
      ws.onopen = () => {
        // Another attempt already sent its handshake: a second resume could reach the server after
        // it and take the connection over from the socket this client keeps. Let that one answer.
        if ([...this.attempts].some((a) => a !== attempt && a.opened)) return attempt.settle(superseded());
        attempt.opened = true;
        attempt.sentAt = clock.now();
        ws.send(first);
        // The server is reachable on this path. Attempts still opening would only reach it later
        // (their SYN sent again once the path is back) as upgrades it serves for nothing: drop them.
        for (const other of [...this.attempts]) if (!other.opened) other.settle(superseded());
      };
      ws.onmessage = (ev) => {
        const data = messageData(ev.data);
        if (attempt.won) return this.host.message(ws, data);
        // The handshake's answer is always JSON text, whatever codec follows it.
        if (this.attempts.has(attempt)) this.answer(attempt, typeof data === 'string' ? data : '', accept);
      };
      ws.onclose = (ev) => {
        if (attempt.won) return this.host.closed(ws, ev.code, ev.reason);
        const refused = errorCodeForNumber(ev.code);
        attempt.settle(
          new TetherError(
            refused ?? 'CONNECT_FAILED',
            refused ? undefined : `socket closed (${ev.code} ${ev.reason})`,
          ),
        );
      };
      ws.onerror = () => undefined; // a close follows every error
    });
  }

  /** Drops every attempt still waiting for its answer. */
  abort(): void {
    for (const attempt of [...this.attempts]) attempt.settle(superseded());
  }

  private answer(
    attempt: Attempt,
    text: string,
    accept: (ws: WebSocketLike, frame: ServerFrame, rttMs: number) => void,
  ): void {
    const decoded = decodeServerFrame(text);
    if (!decoded.ok) {
      this.host.invalid(decoded.code, `from server: ${decoded.message}`);
      return;
    }
    const frame = decoded.frame;
    if (frame.t === 'error') {
      attempt.settle(new TetherError(isErrorCode(frame.code) ? frame.code : 'CONNECT_FAILED', frame.message));
      return;
    }
    // This attempt won: the others are dropped and its socket becomes the transport.
    for (const other of [...this.attempts]) if (other !== attempt) other.settle(superseded());
    attempt.won = true;
    try {
      accept(attempt.ws, frame, this.host.clock.now() - attempt.sentAt);
      attempt.settle();
    } catch (err) {
      attempt.won = false;
      attempt.settle(err instanceof TetherError ? err : new TetherError('INTERNAL', String(err)));
    }
  }
}

function superseded(): TetherError {
  return new TetherError('DISCONNECTED', 'superseded');
}

/** Drops a socket now: handlers off, no closing handshake on a path that may be dead. */
export function kill(ws: WebSocketLike): void {
  ws.onopen = null;
  ws.onmessage = null;
  ws.onclose = null;
  ws.onerror = () => undefined;
  const terminate = (ws as { terminate?: () => void }).terminate;
  try {
    if (terminate) terminate.call(ws);
    else if (ws.readyState <= 1) ws.close();
  } catch {
    // closing a socket that is already gone
  }
}
