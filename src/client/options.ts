/**
 * Checks `fromSSE()`'s arguments and resolves their defaults. Everything here runs synchronously,
 * before any connection, and fails with an `InvalidArgumentError` naming the field.
 *
 * Browser-safe: imports nothing from Node.
 */
import { InvalidArgumentError } from '../errors.js';
import { describeValue } from '../internal/describe.js';
import { isPlainObject, rejectUnknownKeys, requireNumber, requireObject, requireSignal } from '../validate.js';

/** How `fromSSE()` connects. */
export type SSEMode = 'eventsource' | 'fetch';

/** How `fromSSE()` reconnects after a connection drops or fails. */
export interface ReconnectOptions {
  /**
   * Reconnection attempts in a row without a new event before giving up. A new event resets the
   * count.
   * @defaultValue 5
   */
  maxRetries?: number;
  /**
   * The scale of the wait before the first reconnection attempt, doubled for each further attempt
   * in a row. Each wait is drawn at random between half and all of that delay (jitter), so clients
   * cut off together do not reconnect together. A server's `retry:` field replaces it; a
   * `Retry-After` header is waited for in full (up to `maxDelayMs`).
   * @defaultValue 1000
   */
  delayMs?: number;
  /**
   * The longest wait between attempts (a server's `retry:` above it is still honoured).
   * @defaultValue 10000
   */
  maxDelayMs?: number;
}

/** Options of `fromSSE()`. */
export interface FromSSEOptions {
  /**
   * Sends cookies and HTTP authentication cross-origin: `withCredentials` on the `EventSource`,
   * `credentials: 'include'` on the fetch.
   * @defaultValue false
   */
  withCredentials?: boolean;
  /**
   * Resume after this event id on the first connection: the `lastEventId` query parameter in
   * `eventsource` mode (an `EventSource` cannot set headers), the `Last-Event-ID` header in `fetch`
   * mode.
   */
  lastEventId?: number | string;
  /**
   * `false` never reconnects; `true` (the default) reconnects with the defaults of
   * {@link ReconnectOptions}. A reconnect to a stream that cannot resume (a plain `toSSE`/`pipeSSE`
   * route, which sends no ids and starts a new answer per request) emits `reset`, then the new
   * answer whole: never a text joined from two answers.
   * @defaultValue true
   */
  reconnect?: boolean | ReconnectOptions;
  /**
   * `'fetch'` reads the stream with `fetch` (custom headers, `POST`, a body); `'eventsource'` uses the
   * browser's `EventSource`.
   * @defaultValue `'fetch'` when `headers`, `method`, `body` or `fetch` is given; otherwise
   * `'eventsource'` when an `EventSource` is available (`options.EventSource` or a global one), else
   * `'fetch'`.
   */
  mode?: SSEMode;
  /** Request headers (`Authorization`, …); fetch mode only. `Last-Event-ID` is set by `fromSSE()`. */
  headers?: Record<string, string>;
  /**
   * The HTTP method; fetch mode only.
   * @defaultValue 'GET'
   */
  method?: string;
  /**
   * The request body, sent again on every reconnection (so a `ReadableStream` is refused); fetch
   * mode only, and not with `GET` or `HEAD`.
   */
  body?: BodyInit | null;
  /**
   * The `fetch` to use (fetch mode).
   * @defaultValue `globalThis.fetch`
   */
  fetch?: typeof fetch;
  /**
   * The `EventSource` class to use (eventsource mode).
   * @defaultValue `globalThis.EventSource`
   */
  EventSource?: typeof EventSource;
  /** Aborting it closes the connection and errors the stream with `StreamAbortedError`. */
  signal?: AbortSignal;
  /**
   * The largest SSE line or event accepted, in characters. A server that sends more (a broken
   * proxy, a hostile endpoint: one endless line) errors the stream with a `ProtocolError` and the
   * connection is closed, instead of the client buffering it without bound. In fetch mode it bounds
   * what the parser buffers; a browser `EventSource` has buffered an event before `fromSSE()` sees
   * it, so there it is checked on arrival.
   * @defaultValue 4_194_304 (4 MiB)
   */
  maxEventSize?: number;
}

/** `fromSSE()`'s options, checked and with their defaults. */
export interface ClientSettings {
  url: URL;
  mode: SSEMode;
  withCredentials: boolean;
  /** The resume point of the first connection (as it goes on the wire). */
  lastEventId: string | undefined;
  maxRetries: number;
  delayMs: number;
  maxDelayMs: number;
  headers: Record<string, string>;
  method: string;
  body: BodyInit | null | undefined;
  fetch: typeof fetch | undefined;
  EventSource: typeof EventSource | undefined;
  signal: AbortSignal | undefined;
  /** The largest line or event accepted, in characters. */
  maxEventSize: number;
}

