/** The part of the WebSocket API the SDK uses; browsers' WebSocket and Node's `ws` both have it. */
export interface WebSocketLike {
  readonly readyState: number;
  /** 'arraybuffer' for binary frames (browsers default to Blob, `ws` to Buffer). */
  binaryType?: string;
  send(data: string | Uint8Array): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** The WebSocket of this runtime: the global one (browsers, Node ≥ 22), else the `ws` package (Node 20). */
export async function defaultWebSocket(): Promise<WebSocketConstructor> {
  const global = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (global) return global;
  const mod = (await import('ws')) as unknown as { WebSocket: WebSocketConstructor };
  return mod.WebSocket;
}

/** `http(s)://host` or `ws(s)://host` → the client endpoint URL. */
export function endpointUrl(url: string): string {
  const base = url.replace(/^http/, 'ws').replace(/\/+$/, '');
  return base.endsWith('/v1/ws') ? base : `${base}/v1/ws`;
}

/** A message's data as a codec takes it: text, or the bytes of a binary frame. */
export function messageData(data: unknown): string | Uint8Array {
  if (typeof data === 'string') return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return String(data);
}
