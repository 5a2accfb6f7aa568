/**
 * The UI message stream over HTTP: Server-Sent Events with one JSON chunk per `data:` line and a
 * final `data: [DONE]`, under the protocol's headers (`x-vercel-ai-ui-message-stream: v1`), as the
 * AI SDK's `createUIMessageStreamResponse` / `pipeUIMessageStreamToResponse` write it.
 */
import type { ServerResponse } from 'node:http';
import type { Observable } from 'rxjs';
import type { Subscription } from 'rxjs';
import { requireStream } from '../bridge/internal.js';
import { InvalidArgumentError, QueueOverflowError } from '../errors.js';
import type { TokenEvent } from '../events.js';
import { reportStreamError, serializeError, type StreamErrorHook } from '../sse/encode.js';
import { ResponseSink } from '../sse/stream.js';
import { isPlainObject, requireNumber } from '../validate.js';
import type { UIMessageChunk } from './chunks.js';
import { UIMessageStreamEncoder, type UIMessageStreamEncoderOptions } from './encoder.js';
import { checkStreamOptions, type UIMessageStreamOptions } from './toUIMessageStream.js';

/**
 * The UI message stream's response headers, as the AI SDK sends them: `useChat` needs no more than
 * SSE, but `x-vercel-ai-ui-message-stream: v1` names the protocol version and `x-accel-buffering: no`
 * keeps nginx from holding the answer back.
 */
export const UI_MESSAGE_STREAM_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache',
  connection: 'keep-alive',
  'x-vercel-ai-ui-message-stream': 'v1',
  'x-accel-buffering': 'no',
});

/** The stream's last message, after `finish`, `error` or `abort`. */
const DONE = 'data: [DONE]\n\n';

/**
 * One chunk as its SSE message: `data: <json>\n\n` (`JSON.stringify` escapes line breaks, so it is
 * always one line).
 */
function frame(chunk: UIMessageChunk): string {
  return `data: ${JSON.stringify(chunk)}\n\n`;
}

/** Options of {@link uiMessageStreamResponse} and {@link pipeUIMessageStream}. */
export interface UIMessageStreamResponseOptions extends UIMessageStreamOptions {
  /**
   * The most SSE text, in bytes, that may wait for a client reading slower than the answer arrives.
   * Past it the response ends with an `error` chunk (`QueueOverflowError`) and the upstream is
   * cancelled, so a client that never reads cannot make the server hold a whole answer.
   * @defaultValue 1_048_576 (1 MiB)
   */
  maxBufferedBytes?: number;
  /** More response headers (CORS, cookies), merged over the protocol's own. @defaultValue none */
  headers?: Record<string, string>;
}

const EXTRA = ['maxBufferedBytes', 'headers'];

interface Checked {
  encoder: UIMessageStreamEncoderOptions;
  onError: StreamErrorHook | undefined;
  maxBufferedBytes: number;
  headers: Record<string, string>;
}

function check(options: unknown, fn: string): Checked {
  const { encoder, onError, rest } = checkStreamOptions(options, fn, EXTRA);
  if (rest.headers !== undefined && !isPlainObject(rest.headers)) {
    throw new InvalidArgumentError('options.headers', `${fn}(): headers must be an object of header names to values.`);
  }
  return {
    encoder,
    onError,
    maxBufferedBytes: rest.maxBufferedBytes === undefined ? 1024 * 1024 : requireNumber(rest.maxBufferedBytes, 'options.maxBufferedBytes', { min: 1, integer: true }),
    headers: { ...UI_MESSAGE_STREAM_HEADERS, ...(rest.headers as Record<string, string> | undefined) },
  };
}

/** Where {@link run} writes. `write` returns `false` once more than the bound waits for the client. */
interface Sink {
  write(text: string): boolean;
  end(): void;
}

/**
 * Subscribes and writes each event's chunks, `data: [DONE]` after the last, then ends. Returns the
 * teardown (unsubscribes, which aborts the provider's request).
 */
function run(events$: Observable<TokenEvent>, sink: Sink, options: Checked): () => void {
  const encoder = new UIMessageStreamEncoder(options.encoder);
  let finished = false;
  let subscription: Subscription | undefined;
  const finish = (): void => {
    if (finished) return;
    finished = true;
    subscription?.unsubscribe();
    sink.end();
  };
  const write = (chunks: readonly UIMessageChunk[]): boolean => {
    let kept = true;
    for (const chunk of chunks) if (!sink.write(frame(chunk))) kept = false;
    return kept;
  };
  const fail = (error: unknown): void => {
    if (finished) return;
    const sent = serializeError(error, encoder.partialText);
    // Past the bound too: one small message more, so a client that catches up learns why it ended.
    write(encoder.fail(error));
    sink.write(DONE);
    finish();
    reportStreamError(options.onError, error, { partialText: encoder.partialText, sent });
  };
  subscription = events$.subscribe({
    next: (event) => {
      if (finished) return;
      let chunks: UIMessageChunk[];
      try {
        chunks = encoder.push(event);
      } catch (error) {
        fail(error);
        return;
      }
      const kept = write(chunks);
      if (encoder.finished) {
        sink.write(DONE);
        finish();
      } else if (!kept) {
        fail(
          new QueueOverflowError(
            `The client fell more than ${options.maxBufferedBytes} bytes behind the UI message stream (it reads slower than the answer arrives, or not at all); ` +
              'the response was ended and the upstream request cancelled. Raise options.maxBufferedBytes if such clients are expected.',
            options.maxBufferedBytes,
            { partialText: encoder.partialText },
          ),
        );
      }
    },
    error: (error: unknown) => fail(error),
    complete: () => (encoder.finished ? finish() : fail(encoder.incompleteError())),
  });
  if (finished) subscription.unsubscribe();
  return finish;
}

