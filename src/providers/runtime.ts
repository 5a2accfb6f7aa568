/**
 * The engine every adapter shares: one HTTP response body, read as Server-Sent Events, mapped by a
 * provider's wire mapper into `TokenEvent`s on a cold Observable.
 *
 * The SDK opens the request (auth, retries before the body, typed HTTP errors) and hands us the raw
 * `Response` (`APIPromise.asResponse()`); we parse the body ourselves with `eventsource-parser` and
 * one `JSON.parse` per event, which costs a fraction of iterating the SDK's own stream class.
 */
import { createParser, type EventSourceMessage, type ParseError } from 'eventsource-parser';
import { Observable, type Subscriber } from 'rxjs';
import { estimateTokens, loadTokenizer, tokenizerSettled } from '../estimate.js';
import {
  ConnectionError,
  ProtocolError,
  ProviderError,
  StreamAbortedError,
  TokenflowError,
  type StreamErrorContext,
} from '../errors.js';
import type { ServerTimings, StopReason, TokenEvent, Usage } from '../events.js';
import { isNetworkError } from './sdk-errors.js';
import { currentStreamContext, type StreamProbe } from '../stream-context.js';

/** What a wire mapper reports, one call per fact; the engine turns calls into events. */
export interface WireSink {
  /** The provider identified the answer. Called at most once, before anything else if at all. */
  start(model: string | undefined, id: string | undefined): void;
  /** A text delta (empty ones are dropped by the sink). */
  token(text: string): void;
  reasoning(text: string): void;
  /** The signature that closes the current thinking block. */
  reasoningSignature(signature: string): void;
  /** A whole redacted thinking block. */
  redactedReasoning(data: string): void;
  /** The provider's own fields of the reasoning block that just ended (a Responses reasoning item's `id`, …). */
  reasoningData(data: Record<string, unknown>): void;
  /**
   * A fragment of a call the application must answer. `key` identifies the call on the wire (a
   * content block index, an output index, a tool-call index): the sink numbers calls from 0 in order
   * of first appearance, whatever the keys are. `kind` names a call that is not a function call;
   * `providerData`, fields to send back with the call (Anthropic `caller`), goes with the first fragment.
   */
  toolCall(
    key: number,
    id: string | undefined,
    name: string | undefined,
    argsDelta: string,
    kind?: string,
    providerData?: Record<string, unknown>,
  ): void;
  /** The arguments text sent so far for the call with this key ('' when none or unknown key). */
  toolArguments(key: number): string;
  /** A tool the provider runs itself: its call (input complete) or its result. */
  providerTool(phase: 'call' | 'result', id: string, name: string, input: unknown, block: Record<string, unknown>): void;
  /** A citation of the text so far, as the provider sent it. */
  citation(citation: Record<string, unknown>): void;
  /** The body holds a second attempt: discard the partial output so far (emits `reset`). */
  reset(reason: string): void;
  /** Provider-reported counts; `undefined` leaves a count as it was. The latest value wins. */
  usage(inputTokens: number | undefined, outputTokens: number | undefined, timings?: ServerTimings): void;
  /** The provider's terminal event: emits `usage` then `done`, and completes. */
  done(stopReason: StopReason, refusal?: string): void;
  /** An error reported inside the stream; the sink adds the partial text and usage. */
  fail(error: TokenflowError): void;
}

/** How a wire value of the wrong kind is named in an error: `null`, `an array`, or its `typeof`. */
function kindOfValue(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
}

/**
 * A wire value of the wrong kind: a (non-retryable) `ProtocolError` naming the field, what it must be
 * and what came, quoting the value. The one builder every wire mapper uses.
 */
export function shapeError(provider: string, field: string, expected: string, value: unknown): ProtocolError {
  return new ProtocolError(`${provider}: ${field} must be ${expected}, got ${kindOfValue(value)}.`, JSON.stringify(value)?.slice(0, 1000));
}

/**
 * Parses one wire message that must be a JSON object. `null`, an array or any other JSON value is a
 * `ProtocolError` (not retryable: the server speaks something else), never a crash later.
 */
export function parseWireObject(provider: string, data: string): Record<string, unknown> {
  const value: unknown = JSON.parse(data);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ProtocolError(`${provider}: expected a JSON object from the provider, got ${kindOfValue(value)}.`, data.slice(0, 1000));
  }
  return value as Record<string, unknown>;
}

