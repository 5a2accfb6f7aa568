/**
 * `StreamHub`: one upstream request per channel, fanned out to any number of SSE followers that can
 * drop and resume by `Last-Event-ID`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Observable, throwError, type Subscription } from 'rxjs';
import { requireStream } from '../bridge/internal.js';
import { ChannelNotFoundError, InvalidArgumentError, type RemoteStreamReason } from '../errors.js';
import type { TokenEvent } from '../events.js';
import { readOptions } from '../operators/internal.js';
import { operate } from '../operators/operate.js';
import { isPlainObject, requireNumber } from '../validate.js';
import { InMemoryChannelLog, type ChannelInfo, type ChannelLog, type ChannelLogEntry } from './channel-log.js';
import { AnswerTracker, checkErrorHook, checkLegacyOptions, isTokenEvent, reportStreamError, serializeError, SSE_HEADERS, type LegacyAnswerOptions, type StreamErrorHook } from './encode.js';
import { Batch, NodeSink, ObserverSink, WebSink, cacheEvent, isTerminal, type HubMessage, type Sink, type SinkLimits } from './sinks.js';

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

/** Why a follower was dropped, for logs and metrics. */
export interface DropInfo {
  channel: string;
  reason: 'slow-consumer';
  /** Bytes the follower had not yet taken when it was dropped. */
  bufferedBytes: number;
  /** The last id written to it: where its reconnect will resume. */
  lastEventId: number;
}

/** Options of `new StreamHub()`. */
export interface StreamHubOptions {
  /**
   * Where channels are kept. One server: the default in-memory log. Many servers: a shared log
   * such as the Redis one.
   * @defaultValue new InMemoryChannelLog()
   */
  log?: ChannelLog;
  /**
   * How long a finished channel stays readable, for late followers and reconnects.
   * @defaultValue 300_000 (5 minutes)
   */
  ttlMs?: number;
  /**
   * How long the upstream keeps going with nobody following (from `publish`, and after the last
   * follower drops), so a reconnecting browser finds its answer. After that it is cancelled, which
   * stops the provider's billing. `Infinity` keeps every answer going to its end.
   * @defaultValue 30_000
   */
  graceMs?: number;
  /**
   * How often an idle connection gets a heartbeat comment (`0`: never).
   * @defaultValue 15_000
   */
  heartbeatMs?: number;
  /**
   * The reconnection delay the hub asks browsers for (the SSE `retry:` field).
   * @defaultValue 1_000
   */
  retryMs?: number;
  /**
   * How many bytes may wait for one slow follower before it is dropped (it can reconnect and
   * resume); the others are never held up.
   * @defaultValue 1_048_576 (1 MiB)
   */
  maxBufferedBytes?: number;
  /**
   * How long events may wait to be stored and sent together (`0`: what was recorded in one tick of
   * the event loop goes out at the end of that tick). A larger value trades latency for fewer writes:
   * with Redis, one `XADD` per channel per window instead of one per token. The first token and the
   * terminal event never wait.
   * @defaultValue 0
   */
  batchMs?: number;
  /**
   * Who may follow or stop a channel; without it, anyone who knows a channel's id. Make it fail
   * closed (see the class example). A throw or rejection answers that one request with 500 and is
   * logged with `console.error`; the channel and its followers are unaffected.
   */
  authorize?: AuthorizeHook;
  /**
   * Called when a slow follower is dropped. A throw is logged with `console.error` and affects
   * nothing else: the follower is dropped all the same, and the others keep their stream.
   */
  onDrop?: (info: DropInfo) => void;
  /**
   * Gets the full error when a stream published here fails (with the channel in the report).
   * Followers only get a sanitised `error` event, so upstream text such as an error body that
   * echoes the API key stays on the server: log it here. A throw or rejection is reported with
   * `console.error` and affects nothing else.
   * @defaultValue logs the error with `console.error`
   */
  onError?: StreamErrorHook;
}

/** Options of `hub.publish()`. */
export interface PublishOptions {
  /** Stored with the channel and handed to `authorize` (an owner id, a conversation id, …). */
  meta?: Record<string, unknown>;
  /**
   * Also send the legacy `answer_streaming` event after each token, with `{ token,
   * partial_response, agent_id, conversation_id }`. Each one repeats the whole answer so far, so
   * the bytes grow with the square of the answer: only for front ends that need that payload.
   */
  legacy?: LegacyAnswerOptions;
}

