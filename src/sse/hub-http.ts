/**
 * The HTTP front of a `StreamHub` (internal, its types public): who may follow or stop a channel
 * and from where (`admit`), the Node handler and the Web `fetch` endpoint, the request adapters,
 * and the SSE sinks that write a follower into a Node response or a Web stream. The only part of
 * the hub that knows `node:http`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { InvalidArgumentError, type SerializedStreamError } from '../errors.js';
import type { TokenEvent } from '../events.js';
import { readOptions } from '../operators/internal.js';
import { isPlainObject } from '../validate.js';
import type { ChannelInfo, ChannelLog, ChannelLogEntry } from './channel-log.js';
import { formatSSE, HEARTBEAT, SSE_HEADERS } from './encode.js';
import { CHANNEL_ID, isResumePoint, lastStoredId } from './hub-follower.js';
import { watchSink, type TelemetryGuard } from './hub-telemetry.js';
import { eventOf, Sink, type Batch } from './sinks.js';

/** The request a follower or a stop came with, the same for Node and Web-standard servers. */
export interface HubRequest {
  /** `GET` to follow, `POST` to stop. */
  readonly method: string;
  readonly url: URL;
  /** A request header (case-insensitive), or `undefined`. */
  header(name: string): string | undefined;
  /** The server's own request object. */
  readonly raw: IncomingMessage | Request;
}

/** `true` lets the request through; `false` refuses it with 403; or a status of your choosing. */
export type AuthorizeResult = boolean | { status: 401 | 403; message?: string };

/**
 * Decides who may follow or stop a channel. Runs only for channels that exist, so `channel.meta`
 * (what `publish` attached, such as an owner id) is there to check against.
 */
export type AuthorizeHook = (
  request: HubRequest,
  channel: ChannelInfo,
  action: 'follow' | 'stop',
) => AuthorizeResult | Promise<AuthorizeResult>;

/**
 * A wire format a follower can read a channel in, besides tokenflow's own SSE: `aguiHubFormat()`
 * (`tokenflow/ag-ui`) and `uiMessageStreamHubFormat()` (`tokenflow/ai-sdk`) are two. The hub runs one
 * writer per channel and format in each process, over the channel's stored events in order from the
 * first, and shares what it writes among that format's followers (so a format may keep state, and
 * costs one encoding per event however many follow). A follower that resumes after an id gets what
 * comes after it. The output must be Server-Sent Events: the hub adds its heartbeat comments.
 */
export interface HubFormat {
  /** The format's name: `?format=<name>` (or the handler's `format` option) picks it. */
  readonly name: string;
  /** The response's headers (content type and the protocol's own). */
  readonly headers: Readonly<Record<string, string>>;
  /** The writer of `channel` in this format, shared by its followers in this process. */
  open(channel: ChannelInfo): HubFormatWriter;
  /**
   * The SSE text that ends one follower's stream when the hub cannot go on for it (the channel
   * expired before its resume point, the shared log was lost, the hub closed): not a stored event,
   * so not the shared writer's. `started` says whether the follower was sent anything before. The
   * error is sanitised: its message is what a browser may see.
   */
  cut(channel: ChannelInfo, error: SerializedStreamError, started: boolean): string;
}

/** Writes a channel's stored events in a {@link HubFormat}, in order, once for all its followers. */
export interface HubFormatWriter {
  /** The SSE text of one stored event (`''` for none); `id` is its position in the channel, for `id:` lines. */
  event(event: TokenEvent, id: number): string;
  /** The SSE text of the channel's stored error ending (sanitised, as the hub stored it); `id` is its position. */
  error(error: SerializedStreamError, id: number): string;
}

