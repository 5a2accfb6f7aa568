/**
 * Where a `StreamHub` keeps each channel's events. The hub talks to its log only through the
 * asynchronous `ChannelLog` interface, so the same hub runs on memory (one server) or on a shared
 * store such as Redis Streams (many servers) by swapping the log.
 */
import type { SerializedStreamError } from '../errors.js';
import { readOptions } from '../operators/internal.js';
import { requireNumber } from '../validate.js';

/**
 * One stored event of a channel. A log stores and returns these four fields; the hub may attach
 * caches (the SSE text, the parsed event) to the objects it appends, which a log must not persist.
 */
export interface ChannelLogEntry {
  /** The event's position in the channel (0, 1, 2, … with no gaps): the SSE `id`. */
  readonly id: number;
  /** The SSE event name: a `TokenEvent` type, or `error`. */
  readonly type: string;
  /** The event as one line of JSON. */
  readonly data: string;
  /** Extra SSE messages sent right after this one, without an id (the legacy `answer_streaming`). */
  readonly extra?: string;
}

/** What the log knows about a channel. */
export interface ChannelInfo {
  readonly channel: string;
  /** Whatever the publisher attached (a user id to authorize against, a conversation id, …). */
  readonly meta: Readonly<Record<string, unknown>>;
  /** The id the next appended entry gets (= how many entries the channel ever had). */
  readonly nextId: number;
  /** The oldest id still held; older ones were trimmed from the replay buffer. */
  readonly firstId: number;
  /** `true` once the terminal entry (`done` or `error`) was appended. */
  readonly finished: boolean;
  /** Wall-clock time (ms since the epoch) the channel was created. */
  readonly createdAt: number;
  /**
   * The publisher's trace context, when the hub has `telemetry` (what `hubTelemetry()` links each
   * follower's span to). A log that does not store it leaves it out: followers are then traced unlinked.
   */
  readonly trace?: Readonly<Record<string, string>>;
}

/** Receives entries as they are appended to a channel, in order. */
export type ChannelListener = (entries: readonly ChannelLogEntry[]) => void;

/**
 * A channel store for `StreamHub`. Every method may be asynchronous (a network round trip); the
 * hub serialises its appends per channel, so an implementation sees them in order.
 */
export interface ChannelLog {
  /**
   * Creates an empty channel. Resolves `false` when one of that name already exists. `trace` is the
   * publisher's trace context, to give back as `ChannelInfo.trace` (a log may ignore it).
   */
  create(channel: string, meta: Readonly<Record<string, unknown>>, trace?: Readonly<Record<string, string>>): Promise<boolean>;
  /**
   * Appends entries (ids continue the channel's sequence) and announces them to the channel's
   * listeners. An entry of type `done` or `error` finishes the channel.
   */
  append(channel: string, entries: readonly ChannelLogEntry[]): Promise<void>;
  /**
   * Up to `limit` entries with an id above `afterId`, oldest first; `undefined` for an unknown
   * channel. The first entry's id is above `afterId + 1` when the ones between were trimmed.
   */
  read(channel: string, afterId: number, limit: number): Promise<ChannelLogEntry[] | undefined>;
  /** The channel's state, or `undefined` when it does not exist (never created, or expired). */
  info(channel: string): Promise<ChannelInfo | undefined>;
  /**
   * Calls `listener` with the entries appended from now on (by this process or, for a shared
   * store, any other). Returns the function that stops listening.
   *
   * `onFailure` is for a log shared by servers: when this process can no longer follow the channel
   * and the store cannot carry the news as an entry (the channel is gone from it, or this process
   * lost its connection for too long), the log calls `onFailure` with the error instead of
   * inventing an entry (an id the channel never had). The hub then ends this process's followers
   * of the channel with that error, which takes no id. A log that never fails this way ignores it.
   */
  watch(channel: string, listener: ChannelListener, onFailure?: (error: SerializedStreamError) => void): () => void;
  /** Deletes the channel `ttlMs` from now. */
  expire(channel: string, ttlMs: number): Promise<void>;
  /** Releases timers and connections. */
  close(): Promise<void>;

  // ---- Optional: what a log shared by many servers adds. The in-memory log has none of these. ----

  /**
   * Asks the server that runs the channel's upstream to cancel it (a stop requested on a server that
   * does not own the channel). Resolves `true` when a running owner was asked, `false` when the
   * channel has finished or has no live owner, and `undefined` for an unknown channel.
   */
  requestStop?(channel: string): Promise<boolean | undefined>;
  /**
   * Registers the hub's handler for cancellations this process must carry out: `stopped` when
   * another server asked to stop a channel published here, `lost` when this process can no longer
   * write the channel (its ownership lease ran out, or the store lost the channel). Returns the
   * function that unregisters it.
   */
  onCancel?(handler: (channel: string, reason: 'stopped' | 'lost') => void): () => void;
  /**
   * Whether any server follows the channel right now, for the grace period of an upstream whose
   * own process has no followers left.
   */
  isFollowed?(channel: string): Promise<boolean>;
}

