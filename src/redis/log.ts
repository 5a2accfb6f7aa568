/**
 * `RedisChannelLog`: the `StreamHub`'s channel log on Redis Streams, so any server can follow,
 * resume or stop any channel.
 *
 * Keys, for a channel `c` under the prefix `p` (default `tokenflow:`):
 * - `p s:c` the channel's events: one stream entry per batch the owner wrote in one tick. The entry's
 *   stream id is `<next id>-0` (the id after its last event) and its fields are `i <first id>` then
 *   `t <type> d <json>` (and `x <extra>`) per event, so an event id means the same on every server
 *   and "after event n" is one `XRANGE` from `<n + 2>-0`.
 * - `p m:c` a hash: the publisher's `meta` (JSON), `created` (ms), `owner` (a server id).
 * - `p l:c` the ownership lease: the owner's server id, with a TTL renewed while the upstream runs.
 * - `p f:c` a sorted set of the servers following the channel, scored by when their presence expires.
 * - `p control` a stream of stop requests, read by every server; `p wake:<server>` wakes that
 *   server's blocking reader when the set of channels it follows changes.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { InvalidArgumentError } from '../errors.js';
import { readOptions } from '../operators/internal.js';
import type { ChannelInfo, ChannelListener, ChannelLog, ChannelLogEntry } from '../sse/channel-log.js';
import { requireNumber } from '../validate.js';

/** Options of `new RedisChannelLog()`. */
export interface RedisChannelLogOptions {
  /**
   * An ioredis client, or a `redis://` URL. The log opens its own two connections from it (one for
   * commands, one blocking reader shared by every follower on this server) and never closes a
   * client you pass.
   */
  redis: Redis | string;
  /**
   * Prefix of every key the log writes. Default: the client's own `keyPrefix` followed by
   * `tokenflow:`.
   */
  prefix?: string;
  /**
   * Stream entries kept per channel for replay (`XADD … MAXLEN ~`); an entry holds the events of one
   * tick, usually one. A resume from before the oldest kept entry gets reason `gone`.
   * @defaultValue 10_000
   */
  maxLen?: number;
  /**
   * Lifetime of the ownership lease, renewed every third of it while the upstream runs. When the
   * owning server dies, followers anywhere get an `error` event with reason `lost` about this long
   * after its last renewal.
   * @defaultValue 10_000
   */
  leaseMs?: number;
  /**
   * How long a channel finished by the log itself (its owner was lost) stays readable.
   * `RedisStreamHub` passes its own `ttlMs`.
   * @defaultValue 300_000
   */
  ttlMs?: number;
  /**
   * A safety net: the keys of a running channel expire this long after the owner's last renewal, so
   * a channel nobody finished (owner and followers all gone) does not stay in Redis forever.
   * @defaultValue 3_600_000 (1 hour)
   */
  idleTtlMs?: number;
}

/** Redis commands a `RedisChannelLog` sent, by kind: to measure the cost per token. */
export interface RedisLogStats {
  /** `XADD`s of events (one per channel per tick with events). */
  appends: number;
  /** Blocking `XREAD`s of the shared reader. */
  reads: number;
  /** Every other command: catch-up reads, info, leases, presence, stop requests, scripts. */
  other: number;
}

const LOG_OPTIONS = ['redis', 'prefix', 'maxLen', 'leaseMs', 'ttlMs', 'idleTtlMs'];
/** Entries per stream per blocking read. */
const READ_COUNT = 1_000;
/** The blocking read returns at least this often, even with nothing to read. */
const BLOCK_MS = 5_000;
/** Control entries kept: stop requests are read within milliseconds, so a few suffice. */
const CONTROL_LEN = 1_000;
/** After the lost upstream's error entry, no owner write can land (its ids are all below this). */
const FENCE_ID = '9007199254740991-0';

