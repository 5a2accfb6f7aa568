/**
 * A reconnect never joins two answers: a plain `pipeSSE` route starts a NEW provider request on
 * every connection, so a reconnect to it lands on a different stream. The client must say so (a
 * `reset`, then the new answer whole) instead of dropping the new answer's first events as
 * "already seen" and completing with a text made of two answers ("A0 B1 B2 …").
 *
 * Real HTTP on 127.0.0.1: the route pipes a fresh Observable per request through `pipeSSE`; the
 * first response is destroyed by the server as soon as the client has the first answer's first
 * token (event-driven, no timers), in fetch mode and in eventsource mode (TestEventSource).
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { NEVER, concat, from, type Observable } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { fromSSE, type FromSSEOptions } from '../../src/client/index.js';
import type { TokenEvent } from '../../src/events.js';
import { RemoteStreamError } from '../../src/errors.js';
import { pipeSSE } from '../../src/sse/stream.js';
import { beginStream, frames, startSSEServer, type RecordedRequest, type SSEServer } from '../helpers/sse-server.js';
import { TestEventSource } from './event-source.js';

const EventSourceClass = TestEventSource as unknown as typeof EventSource;

/** The answer of upstream request `letter`: start, six tokens `A0`, ` A1`, …, done. */
function answerOf(letter: string): TokenEvent[] {
  const events: TokenEvent[] = [{ type: 'start', provider: 'mock', model: letter, t: 0 }];
  for (let i = 0; i < 6; i++) events.push({ type: 'token', text: `${i === 0 ? '' : ' '}${letter}${i}`, index: i, t: i + 1 });
  events.push({ type: 'done', stopReason: 'end', t: 10 });
  return events;
}

/** A numbered (hub) stream's answer. */
const ANSWER_H = answerOf('H');

/** The text of the tokens after the last `reset`: what a UI that honours `reset` shows. */
function shownText(events: readonly TokenEvent[]): string {
  let text = '';
  for (const event of events) {
    if (event.type === 'reset') text = '';
    else if (event.type === 'token') text += event.text;
  }
  return text;
}

interface Route {
  url: string;
  /** One upstream "provider request" per HTTP request, in order: 'A', 'B', … */
  upstreams: string[];
  /** The responses, in order (to cut one). */
  responses: ServerResponse[];
  /** The `Last-Event-ID` each request sent (header, or the `lastEventId` query of an EventSource). */
  resumePoints: Array<string | undefined>;
}

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

/**
 * A plain route as an app writes it: every request pipes a NEW upstream stream. The first one sends
 * its start and first token and then waits (the test cuts it); later ones send a whole answer.
 */