/** Options of `hub.handler()` and `hub.fetch()`. */
export interface HubHandlerOptions {
  /** Picks the channel from the request; default: the last path segment (before `/stop` on POST). */
  channel?: (request: HubRequest) => string | undefined;
  /**
   * The formats followers may ask for besides tokenflow's own SSE.
   * @defaultValue none: every follower gets tokenflow's SSE
   */
  formats?: readonly HubFormat[];
  /**
   * Picks a follower's format by name (a route such as `/api/chat/:id/stream` that always answers in
   * one). `undefined` is tokenflow's own SSE; a name that is not in `formats` is a 406.
   * @defaultValue the request's `format` query parameter
   */
  format?: (request: HubRequest) => string | undefined;
  /**
   * Whether a request follows or stops its channel. Set it for a route that answers a `POST` with
   * the stream, such as an AG-UI agent endpoint or `useChat`'s chat route, which publish a channel
   * and then follow it in the same response (`() => 'follow'`).
   * @defaultValue `GET` follows, `POST` stops, anything else is a 405
   */
  action?: (request: HubRequest) => 'follow' | 'stop';
}

/** Options of `hub.fetch()`: the channel itself (a route parameter), or how to pick it. */
export interface HubFetchOptions extends Omit<HubHandlerOptions, 'channel'> {
  channel?: string | ((request: HubRequest) => string | undefined);
}

/** A Node request handler: `GET` follows a channel over SSE, `POST` stops it. */
export type NodeHubHandler = (req: IncomingMessage, res: ServerResponse, channel?: string) => Promise<void>;

/** What the HTTP front needs from its hub. */
export interface HttpHost {
  readonly log: ChannelLog;
  readonly authorize: AuthorizeHook | undefined;
  readonly retryMs: number;
  readonly maxBufferedBytes: number;
  /** The hub's tracing hooks, when it has `telemetry`. */
  readonly telemetry: TelemetryGuard | undefined;
  /** Adds a follower after `afterId` and catches it up; rejects when the log fails. */
  follow(channel: string, sink: Sink, afterId: number): Promise<void>;
  stop(channel: string): Promise<boolean>;
}

/** What `admit` decided: an answer, or a follow or stop to carry out. */
type Admission =
  | { status: number; message: string; headers?: Record<string, string> }
  | { action: 'follow'; channel: string; afterId: number; info: ChannelInfo; format: HubFormat | undefined }
  | { action: 'stop'; channel: string };

/** The hub's HTTP endpoints. */
export class HubHttpFront {
  constructor(private readonly host: HttpHost) {}

