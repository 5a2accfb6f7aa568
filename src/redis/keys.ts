/**
 * The Redis log's layout (internal): the key names, the Lua scripts, and the codec between a
 * channel's entries and its stream entries.
 *
 * Keys, for a channel `c` under the prefix `p` (default `tokenflow:`):
 * - `p s:c` the channel's events: one stream entry per batch the owner wrote in one tick. The entry's
 *   stream id is `<next id>-0` (the id after its last event) and its fields are `i <first id>` then
 *   `t <type> d <json>` (and `x <extra>`) per event, so an event id means the same on every server
 *   and "after event n" is one `XRANGE` from `<n + 2>-0`.
 * - `p m:c` a hash: the publisher's `meta` (JSON), `created` (ms), `owner` (a server id), and its
 *   `trace` context (JSON) when the hub has telemetry.
 * - `p l:c` the ownership lease: the owner's server id, with a TTL renewed while the upstream runs.
 * - `p f:c` a sorted set of the servers following the channel, scored by when their presence expires.
 * - `p control` a stream read by every server: stop requests (`c <channel> r stopped`), and the
 *   announcements of servers that start or stop following a channel (`f <channel> s <server>`,
 *   `u <channel> s <server>`), by which its owner learns where to send its entries live.
 * - `p wake:<server>` wakes that server's blocking reader when the set of channels it reads changes.
 * - `p live:<server>` (a pub/sub channel, not a key) carries the entries of the channels that
 *   server follows, pushed by their owners right after they are stored: a JSON array of
 *   `[channel, stream id, ...fields]`, one item per stream entry (see {@link liveItem}).
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { isTerminalType, type ChannelLogEntry } from '../sse/channel-log.js';

/** A stream entry's fields, as Redis returns them: name, value, name, value, … */
export type FieldList = readonly string[];
/** One stream entry: its id and its fields. */
export type StreamItem = [id: string, fields: FieldList];

/** The key names of one log: its prefix, and its server's own wake key. */
export class Keys {
  /** The stream of stop requests every server reads. */
  readonly control: string;
  /** The stream that wakes this server's blocking reader. */
  readonly wake: string;

  /**
   * @param prefix - what every key starts with (the client's `keyPrefix` is already in it)
   * @param serverId - this server's id, for its wake key
   */
  constructor(
    readonly prefix: string,
    serverId: string,
  ) {
    this.control = `${prefix}control`;
    this.wake = `${prefix}wake:${serverId}`;
  }

  /** The channel's events. */
  stream(channel: string): string {
    return `${this.prefix}s:${channel}`;
  }

  /** The channel's meta hash (its existence is the channel's). */
  meta(channel: string): string {
    return `${this.prefix}m:${channel}`;
  }

  /** The channel's ownership lease. */
  lease(channel: string): string {
    return `${this.prefix}l:${channel}`;
  }

  /** The servers following the channel. */
  followers(channel: string): string {
    return `${this.prefix}f:${channel}`;
  }

  /** The pub/sub channel on which a server gets the entries of the channels it follows. */
  live(serverId: string): string {
    return `${this.prefix}live:${serverId}`;
  }
}

/**
 * Control entries kept (`MAXLEN ~`). Every server reads them within milliseconds; the bound is large
 * enough that a burst of announcements (a server starting to follow a thousand channels at once)
 * cannot trim a stop request before a busy reader gets to it.
 */
export const CONTROL_LEN = 10_000;

/** How long (ms) an owner stores without pushing after Redis refused a push (see `APPEND_LUA`). */
export const PUSH_REFUSED_MS = 60_000;

/** After the lost upstream's error entry, no owner write can land (its ids are all below this). */
const FENCE_ID = '9007199254740991-0';

