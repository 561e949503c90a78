import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { MEMBER_PATCH_FIELDS, STREAM_PATCH_FIELDS } from './session-fold.js';

/**
 * The Lua scripts of the Redis engine. Each runs atomically in Redis; all of them are
 * single-slot (session keys only), so they run on a Redis Cluster too. They know nothing of
 * Tether's entries: TypeScript computes what an entry does (`session-fold.ts`) and passes it
 * as five-argument ops `(op, target, id, field, value)`, which `APPLY` interprets:
 *
 * - `a m|s id - json`: adds a member/stream (the JSON is its whole value), clears its
 *   patches, gives it the next join/creation rank unless it has one;
 * - `p m|s id field json`: sets one field of a present member/stream (absent: nothing);
 * - `r m|s id`: removes it, its patches and its rank.
 *
 * A patched field is stored beside the value (`<id>|<field>`) rather than merged into the
 * JSON, so no script ever decodes and re-encodes a client's data (cjson is not byte-faithful
 * for every string JSON.stringify can produce).
 *
 * Every entry is numbered (field `n`, 1, 2, … per session, beside its JSON in `e`), so a
 * reader can tell that what it got follows what it had: XREAD from a position the log no
 * longer holds silently starts at the oldest entry it does hold.
 *
 * Session keys, in this order: KEYS[1] log (a stream), [2] members (hash), [3] join order
 * (zset), [4] streams (hash), [5] creation order (zset), [6] meta (hash: `n`, `rank`).
 */
const FIELDS = `
local PATCH = { m = { ${luaList(MEMBER_PATCH_FIELDS)} }, s = { ${luaList(STREAM_PATCH_FIELDS)} } }
local function fields(id, t)
  local f = { id }
  for _, p in ipairs(PATCH[t]) do f[#f + 1] = id .. '|' .. p end
  return f
end
`;

const APPLY = `${FIELDS}
local HASH = { m = KEYS[2], s = KEYS[4] }
local ORDER = { m = KEYS[3], s = KEYS[5] }
-- XADDs the entry at ARGV[i] (then its op count, then 5 ARGV per op), applies its ops, trims the log.
local function append_entry(maxlen, i)
  local n = redis.call('HINCRBY', KEYS[6], 'n', 1)
  local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', maxlen, '*', 'n', n, 'e', ARGV[i])
  local n = tonumber(ARGV[i + 1])
  i = i + 2
  for _ = 1, n do
    local op, t, key = ARGV[i], ARGV[i + 1], ARGV[i + 2]
    local h = HASH[t]
    if op == 'a' then
      redis.call('HDEL', h, unpack(fields(key, t)))
      redis.call('HSET', h, key, ARGV[i + 4])
      if not redis.call('ZSCORE', ORDER[t], key) then
        redis.call('ZADD', ORDER[t], redis.call('HINCRBY', KEYS[6], 'rank', 1), key)
      end
    elseif op == 'p' then
      if redis.call('HEXISTS', h, key) == 1 then redis.call('HSET', h, key .. '|' .. ARGV[i + 3], ARGV[i + 4]) end
    elseif op == 'r' then
      redis.call('HDEL', h, unpack(fields(key, t)))
      redis.call('ZREM', ORDER[t], key)
    end
    i = i + 5
  end
  return id, i
end
-- A session nobody is a member of expires after idle_ms; one that has members again does not.
local function settle(idle_ms)
  if redis.call('HLEN', KEYS[2]) == 0 then
    for k = 1, 6 do redis.call('PEXPIRE', KEYS[k], idle_ms) end
  elseif redis.call('PTTL', KEYS[1]) >= 0 then
    for k = 1, 6 do redis.call('PERSIST', KEYS[k]) end
  end
end
`;

