/**
 * One subscription of `fromSSE()`: the state that outlives each connection (the last event id,
 * the answer text so far, the reconnection budget), whichever transport carries the messages.
 *
 * A reconnect either resumes the same stream or lands on a new one. A `StreamHub` numbers its events
 * and resumes after `Last-Event-ID`, so replayed ids at or below the last one are dropped. A plain
 * `toSSE`/`pipeSSE` route sends no ids and starts a new answer per request: the client emits `reset`
 * and then the new answer whole, never a text joined from two answers.
 *
 * Browser-safe: imports nothing from Node.
 */
import type { Subscriber } from 'rxjs';
import {
  ConnectionError,
  ProtocolError,
  REMOTE_STREAM_REASONS,
  RemoteStreamError,
  StreamAbortedError,
  type RemoteStreamReason,
  type SerializedStreamError,
  type StreamErrorContext,
  type TokenflowError,
} from '../errors.js';
import { TOKEN_EVENT_TYPES, type TokenEvent } from '../events.js';
import { backoffDelay } from '../internal/backoff.js';
import { displayUrl } from '../internal/display-url.js';
import { PartialText } from '../internal/partial-text.js';
import { isKnownProviderErrorType } from './error-types.js';
import type { ClientSettings } from './options.js';

/** The SSE event names tokenflow's wire format uses; anything else (`answer_streaming`) is ignored. */
export const EVENT_TYPES: readonly string[] = [...TOKEN_EVENT_TYPES, 'error'];
const KNOWN_EVENTS: ReadonlySet<string> = new Set(EVENT_TYPES);
/** A sequence id as tokenflow writes it: a non-negative integer. */
const SEQUENCE = /^\d{1,15}$/;

/** One open connection, whatever its transport. */
export interface Connection {
  /** Closes it for good; no callback follows. */
  close(): void;
}

/** What a transport calls back into. */
export interface ConnectionSink {
  /** One SSE message (`event` is `undefined` when the message had no `event:` line). */
  message(event: string | undefined, data: string, id: string | undefined): void;
  /** The server's `retry:` field. */
  retry(milliseconds: number): void;
  /**
   * The connection failed or ended before `done` / `error`. A retryable error (see
   * `isRetryable`) reconnects while the budget lasts; `retryAfterMs` is the server's `Retry-After`.
   */
  lost(error: TokenflowError, retryAfterMs?: number): void;
  /**
   * The transport reconnects by itself (a browser `EventSource`): spends one attempt of the budget,
   * or, when it is spent, ends the stream with `error`. Returns `false` when the stream ended.
   */
  retrying(error: TokenflowError): boolean;
  /** The resume point to send with the next connection (`undefined` before any id). */
  readonly lastEventId: string | undefined;
  /** `true` once the stream ended (done, error, unsubscribed): transports stop at once. */
  readonly finished: boolean;
}

/** Opens one connection for a session. */
export type Connect = (settings: ClientSettings, sink: ConnectionSink) => Connection;

/** `true` for errors where connecting again may succeed. */
function isRetryable(error: TokenflowError): boolean {
  return (error as { retryable?: unknown }).retryable === true;
}

