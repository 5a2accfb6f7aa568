import { Observable, type Subscription } from 'rxjs';
import { CallbackError, InvalidArgumentError, ProtocolError, StreamAbortedError, TokenflowError, type StreamErrorContext } from '../errors.js';
import { usageSoFar } from '../estimate.js';
import type { AgentResponse, TokenEvent, TokenStreamEvent, ToolCall, ToolResultEvent } from '../events.js';
import { operate } from '../operators/operate.js';
import { ResponseBuilder } from '../response-builder.js';
import { isPlainObject, rejectUnknownKeys, requireSignal } from '../validate.js';
import { isThenable, overflowError, readMaxQueue, requireStream } from './internal.js';

/** Options for {@link streamWithCallbacks}. */
export interface StreamCallbacks {
  /**
   * Called with each token's text (and its event), strictly in order. When it returns a promise (any
   * thenable), the next call waits for it, while the HTTP stream keeps being read into the queue; any
   * other return value is ignored (so `(t) => process.stdout.write(t)` is fine).
   */
  onToken?: (text: string, event: TokenStreamEvent) => unknown;
  /** Called with every event (`start`, `token`, …, `done`) before `onToken`; may return a promise too. */
  onEvent?: (event: TokenEvent) => unknown;
  /**
   * Called with each complete tool call the application (or an Agent's tool loop) answers, once its
   * step ended: before the `step-finish` event of a tool loop's step, or before `done` for a single
   * answer; in call order. `step` is the loop's step (0 for a single answer). May return a promise.
   */
  onToolCall?: (call: ToolCall, step: number) => unknown;
  /** Called with each `tool-result` event of a tool loop, after `onEvent`. May return a promise. */
  onToolResult?: (result: ToolResultEvent) => unknown;
  /** Cancels the request; the promise rejects with `StreamAbortedError` carrying the partial text. */
  signal?: AbortSignal;
  /**
   * How many events may wait for a slow handler before the stream is cancelled with
   * `QueueOverflowError`. @defaultValue 10_000
   */
  maxQueue?: number;
}

const KEYS = ['onToken', 'onEvent', 'onToolCall', 'onToolResult', 'signal', 'maxQueue'] as const;
const HANDLERS = ['onToken', 'onEvent', 'onToolCall', 'onToolResult'] as const;

/**
 * Runs a token stream through `onToken`-style callbacks and resolves with the finished
 * {@link AgentResponse}, for code built on handlers rather than Observables.
 *
 * Calls are strictly ordered and never overlap: an async handler is awaited before the next event is
 * delivered. Meanwhile the HTTP stream keeps being read into a bounded queue, so a slow handler
 * neither stalls the provider nor reorders tokens. A handler that throws (or rejects) cancels the
 * request and rejects with `CallbackError` (its `cause` is what was thrown, `partialText` the text
 * received); an aborted `signal` cancels the request and rejects with `StreamAbortedError`; a stream
 * error rejects with that error once the events received before it were delivered.
 *
 * @example
 * const answer = await streamWithCallbacks(llm.stream(request), {
 *   onToken: async (token) => socket.send(token),
 *   signal: AbortSignal.timeout(30_000),
 * });
 * console.log(answer.usage.outputTokens);
 *
 * @param tokens$ - the stream, e.g. `llm.stream(request)` (subscribed once, here)
 * @param callbacks - `onToken`, `onEvent`, `onToolCall`, `onToolResult`, `signal`, `maxQueue`
 * @returns the answer, as `collect()` would build it
 */
export function streamWithCallbacks(tokens$: Observable<TokenEvent>, callbacks: StreamCallbacks = {}): Promise<AgentResponse> {
  // A promise never throws: bad input rejects it, like every other failure (nothing is subscribed).
  try {
    return startWithCallbacks(tokens$, callbacks);
  } catch (error) {
    return Promise.reject(error);
  }
}

function startWithCallbacks(tokens$: Observable<TokenEvent>, callbacks: StreamCallbacks): Promise<AgentResponse> {
  const fn = 'streamWithCallbacks';
  const source = requireStream(tokens$, fn);
  if (!isPlainObject(callbacks)) {
    throw new InvalidArgumentError('callbacks', `${fn}(): the second argument must be an object like { onToken }.`);
  }
  rejectUnknownKeys(callbacks, KEYS, 'callbacks');
  for (const name of HANDLERS) {
    const value = callbacks[name];
    if (value !== undefined && typeof value !== 'function') {
      throw new InvalidArgumentError(`callbacks.${name}`, `${fn}(): ${name} must be a function, got ${typeof value}.`);
    }
  }
  const handlers = callbacks as StreamCallbacks;
  const signal = requireSignal(handlers.signal, 'callbacks.signal');
  const maxQueue = readMaxQueue(handlers.maxQueue, fn);
  return new Promise<AgentResponse>((resolve, reject) => {
    new CallbackRun(source, handlers, signal, maxQueue, resolve, reject).start();
  });
}

