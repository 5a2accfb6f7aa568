/**
 * `fromSSE()` against a real `node:http` SSE server on 127.0.0.1 that writes the wire format by hand
 * (test/helpers/sse-server.ts). Eventsource mode runs over the WHATWG-style TestEventSource in
 * ./event-source.ts; real browsers are covered by the Chromium tests.
 */
import fc from 'fast-check';
import type { Observable } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { fromSSE, type FromSSEOptions } from '../../src/client/index.js';
import {
  ConnectionError,
  InvalidArgumentError,
  ProtocolError,
  RemoteStreamError,
  SSEResponseError,
  StreamAbortedError,
  type SerializedStreamError,
} from '../../src/errors.js';
import type { TokenEvent } from '../../src/events.js';
import { run } from '../helpers/run.js';
import {
  answer,
  beginStream,
  frame,
  frames,
  legacyFrame,
  startSSEServer,
  tick,
  type SSEHandler,
  type SSEServer,
} from '../helpers/sse-server.js';
import { constructedUrls, TestEventSource } from './event-source.js';

const PIECES = ['Hé', 'llo', ', ', 'wör', 'ld 🌍', '!'];
/** start (id 0), tokens (ids 1–6), usage (7), done (8). */
const EVENTS = answer(PIECES);
const FULL_TEXT = PIECES.join('');
/** The text of the token events among `events`. */
const textOf = (events: readonly TokenEvent[]) => events.map((e) => (e.type === 'token' ? e.text : '')).join('');
const FAST = { maxRetries: 3, delayMs: 5, maxDelayMs: 20 };
const EventSourceClass = TestEventSource as unknown as typeof EventSource;

const servers: SSEServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function serve(handler: SSEHandler): Promise<SSEServer> {
  const server = await startSSEServer(handler);
  servers.push(server);
  return server;
}

/** Serves the whole answer on every request, from the request's resume point on. */
function wholeAnswer(events: readonly TokenEvent[] = EVENTS): SSEHandler {
  return (request, res) => {
    const resume = request.headers['last-event-id'] ?? new URL(request.url, 'http://x').searchParams.get('lastEventId');
    beginStream(res);
    res.end(frames(events, resume === null || resume === undefined ? 0 : Number(resume) + 1));
  };
}

/** Resolves with the events received up to `count` tokens, then unsubscribes. */
function takeTokens(stream$: ReturnType<typeof fromSSE>, count: number): Promise<TokenEvent[]> {
  return new Promise((resolve, reject) => {
    const events: TokenEvent[] = [];
    const subscription = stream$.subscribe({
      next: (event) => {
        events.push(event);
        if (events.filter((e) => e.type === 'token').length === count) {
          queueMicrotask(() => {
            subscription.unsubscribe();
            resolve(events);
          });
        }
      },
      error: reject,
      complete: () => reject(new Error('completed before the tokens were taken')),
    });
  });
}

