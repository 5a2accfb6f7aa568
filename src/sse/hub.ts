/**
 * `StreamHub`: one upstream request per channel, fanned out to any number of SSE followers that can
 * drop and resume by `Last-Event-ID`.
 */
import { Observable, throwError } from 'rxjs';
import { requireStream } from '../bridge/internal.js';
import { ChannelNotFoundError, InvalidArgumentError } from '../errors.js';
import type { TokenEvent } from '../events.js';
import { readOptions } from '../operators/internal.js';
import { isPlainObject, requireNumber } from '../validate.js';
import { InMemoryChannelLog, type ChannelInfo, type ChannelLog } from './channel-log.js';
import { checkErrorHook, checkLegacyOptions, type LegacyAnswerOptions, type StreamErrorHook } from './encode.js';
import { CHANNEL_ID, Follower, FollowerGroup, isResumePoint, lastStoredId, type DropReporter } from './hub-follower.js';
import { HubHttpFront, type AuthorizeHook, type HubFetchOptions, type HubHandlerOptions, type NodeHubHandler } from './hub-http.js';
import { Publication } from './hub-publication.js';
import { channelOutcome, isHubTelemetry, TelemetryGuard, type HubTelemetry, type PublishTrace } from './hub-telemetry.js';
import { ObserverSink, type HubMessage, type Sink } from './sinks.js';

export type { AuthorizeHook, AuthorizeResult, HubFetchOptions, HubFormat, HubFormatWriter, HubHandlerOptions, HubRequest, NodeHubHandler } from './hub-http.js';
export type { HubMessage } from './sinks.js';
export type { ChannelOutcome, FollowStart, FollowTrace, FollowerOutcome, HubTelemetry, PublishTrace, TraceCarrier } from './hub-telemetry.js';

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
   * resume); the others are never held up. Only the live entries count: a follower that joins or
   * resumes far back gets its replay as fast as it reads it (a page waits until it has taken most
   * of the one before), however long the answer.
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
  /**
   * Tracing: a trace context recorded with each channel at `publish` (in the shared log too), and a
   * record of each follower's HTTP request linked to it. Use `hubTelemetry()` from `tokenflow/otel`
   * for OpenTelemetry spans. A hook that throws is logged once and changes nothing else.
   * @defaultValue none: nothing is recorded
   */
  telemetry?: HubTelemetry;
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
  /**
   * Resume after this id (what the last message carried); omitted: replay from the start. An id
   * beyond the channel's last stored event is an error, as over HTTP (400).
   */
  lastEventId?: number;
}