/** Options of `hub.subscribe()`. */
export interface HubSubscribeOptions {
  /** Resume after this id (what the last message carried); omitted: replay from the start. */
  lastEventId?: number;
}

/** Options of `hub.handler()` and `hub.fetch()`. */
export interface HubHandlerOptions {
  /** Picks the channel from the request; default: the last path segment (before `/stop` on POST). */
  channel?: (request: HubRequest) => string | undefined;
}

/** Options of `hub.fetch()`: the channel itself (a route parameter), or how to pick it. */
export interface HubFetchOptions {
  channel?: string | ((request: HubRequest) => string | undefined);
}

/** A Node request handler: `GET` follows a channel over SSE, `POST` stops it. */
export type NodeHubHandler = (req: IncomingMessage, res: ServerResponse, channel?: string) => Promise<void>;

/** Channel ids: URL-safe, at most 200 characters (a `crypto.randomUUID()` fits). */
const CHANNEL_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$/;
/** Entries per replay read. */
const PAGE = 1_000;
const STOPPED = 'Stopped: the stream was cancelled for every follower.';
const HUB_OPTIONS = ['log', 'ttlMs', 'graceMs', 'heartbeatMs', 'retryMs', 'maxBufferedBytes', 'batchMs', 'authorize', 'onDrop', 'onError'];
const defer: (fn: () => void) => void =
  typeof setImmediate === 'function' ? (fn) => void setImmediate(fn) : (fn) => void setTimeout(fn, 0);

/** A channel whose upstream runs in this process. */
interface Publication {
  readonly channel: string;
  nextId: number;
  pending: ChannelLogEntry[];
  scheduled: boolean;
  /** The `batchMs` window's timer, while one is open. */
  batchTimer: ReturnType<typeof setTimeout> | undefined;
  /** A token was recorded already (the first one never waits for a batch window). */
  sawToken: boolean;
  /** The answer so far (a `reset` clears it): for the legacy payload and for errors. */
  readonly answer: AnswerTracker;
  subscription: Subscription | undefined;
  finished: boolean;
  grace: ReturnType<typeof setTimeout> | undefined;
  appended: Promise<void>;
}

/** The followers of one channel in this process, sharing one watch on the log. */
interface Followers {
  readonly sinks: Set<Sink>;
  unwatch: () => void;
}

/**
 * Fans one upstream stream per channel out to many SSE followers. A channel is named by an
 * unguessable id (use `crypto.randomUUID()`); `publish` makes exactly one upstream request however
 * many follow; a follower that drops reconnects with `Last-Event-ID` and gets exactly what it
 * missed. Disconnecting is not stopping: the upstream keeps going for `graceMs` with nobody
 * following, and only an authorized `stop(channel)` cancels it for everyone.
 *
 * @example
 * const hub = new StreamHub({
 *   // Fail closed: no signed-in user is 401, and a channel published without an owner matches nobody
 *   // (comparing two missing ids, `undefined === undefined`, would let everyone in).
 *   authorize: (req, channel) => {
 *     const userId = userOf(req);  // your session check: a user id, or undefined
 *     if (!userId) return { status: 401, message: 'Sign in first.' };
 *     return channel.meta.userId === userId;
 *   },
 * });
 * const channel = crypto.randomUUID();
 * await hub.publish(channel, llm.stream({ model, messages }), { meta: { userId } });
 * http.createServer(hub.handler()).listen(8080);  // GET /streams/<channel>, POST /streams/<channel>/stop
 */
export class StreamHub {
  readonly #log: ChannelLog;
  readonly #ownsLog: boolean;
  readonly #ttlMs: number;
  readonly #graceMs: number;
  readonly #heartbeatMs: number;
  readonly #retryMs: number;
  readonly #maxBufferedBytes: number;
  readonly #batchMs: number;
  readonly #authorize: AuthorizeHook | undefined;
  readonly #onDrop: ((info: DropInfo) => void) | undefined;
  readonly #onError: StreamErrorHook | undefined;
  readonly #published = new Map<string, Publication>();
  readonly #followers = new Map<string, Followers>();
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  readonly #offCancel: (() => void) | undefined;
  #closed = false;

