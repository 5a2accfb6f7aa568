/**
 * `RedisChannelLog`: the `StreamHub`'s channel log on Redis Streams, so any server can follow,
 * resume or stop any channel. This file is the facade; the parts are internal:
 * - keys.ts: the key names, the Lua scripts and the entry codec (the key layout is described there);
 * - reader.ts: the one blocking reader per server, shared by every follower;
 * - lease.ts: the leases of the channels running here, and presence on the ones followed here;
 * - lost.ts: finishing channels whose owner is gone.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { InvalidArgumentError, type SerializedStreamError } from '../errors.js';
import { describeValue, errorMessage } from '../internal/describe.js';
import { Interruption } from '../internal/interruption.js';
import { readOptions } from '../operators/internal.js';
import { isTerminalType, type ChannelInfo, type ChannelListener, type ChannelLog, type ChannelLogEntry } from '../sse/channel-log.js';
import { requireNumber } from '../validate.js';
import { ioredis } from './ioredis.js';
import { CONTROL_LEN, defineScripts, encodeEntries, endsChannel, fieldOf, Keys, liveItem, loadAppend, parseItem, PUSH_REFUSED_MS, replies, runAppend, streamMs, type Scripts, type StreamItem } from './keys.js';
import { Leases } from './lease.js';
import { LostOwners } from './lost.js';
import { SharedReader, type FailureListener } from './reader.js';

/** Options of `new RedisChannelLog()`. */
export interface RedisChannelLogOptions {
  /**
   * An ioredis client, or a `redis://` URL. The log opens its own three connections from it (one for
   * commands, one blocking reader shared by every follower on this server, one subscriber for the
   * entries pushed to this server) and never closes a client you pass.
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
  /**
   * `PUBLISH`es of stored entries to the servers following this server's channels: one per
   * following server per batch of appends answered together, whatever the number of channels in it.
   */
  publishes: number;
  /** Every other command: catch-up reads, info, leases, presence, announcements, stop requests, scripts. */
  other: number;
}

/** The servers that announced following a channel, and when the last announcement came. */
interface Announced {
  servers: Set<string>;
  at: number;
}

/** An append waiting for this tick's script (see `APPEND_LUA`), which stores it and pushes it. */
interface QueuedPush {
  channel: string;
  key: string;
  id: string;
  fields: string[];
  servers: string[];
  /** Releases the lease after the script (the terminal entry): sent once the script is answered. */
  release: (() => void) | undefined;
  resolve: (stored: 'ok' | null) => void;
  reject: (error: Error) => void;
}

const LOG_OPTIONS = ['redis', 'prefix', 'maxLen', 'leaseMs', 'ttlMs', 'idleTtlMs'];

/**
 * The `StreamHub`'s channel log on Redis Streams (see src/redis/keys.ts for the keys). Use it
 * through `RedisStreamHub`, or pass it to `new StreamHub({ log })`.
 *
 * - Writes: the events a hub records in one tick become one `XADD` (with `NOMKSTREAM`, and
 *   `MAXLEN ~ maxLen` trimming) on the command connection; the `XADD`s of every channel recorded in
 *   one tick leave in one write.
 * - Live delivery: a server that follows a channel announces it on the control stream; the channel's
 *   owner then pushes each entry, once Redis stored it, to that server's pub/sub channel, the
 *   entries of all its channels answered together in one `PUBLISH` per following server.
 * - Reads: one blocking `XREAD` per server over the control stream and every channel it follows
 *   that is not delivered live (yet, or any more: a push that went missing puts the channel back).
 * - Ownership: `create` takes a lease; the log renews it every `leaseMs / 3` while the channel runs,
 *   and releases it with the terminal event. Followers of a channel whose lease lapsed finish it
 *   with an `error` event (reason `lost`) that every server sees. A write that fails ends the
 *   channel here: nothing more of it is written, and its lease is released at once.
 *
 * Needs a single Redis primary (with replicas or Sentinel if you like); Redis Cluster is not
 * supported, because one `XREAD` reads many channels.
 */