/** `true` for an entry type that ends a channel (`done` or `error`): the one definition hub and logs share. */
export function isTerminalType(type: string | undefined): boolean {
  return type === 'done' || type === 'error';
}

/** `true` for the entry that ends a channel (`done` or `error`). */
export function isTerminal(entry: ChannelLogEntry): boolean {
  return isTerminalType(entry.type);
}

/** Options of `InMemoryChannelLog`. */
export interface InMemoryChannelLogOptions {
  /**
   * How many entries each channel keeps for replay; older ones are trimmed, and a reconnect from
   * before them is told its resume point is gone.
   * @defaultValue 50_000
   */
  replayLimit?: number;
}

interface MemoryChannel {
  info: { -readonly [K in keyof ChannelInfo]: ChannelInfo[K] };
  entries: ChannelLogEntry[];
  /** Index in `entries` of the first live entry (trimming advances it; compacted in bulk). */
  head: number;
  listeners: Set<ChannelListener>;
  expiry: ReturnType<typeof setTimeout> | undefined;
}

/** The default `ChannelLog`: channels in this process's memory. */
export class InMemoryChannelLog implements ChannelLog {
  readonly #channels = new Map<string, MemoryChannel>();
  readonly #replayLimit: number;

  /** @throws InvalidArgumentError for an unknown option or a `replayLimit` below 1. */
  constructor(options: InMemoryChannelLogOptions = {}) {
    const o = readOptions(options, 'new InMemoryChannelLog', ['replayLimit']);
    this.#replayLimit = o.replayLimit === undefined ? 50_000 : requireNumber(o.replayLimit, 'options.replayLimit', { min: 1, integer: true });
  }

  create(channel: string, meta: Readonly<Record<string, unknown>>, trace?: Readonly<Record<string, string>>): Promise<boolean> {
    if (this.#channels.has(channel)) return Promise.resolve(false);
    this.#channels.set(channel, {
      info: { channel, meta, nextId: 0, firstId: 0, finished: false, createdAt: Date.now(), ...(trace ? { trace } : {}) },
      entries: [],
      head: 0,
      listeners: new Set(),
      expiry: undefined,
    });
    return Promise.resolve(true);
  }

  append(channel: string, entries: readonly ChannelLogEntry[]): Promise<void> {
    const c = this.#channels.get(channel);
    if (!c) return Promise.reject(new Error(`InMemoryChannelLog: no channel "${channel}" to append to.`));
    for (const entry of entries) {
      c.entries.push(entry);
      if (entry.type === 'done' || entry.type === 'error') c.info.finished = true;
    }
    c.info.nextId = entries.length > 0 ? entries[entries.length - 1]!.id + 1 : c.info.nextId;
    const live = c.entries.length - c.head;
    if (live > this.#replayLimit) {
      c.head += live - this.#replayLimit;
      // Compact once the dead prefix is as large as the live part: amortised O(1) per entry.
      if (c.head >= c.entries.length / 2) {
        c.entries = c.entries.slice(c.head);
        c.head = 0;
      }
      c.info.firstId = c.entries[c.head]!.id;
    }
    for (const listener of c.listeners) listener(entries);
    return Promise.resolve();
  }

  read(channel: string, afterId: number, limit: number): Promise<ChannelLogEntry[] | undefined> {
    const c = this.#channels.get(channel);
    if (!c) return Promise.resolve(undefined);
    // Ids are dense, so the position of `afterId + 1` is arithmetic.
    const first = c.entries[c.head];
    const start = first === undefined ? c.entries.length : Math.max(c.head, c.head + (afterId + 1 - first.id));
    return Promise.resolve(c.entries.slice(start, start + limit));
  }

  info(channel: string): Promise<ChannelInfo | undefined> {
    const c = this.#channels.get(channel);
    return Promise.resolve(c ? { ...c.info } : undefined);
  }

  watch(channel: string, listener: ChannelListener): () => void {
    const c = this.#channels.get(channel);
    if (!c) return () => {};
    c.listeners.add(listener);
    return () => c.listeners.delete(listener);
  }

  expire(channel: string, ttlMs: number): Promise<void> {
    const c = this.#channels.get(channel);
    if (c) {
      if (c.expiry) clearTimeout(c.expiry);
      c.expiry = setTimeout(() => {
        if (this.#channels.get(channel) === c) this.#channels.delete(channel);
      }, ttlMs);
      c.expiry.unref?.();
    }
    return Promise.resolve();
  }

  close(): Promise<void> {
    for (const c of this.#channels.values()) if (c.expiry) clearTimeout(c.expiry);
    this.#channels.clear();
    return Promise.resolve();
  }
}
