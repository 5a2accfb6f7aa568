/**
 * `fromSSE()`'s fetch mode: one `fetch` per connection, its body read with `eventsource-parser`.
 * Unlike an `EventSource`, it can send headers (`Authorization`), another method and a body.
 *
 * Browser-safe: imports nothing from Node.
 */
import { createParser, type ParseError } from 'eventsource-parser';
import { ConnectionError, SSEResponseError } from '../errors.js';
import { displayUrl } from '../internal/display-url.js';
import { retryAfterMs } from '../internal/retry-after.js';
import type { ClientSettings } from './options.js';
import { eventTooLarge, type Connection, type ConnectionSink } from './session.js';

const STREAM: TextDecodeOptions = { stream: true };

/** Opens one fetch connection; its outcome arrives through `sink`. */
export function connectWithFetch(settings: ClientSettings, sink: ConnectionSink): Connection {
  const controller = new AbortController();
  void read(settings, sink, controller).catch((error: unknown) => {
    // `read` handles its own failures; anything left is a bug in a callback, not a network error.
    if (!controller.signal.aborted) {
      sink.lost(new ConnectionError(`The event stream from ${displayUrl(settings.url)} failed: ${String(error)}`, { cause: error }));
    }
  });
  return { close: () => controller.abort() };
}

async function read(settings: ClientSettings, sink: ConnectionSink, controller: AbortController): Promise<void> {
  const url = settings.url.href;
  // Connection errors name the server without the query or credentials: a URL may hold a key.
  const where = displayUrl(settings.url);
  const headers: Record<string, string> = { accept: 'text/event-stream', ...settings.headers };
  if (sink.lastEventId !== undefined) headers['last-event-id'] = sink.lastEventId;
  const init: RequestInit = { method: settings.method, headers, signal: controller.signal };
  if (settings.body !== undefined) init.body = settings.body;
  if (settings.withCredentials) init.credentials = 'include';
  // Called as a plain function: a browser's fetch throws "Illegal invocation" with another `this`.
  const fetchFunction = settings.fetch!;

  let response: Response;
  try {
    response = await fetchFunction(url, init);
  } catch (error) {
    if (controller.signal.aborted || sink.finished) return;
    return sink.lost(new ConnectionError(`Could not connect to ${where}: ${message(error)}`, { cause: error }));
  }
  if (controller.signal.aborted || sink.finished) return;

  const contentType = response.headers.get('content-type') ?? '';
  if (!response.ok || !/^text\/event-stream\b/i.test(contentType.trim())) {
    void response.body?.cancel().catch(() => undefined);
    const error = response.ok
      ? new SSEResponseError(`${where} answered with ${contentType || 'no content type'}, not an event stream (text/event-stream).`, response.status)
      : new SSEResponseError(`${where} answered ${response.status}${response.statusText ? ` ${response.statusText}` : ''}.`, response.status);
    return sink.lost(error, retryAfterMs(response.headers.get('retry-after')));
  }

  // Set when a line or event outgrows maxEventSize: the parser drops what it buffered and stops.
  let tooLarge = false;
  const parser = createParser({
    onEvent: (event) => sink.message(event.event, event.data, event.id),
    onRetry: (milliseconds) => sink.retry(milliseconds),
    // Unknown fields and bad `retry:` values are ignored, as the SSE spec says; only the bound ends the stream.
    onError: (error: ParseError) => {
      if (error.type === 'max-buffer-size-exceeded') tooLarge = true;
    },
    maxBufferSize: settings.maxEventSize,
  });
  const body = response.body;
  if (body) {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (sink.finished) return;
        if (done) break;
        parser.feed(decoder.decode(value, STREAM));
        if (tooLarge) {
          // Close before reporting: the server must stop sending, and nothing more is read.
          controller.abort();
          void reader.cancel().catch(() => undefined);
          return sink.lost(eventTooLarge(settings));
        }
        if (sink.finished) return;
      }
    } catch (error) {
      if (controller.signal.aborted || sink.finished) return;
      void reader.cancel().catch(() => undefined);
      return sink.lost(new ConnectionError(`The event stream from ${where} was cut: ${message(error)}`, { cause: error }));
    }
    // An incomplete last message (no blank line after it) is discarded, as an EventSource does.
    parser.feed(decoder.decode());
    if (tooLarge) return sink.lost(eventTooLarge(settings));
  }
  if (sink.finished) return;
  sink.lost(new ConnectionError(`The event stream from ${where} ended before its \`done\` or \`error\` event.`));
}

function message(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // Node's fetch says only "fetch failed"; the reason (ECONNREFUSED, a reset socket) is its cause.
  const cause = (error as { cause?: unknown }).cause;
  return cause instanceof Error && cause.message ? `${error.message} (${cause.message})` : error.message;
}
