/**
 * A channel whose upstream runs in this process (internal): subscribes to the stream once, records
 * each event with the next id, batches the entries into the log through one ordered chain of
 * appends, and runs the grace period that cancels an upstream nobody follows.
 */
import { Observable, type Subscription } from 'rxjs';
import type { RemoteStreamReason, SerializedStreamError } from '../errors.js';
import type { TokenEvent } from '../events.js';
import { operate } from '../operators/operate.js';
import { AnswerTracker, isTokenEvent, reportStreamError, serializeError, type LegacyAnswerOptions, type StreamErrorHook } from './encode.js';
import { isTerminal, type ChannelLog, type ChannelLogEntry } from './channel-log.js';
import { cacheEvent } from './sinks.js';

/** What a publication needs from its hub. */
export interface PublicationHost {
  readonly log: ChannelLog;
  readonly ttlMs: number;
  readonly graceMs: number;
  readonly batchMs: number;
  readonly onError: StreamErrorHook | undefined;
  /** How many followers this process serves for the channel. */
  followerCount(channel: string): number;
  /** The channel's record is over (its terminal entry stored, or the log failed): forget it. */
  forget(publication: Publication): void;
  /**
   * The log refused a write: nothing more can reach followers. The hub tells this process's
   * followers (the others learn it from the shared log's own failure handling).
   */
  storeFailed(publication: Publication): void;
}

const defer: (fn: () => void) => void =
  typeof setImmediate === 'function' ? (fn) => void setImmediate(fn) : (fn) => void setTimeout(fn, 0);

/**
 * Publications with entries to send once the event loop comes round: all of them flush in one
 * callback, so a shared log gets every channel's append of the pass in one go (Redis: one write,
 * sent before the loop turns again) and the loop runs one callback per pass, not one per channel.
 */
let due: Publication[] = [];

function flushDue(): void {
  const list = due;
  due = [];
  for (const publication of list) publication.flush();
}

function schedule(publication: Publication): void {
  if (due.push(publication) === 1) defer(flushDue);
}

/** One channel published in this process. */
export class Publication {
  /** The id the next recorded event gets. */
  #nextId = 0;
  /** `true` once the terminal entry was recorded (it may still be on its way to the log). */
  finished = false;
  /** The terminal entry, once the log stored it (`undefined` while running, or when the log failed). */
  storedTerminal: ChannelLogEntry | undefined;
  /** The chain of appends (and, after the terminal entry, the expiry): settles once they are done. */
  appended: Promise<void> = Promise.resolve();
  #pending: ChannelLogEntry[] = [];
  /** Flushed entries waiting for the log's write in flight to finish (they go out in one append). */
  #unwritten: ChannelLogEntry[] = [];
  /** A link of the append chain is queued and will take `#unwritten` when it runs. */
  #linked = false;
  /** The log refused a write: nothing more is written (it would leave a hole). */
  #storeFailed = false;
  #scheduled = false;
  /** The `batchMs` window's timer, while one is open. */
  #batchTimer: ReturnType<typeof setTimeout> | undefined;
  /** A token of the current step was recorded already (the first one never waits for a batch window). */
  #sawToken = false;
  /** The answer so far (a `reset` clears it): for the legacy payload and for errors. */
  readonly #answer: AnswerTracker;
  #subscription: Subscription | undefined;
  #grace: ReturnType<typeof setTimeout> | undefined;

  constructor(
    readonly channel: string,
    private readonly host: PublicationHost,
    legacy: LegacyAnswerOptions | undefined,
  ) {
    this.#answer = new AnswerTracker(legacy);
  }

  /** How many events were recorded (the ids given out). */
  get recorded(): number {
    return this.#nextId;
  }

