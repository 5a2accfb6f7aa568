/**
 * Where a `StreamHub` delivers a channel's entries: a Node response, a Web stream, or an in-process
 * Observable subscriber (internal).
 */
import type { ServerResponse } from 'node:http';
import type { Subscriber } from 'rxjs';
import { RemoteStreamError, type SerializedStreamError } from '../errors.js';
import type { TokenEvent } from '../events.js';
import type { ChannelLogEntry } from './channel-log.js';
import { formatSSE, frame, HEARTBEAT } from './encode.js';

/** A batch of entries with its SSE text and bytes, each computed once for all subscribers. */
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
function eventOf(entry: ChannelLogEntry): TokenEvent {
  const cached = entry as ChannelLogEntry & { event?: TokenEvent };
  return (cached.event ??= JSON.parse(entry.data) as TokenEvent);
}

export function isTerminal(entry: ChannelLogEntry): boolean {
  return entry.type === 'done' || entry.type === 'error';
}

/** One follower of a channel. */
export abstract class Sink {
  /** The last id delivered (the resume point). */
  lastId: number;
  /** While replaying from the log, live entries wait here. */
  catchingUp = true;
  buffer: ChannelLogEntry[] = [];
  closed = false;
  /** Set by the hub: removes the sink from its channel. */
  onClose: (() => void) | undefined;

  constructor(afterId: number) {
    this.lastId = afterId;
  }

  /** Whether anything was written since the last heartbeat tick: busy connections need none. */
  #active = false;

  /** Delivers entries, all with ids above `lastId`, in order. */
  deliver(batch: Batch): void {
    const entries = batch.entries;
    const last = entries[entries.length - 1];
    if (this.closed || last === undefined) return;
    this.lastId = last.id;
    this.#active = true;
    this.write(batch);
    if (isTerminal(last)) this.close();
  }

  /** Called every `heartbeatMs`: sends a heartbeat only when nothing else went out meanwhile. */
  tick(): void {
    if (this.#active) this.#active = false;
    else this.heartbeat();
  }

  /** Tells this follower why it cannot continue (no id: it does not move the resume point). */
  abstract fail(error: SerializedStreamError): void;
  abstract heartbeat(): void;
  protected abstract write(batch: Batch): void;
  protected abstract release(): void;

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.release();
    this.onClose?.();
  }

  /** Drops a follower that fell too far behind: reported, cut off (`kill`) without a clean end, removed. */
  protected drop(limits: SinkLimits, bufferedBytes: number, kill: () => void): void {
    limits.onDrop(bufferedBytes, this.lastId);
    this.closed = true;
    kill();
    this.onClose?.();
  }
}

/** Limits for the HTTP sinks. */
export interface SinkLimits {
  maxBufferedBytes: number;
  onDrop: (bufferedBytes: number, lastId: number) => void;
}

/** Follows a channel into a Node `ServerResponse`. */
export class NodeSink extends Sink {
  constructor(
    private readonly res: ServerResponse,
    afterId: number,
    private readonly limits: SinkLimits,
  ) {
    super(afterId);
  }

  protected write(batch: Batch): void {
    // What the socket has not yet taken is this follower's queue; a batch may always join it
    // while the queue is under the bound, so one large batch never drops a reader that keeps up.
    if (!this.#overflowing()) this.res.write(batch.bytes);
  }

  heartbeat(): void {
    if (!this.closed) this.res.write(HEARTBEAT);
  }

  fail(error: SerializedStreamError): void {
    if (this.closed) return;
    this.res.write(formatSSE({ event: 'error', data: JSON.stringify(error) }));
    this.close();
  }

  /** Past the bound a follower is dropped, not waited for: it can reconnect and resume. */
  #overflowing(): boolean {
    const buffered = this.res.writableLength;
    if (buffered <= this.limits.maxBufferedBytes || this.closed) return false;
    this.drop(this.limits, buffered, () => this.res.destroy());
    return true;
  }

  protected release(): void {
    if (!this.res.writableEnded) this.res.end();
  }
}

/** Follows a channel into a Web `ReadableStream` (for `new Response()`). */
export class WebSink extends Sink {
  #controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  readonly stream: ReadableStream<Uint8Array>;

  constructor(
    afterId: number,
    private readonly limits: SinkLimits,
    prelude: string,
  ) {
    super(afterId);
    this.stream = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.#controller = controller;
          controller.enqueue(encoder.encode(prelude));
        },
        cancel: () => this.close(),
      },
      { highWaterMark: limits.maxBufferedBytes, size: (chunk) => chunk.byteLength },
    );
  }

  protected write(batch: Batch): void {
    const controller = this.#controller!;
    controller.enqueue(batch.bytes);
    const buffered = this.limits.maxBufferedBytes - (controller.desiredSize ?? 0);
    if (buffered > this.limits.maxBufferedBytes && !this.closed) {
      this.drop(this.limits, buffered, () => controller.error(new Error('dropped: the client fell too far behind the stream')));
    }
  }

  heartbeat(): void {
    if (!this.closed) this.#controller?.enqueue(encoder.encode(HEARTBEAT));
  }

  fail(error: SerializedStreamError): void {
    if (this.closed) return;
    this.#controller?.enqueue(encoder.encode(formatSSE({ event: 'error', data: JSON.stringify(error) })));
    this.close();
  }

  protected release(): void {
    try {
      this.#controller?.close();
    } catch {
      // Already closed or errored by the reader's cancel.
    }
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
  #text = '';

  constructor(
    private readonly subscriber: Subscriber<HubMessage>,
    afterId: number,
  ) {
    super(afterId);
  }

  protected write(batch: Batch): void {
    for (const entry of batch.entries) {
      if (this.subscriber.closed) return;
      if (entry.type === 'error') {
        // A server that could not know the text so far (a shared store lost the channel) leaves it
        // out: then it is the text this follower received.
        const data = JSON.parse(entry.data) as SerializedStreamError;
        this.subscriber.error(new RemoteStreamError(data, { partialText: data.partialText ?? this.#text }));
        return;
      }
      const event = eventOf(entry);
      if (event.type === 'token') this.#text += event.text;
      else if (event.type === 'reset') this.#text = '';
      this.subscriber.next({ id: entry.id, event });
      if (event.type === 'done') this.subscriber.complete();
    }
  }

  heartbeat(): void {}

  fail(error: SerializedStreamError): void {
    if (this.closed) return;
    this.subscriber.error(new RemoteStreamError(error, { partialText: this.#text }));
    this.close();
  }

  protected release(): void {
    // Resumed after the last event: there is nothing more to come.
    if (!this.subscriber.closed) this.subscriber.complete();
  }
}
