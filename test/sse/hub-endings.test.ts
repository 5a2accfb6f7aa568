/**
 * No success without `done` (issue 14, item 2) and resume points the channel never had: a follower
 * whose own hub closes is never told the answer succeeded; a failure after the terminal entry was
 * stored (the log's expiry) is the server's to log, never an error for this server's followers; a
 * `lastEventId` beyond the last stored event, or not a safe integer, is refused in process as over HTTP.
 */
import http from 'node:http';
import { from, lastValueFrom, Subject, tap, toArray } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest';
import { fromSSE } from '../../src/client/index.js';
import { InvalidArgumentError, RemoteStreamError, type SerializedStreamError } from '../../src/errors.js';
import type { TokenEvent } from '../../src/events.js';
import { InMemoryChannelLog, type ChannelLog } from '../../src/sse/channel-log.js';
import { StreamHub } from '../../src/sse/hub.js';
import { budget } from '../helpers/budget.js';
import { answerEvents, collectAll, textOf, tick } from '../helpers/hub.js';
import { listenLocal } from '../helpers/http.js';
import { openSSE, parseSSE } from '../helpers/sse-reader.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function newHub(options: ConstructorParameters<typeof StreamHub>[0] = {}): StreamHub {
  const hub = new StreamHub(options);
  cleanups.push(() => hub.close());
  return hub;
}

/** `hub.handler()` on a real server on 127.0.0.1: its origin. */
async function serve(hub: StreamHub): Promise<string> {
  const handler = hub.handler();
  const local = await listenLocal(http.createServer((req, res) => void handler(req, res)));
  cleanups.push(local.close);
  return local.origin;
}

const WORDS = ['One', ' answer', ' on', ' two', ' servers', '.'];
const EVENTS = answerEvents(WORDS);

/** Two hubs on one log, as two servers on one Redis: A publishes, B only serves followers. */
function twoServers(): { log: InMemoryChannelLog; a: StreamHub; b: StreamHub } {
  const log = new InMemoryChannelLog();
  cleanups.push(() => log.close());
  return { log, a: newHub({ log, heartbeatMs: 0, retryMs: 10 }), b: newHub({ log, heartbeatMs: 0, retryMs: 10 }) };
}

describe('hub.close() never reads as a success to a follower whose answer is still running', () => {
  it('an in-process follower on the closing hub errors with reason "lost" and the text it got', async () => {
    const { a, b } = twoServers();
    const upstream = new Subject<TokenEvent>();
    await a.publish('close-1', upstream);
    const follower = collectAll(b.subscribe('close-1'));
    for (const event of EVENTS.slice(0, 3)) upstream.next(event);
    await tick();
    await b.close();
    const { messages, error } = await follower;
    expect(textOf(messages)).toBe('One answer');
    expect(RemoteStreamError.isInstance(error)).toBe(true);
    expect((error as RemoteStreamError).reason).toBe('lost');
    expect((error as RemoteStreamError).message).toMatch(/hub closed before/);
    expect((error as RemoteStreamError).partialText).toBe('One answer');
    // The answer itself goes on where it runs: a follower on A gets all of it.
    const onA = collectAll(a.subscribe('close-1'));
    for (const event of EVENTS.slice(3)) upstream.next(event);
    expect((await onA).error).toBeUndefined();
    expect(textOf((await onA).messages)).toBe(WORDS.join(''));
  });

  it('an in-process follower admitted after the hub closed errors too, never waits or completes', async () => {
    const { a, b } = twoServers();
    await a.publish('close-2', new Subject<TokenEvent>());
    await b.close();
    const { messages, error } = await collectAll(b.subscribe('close-2'));
    expect(messages).toEqual([]);
    expect((error as RemoteStreamError).reason).toBe('lost');
  });

  it('an SSE follower on the closing hub is cut without done or error, so fromSSE resumes on another server, exactly', async () => {
    const { a, b } = twoServers();
    const [originA, originB] = [await serve(a), await serve(b)];
    const upstream = new Subject<TokenEvent>();
    await a.publish('close-3', upstream);
    for (const event of EVENTS.slice(0, 3)) upstream.next(event);
    // A load balancer: the first connection goes to B, every reconnection to A.
    const asked: string[] = [];
    const balancer: typeof fetch = (input, init) => {
      const path = new URL(String(input)).pathname;
      asked.push(`${asked.length === 0 ? 'B' : 'A'} ${new Headers(init?.headers).get('last-event-id') ?? '-'}`);
      return fetch(`${asked.length === 1 ? originB : originA}${path}`, init);
    };
    const received: TokenEvent[] = [];
    let gotThree!: () => void;
    const three = new Promise<void>((resolve) => (gotThree = resolve));
    const done = lastValueFrom(
      fromSSE(`${originB}/streams/close-3`, { fetch: balancer, reconnect: { delayMs: 0 } }).pipe(
        tap((event) => {
          received.push(event);
          if (received.length === 3) gotThree();
        }),
        toArray(),
      ),
    );
    await three;
    await b.close();
    // The follower reconnects to A with the last id it got: once it follows there, finish the answer.
    await expect.poll(() => a.followerCount('close-3'), { timeout: budget(10_000) }).toBe(1);
    for (const event of EVENTS.slice(3)) upstream.next(event);
    expect(await done).toEqual(received);
    expect(received.map((e) => e.type)).toEqual(EVENTS.map((e) => e.type));
    expect(received.filter((e) => e.type === 'token').map((e) => (e as { text: string }).text).join('')).toBe(WORDS.join(''));
    expect(asked).toEqual(['B -', 'A 2']);
  });

  it('what the SSE follower on the closing hub gets on the wire: the events so far, then the end of the response', async () => {
    const { a, b } = twoServers();
    const originB = await serve(b);
    const upstream = new Subject<TokenEvent>();
    await a.publish('close-4', upstream);
    for (const event of EVENTS.slice(0, 2)) upstream.next(event);
    const connection = await openSSE(`${originB}/streams/close-4`);
    await connection.waitFor((m) => m.length === 2);
    await b.close();
    expect(await connection.ended).toBe('end');
    expect(connection.messages.map((m) => m.event)).toEqual(['start', 'token']);
  });
});