/**
 * A `Response` speaking the UI message stream, for a Web-standard route handler (Next.js, Hono,
 * Bun, Deno, Workers) behind `useChat`'s `DefaultChatTransport`. Lazy: the upstream starts when the
 * body is first read, and a client that goes away cancels the body, which unsubscribes and aborts
 * the provider's request. A failure ends with an `error` chunk carrying a sanitised message (the full
 * error goes to `onError`), then `data: [DONE]`.
 *
 * @example
 * export async function POST(request: Request) {
 *   const { messages } = await request.json();
 *   const history = fromUIMessages(messages);
 *   return uiMessageStreamResponse(llm.stream({ model, messages: history }));
 * }
 *
 * @param events$ - the stream to send (a provider's answer or an Agent's tool loop)
 * @param options - `messageId`, `metadata`, `onError`, `maxBufferedBytes`, `headers`
 * @returns a 200 response with the protocol's headers
 * @throws InvalidArgumentError for a non-Observable or an invalid option
 */
export function uiMessageStreamResponse(events$: Observable<TokenEvent>, options?: UIMessageStreamResponseOptions): Response {
  const stream = requireStream(events$, 'uiMessageStreamResponse');
  const checked = check(options, 'uiMessageStreamResponse');
  const encoder = new TextEncoder();
  let started = false;
  let closed = false;
  let teardown: (() => void) | undefined;
  const body = new ReadableStream<Uint8Array>(
    {
      // Never before the first read (highWaterMark 0): building the Response starts nothing.
      pull(controller) {
        if (started) return;
        started = true;
        teardown = run(
          stream,
          {
            write: (text) => {
              if (closed) return true;
              controller.enqueue(encoder.encode(text));
              return -(controller.desiredSize ?? 0) <= checked.maxBufferedBytes;
            },
            end: () => {
              if (closed) return;
              closed = true;
              controller.close();
            },
          },
          checked,
        );
      },
      cancel() {
        closed = true;
        teardown?.();
      },
    },
    { highWaterMark: 0, size: (chunk) => chunk.byteLength },
  );
  return new Response(body, { status: 200, headers: checked.headers });
}

/**
 * Streams the UI message stream into a Node `ServerResponse` (Node `http`, Express, Fastify's
 * `reply.raw`). Writes the headers unless already sent and resolves when the response ends: after
 * `finish`, after an `error` chunk, or when the client goes away, which unsubscribes and so aborts
 * the provider's request. While the socket is backed up, text waits for `'drain'`; past
 * `maxBufferedBytes` the response ends with an `error` chunk and the upstream is cancelled.
 *
 * @example
 * app.post('/api/chat', (req, res) => {
 *   const history = fromUIMessages(req.body.messages);
 *   void pipeUIMessageStream(res, llm.stream({ model, messages: history }));
 * });
 *
 * @param res - the response to write
 * @param events$ - the stream to send
 * @param options - as for {@link uiMessageStreamResponse}
 * @returns a promise that resolves when the response closed (it rejects only for bad arguments,
 *   with nothing written)
 */
export function pipeUIMessageStream(res: ServerResponse, events$: Observable<TokenEvent>, options?: UIMessageStreamResponseOptions): Promise<void> {
  try {
    if (typeof res !== 'object' || res === null || typeof (res as Partial<ServerResponse>).write !== 'function' || typeof res.on !== 'function') {
      throw new InvalidArgumentError('res', 'pipeUIMessageStream(): the first argument must be a Node ServerResponse (for Fastify, reply.raw after reply.hijack()).');
    }
    const stream = requireStream(events$, 'pipeUIMessageStream');
    const checked = check(options, 'pipeUIMessageStream');
    return new Promise((resolve) => {
      // A client that left already never fires 'close' again: start nothing for it.
      if (res.destroyed || res.writableEnded) {
        resolve();
        return;
      }
      if (!res.headersSent) res.writeHead(200, checked.headers);
      res.flushHeaders?.();
      const sink = new ResponseSink(res, checked.maxBufferedBytes);
      const teardown = run(stream, sink, checked);
      res.on('close', () => {
        teardown();
        sink.detach();
        resolve();
      });
    });
  } catch (error) {
    return Promise.reject(error);
  }
}
