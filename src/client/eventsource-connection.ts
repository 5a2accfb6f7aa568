/**
 * `fromSSE()`'s eventsource mode: the browser's `EventSource` (or an injected one). The browser
 * reconnects by itself after a dropped connection, sending `Last-Event-ID`; when it gives up
 * (`readyState` CLOSED: an HTTP error status or a wrong content type), a new `EventSource` resumes
 * with the `lastEventId` query parameter.
 *
 * Browser-safe: imports nothing from Node.
 */
import { ConnectionError, SSEResponseError } from '../errors.js';
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
      sink.lost(
        new SSEResponseError(
          `The EventSource for ${settings.url.href} gave up: the server answered with an error status or not with an event stream (an EventSource cannot tell which).`,
          0,
        ),
      );
    } else if (!sink.retrying(new ConnectionError(`The EventSource connection to ${settings.url.href} failed.`))) {
      close();
    }
  };

  for (const type of EVENT_TYPES) source.addEventListener(type, listener);
  return { close };
}
