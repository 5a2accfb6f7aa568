/**
 * Ends are ends: a reconnect at a finished channel's last event answers 204 (the SSE spec's way to
 * stop an EventSource), a resume point beyond the last recorded event is 400 (running or finished),
 * and a publish that races close() never starts an upstream request.
 */
import http from 'node:http';
import { from, lastValueFrom, Observable, Subject, take, toArray } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { fromSSE } from '../../src/client/index.js';
import { InvalidArgumentError, SSEResponseError } from '../../src/errors.js';
import type { TokenEvent } from '../../src/events.js';
import { InMemoryChannelLog, type ChannelLog } from '../../src/sse/channel-log.js';
import { StreamHub } from '../../src/sse/hub.js';
import { answerEvents, collectAll } from '../helpers/hub.js';
import { openSSE } from '../helpers/sse-reader.js';
import { listenLocal } from '../helpers/http.js';

interface Served {
  hub: StreamHub;
  url: (path: string) => string;
  /** Requests the server received, in order (method, path, Last-Event-ID). */
  requests: string[];
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function serve(): Promise<Served> {
  const hub = new StreamHub({ heartbeatMs: 0 });
  const handler = hub.handler();
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url} ${req.headers['last-event-id'] ?? '-'}`);
    void handler(req, res);
  });
  const local = await listenLocal(server);
  cleanups.push(async () => {
    await hub.close();
    await local.close();
  });
  return { hub, url: (path) => `${local.origin}${path}`, requests };
}

/** Publishes a whole answer and waits until its last event is stored: ids 0..4, finished. */
async function finishedChannel(hub: StreamHub, channel: string): Promise<number> {
  await hub.publish(channel, from(answerEvents(['a', 'b'])));
  const { messages, error } = await collectAll(hub.subscribe(channel));
  expect(error).toBeUndefined();
  const info = await hub.info(channel);
  expect(info?.finished).toBe(true);
  return messages[messages.length - 1]!.id;
}

/** Both endpoints, answering one GET with these headers. */
const endpoints = {
  handler: async (served: Served, channel: string, headers: Record<string, string>, query = '') =>
    fetch(served.url(`/streams/${channel}${query}`), { headers }),
  fetch: async (served: Served, channel: string, headers: Record<string, string>, query = '') =>
    served.hub.fetch(new Request(`http://hub.test/streams/${channel}${query}`, { headers })),
};

