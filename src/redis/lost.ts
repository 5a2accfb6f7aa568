/**
 * Lost owners (internal): how the servers following a channel finish it when the server running
 * its upstream is gone, and how they end their own followers when they cannot follow any more.
 */
import type { Redis } from 'ioredis';
import type { SerializedStreamError } from '../errors.js';
import { errorMessage } from '../internal/describe.js';
import { PartialText } from '../internal/partial-text.js';
import type { ChannelInfo, ChannelLogEntry } from '../sse/channel-log.js';
import { replies, streamMs, type Keys, type Scripts, type StreamItem } from './keys.js';
import type { RedisLogStats } from './log.js';
import { READ_COUNT, type SharedReader, type Watched } from './reader.js';

/** Lost channels handled at once: enough to be quick, few enough to leave room on the connection. */
const CONCURRENCY = 4;

/**
 * Test seam (internal: not exported from `tokenflow/redis`). `beforeStep`, when set, is awaited at
 * the start of every round of checks and before each lost channel is finished, so a test can make
 * lost-owner handling as slow as it likes, or hold it until it has set a scene up.
 */
export const lostOwnerHooks: {
  beforeStep: ((step: { kind: 'round' } | { kind: 'lose'; channel: string }) => Promise<void> | void) | undefined;
} = { beforeStep: undefined };

/** What lost-owner handling needs from the log. */
export interface LostOwnerOptions {
  readonly cmd: Redis & Scripts;
  readonly keys: Keys;
  readonly reader: SharedReader;
  readonly leaseMs: number;
  /** How long a channel finished here stays readable. */
  readonly ttlMs: number;
  /** How often followed channels are checked, and how quiet one must be to get its owner checked. */
  readonly intervalMs: number;
  readonly stats: RedisLogStats;
  readonly info: (channel: string) => Promise<ChannelInfo | undefined>;
  readonly read: (channel: string, afterId: number, limit: number) => Promise<ChannelLogEntry[] | undefined>;
}

/**
 * Watches the owners of the channels this server follows, on a timer of its own (never the
 * renewal's: this may take long, renewal must not):
 * - a channel whose lease lapsed is finished in Redis with an `error` entry, reason `lost`, that
 *   every server's followers read (stored even when Redis is full, see `LOSE_LUA`);
 * - a channel gone from Redis, or a reader cut off from Redis for longer than a lease, ends this
 *   server's followers through their failure path, with no id.
 */
export class LostOwners {
  readonly #o: LostOwnerOptions;
  readonly #timer: ReturnType<typeof setInterval>;
  #running = false;
  #closed = false;

  constructor(options: LostOwnerOptions) {
    this.#o = options;
    this.#timer = setInterval(() => void this.#round(), options.intervalMs);
    this.#timer.unref?.();
  }

  /** Stops the timer (a round in progress finishes its commands, if the connection lets it). */
  close(): void {
    this.#closed = true;
    clearInterval(this.#timer);
  }

  async #round(): Promise<void> {
    if (this.#closed || this.#running) return;
    this.#running = true;
    try {
      await lostOwnerHooks.beforeStep?.({ kind: 'round' });
      await this.#check();
    } catch {
      // Redis unreachable: the next round tries again (and the outage check applies).
    } finally {
      this.#running = false;
    }
  }

  async #check(): Promise<void> {
    const { cmd, keys, reader, leaseMs, intervalMs, stats } = this.#o;
    const now = Date.now();
    // The reader has been cut off from Redis for longer than a lease: this server's followers
    // cannot get events, so they are told instead of left waiting.
    const down = reader.downSince;
    if (down !== undefined && now - down > leaseMs) {
      for (const w of reader.running()) reader.fail(w, lost(`Lost the connection to Redis for more than ${leaseMs} ms; the answer cannot be followed from this server.`));
    }
    if (cmd.status !== 'ready' || this.#closed) return;
    // Followed channels that went quiet: is their owner still there? And for one taken as live:
    // did its stream move on while no push came (one went missing)?
    const quiet = reader.quiet(now, intervalMs);
    if (quiet.length === 0) return;
    for (const w of quiet) w.checking = true;
    try {
      const pipeline = cmd.pipeline();
      for (const w of quiet) pipeline.exists(keys.lease(w.channel)).exists(keys.meta(w.channel)).call('XREVRANGE', keys.stream(w.channel), '+', '-', 'COUNT', 1);
      stats.other += quiet.length * 3;
      const results = replies(await pipeline.exec());
      const orphans: Watched[] = [];
      quiet.forEach((w, i) => {
        const top = (results[i * 3 + 2] as StreamItem[])[0];
        if (top && w.cursor !== undefined && streamMs(top[0]) > streamMs(w.cursor)) reader.resync(w);
        if (results[i * 3 + 1] === 0) {
          reader.fail(w, lost(`Upstream lost: channel "${w.channel}" is no longer in Redis (Redis restarted without persistence, or the key was deleted or evicted).`));
        } else if (results[i * 3] === 0) {
          orphans.push(w);
        }
      });
      // A few at a time: commands for hundreds of lost channels at once would queue ahead of
      // everything else this server sends (its appends, and its renewals' replies).
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < orphans.length && !this.#closed) await this.#settle(orphans[next++]!);
      };
      await Promise.all(Array.from({ length: Math.min(CONCURRENCY, orphans.length) }, worker));
    } finally {
      for (const w of quiet) w.checking = false;
    }
  }

