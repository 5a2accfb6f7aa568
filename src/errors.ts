import type { Usage } from './events.js';

/** Marks tokenflow errors across duplicate installs: `Symbol.for` is shared by every copy. */
const KINDS = Symbol.for('tokenflow.error.kinds');

/** What every tokenflow error may carry about the stream it ended. */
export interface StreamErrorContext {
  /** The answer text received before the failure ('' when none). */
  partialText?: string;
  /** Usage known at the time of the failure (provider-reported or estimated). */
  usage?: Usage;
  /** The provider adapter that raised it (`anthropic`, `openai`, …). */
  provider?: string;
  cause?: unknown;
}

type ErrorClass = (abstract new (...args: never[]) => TokenflowError) & { readonly kind: string };

/**
 * The base of every error tokenflow raises. Errors raised after a stream began carry the partial
 * text and the usage so far, so nothing received is lost.
 *
 * Use the static `isInstance()` rather than `instanceof`: it also recognises errors thrown by
 * another installed copy of tokenflow.
 */
export class TokenflowError extends Error {
  /** Stable class tag used by `isInstance()` (class names do not survive minifiers). */
  static readonly kind: string = 'TokenflowError';
  override name = 'TokenflowError';
  /** The answer text received before the failure; `undefined` when the stream never began. */
  partialText: string | undefined;
  /** Usage known at the time of the failure. */
  usage: Usage | undefined;
  /** The provider adapter involved, if any. */
  provider: string | undefined;

  constructor(message: string, context: StreamErrorContext = {}) {
    super(message, context.cause === undefined ? undefined : { cause: context.cause });
    this.partialText = context.partialText;
    this.usage = context.usage;
    this.provider = context.provider;
    const kinds: string[] = [];
    for (let c = new.target as unknown as ErrorClass | null; c && c.kind; c = Object.getPrototypeOf(c)) {
      if (kinds[kinds.length - 1] !== c.kind) kinds.push(c.kind);
    }
    Object.defineProperty(this, KINDS, { value: kinds, enumerable: false });
  }

  /**
   * `true` when `value` is an error of this class (or a subclass), from any installed copy of
   * tokenflow.
   *
   * @example
   * if (ProviderError.isInstance(err) && err.retryable) retryLater(err.retryAfterMs);
   */
  static isInstance<T extends ErrorClass>(this: T, value: unknown): value is InstanceType<T> {
    if (typeof value !== 'object' || value === null) return false;
    const kinds = (value as { [KINDS]?: unknown })[KINDS];
    return Array.isArray(kinds) && kinds.includes(this.kind);
  }

  /** Fills in stream context on an error raised below the layer that knows it. */
  withContext(context: StreamErrorContext): this {
    if (this.partialText === undefined && context.partialText !== undefined) this.partialText = context.partialText;
    if (this.usage === undefined && context.usage !== undefined) this.usage = context.usage;
    if (this.provider === undefined && context.provider !== undefined) this.provider = context.provider;
    return this;
  }
}

/** An argument a public function received is invalid. Raised before any network call. */
export class InvalidArgumentError extends TokenflowError {
  static override readonly kind: string = 'InvalidArgumentError';
  override name = 'InvalidArgumentError';
  /** The offending field, as a path (`request.temperature`, `options.apiKey`). */
  readonly field: string;

  constructor(field: string, message: string, context: StreamErrorContext = {}) {
    super(message, context);
    this.field = field;
  }
}

/** No API key was given nor found in the environment. Raised before any network call. */
export class MissingApiKeyError extends InvalidArgumentError {
  static override readonly kind: string = 'MissingApiKeyError';
  override name = 'MissingApiKeyError';
  /** The environment variable that would have supplied the key. */
  readonly envVar: string;

  constructor(provider: string, envVar: string, factory: string) {
    super(
      'apiKey',
      `No ${provider} API key: set the ${envVar} environment variable or pass { apiKey } (or a configured { client }) to ${factory}().`,
      { provider },
    );
    this.envVar = envVar;
  }
}

