/**
 * One stream straight to one client: `toSSE()` for Web-standard servers, `pipeSSE()` for Node.
 * No hub, no replay: for resumable, shared streams use `StreamHub`.
 *
 * Their messages carry no `id:`. Each response is its own upstream request, so a reconnect gets a
 * new answer, not the rest of this one; numbering every response from 0 made `fromSSE()` take the
 * new answer's first events for ones it had seen and drop them, joining two answers into one text.
 * With no id there is no resume point to promise or to send back, and a reconnecting client knows
 * the stream started over (it emits `reset`). A random stream token in the id would say the same
 * with more bytes per event and a resume point that nothing honours.
 */
import type { ServerResponse } from 'node:http';
import type { Observable, Subscription } from 'rxjs';
import { requireStream } from '../bridge/internal.js';
import { InvalidArgumentError, QueueOverflowError } from '../errors.js';
import type { TokenEvent } from '../events.js';
import { readOptions } from '../operators/internal.js';
import { isPlainObject, requireNumber, requireSignal } from '../validate.js';
import {
  AnswerTracker,
  checkErrorHook,
  checkLegacyOptions,
  formatSSE,
  frame,
  HEARTBEAT,
  isTokenEvent,
  reportStreamError,
  serializeError,
  SSE_HEADERS,
  type LegacyAnswerOptions,
  type StreamErrorHook,
} from './encode.js';

/** Options of `toSSE()`, `sseResponse()` and `pipeSSE()`. */
export interface SSEStreamOptions {
  /**
   * How often a heartbeat comment is sent while the stream is quiet (`0`: never), so proxies
   * with idle timeouts keep the connection.
   * @defaultValue 15_000
   */
  heartbeatMs?: number;
  /** Sent first as the SSE `retry:` field: the browser's reconnection delay, in milliseconds. */
  retryMs?: number;
  /** Ends the response (and cancels the upstream) when aborted. */
  signal?: AbortSignal;
  /** Also send the legacy `answer_streaming` event after each token (quadratic in bytes). */
  legacy?: LegacyAnswerOptions;
  /**
   * Gets the full error when the stream fails. The browser only gets a sanitised `error` event
   * (class name, a fixed message, status, retry hints): upstream text such as an error body that
   * echoes the API key stays on the server, so log it here. A throw or rejection is reported with
   * `console.error` and does not affect the response.
   * @defaultValue logs the error with `console.error`
   */
  onError?: StreamErrorHook;
  /**
   * The most SSE text, in bytes, that may wait for a client reading slower than the answer arrives
   * (or not at all): what the response or the `ReadableStream` holds unsent. Past it the stream
   * ends with an `error` event (`QueueOverflowError`) and the upstream is cancelled, which aborts
   * the provider's request, so a client that never reads cannot make the server hold a whole answer.
   * @defaultValue 1_048_576 (1 MiB)
   */
  maxBufferedBytes?: number;
}

const STREAM_OPTIONS = ['heartbeatMs', 'retryMs', 'signal', 'legacy', 'onError', 'maxBufferedBytes'];

/** The default of `maxBufferedBytes`: hundreds of thousands of tokens' worth of SSE, far below trouble. */
const DEFAULT_MAX_BUFFERED_BYTES = 1024 * 1024;

/** Where `run` writes: a Node response or a `ReadableStream`'s queue, each holding at most a bound. */
interface Sink {
  /**
   * Sends the text, or queues it while the client is behind. Returns `false` when more than
   * `maxBufferedBytes` now wait for the client (the text is kept all the same).
   */
  write(text: string): boolean;
  /** `true` when nothing waits for the client: heartbeats are only worth sending then. */
  idle(): boolean;
  end(): void;
}

interface CheckedOptions {
  heartbeatMs: number;
  retryMs: number | undefined;
  signal: AbortSignal | undefined;
  legacy: LegacyAnswerOptions | undefined;
  onError: StreamErrorHook | undefined;
  maxBufferedBytes: number;
}