  /**
   * @param options - see `StreamHubOptions`; every field is optional.
   * @throws InvalidArgumentError for an unknown or invalid option.
   */
  constructor(options: StreamHubOptions = {}) {
    const o = readOptions(options, 'new StreamHub', HUB_OPTIONS);
    if (o.log !== undefined && !isChannelLog(o.log)) {
      throw new InvalidArgumentError('options.log', 'new StreamHub(): log must implement ChannelLog (create, append, read, info, watch, expire, close).');
    }
    for (const key of ['authorize', 'onDrop'] as const) {
      if (o[key] !== undefined && typeof o[key] !== 'function') {
        throw new InvalidArgumentError(`options.${key}`, `new StreamHub(): ${key} must be a function.`);
      }
    }
    this.#ownsLog = o.log === undefined;
    this.#log = (o.log as ChannelLog | undefined) ?? new InMemoryChannelLog();
    this.#ttlMs = o.ttlMs === undefined ? 300_000 : requireNumber(o.ttlMs, 'options.ttlMs', { min: 0 });
    this.#graceMs = o.graceMs === undefined ? 30_000 : readGrace(o.graceMs);
    this.#heartbeatMs = o.heartbeatMs === undefined ? 15_000 : requireNumber(o.heartbeatMs, 'options.heartbeatMs', { min: 0 });
    this.#retryMs = o.retryMs === undefined ? 1_000 : requireNumber(o.retryMs, 'options.retryMs', { min: 0, integer: true });
    this.#maxBufferedBytes =
      o.maxBufferedBytes === undefined ? 1_048_576 : requireNumber(o.maxBufferedBytes, 'options.maxBufferedBytes', { min: 1 });
    this.#batchMs = o.batchMs === undefined ? 0 : requireNumber(o.batchMs, 'options.batchMs', { min: 0, max: 10_000 });
    this.#authorize = o.authorize as AuthorizeHook | undefined;
    this.#onDrop = o.onDrop as ((info: DropInfo) => void) | undefined;
    this.#onError = checkErrorHook(o.onError, 'options.onError');
    // A shared log tells this process when another server stops one of its channels, or when it
    // lost the right to write one.
    this.#offCancel = this.#log.onCancel?.((channel, reason) => {
      const pub = this.#published.get(channel);
      if (!pub || pub.finished) return;
      if (reason === 'stopped') this.#cancel(pub, 'stopped', STOPPED);
      else this.#cancel(pub, 'lost', `Lost: this server can no longer write channel "${channel}" (its ownership lease ran out or the store lost the channel), so the upstream request was cancelled.`);
    });
  }

  /**
   * Starts a channel: subscribes to `tokens$` once (one upstream request) and records every event
   * for the channel's followers. Resolves when the channel exists, so a follower can connect.
   *
   * @param channel - the channel's id; make it unguessable (`crypto.randomUUID()`).
   * @param tokens$ - the answer, e.g. `llm.stream(request)`.
   * @throws InvalidArgumentError (rejected) for a bad id or stream, an id already in use, or a hub
   *   closed before the channel started (its stream is then never subscribed).
   */
  async publish(channel: string, tokens$: Observable<TokenEvent>, options: PublishOptions = {}): Promise<void> {
    this.#assertOpen('publish');
    requireChannel(channel, 'publish');
    const stream = requireStream(tokens$, 'hub.publish');
    const o = readOptions(options, 'hub.publish', ['meta', 'legacy']);
    if (o.meta !== undefined && !isPlainObject(o.meta)) throw new InvalidArgumentError('options.meta', 'hub.publish(): meta must be a plain object.');
    if (o.legacy !== undefined) checkLegacyOptions(o.legacy, 'hub.publish() options.legacy');
    if (!(await this.#log.create(channel, (o.meta as Record<string, unknown> | undefined) ?? {}))) {
      throw new InvalidArgumentError('channel', `hub.publish(): channel "${channel}" already exists; use a fresh id (crypto.randomUUID()).`);
    }
    if (this.#closed) {
      // close() ran while the log created the channel: it cancelled only the channels it could see,
      // so subscribing now would start an upstream request nobody can ever stop. End the channel
      // instead (best effort: the hub's own log is closed already), so a follower on a shared log
      // gets an ending rather than a channel that never moves.
      const stopped = { type: 'error', name: 'StreamAbortedError', message: 'Stopped: the stream hub was closed.', reason: 'stopped' };
      void Promise.resolve()
        .then(() => this.#log.append(channel, [{ id: 0, type: 'error', data: JSON.stringify(stopped) }]))
        .then(() => this.#log.expire(channel, this.#ttlMs))
        .catch(() => undefined);
      throw new InvalidArgumentError('hub', 'hub.publish(): the hub was closed before the channel started; its stream was not subscribed.');
    }
    const pub: Publication = {
      channel,
      nextId: 0,
      pending: [],
      scheduled: false,
      batchTimer: undefined,
      sawToken: false,
      answer: new AnswerTracker(o.legacy as LegacyAnswerOptions | undefined),
      subscription: undefined,
      finished: false,
      grace: undefined,
      appended: Promise.resolve(),
    };
    this.#published.set(channel, pub);
    this.#checkFollowed(pub);
    let sawDone = false;
    // Through operate(): a source whose subscribe throws, or an event the hub's own code cannot
    // record, ends the channel with an error for its followers (never an uncaught exception, never a
    // channel left open), and a channel that ends while a synchronous source is still emitting lets
    // go of it at once. `publish` still resolves: the channel exists and carries the failure.
    new Observable<never>((subscriber) => {
      pub.subscription = subscriber;
      operate(stream, subscriber, {
        next: (event) => {
          if (!isTokenEvent(event)) {
            this.#cancelWith(pub, {
              type: 'error',
              name: 'InvalidArgumentError',
              message: 'The published stream emitted something that is not a TokenEvent.',
              partialText: pub.answer.text,
            });
            return;
          }
          if (event.type === 'done') sawDone = true;
          this.#record(pub, event);
        },
      });
    }).subscribe({
      error: (error: unknown) => {
        const sent = serializeError(error, pub.answer.text);
        this.#cancelWith(pub, sent);
        reportStreamError(this.#onError, error, { partialText: sent.partialText ?? '', sent, channel: pub.channel });
      },
      complete: () => {
        if (!sawDone) {
          this.#finish(pub, {
            type: 'error',
            name: 'ProtocolError',
            message: 'The published stream completed without a done event.',
            partialText: pub.answer.text,
          });
        }
      },
    });
  }

  /**
   * Follows a channel in this process: every event from the start (or after `lastEventId`) with
   * its id, completing after `done`. Errors with `RemoteStreamError` when the stream failed or was
   * stopped, and `ChannelNotFoundError` for an unknown channel. Unsubscribing is only leaving: the
   * upstream goes on for the other followers.
   */
  subscribe(channel: string, options: HubSubscribeOptions = {}): Observable<HubMessage> {
    let afterId: number;
    try {
      requireChannel(channel, 'subscribe');
      const o = readOptions(options, 'hub.subscribe', ['lastEventId']);
      afterId = o.lastEventId === undefined ? -1 : requireNumber(o.lastEventId, 'options.lastEventId', { min: -1, integer: true });
    } catch (error) {
      // Like every Observable tokenflow returns: bad input is the error of the subscription.
      return throwError(() => error);
    }
    return new Observable<HubMessage>((subscriber) => {
      const sink = new ObserverSink(subscriber, afterId);
      void this.#log.info(channel).then(
        (info) => {
          if (sink.closed) return;
          if (!info) {
            sink.closed = true;
            subscriber.error(new ChannelNotFoundError(channel));
            return;
          }
          return this.#follow(channel, sink);
        },
      ).catch((error: unknown) => {
        // The log failed (a lost connection to a shared store): this follower cannot go on.
        subscriber.error(error);
        sink.close();
      });
      return () => sink.close();
    });
  }

  /**
   * Cancels a channel's upstream request for every follower; they get an `error` event with reason
   * `stopped` and the partial text. Resolves `true` when it stopped a running stream, `false` when
   * the stream had already finished. With a shared log (Redis), a channel published on another
   * server is stopped there: this resolves `true` once its owner was asked, and the followers get
   * the `stopped` event when the owner has cancelled.
   *
   * @throws ChannelNotFoundError (rejected) for an unknown or expired channel.
   */
  async stop(channel: string): Promise<boolean> {
    requireChannel(channel, 'stop');
    const pub = this.#published.get(channel);
    if (pub && !pub.finished) {
      this.#cancel(pub, 'stopped', STOPPED);
      return true;
    }
    if (!pub && this.#log.requestStop) {
      const asked = await this.#log.requestStop(channel);
      if (asked === undefined) throw new ChannelNotFoundError(channel);
      return asked;
    }
    if (!(await this.#log.info(channel))) throw new ChannelNotFoundError(channel);
    return false;
  }

  /** The channel's state, or `undefined` when it does not exist (never published, or expired). */
  info(channel: string): Promise<ChannelInfo | undefined> {
    try {
      requireChannel(channel, 'info');
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#log.info(channel);
  }

  /** How many followers this process serves for the channel right now (with Redis: on this server). */
  followerCount(channel: string): number {
    requireChannel(channel, 'followerCount');
    return this.#followers.get(channel)?.sinks.size ?? 0;
  }

  /**
   * A Node request handler (for `http.createServer`, Express, or Fastify's raw request): `GET`
   * follows the channel as SSE (resuming after `Last-Event-ID` or a `lastEventId` query
   * parameter), `POST` stops it (204). Unknown channel: 404; refused by `authorize`: 403 or 401.
   */
  handler(options: HubHandlerOptions = {}): NodeHubHandler {
    const pick = readHandlerOptions(options, 'hub.handler');
    return async (req, res, channelArg) => {
      const request = nodeRequest(req);
      // The client may leave while authorize() or the log answers; 'close' would not fire again.
      let gone = false;
      res.once('close', () => (gone = true));
      try {
        const outcome = await this.#admit(request, channelArg ?? pick(request));
        if (gone) return;
        if ('status' in outcome) {
          sendNode(res, outcome.status, outcome.message, outcome.headers);
          return;
        }
        if (outcome.action === 'stop') {
          await this.stop(outcome.channel);
          res.writeHead(204).end();
          return;
        }
        res.writeHead(200, { ...SSE_HEADERS });
        res.write(`retry: ${this.#retryMs}\n\n`);
        const sink = new NodeSink(res, outcome.afterId, this.#limits(outcome.channel));
        res.on('close', () => sink.close());
        await this.#follow(outcome.channel, sink);
      } catch {
        // A plain http server does not await its handler: answer with the failure rather than
        // rethrowing into an unhandled rejection.
        if (!res.headersSent) sendNode(res, 500, 'The stream hub failed to serve this request.');
        else res.destroy();
      }
    };
  }

  /**
   * The same endpoint for Web-standard servers (Hono, Next.js route handlers, Bun, Deno): returns
   * the SSE `Response` for a `GET`, 204 for a `POST` stop, or the error status.
   */
  async fetch(request: Request, options: HubFetchOptions = {}): Promise<Response> {
    if (typeof request !== 'object' || request === null || typeof request.url !== 'string' || typeof request.headers?.get !== 'function') {
      throw new InvalidArgumentError('request', 'hub.fetch(): the first argument must be a Web Request (for Node http, use hub.handler()).');
    }
    const fixed = typeof options.channel === 'string' ? options.channel : undefined;
    const pick = readHandlerOptions(fixed === undefined ? options : {}, 'hub.fetch');
    const hubRequest = webRequest(request);
    const outcome = await this.#admit(hubRequest, fixed ?? pick(hubRequest));
    if ('status' in outcome) return jsonResponse(outcome.status, outcome.message, outcome.headers);
    if (request.signal?.aborted && outcome.action === 'follow') return new Response(null, { status: 499 });
    if (outcome.action === 'stop') {
      await this.stop(outcome.channel);
      return new Response(null, { status: 204 });
    }
    const sink = new WebSink(outcome.afterId, this.#limits(outcome.channel), `retry: ${this.#retryMs}\n\n`);
    request.signal?.addEventListener('abort', () => sink.close(), { once: true });
    this.#follow(outcome.channel, sink).catch(() => {
      // The log failed mid-replay: end this response; the browser reconnects and resumes.
      sink.close();
    });
    return new Response(sink.stream, { status: 200, headers: { ...SSE_HEADERS } });
  }

  /**
   * Stops every running upstream in this process, ends every follower and, when the hub created
   * its own log, releases it.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const pub of this.#published.values()) {
      if (!pub.finished) this.#cancel(pub, 'stopped', 'Stopped: the stream hub was closed.');
      // Flush now, not next tick: followers must get the final entry before they are closed.
      this.#flush(pub);
    }
    await Promise.all([...this.#published.values()].map((p) => p.appended));
    for (const followers of this.#followers.values()) for (const sink of followers.sinks) sink.close();
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    this.#offCancel?.();
    if (this.#ownsLog) await this.#log.close();
  }

  // ---- publishing ----

  #record(pub: Publication, event: TokenEvent): void {
    if (pub.finished) return;
    // Serialise first: an event that cannot be (a cycle, a BigInt) throws before it takes an id, so
    // the error entry that ends the channel follows without a hole (a replay would read a hole as gone).
    const data = JSON.stringify(event);
    const extra = pub.answer.record(event);
    const entry: ChannelLogEntry = extra === undefined
      ? { id: pub.nextId++, type: event.type, data }
      : { id: pub.nextId++, type: event.type, data, extra };
    // In-process followers get this very object back instead of parsing `data` again.
    cacheEvent(entry, event);
    this.#enqueue(pub, entry);
    if (event.type === 'done') this.#end(pub);
  }

  #finish(pub: Publication, error: ReturnType<typeof serializeError>): void {
    if (pub.finished) return;
    this.#enqueue(pub, { id: pub.nextId++, type: 'error', data: JSON.stringify(error) });
    this.#end(pub);
  }

  #cancel(pub: Publication, reason: RemoteStreamReason, message: string): void {
    this.#cancelWith(pub, { type: 'error', name: 'StreamAbortedError', message, partialText: pub.answer.text, reason });
  }

  #cancelWith(pub: Publication, error: ReturnType<typeof serializeError>): void {
    if (pub.finished) return;
    this.#finish(pub, error);
    // Unsubscribing aborts the provider's HTTP request.
    pub.subscription?.unsubscribe();
  }

  #end(pub: Publication): void {
    pub.finished = true;
    if (pub.grace) clearTimeout(pub.grace);
    pub.grace = undefined;
  }

  /**
   * Entries written in one tick (or, with `batchMs`, one window) go to the log, and to every
   * follower, as one batch. The first token and the terminal entry close the window at once.
   */
  #enqueue(pub: Publication, entry: ChannelLogEntry): void {
    pub.pending.push(entry);
    let urgent = this.#batchMs === 0 || isTerminal(entry);
    if (entry.type === 'token' && !pub.sawToken) {
      pub.sawToken = true;
      urgent = true;
    }
    if (pub.scheduled && !(urgent && pub.batchTimer)) return;
    if (pub.batchTimer) clearTimeout(pub.batchTimer);
    pub.batchTimer = undefined;
    pub.scheduled = true;
    if (urgent) defer(() => this.#flush(pub));
    else pub.batchTimer = setTimeout(() => this.#flush(pub), this.#batchMs);
  }

  #flush(pub: Publication): void {
    if (pub.batchTimer) clearTimeout(pub.batchTimer);
    pub.batchTimer = undefined;
    pub.scheduled = false;
    const entries = pub.pending;
    pub.pending = [];
    const last = entries[entries.length - 1];
    if (!last) return;
    pub.appended = pub.appended
      .then(() => this.#log.append(pub.channel, entries))
      .then(async () => {
        if (isTerminal(last)) {
          this.#published.delete(pub.channel);
          await this.#log.expire(pub.channel, this.#ttlMs);
        }
      })
      .catch(() => {
        // The log refused the write: nothing more can reach followers, so stop paying upstream and
        // tell this process's followers rather than leave them waiting.
        if (!pub.finished) this.#end(pub);
        pub.subscription?.unsubscribe();
        this.#published.delete(pub.channel);
        // Without `partialText`: the text recorded includes events that were never stored, so each
        // follower reports the text it actually received.
        for (const sink of this.#followers.get(pub.channel)?.sinks ?? []) {
          sink.fail({
            type: 'error',
            name: 'RemoteStreamError',
            message: `The channel log failed to store channel "${pub.channel}"; the answer was cancelled.`,
            reason: 'lost',
          });
        }
      });
  }

  /** Starts or clears the grace timer of a channel published here, from its follower count. */
  #checkFollowed(pub: Publication): void {
    if (pub.finished) return;
    const followed = this.followerCount(pub.channel) > 0;
    if (followed && pub.grace) {
      clearTimeout(pub.grace);
      pub.grace = undefined;
    } else if (!followed && !pub.grace && this.#graceMs !== Infinity) {
      this.#armGrace(pub);
    }
  }

  #armGrace(pub: Publication): void {
    pub.grace = setTimeout(() => {
      pub.grace = undefined;
      if (pub.finished || this.followerCount(pub.channel) > 0) return;
      const abandon = (): void => {
        if (!pub.finished && !pub.grace && this.followerCount(pub.channel) === 0) {
          this.#cancel(pub, 'abandoned', `Abandoned: nobody followed the channel for ${this.#graceMs} ms, so the upstream request was cancelled.`);
        }
      };
      if (!this.#log.isFollowed) return abandon();
      // Followers on other servers keep the upstream going; if the store cannot tell, wait again
      // rather than cancel an answer someone may be reading.
      this.#log.isFollowed(pub.channel).then(
        (followed) => (followed ? !pub.finished && !pub.grace && this.#armGrace(pub) : abandon()),
        () => !pub.finished && !pub.grace && this.#armGrace(pub),
      );
    }, this.#graceMs);
    pub.grace.unref?.();
  }

  // ---- following ----

  /** Replays from the log after `sink.lastId`, then switches the sink to live entries. */
  async #follow(channel: string, sink: Sink): Promise<void> {
    let followers = this.#followers.get(channel);
    if (!followers) {
      const created: Followers = { sinks: new Set(), unwatch: () => {} };
      created.unwatch = this.#log.watch(channel, (entries) => this.#deliver(channel, created, entries));
      this.#followers.set(channel, created);
      followers = created;
    }
    const group = followers;
    group.sinks.add(sink);
    sink.onClose = () => this.#leave(channel, group, sink);
    const pub = this.#published.get(channel);
    if (pub) this.#checkFollowed(pub);
    this.#startHeartbeat();

    for (;;) {
      const page = await this.#log.read(channel, sink.lastId, PAGE);
      if (sink.closed) return;
      if (page === undefined) {
        sink.fail({ type: 'error', name: 'ChannelNotFoundError', message: `Channel "${channel}" expired.`, reason: 'gone' });
        return;
      }
      const first = page[0];
      if (first !== undefined && first.id > sink.lastId + 1) {
        this.#gone(sink, channel);
        return;
      }
      if (first !== undefined) {
        // A shared store that lost writes leaves a hole in the ids: deliver up to it, then say so.
        const hole = page.findIndex((e, i) => i > 0 && e.id !== page[i - 1]!.id + 1);
        if (hole !== -1) {
          sink.deliver(new Batch(page.slice(0, hole)));
          if (!sink.closed) this.#gone(sink, channel);
          return;
        }
        sink.deliver(new Batch(page));
      }
      if (sink.closed || page.length === PAGE) continue;
      if (first === undefined && sink.buffer.length === 0) {
        // Nothing after the resume point: if the channel already ended there, so does this follower.
        const info = await this.#log.info(channel);
        if (sink.closed) return;
        if (info?.finished && sink.lastId >= info.nextId - 1) {
          sink.close();
          return;
        }
      }
      // Caught up with the log: entries that arrived live meanwhile follow, unless there is a gap.
      const live = sink.buffer.filter((e) => e.id > sink.lastId);
      const next = live[0];
      if (next !== undefined && next.id > sink.lastId + 1) continue;
      sink.buffer = [];
      sink.catchingUp = false;
      if (next !== undefined) sink.deliver(new Batch(live));
      return;
    }
  }

  #gone(sink: Sink, channel: string): void {
    sink.fail({
      type: 'error',
      name: 'RemoteStreamError',
      message: `Cannot resume channel "${channel}" after event ${sink.lastId}: the replay buffer no longer holds the events after it.`,
      reason: 'gone',
    });
  }

  #deliver(channel: string, group: Followers, entries: readonly ChannelLogEntry[]): void {
    if (entries.length === 0) return;
    const batch = new Batch(entries);
    const firstId = entries[0]!.id;
    for (const sink of group.sinks) {
      if (sink.catchingUp) {
        for (const e of entries) sink.buffer.push(e);
      } else if (firstId === sink.lastId + 1) {
        sink.deliver(batch);
      } else {
        const unseen = entries.filter((e) => e.id > sink.lastId);
        if (unseen.length > 0 && unseen[0]!.id > sink.lastId + 1) this.#gone(sink, channel);
        else if (unseen.length > 0) sink.deliver(new Batch(unseen));
      }
    }
  }

  #leave(channel: string, group: Followers, sink: Sink): void {
    group.sinks.delete(sink);
    if (group.sinks.size === 0 && this.#followers.get(channel) === group) {
      group.unwatch();
      this.#followers.delete(channel);
    }
    const pub = this.#published.get(channel);
    if (pub) this.#checkFollowed(pub);
  }

  #startHeartbeat(): void {
    if (this.#heartbeat || this.#heartbeatMs === 0) return;
    this.#heartbeat = setInterval(() => {
      if (this.#followers.size === 0) {
        clearInterval(this.#heartbeat);
        this.#heartbeat = undefined;
        return;
      }
      for (const group of this.#followers.values()) for (const sink of group.sinks) sink.tick();
    }, this.#heartbeatMs);
    this.#heartbeat.unref?.();
  }

  #limits(channel: string): SinkLimits {
    return {
      maxBufferedBytes: this.#maxBufferedBytes,
      onDrop: (bufferedBytes, lastEventId) => {
        if (!this.#onDrop) return;
        try {
          this.#onDrop({ channel, reason: 'slow-consumer', bufferedBytes, lastEventId });
        } catch (error) {
          // The hook runs inside the delivery of a batch to every follower: a throw escaping here
          // would skip the others and fail the log's append, ending the channel for everyone and
          // leaving it unexpired. The drop itself still happens. Logged, not rethrown on a later
          // tick (that would crash the process): a broken hook is the server's bug, for its log.
          console.error(`tokenflow StreamHub: onDrop threw for channel "${channel}"; the follower was dropped anyway.`, error);
        }
      },
    };
  }

  /** Routing, existence and authorization shared by the Node and Web endpoints. */
  async #admit(
    request: HubRequest,
    channel: string | undefined,
  ): Promise<
    | { status: number; message: string; headers?: Record<string, string> }
    | { action: 'follow'; channel: string; afterId: number }
    | { action: 'stop'; channel: string }
  > {
    const method = request.method.toUpperCase();
    if (method !== 'GET' && method !== 'POST') {
      return { status: 405, message: 'Use GET to follow a channel or POST to stop it.', headers: { allow: 'GET, POST' } };
    }
    if (channel === undefined || !CHANNEL_ID.test(channel)) return { status: 404, message: 'No such channel.' };
    const info = await this.#log.info(channel);
    if (!info) return { status: 404, message: `No channel "${channel}": it was never published, or it expired.` };
    const action = method === 'GET' ? 'follow' : 'stop';
    let verdict: AuthorizeResult = true;
    if (this.#authorize) {
      try {
        verdict = await this.#authorize(request, info, action);
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
    if (raw === undefined || raw === '') return { action, channel, afterId: -1 };
    const afterId = Number(raw);
    if (!Number.isInteger(afterId) || afterId < -1) {
      return { status: 400, message: `Last-Event-ID must be an event id (an integer), got ${JSON.stringify(raw.slice(0, 40))}.` };
    }
    // Every id a follower can hold was stored before anyone was sent it (a shared log included:
    // entries reach watchers only after their append), so `info.nextId - 1` bounds every real resume
    // point, running or finished. An id beyond it names events this channel never had: answering 200
    // would hold that follower forever (nothing after it ever matches, and heartbeats keep it open).
    const lastId = info.nextId - 1;
    if (afterId > lastId) {
      return { status: 400, message: `Last-Event-ID ${afterId} is beyond this channel's last event (${lastId}).` };
    }
    // A finished channel with nothing after the resume point: 204 is how the SSE spec tells an
    // EventSource to stop reconnecting (a 200 that closes makes a forgotten tab reconnect every
    // `retryMs` until the channel expires).
    if (info.finished && afterId === lastId) return { status: 204, message: '' };
    return { action, channel, afterId };
  }

  #assertOpen(method: string): void {
    if (this.#closed) throw new InvalidArgumentError('hub', `hub.${method}(): the hub is closed.`);
  }
}

function isChannelLog(value: unknown): value is ChannelLog {
  if (typeof value !== 'object' || value === null) return false;
  const log = value as Record<string, unknown>;
  return ['create', 'append', 'read', 'info', 'watch', 'expire', 'close'].every((m) => typeof log[m] === 'function');
}

function readGrace(value: unknown): number {
  if (value === Infinity) return Infinity;
  return requireNumber(value, 'options.graceMs', { min: 0 });
}

function requireChannel(channel: unknown, method: string): asserts channel is string {
  if (typeof channel !== 'string' || !CHANNEL_ID.test(channel)) {
    throw new InvalidArgumentError(
      'channel',
      `hub.${method}(): a channel id is 1 to 200 characters of letters, digits and . _ : - (use crypto.randomUUID()), got ${
        typeof channel === 'string' ? JSON.stringify(channel.slice(0, 40)) : typeof channel
      }.`,
    );
  }
}

function readHandlerOptions(options: unknown, fn: string): (request: HubRequest) => string | undefined {
  const o = readOptions(options, fn, ['channel']);
  if (o.channel !== undefined && typeof o.channel !== 'function') {
    throw new InvalidArgumentError('options.channel', `${fn}(): channel must be a function (request) => string.`);
  }
  return (o.channel as ((request: HubRequest) => string | undefined) | undefined) ?? channelFromPath;
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

export type { HubMessage } from './sinks.js';