/** Creates a channel if its name is free: meta hash, an empty stream, the lease. */
const CREATE_LUA = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'meta', ARGV[1], 'created', ARGV[2], 'owner', ARGV[3])
if ARGV[6] ~= '' then redis.call('HSET', KEYS[1], 'trace', ARGV[6]) end
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('DEL', KEYS[2])
redis.call('XADD', KEYS[2], '0-1', 'h', '1')
redis.call('XDEL', KEYS[2], '0-1')
redis.call('PEXPIRE', KEYS[2], ARGV[5])
redis.call('SET', KEYS[3], ARGV[3], 'PX', ARGV[4])
return 1`;

/**
 * Finishes a channel whose owner is gone with an error entry, unless the lease came back, the
 * channel moved on since the caller looked (0), or it no longer exists (-1). Then fences the stream,
 * so a late write of the old owner fails instead of landing after the error.
 *
 * The expiry comes before the `XADD` on purpose: Redis refuses a script's memory-growing command
 * under `maxmemory` (`noeviction`) only while the script has written nothing, because it never stops
 * a script halfway. So the notice (a few hundred bytes) is stored even when Redis is full, which is
 * exactly when an owner's writes fail and its followers need it.
 */
const LOSE_LUA = `
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
if redis.call('EXISTS', KEYS[3]) == 0 then return -1 end
local top = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
local nxt = 0
if top[1] then nxt = tonumber(string.match(top[1][1], '^(%d+)')) end
if nxt ~= tonumber(ARGV[1]) then return 0 end
redis.call('PEXPIRE', KEYS[3], ARGV[3])
redis.call('XADD', KEYS[1], (nxt + 1) .. '-0', 'i', nxt, 't', 'error', 'd', ARGV[2])
redis.call('XSETID', KEYS[1], '${FENCE_ID}')
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1`;

/**
 * Stores the appends of one tick that have servers to push to, and pushes what was stored, in one
 * step on Redis: a push can never carry an entry the stream refused (a fenced channel, a full Redis),
 * and it leaves Redis when the entry is stored, not a round trip later through the owner.
 *
 * KEYS: the channels' streams, one per append. ARGV: `maxLen`, the number of servers S, their S
 * live channels, then per append its stream id, its field count, its fields, its live item, the
 * number of servers to push it to and their indexes (1-based) among the S.
 * Returns per append `ok`, `gone` (no stream) or `err:<message>`, then per server the number of
 * subscribers its push reached: -1 when nothing of it was stored, -2 when the push itself was
 * refused, say by an ACL without pub/sub (the entries are stored all the same, and the follower's
 * quiet check finds them).
 */
const APPEND_LUA = `
local maxLen = ARGV[1]
local s = tonumber(ARGV[2])
local bundles = {}
for j = 1, s do bundles[j] = {} end
local pos = 3 + s
local out = {}
for i = 1, #KEYS do
  local id = ARGV[pos]
  local n = tonumber(ARGV[pos + 1])
  pos = pos + 2
  local args = {'XADD', KEYS[i], 'NOMKSTREAM', 'MAXLEN', '~', maxLen, id}
  for f = 0, n - 1 do args[#args + 1] = ARGV[pos + f] end
  pos = pos + n
  local item = ARGV[pos]
  local ns = tonumber(ARGV[pos + 1])
  pos = pos + 2
  local r = redis.pcall(unpack(args))
  if type(r) == 'table' and r.err then
    out[i] = 'err:' .. r.err
  elseif not r then
    out[i] = 'gone'
  else
    out[i] = 'ok'
    for k = 0, ns - 1 do
      local b = bundles[tonumber(ARGV[pos + k])]
      b[#b + 1] = item
    end
  end
  pos = pos + ns
end
for j = 1, s do
  local reached = -1
  if #bundles[j] > 0 then
    local r = redis.pcall('PUBLISH', ARGV[2 + j], '[' .. table.concat(bundles[j], ',') .. ']')
    if type(r) == 'number' then reached = r else reached = -2 end
  end
  out[#out + 1] = reached
end
return out`;

/** The log's scripts, as commands of its connection. */
export interface Scripts {
  /** Runs `CREATE_LUA`: 1 when created, 0 when the name is taken. */
  tfCreate(meta: string, stream: string, lease: string, metaJson: string, created: string, owner: string, leaseMs: string, idleMs: string, traceJson: string): Promise<number>;
  /** Runs `LOSE_LUA`: 1 when the error entry was stored, 0 when something moved, -1 when the channel is gone. */
  tfLose(stream: string, lease: string, meta: string, expectedNext: string, data: string, ttlMs: string): Promise<number>;
}

/** Defines the scripts on a connection (ioredis loads them on first use). `APPEND_LUA` runs apart: {@link runAppend}. */
export function defineScripts(redis: Redis): Redis & Scripts {
  redis.defineCommand('tfCreate', { numberOfKeys: 3, lua: CREATE_LUA });
  redis.defineCommand('tfLose', { numberOfKeys: 3, lua: LOSE_LUA });
  return redis as Redis & Scripts;
}

/** `APPEND_LUA`'s SHA-1: the name `EVALSHA` runs it by. */
const APPEND_SHA = createHash('sha1').update(APPEND_LUA).digest('hex');

/** Loads `APPEND_LUA` into Redis's script cache, so `runAppend`'s `EVALSHA` finds it. */
export function loadAppend(redis: Redis): Promise<unknown> {
  return redis.script('LOAD', APPEND_LUA);
}

/**
 * Runs `APPEND_LUA` (the number of streams, then the streams, then the arguments) by its SHA-1, and
 * once more with its text when Redis does not know it (restarted, or `SCRIPT FLUSH`).
 *
 * A plain `EVALSHA`, not a command from ioredis's `defineCommand` as the cold-path scripts are: the
 * commands that path builds stayed alive through young-generation collections. Measured in one
 * process sending a 60-argument script every 1.5 ms for 6 s: 5.8 MB promoted to the old generation
 * in 4 s that way, 0.02 MB as a plain `EVALSHA`; in the Redis bench's publisher, each collection's
 * pause grew with it.
 */
export function runAppend(redis: Redis, numKeys: number, keysAndArgs: ReadonlyArray<string | number>): Promise<Array<string | number>> {
  const run = (command: 'EVALSHA' | 'EVAL', script: string) => redis.call(command, script, numKeys, ...keysAndArgs) as Promise<Array<string | number>>;
  return run('EVALSHA', APPEND_SHA).catch((error: unknown) => {
    if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
    return run('EVAL', APPEND_LUA);
  });
}

/**
 * One stream entry for a batch of consecutive entries: its stream id (the id after the last event)
 * and its fields (`i <first id>`, then `t`, `d` and optional `x` per event).
 */
export function encodeEntries(entries: readonly ChannelLogEntry[]): { id: string; fields: string[] } {
  const first = entries[0]!;
  const last = entries[entries.length - 1]!;
  const fields: string[] = ['i', String(first.id)];
  for (const e of entries) {
    fields.push('t', e.type, 'd', e.data);
    if (e.extra !== undefined) fields.push('x', e.extra);
  }
  return { id: `${last.id + 1}-0`, fields };
}

/** The events of one stream entry: `i <first id>` then `t`, `d` (and `x`) per event. */
export function parseItem([, fields]: StreamItem): ChannelLogEntry[] {
  const out: ChannelLogEntry[] = [];
  let id = Number(fields[1]);
  let type: string | undefined;
  let data: string | undefined;
  let extra: string | undefined;
  const flush = (): void => {
    if (type === undefined || data === undefined) return;
    out.push(extra === undefined ? { id: id++, type, data } : { id: id++, type, data, extra });
    type = data = extra = undefined;
  };
  for (let i = 2; i + 1 < fields.length; i += 2) {
    const name = fields[i];
    const value = fields[i + 1]!;
    if (name === 't') {
      flush();
      type = value;
    } else if (name === 'd') data = value;
    else if (name === 'x') extra = value;
  }
  flush();
  return out;
}

/** One stream entry as an item of a `live:<server>` message: `[channel, stream id, ...fields]` in JSON. */
export function liveItem(channel: string, id: string, fields: readonly string[]): string {
  return JSON.stringify([channel, id, ...fields]);
}

/**
 * The items of a `live:<server>` message (a JSON array of {@link liveItem}s), or `undefined` for a
 * message that is not one: the reader then relies on the stream alone.
 */
export function parseLive(message: string): Array<[channel: string, item: StreamItem]> | undefined {
  let value: unknown;
  try {
    value = JSON.parse(message);
  } catch {
    return undefined;
  }
  if (!Array.isArray(value)) return undefined;
  const out: Array<[string, StreamItem]> = [];
  for (const entry of value) {
    if (!Array.isArray(entry) || entry.length < 4 || !entry.every((v) => typeof v === 'string')) return undefined;
    const [channel, id, ...fields] = entry as string[];
    out.push([channel!, [id!, fields]]);
  }
  return out;
}

/** The value of a field of a stream entry, or `undefined`. */
export function fieldOf(fields: FieldList, name: string): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

/** Whether a stream entry's last event ends the channel. */
export function endsChannel(fields: FieldList): boolean {
  for (let i = fields.length - 2; i >= 0; i -= 2) if (fields[i] === 't') return isTerminalType(fields[i + 1]);
  return false;
}

/** The millisecond part of a stream id: for an entry, the id after its last event. */
export function streamMs(id: string): number {
  return Number(id.slice(0, id.indexOf('-')));
}

/** A pipeline's replies, throwing the first error (a discarded pipeline is an error too). */
export function replies(results: [error: Error | null, result: unknown][] | null): unknown[] {
  if (!results) throw new Error('RedisChannelLog: the pipeline was discarded.');
  return results.map(([error, result]) => {
    if (error) throw error;
    return result;
  });
}
