/**
 * The server the Angular example talks to in the Chromium test: the built page, and the API its
 * component uses (the same routes as examples/web's server):
 *
 *   POST /api/ask { prompt }          → { channel }: the mock provider's answer, published on a StreamHub
 *   GET  /api/streams/:channel        → the answer as SSE
 *   POST /api/streams/:channel/stop   → stops it for every follower
 *
 * It records what a test checks from the server's side: each question with its channel, and each
 * SSE connection with the moment it closes. {@link holdingLog} holds one channel's events back
 * while others flow, so a test can look at the page "before the first token" of an answer.
 * Everything listens on 127.0.0.1.
 */
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';
import { openai } from '../../src/providers/openai.js';
import { InMemoryChannelLog, type ChannelLog, type ChannelLogEntry } from '../../src/sse/channel-log.js';
import { StreamHub, type StreamHubOptions } from '../../src/sse/hub.js';
import { startMockProvider, type MockProvider, type MockProviderOptions } from '../../src/testing/index.js';
import { listenLocal } from './http.js';

/** One question the page asked. */
export interface Ask {
  prompt: string;
  channel: string;
}

/** One SSE connection the page opened. */
export interface Follow {
  channel: string;
  /** Resolves when the connection closes (the page unsubscribed, or went away). */
  readonly closed: Promise<void>;
  isClosed: boolean;
}

/** A running server. */
export interface AngularServer {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  readonly hub: StreamHub;
  readonly mock: MockProvider;
  /** Every question received, in order, with the channel its answer is (or will be) published on. */
  readonly asks: readonly Ask[];
  readonly follows: readonly Follow[];
  /** Resolves to the `n`-th question (0-based) once the page has asked it (its answer may not be published yet). */
  asked(n: number): Promise<Ask>;
  /** Resolves to the first SSE connection to `channel` once the page has opened it. */
  followed(channel: string): Promise<Follow>;
  close(): Promise<void>;
}

/** A channel log that holds back the events of the channels a test chooses, until it releases them. */
export interface HoldingLog {
  /** Give it to the hub (`hub: { log }`). */
  readonly log: ChannelLog;
  /** From now on, `channel`'s events wait (its channel exists; nothing reaches a follower). */
  hold(channel: string): void;
  /** Lets `channel`'s held events through, in order, and every later one. */
  release(channel: string): void;
  /** Releases every channel: call it before closing the hub, whose close waits for appends. */
  releaseAll(): void;
}

/** An in-memory log whose held channels' appends wait for {@link HoldingLog.release}. */
export function holdingLog(): HoldingLog {
  const inner = new InMemoryChannelLog();
  const held = new Map<string, { released: Promise<void>; release: () => void }>();
  const release = (channel: string): void => {
    held.get(channel)?.release();
    held.delete(channel);
  };
  return {
    log: {
      create: inner.create.bind(inner),
      read: inner.read.bind(inner),
      info: inner.info.bind(inner),
      watch: inner.watch.bind(inner),
      expire: inner.expire.bind(inner),
      close: inner.close.bind(inner),
      async append(channel: string, entries: readonly ChannelLogEntry[]): Promise<void> {
        // Waiters resume in the order they started waiting: the events stay in order.
        await held.get(channel)?.released;
        await inner.append(channel, entries);
      },
    },
    hold(channel) {
      if (held.has(channel)) return;
      let open!: () => void;
      const released = new Promise<void>((resolvePromise) => (open = resolvePromise));
      held.set(channel, { released, release: open });
    },
    release,
    releaseAll() {
      for (const channel of [...held.keys()]) release(channel);
    },
  };
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
};

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

/** Resolves once `check()` is true, re-checking whenever `notify` is called. */
function waiter(): { until<T>(check: () => T | undefined): Promise<T>; notify(): void } {
  const waiting = new Set<() => void>();
  return {
    until<T>(check: () => T | undefined): Promise<T> {
      return new Promise((resolvePromise) => {
        const attempt = (): void => {
          const value = check();
          if (value === undefined) return;
          waiting.delete(attempt);
          resolvePromise(value);
        };
        waiting.add(attempt);
        attempt();
      });
    },
    notify() {
      for (const attempt of [...waiting]) attempt();
    },
  };
}

