import { CALLBACK_HEADERS } from '@tether/protocol';
import { signCallback } from '@tether/auth';
import type { Queued } from './queue.js';

/** What one attempt came to: delivered, worth another attempt, or refused by the receiver (not retried). */
export type SendOutcome =
  | { kind: 'delivered'; status: number }
  | { kind: 'retry'; detail: string }
  | { kind: 'rejected'; detail: string };

/** Sends one attempt of a callback; never throws. `signal` aborts it (shutdown). */
export type Send = (url: URL, item: Queued, secret: string, signal: AbortSignal) => Promise<SendOutcome>;

/**
 * Callbacks over HTTP: a POST of the JSON body, signed afresh for each attempt (its timestamp
 * is the attempt's), within `timeoutMs`. 2xx delivers; a network error, a timeout, 5xx, 408 and
 * 429 are retried; any other status (a 4xx: the receiver refused it, e.g. its signature check
 * failed; a redirect, which is not followed) is final.
 */
export function httpSender(timeoutMs: number, now: () => number = Date.now): Send {
  return async (url, item, secret, signal) => {
    const timestamp = Math.floor(now() / 1000);
    let response: Response;
    try {
      response = await fetch(url, {
        method: 'POST',
        body: item.body,
        redirect: 'manual',
        signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
        headers: {
          'content-type': 'application/json',
          'user-agent': 'tether-callbacks/1',
          [CALLBACK_HEADERS.id]: item.id,
          [CALLBACK_HEADERS.timestamp]: String(timestamp),
          [CALLBACK_HEADERS.signature]: signCallback(secret, item.id, timestamp, item.body),
        },
      });
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      const detail =
        e.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (e.cause?.code ?? e.message);
      return { kind: 'retry', detail };
    }
    // The answer's body is not read: only its status counts.
    void response.body?.cancel().catch(() => undefined);
    const { status } = response;
    if (status >= 200 && status < 300) return { kind: 'delivered', status };
    if (status >= 500 || status === 408 || status === 429) return { kind: 'retry', detail: `HTTP ${status}` };
    return { kind: 'rejected', detail: `HTTP ${status}` };
  };
}