export class RedisChannelLog implements ChannelLog {
  /** This log's server id: the lease owner value and the presence member. */
  readonly serverId: string = randomUUID();
  /** Commands sent so far, by kind. */
  readonly stats: RedisLogStats = { appends: 0, reads: 0, publishes: 0, other: 0 };
  readonly #cmd: Redis & Scripts;
  /** The command socket's writes are held until the current pass's promise jobs are done (see `#cork`). */
  #corked = false;
  readonly #readerConnection: Redis;
  readonly #subConnection: Redis;
  readonly #keys: Keys;
  /** Servers following each channel, from their announcements (for the channels run here). */
  readonly #announced = new Map<string, Announced>();
  /** Each server's latest announcement, numbered: a push that found it absent drops only older ones. */
  readonly #announceSeq = new Map<string, number>();
  #seq = 0;
  /**
   * Until when (ms) this server stores without pushing: Redis refused a `PUBLISH` (a user without
   * pub/sub rights), so the script's pushes would only cost. Its followers read the streams.
   */
  #pushRefusedUntil = 0;
  /** Appends of channels with followers elsewhere, waiting for this tick's store-and-push script. */
  #pushes: QueuedPush[] = [];
  readonly #pruneTimer: ReturnType<typeof setInterval>;
  readonly #maxLen: number;
  readonly #leases: Leases;
  readonly #reader: SharedReader;
  readonly #lost: LostOwners;
  readonly #cancelHandlers = new Set<(channel: string, reason: 'stopped' | 'lost') => void>();
  #closed = false;
  /**
   * Rejects, when the log closes, every operation still waiting for Redis (see `#guard`). ioredis
   * leaves a command pending forever when the connection drops under it and never comes back (a
   * deleted user, a changed password): `disconnect()` does not settle it.
   */
  readonly #closing = new Interruption();

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
    const prefix = (o.prefix as string | undefined) ?? `${base?.options.keyPrefix ?? ''}tokenflow:`;
    this.#maxLen = o.maxLen === undefined ? 10_000 : requireNumber(o.maxLen, 'options.maxLen', { min: 1, integer: true });
    const leaseMs = o.leaseMs === undefined ? 10_000 : requireNumber(o.leaseMs, 'options.leaseMs', { min: 100, integer: true });
    const ttlMs = o.ttlMs === undefined ? 300_000 : requireNumber(o.ttlMs, 'options.ttlMs', { min: 0 });
    const idleTtlMs = o.idleTtlMs === undefined ? 3_600_000 : requireNumber(o.idleTtlMs, 'options.idleTtlMs', { min: 1, integer: true });
    if (idleTtlMs < leaseMs) {
      throw new InvalidArgumentError('options.idleTtlMs', `new RedisChannelLog(): idleTtlMs (${idleTtlMs}) must be at least leaseMs (${leaseMs}).`);
    }
    const intervalMs = Math.max(30, Math.floor(leaseMs / 3));

