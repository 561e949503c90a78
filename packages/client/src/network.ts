/**
 * Browser network changes: `offline` means the transport is gone now (do not wait for the
 * heartbeat), `online` means try now (do not wait for the backoff). A no-op in Node.
 */
export function networkWatcher(handlers: { offline: () => void; online: () => void }): () => void {
  const target = globalThis as {
    addEventListener?: (n: string, f: () => void) => void;
    removeEventListener?: (n: string, f: () => void) => void;
  };
  if (typeof target.addEventListener !== 'function' || navigatorOf() === undefined) return () => undefined;
  target.addEventListener('offline', handlers.offline);
  target.addEventListener('online', handlers.online);
  return () => {
    target.removeEventListener?.('offline', handlers.offline);
    target.removeEventListener?.('online', handlers.online);
  };
}

/** False only when the browser says it has no network at all (`navigator.onLine`); true in Node. */
export function browserOnline(): boolean {
  return navigatorOf()?.onLine !== false;
}

function navigatorOf(): { onLine?: boolean } | undefined {
  return (globalThis as { navigator?: { onLine?: boolean } }).navigator;
}
