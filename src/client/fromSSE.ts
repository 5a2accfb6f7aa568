/**
 * `fromSSE()`: a tokenflow event stream relayed over Server-Sent Events (by `tokenflow/sse` or a
 * `StreamHub`), read back as the same `Observable<TokenEvent>` the server had.
 *
 * Browser-safe: imports nothing from Node.
 */
import { Observable, throwError } from 'rxjs';
import type { TokenEvent } from '../events.js';
import { connectWithEventSource } from './eventsource-connection.js';
import { connectWithFetch } from './fetch-connection.js';
import { resolveSettings, type FromSSEOptions } from './options.js';
import { Session } from './session.js';

/**
 * Follows a tokenflow SSE endpoint as a cold `Observable<TokenEvent>`: each subscription opens its
 * own connection and closes it on unsubscribe.
 *
 *   server:     --start--tok("He")--X(connection cut)  ...  tok("He")--tok("llo")--done
 *   fromSSE():  --start--tok("He")----(reconnects, Last-Event-ID: 1)--tok("llo")--done--|
 *
 * - Messages whose id is at or below the last one seen are dropped, so a server that replays from
 *   an older point never duplicates an event.
 * - A reconnect that lands on a different stream (a plain `toSSE`/`pipeSSE` route sends no ids: each
 *   request is a new answer) emits `reset`, then the new answer whole: never two answers joined.
 * - Completes after emitting `done` (and closes the connection); `reset` passes through; messages of
 *   other types (the legacy `answer_streaming`) are ignored.
 * - The server's `error` event errors the stream with a `RemoteStreamError` (its `partialText` is the
 *   server's, or else the text of the tokens received).
 * - A connection that drops, or ends without `done` / `error`, reconnects from the last id. After
 *   `reconnect.maxRetries` attempts in a row without a new event it errors with a `ConnectionError`,
 *   or an `SSEResponseError` for an HTTP error status or a response that is not `text/event-stream`
 *   (a 4xx other than 408 and 429 is not retried). Both carry the `partialText` received. Waits
 *   between attempts have jitter (between half and all of the doubling delay), so clients cut off
 *   together do not reconnect together; a `Retry-After` is waited for in full.
 * - A line or event longer than `maxEventSize` characters (4 MiB) errors with a `ProtocolError` and
 *   closes the connection, instead of buffering whatever a server sends.
 * - `options.signal` aborting errors the stream with `StreamAbortedError`; unsubscribing ends it
 *   silently.
 *
 * Two modes: `'eventsource'` uses the browser's `EventSource` (it reconnects by itself, and cannot send
 * headers, so a resume point goes in the `lastEventId` query parameter); `'fetch'` uses `fetch`, for
 * an `Authorization` header, a `POST` or a body (cross-origin, its `Last-Event-ID` header on
 * reconnection needs the server's CORS to allow it).
 *
 * @example
 * import { fromSSE } from 'tokenflow/client';
 * import { text } from 'tokenflow';
 *
 * fromSSE(`/api/answers/${channel}`)
 *   .pipe(text())
 *   .subscribe((partial) => (output.textContent = partial));
 *
 * @example
 * // fetch mode: a POST with a token; resume after event 41 of an earlier connection
 * fromSSE('https://api.example.com/chat', {
 *   method: 'POST',
 *   headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
 *   body: JSON.stringify({ question }),
 *   lastEventId: 41,
 *   reconnect: { maxRetries: 3 },
 * });
 *
 * @param url - the endpoint: an absolute http(s) URL, or one relative to the page in a browser
 * @param options - see {@link FromSSEOptions}; every option is optional (defaults: `eventsource`
 *   mode when an `EventSource` exists and no fetch-only option is given, reconnecting 5 times in a
 *   row from 1000 ms doubling to 10 s)
 * @returns a cold Observable of the relayed events; for an invalid URL or option it errors with `InvalidArgumentError`
 *   (naming the field) on subscription, before any connection is opened, so `catchError` sees it
 *   like any other failure (the check itself runs at call time)
 */
export function fromSSE(url: string | URL, options?: FromSSEOptions): Observable<TokenEvent> {
  let settings: ReturnType<typeof resolveSettings>;
  try {
    settings = resolveSettings(url, options);
  } catch (error) {
    // Like a provider's stream(): bad input is checked now and reported on subscription.
    return throwError(() => error);
  }
  const connect = settings.mode === 'fetch' ? connectWithFetch : connectWithEventSource;
  return new Observable<TokenEvent>((subscriber) => {
    const session = new Session(settings, subscriber, connect);
    session.begin();
    return () => session.teardown();
  });
}