  /** See `StreamHub.handler()`. */
  handler(options: HubHandlerOptions = {}): NodeHubHandler {
    const { pick, formats, action } = readHandlerOptions(options, 'hub.handler');
    return async (req, res, channelArg) => {
      const arrivedAt = Date.now();
      const request = nodeRequest(req);
      // The client may leave while authorize() or the log answers; 'close' would not fire again.
      let gone = false;
      res.once('close', () => (gone = true));
      try {
        const outcome = await this.#admit(request, channelArg ?? pick(request), formats, action);
        if (gone) return;
        if ('status' in outcome) {
          sendNode(res, outcome.status, outcome.message, outcome.headers);
          return;
        }
        if (outcome.action === 'stop') {
          await this.host.stop(outcome.channel);
          res.writeHead(204).end();
          return;
        }
        res.writeHead(200, { ...(outcome.format?.headers ?? SSE_HEADERS) });
        res.write(`retry: ${this.host.retryMs}\n\n`);
        const sink = new NodeSink(res, this.host.maxBufferedBytes, this.#writerFor(outcome));
        this.#trace(sink, request, outcome, arrivedAt);
        res.on('close', () => sink.close());
        await this.host.follow(outcome.channel, sink, followFrom(outcome));
      } catch {
        // A plain http server does not await its handler: answer with the failure rather than
        // rethrowing into an unhandled rejection.
        if (!res.headersSent) sendNode(res, 500, 'The stream hub failed to serve this request.');
        else res.destroy();
      }
    };
  }

  /** See `StreamHub.fetch()`. */
  async fetch(request: Request, options: HubFetchOptions = {}): Promise<Response> {
    if (typeof request !== 'object' || request === null || typeof request.url !== 'string' || typeof request.headers?.get !== 'function') {
      throw new InvalidArgumentError('request', 'hub.fetch(): the first argument must be a Web Request (for Node http, use hub.handler()).');
    }
    const arrivedAt = Date.now();
    const fixed = typeof options.channel === 'string' ? options.channel : undefined;
    const { pick, formats, action } = readHandlerOptions(fixed === undefined ? options : { ...options, channel: undefined }, 'hub.fetch');
    const hubRequest = webRequest(request);
    const outcome = await this.#admit(hubRequest, fixed ?? pick(hubRequest), formats, action);
    if ('status' in outcome) return jsonResponse(outcome.status, outcome.message, outcome.headers);
    if (request.signal?.aborted && outcome.action === 'follow') return new Response(null, { status: 499 });
    if (outcome.action === 'stop') {
      await this.host.stop(outcome.channel);
      return new Response(null, { status: 204 });
    }
    const sink = new WebSink(this.host.maxBufferedBytes, `retry: ${this.host.retryMs}\n\n`, this.#writerFor(outcome));
    this.#trace(sink, hubRequest, outcome, arrivedAt);
    request.signal?.addEventListener('abort', () => sink.close(), { once: true });
    this.host.follow(outcome.channel, sink, followFrom(outcome)).catch(() => {
      // The log failed mid-replay: end this response; the browser reconnects and resumes.
      sink.close();
    });
    return new Response(sink.stream, { status: 200, headers: { ...(outcome.format?.headers ?? SSE_HEADERS) } });
  }

  /** The shared writers of the formats followed in this process, by channel and format name. */
  readonly #shared = new Map<string, SharedFormat>();

  /** The writing of an admitted follower in a format, or `undefined` for tokenflow's own SSE. */
  #writerFor(outcome: { channel: string; format: HubFormat | undefined; afterId: number; info: ChannelInfo }): FormatWriting | undefined {
    const format = outcome.format;
    if (!format) return undefined;
    const key = `${format.name}\u0000${outcome.channel}`;
    let shared = this.#shared.get(key);
    if (!shared) {
      shared = new SharedFormat(format.open(outcome.info), () => this.#shared.delete(key));
      this.#shared.set(key, shared);
    }
    return new FormatWriting(shared, format, outcome.info, outcome.afterId);
  }

  /** Starts the follower's trace, when the hub has telemetry. */
  #trace(sink: Sink, request: HubRequest, admitted: { channel: string; afterId: number; info: ChannelInfo }, arrivedAt: number): void {
    const guard = this.host.telemetry;
    if (!guard) return;
    const { channel, afterId, info } = admitted;
    const trace = guard.call('follow()', () => guard.telemetry.follow({ channel, request, info, afterId, arrivedAt }));
    if (trace) watchSink(sink, trace, guard);
  }

  /** Routing, existence, authorization and the resume point, shared by the Node and Web endpoints. */
  async #admit(request: HubRequest, channel: string | undefined, formats: FormatPicker, pickAction: ActionPicker | undefined): Promise<Admission> {
    const method = request.method.toUpperCase();
    let action: 'follow' | 'stop';
    if (pickAction) {
      const picked = pickAction(request);
      if (picked !== 'follow' && picked !== 'stop') return { status: 500, message: "The hub's action option must return 'follow' or 'stop'." };
      action = picked;
    } else if (method === 'GET' || method === 'POST') {
      action = method === 'GET' ? 'follow' : 'stop';
    } else {
      return { status: 405, message: 'Use GET to follow a channel or POST to stop it.', headers: { allow: 'GET, POST' } };
    }
    let format: HubFormat | undefined;
    if (action === 'follow') {
      const name = formats.name(request);
      if (name !== undefined) {
        format = formats.byName.get(name);
        if (!format) {
          const known = ['tokenflow (the default)', ...formats.byName.keys()].join(', ');
          return { status: 406, message: `No format "${name.slice(0, 40)}" here; this endpoint speaks ${known}.` };
        }
      }
    }
    if (channel === undefined || !CHANNEL_ID.test(channel)) return { status: 404, message: 'No such channel.' };
    const info = await this.host.log.info(channel);
    if (!info) return { status: 404, message: `No channel "${channel}": it was never published, or it expired.` };
    let verdict: AuthorizeResult = true;
    const authorize = this.host.authorize;
    if (authorize) {
      try {
        verdict = await authorize(request, info, action);
      } catch (error) {
        // A failing check (a session store that is down) refuses this request only, as a 500 that
        // names no detail: the error may carry secrets, so it goes to the server's log, not the browser.
        console.error(`tokenflow StreamHub: authorize threw for channel "${channel}" (${action}); answered 500.`, error);
        return { status: 500, message: 'Could not check access to this channel.' };
      }
    }
    if (verdict === false) return { status: 403, message: `Not allowed to ${action} this channel.` };
    if (verdict !== true) {
      if (!isPlainObject(verdict) || (verdict.status !== 401 && verdict.status !== 403)) {
        return { status: 500, message: 'authorize() must return true, false, or { status: 401 | 403 }.' };
      }
      return { status: verdict.status, message: verdict.message ?? `Not allowed to ${action} this channel.` };
    }
    if (action === 'stop') return { action, channel };
    const raw = request.header('last-event-id') ?? request.url.searchParams.get('lastEventId') ?? undefined;
    if (raw === undefined || raw === '') return { action, channel, afterId: -1, info, format };
    const afterId = Number(raw);
    // A safe integer only: beyond 2^53 ids are not exact (and `1e300` is an integer to Number).
    if (!isResumePoint(afterId)) {
      return { status: 400, message: `Last-Event-ID must be an event id (an integer), got ${JSON.stringify(raw.slice(0, 40))}.` };
    }
    // An id beyond the last stored event names events this channel never had: answering 200 would
    // hold that follower forever (nothing after it ever matches, and heartbeats keep it open).
    const lastId = lastStoredId(info);
    if (afterId > lastId) {
      return { status: 400, message: `Last-Event-ID ${afterId} is beyond this channel's last event (${lastId}).` };
    }
    // A finished channel with nothing after the resume point: 204 is how the SSE spec tells an
    // EventSource to stop reconnecting (a 200 that closes makes a forgotten tab reconnect every
    // `retryMs` until the channel expires).
    if (info.finished && afterId === lastId) return { status: 204, message: '' };
    return { action, channel, afterId, info, format };
  }
}

