/**
 * The shared reader of the Redis log (internal): one blocking `XREAD` per server over every channel
 * it follows, plus the control stream, on a connection of its own.
 */
import type { Redis } from 'ioredis';
import type { SerializedStreamError } from '../errors.js';
import type { ChannelListener, ChannelLogEntry } from '../sse/channel-log.js';
import { endsChannel, fieldOf, parseItem, streamMs, type FieldList, type Keys, type StreamItem } from './keys.js';
import type { RedisLogStats } from './log.js';

/** Entries per stream per blocking read. */
export const READ_COUNT = 1_000;
/** The blocking read returns at least this often, even with nothing to read. */
const BLOCK_MS = 5_000;

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
}

/** What the reader needs from the log. */
export interface ReaderOptions {
  /** The blocking connection (the reader's own). */
  readonly reader: Redis;
  /** The command connection: starting points and wakes (the reader's connection is blocked). */
  readonly cmd: Redis;
  readonly keys: Keys;
  readonly stats: RedisLogStats;
  /** A stop request for `channel` arrived on the control stream. */
  readonly onStop: (channel: string) => void;
}

/**
 * Follows channels for every follower on this server with one blocking `XREAD` on its own
 * connection, and reads the control stream in the same call. A change of the followed set wakes a
 * blocked read (an entry on this server's wake stream) so it is sent again over the new set.
 */
export class SharedReader {
  readonly #reader: Redis;
  readonly #cmd: Redis;
  readonly #keys: Keys;
  readonly #stats: RedisLogStats;
  readonly #onStop: (channel: string) => void;
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
  /** Resolves on close: a command pending on a connection ioredis was reconnecting never settles. */
  readonly #stopped: Promise<undefined>;
  #stop: () => void = () => {};
  readonly #loop: Promise<void>;

  constructor(options: ReaderOptions) {
    this.#reader = options.reader;
    this.#cmd = options.cmd;
    this.#keys = options.keys;
    this.#stats = options.stats;
    this.#onStop = options.onStop;
    this.#reader.on('close', () => (this.#downSince ??= Date.now()));
    this.#reader.on('ready', () => (this.#downSince = undefined));
    this.#stopped = new Promise<undefined>((resolve) => (this.#stop = () => resolve(undefined)));
    this.#loop = this.#readLoop();
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
    this.#stop();
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
          const top = (await Promise.race([this.#reader.call('XREVRANGE', this.#keys.control, '+', '-', 'COUNT', 1), this.#stopped])) as StreamItem[] | undefined;
          if (!top) return;
          this.#stats.other++;
          this.#controlCursor = top[0]?.[0] ?? '0-0';
        } catch {
          if (this.#closed) return;
          await sleep(100);
          continue;
        }
      }
      const streams = [...this.#watched.values()].filter((w) => w.cursor !== undefined && !w.failure);
      const keys = [this.#keys.wake, this.#keys.control, ...streams.map((w) => w.key)];
      const ids = [this.#wakeCursor, this.#controlCursor, ...streams.map((w) => w.cursor!)];
      this.#reading = true;
      this.#round++;
      let reply: [key: string, items: StreamItem[]][] | null | undefined;
      try {
        this.#stats.reads++;
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

  #dispatch(w: Watched, items: StreamItem[]): void {
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
    if (channel !== undefined) this.#onStop(channel);
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