/** One subscription's state across its connections. */
export class Session implements ConnectionSink {
  finished = false;
  lastEventId: string | undefined;
  /** The numeric form of `lastEventId`, for dropping replayed messages. */
  private lastSequence: number | undefined;
  /** The answer text received so far (a `reset` empties it). */
  private readonly text = new PartialText();
  /** Whether any event was delivered: before that, errors carry no partial text. */
  private delivered = false;
  /**
   * Set when a new connection replaces a lost one, until its first event shows whether it continues
   * the stream (see `continues`).
   */
  private reconnected = false;
  /** The `t` of the last event delivered, for a `reset` the client makes up itself. */
  private lastT = 0;
  /** Reconnection attempts since the last new event. */
  private failures = 0;
  private serverRetryMs: number | undefined;
  private connection: Connection | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly settings: ClientSettings,
    private readonly subscriber: Subscriber<TokenEvent>,
    private readonly connect: Connect,
  ) {
    this.lastEventId = settings.lastEventId;
    if (settings.lastEventId !== undefined && SEQUENCE.test(settings.lastEventId)) {
      this.lastSequence = Number(settings.lastEventId);
    }
  }

  begin(): void {
    const signal = this.settings.signal;
    if (signal) {
      if (signal.aborted) return this.abort();
      signal.addEventListener('abort', this.abort, { once: true });
    }
    this.open();
  }

  /** Closes everything; safe to call more than once. Runs as the Observable's teardown. */
  teardown(): void {
    this.finished = true;
    this.settings.signal?.removeEventListener('abort', this.abort);
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const connection = this.connection;
    this.connection = undefined;
    connection?.close();
  }

  // ---- ConnectionSink ----

  message(event: string | undefined, data: string, id: string | undefined): void {
    if (this.finished) return;
    // The fetch transport bounds what its parser buffers; this catches an event that arrived whole
    // (a browser EventSource buffers the event before we see it: we can only refuse it and close).
    if (data.length > this.settings.maxEventSize) return this.fail(eventTooLarge(this.settings));
    if (event === undefined || !KNOWN_EVENTS.has(event)) return;
    // An `error` is never a replay: it ends the stream whatever id it carries.
    const sequence = id !== undefined && SEQUENCE.test(id) ? Number(id) : undefined;
    // The first event after a reconnect tells a resumed stream from a new one. An `error` says
    // nothing about that (a hub's `gone` has no id) and ends the stream anyway.
    const restart = event !== 'error' && this.reconnected && this.delivered && !this.continues(id, sequence);
    if (event !== 'error') this.reconnected = false;
    if (!restart && event !== 'error' && sequence !== undefined && this.lastSequence !== undefined && sequence <= this.lastSequence) {
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(data);
    } catch (error) {
      return this.fail(new ProtocolError(`The server sent malformed JSON in an \`${event}\` event.`, data, { cause: error }));
    }
    if (event === 'error') return this.remoteError(parsed);
    if (typeof parsed !== 'object' || parsed === null || (parsed as { type?: unknown }).type !== event) {
      return this.fail(new ProtocolError(`The data of an \`${event}\` event is not a ${event} event.`, data));
    }
    const wrong = malformedField(parsed as Record<string, unknown>);
    if (wrong !== undefined) {
      return this.fail(new ProtocolError(`The \`${event}\` event's ${wrong}: the server does not speak tokenflow's event format.`, data));
    }
    if (restart) {
      this.startOver();
      // A consumer may unsubscribe on the `reset` itself.
      if (this.finished) return;
    }
    if (id !== undefined && id !== '') {
      this.lastEventId = id;
      if (sequence !== undefined) this.lastSequence = sequence;
    }
    const tokenEvent = parsed as TokenEvent;
    this.failures = 0;
    this.delivered = true;
    if (typeof tokenEvent.t === 'number') this.lastT = tokenEvent.t;
    this.text.add(tokenEvent);
    this.subscriber.next(tokenEvent);
    if (tokenEvent.type === 'done' && !this.finished) {
      this.finished = true;
      this.subscriber.complete();
    }
  }

  retry(milliseconds: number): void {
    this.serverRetryMs = milliseconds;
  }

  lost(error: TokenflowError, retryAfterMs?: number): void {
    if (this.finished) return;
    this.connection = undefined;
    if (!this.spend(error)) return;
    this.reconnected = true;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.open();
    }, this.delay(retryAfterMs));
  }

  retrying(error: TokenflowError): boolean {
    if (this.finished || !this.spend(error)) return false;
    this.reconnected = true;
    return true;
  }

  // ---- helpers ----

  /**
   * Whether the first event of a reconnection continues the stream received so far. Only a stream
   * with ids can be resumed (the server got them back as `Last-Event-ID`), and only by ids of the
   * same kind: integers stay integers (a hub), other ids stay other ids. No id after a reconnect is
   * a stream that cannot resume, so a new one, and so is any id after a stream that had none.
   */
  private continues(id: string | undefined, sequence: number | undefined): boolean {
    if (this.lastEventId === undefined || id === undefined || id === '') return false;
    return (sequence === undefined) === (this.lastSequence === undefined);
  }

  /**
   * The reconnect landed on a new stream: the answer so far is void. Emits `reset` (what a UI and
   * `text()`/`collect()` already handle: drop what was shown) and forgets the old stream's ids, so
   * the new one is neither deduplicated against them nor resumed from them.
   */
  private startOver(): void {
    this.lastEventId = undefined;
    this.lastSequence = undefined;
    this.text.clear();
    this.subscriber.next({ type: 'reset', reason: 'reconnected to a new stream', t: this.lastT });
  }

  private open(): void {
    if (this.finished) return;
    try {
      this.connection = this.connect(this.settings, this);
    } catch (error) {
      // A constructor that throws synchronously (an injected EventSource, say).
      this.fail(new ConnectionError(`Could not open ${displayUrl(this.settings.url)}: ${String(error)}`, { cause: error }));
    }
  }

  /** Counts one attempt; ends the stream with `error` instead when it may not be retried. */
  private spend(error: TokenflowError): boolean {
    if (!isRetryable(error) || this.failures >= this.settings.maxRetries) {
      this.fail(error);
      return false;
    }
    this.failures++;
    return true;
  }

  /**
   * The wait before the current attempt: the base (the server's `retry:` if any) doubling per
   * failure up to `maxDelayMs`, with equal jitter (drawn from the upper half of that delay) so that
   * browsers cut off together, by a deploy say, do not all come back at the same moment. A
   * `Retry-After` (up to `maxDelayMs`) is a floor.
   */
  private delay(retryAfterMs: number | undefined): number {
    const { delayMs, maxDelayMs } = this.settings;
    const base = this.serverRetryMs ?? delayMs;
    const backoff = backoffDelay({ initialMs: base, factor: 2, maxMs: Math.max(base, maxDelayMs), jitter: true }, this.failures - 1);
    return retryAfterMs === undefined ? backoff : Math.max(backoff, Math.min(retryAfterMs, maxDelayMs));
  }

  private remoteError(parsed: unknown): void {
    const data = toSerializedError(parsed);
    // The server's own partial text covers the whole answer, also what came before a resume point.
    const context: StreamErrorContext = data.partialText === undefined ? this.context() : {};
    this.fail(new RemoteStreamError(data, context));
  }

  private readonly abort = (): void => {
    const reason = this.settings.signal?.reason;
    this.fail(new StreamAbortedError('The SSE stream was aborted by its signal.', { ...this.context(), cause: reason }));
  };

  private fail(error: TokenflowError): void {
    if (this.finished) return;
    this.finished = true;
    this.subscriber.error(error.withContext(this.context()));
  }

  private context(): StreamErrorContext {
    return this.delivered ? { partialText: this.text.text } : {};
  }
}

