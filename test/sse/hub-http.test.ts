import http from 'node:http';
import net from 'node:net';
import { firstValueFrom, Observable, Subject } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import type { TokenEvent } from '../../src/events.js';
import { StreamHub, type DropInfo, type HubRequest } from '../../src/sse/hub.js';
import type { ChannelInfo } from '../../src/sse/channel-log.js';
import { startMockProvider, type MockProvider } from '../../src/testing/index.js';
import { budget } from '../helpers/budget.js';
import { makeProvider } from '../helpers/mock.js';
import { openSSE, parseSSE, type ParsedMessage } from '../helpers/sse-reader.js';
import { listenLocal } from '../helpers/http.js';

interface Served {
  hub: StreamHub;
  url: (path: string) => string;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function serve(options: ConstructorParameters<typeof StreamHub>[0] = {}): Promise<Served> {
  const hub = new StreamHub(options);
  const handler = hub.handler();
  const local = await listenLocal(http.createServer((req, res) => void handler(req, res)));
  cleanups.push(async () => {
    await hub.close();
    await local.close();
  });
  return { hub, url: (path) => `${local.origin}${path}` };
}

async function newMock(options: Parameters<typeof startMockProvider>[0]): Promise<MockProvider> {
  const mock = await startMockProvider(options);
  cleanups.push(() => mock.close());
  return mock;
}

const request = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'Say something.' }] };

function tokenText(messages: readonly ParsedMessage[]): string {
  return messages
    .filter((m) => m.event === 'token')
    .map((m) => (JSON.parse(m.data) as { text: string }).text)
    .join('');
}

/** A deterministic answer of `n` words, the mock's script. */
function words(n: number): string {
  const vocabulary = ['river', ' token', ' stream', ' 東京', ' model', ' 🙂', ' value', ' socket'];
  return Array.from({ length: n }, (_, i) => (i === 0 ? 'Start' : vocabulary[i % vocabulary.length]!)).join('');
}