describe('fromSSE, fetch mode', () => {
  it('emits the events of the stream and completes on done, ignoring heartbeats, retry and legacy messages', async () => {
    const server = await serve((_request, res) => {
      beginStream(res);
      let out = 'retry: 3000\n\n: \n\n: ping\n\n';
      EVENTS.forEach((event, id) => {
        out += frame(id, event);
        if (event.type === 'token') out += legacyFrame(event.text, textOf(EVENTS.slice(0, id + 1)));
      });
      res.end(out);
    });
    const outcome = await run(fromSSE(server.url(), { mode: 'fetch' }));
    expect(outcome.error).toBeUndefined();
    expect(outcome.completed).toBe(true);
    expect(outcome.events).toEqual(EVENTS);
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]!.method).toBe('GET');
    expect(server.requests[0]!.headers.accept).toBe('text/event-stream');
    expect(server.requests[0]!.headers['last-event-id']).toBeUndefined();
  });

  it('uses fetch by default in a runtime without EventSource', async () => {
    const server = await serve(wholeAnswer());
    const outcome = await run(fromSSE(new URL(server.url())));
    expect(outcome.events).toEqual(EVENTS);
    expect(outcome.completed).toBe(true);
  });

  it('closes the connection after done even when the server keeps it open', async () => {
    const server = await serve((_request, res) => {
      beginStream(res);
      res.write(frames(EVENTS));
    });
    const outcome = await run(fromSSE(server.url(), { mode: 'fetch' }));
    expect(outcome.completed).toBe(true);
    expect(outcome.events.at(-1)?.type).toBe('done');
    await expect(server.requests[0]!.closed).resolves.toEqual({ endedByServer: false });
  });

  it('reassembles frames the server writes one byte at a time (multi-byte UTF-8 included)', async () => {
    const server = await serve(async (_request, res) => {
      beginStream(res);
      const bytes = Buffer.from(`retry: 500\n\n${frames(EVENTS)}`, 'utf8');
      for (const byte of bytes) {
        res.write(Buffer.from([byte]));
        await tick();
      }
      res.end();
    });
    const outcome = await run(fromSSE(server.url(), { mode: 'fetch' }));
    expect(outcome.events).toEqual(EVENTS);
    expect(outcome.text).toBe(FULL_TEXT);
  });

  it('reassembles frames split at any byte boundaries (property)', async () => {
    const wire = new TextEncoder().encode(`: hi\n\n${frames(EVENTS)}`);
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(fc.integer({ min: 1, max: wire.length - 1 }), { maxLength: 40 }), async (cuts) => {
        const points = [0, ...cuts.sort((a, b) => a - b), wire.length];
        const fakeFetch = (async () =>
          new Response(
            new ReadableStream<Uint8Array>({
              start(controller) {
                for (let i = 1; i < points.length; i++) controller.enqueue(wire.slice(points[i - 1], points[i]));
                controller.close();
              },
            }),
            { headers: { 'content-type': 'text/event-stream' } },
          )) as typeof fetch;
        const outcome = await run(fromSSE('http://127.0.0.1:9/events', { fetch: fakeFetch, reconnect: false }));
        expect(outcome.error).toBeUndefined();
        expect(outcome.events).toEqual(EVENTS);
      }),
      { numRuns: 60 },
    );
  });

  it('errors with RemoteStreamError on the server error message, with its fields and the partial text', async () => {
    const error: SerializedStreamError = {
      type: 'error',
      name: 'ProviderError',
      message: 'Overloaded',
      status: 529,
      retryable: true,
      retryAfterMs: 2000,
      requestId: 'req_42',
    };
    const server = await serve((_request, res) => {
      beginStream(res);
      res.end(frames(EVENTS, 0, 3) + frame(4, error));
    });
    const outcome = await run(fromSSE(server.url(), { mode: 'fetch', reconnect: FAST }));
    expect(outcome.events).toEqual(EVENTS.slice(0, 4));
    const remote = outcome.error as RemoteStreamError;
    expect(RemoteStreamError.isInstance(remote)).toBe(true);
    expect(remote.message).toBe('Overloaded');
    expect(remote.remoteName).toBe('ProviderError');
    expect(remote.status).toBe(529);
    expect(remote.retryable).toBe(true);
    expect(remote.retryAfterMs).toBe(2000);
    expect(remote.requestId).toBe('req_42');
    expect(remote.reason).toBeUndefined();
    expect(remote.partialText).toBe(textOf(EVENTS.slice(0, 4)));
    // An error event ends the stream: no reconnection, even for a retryable remote error.
    expect(server.requests).toHaveLength(1);
  });

  it("keeps the server's partialText and reason on a remote error", async () => {
    const server = await serve((_request, res) => {
      beginStream(res);
      res.end(frame(0, { type: 'error', name: 'RemoteStreamError', message: 'gone', reason: 'gone', partialText: 'all of it' }));
    });
    const outcome = await run(fromSSE(server.url(), { mode: 'fetch', lastEventId: 2 }));
    const remote = outcome.error as RemoteStreamError;
    expect(RemoteStreamError.isInstance(remote)).toBe(true);
    expect(remote.reason).toBe('gone');
    expect(remote.partialText).toBe('all of it');
  });

  it.each([
    ['cut (socket destroyed)', 'destroy'],
    ['ended without done', 'end'],
  ] as const)('reconnects with Last-Event-ID when the connection is %s, dropping replayed ids', async (_name, how) => {
    const server = await serve((request, res) => {
      beginStream(res);
      if (request.index === 0) {
        res.write(frames(EVENTS, 0, 3));
        setTimeout(() => (how === 'destroy' ? res.destroy() : res.end()), 20);
        return;
      }
      // The server replays from before the resume point: ids 2 and 3 again, then the rest.
      res.end(frames(EVENTS, 2));
    });
    const outcome = await run(fromSSE(server.url(), { mode: 'fetch', reconnect: FAST }));
    expect(outcome.error).toBeUndefined();
    expect(outcome.completed).toBe(true);
    expect(outcome.text).toBe(FULL_TEXT);
    expect(outcome.events).toEqual(EVENTS);
    expect(server.requests).toHaveLength(2);
    expect(server.requests[1]!.headers['last-event-id']).toBe('3');
  });

  it('drops messages whose id is at or below the last one seen within one connection', async () => {
    const server = await serve((_request, res) => {
      beginStream(res);
      res.end(frames(EVENTS, 0, 2) + frames(EVENTS, 1, 2) + frames(EVENTS, 3));
    });
    const outcome = await run(fromSSE(server.url(), { mode: 'fetch' }));
    expect(outcome.events).toEqual(EVENTS);
  });

  it('passes reset events through and bases partialText on the text after the last reset', async () => {
    const events: TokenEvent[] = [
      { type: 'start', provider: 'mock', model: 'm', t: 0 },
      { type: 'token', text: 'old', index: 0, t: 1 },
      { type: 'reset', reason: 'retry', t: 2 },
      { type: 'token', text: 'new', index: 0, t: 3 },
    ];
    const server = await serve((_request, res) => {
      beginStream(res);
      res.end(frames(events) + frame(4, { type: 'error', name: 'ProviderError', message: 'boom' }));
    });
    const outcome = await run(fromSSE(server.url(), { mode: 'fetch' }));
    expect(outcome.events).toEqual(events);
    expect((outcome.error as RemoteStreamError).partialText).toBe('new');
  });

  it.each([404, 401, 403])('errors with SSEResponseError on %i without retrying', async (status) => {
    const server = await serve((_request, res) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end('{"error":"no"}');
    });
    const outcome = await run(fromSSE(server.url(), { mode: 'fetch', reconnect: FAST }));
    const error = outcome.error as SSEResponseError;
    expect(SSEResponseError.isInstance(error)).toBe(true);
    expect(error.status).toBe(status);
    expect(error.retryable).toBe(false);
    expect(server.requests).toHaveLength(1);
  });

  it('errors with SSEResponseError on a 200 that is not an event stream, without retrying', async () => {
    const server = await serve((_request, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html></html>');
    });
    const outcome = await run(fromSSE(server.url(), { mode: 'fetch', reconnect: FAST }));
    expect(SSEResponseError.isInstance(outcome.error)).toBe(true);
    expect((outcome.error as SSEResponseError).status).toBe(200);
    expect(server.requests).toHaveLength(1);
  });

  it.each([503, 429, 408])('retries a %i and then streams', async (status) => {
    const server = await serve((request, res) => {
      if (request.index === 0) {
        res.writeHead(status, { 'retry-after': '0' });
        res.end();
        return;
      }
      wholeAnswer()(request, res);
    });
    const outcome = await run(fromSSE(server.url(), { mode: 'fetch', reconnect: FAST }));
    expect(outcome.error).toBeUndefined();
    expect(outcome.events).toEqual(EVENTS);
    expect(server.requests).toHaveLength(2);
  });

  it('gives up after maxRetries attempts in a row without progress, with a ConnectionError carrying partialText', async () => {
    const server = await serve((request, res) => {
      beginStream(res);
      if (request.index === 0) res.write(frames(EVENTS, 0, 2));
      setTimeout(() => res.destroy(), 10);
    });
    const outcome = await run(fromSSE(server.url(), { mode: 'fetch', reconnect: { maxRetries: 2, delayMs: 5 } }));
    const error = outcome.error as ConnectionError;
    expect(ConnectionError.isInstance(error)).toBe(true);
    expect(error.partialText).toBe(textOf(EVENTS.slice(0, 3)));
    expect(outcome.events).toEqual(EVENTS.slice(0, 3));
    expect(server.requests).toHaveLength(3);
    expect(server.requests.slice(1).map((r) => r.headers['last-event-id'])).toEqual(['2', '2']);
  });

  it('gives up with an SSEResponseError carrying partialText when the server keeps answering 503', async () => {
    const server = await serve((request, res) => {
      if (request.index === 0) {
        beginStream(res);
        res.end(frames(EVENTS, 0, 1));
        return;
      }
      res.writeHead(503);
      res.end();
    });
    const outcome = await run(fromSSE(server.url(), { mode: 'fetch', reconnect: { maxRetries: 3, delayMs: 1 } }));
    const error = outcome.error as SSEResponseError;
    expect(SSEResponseError.isInstance(error)).toBe(true);
    expect(error.status).toBe(503);
    expect(error.partialText).toBe(PIECES[0]);
    expect(server.requests).toHaveLength(4);
  });

  it('counts only attempts in a row: each new event restores the budget', async () => {
    // Every connection delivers one new event and is then cut: 9 connections with maxRetries 1.
    const server = await serve((request, res) => {
      const resume = request.headers['last-event-id'];
      const next = resume === undefined ? 0 : Number(resume) + 1;
      beginStream(res);
      res.write(frame(next, EVENTS[next]!));
      setTimeout(() => res.destroy(), 10);
    });
    const outcome = await run(fromSSE(server.url(), { mode: 'fetch', reconnect: { maxRetries: 1, delayMs: 1 } }));
    expect(outcome.error).toBeUndefined();
    expect(outcome.events).toEqual(EVENTS);
    expect(server.requests).toHaveLength(EVENTS.length);
  });

  it('does not reconnect with reconnect: false', async () => {
    const server = await serve((_request, res) => {
      beginStream(res);
      res.end(frames(EVENTS, 0, 2));
    });
    const outcome = await run(fromSSE(server.url(), { mode: 'fetch', reconnect: false }));
    expect(ConnectionError.isInstance(outcome.error)).toBe(true);
    expect((outcome.error as ConnectionError).partialText).toBe(textOf(EVENTS.slice(0, 3)));
    expect(server.requests).toHaveLength(1);
  });

  it('errors with ConnectionError when nothing listens, after its retries', async () => {
    const server = await serve(wholeAnswer());
    const url = server.url();
    await servers.pop()!.close();
    const outcome = await run(fromSSE(url, { mode: 'fetch', reconnect: { maxRetries: 2, delayMs: 1 } }));
    expect(ConnectionError.isInstance(outcome.error)).toBe(true);
    expect((outcome.error as ConnectionError).partialText).toBeUndefined();
  });

  it("honours the server's retry: field over delayMs", async () => {
    const server = await serve((request, res) => {
      if (request.index > 0) return wholeAnswer()(request, res);
      beginStream(res);
      res.end(`retry: 1\n\n${frames(EVENTS, 0, 1)}`);
    });
    // With delayMs an hour, only the server's `retry: 1` lets this finish within the test timeout.
    const outcome = await run(fromSSE(server.url(), { mode: 'fetch', reconnect: { delayMs: 3_600_000, maxDelayMs: 3_600_000 } }));
    expect(outcome.events).toEqual(EVENTS);
    expect(server.requests).toHaveLength(2);
  });

  it('errors with ProtocolError on malformed JSON, without retrying', async () => {
    const server = await serve((_request, res) => {
      beginStream(res);
      res.end(`${frame(0, EVENTS[0]!)}id: 1\nevent: token\ndata: {"type":"token",\n\n`);
    });
    const outcome = await run(fromSSE(server.url(), { mode: 'fetch', reconnect: FAST }));
    const error = outcome.error as ProtocolError;
    expect(ProtocolError.isInstance(error)).toBe(true);
    expect(error.line).toBe('{"type":"token",');
    expect(server.requests).toHaveLength(1);
  });

  it.each([
    ['a token whose text is an object', 'token', '{"type":"token","text":{"a":1},"index":0,"t":1}', /text is not a non-empty string/],
    ['a token whose text is a number', 'token', '{"type":"token","text":5,"index":0,"t":1}', /text is not a non-empty string/],
    ['a tool call without argsDelta', 'tool-call', '{"type":"tool-call","index":0,"t":1}', /argsDelta is not a string/],
    ['usage without counts', 'usage', '{"type":"usage","usage":{},"t":1}', /usage is not/],
  ])('errors with ProtocolError on %s, never passing it on as text', async (_what, type, data, message) => {
    const server = await serve((_request, res) => {
      beginStream(res);
      res.end(`${frame(0, EVENTS[0]!)}id: 1\nevent: ${type}\ndata: ${data}\n\n${frames(EVENTS, 2)}`);
    });
    const outcome = await run(fromSSE(server.url(), { mode: 'fetch', reconnect: FAST }));
    expect(ProtocolError.isInstance(outcome.error)).toBe(true);
    expect((outcome.error as Error).message).toMatch(message);
    expect(outcome.events).toEqual([EVENTS[0]]);
    expect(server.requests).toHaveLength(1);
  });

  it('passes provider-run tools, citations and signed reasoning through as they were sent', async () => {
    const extra: TokenEvent[] = [
      EVENTS[0]!,
      { type: 'provider-tool', phase: 'call', id: 's1', name: 'web_search', input: { query: 'q' }, block: { type: 'server_tool_use', id: 's1' }, t: 1 },
      { type: 'citation', citation: { type: 'url_citation', url: 'https://example.org' }, t: 2 },
      { type: 'reasoning', text: '', signature: 'sig', t: 3 },
      ...EVENTS.slice(1),
    ];
    const server = await serve(wholeAnswer(extra));
    const outcome = await run(fromSSE(server.url(), { mode: 'fetch', reconnect: FAST }));
    expect(outcome.error).toBeUndefined();
    expect(outcome.events).toEqual(extra);
  });

  it('closes the connection at the server on unsubscribe', async () => {
    const server = await serve((_request, res) => {
      beginStream(res);
      res.write(frames(EVENTS, 0, 2)); // and never ends
    });
    const events = await takeTokens(fromSSE(server.url(), { mode: 'fetch' }), 2);
    expect(events).toEqual(EVENTS.slice(0, 3));
    await expect(server.requests[0]!.closed).resolves.toEqual({ endedByServer: false });
    expect(server.requests).toHaveLength(1);
  });

  it('sends custom headers, the method and the body, again on reconnection', async () => {
    const server = await serve((request, res) => {
      if (request.index === 0) {
        beginStream(res);
        res.end(frames(EVENTS, 0, 1));
        return;
      }
      wholeAnswer()(request, res);
    });
    const body = JSON.stringify({ question: 'why?' });
    const outcome = await run(
      fromSSE(server.url(), {
        method: 'post',
        headers: { Authorization: 'Bearer t0k', 'content-type': 'application/json', 'x-trace': 'abc' },
        body,
        reconnect: FAST,
      }),
    );
    expect(outcome.events).toEqual(EVENTS);
    expect(server.requests).toHaveLength(2);
    for (const request of server.requests) {
      expect(request.method).toBe('POST');
      expect(request.body).toBe(body);
      expect(request.headers.authorization).toBe('Bearer t0k');
      expect(request.headers['content-type']).toBe('application/json');
      expect(request.headers['x-trace']).toBe('abc');
    }
    expect(server.requests[1]!.headers['last-event-id']).toBe('1');
  });

  it('sends the initial lastEventId as Last-Event-ID and drops older ids', async () => {
    const server = await serve((_request, res) => {
      beginStream(res);
      res.end(frames(EVENTS, 2)); // a server that ignores the resume point
    });
    const outcome = await run(fromSSE(server.url(), { mode: 'fetch', lastEventId: 4 }));
    expect(server.requests[0]!.headers['last-event-id']).toBe('4');
    expect(new URL(server.requests[0]!.url, 'http://x').searchParams.has('lastEventId')).toBe(false);
    expect(outcome.events).toEqual(EVENTS.slice(5));
  });

  it('errors with StreamAbortedError carrying partialText when the signal aborts, closing the connection', async () => {
    const server = await serve((_request, res) => {
      beginStream(res);
      res.write(frames(EVENTS, 0, 2));
    });
    const controller = new AbortController();
    const stream$ = fromSSE(server.url(), { mode: 'fetch', signal: controller.signal });
    const outcome = await new Promise<{ error: unknown; events: TokenEvent[] }>((resolve) => {
      const events: TokenEvent[] = [];
      stream$.subscribe({
        next: (event) => {
          events.push(event);
          if (event.type === 'token' && event.index === 1) controller.abort();
        },
        error: (error: unknown) => resolve({ error, events }),
        complete: () => resolve({ error: undefined, events }),
      });
    });
    expect(StreamAbortedError.isInstance(outcome.error)).toBe(true);
    expect((outcome.error as StreamAbortedError).partialText).toBe(textOf(EVENTS.slice(0, 3)));
    await expect(server.requests[0]!.closed).resolves.toEqual({ endedByServer: false });
  });

  it('errors at once, without a request, when the signal is already aborted', async () => {
    const server = await serve(wholeAnswer());
    const outcome = await run(fromSSE(server.url(), { mode: 'fetch', signal: AbortSignal.abort() }));
    expect(StreamAbortedError.isInstance(outcome.error)).toBe(true);
    expect(server.requests).toHaveLength(0);
  });

  it('is cold: each subscription makes its own request', async () => {
    const server = await serve(wholeAnswer());
    const stream$ = fromSSE(server.url(), { mode: 'fetch' });
    expect(server.requests).toHaveLength(0);
    const [first, second] = await Promise.all([run(stream$), run(stream$)]);
    expect(first.events).toEqual(EVENTS);
    expect(second.events).toEqual(EVENTS);
    expect(server.requests).toHaveLength(2);
  });
});

