import type { SessionOptions } from '@tether/client';
import { WebSocket as NodeWebSocket } from 'ws';

/**
 * The sockets of one "page" (a tab, or a process): when the page goes away they are cut
 * without a closing handshake, as a reload cuts them, and no new one can open — the code
 * that would open it is gone. Give `WebSocket` to a Session, call `unload()` to end the page.
 */
export function pageSockets(): { WebSocket: NonNullable<SessionOptions['WebSocket']>; unload(): void } {
  const open = new Set<NodeWebSocket>();
  let gone = false;
  class PageWebSocket extends NodeWebSocket {
    constructor(url: string) {
      // A closed port: the attempt fails like any socket that cannot open.
      super(gone ? 'ws://127.0.0.1:1/' : url);
      open.add(this);
    }
  }
  return {
    WebSocket: PageWebSocket as unknown as NonNullable<SessionOptions['WebSocket']>,
    unload: () => {
      gone = true;
      for (const ws of open) ws.terminate();
    },
  };
}
