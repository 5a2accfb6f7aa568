/**
 * One follower of a `StreamHub` channel (internal): the only owner of its resume point (`lastId`),
 * of the live entries that wait while it catches up from the log, and of the gap checks. A follower
 * replays the log after its resume point, paced by its consumer (a page waits until the consumer
 * has taken most of the one before), then switches to the live entries without losing or repeating
 * one. Only a consumer that falls behind the live entries is dropped as slow.
 */
import type { SerializedStreamError } from '../errors.js';
import { isTerminal, type ChannelInfo, type ChannelLog, type ChannelLogEntry } from './channel-log.js';
import { Batch, frameOf, type Sink } from './sinks.js';

/** Channel ids: URL-safe, at most 200 characters (a `crypto.randomUUID()` fits). */
export const CHANNEL_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$/;

/** Entries per replay read. */
const PAGE = 1_000;

/** Reports a follower dropped as too slow: the bytes waiting for it, and its resume point. */
export type DropReporter = (bufferedBytes: number, lastEventId: number) => void;

/** A resume point a follower may hold: -1 (from the start) or an event id, as a safe integer. */
export function isResumePoint(id: number): boolean {
  return Number.isSafeInteger(id) && id >= -1;
}

/**
 * The last event id the channel has stored. Every id a follower can hold was stored before anyone
 * was sent it (a shared log included: entries reach watchers only after their append), so this
 * bounds every real resume point, running or finished; one beyond it names events the channel never
 * had, and following from it would wait forever.
 */
export function lastStoredId(info: ChannelInfo): number {
  return info.nextId - 1;
}

/** One follower of one channel in this process. */
export class Follower {
  /** The last id written to the consumer: where it resumes. */
  #lastId: number;
  /** `false` while catching up from the log: live entries then wait in the backlog. */
  #live = false;
  #backlog: ChannelLogEntry[] = [];
  /** The backlog's size in SSE characters (only counted for a bounded sink). */
  #backlogBytes = 0;

  constructor(
    readonly channel: string,
    readonly sink: Sink,
    afterId: number,
    private readonly onDrop: DropReporter,
  ) {
    this.#lastId = afterId;
  }

  /** The last id written to the consumer. */
  get lastId(): number {
    return this.#lastId;
  }

  get closed(): boolean {
    return this.sink.closed;
  }

