/**
 * `fromSSE()`'s eventsource mode: the browser's `EventSource` (or an injected one). The browser
 * reconnects by itself after a dropped connection, sending `Last-Event-ID`; when it gives up
 * (`readyState` CLOSED: an HTTP error status or a wrong content type), one `fetch` learns the status
 * (a 404, 401 or 403 ends the stream), and otherwise a new `EventSource` resumes with the
 * `lastEventId` query parameter.
 *
 * Browser-safe: imports nothing from Node.
 */
import { ConnectionError, SSEResponseError } from '../errors.js';
import { displayUrl } from '../internal/display-url.js';
import type { ClientSettings } from './options.js';
import { EVENT_TYPES, type Connection, type ConnectionSink } from './session.js';

/** `EventSource.CLOSED`, as a literal: an injected class may lack the static constants. */
const CLOSED = 2;

/** Opens one `EventSource`; its messages and failures arrive through `sink`. */
export function connectWithEventSource(settings: ClientSettings, sink: ConnectionSink): Connection {
  const url = new URL(settings.url.href);
  // An EventSource cannot set headers: the resume point goes in the query on its first request.
  if (sink.lastEventId !== undefined) url.searchParams.set('lastEventId', sink.lastEventId);
  const EventSourceClass = settings.EventSource!;
  const source = settings.withCredentials
    ? new EventSourceClass(url.href, { withCredentials: true })
    : new EventSourceClass(url.href);
  let open = true;

  const close = (): void => {
    if (!open) return;
    open = false;
    for (const type of EVENT_TYPES) source.removeEventListener(type, listener);
    source.close();
  };

  const listener = (event: Event): void => {
    if (!open) return;
    const data = (event as Partial<MessageEvent>).data;
    if (typeof data === 'string') {
      // Every message, the server's `event: error` included, is a MessageEvent with `data`.
      sink.message(event.type, data, (event as MessageEvent).lastEventId || undefined);
      if (sink.finished) close();
      return;
    }
    if (event.type !== 'error') return;
    // A plain Event named `error`: the connection failed, not the answer.
    if (source.readyState === CLOSED) {
      close();
      void explain(url, settings.withCredentials).then((error) => {
        if (!sink.finished) sink.lost(error);
      });
    } else if (!sink.retrying(new ConnectionError(`The EventSource connection to ${displayUrl(settings.url)} failed.`))) {
      close();
    }
  };

  for (const type of EVENT_TYPES) source.addEventListener(type, listener);
  return { close };
}

/**
 * An `EventSource` that gives up does not say why. One plain `fetch` of the same URL learns the
 * status, so that a 404 (unknown or expired channel) or a 401/403 fails at once instead of being
 * retried like a server that is briefly down.
 */
async function explain(url: URL, withCredentials: boolean): Promise<SSEResponseError> {
  const unknown = new SSEResponseError(
    `The EventSource for ${displayUrl(url)} gave up: the server answered with an error status or not with an event stream.`,
    0,
  );
  if (typeof fetch !== 'function') return unknown;
  const controller = new AbortController();
  try {
    const response = await fetch(url.href, {
      headers: { accept: 'text/event-stream' },
      credentials: withCredentials ? 'include' : 'same-origin',
      signal: controller.signal,
    });
    const type = response.headers.get('content-type') ?? '';
    if (response.ok && type.startsWith('text/event-stream')) return unknown;
    return new SSEResponseError(
      response.ok
        ? `${displayUrl(url)} answered with ${type || 'no content type'}, not text/event-stream.`
        : `${displayUrl(url)} answered HTTP ${response.status}${response.status === 404 ? ' (an unknown or expired channel)' : ''}.`,
      response.ok ? 0 : response.status,
    );
  } catch {
    return unknown;
  } finally {
    // Only the status was wanted: never read (or keep following) the body.
    controller.abort();
  }
}