async function plainRoute(): Promise<Route> {
  const route: Route = { url: '', upstreams: [], responses: [], resumePoints: [] };
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    const letter = String.fromCharCode(65 + route.upstreams.length);
    route.upstreams.push(letter);
    route.responses.push(res);
    const header = req.headers['last-event-id'];
    const query = new URL(req.url ?? '/', 'http://x').searchParams.get('lastEventId');
    route.resumePoints.push(typeof header === 'string' ? header : (query ?? undefined));
    const events = answerOf(letter);
    const upstream$: Observable<TokenEvent> = letter === 'A' ? concat(from(events.slice(0, 2)), NEVER) : from(events);
    void pipeSSE(upstream$, res, { heartbeatMs: 0, retryMs: 0, onError: () => {} });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  route.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/answer`;
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  );
  return route;
}

/** Follows the route to the end; the server cuts the first response once the client has `A0`. */
function follow(route: Route, options: FromSSEOptions): Promise<TokenEvent[]> {
  return new Promise((resolve, reject) => {
    const events: TokenEvent[] = [];
    let cut = false;
    fromSSE(route.url, { reconnect: { maxRetries: 3, delayMs: 0, maxDelayMs: 0 }, ...options }).subscribe({
      next: (event) => {
        events.push(event);
        if (!cut && event.type === 'token') {
          cut = true;
          route.responses[0]!.destroy();
        }
      },
      error: reject,
      complete: () => resolve(events),
    });
  });
}

const MODES: Array<[string, FromSSEOptions]> = [
  ['fetch', { mode: 'fetch' }],
  ['eventsource', { mode: 'eventsource', EventSource: EventSourceClass }],
];

describe.each(MODES)('a reconnect to a plain pipeSSE route (%s mode)', (_name, options) => {
  it('emits reset and then the new answer whole, never a text made of two answers', async () => {
    const route = await plainRoute();
    const events = await follow(route, options);

    expect(route.upstreams).toEqual(['A', 'B']);
    const types = events.map((e) => e.type);
    expect(types).toEqual(['start', 'token', 'reset', 'start', 'token', 'token', 'token', 'token', 'token', 'token', 'done']);
    expect(events[1]).toMatchObject({ type: 'token', text: 'A0' });
    // The new answer arrives from its own start: its `start` is B's, and every one of its tokens.
    expect(events[3]).toMatchObject({ type: 'start', model: 'B' });
    expect(shownText(events)).toBe('B0 B1 B2 B3 B4 B5');
  });

  it('sends no resume point to a route that cannot resume', async () => {
    const route = await plainRoute();
    await follow(route, options);
    // A plain response has no ids: nothing pretends the second request continues the first.
    expect(route.resumePoints).toEqual([undefined, undefined]);
  });
});

/**
 * Follows `url` into `events` (kept when the stream errors); `cutAt(events)` runs after each event,
 * to cut a response once the client has it.
 */
function followUrl(url: string, options: FromSSEOptions, cutAt: (events: TokenEvent[]) => void, events: TokenEvent[]): Promise<TokenEvent[]> {
  return new Promise((resolve, reject) => {
    fromSSE(url, { reconnect: { maxRetries: 3, delayMs: 0, maxDelayMs: 0 }, ...options }).subscribe({
      next: (event) => {
        events.push(event);
        cutAt(events);
      },
      error: reject,
      complete: () => resolve(events),
    });
  });
}

/**
 * Hand-written servers in the hub's wire format (test/helpers/sse-server.ts): ids are positions in
 * the stream, resumed by `Last-Event-ID`. The first response is cut once the client has 3 events.
 */
describe.each(MODES)('numbered (hub) ids (%s mode)', (_name, options) => {
  const servers: SSEServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => server.close()));
  });

  async function cutAfterThree(second: (request: RecordedRequest) => string, events: TokenEvent[] = []): Promise<{ server: SSEServer; events: TokenEvent[] }> {
    const responses: ServerResponse[] = [];
    const server = await startSSEServer((request, res) => {
      responses.push(res);
      beginStream(res);
      if (request.index === 0) res.write(frames(ANSWER_H, 0, 2));
      else res.end(second(request));
    });
    servers.push(server);
    let cut = false;
    await followUrl(
      server.url(),
      options,
      (received) => {
        if (!cut && received.length === 3) {
          cut = true;
          responses[0]!.destroy();
        }
      },
      events,
    );
    return { server, events };
  }

  it('a reconnect that resumes (even replaying from an older point): no reset, nothing twice, nothing lost', async () => {
    const { server, events } = await cutAfterThree(() => frames(ANSWER_H, 1));
    expect(server.requests).toHaveLength(2);
    expect(events).toEqual(ANSWER_H);
  });

  // Fetch mode only: a browser's EventSource keeps reporting the last id it saw on messages without
  // one (the spec's last event ID buffer), so there a numbered stream that turns unnumbered cannot be
  // told from a replay. A plain route never sends ids, so this never hides a plain route's new answer.
  // (Not defined for the eventsource mode at all, rather than shown as skipped.)
  if (options.mode !== 'eventsource') it('a reconnect answered without ids is a new stream: reset, then all of it', async () => {
    const fresh = answerOf('N');
    const { events } = await cutAfterThree(() => fresh.map((event) => `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`).join(''));
    expect(events).toEqual([...ANSWER_H.slice(0, 3), expect.objectContaining({ type: 'reset' }), ...fresh]);
    expect(shownText(events)).toBe('N0 N1 N2 N3 N4 N5');
  });

  it('a reconnect answered by an error without id (a hub\'s `gone`) ends with that error, no reset', async () => {
    const gone = { type: 'error', name: 'RemoteStreamError', message: 'gone', reason: 'gone' } as const;
    const events: TokenEvent[] = [];
    const failure = await cutAfterThree(() => `event: error\ndata: ${JSON.stringify(gone)}\n\n`, events).catch((error: unknown) => error);
    expect(RemoteStreamError.isInstance(failure)).toBe(true);
    expect((failure as RemoteStreamError).reason).toBe('gone');
    expect(events).toEqual(ANSWER_H.slice(0, 3));
  });
});