/** What a provider told us about an error, from an HTTP response or an error event in the stream. */
export interface ProviderErrorDetails extends StreamErrorContext {
  /** HTTP status; for an error event inside a 200 stream, the status its type stands for (overloaded: 529). */
  status?: number | undefined;
  /** The provider's error type (`overloaded_error`, `rate_limit_exceeded`, `insufficient_quota`, …). */
  type?: string | undefined;
  /** The provider's error code, when it sends one apart from the type. */
  code?: string | undefined;
  /** The provider's request id (`request-id` / `x-request-id`), to quote to its support. */
  requestId?: string | undefined;
  /** Whether sending the same request again may succeed (429, 408, 409, 5xx, overloaded). */
  retryable: boolean;
  /** How long the provider asked us to wait (`retry-after-ms` / `retry-after`), in milliseconds. */
  retryAfterMs?: number | undefined;
  /** The error body as the provider sent it. */
  body?: unknown;
  /** `true` when the error arrived as an event inside a 200 stream rather than as an HTTP status. */
  inStream?: boolean;
}

/**
 * The provider refused or failed the request: an HTTP error status (401, 429, 529, …) before the
 * stream began, or an error event inside the stream (Anthropic `overloaded_error`, an OpenAI
 * `error` chunk).
 */
export class ProviderError extends TokenflowError {
  static override readonly kind: string = 'ProviderError';
  override name = 'ProviderError';
  readonly status: number | undefined;
  readonly type: string | undefined;
  readonly code: string | undefined;
  readonly requestId: string | undefined;
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;
  readonly body: unknown;
  readonly inStream: boolean;

  constructor(message: string, details: ProviderErrorDetails) {
    super(message, details);
    this.status = details.status;
    this.type = details.type;
    this.code = details.code;
    this.requestId = details.requestId;
    this.retryable = details.retryable;
    this.retryAfterMs = details.retryAfterMs;
    this.body = details.body;
    this.inStream = details.inStream ?? false;
  }
}

/** The connection failed: refused, reset mid-stream, or a DNS or TLS failure. Retryable. */
export class ConnectionError extends TokenflowError {
  static override readonly kind: string = 'ConnectionError';
  override name = 'ConnectionError';
  readonly retryable = true;
}

/** The stream broke the provider's protocol: a malformed line, or an end without the terminal event. */
export class ProtocolError extends TokenflowError {
  static override readonly kind: string = 'ProtocolError';
  override name = 'ProtocolError';
  /** The offending wire line, when one is to blame (`undefined` for a missing terminal event). */
  readonly line: string | undefined;

  constructor(message: string, line: string | undefined, context: StreamErrorContext = {}) {
    super(message, context);
    this.line = line;
  }
}

/** An `AbortSignal` the caller passed was aborted. (Unsubscribing is not an error: it ends silently.) */
export class StreamAbortedError extends TokenflowError {
  static override readonly kind: string = 'StreamAbortedError';
  override name = 'StreamAbortedError';
}

/** A timeout operator fired: no first token in time, or the stream went idle. */
export class StreamTimeoutError extends TokenflowError {
  static override readonly kind: string = 'StreamTimeoutError';
  override name = 'StreamTimeoutError';
  readonly kind: 'first-token' | 'idle';
  readonly timeoutMs: number;

  constructor(kind: 'first-token' | 'idle', timeoutMs: number, context: StreamErrorContext = {}) {
    super(
      kind === 'first-token'
        ? `No first token within ${timeoutMs} ms.`
        : `No event for ${timeoutMs} ms: the stream went idle.`,
      context,
    );
    this.kind = kind;
    this.timeoutMs = timeoutMs;
  }
}

/** A user callback (`onToken`, `onEvent`) threw or rejected; the stream was cancelled. */
export class CallbackError extends TokenflowError {
  static override readonly kind: string = 'CallbackError';
  override name = 'CallbackError';
}

/**
 * A consumer fell too far behind: more events were waiting for a slow `onToken` handler or a slow
 * `for await` loop than the bounded queue holds. The stream was cancelled rather than buffering
 * without limit.
 */
export class QueueOverflowError extends TokenflowError {
  static override readonly kind: string = 'QueueOverflowError';
  override name = 'QueueOverflowError';
  /** The queue's bound (`maxQueue`). */
  readonly limit: number;

