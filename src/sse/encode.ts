/**
 * The SSE wire format tokenflow writes: one message per `TokenEvent`, `event:` = its type, `data:` =
 * the event as one line of JSON, and, on a stream that can resume (a `StreamHub` channel), `id:` =
 * the event's position in the stream. A stream that cannot resume (`toSSE`, `pipeSSE`) sends no
 * `id:`: an id is a promise that `Last-Event-ID` resumes, and a reconnect to a plain route starts a
 * new answer, which the client must see as new rather than as a replay of ids it already has.
 */
import {
  CallbackError,
  ChannelNotFoundError,
  ConnectionError,
  InvalidArgumentError,
  MissingApiKeyError,
  ProtocolError,
  ProviderError,
  QueueOverflowError,
  REMOTE_STREAM_REASONS,
  RemoteStreamError,
  SSEResponseError,
  StreamAbortedError,
  StreamTimeoutError,
  TokenflowError,
  ToolExecutionError,
  type RemoteStreamReason,
  type SerializedStreamError,
} from '../errors.js';
import { isKnownProviderErrorType } from '../client/error-types.js';
import { TOKEN_EVENT_TYPES, type TokenEvent } from '../events.js';
import { PartialText } from '../internal/partial-text.js';
import { rejectUnknownKeys, requireObject } from '../validate.js';

/**
 * Response headers for an SSE stream. `no-transform` and `X-Accel-Buffering: no` keep proxies
 * (nginx, CDNs, compression middleware) from buffering the answer until it ends.
 */
export const SSE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  'x-accel-buffering': 'no',
  connection: 'keep-alive',
});

/** A heartbeat: an SSE comment, ignored by every client, that keeps idle proxies from closing. */
export const HEARTBEAT = ': \n\n';

/** One SSE message, as `formatSSE()` writes it. */
export interface SSEMessage {
  /** Sets the client's last event id (sent back as `Last-Event-ID` when it reconnects). */
  id?: string | number;
  /** The event name (`addEventListener(name, …)` in a browser); omitted means `message`. */
  event?: string;
  /** The payload; line breaks are split into several `data:` lines and restored by the client. */
  data: string;
  /** Asks the client to wait this many milliseconds before reconnecting. */
  retry?: number;
}

const LINE_BREAK = /\r\n|\r|\n/;

/**
 * Formats one SSE message. Multi-line safe: `data` with line breaks becomes several `data:` lines,
 * which the client joins back with `\n`.
 *
 * @example
 * res.write(formatSSE({ id: 3, event: 'note', data: 'two\nlines' }));
 * // id: 3\nevent: note\ndata: two\ndata: lines\n\n
 * @throws InvalidArgumentError when `id` or `event` contains a line break (it would end the field).
 */
export function formatSSE(message: SSEMessage): string {
  const m = requireObject(message, 'message');
  rejectUnknownKeys(m, ['id', 'event', 'data', 'retry'], 'message');
  if (typeof message.data !== 'string') throw new InvalidArgumentError('message.data', 'formatSSE(): data must be a string (JSON.stringify objects first).');
  if (message.id !== undefined && typeof message.id !== 'string' && typeof message.id !== 'number') {
    throw new InvalidArgumentError('message.id', 'formatSSE(): id must be a string or a number.');
  }
  if (message.event !== undefined && typeof message.event !== 'string') throw new InvalidArgumentError('message.event', 'formatSSE(): event must be a string.');
  let out = '';
  if (message.id !== undefined) {
    const id = String(message.id);
    if (LINE_BREAK.test(id) || id.includes('\0')) throw new InvalidArgumentError('message.id', 'formatSSE(): an SSE id cannot contain a line break or NUL.');
    out += `id: ${id}\n`;
  }
  if (message.event !== undefined) {
    if (LINE_BREAK.test(message.event)) throw new InvalidArgumentError('message.event', 'formatSSE(): an SSE event name cannot contain a line break.');
    out += `event: ${message.event}\n`;
  }
  if (message.retry !== undefined) {
    if (!Number.isInteger(message.retry) || message.retry < 0) {
      throw new InvalidArgumentError('message.retry', `formatSSE(): retry must be a whole number of milliseconds, got ${message.retry}.`);
    }
    out += `retry: ${message.retry}\n`;
  }
  for (const line of message.data.split(LINE_BREAK)) out += `data: ${line}\n`;
  return `${out}\n`;
}