describe.each(Object.entries(endpoints))('hub.%s(): the ends of a channel', (_name, get) => {
  it('answers 204, without a body, to a resume at a finished channel\'s last event (header or query)', async () => {
    const served = await serve();
    const last = await finishedChannel(served.hub, 'end-1');
    expect(last).toBe(4);
    const byHeader = await get(served, 'end-1', { 'last-event-id': String(last) });
    expect(byHeader.status).toBe(204);
    expect(await byHeader.text()).toBe('');
    const byQuery = await get(served, 'end-1', {}, `?lastEventId=${last}`);
    expect(byQuery.status).toBe(204);
    // Before the end it is still a resume: 200 with exactly what was missed.
    const before = await get(served, 'end-1', { 'last-event-id': String(last - 1) });
    expect(before.status).toBe(200);
    expect(await before.text()).toMatch(/id: 4\nevent: done\n/);
    // From the start too.
    expect((await get(served, 'end-1', {})).status).toBe(200);
  });

  it('answers 400 to a Last-Event-ID beyond a finished channel\'s last event', async () => {
    const served = await serve();
    const last = await finishedChannel(served.hub, 'end-2');
    for (const id of [last + 1, last + 1000]) {
      const response = await get(served, 'end-2', { 'last-event-id': String(id) });
      expect(response.status).toBe(400);
      expect(((await response.json()) as { error: string }).error).toMatch(/beyond this channel's last event \(4\)/);
    }
    expect(served.hub.followerCount('end-2')).toBe(0);
  });

  it('answers 400 to a Last-Event-ID beyond the last recorded event of a running channel, and follows one at it', async () => {
    const served = await serve();
    const upstream = new Subject<TokenEvent>();
    await served.hub.publish('end-3', upstream);
    const stored = lastValueFrom(served.hub.subscribe('end-3').pipe(take(2), toArray()));
    upstream.next({ type: 'start', provider: 't', model: 'm', t: 0 });
    upstream.next({ type: 'token', text: 'one', index: 0, t: 1 });
    expect((await stored).map((m) => m.id)).toEqual([0, 1]);

    const ahead = await get(served, 'end-3', { 'last-event-id': '2' });
    expect(ahead.status).toBe(400);
    expect(((await ahead.json()) as { error: string }).error).toMatch(/beyond this channel's last event \(1\)/);

    // At the last recorded id the follower is simply caught up: it waits for what comes next.
    const atEnd = await get(served, 'end-3', { 'last-event-id': '1' });
    expect(atEnd.status).toBe(200);
    upstream.next({ type: 'token', text: ' two', index: 1, t: 2 });
    upstream.next({ type: 'done', stopReason: 'end', t: 3 });
    const body = await atEnd.text();
    expect(body).toMatch(/id: 2\nevent: token\n/);
    expect(body).toMatch(/id: 3\nevent: done\n/);
    expect(body).not.toMatch(/id: [01]\n/);
  });
});

describe('hub.handler(): a finished channel over real HTTP', () => {
  it('the old way, 200 that closes, is gone: a resume at the end is one 204 and no stream', async () => {
    const served = await serve();
    const last = await finishedChannel(served.hub, 'end-4');
    const connection = await openSSE(served.url('/streams/end-4'), { headers: { 'last-event-id': String(last) } });
    expect(connection.status).toBe(204);
    expect(connection.headers.get('content-type')).toBeNull();
    expect(await connection.ended).toBe('end');
    expect(connection.retries).toEqual([]);
    expect(connection.messages).toEqual([]);
  });

  it('fromSSE (fetch mode) does not reconnect on the 204: it errors once with SSEResponseError 204', async () => {
    const served = await serve();
    const last = await finishedChannel(served.hub, 'end-5');
    const before = served.requests.length;
    const error = await lastValueFrom(fromSSE(served.url('/streams/end-5'), { mode: 'fetch', lastEventId: last })).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SSEResponseError);
    expect((error as SSEResponseError).status).toBe(204);
    expect((error as SSEResponseError).retryable).toBe(false);
    expect(served.requests.slice(before)).toEqual([`GET /streams/end-5 ${last}`]);
  });
});

/** An in-memory log whose `create` waits until the test lets it answer. */
function slowCreateLog(): { log: ChannelLog; inner: InMemoryChannelLog; release: () => void; created: Promise<void> } {
  const inner = new InMemoryChannelLog();
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let markCreated!: () => void;
  const created = new Promise<void>((resolve) => (markCreated = resolve));
  const log: ChannelLog = {
    create: async (channel, meta) => {
      markCreated();
      await gate;
      return inner.create(channel, meta);
    },
    append: (channel, entries) => inner.append(channel, entries),
    read: (channel, afterId, limit) => inner.read(channel, afterId, limit),
    info: (channel) => inner.info(channel),
    watch: (channel, listener) => inner.watch(channel, listener),
    expire: (channel, ttlMs) => inner.expire(channel, ttlMs),
    close: () => inner.close(),
  };
  return { log, inner, release, created };
}

/** A stream that counts its subscriptions (an upstream request each) and never emits. */
function countingSource(): { source: Observable<TokenEvent>; subscriptions: () => number } {
  let count = 0;
  return { source: new Observable<TokenEvent>(() => void count++), subscriptions: () => count };
}

describe('publish() racing close()', () => {
  it('a publish whose channel is created while close() runs is rejected and never subscribes its source', async () => {
    const { log, inner, release, created } = slowCreateLog();
    const hub = new StreamHub({ log });
    const { source, subscriptions } = countingSource();
    const published = hub.publish('race-1', source).then(() => undefined, (e: unknown) => e);
    await created;
    await hub.close();
    release();
    const error = await published;
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toMatch(/closed/);
    expect(subscriptions()).toBe(0);
    // The channel a shared log now holds is ended, not left open forever for followers elsewhere.
    const entries = await lastValueFrom(
      new Observable<string>((subscriber) => {
        void inner.read('race-1', -1, 10).then((page) => {
          for (const e of page ?? []) subscriber.next(e.type);
          subscriber.complete();
        });
      }).pipe(toArray()),
    );
    expect(entries).toEqual(['error']);
    expect((await inner.info('race-1'))?.finished).toBe(true);
    await inner.close();
  });

  it('a publish after close() is rejected and never subscribes its source', async () => {
    const hub = new StreamHub();
    await hub.close();
    const { source, subscriptions } = countingSource();
    await expect(hub.publish('race-2', source)).rejects.toThrow(/closed/);
    expect(subscriptions()).toBe(0);
  });
});