describe('hub.handler() over HTTP', () => {
  it('follows a channel as SSE: headers, retry, ids 0..n, the whole answer, and the end after done', async () => {
    const expected = words(40);
    const mock = await newMock({ flavor: 'openai', script: { text: expected } });
    const { hub, url } = await serve({ retryMs: 1234 });
    await hub.publish('http-1', makeProvider('openai', mock).stream(request));
    const connection = await openSSE(url('/streams/http-1'));
    expect(connection.status).toBe(200);
    expect(connection.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(connection.headers.get('cache-control')).toBe('no-cache, no-transform');
    expect(connection.headers.get('x-accel-buffering')).toBe('no');
    expect(await connection.ended).toBe('end');
    expect(connection.retries).toEqual([1234]);
    const messages = connection.messages;
    expect(messages.map((m) => m.id)).toEqual(messages.map((_, i) => String(i)));
    expect(messages.map((m) => m.event)).toEqual(messages.map((m) => (JSON.parse(m.data) as TokenEvent).type));
    expect(messages[messages.length - 1]!.event).toBe('done');
    expect(tokenText(messages)).toBe(expected);
    expect(mock.requests).toHaveLength(1);
  });

  it('resumes after a Last-Event-ID header or a lastEventId query parameter', async () => {
    const { hub, url } = await serve();
    const upstream = new Subject<TokenEvent>();
    await hub.publish('http-2', upstream);
    const words = ['one', ' two', ' three', ' four', ' five'];
    upstream.next({ type: 'start', provider: 't', model: 'm', t: 0 });
    words.forEach((text, index) => upstream.next({ type: 'token', text, index, t: index }));
    upstream.next({ type: 'done', stopReason: 'end', t: 9 });
    const header = await openSSE(url('/streams/http-2'), { headers: { 'last-event-id': '2' } });
    await header.ended;
    expect(header.messages.map((m) => m.id)).toEqual(['3', '4', '5', '6']);
    expect(tokenText(header.messages)).toBe(' three four five');
    const query = await openSSE(url('/streams/http-2?lastEventId=4'));
    await query.ended;
    expect(query.messages.map((m) => m.id)).toEqual(['5', '6']);
    const bad = await fetch(url('/streams/http-2'), { headers: { 'last-event-id': 'abc' } });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/Last-Event-ID/);
  });

  it('a follower cut mid-answer reconnects with Last-Event-ID: the final text is the whole answer, nothing twice, one upstream request', async () => {
    const expected = words(120);
    const mock = await newMock({ flavor: 'anthropic', script: { text: expected }, profile: { ttftMs: 0, tokensPerSecond: 600 } });
    const { hub, url } = await serve();
    await hub.publish('http-3', makeProvider('anthropic', mock).stream({ ...request, maxTokens: 200 }));
    const seen: ParsedMessage[] = [];
    let lastId: string | undefined;
    for (const cutAfter of [5, 17, 30]) {
      const connection = await openSSE(url('/streams/http-3'), lastId === undefined ? {} : { headers: { 'last-event-id': lastId } });
      const before = seen.length;
      await connection.waitFor((m) => m.length >= cutAfter);
      await connection.close();
      seen.push(...connection.messages);
      lastId = seen[seen.length - 1]!.id;
      expect(seen.length).toBeGreaterThan(before);
    }
    const final = await openSSE(url('/streams/http-3'), { headers: { 'last-event-id': lastId! } });
    await final.ended;
    seen.push(...final.messages);
    expect(seen.map((m) => m.id)).toEqual(seen.map((_, i) => String(i)));
    expect(tokenText(seen)).toBe(expected);
    expect(mock.requests).toHaveLength(1);
    expect(mock.responses[0]!.closedByClient).toBe(false);
  });

  it('404 for an unknown channel; authorize refuses with 403 or 401 and sees the method, headers and meta', async () => {
    const calls: Array<{ action: string; meta: unknown; auth: string | undefined; method: string }> = [];
    const { hub, url } = await serve({
      authorize: (req: HubRequest, channel: ChannelInfo, action) => {
        calls.push({ action, meta: channel.meta, auth: req.header('Authorization'), method: req.method });
        const token = req.header('authorization');
        if (token === undefined) return { status: 401, message: 'Sign in first.' };
        return token === `Bearer ${String(channel.meta.owner)}`;
      },
    });
    const upstream = new Subject<TokenEvent>();
    await hub.publish('http-4', upstream, { meta: { owner: 'alice' } });
    const unknown = await fetch(url('/streams/nope'));
    expect(unknown.status).toBe(404);
    const anonymous = await fetch(url('/streams/http-4'));
    expect(anonymous.status).toBe(401);
    expect(((await anonymous.json()) as { error: string }).error).toBe('Sign in first.');
    const mallory = await fetch(url('/streams/http-4'), { headers: { authorization: 'Bearer mallory' } });
    expect(mallory.status).toBe(403);
    const stopByMallory = await fetch(url('/streams/http-4/stop'), { method: 'POST', headers: { authorization: 'Bearer mallory' } });
    expect(stopByMallory.status).toBe(403);
    expect((await hub.info('http-4'))?.finished).toBe(false);
    const alice = await openSSE(url('/streams/http-4'), { headers: { authorization: 'Bearer alice' } });
    expect(alice.status).toBe(200);
    await alice.close();
    expect(calls.map((c) => c.action)).toEqual(['follow', 'follow', 'stop', 'follow']);
    expect(calls[3]).toEqual({ action: 'follow', meta: { owner: 'alice' }, auth: 'Bearer alice', method: 'GET' });
    const wrongMethod = await fetch(url('/streams/http-4'), { method: 'DELETE' });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('GET, POST');
  });

  it('POST stop ends the stream for every follower with reason "stopped" and closes the provider socket', async () => {
    const mock = await newMock({ flavor: 'openai', script: { tokens: 500 }, profile: { ttftMs: 0, tokensPerSecond: 100 } });
    const { hub, url } = await serve();
    await hub.publish('http-5', makeProvider('openai', mock).stream(request));
    const tabs = await Promise.all([openSSE(url('/streams/http-5')), openSSE(url('/streams/http-5'))]);
    await Promise.all(tabs.map((t) => t.waitFor((m) => m.some((x) => x.event === 'token'))));
    const stop = await fetch(url('/streams/http-5/stop'), { method: 'POST' });
    expect(stop.status).toBe(204);
    for (const tab of tabs) {
      expect(await tab.ended).toBe('end');
      const last = tab.messages[tab.messages.length - 1]!;
      expect(last.event).toBe('error');
      const data = JSON.parse(last.data) as { reason: string; partialText: string; name: string };
      expect(data.reason).toBe('stopped');
      expect(data.partialText).toBe(tokenText(tab.messages));
    }
    await mock.waitForClose(0, budget(10_000));
    expect(mock.responses[0]!.closedByClient).toBe(true);
    expect(mock.requests).toHaveLength(1);
    // Stopping a finished channel is idempotent; an unknown one is 404.
    expect((await fetch(url('/streams/http-5'), { method: 'POST' })).status).toBe(204);
    expect((await fetch(url('/streams/nope/stop'), { method: 'POST' })).status).toBe(404);
  });

  it('drops a follower that stops reading, with a reason, and never holds up the others', async () => {
    const drops: DropInfo[] = [];
    const { hub, url } = await serve({ maxBufferedBytes: 64 * 1024, onDrop: (info) => drops.push(info) });
    // 1,000 events of 16 KiB each, one per millisecond: 16 MB, far more than the kernel's socket
    // buffers hold for a reader that never reads.
    const chunk = 'x'.repeat(16 * 1024);
    const count = 1_000;
    const upstream = new Observable<TokenEvent>((subscriber) => {
      subscriber.next({ type: 'start', provider: 't', model: 'm', t: 0 });
      let index = 0;
      const timer = setInterval(() => {
        subscriber.next({ type: 'token', text: chunk, index, t: index });
        if (++index === count) {
          clearInterval(timer);
          subscriber.next({ type: 'done', stopReason: 'end', t: index });
          subscriber.complete();
        }
      }, 1);
      return () => clearInterval(timer);
    });
    await hub.publish('http-6', upstream);
    // The stalled follower: a raw socket that sends the request and never reads a byte.
    const stalled = net.connect({ port: Number(new URL(url('/')).port), host: '127.0.0.1' });
    stalled.pause();
    stalled.write('GET /streams/http-6 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    const stalledClosed = new Promise<void>((resolve) => stalled.on('close', () => resolve()));
    stalled.on('error', () => {});
    const healthy = await openSSE(url('/streams/http-6'));
    expect(await healthy.ended).toBe('end');
    expect(healthy.messages.filter((m) => m.event === 'token')).toHaveLength(count);
    expect(healthy.messages[healthy.messages.length - 1]!.event).toBe('done');
    expect(drops).toHaveLength(1);
    expect(drops[0]).toMatchObject({ channel: 'http-6', reason: 'slow-consumer' });
    expect(drops[0]!.bufferedBytes).toBeGreaterThan(64 * 1024);
    stalled.resume();
    await stalledClosed;
  });

  it('legacy answer_streaming messages follow each token without an id, with the growing partial response', async () => {
    const { hub, url } = await serve();
    const upstream = new Subject<TokenEvent>();
    await hub.publish('http-7', upstream, { legacy: { agentId: 'agent-7', conversationId: 42 } });
    upstream.next({ type: 'start', provider: 't', model: 'm', t: 0 });
    ['Hel', 'lo', ' wor', 'ld'].forEach((text, index) => upstream.next({ type: 'token', text, index, t: index }));
    upstream.next({ type: 'done', stopReason: 'end', t: 9 });
    const connection = await openSSE(url('/streams/http-7'));
    await connection.ended;
    const legacy = connection.messages.filter((m) => m.event === 'answer_streaming');
    expect(legacy.map((m) => JSON.parse(m.data))).toEqual([
      { token: 'Hel', partial_response: 'Hel', agent_id: 'agent-7', conversation_id: 42 },
      { token: 'lo', partial_response: 'Hello', agent_id: 'agent-7', conversation_id: 42 },
      { token: ' wor', partial_response: 'Hello wor', agent_id: 'agent-7', conversation_id: 42 },
      { token: 'ld', partial_response: 'Hello world', agent_id: 'agent-7', conversation_id: 42 },
    ]);
    // A legacy message has no id of its own, so a reconnect's Last-Event-ID is still its token's.
    const order = connection.messages.map((m) => `${m.event}:${m.id}`);
    expect(order).toEqual([
      'start:0', 'token:1', 'answer_streaming:undefined', 'token:2', 'answer_streaming:undefined',
      'token:3', 'answer_streaming:undefined', 'token:4', 'answer_streaming:undefined', 'done:5',
    ]);
    expect(connection.text.match(/^id: /gm)).toHaveLength(6);
  });
});

describe('hub.handler() edge cases', () => {
  it('a client that leaves while authorize() is still deciding never becomes a follower, so the grace period still runs', async () => {
    let decided!: () => void;
    const deciding = new Promise<void>((resolve) => (decided = resolve));
    let released!: () => void;
    const release = new Promise<void>((resolve) => (released = resolve));
    const { hub, url } = await serve({
      graceMs: 100,
      authorize: async () => {
        decided();
        await release;
        return true;
      },
    });
    let cancelled = false;
    await hub.publish('edge-1', new Observable<TokenEvent>(() => () => (cancelled = true)));
    const controller = new AbortController();
    const request = fetch(url('/streams/edge-1'), { signal: controller.signal }).catch(() => undefined);
    await deciding;
    controller.abort();
    await request;
    // Let the server see the socket close before authorize() answers.
    await new Promise((resolve) => setTimeout(resolve, 50));
    released();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(hub.followerCount('edge-1')).toBe(0);
    await expect.poll(() => cancelled, { timeout: budget(5_000) }).toBe(true);
    // The "abandoned" entry is appended after the upstream is cancelled: wait for it, do not race it.
    await expect.poll(async () => (await hub.info('edge-1'))?.finished, { timeout: budget(5_000) }).toBe(true);
  });

  it('sends heartbeats only to idle connections: none while tokens flow, then one per interval', async () => {
    const { hub, url } = await serve({ heartbeatMs: 40 });
    const upstream = new Subject<TokenEvent>();
    await hub.publish('edge-2', upstream);
    const connection = await openSSE(url('/streams/edge-2'));
    upstream.next({ type: 'start', provider: 't', model: 'm', t: 0 });
    for (let index = 0; index < 60; index++) {
      upstream.next({ type: 'token', text: `w${index} `, index, t: index });
      await new Promise((resolve) => setTimeout(resolve, 3));
    }
    await connection.waitFor((m) => m.length === 61);
    // Quiet now: heartbeats resume.
    await new Promise((resolve) => setTimeout(resolve, 200));
    upstream.next({ type: 'done', stopReason: 'end', t: 99 });
    await connection.ended;
    const kinds = connection.items.map((item) => (item.kind === 'message' ? item.message.event : item.kind));
    const firstToken = kinds.indexOf('token');
    const lastToken = kinds.lastIndexOf('token');
    expect(kinds.slice(firstToken, lastToken + 1)).not.toContain('comment');
    expect(kinds.slice(lastToken).filter((k) => k === 'comment').length).toBeGreaterThanOrEqual(1);
  });
});

describe('hub.fetch() for Web-standard servers', () => {
  it('answers a Request with the SSE Response, 404, and 204 for a stop', async () => {
    const hub = new StreamHub();
    cleanups.push(() => hub.close());
    const upstream = new Subject<TokenEvent>();
    await hub.publish('web-1', upstream);
    // Resume after event 0 once it is stored: a Last-Event-ID the channel has not recorded yet is 400.
    const stored = firstValueFrom(hub.subscribe('web-1'));
    upstream.next({ type: 'start', provider: 't', model: 'm', t: 0 });
    expect((await stored).id).toBe(0);
    const response = await hub.fetch(new Request('http://127.0.0.1/streams/web-1', { headers: { 'last-event-id': '0' } }));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    upstream.next({ type: 'token', text: 'Hi', index: 0, t: 1 });
    upstream.next({ type: 'done', stopReason: 'end', t: 2 });
    const parsed = await parseSSE(response.body!);
    expect(parsed.messages.map((m) => m.id)).toEqual(['1', '2']);
    expect((await hub.fetch(new Request('http://127.0.0.1/streams/missing'))).status).toBe(404);
    const other = new Subject<TokenEvent>();
    let unsubscribed = false;
    await hub.publish('web-2', new Observable<TokenEvent>((s) => {
      const inner = other.subscribe(s);
      return () => {
        unsubscribed = true;
        inner.unsubscribe();
      };
    }));
    const stop = await hub.fetch(new Request('http://127.0.0.1/streams/web-2/stop', { method: 'POST' }));
    expect(stop.status).toBe(204);
    expect(unsubscribed).toBe(true);
  });

  it('a Web follower that cancels its body leaves the channel; the upstream goes on', async () => {
    const hub = new StreamHub({ graceMs: 60_000 });
    cleanups.push(() => hub.close());
    const upstream = new Subject<TokenEvent>();
    await hub.publish('web-3', upstream);
    const response = await hub.fetch(new Request('http://127.0.0.1/streams/web-3'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(hub.followerCount('web-3')).toBe(1);
    await response.body!.cancel();
    expect(hub.followerCount('web-3')).toBe(0);
    expect((await hub.info('web-3'))?.finished).toBe(false);
    expect(upstream.observed).toBe(true);
  });

  it('drops a Web follower whose body nobody reads, past maxBufferedBytes, while another reads everything', async () => {
    const drops: DropInfo[] = [];
    const hub = new StreamHub({ maxBufferedBytes: 32 * 1024, onDrop: (info) => drops.push(info) });
    cleanups.push(() => hub.close());
    const upstream = new Subject<TokenEvent>();
    await hub.publish('web-4', upstream);
    const stalled = await hub.fetch(new Request('http://127.0.0.1/streams/web-4'));
    const reader = await hub.fetch(new Request('http://127.0.0.1/streams/web-4'));
    const parsed = parseSSE(reader.body!);
    upstream.next({ type: 'start', provider: 't', model: 'm', t: 0 });
    for (let index = 0; index < 20; index++) {
      upstream.next({ type: 'token', text: 'y'.repeat(4096), index, t: index });
      await new Promise((resolve) => setImmediate(resolve));
    }
    upstream.next({ type: 'done', stopReason: 'end', t: 99 });
    const { messages } = await parsed;
    expect(messages.filter((m) => m.event === 'token')).toHaveLength(20);
    expect(drops).toEqual([expect.objectContaining({ channel: 'web-4', reason: 'slow-consumer' })]);
    expect(drops[0]!.bufferedBytes).toBeGreaterThan(32 * 1024);
    await expect(stalled.body!.getReader().read()).rejects.toThrow(/dropped/);
  });
});