/**
 * Where the JSON string whose body starts at `start` (just after its opening quote) ends: the index
 * of its closing quote, or -1 when there is none or the body holds a raw control character (not
 * JSON). A backslash skips the character after it; whether the escapes are valid is for
 * {@link jsonStringBody} to find.
 */
export function jsonStringEnd(data: string, start: number): number {
  for (let i = start; i < data.length; i++) {
    const c = data.charCodeAt(i);
    if (c === 0x22) return i;
    if (c < 0x20) return -1;
    if (c === 0x5c) i++;
  }
  return -1;
}

/**
 * The text of the JSON string body `data[start, end)` (as {@link jsonStringEnd} found it), what
 * `JSON.parse` of the whole string gives, or `undefined` when an escape in it is not valid JSON.
 * A body without escapes is the text itself.
 */
export function jsonStringBody(data: string, start: number, end: number): string | undefined {
  const body = data.slice(start, end);
  if (!body.includes('\\')) return body;
  try {
    return JSON.parse(data.slice(start - 1, end + 1)) as string;
  } catch {
    return undefined;
  }
}

/**
 * Reads a wire field that must be a string when present: `null` and `undefined` read as absent,
 * anything else (a number, an object) is a `ProtocolError` naming the field, never passed on.
 */
export function wireString(provider: string, value: unknown, field: string): string | undefined {
  if (typeof value === 'string') return value;
  if (value === undefined || value === null) return undefined;
  throw shapeError(provider, field, 'a string', value);
}

/**
 * Maps one provider's wire events to sink calls. Holds the per-stream state it needs (block kinds,
 * tool indices, the pending stop reason) and nothing else: a fresh mapper per subscription.
 */
export interface WireMapper {
  /** One SSE message. Throws `SyntaxError` on malformed JSON (reported as a `ProtocolError`). */
  event(name: string | undefined, data: string, sink: WireSink): void;
  /** The body ended before a terminal event; a lenient mapper may still call `sink.done()`. */
  end?(sink: WireSink): void;
}

/** Per-request options the engine passes to the SDK call. */
export interface OpenOptions {
  /** Set (to 0) when a retry operator downstream owns retries; absent: the client's own setting. */
  maxRetries?: number;
}

/** One tool call of the answer, by its wire key. */
interface ToolState {
  /** Its `index`: the order of first appearance. */
  index: number;
  /** The arguments text so far. */
  args: string;
  kind: string | undefined;
  /** A fragment has been sent (the `kind` goes with the first one). */
  sent?: boolean;
}

/** Everything the engine needs to run one adapter request. */
export interface StreamSpec {
  provider: string;
  /** The model the request named (used on `start` if the wire names none). */
  model: string;
  /**
   * Opens the HTTP response through the SDK; rejects with the SDK's typed errors. `maxRetries: 0`
   * when a tokenflow retry operator owns retries (the SDK then sends the request once).
   */
  open(signal: AbortSignal, options: OpenOptions): Promise<Response>;
  createMapper(): WireMapper;
  /** Prompt tokens to report when the provider sends no usage. */
  estimateInputTokens(): number;
  /** Maps an SDK error (HTTP status, connection) to a tokenflow error. */
  mapError(error: unknown, context: StreamErrorContext): TokenflowError;
  /** An outer signal: aborting it errors the stream with `StreamAbortedError`. */
  signal?: AbortSignal | undefined;
  /** The largest SSE line or event the parser buffers, in characters. @defaultValue 8 MiB */
  maxEventSize?: number | undefined;
  /**
   * `true` for a non-streaming request: the whole JSON body goes to the mapper as one event, so a
   * non-streamed answer passes through the same sink, errors and timing as a streamed one.
   */
  document?: boolean;
}

/** After the terminal event, how long to wait for the end of the body before dropping the socket. */
const DRAIN_AFTER_DONE_MS = 2_000;
/** Default bound on one SSE line or event: far above any real provider event, far below trouble. */
export const DEFAULT_MAX_EVENT_SIZE = 8 * 1024 * 1024;
const STREAM: TextDecodeOptions = { stream: true };