/**
 * Encodes a `TokenEvent` as one SSE message, with `id: <seq>` when `id` is given. `JSON.stringify`
 * escapes every line break, so the data is always a single line.
 *
 * Give an id only on a stream that can resume from it (a reconnect with `Last-Event-ID: <seq>` gets
 * the events after it): `fromSSE()` drops messages at or below the last id it saw, so numbering a
 * stream that restarts on reconnect would drop the new answer's first events. Without an id, a
 * reconnecting `fromSSE()` knows the stream started over and emits `reset` before the new answer.
 *
 * @param event - the event to send.
 * @param id - the event's position in a resumable stream (0-based, every event counts); omit it
 *   for a stream that cannot resume.
 */
export function encodeEvent(event: TokenEvent, id?: number): string {
  if (!isTokenEvent(event)) {
    throw new InvalidArgumentError('event', `encodeEvent(): event must be a TokenEvent (type one of ${[...EVENT_TYPES].join(', ')}).`);
  }
  if (id !== undefined && (!Number.isSafeInteger(id) || id < 0)) {
    throw new InvalidArgumentError('id', `encodeEvent(): id must be the event's position in the stream (an integer from 0), got ${String(id)}.`);
  }
  return frame(id, event.type, JSON.stringify(event));
}

const EVENT_TYPES: ReadonlySet<string> = new Set(TOKEN_EVENT_TYPES);

/** `true` for an object that is a `TokenEvent` by its `type` (what may be written as a message). */
export function isTokenEvent(value: unknown): value is TokenEvent {
  return typeof value === 'object' && value !== null && EVENT_TYPES.has((value as { type?: unknown }).type as string);
}

/**
 * The message for an already-serialised payload (no checks: `type` and `data` are one line each).
 * `id` `undefined` writes no `id:` line, for a stream that cannot resume (see `encodeEvent`).
 */
export function frame(id: number | undefined, type: string, data: string): string {
  return id === undefined ? `event: ${type}\ndata: ${data}\n\n` : `id: ${id}\nevent: ${type}\ndata: ${data}\n\n`;
}

/** What the legacy `answer_streaming` event carries, for front ends built on that payload. */
export interface LegacyAnswerOptions {
  /** Sent as `agent_id`. */
  agentId?: string | number | null;
  /** Sent as `conversation_id`. */
  conversationId?: string | number | null;
}

/**
 * Encodes the legacy `answer_streaming` message that follows a token: `{ token, partial_response,
 * agent_id, conversation_id }`. It has no `id:` line, so the token before it keeps its place for
 * resuming. The partial response repeats the whole answer so far in every message: the bytes grow
 * with the square of the answer's length, so use it only for front ends that need it.
 */
export function encodeLegacy(token: string, partialResponse: string, options: LegacyAnswerOptions = {}): string {
  if (typeof token !== 'string') throw new InvalidArgumentError('token', 'encodeLegacy(): token must be a string.');
  if (typeof partialResponse !== 'string') throw new InvalidArgumentError('partialResponse', 'encodeLegacy(): partialResponse must be a string.');
  return legacyFrame(token, partialResponse, checkLegacyOptions(options, 'encodeLegacy() options'));
}

/** `encodeLegacy` without the checks, for options checked once up front. */
function legacyFrame(token: string, partialResponse: string, options: LegacyAnswerOptions): string {
  const data = JSON.stringify({
    token,
    partial_response: partialResponse,
    agent_id: options.agentId ?? null,
    conversation_id: options.conversationId ?? null,
  });
  return `event: answer_streaming\ndata: ${data}\n\n`;
}

/**
 * Follows one stream's events in order for the SSE writers (`toSSE`, `pipeSSE`, the hub): the answer
 * so far (a `reset` clears it), for the legacy payload and for an error's partial text. Options are
 * checked once by the caller, so nothing here is checked per token.
 */
export class AnswerTracker {
  readonly #text = new PartialText();

  constructor(private readonly legacy: LegacyAnswerOptions | undefined) {}

  /** The answer text so far (since the last `reset`). */
  get text(): string {
    return this.#text.text;
  }