/** Stream ids compared as numbers (ms, then seq), never as text. */
const COMPARE = `
local function cmp_part(a, b)
  if #a ~= #b then return #a < #b and -1 or 1 end
  if a == b then return 0 end
  return a < b and -1 or 1
end
local function cmp_id(a, b)
  local am, as = string.match(a, '^(%d+)-(%d+)$')
  local bm, bs = string.match(b, '^(%d+)-(%d+)$')
  local c = cmp_part(am, bm)
  if c ~= 0 then return c end
  return cmp_part(as, bs)
end
`;

/**
 * append. ARGV: maxlen, idle ms, fence epoch ('' = unfenced), entry count, entries.
 * KEYS[7] (fenced only): the connection's record. Returns {'fenced'} when the record is gone
 * or its epoch differs (nothing written), else {'ok', id...}: one stream id per entry.
 */
export const APPEND = `${APPLY}
if ARGV[3] ~= '' and redis.call('HGET', KEYS[7], 'epoch') ~= ARGV[3] then return { 'fenced' } end
local out, i = { 'ok' }, 5
for _ = 1, tonumber(ARGV[4]) do
  local id
  id, i = append_entry(ARGV[1], i)
  out[#out + 1] = id
end
settle(tonumber(ARGV[2]))
return out
`;

/**
 * claim. KEYS[7]: the record. ARGV: maxlen, idle ms, expected epoch, new owner, connection
 * id, then the `~moved` entry (as append). Only when the record's epoch is the expected one:
 * owner := new owner, epoch := epoch + 1, the entry appended. Returns {'ok', previous owner,
 * record fields, member value and patches}, or {'stale', owner, epoch} as they are now
 * (false when the record is gone).
 */
export const CLAIM = `${APPLY}
local cur = redis.call('HMGET', KEYS[7], 'owner', 'epoch')
if cur[2] ~= ARGV[3] then return { 'stale', cur[1], cur[2] } end
redis.call('HSET', KEYS[7], 'owner', ARGV[4], 'epoch', tostring(tonumber(ARGV[3]) + 1))
append_entry(ARGV[1], 6)
settle(tonumber(ARGV[2]))
return { 'ok', cur[1], redis.call('HGETALL', KEYS[7]), redis.call('HMGET', KEYS[2], unpack(fields(ARGV[5], 'm'))) }
`;

/**
 * snapshot. KEYS[1..6]. Returns {position, its entry's number, members hash, join order,
 * streams hash, creation order}; an empty log is at '0-0', number 0.
 */
export const SNAPSHOT = `
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
local at, n = '0-0', 0
if last[1] then at, n = last[1][1], tonumber(redis.call('HGET', KEYS[6], 'n')) end
return { at, n, redis.call('HGETALL', KEYS[2]), redis.call('ZRANGE', KEYS[3], 0, -1),
  redis.call('HGETALL', KEYS[4]), redis.call('ZRANGE', KEYS[5], 0, -1) }
`;

/**
 * read. KEYS[1] log. ARGV: after, up to, count. Entries after `after` up to `upTo`, at most
 * count. Returns nil when the log no longer holds `after` itself (trimmed, or another
 * incarnation of the session): what followed it may be gone. '0-0' (an empty log's position)
 * is held while nothing was ever trimmed.
 */
export const READ = `
if ARGV[1] == '0-0' then
  if redis.call('EXISTS', KEYS[1]) == 1 then
    local info, added, len = redis.call('XINFO', 'STREAM', KEYS[1]), nil, nil
    for k = 1, #info, 2 do
      if info[k] == 'entries-added' then added = info[k + 1] elseif info[k] == 'length' then len = info[k + 1] end
    end
    if added ~= len then return false end
  end
  return redis.call('XRANGE', KEYS[1], '-', ARGV[2], 'COUNT', ARGV[3])
end
local r = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[2], 'COUNT', tonumber(ARGV[3]) + 1)
if not r[1] or r[1][1] ~= ARGV[1] then return false end
table.remove(r, 1)
return r
`;

/** load. KEYS[1] record, KEYS[2] members. ARGV[1] connection id. Returns {record fields, member value and patches}. */
export const LOAD = `${FIELDS}
return { redis.call('HGETALL', KEYS[1]), redis.call('HMGET', KEYS[2], unpack(fields(ARGV[1], 'm'))) }
`;