describe('a failure after the terminal entry was stored is logged, never an error for followers', () => {
  let consoleError: MockInstance<typeof console.error>;
  beforeEach(() => {
    consoleError = vi.spyOn(console, 'error').mockImplementation(() => {});
  });
  afterEach(() => consoleError.mockRestore());

  /**
   * An in-memory log whose `expire` rejects, and whose watchers hear of entries a turn after the
   * append resolved, as with a shared store (Redis: appends are read back by a separate reader).
   */
  function expiryFailingLog(): ChannelLog {
    const inner = new InMemoryChannelLog();
    cleanups.push(() => inner.close());
    return {
      create: (channel, meta) => inner.create(channel, meta),
      append: (channel, entries) => inner.append(channel, entries),
      read: (channel, afterId, limit) => inner.read(channel, afterId, limit),
      info: (channel) => inner.info(channel),
      watch: (channel, listener) => {
        let watching = true;
        const off = inner.watch(channel, (entries) => setImmediate(() => watching && listener(entries)));
        return () => {
          watching = false;
          off();
        };
      },
      expire: () => Promise.reject(new Error('EXPIRE timed out')),
      close: () => inner.close(),
    };
  }

  it('in-process and SSE followers get done; the failed expiry goes to console.error with the channel', async () => {
    const hub = newHub({ log: expiryFailingLog(), heartbeatMs: 0 });
    const upstream = new Subject<TokenEvent>();
    await hub.publish('expire-1', upstream);
    const inProcess = collectAll(hub.subscribe('expire-1'));
    const web = await hub.fetch(new Request('http://hub.test/streams/expire-1'));
    const parsed = parseSSE(web.body!);
    await expect.poll(() => hub.followerCount('expire-1'), { timeout: budget(10_000) }).toBe(2);
    for (const event of EVENTS) upstream.next(event);

    const { messages, error } = await inProcess;
    expect(error).toBeUndefined();
    expect(messages.map((m) => m.event)).toEqual(EVENTS);
    const sse = await parsed;
    expect(sse.messages.map((m) => m.event)).toEqual(EVENTS.map((e) => e.type));
    expect((await hub.info('expire-1'))?.finished).toBe(true);
    await expect.poll(() => consoleError.mock.calls.length, { timeout: budget(10_000) }).toBe(1);
    expect(String(consoleError.mock.calls[0]![0])).toContain('"expire-1"');
    expect((consoleError.mock.calls[0]![1] as Error).message).toBe('EXPIRE timed out');
    // A late follower replays the finished channel as usual.
    const late = await collectAll(hub.subscribe('expire-1'));
    expect(late.error).toBeUndefined();
    expect(textOf(late.messages)).toBe(WORDS.join(''));
  });
});