  /** Finishes one channel whose owner is gone, or, when Redis refuses, tells this server's followers. */
  async #settle(w: Watched): Promise<void> {
    try {
      await lostOwnerHooks.beforeStep?.({ kind: 'lose', channel: w.channel });
      await this.#lose(w);
    } catch (error) {
      // Redis answered with an error (not a dropped connection, which the next round retries):
      // this server's followers must not wait for a notice that cannot be stored.
      if (isReplyError(error)) {
        this.#o.reader.fail(w, lost(`Upstream lost: the server running channel "${w.channel}" stopped renewing its lease, and Redis refused the lost notice (${errorMessage(error)}).`));
      }
    }
  }

  /** Finishes a channel whose owner stopped renewing its lease with an `error` entry everyone sees. */
  async #lose(w: Watched): Promise<void> {
    const { cmd, keys, reader, ttlMs, stats } = this.#o;
    const info = await this.#o.info(w.channel);
    if (!info) return reader.fail(w, lost(`Upstream lost: channel "${w.channel}" is no longer in Redis.`));
    if (info.finished) return;
    const text = new PartialText();
    for (let after = info.firstId - 1; ;) {
      const page = await this.#o.read(w.channel, after, READ_COUNT);
      if (!page || page.length === 0) break;
      // A tool loop's step reset cuts back only that step's text, so the steps need their numbers.
      for (const entry of page) if (TEXT_TYPES.has(entry.type)) text.add({ type: entry.type, ...storedFields(entry.data) });
      after = page[page.length - 1]!.id;
    }
    const data = JSON.stringify({
      ...lost(`Upstream lost: the server running channel "${w.channel}" stopped renewing its lease (it crashed, lost Redis, or could not write); the answer cannot continue.`),
      partialText: text.text,
    });
    stats.other++;
    const outcome = await cmd.tfLose(keys.stream(w.channel), keys.lease(w.channel), keys.meta(w.channel), String(info.nextId), data, String(ttlMs));
    if (outcome === -1) reader.fail(w, lost(`Upstream lost: channel "${w.channel}" is no longer in Redis.`));
    // Nobody pushes the notice: this server reads it from the stream (others find it on their next check).
    if (outcome === 1) reader.resync(w);
    // 1: the error entry reaches every follower through the readers; 0: something moved, look again later.
  }
}

/** A `lost` error as followers get it (without `partialText`: each follower reports what it received). */
function lost(message: string): SerializedStreamError {
  return { type: 'error', name: 'RemoteStreamError', message, reason: 'lost' };
}

/** The stored events that change the text so far. */
const TEXT_TYPES = new Set(['token', 'step-start', 'reset']);

/** A stored event's `text` and `step` (anything unreadable counts as none: PartialText checks their types). */
function storedFields(data: string): { text?: unknown; step?: unknown } {
  try {
    const { text, step } = JSON.parse(data) as { text?: unknown; step?: unknown };
    return { text, step };
  } catch {
    return {};
  }
}

/** An error Redis answered with (as opposed to a connection that failed). */
function isReplyError(error: unknown): boolean {
  return error instanceof Error && error.name === 'ReplyError';
}
