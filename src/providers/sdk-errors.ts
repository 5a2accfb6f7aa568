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
  const after = headers.get('retry-after');
  if (after === null) return undefined;
  const seconds = Number(after);
  if (after.trim() !== '' && Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(after);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** What an adapter tells the mapping about itself. */
export interface SdkErrorSource {
  provider: string;
  /** The environment variable holding the key, quoted in the 401 message. */
  envVar?: string | undefined;
}

/** Reads `{ error: { type, code, message } }` and Anthropic's `{ type: 'error', error: { type, message } }`. */
function errorFields(body: unknown): { type?: string; code?: string; message?: string } {
  if (typeof body !== 'object' || body === null) return {};
  const inner = (body as { error?: unknown }).error;
  const source = typeof inner === 'object' && inner !== null ? inner : body;
  const pick = (key: string): string | undefined => {
    const value = (source as Record<string, unknown>)[key];
    return typeof value === 'string' ? value : undefined;
  };
  const out: { type?: string; code?: string; message?: string } = {};
  const type = pick('type');
  const code = pick('code');
  const message = pick('message');
  if (type !== undefined && type !== 'error') out.type = type;
  if (code !== undefined) out.code = code;
  if (message !== undefined) out.message = message;
  return out;
}

function hint(status: number, source: SdkErrorSource): string {
  if (status === 401) return ` Check the API key${source.envVar ? ` (${source.envVar})` : ''}.`;
  if (status === 429) return ' Rate limited: retry after the delay the provider asked for.';
  if (status === 529) return ' The provider is overloaded: retry later.';
  return '';
}

/**
 * Converts anything an SDK call threw into a tokenflow error carrying the stream context.
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
    const fields = errorFields(error.error);
    const requestId =
      error.requestID ?? error.headers?.get('request-id') ?? error.headers?.get('x-request-id') ?? undefined;
    const shouldRetry = error.headers?.get('x-should-retry');
    const retryable = shouldRetry === 'true' ? true : shouldRetry === 'false' ? false : isRetryableStatus(status);
    const message = fields.message ?? error.message;
    return new ProviderError(`${source.provider}: HTTP ${status}: ${message}${hint(status, source)}`, {
      ...ctx,
      status,
      type: fields.type ?? error.type ?? undefined,
      code: fields.code ?? error.code ?? undefined,
      requestId: requestId ?? undefined,
      retryable,
      retryAfterMs: parseRetryAfter(error.headers),
      body: error.error,
    });
  }
  const message = error instanceof Error ? error.message : String(error);
  const cause = error instanceof Error && error.cause instanceof Error ? ` (${error.cause.message})` : '';
  return new ConnectionError(`${source.provider}: could not reach the provider: ${message}${cause}`, ctx);
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
