/**
 * Maps the official SDKs' errors to tokenflow's. The three SDKs share one error design (an
 * `APIError` with `status`, `headers`, `error`, `requestID`), so this reads them by shape rather
 * than by class: a user's client may come from another installed copy of the SDK.
 */
import {
  ConnectionError,
  ProviderError,
  StreamAbortedError,
  TokenflowError,
  type StreamErrorContext,
} from '../errors.js';
import { displayUrl } from '../internal/display-url.js';
import { retryAfterMs } from '../internal/retry-after.js';

interface SdkApiErrorShape {
  status: number | undefined;
  headers: Headers | undefined;
  error: unknown;
  message: string;
  requestID?: string | null;
  type?: string | null;
  code?: string | null;
}

function isSdkApiError(value: unknown): value is SdkApiErrorShape {
  return typeof value === 'object' && value !== null && 'status' in value && 'headers' in value && 'error' in value;
}

/** Statuses worth retrying, as the SDKs themselves decide (plus Anthropic's 529 overloaded). */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

/**
 * Reads how long a provider asked us to wait: `retry-after-ms` (OpenAI), then `retry-after` in
 * seconds or as an HTTP date.
 */
export function parseRetryAfter(headers: Headers | undefined, now: number = Date.now()): number | undefined {
  if (!headers) return undefined;
  const ms = headers.get('retry-after-ms');
  if (ms !== null) {
    const value = Number.parseFloat(ms);
    if (Number.isFinite(value) && value >= 0) return value;
  }
  return retryAfterMs(headers.get('retry-after'), now);
}

/** What an adapter tells the mapping about itself. */
export interface SdkErrorSource {
  provider: string;
  /** The environment variable holding the key, quoted in the 401 message. */
  envVar?: string | undefined;
}

/** The parts of an error body tokenflow reads. */
interface ErrorFields {
  type?: string;
  code?: string;
  message?: string;
}

/**
 * Reads `{ error: { type, code, message } }` and Anthropic's `{ type: 'error', error: { type, message } }`.
 * With `numericCode`, a numeric `code` (LiteLLM's HTTP error bodies carry `"code": 500`) is read as
 * its decimal text; in-stream errors keep reading only string codes, as their mappers expect.
 */
function errorFields(body: unknown, numericCode = false): ErrorFields {
  if (typeof body !== 'object' || body === null) return {};
  const inner = (body as { error?: unknown }).error;
  const source = (typeof inner === 'object' && inner !== null ? inner : body) as Record<string, unknown>;
  const out: ErrorFields = {};
  const type = source.type;
  const code = source.code;
  const message = source.message;
  if (typeof type === 'string' && type !== 'error') out.type = type;
  if (typeof code === 'string') out.code = code;
  else if (numericCode && typeof code === 'number' && Number.isFinite(code)) out.code = String(code);
  if (typeof message === 'string') out.message = message;
  return out;
}

/** The most of an unparsed error body that goes into a message or onto `ProviderError.body`. */
export const MAX_BODY_EXCERPT = 300;

/**
 * A short, one-line excerpt of text a server sent that tokenflow could not read: a proxy's HTML
 * page or a megabyte of anything must not end up whole in logs and error trackers.
 */
function excerpt(text: string): string {
  const head = text.length > MAX_BODY_EXCERPT * 4 ? text.slice(0, MAX_BODY_EXCERPT * 4) : text;
  const line = head.replace(/\s+/g, ' ').trim();
  return line.length > MAX_BODY_EXCERPT || head.length < text.length ? `${line.slice(0, MAX_BODY_EXCERPT)}…` : line;
}

/** How far into an unparsed error body to look for a `data:` line: error bodies are small. */
const MAX_SSE_ERROR_SCAN = 64 * 1024;

/**
 * An error body sent as an event stream (LiteLLM answers a 5xx with `text/event-stream` and
 * `data: {"error": {…}}`): the first `data:` line holding a JSON object with `error`.
 */
export function parseEventStreamError(text: string): Record<string, unknown> | undefined {
  const scanned = text.length > MAX_SSE_ERROR_SCAN ? text.slice(0, MAX_SSE_ERROR_SCAN) : text;
  for (const line of scanned.split(/\r\n|\r|\n/)) {
    if (!line.startsWith('data:')) continue;
    const data = line.slice(line.startsWith('data: ') ? 6 : 5).trim();
    if (!data.startsWith('{')) continue;
    try {
      const value: unknown = JSON.parse(data);
      if (typeof value === 'object' && value !== null && !Array.isArray(value) && 'error' in value) {
        return value as Record<string, unknown>;
      }
    } catch {
      // Not JSON: look at the next line.
    }
  }
  return undefined;
}