/** Follows a channel into a Node `ServerResponse`. */
export class NodeSink extends Sink {
  readonly resumes = true;
  /** Replay writes whose bytes the socket has not taken yet. */
  #unflushed = 0;
  readonly #flushed = (): void => {
    this.#unflushed--;
    // With nothing of the replay left in the queue the consumer has room, whatever else waits.
    this.taken(this.#unflushed === 0);
  };

  constructor(
    private readonly res: ServerResponse,
    readonly bound: number,
    private readonly writer?: FormatWriting,
  ) {
    super();
  }

  get buffered(): number {
    return this.res.writableLength;
  }

  protected put(batch: Batch, live: boolean): boolean {
    const bytes = this.writer ? this.writer.batch(batch) : batch.bytes;
    if (!live) {
      if (bytes.length === 0) return true;
      // The callback runs once the socket took these bytes (or failed): the replay's pace.
      this.#unflushed++;
      this.res.write(bytes, this.#flushed);
      return true;
    }
    // What the socket has not yet taken is this follower's queue; a batch may always join it
    // while the queue is under the bound, so one large batch never drops a reader that keeps up.
    // Past the bound a follower is dropped, not waited for: it can reconnect and resume.
    if (this.res.writableLength > this.bound) return false;
    if (bytes.length > 0) this.res.write(bytes);
    return true;
  }

  heartbeat(): void {
    if (!this.closed) this.res.write(HEARTBEAT);
  }

  fail(error: SerializedStreamError): void {
    if (this.closed) return;
    this.res.write(this.writer ? this.writer.cut(error) : formatSSE({ event: 'error', data: JSON.stringify(error) }));
    this.close();
  }

  protected release(): void {
    this.writer?.dispose();
    if (!this.res.writableEnded) this.res.end();
  }

  protected cut(): void {
    this.writer?.dispose();
    this.res.destroy();
  }
}

/** Follows a channel into a Web `ReadableStream` (for `new Response()`). */
export class WebSink extends Sink {
  readonly resumes = true;
  #controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  readonly stream: ReadableStream<Uint8Array>;