  /**
   * Subscribes to the upstream, once. Through operate(): a source whose subscribe throws, or an
   * event the hub's own code cannot record, ends the channel with an error for its followers (never
   * an uncaught exception, never a channel left open), and a channel that ends while a synchronous
   * source is still emitting lets go of it at once.
   */
  start(stream: Observable<TokenEvent>): void {
    let sawDone = false;
    new Observable<never>((subscriber) => {
      this.#subscription = subscriber;
      operate(stream, subscriber, {
        next: (event) => {
          // A token whose text is not a string would reach followers as something else than text.
          if (!isTokenEvent(event) || (event.type === 'token' && typeof event.text !== 'string')) {
            this.#cancelWith({
              type: 'error',
              name: 'InvalidArgumentError',
              message: 'The published stream emitted something that is not a TokenEvent.',
              partialText: this.#answer.text,
            });
            return;
          }
          if (event.type === 'done') sawDone = true;
          this.#record(event);
        },
      });
    }).subscribe({
      error: (error: unknown) => {
        const sent = serializeError(error, this.#answer.text);
        this.#cancelWith(sent);
        reportStreamError(this.host.onError, error, { partialText: sent.partialText ?? '', sent, channel: this.channel });
      },
      complete: () => {
        if (!sawDone) {
          this.#finish({
            type: 'error',
            name: 'ProtocolError',
            message: 'The published stream completed without a done event.',
            partialText: this.#answer.text,
          });
        }
      },
    });
  }

  /** Cancels the upstream for every follower: they get an `error` entry with `reason` and the text so far. */
  cancel(reason: RemoteStreamReason, message: string): void {
    this.#cancelWith({ type: 'error', name: 'StreamAbortedError', message, partialText: this.#answer.text, reason });
  }

  /** Ends a channel nobody stopped with a terminal entry (a failed or incomplete upstream). */
  #finish(error: SerializedStreamError): void {
    if (this.finished) return;
    this.#enqueue({ id: this.#nextId++, type: 'error', data: JSON.stringify(error) });
    this.#end();
  }

  #cancelWith(error: SerializedStreamError): void {
    if (this.finished) return;
    this.#finish(error);
    // Unsubscribing aborts the provider's HTTP request.
    this.#subscription?.unsubscribe();
  }

  #record(event: TokenEvent): void {
    if (this.finished) return;
    // Serialise first: an event that cannot be (a cycle, a BigInt) throws before it takes an id, so
    // the error entry that ends the channel follows without a hole (a replay would read a hole as gone).
    const data = JSON.stringify(event);
    const extra = this.#answer.record(event);
    const entry: ChannelLogEntry = extra === undefined
      ? { id: this.#nextId++, type: event.type, data }
      : { id: this.#nextId++, type: event.type, data, extra };
    // In-process followers get this very object back instead of parsing `data` again.
    cacheEvent(entry, event);
    this.#enqueue(entry);
    if (event.type === 'done') this.#end();
  }

  #end(): void {
    this.finished = true;
    if (this.#grace) clearTimeout(this.#grace);
    this.#grace = undefined;
  }

  /**
   * Entries written in one tick (or, with `batchMs`, one window) go to the log, and to every
   * follower, as one batch. The first token and the terminal entry close the window at once.
   */
  #enqueue(entry: ChannelLogEntry): void {
    this.#pending.push(entry);
    let urgent = this.host.batchMs === 0 || isTerminal(entry);
    // Each step of an Agent's tool loop has a first token of its own: the wait a reader sees after
    // the tools ran, which a batch window must not lengthen any more than the answer's first.
    if (entry.type === 'step-start') this.#sawToken = false;
    if (entry.type === 'token' && !this.#sawToken) {
      this.#sawToken = true;
      urgent = true;
    }
    if (this.#scheduled && !(urgent && this.#batchTimer)) return;
    if (this.#batchTimer) clearTimeout(this.#batchTimer);
    this.#batchTimer = undefined;
    this.#scheduled = true;
    if (urgent) schedule(this);
    else {
      this.#batchTimer = setTimeout(() => {
        this.#batchTimer = undefined;
        schedule(this);
      }, this.host.batchMs);
    }
  }

  /** Sends what is pending to the log now (the hub's `close()` calls it so nothing waits a tick). */
  flush(): void {
    if (this.#batchTimer) clearTimeout(this.#batchTimer);
    this.#batchTimer = undefined;
    this.#scheduled = false;
    if (this.#pending.length === 0) return;
    // Usually nothing waits for the log: take the tick's array as it is.
    if (this.#unwritten.length === 0) this.#unwritten = this.#pending;
    else for (const entry of this.#pending) this.#unwritten.push(entry);
    this.#pending = [];
    // A link of the chain that has not started yet takes these entries too: while the log is busy
    // with one write, what arrives meanwhile goes out together in the next one. A quiet channel
    // writes each tick's entries at once; a busy log (Redis under load) gets fewer, larger writes.
    if (this.#linked) return;
    this.#linked = true;
    this.appended = this.appended.then(() => this.#write());
  }

  /** Writes every entry waiting for the log as one append; after the terminal one, schedules the expiry. */
  #write(): Promise<void> | undefined {
    this.#linked = false;
    const entries = this.#unwritten;
    this.#unwritten = [];
    const last = entries[entries.length - 1];
    // After a refused write nothing more can be stored without a hole: the channel is over here.
    if (!last || this.#storeFailed) return undefined;
    const { log, ttlMs } = this.host;
    return log.append(this.channel, entries).then(
      async () => {
        if (!isTerminal(last)) return;
        this.storedTerminal = last;
        this.host.forget(this);
        // After the terminal entry is stored every follower has its ending (here, and on every
        // server of a shared log), so a failure from here on is the server's to know about, not
        // the followers': logged, never turned into an error for anyone.
        try {
          await log.expire(this.channel, ttlMs);
        } catch (error) {
          console.error(
            `tokenflow StreamHub: channel "${this.channel}" finished, but the channel log failed to schedule its expiry (ttlMs ${ttlMs}); its followers got the ending all the same.`,
            error,
          );
        }
      },
      () => {
        // The log refused the write: nothing more can reach followers, so stop paying upstream and
        // tell this process's followers rather than leave them waiting.
        this.#storeFailed = true;
        if (!this.finished) this.#end();
        this.#subscription?.unsubscribe();
        this.host.forget(this);
        this.host.storeFailed(this);
      },
    );
  }

  /** Starts or clears the grace timer from whether anyone follows the channel in this process. */
  checkFollowed(): void {
    if (this.finished) return;
    const followed = this.host.followerCount(this.channel) > 0;
    if (followed && this.#grace) {
      clearTimeout(this.#grace);
      this.#grace = undefined;
    } else if (!followed && !this.#grace && this.host.graceMs !== Infinity) {
      this.#armGrace();
    }
  }

  #armGrace(): void {
    const { graceMs, log } = this.host;
    this.#grace = setTimeout(() => {
      this.#grace = undefined;
      if (this.finished || this.host.followerCount(this.channel) > 0) return;
      const abandon = (): void => {
        if (!this.finished && !this.#grace && this.host.followerCount(this.channel) === 0) {
          this.cancel('abandoned', `Abandoned: nobody followed the channel for ${graceMs} ms, so the upstream request was cancelled.`);
        }
      };
      if (!log.isFollowed) return abandon();
      // Followers on other servers keep the upstream going; if the store cannot tell, wait again
      // rather than cancel an answer someone may be reading.
      log.isFollowed(this.channel).then(
        (followed) => (followed ? !this.finished && !this.#grace && this.#armGrace() : abandon()),
        () => !this.finished && !this.#grace && this.#armGrace(),
      );
    }, graceMs);
    this.#grace.unref?.();
  }
}
