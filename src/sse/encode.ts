/**
 * The SSE wire format tokenflow writes: one message per `TokenEvent`, `id:` = the event's position
 * in the stream, `event:` = its type, `data:` = the event as one line of JSON.
 */
import {
  InvalidArgumentError,
  ProviderError,
  REMOTE_STREAM_REASONS,
  RemoteStreamError,
  SSEResponseError,
  TokenflowError,
  type RemoteStreamReason,
  type SerializedStreamError,
} from '../errors.js';
import { TOKEN_EVENT_TYPES, type TokenEvent } from '../events.js';
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
 * Encodes a `TokenEvent` as one SSE message with `id: <seq>`. `JSON.stringify` escapes every line
 * break, so the data is always a single line.
 *
 * @param event - the event to send.
 * @param id - the event's position in the stream (0-based, every event counts).
 */
export function encodeEvent(event: TokenEvent, id: number): string {
  if (!isTokenEvent(event)) {
    throw new InvalidArgumentError('event', `encodeEvent(): event must be a TokenEvent (type one of ${[...EVENT_TYPES].join(', ')}).`);
  }
  if (!Number.isSafeInteger(id) || id < 0) {
    throw new InvalidArgumentError('id', `encodeEvent(): id must be the event's position in the stream (an integer from 0), got ${String(id)}.`);
  }
  return frame(id, event.type, JSON.stringify(event));
}

const EVENT_TYPES: ReadonlySet<string> = new Set(TOKEN_EVENT_TYPES);

/** `true` for an object that is a `TokenEvent` by its `type` (what may be written as a message). */
export function isTokenEvent(value: unknown): value is TokenEvent {
  return typeof value === 'object' && value !== null && EVENT_TYPES.has((value as { type?: unknown }).type as string);
}

/** The message for an already-serialised payload (no checks: `type` and `data` are one line each). */
export function frame(id: number, type: string, data: string): string {
  return `id: ${id}\nevent: ${type}\ndata: ${data}\n\n`;
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
  /** The answer text so far. */
  text = '';

  constructor(private readonly legacy: LegacyAnswerOptions | undefined) {}

  /** Records an event; returns the legacy message to send after it, if any. */
  record(event: TokenEvent): string | undefined {
    if (event.type === 'token') {
      this.text += event.text;
      return this.legacy ? legacyFrame(event.text, this.text, this.legacy) : undefined;
    }
    if (event.type === 'reset') this.text = '';
    return undefined;
  }
}

/**
 * Turns an error into the `error` event's payload. tokenflow's errors keep their name, message,
 * status and retry hints; any other error is reported as a generic failure so that internal details
 * (stack traces, connection strings) never reach a browser.
 */
export function serializeError(error: unknown, partialText: string, reason?: RemoteStreamReason): SerializedStreamError {
  if (typeof partialText !== 'string') throw new InvalidArgumentError('partialText', 'serializeError(): partialText must be a string (\'\' when nothing was sent).');
  if (reason !== undefined && !REASONS.has(reason)) {
    throw new InvalidArgumentError('reason', `serializeError(): reason must be one of ${[...REASONS].join(', ')}, got ${JSON.stringify(reason)}.`);
  }
  const out: SerializedStreamError = { type: 'error', name: 'Error', message: 'The stream failed on the server.', partialText };
  if (TokenflowError.isInstance(error)) {
    const e = error as TokenflowError;
    out.name = RemoteStreamError.isInstance(e) ? (e as RemoteStreamError).remoteName : e.name;
    out.message = e.message;
    if (ProviderError.isInstance(e) || RemoteStreamError.isInstance(e) || SSEResponseError.isInstance(e)) {
      const withStatus = e as ProviderError | RemoteStreamError | SSEResponseError;
      if (withStatus.status !== undefined) out.status = withStatus.status;
      out.retryable = withStatus.retryable;
    }
    if (ProviderError.isInstance(e) || RemoteStreamError.isInstance(e)) {
      const p = e as ProviderError | RemoteStreamError;
      if (p.retryAfterMs !== undefined) out.retryAfterMs = p.retryAfterMs;
      if (p.requestId !== undefined) out.requestId = p.requestId;
    }
    const remoteReason = RemoteStreamError.isInstance(e) ? (e as RemoteStreamError).reason : undefined;
    if (remoteReason !== undefined) out.reason = remoteReason;
  }
  if (reason !== undefined) out.reason = reason;
  return out;
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