  constructor(
    readonly bound: number,
    prelude: string,
    private readonly writer?: FormatWriting,
  ) {
    super();
    this.stream = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.#controller = controller;
          controller.enqueue(encoder.encode(prelude));
        },
        // The reader took a chunk and wants more: a replay waiting for room may go on.
        pull: () => this.taken(),
        cancel: () => this.close(),
      },
      { highWaterMark: bound, size: (chunk) => chunk.byteLength },
    );
  }

  get buffered(): number {
    return this.bound - (this.#controller?.desiredSize ?? this.bound);
  }

  protected put(batch: Batch, live: boolean): boolean {
    const bytes = this.writer ? this.writer.batch(batch) : batch.bytes;
    if (bytes.length > 0) this.#controller!.enqueue(bytes);
    return !live || this.buffered <= this.bound;
  }

  heartbeat(): void {
    if (!this.closed) this.#controller?.enqueue(encoder.encode(HEARTBEAT));
  }

  fail(error: SerializedStreamError): void {
    if (this.closed) return;
    this.#controller?.enqueue(encoder.encode(this.writer ? this.writer.cut(error) : formatSSE({ event: 'error', data: JSON.stringify(error) })));
    this.close();
  }

  protected release(): void {
    this.writer?.dispose();
    try {
      this.#controller?.close();
    } catch {
      // Already closed or errored by the reader's cancel.
    }
  }

  protected cut(): void {
    this.writer?.dispose();
    this.#controller?.error(new Error('dropped: the client fell too far behind the stream'));
  }
}

const encoder = new TextEncoder();

/**
 * A channel's writer in one format, shared by that format's followers in this process: each stored
 * event is written once, in id order, and its text kept for the followers that reach it later (a
 * follower replays from the first event). Released with its last follower.
 */
class SharedFormat {
  /** The SSE text of each event id written so far. */
  readonly #texts: string[] = [];
  #refs = 0;

  constructor(
    private readonly writer: HubFormatWriter,
    private readonly release: () => void,
  ) {}

  /** The text of a stored event. A follower reaches ids in order from 0, so the writer is never behind it. */
  text(entry: ChannelLogEntry): string {
    const known = this.#texts[entry.id];
    if (known !== undefined) return known;
    if (entry.id !== this.#texts.length) {
      throw new Error(`StreamHub format writer: event ${entry.id} arrived before event ${this.#texts.length} (a follower skipped ids).`);
    }
    const text = entry.type === 'error'
      ? this.writer.error(JSON.parse(entry.data) as SerializedStreamError, entry.id)
      : this.writer.event(eventOf(entry), entry.id);
    this.#texts.push(text);
    return text;
  }

  hold(): void {
    this.#refs++;
  }

  drop(): void {
    if (--this.#refs === 0) this.release();
  }
}

/** One follower's writing in a format: the shared writer's text after its resume point. */
export class FormatWriting {
  #started = false;
  #disposed = false;
  /** Where a live batch keeps its bytes in this format (one encoding for every follower past its resume point). */
  readonly #cacheKey: string;

  constructor(
    private readonly shared: SharedFormat,
    private readonly format: HubFormat,
    private readonly info: ChannelInfo,
    /** The follower's resume point: events up to it are not written again. */
    private readonly after: number,
  ) {
    shared.hold();
    this.#cacheKey = `format:${format.name}`;
  }