/**
 * Creates the cold Observable for one adapter request: each subscription opens its own request with
 * its own `AbortController`; unsubscribing aborts it while it is still live.
 */
export function createTokenStream(spec: StreamSpec): Observable<TokenEvent> {
  return new Observable<TokenEvent>((subscriber) => {
    const run = new StreamRun(spec, subscriber);
    const context = currentStreamContext();
    if (context?.probe) context.probe(run.probe());
    run.begin(context?.retryOwner ? { maxRetries: 0 } : {});
    return () => run.teardown();
  });
}

/** One subscription's state. A class so the per-token path stays monomorphic and allocation-free. */
class StreamRun implements WireSink {
  private readonly controller = new AbortController();
  private readonly t0 = performance.now();
  private readonly outer: AbortSignal | undefined;
  /** The request may still be transferring: teardown must abort it. */
  private live = true;
  /** No more events go downstream (done, error, or unsubscribed). */
  private closed = false;
  private started = false;
  private terminal = false;
  private index = 0;
  private parts: string[] = [];
  /** Reasoning and tool-call text: output tokens too, when they must be estimated. */
  private otherParts: string[] = [];
  /** Wire key of each tool call → its state; numbered in order of first appearance. */
  private tools = new Map<number, ToolState>();
  private inputTokens: number | undefined;
  private outputTokens: number | undefined;
  private timings: ServerTimings | undefined;
  private lastLine: string | undefined;
  /** `t` of the body chunk being parsed: its events share it (set only while one chunk is fed). */
  private chunkT: number | undefined;
  /** The provider's id for this HTTP request (`request-id` / `x-request-id`). */
  private requestId: string | undefined;

  constructor(
    private readonly spec: StreamSpec,
    private readonly subscriber: Subscriber<TokenEvent>,
  ) {
    this.outer = spec.signal;
  }

  begin(openOptions: OpenOptions): void {
    const outer = this.outer;
    if (outer) {
      if (outer.aborted) {
        this.live = false;
        this.error(this.abortedError());
        return;
      }
      outer.addEventListener('abort', this.onOuterAbort, { once: true });
    }
    this.pump(openOptions).catch((error: unknown) => this.error(this.toError(error)));
  }

  teardown(): void {
    this.closed = true;
    this.outer?.removeEventListener('abort', this.onOuterAbort);
    if (this.live) {
      this.live = false;
      this.controller.abort();
    }
  }

  private readonly onOuterAbort = (): void => {
    this.error(this.abortedError());
    this.teardown();
  };

