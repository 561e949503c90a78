import type { Redis } from 'ioredis';
import type { StreamInfo } from '@tether/protocol';
import { TetherError } from '@tether/protocol';
import {
  FencedError,
  type Fence,
  type LogEntry,
  type Logged,
  type Member,
  type Position,
  type SessionSnapshot,
} from './engine.js';
import { MEMBER_PATCH_FIELDS, foldOps, type FoldOp } from './session-fold.js';
import { RedisKeys, sessionKeyList } from './redis-keys.js';
import { runScript } from './redis-scripts.js';

/**
 * A session's log on Redis: one stream per session, the entries as JSON, trimmed to about
 * `maxLen` entries (MAXLEN ~: Redis trims whole stream nodes, so the length stays within
 * [maxLen, maxLen + stream-node-max-entries]). A resume that needs entries older than the
 * retained log fails with RESUME_SEQUENCE_INVALID (`read`), never with a silent gap.
 */
export interface LogOptions {
  maxLen: number;
  /** How long a session without members keeps its keys (ms). */
  idleTtlMs: number;
}

export class RedisLog {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly opts: LogOptions,
  ) {}

  /** One script call: the fence check, every XADD in order, their snapshot effects, the trim. */
  async append(sessionId: string, entries: readonly LogEntry[], fence?: Fence): Promise<Position[]> {
    if (entries.length === 0) return [];
    const keys = sessionKeyList(this.keys.session(sessionId));
    if (fence) keys.push(this.keys.record(sessionId, fence.connectionId));
    const args: (string | number)[] = [
      this.opts.maxLen,
      this.opts.idleTtlMs,
      fence ? fence.epoch : '',
      entries.length,
    ];
    for (const entry of entries) pushEntry(args, entry);
    const out = (await runScript(this.redis, 'APPEND', keys, args)) as string[];
    if (out[0] === 'fenced') throw new FencedError(fence!.connectionId);
    return out.slice(1);
  }

  async snapshot(sessionId: string): Promise<SessionSnapshot> {
    return (await this.numberedSnapshot(sessionId)).snapshot;
  }

  /** The snapshot and the number of the entry it is at (0: an empty log), for a follower to check what follows. */
  async numberedSnapshot(sessionId: string): Promise<{ snapshot: SessionSnapshot; n: number }> {
    const keys = sessionKeyList(this.keys.session(sessionId));
    const [at, n, members, memberOrder, streams, streamOrder] = (await runScript(
      this.redis,
      'SNAPSHOT',
      keys,
      [],
    )) as [string, number, string[], string[], string[], string[]];
    const snapshot = {
      members: ordered<Member>(members, memberOrder),
      streams: ordered<StreamInfo>(streams, streamOrder),
      at,
    };
    return { snapshot, n };
  }

  /**
   * Entries after `after` up to and including `upTo`, read in pages; each page starts at the
   * last entry of the one before and checks it is still there, so trimming between pages is
   * caught too.
   */
  async read(sessionId: string, after: Position, upTo: Position, pageSize = 1000): Promise<Logged[]> {
    const key = this.keys.session(sessionId).log;
    const out: Logged[] = [];
    let from = after;
    while (comparePositions(from, upTo) < 0) {
      const page = (await runScript(this.redis, 'READ', [key], [from, upTo, pageSize])) as RawEntry[] | null;
      if (page === null)
        throw new TetherError(
          'RESUME_SEQUENCE_INVALID',
          `the log of session ${sessionId} no longer holds ${from} (it keeps the last ${this.opts.maxLen} entries)`,
        );
      for (const raw of page) out.push(parseEntry(raw));
      if (page.length < pageSize) break;
      from = out[out.length - 1]!.at;
    }
    return out;
  }
}

/** A stream entry as XRANGE/XREAD return it: [id, [field, value, ...]]. */
export type RawEntry = [string, string[]];

export function parseEntry([at, fields]: RawEntry): Logged {
  const i = fields.indexOf('e');
  return { at, entry: JSON.parse(fields[i + 1]!) as LogEntry };
}

/** An entry's number in its session's log (1, 2, …: consecutive entries have consecutive numbers). */
export function entryNumber([, fields]: RawEntry): number {
  return Number(fields[fields.indexOf('n') + 1]);
}

/** Appends one entry's script arguments: its JSON, its op count, five arguments per op. */
export function pushEntry(args: (string | number)[], entry: LogEntry): void {
  const ops = encodeOps(foldOps(entry));
  args.push(JSON.stringify(entry), ops.length / 5, ...ops);
}

/** The fold operations as the scripts' five-argument ops (redis-scripts.ts). */
export function encodeOps(ops: readonly FoldOp[]): string[] {
  const out: string[] = [];
  for (const op of ops) {
    switch (op.k) {
      case 'addMember':
        out.push('a', 'm', op.member.info.connectionId, '', JSON.stringify(op.member));
        break;
      case 'patchMember':
        for (const [field, value] of Object.entries(op.patch))
          out.push('p', 'm', op.connectionId, field, JSON.stringify(value));
        break;
      case 'removeMember':
        out.push('r', 'm', op.connectionId, '', '');
        break;
      case 'addStream':
        out.push('a', 's', op.stream.streamId, '', JSON.stringify(op.stream));
        break;
      case 'patchStream':
        for (const [field, value] of Object.entries(op.patch))
          out.push('p', 's', op.streamId, field, JSON.stringify(value));
        break;
      case 'removeStream':
        out.push('r', 's', op.streamId, '', '');
        break;
    }
  }
  return out;
}

/**
 * Values of a snapshot hash (flat HGETALL reply: `<id>` → JSON, `<id>|<field>` → a patched
 * field's JSON) in the order of a rank zset.
 */
export function ordered<T>(flat: readonly string[], order: readonly string[]): T[] {
  const values = new Map<string, Record<string, unknown>>();
  const patches: [string, string, unknown][] = [];
  for (let i = 0; i < flat.length; i += 2) {
    const field = flat[i]!;
    const bar = field.indexOf('|');
    const value: unknown = JSON.parse(flat[i + 1]!);
    if (bar < 0) values.set(field, value as Record<string, unknown>);
    else patches.push([field.slice(0, bar), field.slice(bar + 1), value]);
  }
  for (const [id, field, value] of patches) {
    const v = values.get(id);
    if (v) v[field] = value;
  }
  const out: T[] = [];
  for (const id of order) {
    const v = values.get(id);
    if (v) out.push(v as T);
  }
  return out;
}

/** A member from its stored value and patches (HMGET id, id|<each patch field>), if present. */
export function memberFrom(values: readonly (string | null)[]): Member | undefined {
  const [base, ...patches] = values;
  if (!base) return undefined;
  const m = JSON.parse(base) as Record<string, unknown>;
  MEMBER_PATCH_FIELDS.forEach((field, i) => {
    const v = patches[i];
    if (v) m[field] = JSON.parse(v);
  });
  return m as unknown as Member;
}

/** Orders two stream ids (`<ms>-<seq>`) as numbers: by ms, then by seq. */
export function comparePositions(a: Position, b: Position): number {
  const [am = '', as = ''] = a.split('-');
  const [bm = '', bs = ''] = b.split('-');
  return comparePart(am, bm) || comparePart(as, bs);
}

function comparePart(a: string, b: string): number {
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  return a === b ? 0 : a < b ? -1 : 1;
}