const STOPPED = 'Stopped: the stream was cancelled for every follower.';
const HUB_OPTIONS = ['log', 'ttlMs', 'graceMs', 'heartbeatMs', 'retryMs', 'maxBufferedBytes', 'batchMs', 'authorize', 'onDrop', 'onError', 'telemetry'];

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
  readonly #telemetry: TelemetryGuard | undefined;
  readonly #published = new Map<string, Publication>();
  readonly #followers = new Map<string, FollowerGroup>();
  readonly #http: HubHttpFront;
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  readonly #offCancel: (() => void) | undefined;
  #closed = false;
  /** `close()` has ended this process's followers: a follower admitted from now on is ended at once. */
  #followersEnded = false;

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
    if (o.telemetry !== undefined && !isHubTelemetry(o.telemetry)) {
      throw new InvalidArgumentError('options.telemetry', 'new StreamHub(): telemetry must have publish() and follow() (use hubTelemetry() from tokenflow/otel).');
    }
    this.#telemetry = o.telemetry === undefined ? undefined : new TelemetryGuard(o.telemetry as HubTelemetry);
    this.#http = new HubHttpFront({
      log: this.#log,
      authorize: this.#authorize,
      retryMs: this.#retryMs,
      maxBufferedBytes: this.#maxBufferedBytes,
      telemetry: this.#telemetry,
      follow: (channel, sink, afterId) => this.#follow(channel, sink, afterId),
      stop: (channel) => this.stop(channel),
    });
    // A shared log tells this process when another server stops one of its channels, or when it
    // lost the right to write one.
    this.#offCancel = this.#log.onCancel?.((channel, reason) => {
      const pub = this.#published.get(channel);
      if (!pub || pub.finished) return;
      if (reason === 'stopped') pub.cancel('stopped', STOPPED);
      else pub.cancel('lost', `Lost: this server can no longer write channel "${channel}" (its ownership lease ran out or the store lost the channel), so the upstream request was cancelled.`);
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
    const meta = (o.meta as Record<string, unknown> | undefined) ?? {};
    const trace = this.#tracePublish(channel, meta);
    let created: boolean;
    try {
      created = await this.#log.create(channel, meta, carrierOf(trace));
    } catch (error) {
      this.#endTrace(trace, { status: 'error', errorName: 'RemoteStreamError', reason: 'lost', events: 0 });
      throw error;
    }
    if (!created) {
      this.#endTrace(trace, { status: 'error', errorName: 'InvalidArgumentError', events: 0 });
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
      this.#endTrace(trace, { status: 'error', errorName: 'StreamAbortedError', reason: 'stopped', events: 1 });
      throw new InvalidArgumentError('hub', 'hub.publish(): the hub was closed before the channel started; its stream was not subscribed.');
    }
    const pub = new Publication(
      channel,
      {
        log: this.#log,
        ttlMs: this.#ttlMs,
        graceMs: this.#graceMs,
        batchMs: this.#batchMs,
        onError: this.#onError,
        followerCount: (c) => this.followerCount(c),
        forget: (p) => {
          if (this.#published.get(p.channel) === p) this.#published.delete(p.channel);
          this.#endTrace(trace, channelOutcome(p.storedTerminal, p.recorded));
        },
        storeFailed: (p) => {
          // Without `partialText`: the text recorded includes events that were never stored, so each
          // follower reports the text it actually received.
          for (const follower of [...(this.#followers.get(p.channel)?.followers ?? [])]) {
            follower.fail({
              type: 'error',
              name: 'RemoteStreamError',
              message: `The channel log failed to store channel "${p.channel}"; the answer was cancelled.`,
              reason: 'lost',
            });
          }
        },
      },
      o.legacy as LegacyAnswerOptions | undefined,
    );
    this.#published.set(channel, pub);
    pub.checkFollowed();
    // `publish` still resolves when the stream fails at once: the channel exists and carries the failure.
    if (!trace) pub.start(stream);
    else {
      // The stream is subscribed in the publication's trace context (its spans are children of
      // it), and exactly once, whatever the hook does.
      let started = false;
      this.#telemetry!.call('publish().run', () => trace.run(() => {
        if (started) return;
        started = true;
        pub.start(stream);
      }));
      if (!started) pub.start(stream);
    }
  }

  /**
   * Follows a channel in this process: every event from the start (or after `lastEventId`) with
   * its id, completing after `done`. Errors with `RemoteStreamError` when the stream failed or was
   * stopped, or when the hub closes before the end reached this follower (reason `lost`: nothing
   * can resume it), with `ChannelNotFoundError` for an unknown channel, and with
   * `InvalidArgumentError` for a `lastEventId` beyond the channel's last stored event (the HTTP
   * endpoint's 400). Unsubscribing is only leaving: the upstream goes on for the other followers.
   */
  subscribe(channel: string, options: HubSubscribeOptions = {}): Observable<HubMessage> {
    let afterId: number;
    try {
      requireChannel(channel, 'subscribe');
      const o = readOptions(options, 'hub.subscribe', ['lastEventId']);
      afterId = o.lastEventId === undefined ? -1 : requireNumber(o.lastEventId, 'options.lastEventId', { min: -1, integer: true });
      if (!isResumePoint(afterId)) {
        throw new InvalidArgumentError('options.lastEventId', `hub.subscribe(): options.lastEventId must be an event id (a safe integer from -1), got ${afterId}.`);
      }
    } catch (error) {
      // Like every Observable tokenflow returns: bad input is the error of the subscription.
      return throwError(() => error);
    }
    return new Observable<HubMessage>((subscriber) => {
      const sink = new ObserverSink(subscriber);
      void this.#log.info(channel).then(
        (info) => {
          if (sink.closed) return;
          if (!info) {
            sink.closed = true;
            subscriber.error(new ChannelNotFoundError(channel));
            return;
          }
          const lastId = lastStoredId(info);
          if (afterId > lastId) {
            // The same rule as the HTTP endpoint's 400: nothing after an id the channel never
            // stored will ever match, so following from it would wait forever.
            sink.closed = true;
            subscriber.error(new InvalidArgumentError(
              'options.lastEventId',
              `hub.subscribe(): lastEventId ${afterId} is beyond the last event of channel "${channel}" (${lastId}); resume from an id this channel sent.`,
            ));
            return;
          }
          return this.#follow(channel, sink, afterId);
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
      pub.cancel('stopped', STOPPED);
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
    return this.#followers.get(channel)?.followers.size ?? 0;
  }

  /**
   * A Node request handler (for `http.createServer`, Express, or Fastify's raw request): `GET`
   * follows the channel as SSE (resuming after `Last-Event-ID` or a `lastEventId` query
   * parameter), `POST` stops it (204). Unknown channel: 404; refused by `authorize`: 403 or 401.
   */
  handler(options: HubHandlerOptions = {}): NodeHubHandler {
    return this.#http.handler(options);
  }

  /**
   * The same endpoint for Web-standard servers (Hono, Next.js route handlers, Bun, Deno): returns
   * the SSE `Response` for a `GET`, 204 for a `POST` stop, or the error status.
   */
  fetch(request: Request, options: HubFetchOptions = {}): Promise<Response> {
    return this.#http.fetch(request, options);
  }

  /**
   * Stops every running upstream in this process (its followers get reason `stopped`), ends every
   * follower and, when the hub created its own log, releases it. A follower whose channel has not
   * reached its end here is not told it succeeded: an SSE response ends without `done`, so its
   * client reconnects with `Last-Event-ID` (to another server, with a shared log); an in-process
   * `subscribe()` errors with `RemoteStreamError` (reason `lost`).
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const running = [...this.#published.values()];
    for (const pub of running) {
      if (!pub.finished) pub.cancel('stopped', 'Stopped: the stream hub was closed.');
      // Flush now, not next tick: followers must get the final entry before they are closed.
      pub.flush();
    }
    await Promise.all(running.map((p) => p.appended));
    this.#followersEnded = true;
    for (const group of this.#followers.values()) for (const follower of [...group.followers]) follower.hubClosed();
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
    this.#offCancel?.();
    if (this.#ownsLog) await this.#log.close();
  }

  // ---- tracing ----

  #tracePublish(channel: string, meta: Record<string, unknown>): PublishTrace | undefined {
    const guard = this.#telemetry;
    return guard?.call('publish()', () => guard.telemetry.publish(channel, meta)) ?? undefined;
  }

  #endTrace(trace: PublishTrace | undefined, outcome: Parameters<PublishTrace['end']>[0]): void {
    if (trace) this.#telemetry!.call('publish().end', () => trace.end(outcome));
  }

  // ---- following ----

  /** Adds a follower of `channel` after `afterId` on `sink`, and catches it up from the log. */
  #follow(channel: string, sink: Sink, afterId: number): Promise<void> {
    const follower = new Follower(channel, sink, afterId, this.#dropReporter(channel));
    if (this.#followersEnded) {
      // Admitted while the hub closed: nobody would ever end this follower.
      follower.hubClosed();
      return Promise.resolve();
    }
    let group = this.#followers.get(channel);
    if (!group) {
      const created = new FollowerGroup();
      created.unwatch = this.#log.watch(
        channel,
        (entries) => created.deliver(entries),
        (error) => created.fail(error),
      );
      this.#followers.set(channel, created);
      group = created;
    }
    const joined = group;
    joined.followers.add(follower);
    sink.onClose = () => this.#leave(channel, joined, follower);
    this.#published.get(channel)?.checkFollowed();
    this.#startHeartbeat();
    return follower.catchUp(this.#log);
  }

  #leave(channel: string, group: FollowerGroup, follower: Follower): void {
    group.followers.delete(follower);
    if (group.followers.size === 0 && this.#followers.get(channel) === group) {
      group.unwatch();
      this.#followers.delete(channel);
    }
    this.#published.get(channel)?.checkFollowed();
  }

  #startHeartbeat(): void {
    if (this.#heartbeat || this.#heartbeatMs === 0) return;
    this.#heartbeat = setInterval(() => {
      if (this.#followers.size === 0) {
        clearInterval(this.#heartbeat);
        this.#heartbeat = undefined;
        return;
      }
      for (const group of this.#followers.values()) for (const follower of group.followers) follower.tick();
    }, this.#heartbeatMs);
    this.#heartbeat.unref?.();
  }

  #dropReporter(channel: string): DropReporter {
    return (bufferedBytes, lastEventId) => {
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
    };
  }

  #assertOpen(method: string): void {
    if (this.#closed) throw new InvalidArgumentError('hub', `hub.${method}(): the hub is closed.`);
  }
}

/** The carrier to store: string fields only, so a hook's mistake cannot corrupt the channel's record. */
function carrierOf(trace: PublishTrace | undefined): Record<string, string> | undefined {
  const carrier = trace?.carrier;
  if (typeof carrier !== 'object' || carrier === null) return undefined;
  const out: Record<string, string> = {};
  let any = false;
  for (const [key, value] of Object.entries(carrier)) {
    if (typeof value === 'string') {
      out[key] = value;
      any = true;
    }
  }
  return any ? out : undefined;
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
