import {
  LIMITS,
  TetherError,
  errorMessage,
  errorNumber,
  jsonCodec,
  type Clock,
  type Wire,
  type ErrorCode,
} from '@tether/protocol';
import type { Logger } from 'pino';
import type { RawData, WebSocket } from 'ws';
import type { Link } from './connection.js';
import type { Attached, Hub } from './hub.js';
import type { Metrics } from './metrics.js';

export const HANDSHAKE_TIMEOUT_MS = 10_000;

/**
 * Glue between one WebSocket and the Hub: frame size, decoding, the handshake, then
 * every frame to the hub. Each socket is one transport; a resume arrives on a new one.
 */
export function serveSocket(ws: WebSocket, hub: Hub, clock: Clock, log: Logger, metrics: Metrics): void {
  let attached: Attached | undefined;
  let handshaking = false;
  let closed = false;
  let tooLarge = false;
  let corked = false;
  // The upgrade's answer was just written; the client's first frame follows it one round trip later.
  const upgradedAt = clock.now();
  const link: Link = {
    send: (data, onWritten) => {
      if (ws.readyState !== ws.OPEN) return;
      metrics.framesOut.inc();
      // Frames written in one turn of the event loop leave in one write, not one syscall each.
      const raw = (ws as unknown as { _socket?: { cork(): void; uncork(): void } })._socket;
      if (raw && !corked) {
        corked = true;
        raw.cork();
        setImmediate(() => {
          corked = false;
          raw.uncork();
        });
      }
      if (onWritten) ws.send(data, (err) => err || onWritten());
      else ws.send(data);
    },
    close: (code, reason) => ws.close(code, reason.slice(0, 120)),
    terminate: () => ws.terminate(),
    get bufferedBytes() {
      return ws.bufferedAmount;
    },
    get open() {
      return ws.readyState === ws.OPEN;
    },
  };
  const refuse = (code: ErrorCode, detail?: string) => {
    link.send(JSON.stringify({ t: 'error', code, message: errorMessage(code, detail) }));
    ws.close(errorNumber(code), code);
  };
  const handshakeTimer = clock.setTimeout(() => {
    if (!attached) refuse('HANDSHAKE_TIMEOUT');
  }, HANDSHAKE_TIMEOUT_MS);

  ws.on('message', (data: RawData, isBinary: boolean) => {
    metrics.framesIn.inc();
    const size = Array.isArray(data) ? data.reduce((n, b) => n + b.length, 0) : data.byteLength;
    if (size > LIMITS.frameMaxBytes) {
      if (attached) hub.end(attached, 'FRAME_TOO_LARGE');
      else refuse('FRAME_TOO_LARGE');
      return;
    }
    // A transport replaced by a resume (or dropped) may still deliver late frames: ignore them.
    if (attached && !attached.conn.isCurrent(link)) return;
    attached?.conn.received();
    const wire: Wire = isBinary ? bytesOf(data) : data.toString();
    // The handshake is JSON text; after it, the codec the connection negotiated (with its fast paths).
    const decoded = (attached?.conn.codec ?? jsonCodec).decodeClient(wire);
    if (!decoded.ok) {
      if (attached) hub.reject(attached, decoded.code, decoded.message, decoded.seq);
      else refuse(decoded.code, decoded.message);
      return;
    }
    const frame = decoded.frame;
    if (attached) {
      hub.frame(attached, frame);
      return;
    }
    if (handshaking) {
      // The client must wait for the answer to connect/resume; its seq is not consumed.
      link.send(
        JSON.stringify({
          t: 'error',
          code: 'FRAME_UNEXPECTED',
          message: errorMessage('FRAME_UNEXPECTED', `${frame.t} before the handshake answer`),
          ...('seq' in frame ? { re: frame.seq } : {}),
        }),
      );
      return;
    }
    if (frame.t !== 'connect' && frame.t !== 'resume') {
      refuse('FRAME_UNEXPECTED', `expected connect or resume, got ${frame.t}`);
      return;
    }
    handshaking = true;
    const rttMs = clock.now() - upgradedAt;
    const done = (at: Attached | undefined) => {
      clock.clearTimeout(handshakeTimer);
      if (!at) return; // the socket closed before the welcome could be written: no connection was made
      attached = at;
      if (closed) at.conn.linkLost(link);
    };
    const fail = (err: unknown) => {
      clock.clearTimeout(handshakeTimer);
      if (err instanceof TetherError) {
        link.send(JSON.stringify({ t: 'error', code: err.code, message: err.message }));
        ws.close(errorNumber(err.code), err.code);
      } else {
        log.error({ err }, 'handshake failed');
        refuse('INTERNAL');
      }
    };
    if (frame.t === 'resume') {
      let resumed: Attached | Promise<Attached>;
      try {
        resumed = hub.resume(frame, link, rttMs);
      } catch (err) {
        fail(err);
        return;
      }
      // Held here: at once. Another node's (a cluster): once taken over.
      if (resumed instanceof Promise) resumed.then(done, fail);
      else done(resumed);
    } else hub.connect(frame, link, rttMs).then(done, fail);
  });

  ws.on('close', (code: number) => {
    closed = true;
    clock.clearTimeout(handshakeTimer);
    // 1009: a frame past the WebSocket layer's hard cap, which is abuse, not a network drop.
    if ((code === 1009 || tooLarge) && attached) hub.end(attached, 'FRAME_TOO_LARGE');
    else attached?.conn.linkLost(link);
  });
  ws.on('error', (err: Error & { code?: string }) => {
    if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') tooLarge = true;
    log.debug({ err }, 'socket error');
  });
}

function bytesOf(data: RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  return data instanceof ArrayBuffer ? new Uint8Array(data) : data;
}