    // Our own connections, in RESP2 (the reply shapes the parts read), without the client's key
    // prefix (ours already includes it), named so `CLIENT LIST` shows which are tokenflow's.
    // Commands go out in call order (a watch's starting point before the catch-up read that
    // follows it). Reader: retries forever; a long outage becomes a clear error for its followers
    // instead (lost.ts). Subscriber: renews its subscription after a reconnect itself (reader.ts),
    // since ioredis's own renewal can leave an unhandled rejection behind.
    const own = { keyPrefix: '', protocol: 2, lazyConnect: false } as const;
    const cmdOptions = { ...own, connectionName: `tokenflow-cmd-${this.serverId.slice(0, 8)}` };
    const readerOptions = { ...own, connectionName: `tokenflow-reader-${this.serverId.slice(0, 8)}`, maxRetriesPerRequest: null };
    const subOptions = { ...own, connectionName: `tokenflow-sub-${this.serverId.slice(0, 8)}`, maxRetriesPerRequest: null, autoResubscribe: false };
    // ioredis is loaded only here, for a URL: a missing package is then a clear error (./ioredis.ts).
    const cmd = typeof redis === 'string' ? new (ioredis())(redis, cmdOptions) : (redis as Redis).duplicate(cmdOptions);
    this.#readerConnection = typeof redis === 'string' ? new (ioredis())(redis, readerOptions) : (redis as Redis).duplicate(readerOptions);
    this.#subConnection = typeof redis === 'string' ? new (ioredis())(redis, subOptions) : (redis as Redis).duplicate(subOptions);
    // Errors surface through the commands that fail; without listeners ioredis would print them.
    cmd.on('error', () => {});
    // The append script, in Redis's cache on every (re)connection: its EVALSHA rarely finds it
    // missing (only the commands queued while connecting go first).
    cmd.on('ready', () => {
      this.stats.other++;
      loadAppend(cmd).catch(() => {});
    });
    this.#readerConnection.on('error', () => {});
    this.#subConnection.on('error', () => {});
    this.#cmd = defineScripts(cmd);