describe('fromSSE, eventsource mode (over a WHATWG-style EventSource)', () => {
  const options = (extra: FromSSEOptions = {}): FromSSEOptions => ({ EventSource: EventSourceClass, reconnect: FAST, ...extra });

  it('emits the events, completes on done and closes the EventSource', async () => {
    const server = await serve((_request, res) => {
      beginStream(res);
      res.write(frames(EVENTS)); // never ends: the client must close it
    });
    const outcome = await run(fromSSE(server.url(), options()));
    expect(outcome.events).toEqual(EVENTS);
    expect(outcome.completed).toBe(true);
    await expect(server.requests[0]!.closed).resolves.toEqual({ endedByServer: false });
    expect(server.requests).toHaveLength(1);
  });

  it("tells the server's error message (a MessageEvent) from a connection error (a plain Event)", async () => {
    const server = await serve((request, res) => {
      beginStream(res);
      if (request.index === 0) {
        res.end(frames(EVENTS, 0, 2)); // a dropped connection: the EventSource fires a plain `error`
        return;
      }
      res.end(frames(EVENTS, 3, 4) + frame(5, { type: 'error', name: 'StreamTimeoutError', message: 'idle' }));
    });
    const outcome = await run(fromSSE(server.url(), options()));
    expect(outcome.events).toEqual(EVENTS.slice(0, 5));
    const remote = outcome.error as RemoteStreamError;
    expect(RemoteStreamError.isInstance(remote)).toBe(true);
    expect(remote.remoteName).toBe('StreamTimeoutError');
    expect(remote.partialText).toBe(textOf(EVENTS.slice(0, 5)));
    // The EventSource reconnected by itself, with the header.
    expect(server.requests[1]!.headers['last-event-id']).toBe('2');
  });

  it('passes the initial lastEventId as a query parameter', async () => {
    const server = await serve(wholeAnswer());
    const outcome = await run(fromSSE(`${server.url()}?channel=a`, options({ lastEventId: 3 })));
    const query = new URL(server.requests[0]!.url, 'http://x').searchParams;
    expect(query.get('lastEventId')).toBe('3');
    expect(query.get('channel')).toBe('a');
    expect(server.requests[0]!.headers['last-event-id']).toBeUndefined();
    expect(outcome.events).toEqual(EVENTS.slice(4));
  });

  it('opens a new EventSource with ?lastEventId= after the browser gives up (readyState CLOSED)', async () => {
    const server = await serve((request, res) => {
      if (request.index === 1) {
        res.writeHead(502);
        res.end();
        return;
      }
      if (request.index === 0) {
        beginStream(res);
        res.end(frames(EVENTS, 0, 3));
        return;
      }
      wholeAnswer()(request, res);
    });
    const before = constructedUrls.length;
    const outcome = await run(fromSSE(server.url(), options()));
    expect(outcome.error).toBeUndefined();
    expect(outcome.events).toEqual(EVENTS);
    // 0: first connection; 1: the EventSource's own reconnection (502: it gives up); 2: the fetch
    // that asks why (now a stream again, so retryable); 3: the new EventSource.
    expect(server.requests).toHaveLength(4);
    expect(server.requests[1]!.headers['last-event-id']).toBe('3');
    expect(server.requests[2]!.headers.accept).toBe('text/event-stream');
    expect(new URL(server.requests[3]!.url, 'http://x').searchParams.get('lastEventId')).toBe('3');
    expect(constructedUrls.length - before).toBe(2);
  });

  it('fails at once with the status a fetch learns when the EventSource is refused with 404 (not retried)', async () => {
    const server = await serve((_request, res) => {
      res.writeHead(404);
      res.end();
    });
    const outcome = await run(fromSSE(server.url(), options({ reconnect: { maxRetries: 2, delayMs: 1 } })));
    const error = outcome.error as SSEResponseError;
    expect(SSEResponseError.isInstance(error)).toBe(true);
    expect(error.status).toBe(404);
    expect(error.retryable).toBe(false);
    // The EventSource's request and the one fetch that asked why.
    expect(server.requests).toHaveLength(2);
  });

  it('retries a refused EventSource while the status is retryable (503), then gives up with that status', async () => {
    const server = await serve((_request, res) => {
      res.writeHead(503);
      res.end();
    });
    const outcome = await run(fromSSE(server.url(), options({ reconnect: { maxRetries: 2, delayMs: 1 } })));
    const error = outcome.error as SSEResponseError;
    expect(SSEResponseError.isInstance(error)).toBe(true);
    expect(error.status).toBe(503);
    // Three EventSources (the first and two retries), each followed by a fetch asking why.
    expect(server.requests).toHaveLength(6);
  });

  it("limits the EventSource's own reconnections to the retry budget", async () => {
    const server = await serve((request, res) => {
      beginStream(res);
      res.end(request.index === 0 ? frames(EVENTS, 0, 1) : '');
    });
    const outcome = await run(fromSSE(server.url(), options({ reconnect: { maxRetries: 2, delayMs: 1 } })));
    expect(ConnectionError.isInstance(outcome.error)).toBe(true);
    expect((outcome.error as ConnectionError).partialText).toBe(PIECES[0]);
    expect(server.requests).toHaveLength(3);
  });

  it('closes the EventSource on unsubscribe', async () => {
    const server = await serve((_request, res) => {
      beginStream(res);
      res.write(frames(EVENTS, 0, 2));
    });
    const events = await takeTokens(fromSSE(server.url(), options()), 2);
    expect(events).toEqual(EVENTS.slice(0, 3));
    await expect(server.requests[0]!.closed).resolves.toEqual({ endedByServer: false });
  });
});