/**
 * The body of an HTTP error as the SDK kept it. All three SDKs parse the body with `safeJSON` and,
 * when that fails (an event stream, an HTML page), leave `error` undefined and make the message
 * `"<status> <raw text>"`; the raw text is recovered from there.
 */
function readErrorBody(error: SdkApiErrorShape, status: number): { body: unknown; fields: ErrorFields; raw?: string } {
  if (error.error !== undefined && error.error !== null) return { body: error.error, fields: errorFields(error.error, true) };
  const prefix = `${status} `;
  const raw = error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message;
  const parsed = parseEventStreamError(raw);
  if (parsed !== undefined) return { body: parsed, fields: errorFields(parsed, true) };
  return { body: raw === '' ? undefined : excerpt(raw), fields: {}, raw };
}

function hint(status: number, source: SdkErrorSource, retryAfterMs: number | undefined): string {
  if (status === 401) return ` Check the API key${source.envVar ? ` (${source.envVar})` : ''}.`;
  if (status === 429) {
    return retryAfterMs === undefined
      ? ' Rate limited: retry later (the provider sent no retry-after).'
      : ` Rate limited: retry after ${Math.ceil(retryAfterMs / 100) / 10} s, as the provider asked.`;
  }
  if (status === 529) return ' The provider is overloaded: retry later.';
  return '';
}

/** The SDKs' classes for a request that never got an HTTP response (all three SDKs share the names). */
const CONNECTION_ERROR_NAMES: ReadonlySet<string> = new Set(['APIConnectionError', 'APIConnectionTimeoutError']);

/** System and undici error codes of a network failure: a second attempt may well get through. */
const NETWORK_ERROR_CODES: ReadonlySet<string> = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
]);

/** What `fetch` implementations throw for a network failure: undici, Chromium, Firefox, Safari. */
const NETWORK_FETCH_MESSAGES: ReadonlySet<string> = new Set([
  'fetch failed',
  'Failed to fetch',
  'NetworkError when attempting to fetch resource.',
  'Load failed',
]);

/** `true` when the class of `value`, or any class it extends, is named like the SDKs' connection errors. */
function hasConnectionClass(value: object): boolean {
  for (let proto: unknown = Object.getPrototypeOf(value); proto; proto = Object.getPrototypeOf(proto)) {
    const ctor = (proto as { constructor?: { name?: unknown; _errorName?: unknown } }).constructor;
    if (typeof ctor?.name === 'string' && CONNECTION_ERROR_NAMES.has(ctor.name)) return true;
    // The Anthropic SDK tags each class with `_errorName`, which survives minifiers.
    if (typeof ctor?._errorName === 'string' && CONNECTION_ERROR_NAMES.has(ctor._errorName)) return true;
  }
  return false;
}

/**
 * `true` only for errors positively known to be network failures: the SDKs' connection errors (by
 * class name, or by their shape: an SDK `APIError` without a status, which the SDKs make only when
 * no response came), or an error whose cause chain carries a network error code or `fetch`'s own
 * network-failure message. Anything else is not retried: retrying what we do not understand
 * repeats the failure and hides it.
 */
export function isNetworkError(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 6 && typeof current === 'object' && current !== null; depth++) {
    const e = current as { code?: unknown; name?: unknown; message?: unknown; cause?: unknown };
    if (typeof e.name === 'string' && CONNECTION_ERROR_NAMES.has(e.name)) return true;
    if (hasConnectionClass(current)) return true;
    if (depth === 0 && isSdkApiError(current) && current.status === undefined && current.headers === undefined) return true;
    if (typeof e.code === 'string' && NETWORK_ERROR_CODES.has(e.code)) return true;
    if (current instanceof TypeError && typeof e.message === 'string' && NETWORK_FETCH_MESSAGES.has(e.message)) return true;
    current = e.cause;
  }
  return false;
}

/** Where each failed SDK call was sent (scheme, host and path only), by the error it threw. */
const requestTargets = new WeakMap<object, string>();

/**
 * Remembers the base URL of the client whose call threw `error`, for {@link mapSdkError}: the SDKs'
 * connection errors say only "Connection error." and the network's own name a bare address, so
 * without it a user with several providers or a gateway cannot tell which server was unreachable.
 *
 * @param error - what the SDK call threw or rejected with
 * @param client - the SDK client that made the call (its public `baseURL` is read)
 */