    this.#keys = new Keys(prefix, this.serverId);
    const parts = { cmd: this.#cmd, keys: this.#keys, stats: this.stats };
    this.#reader = new SharedReader({
      ...parts,
      reader: this.#readerConnection,
      sub: this.#subConnection,
      serverId: this.serverId,
      onStop: (channel) => {
        if (this.#leases.owns(channel)) this.#cancel(channel, 'stopped');
      },
      onAnnounce: (channel, server, follows) => this.#noteAnnouncement(channel, server, follows),
    });
    this.#leases = new Leases({
      ...parts,
      serverId: this.serverId,
      leaseMs,
      idleTtlMs,
      intervalMs,
      followed: () => this.#reader.channels(),
      onLapse: (channel) => this.#cancel(channel, 'lost'),
    });
    this.#lost = new LostOwners({
      ...parts,
      reader: this.#reader,
      leaseMs,
      ttlMs,
      intervalMs,
      info: (channel) => this.info(channel),
      read: (channel, afterId, limit) => this.read(channel, afterId, limit),
    });
    // Announcements are kept for every channel (one may come before this server's create() has
    // returned); those of channels that are not run here are dropped once they are a lease old.
    this.#pruneTimer = setInterval(() => {
      const before = Date.now() - leaseMs;
      for (const [channel, a] of this.#announced) if (a.at < before && !this.#leases.owns(channel)) this.#announced.delete(channel);
    }, leaseMs);
    this.#pruneTimer.unref?.();
  }

  // ---- ChannelLog ----

  create(channel: string, meta: Readonly<Record<string, unknown>>, trace?: Readonly<Record<string, string>>): Promise<boolean> {
    return this.#guard(this.#create(channel, meta, trace));
  }

  async #create(channel: string, meta: Readonly<Record<string, unknown>>, trace?: Readonly<Record<string, string>>): Promise<boolean> {
    this.stats.other++;
    const created = await this.#cmd.tfCreate(
      this.#keys.meta(channel),
      this.#keys.stream(channel),
      this.#keys.lease(channel),
      JSON.stringify(meta),
      String(Date.now()),
      this.serverId,
      String(this.#leases.leaseMs),
      String(this.#leases.idleTtlMs),
      trace ? JSON.stringify(trace) : '',
    );
    if (created !== 1) return false;
    this.#leases.take(channel);
    return true;
  }

  /**
   * Stores a batch as one stream entry. A batch that ends the channel releases its lease in the
   * same round trip; a release that fails is no failure of the append (the lease runs out by
   * itself, and the channel is finished everywhere). A failed write fences the channel here.
   *
   * @throws Error (rejected) when Redis refuses the write (full, fenced by a peer, the channel gone)
   *   or the connection fails; every later append of the channel then rejects at once.
   */
  append(channel: string, entries: readonly ChannelLogEntry[]): Promise<void> {
    return this.#guard(this.#append(channel, entries));
  }

  async #append(channel: string, entries: readonly ChannelLogEntry[]): Promise<void> {
    const last = entries[entries.length - 1];
    if (!last) return;
    if (this.#leases.isFenced(channel)) {
      throw new Error(`RedisChannelLog: channel "${channel}" is no longer written from this server: an earlier write of it failed.`);
    }
    const key = this.#keys.stream(channel);
    const { id, fields } = encodeEntries(entries);
    const terminal = isTerminalType(last.type);
    this.stats.appends++;
    this.#cork();
    const following = this.#announced.get(channel);
    let adding: Promise<unknown>;
    let releasing: Promise<void> | undefined;
    if (following !== undefined && following.servers.size > 0 && this.#pushRefusedUntil <= Date.now()) {
      // Followed elsewhere: stored and pushed in one step on Redis (see APPEND_LUA), with every
      // other such append of this tick.
      ({ adding, releasing } = this.#queuePush(channel, key, id, fields, [...following.servers], terminal));
    } else {
      adding = this.#cmd.call('XADD', key, 'NOMKSTREAM', 'MAXLEN', '~', this.#maxLen, id, ...fields);
      // The lease goes with the terminal entry, in the same write.
      releasing = terminal ? this.#leases.release(channel) : undefined;
    }
    let stored: unknown;
    try {
      stored = await adding;
    } catch (error) {
      // "equal or smaller than the target stream top item": either this very batch was stored and
      // its reply lost with a dropped connection (ioredis sent it again), or the channel was fenced
      // because its followers declared this server lost.
      if (!/equal or smaller/i.test(errorMessage(error)) || !(await this.#isStored(key, id, fields))) {
        await this.#leases.fence(channel);
        throw new Error(`RedisChannelLog: cannot write channel "${channel}": ${errorMessage(error)}`, { cause: error });
      }
    }
    if (stored === null) {
      await this.#leases.fence(channel);
      throw new Error(`RedisChannelLog: channel "${channel}" is no longer in Redis (expired, deleted, or Redis restarted without persistence).`);
    }
    if (terminal) this.#announced.delete(channel);
    await releasing;
  }

  /** @throws InvalidArgumentError (rejected) for an `afterId` that is no event id, or a bad `limit`. */
  read(channel: string, afterId: number, limit: number): Promise<ChannelLogEntry[] | undefined> {
    return this.#guard(this.#read(channel, afterId, limit));
  }

  async #read(channel: string, afterId: number, limit: number): Promise<ChannelLogEntry[] | undefined> {
    if (!Number.isSafeInteger(afterId) || afterId < -1) {
      throw new InvalidArgumentError('afterId', `RedisChannelLog.read(): afterId must be an event id (a safe integer, -1 or more), got ${describeValue(afterId)}.`);
    }
    requireNumber(limit, 'limit', { min: 1, integer: true });
    this.stats.other += 2;
    const [exists, items] = replies(
      await this.#cmd
        .pipeline()
        .exists(this.#keys.meta(channel))
        .call('XRANGE', this.#keys.stream(channel), `${afterId + 2}-0`, '+', 'COUNT', limit)
        .exec(),
    ) as [number, StreamItem[]];
    if (items.length === 0 && exists === 0) return undefined;
    const out: ChannelLogEntry[] = [];
    read: for (const item of items) {
      for (const entry of parseItem(item)) {
        // Ids are dense unless Redis lost writes (a restart with a persistence window); the hub
        // checks every page and reports a hole as events gone.
        if (entry.id <= afterId) continue;
        out.push(entry);
        if (out.length === limit) break read;
      }
    }
    const last = out[out.length - 1];
    if (last) this.#reader.saw(channel, last.id);
    return out;
  }

  info(channel: string): Promise<ChannelInfo | undefined> {
    return this.#guard(this.#info(channel));
  }

  async #info(channel: string): Promise<ChannelInfo | undefined> {
    this.stats.other += 3;
    const key = this.#keys.stream(channel);
    const [hash, head, tail] = replies(
      await this.#cmd.pipeline().hgetall(this.#keys.meta(channel)).call('XRANGE', key, '-', '+', 'COUNT', 1).call('XREVRANGE', key, '+', '-', 'COUNT', 1).exec(),
    ) as [Record<string, string>, StreamItem[], StreamItem[]];
    if (hash.meta === undefined) return undefined;
    const top = tail[0];
    const nextId = top ? streamMs(top[0]) : 0;
    const oldest = head[0];
    return {
      channel,
      meta: JSON.parse(hash.meta) as Record<string, unknown>,
      nextId,
      firstId: oldest ? Number(fieldOf(oldest[1], 'i')) : nextId,
      finished: top ? endsChannel(top[1]) : false,
      createdAt: Number(hash.created),
      ...(hash.trace === undefined ? {} : { trace: readTrace(hash.trace) }),
    };
  }

  /**
   * Hands the channel's new entries to `listener`. When this server can no longer follow the
   * channel and Redis cannot carry the notice (the channel is gone from Redis, or the reader has
   * been cut off for longer than a lease), `onFailure` gets a `lost` error that takes no id. A
   * watcher without `onFailure` gets it as an `error` entry after the highest id this log handed
   * out for the channel instead.
   */
  watch(channel: string, listener: ChannelListener, onFailure?: (error: SerializedStreamError) => void): () => void {
    const { created, unwatch } = this.#reader.watch(channel, listener, onFailure as FailureListener | undefined);
    if (created) this.#leases.join([channel]);
    return () => {
      if (unwatch()) this.#leases.leave(channel);
    };
  }

  expire(channel: string, ttlMs: number): Promise<void> {
    return this.#guard(this.#expire(channel, ttlMs));
  }

  async #expire(channel: string, ttlMs: number): Promise<void> {
    this.#leases.drop(channel);
    const ms = Math.max(0, Math.round(ttlMs));
    this.stats.other += 2;
    replies(await this.#cmd.pipeline().pexpire(this.#keys.stream(channel), ms).pexpire(this.#keys.meta(channel), ms).exec());
  }

  requestStop(channel: string): Promise<boolean | undefined> {
    return this.#guard(this.#requestStop(channel));
  }

  async #requestStop(channel: string): Promise<boolean | undefined> {
    this.stats.other += 3;
    const [meta, lease, tail] = replies(
      await this.#cmd
        .pipeline()
        .exists(this.#keys.meta(channel))
        .exists(this.#keys.lease(channel))
        .call('XREVRANGE', this.#keys.stream(channel), '+', '-', 'COUNT', 1)
        .exec(),
    ) as [number, number, StreamItem[]];
    if (meta === 0) return undefined;
    const top = tail[0];
    if ((top && endsChannel(top[1])) || lease === 0) return false;
    this.stats.other++;
    await this.#cmd.call('XADD', this.#keys.control, 'MAXLEN', '~', CONTROL_LEN, '*', 'c', channel, 'r', 'stopped');
    return true;
  }

  onCancel(handler: (channel: string, reason: 'stopped' | 'lost') => void): () => void {
    this.#cancelHandlers.add(handler);
    return () => this.#cancelHandlers.delete(handler);
  }

  isFollowed(channel: string): Promise<boolean> {
    return this.#guard(this.#isFollowed(channel));
  }

  async #isFollowed(channel: string): Promise<boolean> {
    this.stats.other++;
    return (await this.#cmd.zcount(this.#keys.followers(channel), `(${Date.now()}`, '+inf')) > 0;
  }

  /**
   * An operation's result, or its failure once the log is closed, whichever comes first: nothing a
   * caller awaits (the hub's close waits for its last appends) hangs on a connection that is gone.
   */
  #guard<T>(operation: Promise<T>): Promise<T> {
    return this.#closing.race(operation);
  }

  /** Stops the reader and the timers and closes the log's own connections (never a client you passed). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#closing.reject(new Error('RedisChannelLog: the log was closed before Redis answered; the operation may or may not have taken effect.'));
    this.#leases.close();
    this.#lost.close();
    clearInterval(this.#pruneTimer);
    const watched = this.#reader.channels();
    this.#readerConnection.disconnect();
    this.#subConnection.disconnect();
    await this.#reader.close();
    if (this.#cmd.status !== 'ready') {
      // Reconnecting or gone: commands would wait in the offline queue. The presence entries and
      // the wake key expire on their own.
      this.#cmd.disconnect();
      return;
    }
    try {
      const pipeline = this.#cmd.pipeline().del(this.#keys.wake);
      for (const channel of watched) pipeline.zrem(this.#keys.followers(channel), this.serverId);
      await withTimeout(pipeline.exec(), 1_000);
      await withTimeout(this.#cmd.quit(), 1_000);
    } catch {
      // Redis is unreachable: the presence entries and the wake key expire on their own.
    }
    this.#cmd.disconnect();
  }

  #noteAnnouncement(channel: string, server: string, follows: boolean): void {
    if (follows) {
      this.#announceSeq.set(server, ++this.#seq);
      const a = this.#announced.get(channel);
      if (a) {
        a.servers.add(server);
        a.at = Date.now();
      } else {
        this.#announced.set(channel, { servers: new Set([server]), at: Date.now() });
      }
    } else {
      const a = this.#announced.get(channel);
      if (!a) return;
      a.servers.delete(server);
      if (a.servers.size === 0) this.#announced.delete(channel);
    }
  }

  /** Queues an append for this tick's store-and-push script; settles with the script's reply for it. */
  #queuePush(
    channel: string,
    key: string,
    id: string,
    fields: string[],
    servers: string[],
    terminal: boolean,
  ): { adding: Promise<unknown>; releasing: Promise<void> | undefined } {
    let release: (() => void) | undefined;
    const releasing = terminal ? new Promise<void>((resolve) => (release = () => resolve(this.#leases.release(channel)))) : undefined;
    const adding = new Promise<'ok' | null>((resolve, reject) => this.#pushes.push({ channel, key, id, fields, servers, release, resolve, reject }));
    return { adding, releasing };
  }

  /**
   * Sends this tick's store-and-push script: the appends' `XADD`s, then one `PUBLISH` per server of
   * what was stored of the channels it follows. The leases of the channels it ends are released once
   * it is answered, so never before their terminal entry is stored (Redis may answer `NOSCRIPT` and
   * the script go again: see `runAppend`).
   */
  #flushPushes(): void {
    const batch = this.#pushes;
    if (batch.length === 0) return;
    this.#pushes = [];
    const servers = new Map<string, number>();
    for (const a of batch) for (const server of a.servers) if (!servers.has(server)) servers.set(server, servers.size + 1);
    const args: Array<string | number> = batch.map((a) => a.key);
    args.push(this.#maxLen, servers.size);
    for (const server of servers.keys()) args.push(this.#keys.live(server));
    for (const a of batch) {
      args.push(a.id, a.fields.length, ...a.fields, liveItem(a.channel, a.id, a.fields), a.servers.length);
      for (const server of a.servers) args.push(servers.get(server)!);
    }
    this.stats.other++;
    this.stats.publishes += servers.size;
    const seq = this.#seq;
    const sent = runAppend(this.#cmd, batch.length, args);
    sent.then(
      (out) => {
        for (const a of batch) a.release?.();
        batch.forEach((a, i) => {
          const reply = String(out[i]);
          if (reply === 'ok') a.resolve('ok');
          else if (reply === 'gone') a.resolve(null);
          else a.reject(new Error(reply.replace(/^err:/, '')));
        });
        [...servers.keys()].forEach((server, j) => {
          const reached = out[batch.length + j];
          if (reached === 0) this.#forget(server, seq);
          // Refused (not a pub/sub user): try again only after a while.
          else if (reached === -2) this.#pushRefusedUntil = Date.now() + PUSH_REFUSED_MS;
        });
      },
      (error: unknown) => {
        for (const a of batch) a.release?.();
        const failure = error instanceof Error ? error : new Error(String(error));
        for (const a of batch) a.reject(failure);
      },
    );
  }

  /**
   * A push found nobody on the server's live channel (it stopped, or its subscriber is reconnecting
   * and will announce itself again): it is dropped from every channel, unless it announced itself
   * after that push left.
   */
  #forget(server: string, seq: number): void {
    if ((this.#announceSeq.get(server) ?? 0) > seq) return;
    this.#announceSeq.delete(server);
    for (const [channel, a] of this.#announced) {
      if (a.servers.delete(server) && a.servers.size === 0) this.#announced.delete(channel);
    }
  }

  #cancel(channel: string, reason: 'stopped' | 'lost'): void {
    for (const handler of [...this.#cancelHandlers]) handler(channel, reason);
  }

  /**
   * Holds the command socket's writes until the code running now and its promise jobs are done, so
   * the appends of every channel recorded in this pass leave in one write instead of one system call
   * each (the hub flushes every channel of a pass in one callback), and leave before the event loop
   * turns again: waiting for the next turn put timers and I/O callbacks ahead of every push
   * (bench/redis measured the hop at 100 channels: docs/benchmarks.md).
   *
   * This reaches into ioredis's socket (`stream`, not public API; without it, nothing is held).
   * ioredis's own `enableAutoPipelining` was measured instead (bench/redis, see the Redis docs):
   * it keeps one pipeline in flight per connection, so every append waited for the replies of the
   * batch before it, and with the hub's one append in flight per channel, latency at 100 channels
   * grew from about 3 ms to hundreds of milliseconds on a busy machine.
   */
  #cork(): void {
    if (this.#corked) return;
    this.#corked = true;
    const socket = this.#cmd.status === 'ready' ? (this.#cmd as unknown as { stream?: { cork?: () => void; uncork?: () => void } }).stream : undefined;
    const held = typeof socket?.cork === 'function' && typeof socket.uncork === 'function';
    if (held) socket.cork!();
    process.nextTick(() => {
      this.#corked = false;
      // The pass's store-and-push script goes out in the same write as its plain appends.
      this.#flushPushes();
      if (held) socket.uncork!();
    });
  }

  async #isStored(key: string, id: string, fields: string[]): Promise<boolean> {
    this.stats.other++;
    const items = (await this.#cmd.call('XRANGE', key, id, id)) as StreamItem[];
    const stored = items[0]?.[1];
    return stored !== undefined && stored.length === fields.length && stored.every((v, i) => v === fields[i]);
  }
}

function isIoredis(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.duplicate === 'function' && typeof v.call === 'function' && typeof v.pipeline === 'function';
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

/** The stored trace context: string fields only (anything else in the hash is not a carrier). */
function readTrace(json: string): Record<string, string> {
  const carrier: Record<string, string> = {};
  try {
    const parsed: unknown = JSON.parse(json);
    if (typeof parsed === 'object' && parsed !== null) {
      for (const [key, value] of Object.entries(parsed)) if (typeof value === 'string') carrier[key] = value;
    }
  } catch {
    // Not JSON: no trace context, and the channel itself is unaffected.
  }
  return carrier;
}
