/**
 * The shared reader of the Redis log (internal). Each server gets the entries of the channels it
 * follows in two ways:
 * - **live**: their owners push each stored entry to this server's pub/sub channel (`live:<server>`)
 *   once it announced that it follows them; one message carries the entries of many channels;
 * - **from the streams**: one blocking `XREAD` over every channel not (or no longer) delivered live,
 *   plus the control stream, on a connection of its own.
 * A channel is read from its stream until a pushed entry continues it exactly; from then on it
 * leaves the `XREAD`, and goes back to it at the first sign that a push went missing (a gap in the
 * ids, the subscriber's connection dropped, or the channel's stream moved on while nothing came).
 * The stream is the record: a push only ever delivers sooner what the stream holds.
 */
import type { Redis } from 'ioredis';
import type { SerializedStreamError } from '../errors.js';
import type { ChannelListener, ChannelLogEntry } from '../sse/channel-log.js';
import { Interruption } from '../internal/interruption.js';
import { CONTROL_LEN, endsChannel, fieldOf, parseItem, parseLive, streamMs, type FieldList, type Keys, type StreamItem } from './keys.js';
import type { RedisLogStats } from './log.js';

/** Entries per stream per blocking read. */
export const READ_COUNT = 1_000;
/** The blocking read returns at least this often, even with nothing to read. */
const BLOCK_MS = 5_000;

/**
 * Bench seam (internal: not exported from `tokenflow/redis`). With `live` off, a reader announces
 * nothing, so no owner pushes to it and it reads every channel from its stream: the design before
 * live delivery, measured beside it by bench/redis.
 */
export const readerSettings: { live: boolean } = { live: true };

/** Ends a follower whose channel can no longer be followed here (no entry, no id). */
export type FailureListener = (error: SerializedStreamError) => void;

interface Watcher {
  readonly listener: ChannelListener;
  readonly onFailure: FailureListener | undefined;
}

/** A channel followed on this server: one cursor in the shared blocking read. */
export interface Watched {
  readonly channel: string;
  readonly key: string;
  readonly watchers: Set<Watcher>;
  /** The stream id read up to; `undefined` until the channel's end at watch time is known. */
  cursor: string | undefined;
  /** The highest event id this server has handed out (by the reader, or by a catch-up read). */
  lastId: number;
  /** When the reader last brought events (ms); an idle channel gets its owner checked. */
  lastSeenAt: number;
  /** The channel ended (a terminal entry was read) or was failed here. */
  finished: boolean;
  /** Why this server cannot follow the channel any more, once it was failed here. */
  failure: SerializedStreamError | undefined;
  /** A lost-owner check is running. */
  checking: boolean;
  /** Its owner's pushes continue it: it is left out of the blocking `XREAD`. */
  live: boolean;
}

/** What the reader needs from the log. */
export interface ReaderOptions {
  /** The blocking connection (the reader's own). */
  readonly reader: Redis;
  /** The subscriber connection: this server's `live:<server>` pub/sub channel. */
  readonly sub: Redis;
  /** This server's id: its live channel, and the name it announces itself by. */
  readonly serverId: string;
  /** The command connection: starting points and wakes (the reader's connection is blocked). */
  readonly cmd: Redis;
  readonly keys: Keys;
  readonly stats: RedisLogStats;
  /** A stop request for `channel` arrived on the control stream. */
  readonly onStop: (channel: string) => void;
  /** A server announced on the control stream that it follows (`true`) or stopped following `channel`. */
  readonly onAnnounce: (channel: string, serverId: string, follows: boolean) => void;
}

/**
 * Follows channels for every follower on this server with one blocking `XREAD` on its own
 * connection, and reads the control stream in the same call. A change of the followed set wakes a
 * blocked read (an entry on this server's wake stream) so it is sent again over the new set.
 */
export class SharedReader {
  readonly #reader: Redis;
  readonly #sub: Redis;
  readonly #serverId: string;
  readonly #cmd: Redis;
  readonly #keys: Keys;
  readonly #stats: RedisLogStats;
  readonly #onStop: (channel: string) => void;
  readonly #onAnnounce: (channel: string, serverId: string, follows: boolean) => void;
  /** Settles once this server's live channel is subscribed (`false`: it could not be; streams only). */
  #subscribed: Promise<boolean>;
  readonly #watched = new Map<string, Watched>();
  #controlCursor: string | undefined;
  #wakeCursor = '0-0';
  /** An `XREAD` is in flight (built from the followed set as it was when sent). */
  #reading = false;
  /** Counts the `XREAD`s; a wake is sent at most once per read. */
  #round = 0;
  #wokenRound = -1;
  #downSince: number | undefined;
  #closed = false;
  /** Resolves the reads on close: a command pending on a connection ioredis was reconnecting never settles. */
  readonly #stopped = new Interruption<undefined>();
  readonly #loop: Promise<void>;

