/**
 * Where the Redis engine keeps things. Every key of one session — its log, its snapshot and
 * the resume records of its connections — carries the session id as a hash tag
 * (`{<sessionId>}`), so a Redis Cluster puts a whole session in one slot and every script
 * touching it stays a single-slot script. Node keys (liveness, ownership index) are not
 * session keys and are only ever touched by single-key commands.
 */
export class RedisKeys {
  /** `prefix` namespaces one cluster (tests use a random one each). */
  constructor(readonly prefix: string) {}

  /** The six keys of a session's log and snapshot, in the order the scripts take them. */
  session(sessionId: string): SessionKeys {
    const t = `${this.prefix}{${sessionId}}:`;
    return {
      log: `${t}log`,
      members: `${t}members`,
      memberOrder: `${t}members:order`,
      streams: `${t}streams`,
      streamOrder: `${t}streams:order`,
      meta: `${t}meta`,
    };
  }

  /** A connection's resume record. */
  record(sessionId: string, connectionId: string): string {
    return `${this.prefix}{${sessionId}}:conn:${connectionId}`;
  }

  /** The node running a routed session's SFU (redis-media-homes.ts). */
  mediaHome(sessionId: string): string {
    return `${this.prefix}{${sessionId}}:media`;
  }

  /** Exists while the node lives (expiring, refreshed). */
  node(nodeId: string): string {
    return `${this.prefix}node:${nodeId}`;
  }

  /** Every node that has not been reaped yet, live or dead. */
  nodes(): string {
    return `${this.prefix}nodes`;
  }

  /** A superset of the connections a node owns (`<sessionId> <connectionId>`), for its reaper. */
  owned(nodeId: string): string {
    return `${this.prefix}node:${nodeId}:owned`;
  }

  /** Held by the one node reaping a dead one. */
  reapLock(nodeId: string): string {
    return `${this.prefix}node:${nodeId}:reaper`;
  }

  /** A stream the node's blocking reader also reads: an entry wakes it when what it follows changes. */
  wake(nodeId: string): string {
    return `${this.prefix}node:${nodeId}:wake`;
  }
}

export interface SessionKeys {
  log: string;
  members: string;
  memberOrder: string;
  streams: string;
  streamOrder: string;
  /** A hash: `n`, the number of the last entry; `rank`, the last join/creation rank given. */
  meta: string;
}

export function sessionKeyList(k: SessionKeys): string[] {
  return [k.log, k.members, k.memberOrder, k.streams, k.streamOrder, k.meta];
}

/** An entry of a node's ownership index. Ids never contain a space (PROTOCOL.md, ids). */
export function ownedEntry(sessionId: string, connectionId: string): string {
  return `${sessionId} ${connectionId}`;
}

export function parseOwnedEntry(entry: string): { sessionId: string; connectionId: string } | undefined {
  const i = entry.indexOf(' ');
  if (i <= 0) return undefined;
  return { sessionId: entry.slice(0, i), connectionId: entry.slice(i + 1) };
}