  /**
   * Records an event; returns the legacy message to send after it, if any.
   *
   * @throws ProtocolError for a `token` whose `text` is not a string: it is never written to a
   *   browser (the stream then ends with an `error` event).
   */
  record(event: TokenEvent): string | undefined {
    if (!this.#text.add(event) && event.type === 'token') {
      throw new ProtocolError(`A token event's text must be a string, got ${typeof (event as { text?: unknown }).text}; the stream was ended.`, undefined, {
        partialText: this.#text.text,
      });
    }
    return event.type === 'token' && this.legacy ? legacyFrame(event.text, this.#text.text, this.legacy) : undefined;
  }
}

/**
 * What `serializeError` sends: the `error` event's data (a `SerializedStreamError`, whose
 * `errorType` is the provider's own error type, present only when it is one of a known set).
 */
export type SSEErrorPayload = SerializedStreamError;

/** The one message sent for anything tokenflow cannot describe safely. */
const GENERIC_MESSAGE = 'The stream failed on the server.';

/**
 * The fixed message per tokenflow error class. The errors' own messages quote upstream text (an
 * HTTP error body, the first bytes of an HTML page, an offending wire line, a cause's message) that
 * can echo an API key, so a browser only ever gets one of these; `onError` gets the real error.
 * Checked most specific class first: `isInstance` matches subclasses too.
 */
const FIXED: ReadonlyArray<readonly [{ isInstance(value: unknown): boolean }, string, (e: never) => string]> = [
  [ProviderError, 'ProviderError', (e: ProviderError) => providerMessage(e.status ?? TYPE_STATUS[e.type ?? ''])],
  [StreamTimeoutError, 'StreamTimeoutError', (e: StreamTimeoutError) =>
    e.kind === 'first-token' ? 'The provider sent no first token in time.' : 'The provider stream went idle.'],
  [ConnectionError, 'ConnectionError', () => 'The connection to the provider was lost.'],
  [ProtocolError, 'ProtocolError', () => 'The provider sent a response tokenflow could not read.'],
  [StreamAbortedError, 'StreamAbortedError', () => 'The stream was aborted on the server.'],
  [CallbackError, 'CallbackError', () => "The server's handler failed."],
  // An Agent's tool failed with `onToolError: 'throw'`: its message quotes what the tool threw.
  [ToolExecutionError, 'ToolExecutionError', () => 'A tool the server runs failed.'],
  // A handler on the server or the client itself (a response nobody reads) fell behind.
  [QueueOverflowError, 'QueueOverflowError', () => 'The stream was cancelled: a reader fell too far behind it.'],
  [MissingApiKeyError, 'MissingApiKeyError', () => 'The server has no provider credentials configured.'],
  [InvalidArgumentError, 'InvalidArgumentError', () => 'The server set up the stream with an invalid argument.'],
  [SSEResponseError, 'SSEResponseError', () => 'An upstream event stream could not be read.'],
  [ChannelNotFoundError, 'ChannelNotFoundError', () => 'The channel does not exist or has expired.'],
];

/** The status an in-stream error without one stands for, by the provider's error type. */
const TYPE_STATUS: Readonly<Record<string, number>> = {
  rate_limit_error: 429,
  rate_limit_exceeded: 429,
  authentication_error: 401,
  invalid_api_key: 401,
  permission_error: 403,
  api_error: 500,
  server_error: 500,
  overloaded_error: 529,
};

/** The fixed message for a provider's HTTP status (or the status its in-stream error stands for). */
function providerMessage(status: number | undefined): string {
  if (status === 429) return 'The provider is rate limiting requests.';
  if (status === 401 || status === 403) return "The server's provider credentials were refused.";
  if (status !== undefined && status >= 500) return 'The provider failed or is overloaded.';
  if (status === 408) return 'The provider timed out.';
  if (status !== undefined && status >= 400) return 'The provider rejected the request.';
  return 'The provider reported an error.';
}

/** Request ids are opaque tokens (`req_…`, UUIDs); anything else is not relayed. */
const REQUEST_ID = /^[\w.:-]{1,200}$/;

/**
 * Turns an error into the `error` event's payload, safe to send to a browser: the error class name,
 * a fixed message per class (and per status for a provider's error), the provider's error type when
 * it is a known one, the status, retry hints, request id, `reason`, and the partial answer text (the
 * app's own output). Upstream text (error bodies, HTML pages, wire lines, causes) never goes: log
 * it with the `onError` option of `toSSE`/`pipeSSE`/`StreamHub`. A `RemoteStreamError` relayed
 * from another server was sanitised there and keeps its name and message. Any other error is a
 * generic failure.
 */
export function serializeError(error: unknown, partialText: string, reason?: RemoteStreamReason): SSEErrorPayload {
  if (typeof partialText !== 'string') throw new InvalidArgumentError('partialText', 'serializeError(): partialText must be a string (\'\' when nothing was sent).');
  if (reason !== undefined && !REASONS.has(reason)) {
    throw new InvalidArgumentError('reason', `serializeError(): reason must be one of ${[...REASONS].join(', ')}, got ${JSON.stringify(reason)}.`);
  }
  const out: SSEErrorPayload = { type: 'error', name: 'Error', message: GENERIC_MESSAGE, partialText };
  if (RemoteStreamError.isInstance(error)) {
    const e = error as RemoteStreamError;
    out.name = e.remoteName;
    out.message = e.message;
    if (e.reason !== undefined) out.reason = e.reason;
  } else if (TokenflowError.isInstance(error)) {
    const match = FIXED.find(([cls]) => cls.isInstance(error));
    out.name = match ? match[1] : 'TokenflowError';
    if (match) out.message = (match[2] as (e: unknown) => string)(error);
  }
  if (ProviderError.isInstance(error) || RemoteStreamError.isInstance(error) || SSEResponseError.isInstance(error) || ConnectionError.isInstance(error)) {
    const e = error as ProviderError | RemoteStreamError | SSEResponseError | ConnectionError;
    if ('status' in e && Number.isInteger(e.status)) out.status = e.status as number;
    if (typeof e.retryable === 'boolean') out.retryable = e.retryable;
  }
  if (ProviderError.isInstance(error) || RemoteStreamError.isInstance(error)) {
    const p = error as ProviderError | RemoteStreamError;
    if (typeof p.retryAfterMs === 'number' && Number.isFinite(p.retryAfterMs)) out.retryAfterMs = p.retryAfterMs;
    if (typeof p.requestId === 'string' && REQUEST_ID.test(p.requestId)) out.requestId = p.requestId;
  }
  if (ProviderError.isInstance(error) || RemoteStreamError.isInstance(error)) {
    // A relayed RemoteStreamError's type was checked by the server that sent it; check it again anyway.
    const type = ProviderError.isInstance(error) ? (error as ProviderError).type : (error as RemoteStreamError).errorType;
    if (isKnownProviderErrorType(type)) out.errorType = type;
  }
  if (reason !== undefined) out.reason = reason;
  return out;
}

/** What an `onError` hook is told besides the error itself. */
export interface StreamErrorReport {
  /** The answer text sent before the failure. */
  partialText: string;
  /** What the browser was sent instead of the error (the `error` event's data). */
  sent: SSEErrorPayload;
  /** The hub channel, when the stream was published on a `StreamHub`. */
  channel?: string;
}

/**
 * Receives the full error of a failed stream on the server (the browser only gets a sanitised
 * `error` event): log it, count it, send it to error tracking. It may be async; a throw or a
 * rejection is reported with `console.error` and never affects the response.
 */
export type StreamErrorHook = (error: unknown, report: StreamErrorReport) => void | Promise<void>;

/**
 * Hands a stream's error to the app's `onError`, or, without one, to `console.error`: a library
 * should not chatter, but once the browser gets a fixed message the upstream's words (say, "invalid
 * x-api-key") exist nowhere else, and a failure nobody can see is worse than one log line. Pass
 * `onError: () => {}` to silence it. Never throws.
 */
export function reportStreamError(hook: StreamErrorHook | undefined, error: unknown, report: StreamErrorReport): void {
  if (hook === undefined) {
    console.error('tokenflow: a stream failed (the browser got a sanitised error event; pass onError to handle this yourself):', error);
    return;
  }
  const hookFailed = (hookError: unknown) => console.error('tokenflow: the onError hook failed:', hookError, 'while reporting:', error);
  try {
    const result: unknown = hook(error, report);
    if (typeof (result as PromiseLike<unknown> | undefined)?.then === 'function') (result as PromiseLike<unknown>).then(undefined, hookFailed);
  } catch (hookError) {
    hookFailed(hookError);
  }
}

/** Checks an `onError` option. */
export function checkErrorHook(value: unknown, path: string): StreamErrorHook | undefined {
  if (value !== undefined && typeof value !== 'function') throw new InvalidArgumentError(path, `${path} must be a function (error, report) => void.`);
  return value as StreamErrorHook | undefined;
}

const REASONS: ReadonlySet<string> = new Set(REMOTE_STREAM_REASONS);
const ID_VALUE = (value: unknown) => value === undefined || value === null || typeof value === 'string' || typeof value === 'number';

/** Checks the `legacy` option of `encodeLegacy`, `toSSE`, `pipeSSE` and `hub.publish`. */
export function checkLegacyOptions(options: unknown, path: string): LegacyAnswerOptions {
  const o = requireObject(options, path);
  rejectUnknownKeys(o, ['agentId', 'conversationId'], path);
  for (const key of ['agentId', 'conversationId'] as const) {
    if (!ID_VALUE(o[key])) throw new InvalidArgumentError(`${path}.${key}`, `${path}.${key} must be a string, a number or null.`);
  }
  return o as LegacyAnswerOptions;
}