  /**
   * Replays the log after the resume point, then switches to live entries. Resolves when the
   * follower is live or has ended; rejects when the log fails (the caller ends the consumer).
   */
  async catchUp(log: ChannelLog): Promise<void> {
    for (;;) {
      const page = await log.read(this.channel, this.#lastId, PAGE);
      if (this.closed) return;
      if (page === undefined) {
        this.sink.fail({ type: 'error', name: 'ChannelNotFoundError', message: `Channel "${this.channel}" expired.`, reason: 'gone' });
        return;
      }
      const first = page[0];
      if (first !== undefined) {
        if (first.id > this.#lastId + 1) return this.#gone();
        // A shared store that lost writes leaves a hole in the ids: deliver up to it, then say so.
        const hole = page.findIndex((e, i) => i > 0 && e.id !== page[i - 1]!.id + 1);
        if (!(await this.#replay(hole === -1 ? page : page.slice(0, hole)))) return;
        if (hole !== -1) return this.#gone();
        if (page.length === PAGE) continue;
      } else if (this.#backlog.length === 0) {
        // Nothing after the resume point: if the channel already ended there, so does this follower.
        const info = await log.info(this.channel);
        if (this.closed) return;
        if (info?.finished && this.#lastId >= lastStoredId(info)) {
          this.sink.close();
          return;
        }
      }
      // Caught up with the log: the live entries that arrived meanwhile follow (a catch-up of its
      // own, paced like the replay), unless there is a gap, which the log fills on the next read.
      if (await this.#drainBacklog()) return;
    }
  }

  /**
   * Hands over from the catch-up to live delivery. Returns `true` when done (live, or ended),
   * `false` when the backlog starts after a gap and the log must be read again.
   */
  async #drainBacklog(): Promise<boolean> {
    for (;;) {
      const unseen = this.#backlog.filter((e) => e.id > this.#lastId);
      if (unseen[0] !== undefined && unseen[0].id > this.#lastId + 1) return false;
      this.#backlog = [];
      this.#backlogBytes = 0;
      if (unseen.length === 0) {
        this.#live = true;
        return true;
      }
      if (!(await this.#replay(unseen))) return true;
    }
  }

  /**
   * Writes entries the hub is catching the consumer up with, in pieces of at most about half the
   * sink's bound, each once the consumer has room: the hub never floods a consumer with its own
   * replay (it would count as too slow before it read a byte). Returns `false` once the follower ended.
   */
  async #replay(entries: readonly ChannelLogEntry[]): Promise<boolean> {
    const piece = this.sink.bound / 2;
    let start = 0;
    while (start < entries.length) {
      let end = entries.length;
      if (piece !== Infinity) {
        // At least one entry a piece, however large.
        let size = frameOf(entries[start]!).length;
        end = start + 1;
        while (end < entries.length && size + frameOf(entries[end]!).length <= piece) size += frameOf(entries[end++]!).length;
      }
      this.#send(new Batch(start === 0 && end === entries.length ? entries : entries.slice(start, end)), false);
      start = end;
      const room = this.sink.room();
      if (room) await room;
      if (this.closed) return false;
    }
    return !this.closed;
  }

  /**
   * Entries appended to the channel, from its watch (ids ascending; `batch` is shared by all followers).
   * A follower that this batch ends goes into `ending` when given, for the caller to end after every
   * follower got the batch (see {@link FollowerGroup.deliver}); otherwise it ends at once.
   */
  receive(entries: readonly ChannelLogEntry[], batch: Batch, ending?: Follower[]): void {
    if (this.closed) return;
    if (!this.#live) {
      for (const e of entries) this.#backlog.push(e);
      if (this.sink.bound !== Infinity) {
        for (const e of entries) this.#backlogBytes += frameOf(e).length;
        // Live entries this consumer could not take yet: past the bound it does not keep up with
        // the channel, however fast it reads the replay.
        if (this.#backlogBytes > this.sink.bound) this.#drop(this.sink.buffered + this.#backlogBytes);
      }
      return;
    }
    if (entries[0]!.id === this.#lastId + 1) {
      this.#send(batch, true, ending);
      return;
    }
    const unseen = entries.filter((e) => e.id > this.#lastId);
    if (unseen.length === 0) return;
    if (unseen[0]!.id > this.#lastId + 1) this.#gone();
    else this.#send(new Batch(unseen), true, ending);
  }

  /** Ends the consumer cleanly after its terminal entry was written (see {@link receive}). */
  end(): void {
    this.sink.close();
  }

  /** Ends this follower with an error that has no id (a failed store, the hub closing, …). */
  fail(error: SerializedStreamError): void {
    this.sink.fail(error);
  }

  /**
   * The hub closes. A consumer that resumes by itself (an SSE client) is ended without `done`, so
   * it reconnects with `Last-Event-ID`, to another server when the log is shared; an in-process
   * subscriber cannot reconnect, so it errors (reason `lost`) rather than complete without `done`.
   */
  hubClosed(): void {
    if (this.closed) return;
    if (this.sink.resumes) {
      this.sink.close();
      return;
    }
    this.sink.fail({
      type: 'error',
      name: 'RemoteStreamError',
      message: `The stream hub closed before this follower received the end of channel "${this.channel}".`,
      reason: 'lost',
    });
  }

  tick(): void {
    this.sink.tick();
  }

  #send(batch: Batch, live: boolean, ending?: Follower[]): void {
    const last = batch.entries[batch.entries.length - 1];
    if (last === undefined || this.closed) return;
    if (!this.sink.write(batch, live)) {
      this.#drop(this.sink.buffered);
      return;
    }
    this.#lastId = last.id;
    if (!isTerminal(last)) return;
    if (ending) ending.push(this);
    else this.sink.close();
  }

  #gone(): void {
    this.sink.fail({
      type: 'error',
      name: 'RemoteStreamError',
      message: `Cannot resume channel "${this.channel}" after event ${this.#lastId}: the replay buffer no longer holds the events after it.`,
      reason: 'gone',
    });
  }

  /** Drops a follower that fell too far behind: reported, then cut off without a clean end. */
  #drop(bufferedBytes: number): void {
    this.onDrop(bufferedBytes, this.#lastId);
    this.sink.kill();
  }
}

/** The followers of one channel in this process, sharing one watch on the log. */
export class FollowerGroup {
  readonly followers = new Set<Follower>();
  unwatch: () => void = () => {};

  /**
   * The log can no longer follow the channel from this process: every follower ends with this
   * `error` (no id), and the group, empty, lets go of its watch. A later follower watches anew,
   * and the log tells it the same.
   */
  fail(error: SerializedStreamError): void {
    for (const follower of [...this.followers]) follower.fail(error);
  }

  /**
   * Hands appended entries to every follower, encoded once for all of them. A batch that ends the
   * channel is written to every follower before any is ended: ending a response costs more than a
   * write (the last chunk, the socket's shutdown), and ended one by one between the writes, the
   * last of thousands of followers would get the answer's final tokens a whole pass of ends later.
   */
  deliver(entries: readonly ChannelLogEntry[]): void {
    if (entries.length === 0) return;
    const batch = new Batch(entries);
    const ending: Follower[] = [];
    for (const follower of this.followers) follower.receive(entries, batch, ending);
    for (const follower of ending) follower.end();
  }
}
