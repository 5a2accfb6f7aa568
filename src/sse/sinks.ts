/**
 * Where a `StreamHub` follower's entries go (internal): the transport under one follower. A sink
 * only writes and reports how much its consumer has not taken yet; what to write, from which id,
 * and when a follower is too slow, is the follower's business (`hub-follower.ts`). The HTTP sinks
 * are in `hub-http.ts`; the in-process one is here.
 */
import type { Subscriber } from 'rxjs';
import { RemoteStreamError, type SerializedStreamError } from '../errors.js';
import type { TokenEvent } from '../events.js';
import { PartialText } from '../internal/partial-text.js';
import type { ChannelLogEntry } from './channel-log.js';
import { frame } from './encode.js';

/** A batch of entries with its SSE text and bytes, each computed once for all followers. */
export class Batch {
  #text: string | undefined;
  #bytes: Uint8Array | undefined;
  constructor(readonly entries: readonly ChannelLogEntry[]) {}

  get text(): string {
    if (this.#text === undefined) {
      let out = '';
      for (const entry of this.entries) out += frameOf(entry);
      this.#text = out;
    }
    return this.#text;
  }

  get bytes(): Uint8Array {
    return (this.#bytes ??= encoder.encode(this.text));
  }
}

const encoder = new TextEncoder();

/** An entry's SSE text, cached on the entry (replays and live batches share it). */
export function frameOf(entry: ChannelLogEntry): string {
  const cached = entry as ChannelLogEntry & { frame?: string };
  return (cached.frame ??= frame(entry.id, entry.type, entry.data) + (entry.extra ?? ''));
}

/** Attaches the event an entry was made from, so in-process followers need not parse it back. */
export function cacheEvent(entry: ChannelLogEntry, event: TokenEvent): void {
  (entry as ChannelLogEntry & { event?: TokenEvent }).event = event;
}

/** The entry's event: the cached one, or parsed once (entries read back from a shared store). */
export function eventOf(entry: ChannelLogEntry): TokenEvent {
  const cached = entry as ChannelLogEntry & { event?: TokenEvent };
  return (cached.event ??= JSON.parse(entry.data) as TokenEvent);
}

/** The transport under one follower. */
export abstract class Sink {
  /** Ended (by the hub, by its consumer, or cut as too slow): nothing more is written. */
  closed = false;
  /** Set by the hub: removes the follower from its channel. */
  onClose: (() => void) | undefined;
  /**
   * How many bytes may wait for this consumer before it counts as too slow (`Infinity`: nothing
   * waits, an in-process subscriber takes every value at once).
   */
  abstract readonly bound: number;
  /**
   * Whether the consumer resumes by itself after a cut: an SSE client reconnects with
   * `Last-Event-ID` (to another server, with a shared log). An in-process subscriber cannot.
   */
  abstract readonly resumes: boolean;

  /** Whether anything was written since the last heartbeat tick: busy connections need none. */
  #active = false;
  #waiters: Array<() => void> = [];

  /**
   * Writes a batch. A live write checks the bound (each sink where its transport can tell) and
   * returns `false` when the consumer is past it: the follower then drops it. A replay write (the
   * hub's own catch-up, paced by `room()`) is never refused.
   */
  write(batch: Batch, live: boolean): boolean {
    this.#active = true;
    return this.put(batch, live);
  }

  /** Called every `heartbeatMs`: sends a heartbeat only when nothing else went out meanwhile. */
  tick(): void {
    if (this.#active) this.#active = false;
    else this.heartbeat();
  }

  /** Bytes written that the consumer has not taken yet. */
  abstract get buffered(): number;

  /**
   * `undefined` when the consumer has room for more (at most half the bound waits), otherwise a
   * promise that resolves once it has (or once the sink closed).
   */
  room(): Promise<void> | undefined {
    if (this.closed || this.buffered <= this.bound / 2) return undefined;
    return new Promise<void>((resolve) => this.#waiters.push(resolve));
  }

  /** Tells this consumer why it cannot continue (no id: it does not move the resume point), and ends it. */
  abstract fail(error: SerializedStreamError): void;
  abstract heartbeat(): void;
  protected abstract put(batch: Batch, live: boolean): boolean;
  /** Ends the transport cleanly. */
  protected abstract release(): void;
  /** Ends the transport abruptly (a dropped follower): no clean end, so an SSE client reconnects. */
  protected abstract cut(): void;

  /** Ends the consumer cleanly (idempotent). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.release();
    this.#wake();
    this.onClose?.();
  }

  /** Cuts the consumer off (idempotent). */
  kill(): void {
    if (this.closed) return;
    this.closed = true;
    this.cut();
    this.#wake();
    this.onClose?.();
  }

  /** The consumer took some bytes: resumes a waiting catch-up if it now has room. */
  protected taken(force = false): void {
    if (this.#waiters.length > 0 && (force || this.closed || this.buffered <= this.bound / 2)) this.#wake();
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const resolve of waiters) resolve();
  }
}

/** A channel message delivered to an in-process follower. */
export interface HubMessage {
  /** The event's position in the channel: pass it as `lastEventId` to resume after it. */
  id: number;
  event: TokenEvent;
}

/** Follows a channel into an RxJS subscriber (`hub.subscribe()`). */
export class ObserverSink extends Sink {
  readonly bound = Infinity;
  readonly resumes = false;
  /** The text this follower received, for the `partialText` of its errors. */
  readonly #text = new PartialText();

  constructor(private readonly subscriber: Subscriber<HubMessage>) {
    super();
  }

  get buffered(): number {
    return 0;
  }

  protected put(batch: Batch): boolean {
    for (const entry of batch.entries) {
      if (this.subscriber.closed) return true;
      if (entry.type === 'error') {
        // A server that could not know the text so far (a shared store lost the channel) leaves it
        // out: then it is the text this follower received.
        const data = JSON.parse(entry.data) as SerializedStreamError;
        this.subscriber.error(new RemoteStreamError(data, { partialText: data.partialText ?? this.#text.text }));
        return true;
      }
      const event = eventOf(entry);
      this.#text.add(event);
      this.subscriber.next({ id: entry.id, event });
      if (event.type === 'done') this.subscriber.complete();
    }
    return true;
  }

  heartbeat(): void {}

  fail(error: SerializedStreamError): void {
    if (this.closed) return;
    this.subscriber.error(new RemoteStreamError(error, { partialText: this.#text.text }));
    this.close();
  }

  protected release(): void {
    // Resumed at a finished channel's last event: there is nothing more to come. (A follower the
    // hub gives up on is failed instead, so this is never a success without `done`.)
    if (!this.subscriber.closed) this.subscriber.complete();
  }

  protected cut(): void {
    // Never too slow (its bound is Infinity), so never cut; were it, it must not read as a success.
    if (this.subscriber.closed) return;
    const error: SerializedStreamError = { type: 'error', name: 'RemoteStreamError', message: 'The stream hub cut this follower off.', reason: 'lost' };
    this.subscriber.error(new RemoteStreamError(error, { partialText: this.#text.text }));
  }
}