export function noteRequestTarget(error: unknown, client: unknown): void {
  if (typeof error !== 'object' || error === null) return;
  const base = (client as { baseURL?: unknown } | null)?.baseURL;
  const target = typeof base === 'string' ? displayUrl(base) : undefined;
  if (target !== undefined) requestTargets.set(error, target);
}

/**
 * Converts anything an SDK call threw into a tokenflow error carrying the stream context.
 *
 * An HTTP error status becomes a `ProviderError`; a network failure (positively recognised, see
 * {@link isNetworkError}) a retryable `ConnectionError`; an abort a `StreamAbortedError`; anything
 * else (an SDK refusing a request on the client side, a bug in a custom `fetch`) a plain,
 * non-retryable `TokenflowError` with the SDK's message and the original error as `cause`.
 */
export function mapSdkError(
  error: unknown,
  context: StreamErrorContext,
  source: SdkErrorSource,
  aborted = false,
): TokenflowError {
  if (TokenflowError.isInstance(error)) return error.withContext(context);
  const ctx: StreamErrorContext = { ...context, provider: source.provider, cause: error };
  const name = (error as { constructor?: { name?: string } } | null)?.constructor?.name ?? '';
  if (aborted || name === 'APIUserAbortError' || (error as { name?: string } | null)?.name === 'AbortError') {
    return new StreamAbortedError(`${source.provider}: the request was aborted.`, ctx);
  }
  if (isSdkApiError(error) && typeof error.status === 'number') {
    const status = error.status;
    const { body, fields, raw } = readErrorBody(error, status);
    const requestId =
      error.requestID ?? error.headers?.get('request-id') ?? error.headers?.get('x-request-id') ?? undefined;
    const shouldRetry = error.headers?.get('x-should-retry');
    const retryable = shouldRetry === 'true' ? true : shouldRetry === 'false' ? false : isRetryableStatus(status);
    const retryAfterMs = parseRetryAfter(error.headers);
    // Without a readable body, the SDK's message is the raw body (or all of it as JSON): bound it.
    const message = fields.message ?? (raw !== undefined ? (raw === '' ? 'no error body' : excerpt(raw)) : excerpt(error.message));
    return new ProviderError(`${source.provider}: HTTP ${status}: ${message}${hint(status, source, retryAfterMs)}`, {
      ...ctx,
      status,
      type: fields.type ?? error.type ?? undefined,
      code: fields.code ?? error.code ?? undefined,
      requestId: requestId ?? undefined,
      retryable,
      retryAfterMs,
      body,
    });
  }
  const message = error instanceof Error ? error.message : String(error);
  const cause = error instanceof Error && error.cause instanceof Error ? ` (${error.cause.message})` : '';
  if (isNetworkError(error)) {
    const target = typeof error === 'object' && error !== null ? requestTargets.get(error) : undefined;
    const where = target === undefined ? 'the provider' : `the provider at ${target}`;
    return new ConnectionError(`${source.provider}: could not reach ${where}: ${message}${cause}`, ctx);
  }
  return new TokenflowError(
    `${source.provider}: the request failed before reaching the provider, and is not retried: ${message}${cause}${clientSideHint(message)}`,
    ctx,
  );
}

/** What to do about an SDK's client-side refusal that tokenflow knows. */
function clientSideHint(message: string): string {
  // The Anthropic SDK refuses a non-streaming call whose max_tokens could take over 10 minutes.
  if (/^Streaming is (required|strongly recommended)/.test(message)) {
    return ' With tokenflow: use stream(request).pipe(collect()) instead of complete(), or a lower maxTokens.';
  }
  return '';
}

/** Status codes that Anthropic's in-stream error types stand for. */
const ANTHROPIC_ERROR_STATUS: Record<string, number> = {
  invalid_request_error: 400,
  authentication_error: 401,
  billing_error: 402,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  timeout_error: 504,
  overloaded_error: 529,
};

/**
 * An error event received inside a 200 stream (Anthropic `event: error`, an OpenAI `{"error":…}`
 * chunk, a Responses `error` / `response.failed`).
 */
export function streamErrorEvent(provider: string, body: unknown): ProviderError {
  const fields = errorFields(body);
  const type = fields.type ?? fields.code;
  const status = type === undefined ? undefined : ANTHROPIC_ERROR_STATUS[type];
  const retryable =
    status !== undefined
      ? isRetryableStatus(status)
      : type === 'server_error' || type === 'rate_limit_exceeded' || type === 'service_unavailable';
  return new ProviderError(
    `${provider}: the provider reported an error mid-stream: ${fields.message ?? type ?? 'unknown error'}`,
    {
      provider,
      status,
      type,
      code: fields.code,
      retryable,
      body,
      inStream: true,
    },
  );
}