/** One run's state; a class so the per-token path stays monomorphic. */
class CallbackRun {
  private readonly builder = new ResponseBuilder();
  private readonly queue: TokenEvent[] = [];
  private head = 0;
  /** An async handler is in flight. */
  private busy = false;
  private settled = false;
  private sourceEnded = false;
  private sourceError: unknown = undefined;
  private subscription: Subscription | undefined;
  private handler = 'onToken';
  private readonly onToken: StreamCallbacks['onToken'];
  private readonly onEvent: StreamCallbacks['onEvent'];
  private readonly onToolCall: StreamCallbacks['onToolCall'];
  private readonly onToolResult: StreamCallbacks['onToolResult'];
  /** The current step's tool calls as delivered so far (for `onToolCall`); `undefined` without `onToolCall`. */
  private calls: ToolCall[] | undefined;
  private step = 0;

  constructor(
    private readonly source: Observable<TokenEvent>,
    handlers: StreamCallbacks,
    private readonly signal: AbortSignal | undefined,
    private readonly maxQueue: number,
    private readonly resolve: (response: AgentResponse) => void,
    private readonly reject: (error: unknown) => void,
  ) {
    this.onToken = handlers.onToken;
    this.onEvent = handlers.onEvent;
    this.onToolCall = handlers.onToolCall;
    this.onToolResult = handlers.onToolResult;
    if (this.onToolCall) this.calls = [];
  }

  start(): void {
    if (this.signal?.aborted) {
      // Nothing was sent: the stream is never subscribed.
      this.fail(this.abortError());
      return;
    }
    this.signal?.addEventListener('abort', this.onAbort, { once: true });
    // Through operate(): a throw while taking an event in (an event the builder cannot read) ends the
    // run like a stream error instead of escaping, and a run that settles while a synchronous source
    // is still emitting (a handler threw on its first token) lets go of it at once.
    new Observable<never>((subscriber) => {
      this.subscription = subscriber;
      operate(this.source, subscriber, { next: (event) => this.receive(event) });
    }).subscribe({
      error: (error: unknown) => {
        this.sourceEnded = true;
        this.sourceError = error ?? new Error('the stream errored without a reason');
        this.pump();
      },
      complete: () => {
        this.sourceEnded = true;
        this.pump();
      },
    });
  }

  private readonly onAbort = (): void => this.fail(this.abortError());

  private receive(event: TokenEvent): void {
    if (this.settled) return;
    this.builder.push(event);
    if (!this.busy && this.head === this.queue.length) {
      // Fast path: nothing waiting, deliver now without queueing.
      this.deliver(event);
      return;
    }
    if (this.queue.length - this.head >= this.maxQueue) {
      this.fail(overflowError('streamWithCallbacks', 'handler', this.maxQueue, this.builder.text()));
      return;
    }
    this.queue.push(event);
  }

  /** Calls the handlers for one event; returns with `busy` set if one of them is async. */
  private deliver(event: TokenEvent): void {
    if (this.calls || this.onToolResult) {
      this.deliverWithTools(event);
      return;
    }
    try {
      let pending: PromiseLike<unknown> | undefined;
      if (this.onEvent) {
        this.handler = 'onEvent';
        const result = this.onEvent(event);
        if (isThenable(result)) pending = result;
      }
      if (this.onToken && event.type === 'token') {
        const onToken = this.onToken;
        if (pending) {
          pending = pending.then(() => {
            this.handler = 'onToken';
            return onToken(event.text, event);
          });
        } else {
          this.handler = 'onToken';
          const result = onToken(event.text, event);
          if (isThenable(result)) pending = result;
        }
      }
      if (pending) {
        this.busy = true;
        // Inside the try: a handler's thenable whose `then` throws fails the run, never leaves it busy.
        pending.then(
          () => {
            this.busy = false;
            this.pump();
          },
          (error: unknown) => this.fail(this.callbackError(error)),
        );
      }
    } catch (error) {
      this.busy = false;
      this.fail(this.callbackError(error));
    }
  }