function checkOptions(options: unknown, fn: string): CheckedOptions {
  const o = readOptions(options, fn, STREAM_OPTIONS);
  if (o.legacy !== undefined) checkLegacyOptions(o.legacy, `${fn}() options.legacy`);
  return {
    heartbeatMs: o.heartbeatMs === undefined ? 15_000 : requireNumber(o.heartbeatMs, 'options.heartbeatMs', { min: 0 }),
    retryMs: o.retryMs === undefined ? undefined : requireNumber(o.retryMs, 'options.retryMs', { min: 0, integer: true }),
    signal: requireSignal(o.signal, 'options.signal'),
    legacy: o.legacy as LegacyAnswerOptions | undefined,
    onError: checkErrorHook(o.onError, 'options.onError'),
    maxBufferedBytes:
      o.maxBufferedBytes === undefined
        ? DEFAULT_MAX_BUFFERED_BYTES
        : requireNumber(o.maxBufferedBytes, 'options.maxBufferedBytes', { min: 1, integer: true }),
  };
}

/**
 * Subscribes `tokens$` and writes each event as an SSE message, then `end()`s after `done`, after
 * an `error` message, or when the signal aborts. A client more than `maxBufferedBytes` behind ends
 * the stream with a `QueueOverflowError` (an Observable cannot be paused: the only way to stop
 * buffering is to cancel it). Returns the teardown (unsubscribes upstream).
 */
function run(tokens$: Observable<TokenEvent>, sink: Sink, options: CheckedOptions, fn: string): () => void {
  const answer = new AnswerTracker(options.legacy);
  let finished = false;
  let heartbeat: ReturnType<typeof setInterval> | undefined;
  let subscription: Subscription | undefined;
  const teardown = () => {
    finished = true;
    if (heartbeat) clearInterval(heartbeat);
    heartbeat = undefined;
    subscription?.unsubscribe();
    options.signal?.removeEventListener('abort', onAbort);
  };
  const finish = () => {
    if (finished) return;
    teardown();
    sink.end();
  };
  const onAbort = () => finish();
  const fail = (error: unknown) => {
    if (finished) return;
    const sent = serializeError(error, answer.text);
    // A client that fell behind gets every message before this one, so it knows the text already
    // (fromSSE reports what it received): repeating it would double what waits for that client.
    if (QueueOverflowError.isInstance(error)) delete sent.partialText;
    // Past the bound too: one small message more, so a client that catches up learns why it ended.
    sink.write(formatSSE({ event: 'error', data: JSON.stringify(sent) }));
    finish();
    // After the response is complete, so a slow or throwing hook cannot hold it up.
    reportStreamError(options.onError, error, { partialText: answer.text, sent });
  };
  const overflow = () =>
    fail(
      new QueueOverflowError(
        `${fn}(): the client fell more than ${options.maxBufferedBytes} bytes of SSE text behind the stream (it reads slower than the answer arrives, or not at all); ` +
          'the response was ended and the upstream request cancelled. Raise options.maxBufferedBytes if such clients are expected.',
        options.maxBufferedBytes,
        { partialText: answer.text },
      ),
    );
  if (options.signal?.aborted) {
    finish();
    return teardown;
  }
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.retryMs !== undefined) sink.write(`retry: ${options.retryMs}\n\n`);
  if (options.heartbeatMs > 0) {
    heartbeat = setInterval(() => {
      if (sink.idle()) sink.write(HEARTBEAT);
    }, options.heartbeatMs);
    heartbeat.unref?.();
  }
  subscription = tokens$.subscribe({
    next: (event) => {
      if (finished) return;
      if (!isTokenEvent(event)) {
        fail(new InvalidArgumentError('tokens$', 'The stream emitted something that is not a TokenEvent; pipe operators that change the type after toSSE/pipeSSE, not before.'));
        return;
      }
      // Checked above: write the frame directly rather than through encodeEvent's per-call checks.
      // No id: this response cannot resume (see the module comment).
      const out = frame(undefined, event.type, JSON.stringify(event));
      const legacy = answer.record(event);
      const kept = sink.write(legacy === undefined ? out : out + legacy);
      // The last event completes the answer even past the bound: it is queued, and nothing follows.
      if (event.type === 'done') finish();
      else if (!kept) overflow();
    },
    error: (error: unknown) => fail(error),
    complete: () => finish(),
  });
  if (finished) subscription.unsubscribe();
  return teardown;
}

