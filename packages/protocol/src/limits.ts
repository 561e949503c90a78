/**
 * Every limit the protocol enforces, in one place. PROTOCOL.md documents each one;
 * both sides validate against these numbers so a client learns of a violation
 * before the server has to refuse it.
 */
export const LIMITS = {
  /** Signal `type`: 1..128 characters of SIGNAL_TYPE_ALPHABET. */
  signalTypeMaxLength: 128,
  /** Signal `data`: at most 8 KiB, counted in UTF-8 bytes. */
  signalDataMaxBytes: 8 * 1024,
  /** Connection data carried by a token: at most 1000 characters. */
  connectionDataMaxLength: 1000,
  /** Stream name: at most 256 characters. */
  streamNameMaxLength: 256,
  /** One WebSocket frame, in bytes. Larger frames close the connection with FRAME_TOO_LARGE. */
  frameMaxBytes: 64 * 1024,
  /**
   * The WebSocket layer reads no message past this (close 1009, the connection ended with
   * FRAME_TOO_LARGE). Above frameMaxBytes so a frame just over the limit still gets its own
   * close code, and small so an unread frame costs the server little.
   */
  frameHardCapBytes: 128 * 1024,
  /** Changes in one `presence` frame: a larger batch of changes made together is sent as several. */
  presenceBatchMaxChanges: 256,
  /** Signals per connection: a token bucket of this burst, refilled at this rate per second. */
  signalBurst: 100,
  signalRatePerSecond: 50,
  /** Rejected frames (bad or rate limited) tolerated per 10 s before the server closes the connection. */
  abuseStrikesPer10s: 50,
  /** Streams one connection may publish at once. */
  streamsPerConnection: 8,
  /** Token lifetime: default and maximum, in seconds. */
  tokenDefaultTtlSeconds: 24 * 60 * 60,
  tokenMaxTtlSeconds: 30 * 24 * 60 * 60,
} as const;

/** Characters allowed in a signal type: letters, digits and `-_.~:`. */
export const SIGNAL_TYPE_ALPHABET = /^[A-Za-z0-9\-_.~:]+$/;

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * The string as UTF-8 carries it: each lone surrogate (not text, and not encodable) becomes
 * U+FFFD, as utf8Bytes counts it. The server applies it to the text it fans out (signal data,
 * stream names, connection data), so receivers on every codec see the same string: JSON would
 * keep a lone surrogate as an escape, MessagePack (UTF-8) cannot.
 */
export function wellFormed(text: string): string {
  return text.replace(LONE_SURROGATE, '\ufffd');
}

/** Size of a string in UTF-8 bytes, without allocating in the common all-ASCII case. */
export function utf8Bytes(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      // A surrogate pair is 4 bytes; a lone surrogate is encoded as U+FFFD, 3 bytes.
      if (d >= 0xdc00 && d <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}