  /**
   * {@link deliver} with the tool handlers: collects the step's calls as their fragments pass and
   * hands them to `onToolCall` before the event that ends the step. Each handler runs after the one
   * before it settled (the general path: the token fast path above stays free of it).
   */
  private deliverWithTools(event: TokenEvent): void {
    const calls: Array<[string, () => unknown]> = [];
    const steps = this.calls;
    if (steps) {
      if (event.type === 'step-start') {
        this.step = event.step;
        steps.length = 0;
      } else if (event.type === 'reset') steps.length = 0;
      else if (event.type === 'tool-call') {
        let call = steps.find((c) => c.index === event.index);
        if (!call) steps.push((call = { index: event.index, arguments: '' }));
        if (event.id) call.id = event.id;
        if (event.name) call.name = event.name;
        if (event.kind) call.kind = event.kind;
        call.arguments += event.argsDelta;
      } else if ((event.type === 'step-finish' || event.type === 'done') && steps.length > 0) {
        const step = this.step;
        const onToolCall = this.onToolCall!;
        for (const call of steps.splice(0)) calls.push(['onToolCall', () => onToolCall(call, step)]);
      }
    }
    if (this.onEvent) {
      const onEvent = this.onEvent;
      calls.push(['onEvent', () => onEvent(event)]);
    }
    if (this.onToken && event.type === 'token') {
      const onToken = this.onToken;
      calls.push(['onToken', () => onToken(event.text, event)]);
    }
    if (this.onToolResult && event.type === 'tool-result') {
      const onToolResult = this.onToolResult;
      calls.push(['onToolResult', () => onToolResult(event)]);
    }
    this.runHandlers(calls, 0);
  }

  /** Runs handlers in order from `i`, waiting for each one that returns a promise. */
  private runHandlers(calls: ReadonlyArray<[string, () => unknown]>, i: number): void {
    try {
      for (; i < calls.length; i++) {
        const [name, call] = calls[i]!;
        this.handler = name;
        const result = call();
        if (isThenable(result)) {
          this.busy = true;
          const next = i + 1;
          result.then(
            () => {
              if (this.settled) return;
              this.busy = false;
              if (next < calls.length) {
                this.runHandlers(calls, next);
                if (this.busy) return;
              }
              this.pump();
            },
            (error: unknown) => this.fail(this.callbackError(error)),
          );
          return;
        }
      }
    } catch (error) {
      this.busy = false;
      this.fail(this.callbackError(error));
    }
  }

  /** Delivers queued events until one is async; settles once everything was delivered. */
  private pump(): void {
    while (!this.settled && !this.busy && this.head < this.queue.length) {
      this.deliver(this.queue[this.head++]!);
    }
    if (this.settled || this.busy) return;
    this.queue.length = 0;
    this.head = 0;
    if (this.sourceEnded) this.finish();
  }

  private finish(): void {
    // Runs from a promise callback after an async handler: whatever throws here (building an answer
    // from malformed events) must reject the promise, not become an unhandled rejection of another.
    try {
      if (this.sourceError !== undefined) {
        const error = this.sourceError;
        if (TokenflowError.isInstance(error)) error.withContext(this.context());
        this.fail(error);
      } else if (!this.builder.done) {
        this.fail(
          new ProtocolError('streamWithCallbacks(): the stream completed without a `done` event.', undefined, this.context()),
        );
      } else {
        const response = this.builder.build();
        this.settle();
        this.resolve(response);
      }
    } catch (error) {
      this.fail(error);
    }
  }

  private fail(error: unknown): void {
    if (this.settled) return;
    try {
      this.settle();
    } finally {
      // Even when the stream's own teardown throws, the promise settles.
      this.reject(error);
    }
  }

  private settle(): void {
    this.settled = true;
    this.signal?.removeEventListener('abort', this.onAbort);
    this.queue.length = 0;
    this.head = 0;
    // Cancels the HTTP request if it is still live; a no-op after the stream ended.
    this.subscription?.unsubscribe();
  }

  private callbackError(error: unknown): CallbackError {
    const reason = error instanceof Error ? error.message : String(error);
    return new CallbackError(`${this.handler} threw: ${reason}. The request was cancelled.`, { ...this.context(), cause: error });
  }

  private abortError(): StreamAbortedError {
    return new StreamAbortedError('streamWithCallbacks(): the request was aborted by its signal.', {
      ...this.context(),
      cause: this.signal?.reason,
    });
  }

  /** The partial text, usage and provider so far, for every error this run raises. */
  private context(): StreamErrorContext {
    const partialText = this.builder.text();
    const context: StreamErrorContext = { partialText, usage: usageSoFar(partialText, this.builder.reportedUsage()) };
    const provider = this.builder.providerName();
    if (provider !== undefined) context.provider = provider;
    return context;
  }
}