/**
 * The stream as a Web `ReadableStream` of SSE bytes, for `new Response()` in Hono, Next.js route
 * handlers, Bun, Deno or Cloudflare Workers. Lazy and pulled: it subscribes when the body is first
 * read (building it, or a `Response` around it, starts nothing), and what waits for a slow reader is
 * bounded by `maxBufferedBytes`: past it the stream ends with an `error` event and the upstream is
 * cancelled. A client that goes away cancels the stream, which unsubscribes and aborts the
 * provider's request.
 *
 * Plain `toSSE` cannot resume, so its messages have no `id:`: a browser that reconnects starts a new
 * answer, and `fromSSE()` emits `reset` before it. For streams that must survive reconnects or serve
 * several tabs, publish them on a `StreamHub`.
 *
 * @example
 * app.get('/answer', (c) => new Response(toSSE(llm.stream(request)), { headers: SSE_HEADERS }));
 * @throws InvalidArgumentError for a non-Observable or an invalid option.
 */
export function toSSE(tokens$: Observable<TokenEvent>, options: SSEStreamOptions = {}): ReadableStream<Uint8Array> {
  const stream = requireStream(tokens$, 'toSSE');
  const checked = checkOptions(options, 'toSSE');
  const encoder = new TextEncoder();
  let started = false;
  let closed = false;
  let teardown: (() => void) | undefined;
  return new ReadableStream<Uint8Array>(
    {
      // Called when a read finds the queue empty, never before the first read (highWaterMark 0):
      // the upstream starts when the body is read, not when the Response is built.
      pull(controller) {
        if (started) return;
        started = true;
        // The queue is counted in bytes, so -desiredSize is what waits for the reader.
        const queued = () => -(controller.desiredSize ?? 0);
        teardown = run(
          stream,
          {
            write: (text) => {
              if (closed) return true;
              controller.enqueue(encoder.encode(text));
              return queued() <= checked.maxBufferedBytes;
            },
            idle: () => queued() <= 0,
            end: () => {
              if (closed) return;
              closed = true;
              controller.close();
            },
          },
          checked,
          'toSSE',
        );
      },
      cancel() {
        closed = true;
        teardown?.();
      },
    },
    { highWaterMark: 0, size: (chunk) => chunk.byteLength },
  );
}

/**
 * A complete SSE `Response` (status 200, `SSE_HEADERS`) for a Web-standard route handler.
 *
 * @example
 * export const GET = () => sseResponse(llm.stream(request));   // Next.js route handler
 */
export function sseResponse(tokens$: Observable<TokenEvent>, options: SSEStreamOptions & { headers?: Record<string, string> } = {}): Response {
  const { headers, ...rest } = readOptions(options, 'sseResponse', [...STREAM_OPTIONS, 'headers']);
  if (headers !== undefined && !isPlainObject(headers)) {
    throw new InvalidArgumentError('options.headers', 'sseResponse(): headers must be an object of header names to values.');
  }
  return new Response(toSSE(tokens$, rest as SSEStreamOptions), { status: 200, headers: { ...SSE_HEADERS, ...(headers as Record<string, string> | undefined) } });
}

/**
 * Streams the events into a Node `ServerResponse` (Node `http`, Express, Fastify's `reply.raw`)
 * as SSE. Writes the headers unless already sent, and resolves when the response ends: after `done`,
 * after an `error` message, or when the client goes away, which unsubscribes and so aborts the
 * provider's request. Like `toSSE`, it sends no `id:` (it cannot resume; see the module comment).
 *
 * It honours `res.write()`'s return value: while the socket is backed up, messages wait (not in the
 * response's own buffer) until `'drain'`; once more than `maxBufferedBytes` wait, the response ends
 * with an `error` event (`QueueOverflowError`) and the upstream is cancelled, so a client that never
 * reads cannot make the server hold a whole answer.
 *
 * @example
 * http.createServer((req, res) => pipeSSE(llm.stream(request), res));
 * @throws InvalidArgumentError for a non-Observable, a missing response, or an invalid option.
 */