/**
 * Starts the mock provider (OpenAI's wire format), a StreamHub and the HTTP server for the page in
 * `pageDir`.
 *
 * @param options.answers - the mock's answer to each question (by its exact text)
 * @param options.mock - more mock options (profile, faults)
 * @param options.hub - StreamHub options (a log to hold channels with)
 * @param options.onAsk - called with each question and its channel before the answer is published;
 *   the answer (and the response to the page's POST) waits for the promise it returns
 */
export async function startAngularServer(options: {
  pageDir: string;
  answers: Record<string, string>;
  mock?: Partial<MockProviderOptions>;
  hub?: StreamHubOptions;
  onAsk?: (ask: Ask) => void | Promise<void>;
}): Promise<AngularServer> {
  const mock = await startMockProvider({
    flavor: 'openai',
    script: (request) => {
      const messages = (request.body as { messages?: Array<{ content?: unknown }> }).messages ?? [];
      const prompt = messages.at(-1)?.content;
      return { text: (typeof prompt === 'string' && options.answers[prompt]) || 'No answer for that question.' };
    },
    ...options.mock,
  });
  // No SDK retries: one question is exactly one upstream request.
  const provider = openai({ apiKey: 'mock', baseURL: mock.baseURL, maxRetries: 0 });
  const hub = new StreamHub(options.hub);
  const sse = hub.handler();
  const asks: Ask[] = [];
  const follows: Follow[] = [];
  const changes = waiter();
  const pageRoot = resolve(options.pageDir);

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path === '/api/ask' && req.method === 'POST') {
      const { prompt } = JSON.parse(await readBody(req)) as { prompt?: unknown };
      if (typeof prompt !== 'string' || prompt === '') return sendJson(res, 400, { error: 'prompt must be a non-empty string' });
      const ask = { prompt, channel: randomUUID() };
      asks.push(ask);
      changes.notify();
      await options.onAsk?.(ask);
      await hub.publish(ask.channel, provider.stream({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: prompt }] }));
      return sendJson(res, 200, { channel: ask.channel });
    }
    const stream = /^\/api\/streams\/([^/]+)(\/stop)?$/.exec(path);
    if (stream) {
      const channel = decodeURIComponent(stream[1]!);
      if (!stream[2] && req.method === 'GET') {
        let closedNow!: () => void;
        const follow: Follow = { channel, closed: new Promise<void>((resolvePromise) => (closedNow = resolvePromise)), isClosed: false };
        res.on('close', () => {
          follow.isClosed = true;
          closedNow();
          changes.notify();
        });
        follows.push(follow);
        changes.notify();
      }
      return sse(req, res, channel);
    }
    if (path.startsWith('/api/')) return sendJson(res, 404, { error: `no route for ${req.method} ${path}` });

    // The page: a file of the build, else index.html (a single-page app).
    let file = resolve(pageRoot, `.${decodeURIComponent(path)}`);
    if (file !== pageRoot && !file.startsWith(pageRoot + sep)) return void res.writeHead(403).end();
    if (!(await stat(file).catch(() => undefined))?.isFile()) file = join(pageRoot, 'index.html');
    res.writeHead(200, { 'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-cache' });
    createReadStream(file).pipe(res);
  }

  const server = createServer((req, res) => {
    route(req, res).catch((error: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: String(error) });
      else res.destroy();
    });
  });
  const local = await listenLocal(server);

  return {
    url: local.origin,
    hub,
    mock,
    asks,
    follows,
    asked: (n) => changes.until(() => asks[n]),
    followed: (channel) => changes.until(() => follows.find((follow) => follow.channel === channel)),
    async close() {
      await hub.close();
      await local.close();
      await mock.close();
    },
  };
}