describe("a shared log that can no longer follow a channel here says so through watch()'s onFailure", () => {
  it('every follower of the channel in this process ends with that error, without an id, with the text it got', async () => {
    const inner = new InMemoryChannelLog();
    cleanups.push(() => inner.close());
    const failures: Array<(error: SerializedStreamError) => void> = [];
    const log: ChannelLog = {
      create: (channel, meta) => inner.create(channel, meta),
      append: (channel, entries) => inner.append(channel, entries),
      read: (channel, afterId, limit) => inner.read(channel, afterId, limit),
      info: (channel) => inner.info(channel),
      watch: (channel, listener, onFailure) => {
        if (onFailure) failures.push(onFailure);
        return inner.watch(channel, listener);
      },
      expire: (channel, ttlMs) => inner.expire(channel, ttlMs),
      close: () => inner.close(),
    };
    const hub = newHub({ log, heartbeatMs: 0 });
    const upstream = new Subject<TokenEvent>();
    await hub.publish('failed-1', upstream);
    for (const event of EVENTS.slice(0, 2)) upstream.next(event);
    const inProcess = collectAll(hub.subscribe('failed-1'));
    const web = await hub.fetch(new Request('http://hub.test/streams/failed-1'));
    const parsed = parseSSE(web.body!);
    await expect.poll(() => hub.followerCount('failed-1'), { timeout: budget(10_000) }).toBe(2);
    await tick();
    // One watch for the channel's followers in this process.
    expect(failures).toHaveLength(1);
    failures[0]!({ type: 'error', name: 'RemoteStreamError', message: 'Lost the connection to the store.', reason: 'lost' });

    const { messages, error } = await inProcess;
    expect(textOf(messages)).toBe('One');
    expect(error).toMatchObject({ reason: 'lost', message: 'Lost the connection to the store.', partialText: 'One' });
    const sse = (await parsed).messages;
    expect(sse.map((m) => [m.event, m.id])).toEqual([['start', '0'], ['token', '1'], ['error', undefined]]);
    expect(JSON.parse(sse[2]!.data)).toMatchObject({ reason: 'lost', message: 'Lost the connection to the store.' });
    expect(hub.followerCount('failed-1')).toBe(0);
  });
});

describe('a resume point the channel never had is refused, in process as over HTTP', () => {
  it('hub.subscribe() with lastEventId beyond a running channel\'s last stored event errors with InvalidArgumentError', async () => {
    const hub = new StreamHub();
    const upstream = new Subject<TokenEvent>();
    await hub.publish('beyond-1', upstream);
    for (const event of EVENTS.slice(0, 2)) upstream.next(event);
    await tick();
    const ahead = collectAll(hub.subscribe('beyond-1', { lastEventId: 2 }));
    const atEnd = collectAll(hub.subscribe('beyond-1', { lastEventId: 1 }));
    // Closing ends anything still waiting, so a follower that would wait forever fails this test at once.
    await hub.close();
    const { messages, error } = await ahead;
    expect(messages).toEqual([]);
    expect(InvalidArgumentError.isInstance(error)).toBe(true);
    expect((error as InvalidArgumentError).field).toBe('options.lastEventId');
    expect((error as Error).message).toMatch(/lastEventId 2 is beyond the last event of channel "beyond-1" \(1\)/);
    // At the last stored id the follower is caught up: it waited for what came next (here the stop).
    expect((await atEnd).error).toMatchObject({ reason: 'stopped' });
  });

  it('a finished channel: beyond its last event is an error; at it, the follower completes with nothing', async () => {
    const hub = newHub();
    await hub.publish('beyond-2', from(EVENTS));
    expect((await collectAll(hub.subscribe('beyond-2'))).error).toBeUndefined();
    const last = EVENTS.length - 1;
    const ahead = await collectAll(hub.subscribe('beyond-2', { lastEventId: last + 1 }));
    expect(InvalidArgumentError.isInstance(ahead.error)).toBe(true);
    const atEnd = await collectAll(hub.subscribe('beyond-2', { lastEventId: last }));
    expect(atEnd).toEqual({ messages: [], error: undefined });
  });

  it('hub.subscribe() refuses a lastEventId that is not a safe integer, on subscription', () => {
    const hub = newHub();
    for (const id of [2 ** 53, 1e300, -2]) {
      let error: unknown;
      hub.subscribe('any', { lastEventId: id }).subscribe({ error: (e: unknown) => (error = e) }).unsubscribe();
      expect(InvalidArgumentError.isInstance(error), String(id)).toBe(true);
      expect((error as InvalidArgumentError).field).toBe('options.lastEventId');
    }
  });

  it('over HTTP, a Last-Event-ID that is not a safe integer is 400 as not an id; a safe one beyond the end is 400 as beyond', async () => {
    const hub = newHub();
    const origin = await serve(hub);
    await hub.publish('beyond-3', from(EVENTS));
    await collectAll(hub.subscribe('beyond-3'));
    const get = (id: string) => fetch(`${origin}/streams/beyond-3`, { headers: { 'last-event-id': id } });
    const viaFetch = (id: string) => hub.fetch(new Request('http://hub.test/streams/beyond-3', { headers: { 'last-event-id': id } }));
    for (const answer of [get, viaFetch]) {
      for (const id of ['99999999999999999999', '1e300', String(2 ** 53)]) {
        const response = await answer(id);
        expect(response.status, id).toBe(400);
        expect(((await response.json()) as { error: string }).error).toMatch(/must be an event id/);
      }
      const beyond = await answer(String(Number.MAX_SAFE_INTEGER));
      expect(beyond.status).toBe(400);
      expect(((await beyond.json()) as { error: string }).error).toMatch(/beyond this channel's last event/);
    }
  });
});
