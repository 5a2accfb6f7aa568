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

/** What a wire mapper reports, one call per fact; the engine turns calls into events. */
export interface WireSink {
  /** The provider identified the answer. Called at most once, before anything else if at all. */
  start(model: string | undefined, id: string | undefined): void;
  /** A text delta (empty ones are dropped by the sink). */
  token(text: string): void;
  reasoning(text: string): void;
  toolCall(index: number, id: string | undefined, name: string | undefined, argsDelta: string): void;
  /** Provider-reported counts; `undefined` leaves a count as it was. The latest value wins. */
  usage(inputTokens: number | undefined, outputTokens: number | undefined, timings?: ServerTimings): void;
  /** The provider's terminal event: emits `usage` then `done`, and completes. */
  done(stopReason: StopReason, refusal?: string): void;
  /** An error reported inside the stream; the sink adds the partial text and usage. */
  fail(error: TokenflowError): void;
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

/** Everything the engine needs to run one adapter request. */
export interface StreamSpec {
  provider: string;
  /** The model the request named (used on `start` if the wire names none). */
  model: string;
  /** Opens the HTTP response through the SDK; rejects with the SDK's typed errors. */
  open(signal: AbortSignal): Promise<Response>;
  createMapper(): WireMapper;
  /** Prompt tokens to report when the provider sends no usage. */
  estimateInputTokens(): number;
  /** Maps an SDK error (HTTP status, connection) to a tokenflow error. */
  mapError(error: unknown, context: StreamErrorContext): TokenflowError;
  /** An outer signal: aborting it errors the stream with `StreamAbortedError`. */
  signal?: AbortSignal | undefined;
  /**
   * `true` for a non-streaming request: the whole JSON body goes to the mapper as one event, so a
   * non-streamed answer passes through the same sink, errors and timing as a streamed one.
   */
  document?: boolean;
}

/** After the terminal event, how long to wait for the end of the body before dropping the socket. */
const DRAIN_AFTER_DONE_MS = 2_000;
const STREAM: TextDecodeOptions = { stream: true };

/**
 * Creates the cold Observable for one adapter request: each subscription opens its own request with
 * its own `AbortController`; unsubscribing aborts it while it is still live.
 */
export function createTokenStream(spec: StreamSpec): Observable<TokenEvent> {
  return new Observable<TokenEvent>((subscriber) => {
    const run = new StreamRun(spec, subscriber);
    run.begin();
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
  private readonly parts: string[] = [];
  /** Reasoning and tool-call text: output tokens too, when they must be estimated. */
  private readonly otherParts: string[] = [];
  private inputTokens: number | undefined;
  private outputTokens: number | undefined;
  private timings: ServerTimings | undefined;
  private lastLine: string | undefined;
  /** The provider's id for this HTTP request (`request-id` / `x-request-id`). */
  private requestId: string | undefined;

  constructor(
    private readonly spec: StreamSpec,
    private readonly subscriber: Subscriber<TokenEvent>,
  ) {
    this.outer = spec.signal;
  }

  begin(): void {
    const outer = this.outer;
    if (outer) {
      if (outer.aborted) {
        this.live = false;
        this.error(this.abortedError());
        return;
      }
      outer.addEventListener('abort', this.onOuterAbort, { once: true });
    }
    this.pump().catch((error: unknown) => this.error(this.toError(error)));
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

  private async pump(): Promise<void> {
    const response = await this.spec.open(this.controller.signal);
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
    const parser = createParser({
      onEvent: (message: EventSourceMessage) => {
        if (this.closed) return;
        this.lastLine = message.data;
        mapper.event(message.event, message.data, this);
      },
      onError: (error: ParseError) => {
        throw new ProtocolError(
          `${this.spec.provider}: malformed event-stream line (${error.message}).`,
          error.line,
        );
      },
    });
    const reader = body.getReader();
    const decoder = new TextDecoder();
    const feed = (text: string, flush: boolean): void => {
      try {
        parser.feed(text);
        if (flush) parser.reset({ consume: true });
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
        feed(decoder.decode(value, STREAM), false);
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

  /** A `SyntaxError` from `JSON.parse` becomes a `ProtocolError` quoting the offending data. */
  private malformed(error: unknown): unknown {
    return error instanceof SyntaxError
      ? new ProtocolError(
          `${this.spec.provider}: malformed JSON from the provider (${error.message}).`,
          this.lastLine,
          { cause: error },
        )
      : error;
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
    if (text.length === 0 || this.closed) return;
    if (!this.started) this.start(undefined, undefined);
    this.parts.push(text);
    this.subscriber.next({ type: 'token', text, index: this.index++, t: this.now() });
  }

  reasoning(text: string): void {
    if (text.length === 0 || this.closed) return;
    if (!this.started) this.start(undefined, undefined);
    this.otherParts.push(text);
    this.subscriber.next({ type: 'reasoning', text, t: this.now() });
  }

  toolCall(index: number, id: string | undefined, name: string | undefined, argsDelta: string): void {
    if (this.closed || (argsDelta.length === 0 && !id && !name)) return;
    if (!this.started) this.start(undefined, undefined);
    if (argsDelta.length > 0) this.otherParts.push(argsDelta);
    const event: TokenEvent = { type: 'tool-call', index, argsDelta, t: this.now() };
    if (id) event.id = id;
    if (name) event.name = name;
    this.subscriber.next(event);
  }

  usage(inputTokens: number | undefined, outputTokens: number | undefined, timings?: ServerTimings): void {
    if (typeof inputTokens === 'number' && Number.isFinite(inputTokens)) this.inputTokens = inputTokens;
    if (typeof outputTokens === 'number' && Number.isFinite(outputTokens)) this.outputTokens = outputTokens;
    if (timings) this.timings = timings;
  }

  done(stopReason: StopReason, refusal?: string): void {
    if (this.closed || this.terminal) return;
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

  // ---- helpers ----

  /** Milliseconds since subscription, to the microsecond: more digits would only add bytes on the wire. */
  private now(): number {
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
      // The body broke after the stream began: the connection, not the provider, failed.
      const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
      const reason = cause instanceof Error ? cause.message : String(cause);
      return new ConnectionError(
        `${this.spec.provider}: the connection was lost mid-stream after ${this.index} tokens (${reason}).`,
        { ...this.context(), cause: error },
      );
    }
    return this.spec.mapError(error, this.context());
  }

  private error(error: TokenflowError): void {
    if (this.closed) return;
    this.closed = true;
    this.subscriber.error(error);
  }
}