describe('fromSSE, arguments', () => {
  const url = 'http://127.0.0.1:9/events';
  const noopFetch = (async () => new Response('')) as typeof fetch;

  it.each<[string, unknown, unknown, string]>([
    ['a missing url', undefined, {}, 'url'],
    ['a relative url without a page', '/events', {}, 'url'],
    ['a non-http url', 'ftp://127.0.0.1/x', {}, 'url'],
    ['options that are not an object', url, 'fetch', 'options'],
    ['an unknown option', url, { mode: 'fetch', lastEventID: 3 }, 'options.lastEventID'],
    ['a non-boolean withCredentials', url, { withCredentials: 'yes' }, 'options.withCredentials'],
    ['a negative lastEventId', url, { lastEventId: -1 }, 'options.lastEventId'],
    ['a fractional lastEventId', url, { lastEventId: 1.5 }, 'options.lastEventId'],
    ['a multi-line lastEventId', url, { lastEventId: '1\n2' }, 'options.lastEventId'],
    ['an unknown reconnect field', url, { reconnect: { retries: 2 } }, 'options.reconnect.retries'],
    ['a negative maxRetries', url, { reconnect: { maxRetries: -1 } }, 'options.reconnect.maxRetries'],
    ['a NaN delayMs', url, { reconnect: { delayMs: Number.NaN } }, 'options.reconnect.delayMs'],
    ['a string reconnect', url, { reconnect: 'always' }, 'options.reconnect'],
    ['an unknown mode', url, { mode: 'websocket' }, 'options.mode'],
    ['headers that are not an object', url, { headers: [['a', 'b']] }, 'options.headers'],
    ['a non-string header', url, { headers: { 'x-n': 1 } }, 'options.headers.x-n'],
    ['an invalid header name', url, { headers: { 'bad name': 'x' } }, 'options.headers.bad name'],
    ['a Last-Event-ID header', url, { headers: { 'Last-Event-ID': '3' } }, 'options.headers.Last-Event-ID'],
    ['an invalid method', url, { method: 'GET /' }, 'options.method'],
    ['a body with GET', url, { body: 'x' }, 'options.body'],
    ['a body with an explicit GET', url, { method: 'GET', body: 'x' }, 'options.method'],
    ['a stream body', url, { method: 'POST', body: new ReadableStream() }, 'options.body'],
    ['a non-function fetch', url, { fetch: 'fetch' }, 'options.fetch'],
    ['a non-function EventSource', url, { EventSource: {} }, 'options.EventSource'],
    ['a signal that is not an AbortSignal', url, { signal: { aborted: false } }, 'options.signal'],
    ['headers in eventsource mode', url, { mode: 'eventsource', EventSource: EventSourceClass, headers: { a: 'b' } }, 'options.headers'],
    ['an EventSource in fetch mode', url, { mode: 'fetch', EventSource: EventSourceClass }, 'options.EventSource'],
    ['eventsource mode without any EventSource', url, { mode: 'eventsource' }, 'options.EventSource'],
  ])('rejects %s on subscription (fromSSE itself never throws), naming the field', (_name, badUrl, options, field) => {
    let stream$: Observable<TokenEvent> | undefined;
    expect(() => (stream$ = fromSSE(badUrl as string, options as FromSSEOptions))).not.toThrow();
    let failure: unknown;
    stream$!.subscribe({ error: (error: unknown) => (failure = error) }).unsubscribe();
    expect(InvalidArgumentError.isInstance(failure)).toBe(true);
    expect((failure as InvalidArgumentError).field).toBe(field);
  });

  it('accepts every option at once', () => {
    expect(() =>
      fromSSE(new URL(url), {
        mode: 'fetch',
        withCredentials: true,
        lastEventId: '17',
        reconnect: { maxRetries: 0, delayMs: 0, maxDelayMs: 0 },
        headers: { authorization: 'Bearer x' },
        method: 'POST',
        body: new URLSearchParams({ q: '1' }),
        fetch: noopFetch,
        signal: new AbortController().signal,
      }),
    ).not.toThrow();
  });

  it('opens nothing until subscribed', () => {
    let calls = 0;
    fromSSE(url, { fetch: (async () => (calls++, new Response(''))) as typeof fetch });
    expect(calls).toBe(0);
  });
});