/**
 * checkpoint. KEYS[1] record. ARGV: owner, seq, at, lastApplied, interruptedAt ('' = clear).
 * 'fenced' when the record is gone or another node owns it. (seq, at) move together and only
 * forward; lastApplied only forward; interruptedAt as given.
 */
export const CHECKPOINT = `${COMPARE}
local r = redis.call('HMGET', KEYS[1], 'owner', 'seq', 'at', 'lastApplied')
if r[1] ~= ARGV[1] then return 'fenced' end
local seq, cur, c = tonumber(ARGV[2]), tonumber(r[2]), cmp_id(ARGV[3], r[3])
if seq >= cur and c >= 0 and (seq > cur or c > 0) then redis.call('HSET', KEYS[1], 'seq', ARGV[2], 'at', ARGV[3]) end
if tonumber(ARGV[4]) > tonumber(r[4]) then redis.call('HSET', KEYS[1], 'lastApplied', ARGV[4]) end
if ARGV[5] == '' then redis.call('HDEL', KEYS[1], 'interruptedAt') else redis.call('HSET', KEYS[1], 'interruptedAt', ARGV[5]) end
return 'ok'
`;

/** remove. KEYS[1] record. ARGV[1] owner. 'gone', 'fenced' (another node owns it) or {'ok', epoch} (deleted). */
export const REMOVE = `
local cur = redis.call('HMGET', KEYS[1], 'owner', 'epoch')
if not cur[1] then return 'gone' end
if cur[1] ~= ARGV[1] then return 'fenced' end
redis.call('DEL', KEYS[1])
return { 'ok', cur[2] }
`;

/** reap lock release / extension: only by the node holding it. ARGV: holder, ms ('' = release). */
export const LOCK = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '' then return redis.call('DEL', KEYS[1]) end
return redis.call('PEXPIRE', KEYS[1], ARGV[2])
`;

/**
 * media home compare-and-set. KEYS[1] the session's media key. ARGV: expected value ('' =
 * absent), new value ('' = delete), ms to live ('' = no expiry). 1 if swapped, else 0.
 */
export const SWAP = `
if (redis.call('GET', KEYS[1]) or '') ~= ARGV[1] then return 0 end
if ARGV[2] == '' then redis.call('DEL', KEYS[1]) return 1 end
if ARGV[3] == '' then redis.call('SET', KEYS[1], ARGV[2]) else redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) end
return 1
`;

const ALL = { APPEND, CLAIM, SNAPSHOT, READ, LOAD, CHECKPOINT, REMOVE, LOCK, SWAP };
export type ScriptName = keyof typeof ALL;

const SHA = Object.fromEntries(
  Object.entries(ALL).map(([name, lua]) => [name, createHash('sha1').update(lua).digest('hex')]),
) as Record<ScriptName, string>;

/**
 * Loads every script into Redis's script cache. Called as the first command after each
 * (re)connect, so every EVALSHA after it on that connection finds its script.
 */
export async function loadScripts(redis: Redis): Promise<void> {
  await Promise.all(Object.values(ALL).map((lua) => redis.script('LOAD', lua)));
}

/**
 * Runs a script by its digest. Never falls back to sending the body on NOSCRIPT: that
 * second send could land after a later call from this node that found the script (another
 * node reloaded it meanwhile), reordering this node's appends. The call fails instead (it
 * did not run), and the cache is reloaded for the next ones.
 */
export async function runScript(
  redis: Redis,
  name: ScriptName,
  keys: readonly string[],
  args: readonly (string | number)[],
): Promise<unknown> {
  try {
    return await redis.evalsha(SHA[name], keys.length, ...keys, ...args);
  } catch (err) {
    if (err instanceof Error && err.message.startsWith('NOSCRIPT')) void loadScripts(redis).catch(() => {});
    throw err;
  }
}

function luaList(names: readonly string[]): string {
  return names.map((n) => `'${n}'`).join(', ');
}