  constructor(message: string, limit: number, context: StreamErrorContext = {}) {
    super(message, context);
    this.limit = limit;
  }
}

/** Why a relayed stream ended on the server, when it was not the provider's own error. */
export type RemoteStreamReason =
  /** An authorized `stop(channel)` cancelled the upstream request for everyone. */
  | 'stopped'
  /** Nobody followed the channel for the hub's grace period, so the upstream request was cancelled. */
  | 'abandoned'
  /** The resume point (`Last-Event-ID`) is older than the replay buffer still holds. */
  | 'gone'
  /** The upstream was lost mid-answer: the server running it went away, or the channel log failed to store it. */
  | 'lost';

/** Every {@link RemoteStreamReason}, at run time (internal: the encoder and the client check against it). */
export const REMOTE_STREAM_REASONS: readonly RemoteStreamReason[] = ['stopped', 'abandoned', 'gone', 'lost'];

/** What the `error` event of a relayed stream carries (the `data:` of an SSE `event: error`). */
export interface SerializedStreamError {
  type: 'error';
  /** The error class on the server (`ProviderError`, `StreamTimeoutError`, …). */
  name: string;
  message: string;
  /** The answer text the server had relayed before the failure. */
  partialText?: string;
  reason?: RemoteStreamReason;
  status?: number;
  retryable?: boolean;
  retryAfterMs?: number;
  requestId?: string;
  /**
   * The provider's own error type (`rate_limit_error`, `overloaded_error`, …), only when it is one of
   * the well-known ones: the server never relays free text here, and the client drops anything else.
   */
  errorType?: string;
}

/**
 * A stream relayed over SSE or a `StreamHub` channel failed on the server: the provider's error,
 * a timeout, a `stop(channel)`, or the hub giving up on the channel. `remoteName` is the error
 * class the server saw; `reason` says when the hub itself ended the stream.
 */
export class RemoteStreamError extends TokenflowError {
  static override readonly kind: string = 'RemoteStreamError';
  override name = 'RemoteStreamError';
  /** The error class on the server (`ProviderError`, `StreamTimeoutError`, `StreamAbortedError`, …). */
  readonly remoteName: string;
  readonly reason: RemoteStreamReason | undefined;
  /** The provider's HTTP status, when the server's error had one. */
  readonly status: number | undefined;
  /** Whether asking again may succeed, as the server judged it. */
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;
  readonly requestId: string | undefined;
  /**
   * The provider's error type on the server (`rate_limit_error`, `overloaded_error`,
   * `context_length_exceeded`, …), when it was one of the well-known types; absent otherwise.
   */
  readonly errorType?: string;

  constructor(data: SerializedStreamError, context: StreamErrorContext = {}) {
    const partialText = context.partialText ?? data.partialText;
    super(data.message, partialText === undefined ? context : { ...context, partialText });
    this.remoteName = data.name;
    this.reason = data.reason;
    this.status = data.status;
    this.retryable = data.retryable ?? false;
    this.retryAfterMs = data.retryAfterMs;
    this.requestId = data.requestId;
    if (data.errorType !== undefined) this.errorType = data.errorType;
  }
}

/**
 * An SSE endpoint answered with something other than an event stream: an HTTP error status (404 for
 * an unknown or expired channel, 401/403 when refused), or a `Content-Type` other than
 * `text/event-stream`.
 */
export class SSEResponseError extends TokenflowError {
  static override readonly kind: string = 'SSEResponseError';
  override name = 'SSEResponseError';
  /** The HTTP status (0 when the browser's `EventSource` could not say). */
  readonly status: number;
  /** `true` for statuses where asking again may succeed (408, 429, 5xx). */
  readonly retryable: boolean;

  constructor(message: string, status: number, context: StreamErrorContext = {}) {
    super(message, context);
    this.status = status;
    this.retryable = status === 0 || status === 408 || status === 429 || status >= 500;
  }
}