/** Creates a channel if its name is free: meta hash, an empty stream, the lease. */
const CREATE_LUA = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'meta', ARGV[1], 'created', ARGV[2], 'owner', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('DEL', KEYS[2])
redis.call('XADD', KEYS[2], '0-1', 'h', '1')
redis.call('XDEL', KEYS[2], '0-1')
redis.call('PEXPIRE', KEYS[2], ARGV[5])
redis.call('SET', KEYS[3], ARGV[3], 'PX', ARGV[4])
return 1`;

/**
 * Finishes a channel whose owner is gone with an error entry, unless the lease came back, the
 * channel moved on since the caller looked, or it no longer exists (-1). Then fences the stream, so
 * a late write of the old owner fails instead of landing after the error.
 */
const LOSE_LUA = `
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
if redis.call('EXISTS', KEYS[3]) == 0 then return -1 end
local top = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
local nxt = 0
if top[1] then nxt = tonumber(string.match(top[1][1], '^(%d+)')) end
if nxt ~= tonumber(ARGV[1]) then return 0 end
redis.call('XADD', KEYS[1], (nxt + 1) .. '-0', 'i', nxt, 't', 'error', 'd', ARGV[2])
redis.call('XSETID', KEYS[1], '${FENCE_ID}')
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[3], ARGV[3])
return 1`;

interface Scripts {
  tfCreate(meta: string, stream: string, lease: string, metaJson: string, created: string, owner: string, leaseMs: string, idleMs: string): Promise<number>;
  tfLose(stream: string, lease: string, meta: string, expectedNext: string, data: string, ttlMs: string): Promise<number>;
}

/** A channel followed on this server: one cursor in the shared blocking read. */
interface Watched {
  readonly channel: string;
  readonly key: string;
  readonly listeners: Set<ChannelListener>;
  /** The stream id read up to; `undefined` until the channel's end at watch time is known. */
  cursor: string | undefined;
  /** The highest event id seen (or known to exist when watching began). */
  lastId: number;
  /** When the reader last brought events (ms); an idle channel gets its owner checked. */
  lastSeenAt: number;
  finished: boolean;
  /** A lost-owner check is running. */
  checking: boolean;
}

type FieldList = readonly string[];
type StreamItem = [id: string, fields: FieldList];

/**
 * The `StreamHub`'s channel log on Redis Streams (see the module comment for the keys). Use it
 * through `RedisStreamHub`, or pass it to `new StreamHub({ log })`.
 *
 * - Writes: the events a hub records in one tick become one `XADD` (with `NOMKSTREAM`, and
 *   `MAXLEN ~ maxLen` trimming) on the command connection.
 * - Reads: one blocking `XREAD` per server over every channel it follows, plus the control stream.
 * - Ownership: `create` takes a lease; the log renews it every `leaseMs / 3` while the channel runs,
 *   and releases it with the terminal event. Followers of a channel whose lease lapsed finish it
 *   with an `error` event (reason `lost`) that every server sees.
 *
 * Needs a single Redis primary (with replicas or Sentinel if you like); Redis Cluster is not
 * supported, because one `XREAD` reads many channels.
 */
export class RedisChannelLog implements ChannelLog {
  /** This log's server id: the lease owner value and the presence member. */
  readonly serverId: string = randomUUID();
  /** Commands sent so far, by kind. */
  readonly stats: RedisLogStats = { appends: 0, reads: 0, other: 0 };
  readonly #cmd: Redis & Scripts;
  readonly #reader: Redis;
  readonly #prefix: string;
  readonly #maxLen: number;
  readonly #leaseMs: number;
  readonly #ttlMs: number;
  readonly #idleTtlMs: number;
  readonly #interval: number;
  readonly #owned = new Set<string>();
  readonly #watched = new Map<string, Watched>();
  readonly #cancelHandlers = new Set<(channel: string, reason: 'stopped' | 'lost') => void>();
  readonly #timer: ReturnType<typeof setInterval>;
  readonly #controlKey: string;
  readonly #wakeKey: string;
  #controlCursor: string | undefined;
  #wakeCursor = '0-0';
  /** An `XREAD` is in flight (built from the followed set as it was when sent). */
  #reading = false;
  /** Counts the reader's `XREAD`s; a wake is sent at most once per read. */
  #round = 0;
  #wokenRound = -1;
  /** When the leases were last renewed (or there were none to renew and Redis was reachable). */
  #lastRenewed = Date.now();
  #beating = false;
  /** The command socket is corked until the next turn of the event loop. */
  #corked = false;
  #readerDownSince: number | undefined;
  #closed = false;
  /** Resolves on close: a command pending on a connection ioredis was reconnecting never settles. */
  readonly #stopped: Promise<undefined>;
  #stop: () => void = () => {};
  readonly #loop: Promise<void>;

  /**
   * @throws InvalidArgumentError for a missing or unusable `redis`, an unknown option, or a bad number.
   */
  constructor(options: RedisChannelLogOptions) {
    const o = readOptions(options, 'new RedisChannelLog', LOG_OPTIONS);
    const redis = o.redis;
    let base: { options: { keyPrefix?: string } } | undefined;
    if (typeof redis === 'string') {
      if (!/^rediss?:\/\//.test(redis)) {
        throw new InvalidArgumentError('options.redis', `new RedisChannelLog(): redis must be an ioredis client or a redis:// URL, got ${JSON.stringify(redis.slice(0, 40))}.`);
      }
    } else if (isIoredis(redis)) {
      if ((redis as { isCluster?: boolean }).isCluster) {
        throw new InvalidArgumentError(
          'options.redis',
          'new RedisChannelLog(): Redis Cluster is not supported (one XREAD reads many channels, which Cluster allows only within one hash slot); use a single primary, with replicas or Sentinel.',
        );
      }
      base = redis as unknown as { options: { keyPrefix?: string } };
    } else {
      throw new InvalidArgumentError('options.redis', 'new RedisChannelLog(): options.redis is required: an ioredis client (new Redis(url)) or a redis:// URL.');
    }
    if (o.prefix !== undefined && (typeof o.prefix !== 'string' || o.prefix === '')) {
      throw new InvalidArgumentError('options.prefix', 'new RedisChannelLog(): prefix must be a non-empty string.');
    }
    this.#prefix = (o.prefix as string | undefined) ?? `${base?.options.keyPrefix ?? ''}tokenflow:`;
    this.#maxLen = o.maxLen === undefined ? 10_000 : requireNumber(o.maxLen, 'options.maxLen', { min: 1, integer: true });
    this.#leaseMs = o.leaseMs === undefined ? 10_000 : requireNumber(o.leaseMs, 'options.leaseMs', { min: 100, integer: true });
    this.#ttlMs = o.ttlMs === undefined ? 300_000 : requireNumber(o.ttlMs, 'options.ttlMs', { min: 0 });
    this.#idleTtlMs = o.idleTtlMs === undefined ? 3_600_000 : requireNumber(o.idleTtlMs, 'options.idleTtlMs', { min: 1, integer: true });
    if (this.#idleTtlMs < this.#leaseMs) {
      throw new InvalidArgumentError('options.idleTtlMs', `new RedisChannelLog(): idleTtlMs (${this.#idleTtlMs}) must be at least leaseMs (${this.#leaseMs}).`);
    }
    this.#interval = Math.max(30, Math.floor(this.#leaseMs / 3));

    // Our own connections, in RESP2 (the reply shapes below), without the client's key prefix (ours
    // already includes it). Commands go out in call order (a watch's starting point before the
    // catch-up read that follows it). Reader: retries forever; the
    // heartbeat below turns a long outage into a clear error instead.
    const own = { keyPrefix: '', protocol: 2, lazyConnect: false } as const;
    // Named, so `CLIENT LIST` shows which connections are tokenflow's.
    const cmdOptions = { ...own, connectionName: `tokenflow-cmd-${this.serverId.slice(0, 8)}` };
    const readerOptions = { ...own, connectionName: `tokenflow-reader-${this.serverId.slice(0, 8)}`, maxRetriesPerRequest: null };
    if (typeof redis === 'string') {
      this.#cmd = new Redis(redis, cmdOptions) as Redis & Scripts;
      this.#reader = new Redis(redis, readerOptions);
    } else {
      const client = redis as Redis;
      this.#cmd = client.duplicate(cmdOptions) as unknown as Redis & Scripts;
      this.#reader = client.duplicate(readerOptions) as unknown as Redis;
    }
    // Errors surface through the commands that fail; without listeners ioredis would print them.
    this.#cmd.on('error', () => {});
    this.#reader.on('error', () => {});
    this.#reader.on('close', () => (this.#readerDownSince ??= Date.now()));
    this.#reader.on('ready', () => (this.#readerDownSince = undefined));
    this.#cmd.defineCommand('tfCreate', { numberOfKeys: 3, lua: CREATE_LUA });
    this.#cmd.defineCommand('tfLose', { numberOfKeys: 3, lua: LOSE_LUA });

    this.#controlKey = `${this.#prefix}control`;
    this.#wakeKey = `${this.#prefix}wake:${this.serverId}`;
    this.#stopped = new Promise<undefined>((resolve) => (this.#stop = () => resolve(undefined)));
    this.#timer = setInterval(() => void this.#heartbeat(), this.#interval);
    this.#timer.unref?.();
    this.#loop = this.#readLoop();
  }

  // ---- ChannelLog ----

  async create(channel: string, meta: Readonly<Record<string, unknown>>): Promise<boolean> {
    this.stats.other++;
    const created = await this.#cmd.tfCreate(
      this.#key('m', channel),
      this.#key('s', channel),
      this.#key('l', channel),
      JSON.stringify(meta),
      String(Date.now()),
      this.serverId,
      String(this.#leaseMs),
      String(this.#idleTtlMs),
    );
    if (created !== 1) return false;
    if (this.#owned.size === 0) this.#lastRenewed = Date.now();
    this.#owned.add(channel);
    return true;
  }

  async append(channel: string, entries: readonly ChannelLogEntry[]): Promise<void> {
    const first = entries[0];
    const last = entries[entries.length - 1];
    if (!first || !last) return;
    const key = this.#key('s', channel);
    const id = `${last.id + 1}-0`;
    const fields: string[] = ['i', String(first.id)];
    for (const e of entries) {
      fields.push('t', e.type, 'd', e.data);
      if (e.extra !== undefined) fields.push('x', e.extra);
    }
    const terminal = last.type === 'done' || last.type === 'error';
    this.stats.appends++;
    this.#cork();
    let stored: unknown;
    try {
      stored = await this.#cmd.call('XADD', key, 'NOMKSTREAM', 'MAXLEN', '~', this.#maxLen, id, ...fields);
    } catch (error) {
      // "equal or smaller than the target stream top item": either this very batch was stored and
      // its reply lost with a dropped connection (ioredis sent it again), or the channel was fenced
      // because its followers declared this server lost.
      if (!/equal or smaller/i.test(errorMessage(error)) || !(await this.#isStored(key, id, fields))) {
        this.#owned.delete(channel);
        throw new Error(`RedisChannelLog: cannot write channel "${channel}": ${errorMessage(error)}`, { cause: error });
      }
    }
    if (stored === null) {
      this.#owned.delete(channel);
      throw new Error(`RedisChannelLog: channel "${channel}" is no longer in Redis (expired, deleted, or Redis restarted without persistence).`);
    }
    if (terminal) {
      this.#owned.delete(channel);
      this.stats.other++;
      await this.#cmd.del(this.#key('l', channel));
    }
  }

  async read(channel: string, afterId: number, limit: number): Promise<ChannelLogEntry[] | undefined> {
    this.stats.other += 2;
    const replies = await this.#cmd
      .pipeline()
      .exists(this.#key('m', channel))
      .call('XRANGE', this.#key('s', channel), `${afterId + 2}-0`, '+', 'COUNT', limit)
      .exec();
    const [exists, items] = unwrap(replies) as [number, StreamItem[]];
    if (items.length === 0 && exists === 0) return undefined;
    const out: ChannelLogEntry[] = [];
    for (const item of items) {
      for (const entry of parseItem(item)) {
        // Ids are dense unless Redis lost writes (a restart with a persistence window); the hub
        // checks every page and reports a hole as events gone.
        if (entry.id <= afterId) continue;
        out.push(entry);
        if (out.length === limit) return out;
      }
    }
    return out;
  }

  async info(channel: string): Promise<ChannelInfo | undefined> {
    this.stats.other += 3;
    const replies = await this.#cmd
      .pipeline()
      .hgetall(this.#key('m', channel))
      .call('XRANGE', this.#key('s', channel), '-', '+', 'COUNT', 1)
      .call('XREVRANGE', this.#key('s', channel), '+', '-', 'COUNT', 1)
      .exec();
    const [hash, head, tail] = unwrap(replies) as [Record<string, string>, StreamItem[], StreamItem[]];
    if (hash.meta === undefined) return undefined;
    const top = tail[0];
    const nextId = top ? streamMs(top[0]) : 0;
    const oldest = head[0];
    return {
      channel,
      meta: JSON.parse(hash.meta) as Record<string, unknown>,
      nextId,
      firstId: oldest ? Number(fieldOf(oldest[1], 'i')) : nextId,
      finished: top ? isTerminalType(lastType(top[1])) : false,
      createdAt: Number(hash.created),
    };
  }

  watch(channel: string, listener: ChannelListener): () => void {
    let w = this.#watched.get(channel);
    if (!w) {
      const created: Watched = {
        channel,
        key: this.#key('s', channel),
        listeners: new Set(),
        cursor: undefined,
        lastId: -1,
        lastSeenAt: Date.now(),
        finished: false,
        checking: false,
      };
      this.#watched.set(channel, created);
      w = created;
      // The reader starts at the channel's end as of now. This goes out on the command connection
      // before the hub's catch-up read of the same channel, so that read reaches at least this far:
      // nothing falls between the two.
      this.stats.other++;
      this.#cmd.call('XREVRANGE', created.key, '+', '-', 'COUNT', 1).then(
        (top) => {
          const item = (top as StreamItem[])[0];
          created.cursor = item ? item[0] : '0-0';
          created.lastId = item ? streamMs(item[0]) - 1 : -1;
          created.finished = item ? isTerminalType(lastType(item[1])) : false;
          this.#changed();
        },
        () => {
          // Read from the start instead: the hub drops what it already has.
          created.cursor = '0-0';
          this.#changed();
        },
      );
      this.#present([channel]);
    }
    const group = w;
    group.listeners.add(listener);
    return () => {
      group.listeners.delete(listener);
      if (group.listeners.size > 0 || this.#watched.get(channel) !== group) return;
      this.#watched.delete(channel);
      this.#changed();
      if (!this.#closed) {
        this.stats.other++;
        this.#cmd.zrem(this.#key('f', channel), this.serverId).catch(() => {});
      }
    };
  }

  async expire(channel: string, ttlMs: number): Promise<void> {
    this.#owned.delete(channel);
    const ms = Math.max(0, Math.round(ttlMs));
    this.stats.other += 2;
    await this.#cmd.pipeline().pexpire(this.#key('s', channel), ms).pexpire(this.#key('m', channel), ms).exec();
  }

  async requestStop(channel: string): Promise<boolean | undefined> {
    this.stats.other += 3;
    const replies = await this.#cmd
      .pipeline()
      .exists(this.#key('m', channel))
      .exists(this.#key('l', channel))
      .call('XREVRANGE', this.#key('s', channel), '+', '-', 'COUNT', 1)
      .exec();
    const [meta, lease, tail] = unwrap(replies) as [number, number, StreamItem[]];
    if (meta === 0) return undefined;
    const top = tail[0];
    if ((top && isTerminalType(lastType(top[1]))) || lease === 0) return false;
    this.stats.other++;
    await this.#cmd.call('XADD', this.#controlKey, 'MAXLEN', '~', CONTROL_LEN, '*', 'c', channel, 'r', 'stopped');
    return true;
  }

  onCancel(handler: (channel: string, reason: 'stopped' | 'lost') => void): () => void {
    this.#cancelHandlers.add(handler);
    return () => this.#cancelHandlers.delete(handler);
  }

  async isFollowed(channel: string): Promise<boolean> {
    this.stats.other++;
    return (await this.#cmd.zcount(this.#key('f', channel), `(${Date.now()}`, '+inf')) > 0;
  }

  /** Stops the reader and the timers and closes the log's own connections (never a client you passed). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    const watched = [...this.#watched.keys()];
    this.#watched.clear();
    this.#reader.disconnect();
    this.#stop();
    await this.#loop;
    if (this.#cmd.status !== 'ready') {
      // Reconnecting or gone: commands would wait in the offline queue. The presence entries and
      // the wake key expire on their own.
      this.#cmd.disconnect();
      return;
    }
    try {
      const pipeline = this.#cmd.pipeline().del(this.#wakeKey);
      for (const channel of watched) pipeline.zrem(this.#key('f', channel), this.serverId);
      await withTimeout(pipeline.exec(), 1_000);
      await withTimeout(this.#cmd.quit(), 1_000);
    } catch {
      // Redis is unreachable: the presence entries and the wake key expire on their own.
    }
    this.#cmd.disconnect();
  }

  // ---- the shared reader ----

  async #readLoop(): Promise<void> {
    while (!this.#closed) {
      if (this.#controlCursor === undefined) {
        try {
          // Stop requests from now on (reading from the start would replay old ones).
          const top = (await Promise.race([this.#reader.call('XREVRANGE', this.#controlKey, '+', '-', 'COUNT', 1), this.#stopped])) as StreamItem[] | undefined;
          if (!top) return;
          this.stats.other++;
          this.#controlCursor = top[0]?.[0] ?? '0-0';
        } catch {
          if (this.#closed) return;
          await sleep(100);
          continue;
        }
      }
      const streams = [...this.#watched.values()].filter((w) => w.cursor !== undefined);
      const keys = [this.#wakeKey, this.#controlKey, ...streams.map((w) => w.key)];
      const ids = [this.#wakeCursor, this.#controlCursor, ...streams.map((w) => w.cursor!)];
      this.#reading = true;
      this.#round++;
      let reply: [key: string, items: StreamItem[]][] | null | undefined;
      try {
        this.stats.reads++;
        const read = this.#reader.call('XREAD', 'COUNT', READ_COUNT, 'BLOCK', BLOCK_MS, 'STREAMS', ...keys, ...ids) as Promise<[key: string, items: StreamItem[]][] | null>;
        reply = await Promise.race([read, this.#stopped]);
        if (this.#closed) {
          read.catch(() => {});
          return;
        }
      } catch {
        this.#reading = false;
        if (this.#closed) return;
        await sleep(100);
        continue;
      }
      this.#reading = false;
      if (!reply) continue;
      const byKey = new Map(streams.map((w) => [w.key, w]));
      for (const [key, items] of reply) {
        const last = items[items.length - 1];
        if (!last) continue;
        if (key === this.#wakeKey) {
          this.#wakeCursor = last[0];
        } else if (key === this.#controlKey) {
          this.#controlCursor = last[0];
          for (const [, fields] of items) this.#control(fields);
        } else {
          const w = byKey.get(key);
          if (w) this.#dispatch(w, items);
        }
      }
    }
  }

  #dispatch(w: Watched, items: StreamItem[]): void {
    const entries: ChannelLogEntry[] = [];
    for (const item of items) for (const entry of parseItem(item)) entries.push(entry);
    w.cursor = items[items.length - 1]![0];
    w.lastSeenAt = Date.now();
    const last = entries[entries.length - 1];
    if (!last) return;
    w.lastId = Math.max(w.lastId, last.id);
    if (isTerminalType(last.type)) w.finished = true;
    // Runs of consecutive ids, each delivered on its own: a hole (writes Redis lost) then starts a
    // delivery, where the hub sees it and tells the follower its events are gone.
    let start = 0;
    for (let i = 1; i <= entries.length; i++) {
      if (i < entries.length && entries[i]!.id === entries[i - 1]!.id + 1) continue;
      const run = start === 0 && i === entries.length ? entries : entries.slice(start, i);
      // A listener may unwatch (its follower ended) while we deliver.
      for (const listener of [...w.listeners]) listener(run);
      start = i;
    }
  }

  #control(fields: FieldList): void {
    const channel = fieldOf(fields, 'c');
    if (channel === undefined || !this.#owned.has(channel)) return;
    for (const handler of [...this.#cancelHandlers]) handler(channel, 'stopped');
  }

  /** The followed set changed: a blocked `XREAD` over the old set is woken to re-read it. */
  #changed(): void {
    if (this.#closed || !this.#reading || this.#wokenRound === this.#round) return;
    this.#wokenRound = this.#round;
    this.stats.other += 2;
    this.#cmd
      .pipeline()
      .call('XADD', this.#wakeKey, 'MAXLEN', '1', '*', 'w', '1')
      .pexpire(this.#wakeKey, 60_000)
      .exec()
      .catch(() => {});
  }

  // ---- leases, presence, lost owners ----

  async #heartbeat(): Promise<void> {
    if (this.#closed || this.#beating) return;
    this.#beating = true;
    try {
      await this.#beat();
    } finally {
      this.#beating = false;
    }
  }

  async #beat(): Promise<void> {
    const now = Date.now();
    const owned = [...this.#owned];
    const watched = [...this.#watched.values()];
    // The reader has been cut off from Redis for longer than a lease: this server's followers
    // cannot get events, so they are told instead of left waiting.
    if (this.#readerDownSince !== undefined && now - this.#readerDownSince > this.#leaseMs) {
      for (const w of watched) this.#fail(w, `Lost the connection to Redis for more than ${this.#leaseMs} ms; the answer cannot be followed from this server.`);
    }
    if (this.#cmd.status !== 'ready') {
      // Commands would only queue up until the connection is back. Past the lease, the others
      // consider this server's channels lost: stop paying for their upstreams.
      if (now - this.#lastRenewed > this.#leaseMs) {
        for (const channel of owned) if (this.#owned.delete(channel)) this.#cancel(channel, 'lost');
      }
      return;
    }
    if (owned.length === 0) this.#lastRenewed = now;
    if (owned.length > 0 || watched.length > 0) {
      // 1. Renew the leases of the channels running here (and keep their keys from expiring).
      const pipeline = this.#cmd.pipeline();
      for (const channel of owned) {
        pipeline.pexpire(this.#key('l', channel), this.#leaseMs);
        pipeline.pexpire(this.#key('s', channel), this.#idleTtlMs);
        pipeline.pexpire(this.#key('m', channel), this.#idleTtlMs);
      }
      // 2. Tell owners elsewhere that this server follows these channels.
      this.#presence(pipeline, watched.map((w) => w.channel), now);
      this.stats.other += owned.length * 3 + watched.length * 2;
      try {
        const results = unwrap(await pipeline.exec());
        this.#lastRenewed = Date.now();
        owned.forEach((channel, i) => {
          if (results[i * 3] === 0 && this.#owned.delete(channel)) this.#cancel(channel, 'lost');
        });
      } catch {
        // The connection dropped meanwhile: the next beat sees it.
        return;
      }
    }
    // 3. Followed channels that went quiet: is their owner still there?
    const quiet = watched.filter((w) => !w.finished && !w.checking && w.cursor !== undefined && now - w.lastSeenAt >= this.#interval);
    if (quiet.length > 0) await this.#checkOwners(quiet);
  }

  #present(channels: string[]): void {
    if (channels.length === 0 || this.#closed) return;
    const pipeline = this.#cmd.pipeline();
    this.#presence(pipeline, channels, Date.now());
    this.stats.other += channels.length * 2;
    pipeline.exec().catch(() => {});
  }

  #presence(pipeline: ReturnType<Redis['pipeline']>, channels: string[], now: number): void {
    const ttl = this.#interval * 3;
    for (const channel of channels) {
      const key = this.#key('f', channel);
      pipeline.zadd(key, now + ttl, this.serverId);
      pipeline.pexpire(key, ttl);
    }
  }

  async #checkOwners(quiet: Watched[]): Promise<void> {
    for (const w of quiet) w.checking = true;
    try {
      const pipeline = this.#cmd.pipeline();
      for (const w of quiet) pipeline.exists(this.#key('l', w.channel)).exists(this.#key('m', w.channel));
      this.stats.other += quiet.length * 2;
      const results = unwrap(await pipeline.exec()) as number[];
      for (let i = 0; i < quiet.length; i++) {
        const w = quiet[i]!;
        const [lease, meta] = [results[i * 2], results[i * 2 + 1]];
        if (meta === 0) {
          this.#fail(w, `Upstream lost: channel "${w.channel}" is no longer in Redis (Redis restarted without persistence, or the key was deleted or evicted).`);
        } else if (lease === 0) {
          await this.#lose(w);
        }
      }
    } catch {
      // Redis unreachable: the next heartbeat tries again (and the outage check above applies).
    } finally {
      for (const w of quiet) w.checking = false;
    }
  }

  /** Finishes a channel whose owner stopped renewing its lease with an `error` entry everyone sees. */
  async #lose(w: Watched): Promise<void> {
    const info = await this.info(w.channel);
    if (!info) return this.#fail(w, `Upstream lost: channel "${w.channel}" is no longer in Redis.`);
    if (info.finished) return;
    let text = '';
    for (let after = info.firstId - 1; ;) {
      const page = await this.read(w.channel, after, READ_COUNT);
      if (!page || page.length === 0) break;
      for (const entry of page) {
        if (entry.type === 'token') text += (JSON.parse(entry.data) as { text?: string }).text ?? '';
        else if (entry.type === 'reset') text = '';
      }
      after = page[page.length - 1]!.id;
    }
    const data = JSON.stringify({
      type: 'error',
      name: 'RemoteStreamError',
      message: `Upstream lost: the server running channel "${w.channel}" stopped renewing its lease (it crashed or lost Redis); the answer cannot continue.`,
      partialText: text,
      reason: 'lost',
    });
    this.stats.other++;
    const outcome = await this.#cmd.tfLose(this.#key('s', w.channel), this.#key('l', w.channel), this.#key('m', w.channel), String(info.nextId), data, String(this.#ttlMs));
    if (outcome === -1) this.#fail(w, `Upstream lost: channel "${w.channel}" is no longer in Redis.`);
    // 1: the error entry reaches every follower through the readers; 0: something moved, look again later.
  }

  /**
   * Ends this server's followers of a channel with a `lost` error that is not in Redis (there is
   * nowhere to write it). The text so far is unknown here, so it is left out: each follower reports
   * the text it received.
   */
  #fail(w: Watched, message: string): void {
    if (w.finished) return;
    w.finished = true;
    const entry: ChannelLogEntry = {
      id: w.lastId + 1,
      type: 'error',
      data: JSON.stringify({ type: 'error', name: 'RemoteStreamError', message, reason: 'lost' }),
    };
    for (const listener of [...w.listeners]) listener([entry]);
  }

  #cancel(channel: string, reason: 'stopped' | 'lost'): void {
    for (const handler of [...this.#cancelHandlers]) handler(channel, reason);
  }

  async #isStored(key: string, id: string, fields: string[]): Promise<boolean> {
    this.stats.other++;
    const items = (await this.#cmd.call('XRANGE', key, id, id)) as StreamItem[];
    const stored = items[0]?.[1];
    return stored !== undefined && stored.length === fields.length && stored.every((v, i) => v === fields[i]);
  }

  /**
   * Holds the command socket's writes until the event loop comes round again, so the appends of
   * every channel recorded in this pass leave in one write instead of one system call each.
   */
  #cork(): void {
    if (this.#corked || this.#cmd.status !== 'ready') return;
    const socket = (this.#cmd as unknown as { stream?: { cork?: () => void; uncork?: () => void } }).stream;
    if (typeof socket?.cork !== 'function' || typeof socket.uncork !== 'function') return;
    socket.cork();
    this.#corked = true;
    setImmediate(() => {
      this.#corked = false;
      socket.uncork!();
    });
  }

  #key(kind: 's' | 'm' | 'l' | 'f', channel: string): string {
    return `${this.#prefix}${kind}:${channel}`;
  }
}

function isIoredis(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.duplicate === 'function' && typeof v.call === 'function' && typeof v.pipeline === 'function';
}

/** The events of one stream entry: `i <first id>` then `t`, `d` (and `x`) per event. */
function parseItem([, fields]: StreamItem): ChannelLogEntry[] {
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

function fieldOf(fields: FieldList, name: string): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

function lastType(fields: FieldList): string | undefined {
  for (let i = fields.length - 2; i >= 0; i -= 2) if (fields[i] === 't') return fields[i + 1];
  return undefined;
}

function isTerminalType(type: string | undefined): boolean {
  return type === 'done' || type === 'error';
}

/** The millisecond part of a stream id: for an entry, the id after its last event. */
function streamMs(id: string): number {
  return Number(id.slice(0, id.indexOf('-')));
}

/** A pipeline's replies, throwing the first error. */
function unwrap(replies: [error: Error | null, result: unknown][] | null): unknown[] {
  if (!replies) throw new Error('RedisChannelLog: the pipeline was discarded.');
  return replies.map(([error, result]) => {
    if (error) throw error;
    return result;
  });
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => resolve(undefined), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