  private async pump(openOptions: OpenOptions): Promise<void> {
    const response = await this.spec.open(this.controller.signal, openOptions);
    this.requestId = response.headers.get('request-id') ?? response.headers.get('x-request-id') ?? undefined;
    if (this.closed) return;
    const body = response.body;
    const contentType = response.headers.get('content-type') ?? '';
    if (!body) throw new ProtocolError(`${this.spec.provider}: the response has no body.`, undefined);
    if (this.spec.document) return this.readDocument(response);
    if (!contentType.includes('text/event-stream')) {
      const text = await response.text();
      throw new ProtocolError(
        `${this.spec.provider}: expected an event stream but the server sent ${contentType || 'no content type'}: ${text.slice(0, 200)}`,
        text.slice(0, 1000),
      );
    }
    const mapper = this.spec.createMapper();
    const maxEventSize = this.spec.maxEventSize ?? DEFAULT_MAX_EVENT_SIZE;
    const parser = createParser({
      onEvent: (message: EventSourceMessage) => {
        if (this.closed) return;
        // The parser bounds what it buffers across reads; an event that came in one read is checked here.
        if (message.data.length > maxEventSize) throw this.tooLarge(maxEventSize);
        this.lastLine = message.data;
        mapper.event(message.event, message.data, this);
      },
      // The SSE spec (and the SDKs' decoders) ignore unknown fields and bad `retry:` values; only a
      // line or event past the size bound ends the stream.
      onError: (error: ParseError) => {
        if (error.type === 'max-buffer-size-exceeded') throw this.tooLarge(maxEventSize);
      },
      maxBufferSize: maxEventSize,
    });
    const reader = body.getReader();
    const decoder = new TextDecoder();
    const feed = (text: string, flush: boolean): void => {
      try {
        parser.feed(text);
        // At the end of the body, complete a last line and event that lack their line breaks (a body
        // in CR line endings ends on a CR the parser holds back): lenient, like the SDKs' decoders.
        if (flush) parser.feed('\n\n');
      } catch (error) {
        throw this.malformed(error);
      }
    };
    let drainTimer: ReturnType<typeof setTimeout> | undefined;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        if (this.terminal) continue; // draining to the end so the connection can be reused
        // Every event of one body chunk arrived at the same moment: one clock reading stamps them all.
        this.chunkT = this.clock();
        try {
          feed(decoder.decode(value, STREAM), false);
        } finally {
          this.chunkT = undefined;
        }
        if (this.terminal) {
          drainTimer = setTimeout(() => void reader.cancel().catch(() => undefined), DRAIN_AFTER_DONE_MS);
          drainTimer.unref?.();
        } else if (this.closed) {
          return;
        }
      }
    } finally {
      if (drainTimer !== undefined) clearTimeout(drainTimer);
    }
    if (this.closed) return;
    this.live = false;
    // A last event without its blank line still counts (lenient, like the SDKs' own decoders).
    feed(decoder.decode(), true);
    if (!this.terminal && !this.closed) mapper.end?.(this);
    if (!this.terminal && !this.closed) {
      this.error(
        new ProtocolError(
          `${this.spec.provider}: the stream ended without the provider's terminal event (the answer may be truncated).`,
          undefined,
          this.context(),
        ),
      );
    }
  }

  private async readDocument(response: Response): Promise<void> {
    const text = await response.text();
    if (this.closed) return;
    this.live = false;
    this.lastLine = text;
    try {
      this.spec.createMapper().event(undefined, text, this);
    } catch (error) {
      throw this.malformed(error);
    }
    if (!this.terminal && !this.closed) {
      this.error(new ProtocolError(`${this.spec.provider}: the response is incomplete.`, text.slice(0, 1000), this.context()));
    }
  }

  /**
   * What the mapper threw while reading a well-delivered message is the server's fault, not the
   * connection's: a `SyntaxError` from `JSON.parse` or a chunk of the wrong shape becomes a
   * (non-retryable) `ProtocolError` quoting the offending data.
   */
  private malformed(error: unknown): unknown {
    if (TokenflowError.isInstance(error)) return error;
    if (error instanceof SyntaxError) {
      return new ProtocolError(`${this.spec.provider}: malformed JSON from the provider (${error.message}).`, this.lastLine, {
        cause: error,
      });
    }
    const reason = error instanceof Error ? error.message : String(error);
    return new ProtocolError(`${this.spec.provider}: a provider event has an unexpected shape (${reason}).`, this.lastLine, {
      cause: error,
    });
  }

  // ---- WireSink: called synchronously by the mapper for each wire event ----

  start(model: string | undefined, id: string | undefined): void {
    if (this.started || this.closed) return;
    this.started = true;
    const event: TokenEvent = { type: 'start', provider: this.spec.provider, model: model || this.spec.model, t: this.now() };
    if (id) event.id = id;
    this.subscriber.next(event);
  }

  token(text: string): void {
    if (typeof text !== 'string') throw this.notText('a token', text);
    if (text.length === 0 || this.closed) return;
    if (!this.started) this.start(undefined, undefined);
    this.parts.push(text);
    this.subscriber.next({ type: 'token', text, index: this.index++, t: this.now() });
  }

  reasoning(text: string): void {
    if (typeof text !== 'string') throw this.notText('reasoning', text);
    if (text.length === 0 || this.closed) return;
    if (!this.started) this.start(undefined, undefined);
    this.otherParts.push(text);
    this.subscriber.next({ type: 'reasoning', text, t: this.now() });
  }

  reasoningSignature(signature: string): void {
    if (this.closed || !signature) return;
    if (!this.started) this.start(undefined, undefined);
    this.subscriber.next({ type: 'reasoning', text: '', signature, t: this.now() });
  }

  redactedReasoning(data: string): void {
    if (this.closed || !data) return;
    if (!this.started) this.start(undefined, undefined);
    this.subscriber.next({ type: 'reasoning', text: '', redacted: data, t: this.now() });
  }

  reasoningData(data: Record<string, unknown>): void {
    if (this.closed) return;
    if (!this.started) this.start(undefined, undefined);
    this.subscriber.next({ type: 'reasoning', text: '', providerData: data, t: this.now() });
  }

  toolCall(
    key: number,
    id: string | undefined,
    name: string | undefined,
    argsDelta: string,
    kind?: string,
    providerData?: Record<string, unknown>,
  ): void {
    if (typeof argsDelta !== 'string') throw this.notText('tool-call arguments', argsDelta);
    if (this.closed) return;
    let tool = this.tools.get(key);
    if (!tool) {
      if (argsDelta.length === 0 && !id && !name) return;
      tool = { index: this.tools.size, args: '', kind };
      this.tools.set(key, tool);
    } else if (argsDelta.length === 0 && !id && !name) {
      return;
    }
    if (!this.started) this.start(undefined, undefined);
    if (argsDelta.length > 0) {
      this.otherParts.push(argsDelta);
      tool.args += argsDelta;
    }
    const event: TokenEvent = { type: 'tool-call', index: tool.index, argsDelta, t: this.now() };
    if (id) event.id = id;
    if (name) event.name = name;
    if (tool.kind && !tool.sent) event.kind = tool.kind;
    if (providerData && !tool.sent) event.providerData = providerData;
    tool.sent = true;
    this.subscriber.next(event);
  }

  toolArguments(key: number): string {
    return this.tools.get(key)?.args ?? '';
  }

  providerTool(phase: 'call' | 'result', id: string, name: string, input: unknown, block: Record<string, unknown>): void {
    if (this.closed) return;
    if (!this.started) this.start(undefined, undefined);
    const event: TokenEvent = { type: 'provider-tool', phase, id, name, block, t: this.now() };
    if (input !== undefined) event.input = input;
    this.subscriber.next(event);
  }

  citation(citation: Record<string, unknown>): void {
    if (this.closed) return;
    if (!this.started) this.start(undefined, undefined);
    this.subscriber.next({ type: 'citation', citation, t: this.now() });
  }

  reset(reason: string): void {
    if (this.closed) return;
    if (!this.started) this.start(undefined, undefined);
    this.parts = [];
    this.otherParts = [];
    this.tools = new Map();
    this.index = 0;
    this.inputTokens = undefined;
    this.outputTokens = undefined;
    this.timings = undefined;
    this.subscriber.next({ type: 'reset', reason, t: this.now() });
  }

  usage(inputTokens: number | undefined, outputTokens: number | undefined, timings?: ServerTimings): void {
    // No real prompt is 0 tokens (a proxy that does not know sends 0): that count is unknown, not exact.
    if (typeof inputTokens === 'number' && Number.isFinite(inputTokens) && inputTokens > 0) this.inputTokens = inputTokens;
    if (typeof outputTokens === 'number' && Number.isFinite(outputTokens)) this.outputTokens = outputTokens;
    if (timings) this.timings = timings;
  }

  done(stopReason: StopReason, refusal?: string): void {
    if (this.closed || this.terminal) return;
    if (this.tools.size > 0) stopReason = this.settleTools(stopReason);
    this.terminal = true;
    // The request is complete once the terminal event arrived: completing must not abort it.
    this.live = false;
    if (!this.started) this.start(undefined, undefined);
    const needsEstimate = this.inputTokens === undefined || this.outputTokens === undefined;
    if (needsEstimate && !tokenizerSettled()) {
      // The provider sent no (or partial) usage: count with the real tokenizer, loaded on first need.
      void loadTokenizer().then(() => this.finish(stopReason, refusal));
      return;
    }
    this.finish(stopReason, refusal);
  }

  /**
   * An answer with calls the application must answer stops for `tool_use` whatever the wire said
   * beside them (some servers send `stop`), unless it was cut or filtered; and every complete
   * function call has JSON arguments: `{}` for a tool without input.
   */
  private settleTools(stopReason: StopReason): StopReason {
    const cut = stopReason === 'max_tokens' || stopReason === 'content_filter' || stopReason === 'refusal';
    if (!cut) {
      for (const [key, tool] of this.tools) {
        if (tool.kind === undefined && tool.args.trim().length === 0) this.toolCall(key, undefined, undefined, '{}');
      }
    }
    return stopReason === 'end' || stopReason === 'other' ? 'tool_use' : stopReason;
  }

  private tooLarge(maxEventSize: number): ProtocolError {
    return new ProtocolError(
      `${this.spec.provider}: an event-stream line or event is larger than ${maxEventSize} characters; the stream was stopped instead of buffering it (raise the adapter's maxEventSize option if the provider really sends events this large).`,
      undefined,
    );
  }

  private notText(what: string, value: unknown): ProtocolError {
    return new ProtocolError(
      `${this.spec.provider}: ${what} must be text, got ${typeof value}.`,
      this.lastLine,
      this.context(),
    );
  }

  private finish(stopReason: StopReason, refusal: string | undefined): void {
    if (this.closed) return;
    const usageEvent: TokenEvent = { type: 'usage', usage: this.currentUsage(), t: this.now() };
    if (this.timings) usageEvent.serverTimings = this.timings;
    this.subscriber.next(usageEvent);
    const doneEvent: TokenEvent = { type: 'done', stopReason, t: this.now() };
    if (refusal) doneEvent.refusal = refusal;
    this.subscriber.next(doneEvent);
    this.closed = true;
    this.outer?.removeEventListener('abort', this.onOuterAbort);
    this.subscriber.complete();
  }

  fail(error: TokenflowError): void {
    if (this.closed) return;
    // An error event inside a 200 stream: the response's request id is the one to quote to support.
    if (ProviderError.isInstance(error) && (error as ProviderError).requestId === undefined && this.requestId !== undefined) {
      Object.defineProperty(error, 'requestId', { value: this.requestId, enumerable: true });
    }
    this.error(error.withContext(this.context()));
  }

  // ---- StreamProbe: what a timeout operator reads before it lets go of the request ----

  probe(): StreamProbe {
    return { usage: () => this.context().usage!, partialText: () => this.parts.join('') };
  }

  // ---- helpers ----

  /**
   * An event's `t`: when the body chunk that carried it was read (see {@link StreamRun.chunkT}), or
   * now for an event made outside a read (the end of the body, an abort).
   */
  private now(): number {
    return this.chunkT ?? this.clock();
  }

  /** Milliseconds since subscription, to the microsecond: more digits would only add bytes on the wire. */
  private clock(): number {
    return Math.round((performance.now() - this.t0) * 1000) / 1000;
  }

  /** Usage so far; `text` is the answer's text when the caller has already joined it. */
  private currentUsage(text?: string): Usage {
    const estimated = this.inputTokens === undefined || this.outputTokens === undefined;
    return {
      inputTokens: this.inputTokens ?? this.spec.estimateInputTokens(),
      outputTokens: this.outputTokens ?? this.estimateOutputTokens(text ?? this.parts.join('')),
      estimated,
    };
  }

  private estimateOutputTokens(text: string): number {
    let tokens = estimateTokens(text);
    if (this.otherParts.length > 0) tokens += estimateTokens(this.otherParts.join(''));
    return tokens;
  }

  private context(): StreamErrorContext {
    const partialText = this.parts.join('');
    return { partialText, usage: this.currentUsage(partialText), provider: this.spec.provider };
  }

  private abortedError(): StreamAbortedError {
    return new StreamAbortedError(`${this.spec.provider}: the request was aborted by its signal.`, {
      ...this.context(),
      cause: this.outer?.reason,
    });
  }

  private toError(error: unknown): TokenflowError {
    if (TokenflowError.isInstance(error)) return error.withContext(this.context());
    if (this.outer?.aborted) return this.abortedError();
    if (this.started) {
      const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
      const reason = cause instanceof Error ? cause.message : String(cause);
      // The body broke after the stream began. Only a failure recognised as the network's is a
      // (retryable) lost connection; anything else is reported as it is, not retried.
      if (isNetworkError(error)) {
        return new ConnectionError(
          `${this.spec.provider}: the connection was lost mid-stream after ${this.index} tokens (${reason}).`,
          { ...this.context(), cause: error },
        );
      }
      return new TokenflowError(`${this.spec.provider}: reading the stream failed after ${this.index} tokens (${reason}).`, {
        ...this.context(),
        cause: error,
      });
    }
    return this.spec.mapError(error, this.context());
  }

  private error(error: TokenflowError): void {
    if (this.closed) return;
    this.closed = true;
    this.subscriber.error(error);
  }
}