export function pipeSSE(tokens$: Observable<TokenEvent>, res: ServerResponse, options: SSEStreamOptions = {}): Promise<void> {
  // A promise never throws: bad input rejects it (nothing is written to the response).
  try {
    return startPipe(tokens$, res, options);
  } catch (error) {
    return Promise.reject(error);
  }
}

function startPipe(tokens$: Observable<TokenEvent>, res: ServerResponse, options: SSEStreamOptions): Promise<void> {
  const stream = requireStream(tokens$, 'pipeSSE');
  if (typeof res !== 'object' || res === null || typeof (res as Partial<ServerResponse>).write !== 'function' || typeof res.on !== 'function') {
    throw new InvalidArgumentError('res', 'pipeSSE(): the second argument must be a Node ServerResponse (for Fastify, reply.raw after reply.hijack()).');
  }
  const checked = checkOptions(options, 'pipeSSE');
  return new Promise((resolve) => {
    // A client that left before we got here (say, during an awaited auth check) never fires
    // 'close' again: do not start a request nobody will read.
    if (res.destroyed || res.writableEnded) {
      resolve();
      return;
    }
    if (!res.headersSent) res.writeHead(200, { ...SSE_HEADERS });
    res.flushHeaders?.();
    const sink = new ResponseSink(res, checked.maxBufferedBytes);
    const teardown = run(stream, sink, checked, 'pipeSSE');
    res.on('close', () => {
      teardown();
      sink.detach();
      resolve();
    });
  });
}

/**
 * Writes to a Node response and honours `write()`'s return value: once it returns `false` (the
 * socket's buffer is full: the client reads slower than the answer arrives), later text waits here
 * until `'drain'`, and `write` reports when the response's own buffer plus this queue exceed the
 * bound. Without this, a client that never reads makes the response buffer the whole answer.
 */
export class ResponseSink implements Sink {
  #queue: string[] = [];
  #queuedBytes = 0;
  /** `true` from a `write()` that returned `false` until `'drain'`. */
  #waiting = false;

  constructor(
    private readonly res: ServerResponse,
    private readonly maxBufferedBytes: number,
  ) {
    res.on('drain', this.#drain);
  }

  write(text: string): boolean {
    if (this.#gone()) return true;
    if (!this.#waiting) {
      if (!this.res.write(text)) this.#waiting = true;
      return true;
    }
    this.#queue.push(text);
    this.#queuedBytes += Buffer.byteLength(text);
    // writableLength: what the response and its socket hold (a response-like object may lack it).
    const held = typeof this.res.writableLength === 'number' ? this.res.writableLength : 0;
    return this.#queuedBytes + held <= this.maxBufferedBytes;
  }

  idle(): boolean {
    return !this.#waiting;
  }

  end(): void {
    if (this.res.writableEnded) return;
    const rest = this.#take();
    if (this.res.destroyed) return;
    if (rest === '') this.res.end();
    else this.res.end(rest);
  }

  /** Stops listening (the response closed). */
  detach(): void {
    this.res.off('drain', this.#drain);
    this.#take();
  }

  readonly #drain = (): void => {
    this.#waiting = false;
    const text = this.#take();
    if (text !== '' && !this.#gone() && !this.res.write(text)) this.#waiting = true;
  };

  #take(): string {
    const text = this.#queue.length === 1 ? this.#queue[0]! : this.#queue.join('');
    this.#queue = [];
    this.#queuedBytes = 0;
    return text;
  }

  #gone(): boolean {
    return this.res.writableEnded || this.res.destroyed;
  }
}
