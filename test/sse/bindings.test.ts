/**
 * The framework bindings on real servers: Express 5, Fastify 5 and Hono 4 (on @hono/node-server),
 * each on 127.0.0.1 with a `:channel` route, a `StreamHub` behind it and the mock provider behind
 * the hub. A `fetch` client parses the answer with eventsource-parser.
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { afterEach, describe, expect, it } from 'vitest';
import type { ChatRequest } from '../../src/events.js';
import type { Provider } from '../../src/provider.js';
import { openai } from '../../src/providers/openai.js';
import { forExpress, forFastify, forHono } from '../../src/sse/bindings.js';
import { StreamHub, type StreamHubOptions } from '../../src/sse/hub.js';
import { startMockProvider, type MockProvider, type MockProviderOptions } from '../../src/testing/index.js';
import { budget } from '../helpers/budget.js';
import { invalidArgument } from '../helpers/mock.js';
import { openSSE, tokenText, type ParsedMessage } from '../helpers/sse-reader.js';

const REQUEST: ChatRequest = { model: 'gpt-test', messages: [{ role: 'user', content: 'hi' }] };
const ANSWER = ['Streams', ' survive', ' every', ' framework', ' we', ' test.'];
const SLOW_WORDS = Array.from({ length: 60 }, (_, i) => ` w${i}`);
const SLOW = { ttftMs: 0, tokensPerSecond: 25 } as const;

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

interface App {
  /** `http://127.0.0.1:<port>` */
  origin: string;
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

const frameworks: Array<[string, (hub: StreamHub) => Promise<App>]> = [
  [
    'Express 5',
    async (hub) => {
      const app = express();
      app.get('/streams/:channel', forExpress(hub));
      app.post('/streams/:channel/stop', forExpress(hub));
      const server = app.listen(0, '127.0.0.1');
      await once(server, 'listening');
      cleanups.push(() => closeServer(server));
      return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
    },
  ],
  [
    'Fastify 5',
    async (hub) => {
      const fastify = Fastify({ forceCloseConnections: true });
      fastify.get('/streams/:channel', forFastify(hub));
      fastify.post('/streams/:channel/stop', forFastify(hub));
      await fastify.listen({ port: 0, host: '127.0.0.1' });
      cleanups.push(() => fastify.close());
      return { origin: `http://127.0.0.1:${(fastify.server.address() as AddressInfo).port}` };
    },
  ],
  [
    'Hono 4',
    async (hub) => {
      const app = new Hono();
      app.get('/streams/:channel', forHono(hub));
      app.post('/streams/:channel/stop', forHono(hub));
      // Hono's default onError logs to the console; the status is what these tests check.
      app.onError((_error, c) => c.text('Internal Server Error', 500));
      let listening!: (info: AddressInfo) => void;
      const ready = new Promise<AddressInfo>((resolve) => (listening = resolve));
      const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, listening) as Server;
      const info = await ready;
      cleanups.push(() => closeServer(server));
      return { origin: `http://127.0.0.1:${info.port}` };
    },
  ],
];

async function mockWith(options: Omit<MockProviderOptions, 'flavor'>): Promise<{ mock: MockProvider; llm: Provider }> {
  const mock = await startMockProvider({ flavor: 'openai', ...options });
  cleanups.push(() => mock.close());
  return { mock, llm: openai({ apiKey: 'test', baseURL: mock.baseURL, maxRetries: 0 }) };
}

function hubWith(options: StreamHubOptions = {}): StreamHub {
  const hub = new StreamHub({ heartbeatMs: 0, ...options });
  cleanups.push(() => hub.close());
  return hub;
}

function dataOf(message: ParsedMessage): any {
  return JSON.parse(message.data);
}

function expectWellFormed(messages: readonly ParsedMessage[], first = 0): void {
  messages.forEach((m, i) => {
    expect(m.id).toBe(String(first + i));
    expect(dataOf(m).type).toBe(m.event);
  });
}

function tokensIn(messages: readonly ParsedMessage[]): number {
  return messages.filter((m) => m.event === 'token').length;
}