  constructor(options: ReaderOptions) {
    this.#reader = options.reader;
    this.#sub = options.sub;
    this.#serverId = options.serverId;
    this.#cmd = options.cmd;
    this.#keys = options.keys;
    this.#stats = options.stats;
    this.#onStop = options.onStop;
    this.#onAnnounce = options.onAnnounce;
    this.#reader.on('close', () => (this.#downSince ??= Date.now()));
    this.#reader.on('ready', () => (this.#downSince = undefined));
    this.#sub.on('message', (_channel: string, message: string) => this.#onLive(message));
    // Pushes sent while the subscriber was cut off are gone: every channel goes back to its stream,
    // and once it is subscribed again, this server announces itself again, since owners drop a
    // server their pushes found absent. The subscription is renewed here, not by ioredis
    // (`autoResubscribe: false`, see log.ts): ioredis 6.0.0 sends its own renewal without a
    // rejection handler, so a close while it is in flight was an unhandled rejection.
    this.#sub.on('close', () => this.#leaveLive());
    let connected = false;
    this.#sub.on('ready', () => {
      if (!connected) {
        connected = true;
        return;
      }
      this.#leaveLive();
      if (this.#closed) return;
      const subscribed = (this.#subscribed = this.#subscribe());
      void subscribed.then((ok) => {
        if (!ok || this.#closed || this.#subscribed !== subscribed || !readerSettings.live) return;
        for (const w of this.#watched.values()) if (!w.finished && w.cursor !== undefined) this.#announce(w.channel, true);
      });
    });
    this.#subscribed = this.#subscribe();
    this.#loop = this.#readLoop();
  }

  /** Subscribes to this server's live channel; resolves whether that worked (never rejects). */
  #subscribe(): Promise<boolean> {
    this.#stats.other++;
    return this.#sub.subscribe(this.#keys.live(this.#serverId)).then(
      () => true,
      () => false,
    );
  }

  /** Since when (ms) the reader's connection has been down, or `undefined` while it is up. */
  get downSince(): number | undefined {
    return this.#downSince;
  }