const OPTION_KEYS = [
  'withCredentials',
  'lastEventId',
  'reconnect',
  'mode',
  'headers',
  'method',
  'body',
  'fetch',
  'EventSource',
  'signal',
  'maxEventSize',
];
const RECONNECT_KEYS = ['maxRetries', 'delayMs', 'maxDelayMs'];
/** Options that only mean something to a fetch. */
const FETCH_ONLY = ['headers', 'method', 'body', 'fetch'] as const;
/** An HTTP token (RFC 9110): a header name or a method. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Characters a header value (and so `Last-Event-ID`) cannot hold. */
const UNSAFE_VALUE = /[\r\n\0]/;

/** The default of `maxEventSize`: far above any real event (a whole answer's partial text fits), far below trouble. */
export const DEFAULT_MAX_EVENT_SIZE = 4 * 1024 * 1024;

/** The defaults of {@link ReconnectOptions}. */
export const RECONNECT_DEFAULTS: Readonly<Required<ReconnectOptions>> = Object.freeze({
  maxRetries: 5,
  delayMs: 1_000,
  maxDelayMs: 10_000,
});

/**
 * Checks `fromSSE()`'s arguments and resolves the defaults.
 *
 * @throws InvalidArgumentError naming the first offending field (`url`, `options.headers`, …)
 */
export function resolveSettings(url: unknown, options: unknown): ClientSettings {
  const resolvedUrl = resolveUrl(url);
  const o = options === undefined ? {} : requireObject(options, 'options');
  rejectUnknownKeys(o, OPTION_KEYS, 'options');

  if (o.withCredentials !== undefined && typeof o.withCredentials !== 'boolean') {
    throw new InvalidArgumentError('options.withCredentials', `options.withCredentials must be a boolean, got ${describeValue(o.withCredentials)}.`);
  }
  const lastEventId = resolveLastEventId(o.lastEventId);
  const reconnect = resolveReconnect(o.reconnect);

  if (o.mode !== undefined && o.mode !== 'eventsource' && o.mode !== 'fetch') {
    throw new InvalidArgumentError('options.mode', `options.mode must be 'eventsource' or 'fetch', got ${describeValue(o.mode)}.`);
  }
  const headers = resolveHeaders(o.headers);
  if (o.method !== undefined && (typeof o.method !== 'string' || !TOKEN.test(o.method))) {
    throw new InvalidArgumentError('options.method', `options.method must be an HTTP method such as 'GET' or 'POST', got ${describeValue(o.method)}.`);
  }
  const method = o.method === undefined ? 'GET' : o.method.toUpperCase();
  const body = resolveBody(o.body, method, o.method !== undefined);
  if (o.fetch !== undefined && typeof o.fetch !== 'function') {
    throw new InvalidArgumentError('options.fetch', `options.fetch must be a function like the global fetch, got ${describeValue(o.fetch)}.`);
  }
  if (o.EventSource !== undefined && typeof o.EventSource !== 'function') {
    throw new InvalidArgumentError('options.EventSource', `options.EventSource must be a class like the global EventSource, got ${describeValue(o.EventSource)}.`);
  }
  const signal = requireSignal(o.signal, 'options.signal');
  const maxEventSize =
    o.maxEventSize === undefined ? DEFAULT_MAX_EVENT_SIZE : requireNumber(o.maxEventSize, 'options.maxEventSize', { min: 1, integer: true });

  const fetchOnly = FETCH_ONLY.find((key) => o[key] !== undefined);
  const globalEventSource = (globalThis as { EventSource?: typeof EventSource }).EventSource;
  const globalFetch = (globalThis as { fetch?: typeof fetch }).fetch;
  let mode: SSEMode;
  if (o.mode !== undefined) {
    mode = o.mode;
  } else if (fetchOnly !== undefined) {
    mode = 'fetch';
  } else {
    mode = o.EventSource !== undefined || globalEventSource !== undefined ? 'eventsource' : 'fetch';
  }
  if (mode === 'eventsource' && fetchOnly !== undefined) {
    throw new InvalidArgumentError(
      `options.${fetchOnly}`,
      `options.${fetchOnly} needs fetch mode: an EventSource cannot send it. Remove it, or set options.mode to 'fetch'.`,
    );
  }
  if (mode === 'fetch' && o.EventSource !== undefined) {
    throw new InvalidArgumentError('options.EventSource', `options.EventSource is only used in eventsource mode, but the mode is 'fetch'.`);
  }
  const fetchFunction = (o.fetch as typeof fetch | undefined) ?? globalFetch;
  const eventSourceClass = (o.EventSource as typeof EventSource | undefined) ?? globalEventSource;
  if (mode === 'fetch' && fetchFunction === undefined) {
    throw new InvalidArgumentError('options.fetch', 'This runtime has no global fetch: pass options.fetch.');
  }
  if (mode === 'eventsource' && eventSourceClass === undefined) {
    throw new InvalidArgumentError(
      'options.EventSource',
      `This runtime has no global EventSource: pass options.EventSource, or use options.mode 'fetch'.`,
    );
  }

  return {
    url: resolvedUrl,
    mode,
    withCredentials: o.withCredentials === true,
    lastEventId,
    ...reconnect,
    headers,
    method,
    body,
    fetch: mode === 'fetch' ? fetchFunction : undefined,
    EventSource: mode === 'eventsource' ? eventSourceClass : undefined,
    signal,
    maxEventSize,
  };
}