describe.each(frameworks)('%s', (_name, start) => {
  it('follows a published channel: SSE headers, retry:, dense ids, the whole answer, then the end', async () => {
    const { mock, llm } = await mockWith({ script: { text: ANSWER } });
    const hub = hubWith();
    const { origin } = await start(hub);
    const channel = randomUUID();
    await hub.publish(channel, llm.stream(REQUEST));

    const conn = await openSSE(`${origin}/streams/${channel}`);
    expect(conn.status).toBe(200);
    expect(conn.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(conn.headers.get('cache-control')).toBe('no-cache, no-transform');
    expect(conn.headers.get('x-accel-buffering')).toBe('no');
    expect(await conn.ended).toBe('end');
    expect(conn.retries).toEqual([1000]);
    expect(conn.items[0]).toEqual({ kind: 'retry', retry: 1000 });
    expectWellFormed(conn.messages);
    expect(conn.messages[0]!.event).toBe('start');
    expect(conn.messages[conn.messages.length - 1]!.event).toBe('done');
    expect(tokenText(conn.messages)).toBe(ANSWER.join(''));
    expect(mock.requests).toHaveLength(1);
  });

  it('resumes after Last-Event-ID (header) and lastEventId (query)', async () => {
    const { llm } = await mockWith({ script: { text: ANSWER } });
    const hub = hubWith();
    const { origin } = await start(hub);
    const channel = randomUUID();
    await hub.publish(channel, llm.stream(REQUEST));
    const full = await openSSE(`${origin}/streams/${channel}`);
    await full.ended;

    const byHeader = await openSSE(`${origin}/streams/${channel}`, { headers: { 'Last-Event-ID': '2' } });
    await byHeader.ended;
    expectWellFormed(byHeader.messages, 3);
    expect(byHeader.messages).toEqual(full.messages.slice(3));

    const byQuery = await openSSE(`${origin}/streams/${channel}?lastEventId=2`);
    await byQuery.ended;
    expect(byQuery.messages).toEqual(full.messages.slice(3));
  });

  it('POST stop on a slow stream: 204, the follower gets error reason stopped, the provider socket is closed', async () => {
    const { mock, llm } = await mockWith({ script: { text: SLOW_WORDS }, profile: SLOW });
    const hub = hubWith();
    const { origin } = await start(hub);
    const channel = randomUUID();
    await hub.publish(channel, llm.stream(REQUEST));
    const follower = await openSSE(`${origin}/streams/${channel}`);
    await follower.waitFor((messages) => tokensIn(messages) >= 2);

    const stop = await fetch(`${origin}/streams/${channel}/stop`, { method: 'POST' });
    expect(stop.status).toBe(204);
    expect(await stop.text()).toBe('');

    expect(await follower.ended).toBe('end');
    const { messages } = follower;
    expectWellFormed(messages);
    const last = messages[messages.length - 1]!;
    expect(last.event).toBe('error');
    const error = dataOf(last);
    expect(error.reason).toBe('stopped');
    expect(error.partialText).toBe(tokenText(messages));
    expect(messages.some((m) => m.event === 'done')).toBe(false);

    const log = await mock.waitForClose(0, budget(10_000));
    expect(log.closedByClient).toBe(true);
    expect(log.tokensWritten).toBeLessThan(SLOW_WORDS.length);
    expect(mock.requests).toHaveLength(1);

    // Stopping a finished channel is still 204; it stays readable with the same ending.
    const again = await fetch(`${origin}/streams/${channel}/stop`, { method: 'POST' });
    expect(again.status).toBe(204);
    const late = await openSSE(`${origin}/streams/${channel}`);
    await late.ended;
    expect(late.messages).toEqual(messages);
  });

  it('two followers share one upstream request', async () => {
    const { mock, llm } = await mockWith({ script: { text: ANSWER }, profile: { ttftMs: 0, tokensPerSecond: 200 } });
    const hub = hubWith();
    const { origin } = await start(hub);
    const channel = randomUUID();
    await hub.publish(channel, llm.stream(REQUEST));
    const [a, b] = await Promise.all([openSSE(`${origin}/streams/${channel}`), openSSE(`${origin}/streams/${channel}`)]);
    await Promise.all([a.ended, b.ended]);
    expect(a.messages).toEqual(b.messages);
    expect(tokenText(a.messages)).toBe(ANSWER.join(''));
    expect(mock.requests).toHaveLength(1);
  });

  it('a follower that goes away leaves (not stops); after the grace period the upstream is cancelled', async () => {
    const { mock, llm } = await mockWith({ script: { text: SLOW_WORDS }, profile: SLOW });
    const hub = hubWith({ graceMs: 300 });
    const { origin } = await start(hub);
    const channel = randomUUID();
    await hub.publish(channel, llm.stream(REQUEST));
    const follower = await openSSE(`${origin}/streams/${channel}`);
    await follower.waitFor((messages) => tokensIn(messages) >= 2);
    expect(hub.followerCount(channel)).toBe(1);
    await follower.close();
    // The binding must pass the disconnect on to the hub.
    await expect.poll(() => hub.followerCount(channel)).toBe(0);

    const log = await mock.waitForClose(0, budget(10_000));
    expect(log.closedByClient).toBe(true);
    expect(log.tokensWritten).toBeLessThan(SLOW_WORDS.length);
    const late = await openSSE(`${origin}/streams/${channel}`);
    await late.ended;
    const last = late.messages[late.messages.length - 1]!;
    expect(last.event).toBe('error');
    expect(dataOf(last).reason).toBe('abandoned');
    expectWellFormed(late.messages);
  });

  it('sends heartbeat comments to a follower while the channel is quiet', async () => {
    const { llm } = await mockWith({ script: { text: ANSWER }, profile: { ttftMs: 500, tokensPerSecond: Number.POSITIVE_INFINITY } });
    const hub = hubWith({ heartbeatMs: 40 });
    const { origin } = await start(hub);
    const channel = randomUUID();
    await hub.publish(channel, llm.stream(REQUEST));
    const follower = await openSSE(`${origin}/streams/${channel}`);
    expect(await follower.ended).toBe('end');
    const firstToken = follower.items.findIndex((item) => item.kind === 'message' && item.message.event === 'token');
    expect(firstToken).toBeGreaterThan(0);
    expect(follower.items.slice(0, firstToken).filter((item) => item.kind === 'comment').length).toBeGreaterThanOrEqual(2);
    expectWellFormed(follower.messages);
    expect(tokenText(follower.messages)).toBe(ANSWER.join(''));
  });

  it('a malformed Last-Event-ID is 400', async () => {
    const { llm } = await mockWith({ script: { text: ANSWER } });
    const hub = hubWith();
    const { origin } = await start(hub);
    const channel = randomUUID();
    await hub.publish(channel, llm.stream(REQUEST));
    const response = await fetch(`${origin}/streams/${channel}`, { headers: { 'Last-Event-ID': 'abc' } });
    expect(response.status).toBe(400);
    await response.body?.cancel();
  });

  it('an authorize hook that throws is a 500, not a hang', async () => {
    const { llm } = await mockWith({ script: { text: ANSWER } });
    const hub = hubWith({
      authorize: () => {
        throw new Error('db down');
      },
    });
    const { origin } = await start(hub);
    const channel = randomUUID();
    await hub.publish(channel, llm.stream(REQUEST));
    const response = await fetch(`${origin}/streams/${channel}`);
    expect(response.status).toBe(500);
    expect(await response.text()).not.toContain('db down');
  });

  it('an unknown channel is 404 for GET and for POST stop', async () => {
    const hub = hubWith();
    const { origin } = await start(hub);
    const get = await fetch(`${origin}/streams/${randomUUID()}`);
    expect(get.status).toBe(404);
    expect(get.headers.get('content-type')).not.toMatch(/event-stream/);
    await get.body?.cancel();
    const post = await fetch(`${origin}/streams/${randomUUID()}/stop`, { method: 'POST' });
    expect(post.status).toBe(404);
    await post.body?.cancel();
  });

  it('authorize: false is 403, { status: 401 } is 401, for follow and stop; nothing is stopped', async () => {
    const { llm } = await mockWith({ script: { text: ANSWER } });
    const seen: Array<[string, string]> = [];
    const hub = hubWith({
      authorize: (_request, info, action) => {
        seen.push([String(info.meta.mode), action]);
        if (info.meta.mode === 'deny') return false;
        if (info.meta.mode === 'login') return { status: 401, message: 'Log in first.' };
        return true;
      },
    });
    const { origin } = await start(hub);
    const denied = randomUUID();
    const login = randomUUID();
    await hub.publish(denied, llm.stream(REQUEST), { meta: { mode: 'deny' } });
    await hub.publish(login, llm.stream(REQUEST), { meta: { mode: 'login' } });

    for (const [channel, status] of [
      [denied, 403],
      [login, 401],
    ] as const) {
      const get = await fetch(`${origin}/streams/${channel}`);
      expect(get.status).toBe(status);
      expect(get.headers.get('content-type')).not.toMatch(/event-stream/);
      await get.body?.cancel();
      const post = await fetch(`${origin}/streams/${channel}/stop`, { method: 'POST' });
      expect(post.status).toBe(status);
      await post.body?.cancel();
    }
    const login401 = await fetch(`${origin}/streams/${login}`);
    expect(JSON.stringify(await login401.json())).toContain('Log in first.');
    expect(seen.slice(0, 4)).toEqual([
      ['deny', 'follow'],
      ['deny', 'stop'],
      ['login', 'follow'],
      ['login', 'stop'],
    ]);
    // The refused stops stopped nothing: the answers ran to their end.
    await expect.poll(async () => (await hub.info(denied))?.finished).toBe(true);
    const events: string[] = [];
    await new Promise<void>((resolve, reject) =>
      hub.subscribe(denied).subscribe({ next: (m) => events.push(m.event.type), complete: resolve, error: reject }),
    );
    expect(events[events.length - 1]).toBe('done');
  });
});

describe('bindings reject a missing hub', () => {
  it.each([
    ['forExpress', forExpress],
    ['forFastify', forFastify],
    ['forHono', forHono],
  ] as const)('%s', (_name, bind) => {
    for (const value of [undefined, null, {}, { handler: 1 }]) {
      expect(invalidArgument(() => bind(value as never)).field).toBe('hub');
    }
  });
});
