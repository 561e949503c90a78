/**
 * Callbacks waiting to be delivered, bounded per project and for the server (count and
 * bytes). Each project's callbacks leave in order, one at a time: the head of a project's
 * line is the one being sent (`take` … `finish`). Past a bound the oldest waiting callback
 * goes — of the project, or of the whole server — never the one being sent: a receiver that
 * is down loses its oldest events, not its newest, and never costs the server unbounded memory.
 */
export interface QueueLimits {
  projectEvents: number;
  projectBytes: number;
  serverEvents: number;
  serverBytes: number;
}

export const DEFAULT_QUEUE_LIMITS: QueueLimits = {
  projectEvents: 1000,
  projectBytes: 4 * 1024 * 1024,
  serverEvents: 10_000,
  serverBytes: 32 * 1024 * 1024,
};

/** One callback, serialised once: every attempt sends these bytes. */
export interface Queued {
  apiKey: string;
  id: string;
  event: string;
  body: string;
  bytes: number;
}

/** Which bound made a callback go. */
export type DropScope = 'project' | 'server';

interface Line {
  items: Queued[];
  bytes: number;
  /** The head is being sent. */
  sending: boolean;
}

export class CallbackQueue {
  private readonly lines = new Map<string, Line>();
  /** Every waiting callback of the server, oldest first (the one being sent included). */
  private readonly order = new Set<Queued>();
  private totalBytes = 0;

  constructor(private readonly limits: QueueLimits) {}

  get size(): number {
    return this.order.size;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  /** Queues a callback; returns the ones dropped to make room (maybe `item` itself, when only callbacks being sent are left). */
  push(item: Queued): Array<{ item: Queued; scope: DropScope }> {
    const dropped: Array<{ item: Queued; scope: DropScope }> = [];
    let line = this.lines.get(item.apiKey);
    if (!line) this.lines.set(item.apiKey, (line = { items: [], bytes: 0, sending: false }));
    const { projectEvents, projectBytes, serverEvents, serverBytes } = this.limits;
    while (line.items.length + 1 > projectEvents || line.bytes + item.bytes > projectBytes) {
      const old = this.oldestWaiting(line);
      if (!old) return [...dropped, { item, scope: 'project' }];
      this.remove(old);
      dropped.push({ item: old, scope: 'project' });
    }
    while (this.order.size + 1 > serverEvents || this.totalBytes + item.bytes > serverBytes) {
      const old = this.oldestWaitingOfServer();
      if (!old) return [...dropped, { item, scope: 'server' }];
      this.remove(old);
      dropped.push({ item: old, scope: 'server' });
    }
    // An eviction may have emptied (and forgotten) this project's line.
    if (this.lines.get(item.apiKey) !== line) this.lines.set(item.apiKey, line);
    line.items.push(item);
    line.bytes += item.bytes;
    this.order.add(item);
    this.totalBytes += item.bytes;
    return dropped;
  }

  /** The next callback of a project to send, unless one is being sent already or none waits. */
  take(apiKey: string): Queued | undefined {
    const line = this.lines.get(apiKey);
    if (!line || line.sending || line.items.length === 0) return undefined;
    line.sending = true;
    return line.items[0];
  }

  /** The callback being sent for a project is done with (delivered or given up). */
  finish(apiKey: string): void {
    const line = this.lines.get(apiKey);
    if (!line?.sending) return;
    line.sending = false;
    const head = line.items[0];
    if (head) this.remove(head);
  }

  /** Projects with callbacks waiting (to start their sending after a restart of the loop). */
  projects(): string[] {
    return [...this.lines.keys()];
  }

  /** Empties the queue; returns what it held. */
  clear(): Queued[] {
    const all = [...this.order];
    this.lines.clear();
    this.order.clear();
    this.totalBytes = 0;
    return all;
  }

  private oldestWaiting(line: Line): Queued | undefined {
    return line.items[line.sending ? 1 : 0];
  }

  private oldestWaitingOfServer(): Queued | undefined {
    // At most one callback being sent per project is skipped.
    for (const item of this.order) {
      const line = this.lines.get(item.apiKey);
      if (!(line?.sending && line.items[0] === item)) return item;
    }
    return undefined;
  }

  private remove(item: Queued): void {
    const line = this.lines.get(item.apiKey);
    if (!line) return;
    // A project's oldest waiting callback is its first or second: removal is O(1) in practice.
    const i = line.items.indexOf(item);
    if (i < 0) return;
    line.items.splice(i, 1);
    line.bytes -= item.bytes;
    this.order.delete(item);
    this.totalBytes -= item.bytes;
    if (line.items.length === 0 && !line.sending) this.lines.delete(item.apiKey);
  }
}