  batch(batch: Batch): Uint8Array {
    const entries = batch.entries;
    const whole = entries.length > 0 && entries[0]!.id > this.after;
    const cache = batch as unknown as Record<string, Uint8Array | undefined>;
    let bytes = whole ? cache[this.#cacheKey] : undefined;
    if (bytes === undefined) {
      let text = '';
      for (const entry of entries) {
        const out = this.shared.text(entry);
        if (entry.id > this.after) text += out;
      }
      bytes = encoder.encode(text);
      if (whole) cache[this.#cacheKey] = bytes;
    }
    if (bytes.length > 0) this.#started = true;
    return bytes;
  }

  cut(error: SerializedStreamError): string {
    return this.format.cut(this.info, error, this.#started);
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.shared.drop();
  }
}

/** A follower in a format replays from the first event (its writer needs them all); tokenflow's SSE after its resume point. */
function followFrom(outcome: { format: HubFormat | undefined; afterId: number }): number {
  return outcome.format ? -1 : outcome.afterId;
}

/** A handler's `action` option. */
type ActionPicker = (request: HubRequest) => 'follow' | 'stop';

/** How a handler picks a follower's format. */
interface FormatPicker {
  readonly byName: ReadonlyMap<string, HubFormat>;
  name(request: HubRequest): string | undefined;
}

function readHandlerOptions(
  options: unknown,
  fn: string,
): { pick: (request: HubRequest) => string | undefined; formats: FormatPicker; action: ActionPicker | undefined } {
  const o = readOptions(options, fn, ['channel', 'formats', 'format', 'action']);
  if (o.action !== undefined && typeof o.action !== 'function') {
    throw new InvalidArgumentError('options.action', `${fn}(): action must be a function (request) => 'follow' | 'stop'.`);
  }
  if (o.channel !== undefined && typeof o.channel !== 'function') {
    throw new InvalidArgumentError('options.channel', `${fn}(): channel must be a function (request) => string.`);
  }
  const byName = new Map<string, HubFormat>();
  if (o.formats !== undefined) {
    if (!Array.isArray(o.formats)) throw new InvalidArgumentError('options.formats', `${fn}(): formats must be an array of hub formats, such as [aguiHubFormat()].`);
    o.formats.forEach((format: unknown, i) => {
      const f = format as Partial<HubFormat> | null;
      if (typeof f !== 'object' || f === null || typeof f.name !== 'string' || f.name === '' || typeof f.open !== 'function' || typeof f.headers !== 'object' || f.headers === null) {
        throw new InvalidArgumentError(`options.formats[${i}]`, `${fn}(): formats[${i}] must be a hub format ({ name, headers, open }), such as aguiHubFormat() from tokenflow/ag-ui.`);
      }
      if (byName.has(f.name)) throw new InvalidArgumentError(`options.formats[${i}]`, `${fn}(): two formats are named "${f.name}".`);
      byName.set(f.name, f as HubFormat);
    });
  }
  if (o.format !== undefined && typeof o.format !== 'function') {
    throw new InvalidArgumentError('options.format', `${fn}(): format must be a function (request) => the format's name, or undefined for tokenflow's SSE.`);
  }
  const name = (o.format as ((request: HubRequest) => string | undefined) | undefined) ?? ((request: HubRequest) => request.url.searchParams.get('format') ?? undefined);
  return {
    pick: (o.channel as ((request: HubRequest) => string | undefined) | undefined) ?? channelFromPath,
    formats: { byName, name },
    action: o.action as ActionPicker | undefined,
  };
}

/** `/streams/<id>` → `<id>`; `POST /streams/<id>/stop` → `<id>`. */
function channelFromPath(request: HubRequest): string | undefined {
  const segments = request.url.pathname.split('/').filter(Boolean);
  let last = segments[segments.length - 1];
  if (last === 'stop' && request.method.toUpperCase() === 'POST') last = segments[segments.length - 2];
  if (last === undefined) return undefined;
  try {
    return decodeURIComponent(last);
  } catch {
    return undefined;
  }
}

function nodeRequest(req: IncomingMessage): HubRequest {
  return {
    method: req.method ?? 'GET',
    url: new URL(req.url ?? '/', 'http://localhost'),
    header(name) {
      const value = req.headers[name.toLowerCase()];
      return Array.isArray(value) ? value.join(', ') : value;
    },
    raw: req,
  };
}

function webRequest(request: Request): HubRequest {
  return {
    method: request.method,
    url: new URL(request.url),
    header: (name) => request.headers.get(name) ?? undefined,
    raw: request,
  };
}

function sendNode(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  // 204 has no body by definition (a follower at a finished channel's end).
  if (status === 204) {
    res.writeHead(204, { 'cache-control': 'no-store', ...headers }).end();
    return;
  }
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers });
  res.end(JSON.stringify({ error: message }));
}

function jsonResponse(status: number, message: string, headers: Record<string, string> = {}): Response {
  // A Response with status 204 and a body throws: 204 has none.
  if (status === 204) return new Response(null, { status, headers: { 'cache-control': 'no-store', ...headers } });
  return new Response(JSON.stringify({ error: message }), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers },
  });
}