/** An absolute http(s) URL; a relative one resolves against the page (in a browser). */
function resolveUrl(url: unknown): URL {
  if (!(url instanceof URL) && (typeof url !== 'string' || url.trim() === '')) {
    throw new InvalidArgumentError('url', `url must be a non-empty string or a URL, got ${describeValue(url)}.`);
  }
  const base = typeof document !== 'undefined' ? document.baseURI : (globalThis as { location?: { href: string } }).location?.href;
  let resolved: URL;
  try {
    resolved = base === undefined ? new URL(url) : new URL(url, base);
  } catch {
    throw new InvalidArgumentError('url', `url must be an absolute URL here (there is no page to resolve it against), got ${describeValue(String(url))}.`);
  }
  if (resolved.protocol !== 'http:' && resolved.protocol !== 'https:') {
    throw new InvalidArgumentError('url', `url must be an http: or https: URL, got ${describeValue(resolved.href)}.`);
  }
  return resolved;
}

function resolveLastEventId(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'number') return String(requireNumber(value, 'options.lastEventId', { min: 0, integer: true }));
  if (typeof value === 'string' && value !== '' && !UNSAFE_VALUE.test(value)) return value;
  throw new InvalidArgumentError(
    'options.lastEventId',
    `options.lastEventId must be an integer of at least 0 or a non-empty single-line string, got ${describeValue(value)}.`,
  );
}

function resolveReconnect(value: unknown): Required<ReconnectOptions> {
  if (value === undefined || value === true) return { ...RECONNECT_DEFAULTS };
  if (value === false) return { ...RECONNECT_DEFAULTS, maxRetries: 0 };
  if (!isPlainObject(value)) {
    throw new InvalidArgumentError(
      'options.reconnect',
      `options.reconnect must be a boolean or { maxRetries?, delayMs?, maxDelayMs? }, got ${describeValue(value)}.`,
    );
  }
  rejectUnknownKeys(value, RECONNECT_KEYS, 'options.reconnect');
  const number = (key: keyof ReconnectOptions, integer: boolean): number =>
    value[key] === undefined
      ? RECONNECT_DEFAULTS[key]
      : requireNumber(value[key], `options.reconnect.${key}`, { min: 0, integer });
  return { maxRetries: number('maxRetries', true), delayMs: number('delayMs', false), maxDelayMs: number('maxDelayMs', false) };
}

function resolveHeaders(value: unknown): Record<string, string> {
  if (value === undefined) return {};
  if (!isPlainObject(value)) {
    throw new InvalidArgumentError('options.headers', `options.headers must be an object of header names to strings, got ${describeValue(value)}.`);
  }
  const headers: Record<string, string> = {};
  for (const [name, headerValue] of Object.entries(value)) {
    const path = `options.headers.${name}`;
    if (!TOKEN.test(name)) throw new InvalidArgumentError(path, `${JSON.stringify(name)} is not a valid header name.`);
    if (name.toLowerCase() === 'last-event-id') {
      throw new InvalidArgumentError(path, `Set the resume point with options.lastEventId, not a Last-Event-ID header: fromSSE() sets that header on every reconnection.`);
    }
    if (typeof headerValue !== 'string' || UNSAFE_VALUE.test(headerValue)) {
      throw new InvalidArgumentError(path, `${path} must be a single-line string, got ${describeValue(headerValue)}.`);
    }
    headers[name] = headerValue;
  }
  return headers;
}

function resolveBody(value: unknown, method: string, methodGiven: boolean): BodyInit | null | undefined {
  if (value === undefined || value === null) return value;
  const replayable =
    typeof value === 'string' ||
    value instanceof ArrayBuffer ||
    ArrayBuffer.isView(value) ||
    isInstance(value, 'URLSearchParams') ||
    isInstance(value, 'Blob') ||
    isInstance(value, 'FormData');
  if (!replayable) {
    throw new InvalidArgumentError(
      'options.body',
      `options.body must be a string, URLSearchParams, Blob, FormData, ArrayBuffer or typed array (it is sent again on every reconnection, so a stream cannot be), got ${describeValue(value)}.`,
    );
  }
  if (method === 'GET' || method === 'HEAD') {
    throw new InvalidArgumentError(
      methodGiven ? 'options.method' : 'options.body',
      `A ${method} request cannot have a body: set options.method (to 'POST', for example).`,
    );
  }
  return value as BodyInit;
}

/** `instanceof` a global class that a runtime may lack. */
function isInstance(value: unknown, className: 'URLSearchParams' | 'Blob' | 'FormData'): boolean {
  const constructor = (globalThis as Record<string, unknown>)[className];
  return typeof constructor === 'function' && value instanceof constructor;
}