/**
 * The error for a line or event past `maxEventSize`: the connection is closed instead of buffering
 * it (a hostile or broken server could otherwise send one endless line).
 */
export function eventTooLarge(settings: ClientSettings): ProtocolError {
  return new ProtocolError(
    `fromSSE(): ${displayUrl(settings.url)} sent an SSE line or event larger than ${settings.maxEventSize} characters; the connection was closed instead of buffering it. ` +
      'Raise options.maxEventSize if the server really sends events this large.',
    undefined,
  );
}

/** Reads the `error` event's data leniently: a malformed one still ends the stream, with what it says. */
function toSerializedError(value: unknown): SerializedStreamError {
  const v = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  const data: SerializedStreamError = {
    type: 'error',
    name: typeof v.name === 'string' ? v.name : 'Error',
    message: typeof v.message === 'string' ? v.message : 'The server reported an error without a message.',
  };
  if (typeof v.partialText === 'string') data.partialText = v.partialText;
  if (REMOTE_STREAM_REASONS.includes(v.reason as RemoteStreamReason)) data.reason = v.reason as RemoteStreamReason;
  if (typeof v.status === 'number') data.status = v.status;
  if (typeof v.retryable === 'boolean') data.retryable = v.retryable;
  if (typeof v.retryAfterMs === 'number') data.retryAfterMs = v.retryAfterMs;
  if (typeof v.requestId === 'string') data.requestId = v.requestId;
  // Only a known type: anything else could be free text from upstream.
  if (isKnownProviderErrorType(v.errorType)) data.errorType = v.errorType;
  return data;
}

/**
 * `providerData`, when present, is sent back to the provider as the fields of a block: anything but
 * an object would only fail later, in a request far from the stream that brought it.
 */
function providerDataField(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? undefined : 'providerData is not an object';
}

/**
 * The field of a received event that has the wrong type, or `undefined`: a token's text is always a
 * non-empty string, so a server that sends anything else fails loudly instead of rendering
 * `[object Object]`.
 */
function malformedField(event: Record<string, unknown>): string | undefined {
  switch (event.type) {
    case 'token':
      if (typeof event.text !== 'string' || event.text.length === 0) return 'text is not a non-empty string';
      if (typeof event.index !== 'number') return 'index is not a number';
      return undefined;
    case 'reasoning':
      if (typeof event.text !== 'string') return 'text is not a string';
      return providerDataField(event.providerData);
    case 'tool-call':
      if (typeof event.argsDelta !== 'string') return 'argsDelta is not a string';
      if (typeof event.index !== 'number') return 'index is not a number';
      return providerDataField(event.providerData);
    case 'provider-tool':
      return typeof event.id === 'string' && typeof event.name === 'string' && typeof event.block === 'object' && event.block !== null
        ? undefined
        : 'id, name or block is missing';
    case 'citation':
      return typeof event.citation === 'object' && event.citation !== null ? undefined : 'citation is not an object';
    case 'usage': {
      const usage = event.usage as Record<string, unknown> | null | undefined;
      return typeof usage === 'object' && usage !== null && typeof usage.inputTokens === 'number' && typeof usage.outputTokens === 'number'
        ? undefined
        : 'usage is not { inputTokens, outputTokens }';
    }
    case 'done':
      return typeof event.stopReason === 'string' ? undefined : 'stopReason is not a string';
    case 'step-start':
      return typeof event.step === 'number' ? undefined : 'step is not a number';
    case 'reset':
      // A step's reset cuts the text back to where that step began; anything else would be guessed.
      return event.step === undefined || typeof event.step === 'number' ? undefined : 'step is not a number';
    case 'tool-result':
      if (typeof event.step !== 'number') return 'step is not a number';
      if (typeof event.id !== 'string' || typeof event.name !== 'string') return 'id or name is not a string';
      return typeof event.isError === 'boolean' && typeof event.durationMs === 'number' ? undefined : 'isError or durationMs is missing';
    case 'step-finish': {
      if (typeof event.step !== 'number') return 'step is not a number';
      if (typeof event.stopReason !== 'string') return 'stopReason is not a string';
      const usage = event.usage as Record<string, unknown> | null | undefined;
      return typeof usage === 'object' && usage !== null && typeof usage.inputTokens === 'number' && typeof usage.outputTokens === 'number'
        ? undefined
        : 'usage is not { inputTokens, outputTokens }';
    }
    default:
      return undefined;
  }
}