  /**
   * Starts handing the channel's entries to `listener`. `created` tells whether this server did
   * not follow the channel before (its presence is then announced); the returned `unwatch` says
   * whether it was the channel's last watcher here.
   */
  watch(channel: string, listener: ChannelListener, onFailure: FailureListener | undefined): { created: boolean; unwatch: () => boolean } {
    let w = this.#watched.get(channel);
    const created = w === undefined;
    if (!w) {
      const fresh: Watched = {
        channel,
        key: this.#keys.stream(channel),
        watchers: new Set(),
        cursor: undefined,
        lastId: -1,
        lastSeenAt: Date.now(),
        finished: false,
        failure: undefined,
        checking: false,
        live: false,
      };
      this.#watched.set(channel, fresh);
      w = fresh;
      // The reader starts at the channel's end as of now. This goes out on the command connection
      // before the hub's catch-up read of the same channel, so that read reaches at least this far:
      // nothing falls between the two.
      this.#stats.other++;
      this.#cmd.call('XREVRANGE', fresh.key, '+', '-', 'COUNT', 1).then(
        (top) => {
          const item = (top as StreamItem[])[0];
          fresh.cursor = item ? item[0] : '0-0';
          fresh.lastId = Math.max(fresh.lastId, item ? streamMs(item[0]) - 1 : -1);
          if (item && endsChannel(item[1])) fresh.finished = true;
          this.#changed();
          // Its owner pushes its entries here from when it reads this (the stream covers the rest).
          if (!fresh.finished) this.#announceWhenSubscribed(fresh);
        },
        () => {
          // Read from the start instead: the hub drops what it already has.
          fresh.cursor = '0-0';
          this.#changed();
        },
      );
    }
    const group = w;
    const watcher: Watcher = { listener, onFailure };
    group.watchers.add(watcher);
    // Joined a channel this server already failed: told at once (but not inside `watch`).
    if (group.failure) queueMicrotask(() => group.watchers.has(watcher) && this.#tell(group, watcher));
    return {
      created,
      unwatch: () => {
        group.watchers.delete(watcher);
        if (group.watchers.size > 0 || this.#watched.get(channel) !== group) return false;
        this.#watched.delete(channel);
        this.#changed();
        if (!group.finished && group.cursor !== undefined) this.#announce(channel, false);
        return true;
      },
    };
  }

  /** Notes that a catch-up read handed out entries up to `id`, so a failure notice lands after them. */
  saw(channel: string, id: number): void {
    const w = this.#watched.get(channel);
    if (w && id > w.lastId) w.lastId = id;
  }

  /** The channels followed here (their names). */
  channels(): string[] {
    return [...this.#watched.keys()];
  }

  /**
   * The channel's stream holds entries past what was handed out here while it was taken as live:
   * a push went missing. It goes back to the blocking read, which brings them.
   */
  resync(w: Watched): void {
    if (!w.live) return;
    w.live = false;
    this.#changed();
  }

  /** Followed channels still running whose reader brought nothing for `quietMs`. */
  quiet(now: number, quietMs: number): Watched[] {
    const out: Watched[] = [];
    for (const w of this.#watched.values()) {
      if (!w.finished && !w.checking && w.cursor !== undefined && now - w.lastSeenAt >= quietMs) out.push(w);
    }
    return out;
  }

  /** Every followed channel still running here. */
  running(): Watched[] {
    return [...this.#watched.values()].filter((w) => !w.finished);
  }

  /**
   * Ends this server's followers of a channel with an error that is not in Redis (there is nowhere
   * to write it, or this server alone cannot go on). It takes no id: a follower that has read
   * further than the others would never see a notice placed in the channel's ids.
   */
  fail(w: Watched, error: SerializedStreamError): void {
    if (w.finished) return;
    w.finished = true;
    w.failure = error;
    for (const watcher of [...w.watchers]) this.#tell(w, watcher);
  }

  /** Stops the loop (the caller disconnects the reader's connection first). */
  async close(): Promise<void> {
    this.#closed = true;
    this.#watched.clear();
    this.#stopped.resolve(undefined);
    await this.#loop;
  }

  /**
   * A watcher that takes failures gets the error itself. One that does not (a `ChannelLog` consumer
   * that knows only entries) gets it as an entry after the highest id handed out here, the best
   * this server can do for it.
   */
  #tell(w: Watched, watcher: Watcher): void {
    const error = w.failure!;
    if (watcher.onFailure) watcher.onFailure(error);
    else watcher.listener([{ id: w.lastId + 1, type: 'error', data: JSON.stringify(error) }]);
  }

  async #readLoop(): Promise<void> {
    while (!this.#closed) {
      if (this.#controlCursor === undefined) {
        try {
          // Stop requests from now on (reading from the start would replay old ones).
          const top = (await this.#stopped.race(this.#reader.call('XREVRANGE', this.#keys.control, '+', '-', 'COUNT', 1))) as StreamItem[] | undefined;
          if (!top) return;
          this.#stats.other++;
          this.#controlCursor = top[0]?.[0] ?? '0-0';
        } catch {
          if (this.#closed) return;
          await sleep(100);
          continue;
        }
      }
      const streams = [...this.#watched.values()].filter((w) => w.cursor !== undefined && !w.failure && !w.live);
      const keys = [this.#keys.wake, this.#keys.control, ...streams.map((w) => w.key)];
      const ids = [this.#wakeCursor, this.#controlCursor, ...streams.map((w) => w.cursor!)];
      this.#reading = true;
      this.#round++;
      let reply: [key: string, items: StreamItem[]][] | null | undefined;
      try {
        this.#stats.reads++;
        const read = this.#reader.call('XREAD', 'COUNT', READ_COUNT, 'BLOCK', BLOCK_MS, 'STREAMS', ...keys, ...ids) as Promise<[key: string, items: StreamItem[]][] | null>;
        reply = await this.#stopped.race(read);
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
        if (key === this.#keys.wake) {
          this.#wakeCursor = last[0];
        } else if (key === this.#keys.control) {
          this.#controlCursor = last[0];
          for (const [, fields] of items) this.#control(fields);
        } else {
          const w = byKey.get(key);
          if (w) this.#dispatch(w, items);
        }
      }
    }
  }

  #dispatch(w: Watched, all: StreamItem[]): void {
    // A read sent before the channel went live may bring entries its pushes brought already.
    const after = w.cursor === undefined ? -1 : streamMs(w.cursor);
    let skip = 0;
    while (skip < all.length && streamMs(all[skip]![0]) <= after) skip++;
    const items = skip === 0 ? all : all.slice(skip);
    if (items.length === 0) return;
    const entries: ChannelLogEntry[] = [];
    for (const item of items) for (const entry of parseItem(item)) entries.push(entry);
    w.cursor = items[items.length - 1]![0];
    w.lastSeenAt = Date.now();
    const last = entries[entries.length - 1];
    if (!last || w.failure) return;
    w.lastId = Math.max(w.lastId, last.id);
    if (endsChannel(items[items.length - 1]![1])) w.finished = true;
    // Runs of consecutive ids, each delivered on its own: a hole (writes Redis lost) then starts a
    // delivery, where the hub sees it and tells the follower its events are gone.
    let start = 0;
    for (let i = 1; i <= entries.length; i++) {
      if (i < entries.length && entries[i]!.id === entries[i - 1]!.id + 1) continue;
      const run = start === 0 && i === entries.length ? entries : entries.slice(start, i);
      // A listener may unwatch (its follower ended) while we deliver.
      for (const watcher of [...w.watchers]) watcher.listener(run);
      start = i;
    }
  }

  #control(fields: FieldList): void {
    const channel = fieldOf(fields, 'c');
    if (channel !== undefined) {
      this.#onStop(channel);
      return;
    }
    const server = fieldOf(fields, 's');
    if (server === undefined) return;
    const follows = fieldOf(fields, 'f');
    if (follows !== undefined) this.#onAnnounce(follows, server, true);
    const leaves = fieldOf(fields, 'u');
    if (leaves !== undefined) this.#onAnnounce(leaves, server, false);
  }

  /**
   * A `live:<server>` message: each entry that continues its channel exactly is handed out, and the
   * channel leaves the blocking read (so it does when the push is of the very entry handed out
   * last); one that leaves a gap puts the channel back on the blocking read, which brings what is
   * missing; an older one is dropped.
   */
  #onLive(message: string): void {
    const items = parseLive(message);
    if (!items) return;
    let changed = false;
    for (const [channel, item] of items) {
      const w = this.#watched.get(channel);
      if (!w || w.cursor === undefined || w.failure) continue;
      const next = streamMs(w.cursor);
      const end = streamMs(item[0]);
      const fields = item[1];
      let continues = false;
      if (end === next) {
        // The push of the entry the stream brought last: the pushes have caught up with the stream
        // (a blocking read wakes sooner than a push, which waits for the owner to hear it stored).
        continues = true;
      } else if (end > next && fields[0] === 'i' && Number(fields[1]) === next) {
        this.#dispatch(w, [item]);
        continues = true;
      } else if (end < next) {
        continue;
      }
      if (continues) {
        if (!w.live && !w.finished) {
          w.live = true;
          changed = true;
        }
      } else if (w.live) {
        w.live = false;
        changed = true;
      }
    }
    if (changed) this.#changed();
  }

  /** Every channel goes back to the blocking read (the pushes can no longer be trusted to be complete). */
  #leaveLive(): void {
    let changed = false;
    for (const w of this.#watched.values()) {
      if (w.live) {
        w.live = false;
        changed = true;
      }
    }
    if (changed) this.#changed();
  }

  #announceWhenSubscribed(w: Watched): void {
    if (!readerSettings.live) return;
    void this.#subscribed.then((subscribed) => {
      if (subscribed && !this.#closed && this.#watched.get(w.channel) === w && !w.finished) this.#announce(w.channel, true);
    });
  }

  /** Tells the channel's owner (through the control stream) that this server follows it, or no longer does. */
  #announce(channel: string, follows: boolean): void {
    if (this.#closed) return;
    this.#stats.other++;
    this.#cmd.call('XADD', this.#keys.control, 'MAXLEN', '~', CONTROL_LEN, '*', follows ? 'f' : 'u', channel, 's', this.#serverId).catch(() => {});
  }

  /** The followed set changed: a blocked `XREAD` over the old set is woken to re-read it. */
  #changed(): void {
    if (this.#closed || !this.#reading || this.#wokenRound === this.#round) return;
    this.#wokenRound = this.#round;
    this.#stats.other += 2;
    this.#cmd
      .pipeline()
      .call('XADD', this.#keys.wake, 'MAXLEN', '1', '*', 'w', '1')
      .pexpire(this.#keys.wake, 60_000)
      .exec()
      .catch(() => {});
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
