import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The signature of a callback request (README, Callbacks): HMAC-SHA256, keyed with the project
 * secret, of `<id>.<timestamp>.<raw body>`, sent as `v1,<hex>`. The id and timestamp are in the
 * signed text so neither can be swapped onto another body; the timestamp lets a receiver refuse
 * replays. The server signs, the server SDK's `verifyCallback` checks.
 */

const VERSION = 'v1';
const HEX_LENGTH = 64;

function mac(secret: string, id: string, timestamp: number, body: string | Uint8Array): Buffer {
  return createHmac('sha256', secret).update(`${id}.${timestamp}.`).update(body).digest();
}

/** The `tether-signature` value for one attempt. */
export function signCallback(
  secret: string,
  id: string,
  timestamp: number,
  body: string | Uint8Array,
): string {
  return `${VERSION},${mac(secret, id, timestamp, body).toString('hex')}`;
}

/**
 * Whether any of the space-separated `v1,<hex>` signatures in `header` is the one for this id,
 * timestamp and body. Unknown versions are skipped (a newer server may send several kinds).
 */
export function callbackSignatureMatches(
  header: string,
  secret: string,
  id: string,
  timestamp: number,
  body: string | Uint8Array,
): boolean {
  const expected = mac(secret, id, timestamp, body);
  for (const part of header.split(' ')) {
    const comma = part.indexOf(',');
    if (part.slice(0, comma) !== VERSION) continue;
    const hex = part.slice(comma + 1);
    if (hex.length !== HEX_LENGTH || !/^[0-9a-fA-F]+$/.test(hex)) continue;
    if (timingSafeEqual(Buffer.from(hex, 'hex'), expected)) return true;
  }
  return false;
}