/** A `StreamHub` has no channel by that name: it was never published, or it expired. */
export class ChannelNotFoundError extends TokenflowError {
  static override readonly kind: string = 'ChannelNotFoundError';
  override name = 'ChannelNotFoundError';
  readonly channel: string;

  constructor(channel: string) {
    super(`No channel "${channel}": it was never published on this hub, or it finished and expired.`);
    this.channel = channel;
  }
}

/** Why a tool call failed (see {@link ToolExecutionError}). */
export type ToolFailure = 'unknown-tool' | 'invalid-input' | 'execute-failed';

/**
 * A tool call failed and the loop was told to stop on it (`onToolError: 'throw'`): the model called
 * an unknown tool, its input did not match the schema, or `execute` threw (its error is `cause`).
 * Carries the text and usage of the loop so far.
 */
export class ToolExecutionError extends TokenflowError {
  static override readonly kind: string = 'ToolExecutionError';
  override name = 'ToolExecutionError';
  /** The tool the model called. */
  readonly toolName: string;
  /** The call's id. */
  readonly toolCallId: string;
  /** What went wrong. */
  readonly failure: ToolFailure;

  constructor(message: string, details: { toolName: string; toolCallId: string; failure: ToolFailure } & StreamErrorContext) {
    super(message, details);
    this.toolName = details.toolName;
    this.toolCallId = details.toolCallId;
    this.failure = details.failure;
  }
}

/**
 * Why a structured answer could not be used (see {@link ValidationError}):
 * - `invalid-json`: the answer text is not JSON (or is empty);
 * - `schema-mismatch`: it is JSON but does not match the schema;
 * - `refusal`: the model refused (`stopReason: 'refusal'`), so there is no object to parse;
 * - `max_tokens`: the answer was cut by the output budget before its JSON was complete.
 */
export type ValidationFailure = 'invalid-json' | 'schema-mismatch' | 'refusal' | 'max_tokens';

/**
 * A structured answer (`request.output`, `partialObject()`, `object()`) could not be turned into the
 * object asked for: it is not JSON, it does not match the schema, the model refused, or the output
 * budget cut it. `text` is the raw answer, `issues` what is wrong with it, in words.
 */
export class ValidationError extends TokenflowError {
  static override readonly kind: string = 'ValidationError';
  override name = 'ValidationError';
  /** The raw answer text the object was to be read from. */
  readonly text: string;
  /** What is wrong, one readable line per issue (`age: expected number, got string`). */
  readonly issues: readonly string[];
  /** Why the answer could not be used. */
  readonly failure: ValidationFailure;

  constructor(message: string, details: { text: string; issues: readonly string[]; failure: ValidationFailure } & StreamErrorContext) {
    super(message, details);
    this.text = details.text;
    this.issues = details.issues;
    this.failure = details.failure;
  }
}

/**
 * A tokenflow entry point needs an optional peer package that is not installed: the provider SDK
 * (`@anthropic-ai/sdk`, `openai`, `groq-sdk`) or `ioredis`. The message names the package and the
 * command that installs it. A provider's `stream()` errors with it as it is subscribed to (the SDK
 * loads lazily, so importing the entry point never fails); `new RedisStreamHub({ redis: url })`
 * throws it at once.
 *
 * @example
 * llm.stream(request).subscribe({
 *   error: (err) => { if (MissingDependencyError.isInstance(err)) console.error(err.installCommand); },
 * });
 */
export class MissingDependencyError extends TokenflowError {
  static override readonly kind: string = 'MissingDependencyError';
  override name = 'MissingDependencyError';
  /** The package that could not be found (`openai`). */
  readonly packageName: string;
  /** What installs it (`npm install openai`). */
  readonly installCommand: string;

  /**
   * @param packageName - the missing package
   * @param entry - the tokenflow entry point that needs it (`tokenflow/openai`)
   * @param cause - the module loader's own error
   */
  constructor(packageName: string, entry: string, cause?: unknown) {
    const installCommand = `npm install ${packageName}`;
    super(`${entry} needs the ${packageName} package, which is not installed: ${installCommand}`, cause === undefined ? {} : { cause });
    this.packageName = packageName;
    this.installCommand = installCommand;
  }
}
