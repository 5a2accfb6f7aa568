/**
 * SSE soak (issue 5): clients of a `StreamHub` over real HTTP that lose their connection at random
 * points and resume, and a follower that stops reading while the others go on.
 *
 * - Raw clients (fetch + eventsource-parser, test/helpers/sse-reader.ts) cut their own connection
 *   after a random number of messages and reconnect with the `Last-Event-ID` of the last message
 *   they received.
 * - `fromSSE` clients (tokenflow/client, fetch mode) have their connection cut by the SERVER (the
 *   socket destroyed at random moments), so fromSSE's own reconnection is what resumes them.
 *
 * Every client must end with ids 0..n-1 exactly once and the whole answer. `npm test` runs about a
 * hundred disconnects; `npm run soak` more than a thousand. Figures go to bench/out/reliability.jsonl.
 *
 * The stalled follower: a raw socket that sends its GET and never reads. The healthy followers'
 * delivery latency (publish in the hub, seen by an in-process `hub.subscribe()`, to arrival at the
 * client) is recorded with and without it; only completeness is asserted, never timing.
 */
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { createParser } from 'eventsource-parser';
import { Observable, lastValueFrom, toArray } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { fromSSE } from '../../src/client/index.js';
import type { TokenEvent } from '../../src/events.js';
import { StreamHub, type DropInfo, type StreamHubOptions } from '../../src/sse/index.js';
import { startMockProvider } from '../../src/testing/index.js';
import { makeProvider } from '../helpers/mock.js';
import { openSSE, tokenText, type ParsedMessage } from '../helpers/sse-reader.js';
import { createRandom } from '../../src/testing/random.js';
import { recordFigure, SOAK, soakScale, soakTimeout } from './soak.js';

const SUITE = 'sse-soak';
const SEED = Number(process.env.TOKENFLOW_SOAK_SEED ?? 20_245);

interface Served {
  hub: StreamHub;
  port: number;
  url(path: string): string;
  /** Open follower responses by path prefix (`/f/` for fromSSE clients), for server-side cuts. */
  open: Map<http.ServerResponse, string>;
  /** GET requests the server received, by path prefix. */
  gets: Map<string, number>;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function serve(options: StreamHubOptions = {}): Promise<Served> {
  const hub = new StreamHub({ heartbeatMs: 0, retryMs: 5, ...options });
  const handle = hub.handler();
  const open = new Map<http.ServerResponse, string>();
  const gets = new Map<string, number>();
  const sockets = new Set<Socket>();
  const server = http.createServer((req, res) => {
    const prefix = (req.url ?? '/').split('/')[1] ?? '';
    if (req.method === 'GET') {
      gets.set(prefix, (gets.get(prefix) ?? 0) + 1);
      open.set(res, prefix);
      res.on('close', () => open.delete(res));
    }
    void handle(req, res);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  cleanups.push(async () => {
    await hub.close();
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return { hub, port, url: (path) => `http://127.0.0.1:${port}${path}`, open, gets };
}

/** Everything an in-process follower saw, with the time each event left the hub. */
function observe(hub: StreamHub, channel: string): { events: TokenEvent[]; publishedAt: number[]; done: Promise<void> } {
  const events: TokenEvent[] = [];
  const publishedAt: number[] = [];
  const done = new Promise<void>((resolve, reject) => {
    hub.subscribe(channel).subscribe({
      next: ({ id, event }) => {
        publishedAt[id] = performance.now();
        events[id] = event;
      },
      error: reject,
      complete: () => resolve(),
    });
  });
  return { events, publishedAt, done };
}

/** The percentile (0..100) of `values`, nearest rank. */
function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

const round = (ms: number): number => Math.round(ms * 100) / 100;

/** A raw client's whole history: every message of every connection, and how many it opened. */
interface RawResult {
  messages: ParsedMessage[];
  connections: number;
  cuts: number;
}

/**
 * Follows `url`, cutting its own connection at each of `cutPoints` (a count of messages received in
 * all; the cut comes at the first read that reaches it), each time reconnecting with
 * `Last-Event-ID` set to the id of the last message it received.
 */
async function rawClient(url: string, cutPoints: readonly number[]): Promise<RawResult> {
  const all: ParsedMessage[] = [];
  const points = [...cutPoints].sort((a, b) => a - b);
  let connections = 0;
  let cuts = 0;
  for (;;) {
    const last = all[all.length - 1];
    const headers: Record<string, string> = last?.id === undefined ? {} : { 'last-event-id': last.id };
    const connection = await openSSE(url, { headers });
    connections++;
    expect(connection.status).toBe(200);
    while (points.length > 0 && points[0]! <= all.length) points.shift();
    const cutAt = points.length > 0 ? points[0]! - all.length : Infinity;
    const terminal = (messages: readonly ParsedMessage[]) => messages.some((m) => m.event === 'done' || m.event === 'error');
    try {
      await connection.waitFor((messages) => messages.length >= cutAt || terminal(messages), 60_000);
    } catch {
      // The body ended first: the checks below report what arrived.
    }
    const ended = terminal(connection.messages);
    if (ended) {
      await connection.ended;
    } else {
      await connection.close();
      cuts++;
    }
    // Everything parsed before the cut counts: the reader pushes messages as they arrive.
    all.push(...connection.messages);
    if (ended) return { messages: all, connections, cuts };
    if (connections > cutPoints.length + 5) throw new Error(`a raw client needed ${connections} connections for ${cutPoints.length} cuts`);
  }
}

/** `count` distinct random cut points in 1..max. */
function cutPointsFor(count: number, max: number, random: () => number): number[] {
  const points = new Set<number>();
  while (points.size < Math.min(count, max)) points.add(1 + Math.floor(random() * max));
  return [...points];
}

function expectDense(ids: ReadonlyArray<string | undefined>, n: number, who: string): void {
  const expected = Array.from({ length: n }, (_, i) => String(i));
  const first = ids.findIndex((id, i) => id !== expected[i]);
  if (ids.length !== n || first !== -1) {
    const at = first === -1 ? Math.min(ids.length, n) : first;
    throw new Error(
      `${who}: ids are not 0..${n - 1} exactly once (${ids.length} ids); from position ${at}: ${JSON.stringify(ids.slice(at, at + 8))}`,
    );
  }
}

const request = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'Tell me a long story.' }] };

/** A deterministic answer of `n` word deltas, multi-byte characters included. */
function words(n: number): string {
  const vocabulary = [' river', ' token', ' stream', ' 東京', ' model', ' 🙂', ' value', ' socket', ' café'];
  return Array.from({ length: n }, (_, i) => (i === 0 ? 'Once' : vocabulary[(i * 7) % vocabulary.length]!)).join('');
}

describe('SSE soak: disconnects at random points, resumed by Last-Event-ID', () => {
  it(
    'every raw and fromSSE client ends with the whole answer, ids dense, nothing twice; one upstream request',
    async () => {
      const random = createRandom(SEED);
      const rawClients = soakScale(16, 100);
      const rawCuts = soakScale(6, 10);
      const fromSSEClients = soakScale(8, 40);
      const serverCuts = soakScale(30, 300);
      const tokenCount = soakScale(300, 1_500);
      // A few seconds of answer: the cuts land while it streams, and some reconnects replay a
      // finished channel.
      const tokensPerSecond = soakScale(120, 300);

      const answer = words(tokenCount);
      const mock = await startMockProvider({ flavor: 'openai', script: { text: answer }, profile: { ttftMs: 20, tokensPerSecond } });
      cleanups.push(() => mock.close());
      const served = await serve({ graceMs: Infinity });
      const channel = `soak-${SEED}`;
      await served.hub.publish(channel, makeProvider('openai', mock).stream(request));
      const reference = observe(served.hub, channel);

      // The server cuts fromSSE connections at random moments until its budget is spent.
      let cutsMade = 0;
      const cutter = setInterval(() => {
        if (cutsMade >= serverCuts) return;
        const victims = [...served.open].filter(([, prefix]) => prefix === 'f').map(([res]) => res);
        const victim = victims[Math.floor(random() * victims.length)];
        if (victim && random() < 0.7) {
          cutsMade++;
          victim.socket?.destroy();
        }
      }, soakScale(25, 10));
      cleanups.push(async () => clearInterval(cutter));

      const started = performance.now();
      // Cut points among the answer's events (start, tokens, usage, done): before done, so each counts.
      const raw = Array.from({ length: rawClients }, () =>
        rawClient(served.url(`/r/streams/${channel}`), cutPointsFor(rawCuts, tokenCount, random)),
      );
      const viaClient = Array.from({ length: fromSSEClients }, () =>
        lastValueFrom(
          fromSSE(served.url(`/f/streams/${channel}`), { mode: 'fetch', reconnect: { maxRetries: 50, delayMs: 5, maxDelayMs: 50 } }).pipe(toArray()),
        ),
      );
      const [rawResults, clientResults] = await Promise.all([Promise.all(raw), Promise.all(viaClient)]);
      // Keep cutting until every fromSSE client finished: cuts after the last one are not counted.
      clearInterval(cutter);
      const elapsedMs = performance.now() - started;
      await reference.done;

      const n = reference.events.length;
      expect(reference.events[n - 1]!.type).toBe('done');
      expect(reference.events.filter((e) => e.type === 'token').map((e) => (e as { text: string }).text).join('')).toBe(answer);

      rawResults.forEach((result, i) => {
        expectDense(result.messages.map((m) => m.id), n, `raw client ${i}`);
        expect(tokenText(result.messages), `raw client ${i}`).toBe(answer);
        expect(result.messages.map((m) => JSON.parse(m.data) as TokenEvent)).toEqual(reference.events);
      });
      clientResults.forEach((events, i) => {
        // fromSSE drops replays by id itself; its output must still be exactly the published events.
        expect(events, `fromSSE client ${i}`).toEqual(reference.events);
      });

      const rawDisconnects = rawResults.reduce((sum, r) => sum + r.cuts, 0);
      const rawReconnects = rawResults.reduce((sum, r) => sum + r.connections - 1, 0);
      const clientConnections = served.gets.get('f') ?? 0;
      const clientReconnects = clientConnections - fromSSEClients;
      // Every server cut of a live connection made its client come back.
      expect(clientReconnects).toBeGreaterThanOrEqual(cutsMade > 0 ? 1 : 0);
      expect(rawDisconnects + cutsMade).toBeGreaterThanOrEqual(soakScale(100, 1_000));
      // One upstream request, however many followed and came back.
      expect(mock.requests).toHaveLength(1);

      const figures = {
        events: n,
        rawClients,
        rawDisconnects,
        rawReconnects,
        fromSSEClients,
        serverCuts: cutsMade,
        fromSSEReconnects: clientReconnects,
        totalDisconnects: rawDisconnects + cutsMade,
        elapsedMs: Math.round(elapsedMs),
        seed: SEED,
      };
      recordFigure(SUITE, 'disconnects', figures);
      if (SOAK) console.log(`[${SUITE}] disconnects`, figures);
    },
    soakTimeout(20_000),
  );
});

/** A healthy follower that records when each message arrived. */
async function timedFollower(url: string): Promise<{ ids: string[]; arrivedAt: number[]; lastEvent: string | undefined; bytes: number }> {
  const response = await fetch(url);
  expect(response.status).toBe(200);
  const ids: string[] = [];
  const arrivedAt: number[] = [];
  let lastEvent: string | undefined;
  let bytes = 0;
  const parser = createParser({
    onEvent: (message) => {
      const now = performance.now();
      if (message.id !== undefined) {
        ids.push(message.id);
        arrivedAt[Number(message.id)] = now;
      }
      lastEvent = message.event;
    },
  });
  const decoder = new TextDecoder();
  const reader = response.body!.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    bytes += value.byteLength;
    parser.feed(decoder.decode(value, { stream: true }));
  }
  return { ids, arrivedAt, lastEvent, bytes };
}

/** `count` tokens of `size` bytes, one every `everyMs`: several MB, more than socket buffers hold. */
function pacedAnswer(count: number, size: number, everyMs: number): Observable<TokenEvent> {
  return new Observable<TokenEvent>((subscriber) => {
    const t0 = performance.now();
    subscriber.next({ type: 'start', provider: 'paced', model: 'm', t: 0 });
    let index = 0;
    const timer = setInterval(() => {
      const letter = String.fromCharCode(97 + (index % 26));
      subscriber.next({ type: 'token', text: letter.repeat(size), index, t: performance.now() - t0 });
      if (++index === count) {
        clearInterval(timer);
        subscriber.next({ type: 'done', stopReason: 'end', t: performance.now() - t0 });
        subscriber.complete();
      }
    }, everyMs);
    return () => clearInterval(timer);
  });
}

describe('SSE soak: a stalled follower never delays the others', () => {
  it(
    'healthy followers get everything, with and without a follower that never reads; the stalled one is dropped',
    async () => {
      const healthyCount = soakScale(6, 24);
      const tokens = soakScale(500, 1_500);
      const size = 16 * 1024;
      // Healthy readers share this process with the hub: the kernel's socket buffers (megabytes on
      // loopback) absorb their scheduling hiccups, and 256 KiB of backlog on top is far more than a
      // reader that keeps reading ever builds. The stalled one needs 8 MB: it is always dropped.
      const maxBufferedBytes = 256 * 1024;
      const drops: DropInfo[] = [];
      const served = await serve({ maxBufferedBytes, onDrop: (info) => drops.push(info), graceMs: Infinity });

      const run = async (channel: string, stalled: boolean) => {
        await served.hub.publish(channel, pacedAnswer(tokens, size, 4));
        const reference = observe(served.hub, channel);
        let stalledSocket: net.Socket | undefined;
        let stalledClosed: Promise<void> | undefined;
        if (stalled) {
          stalledSocket = net.connect({ port: served.port, host: '127.0.0.1' });
          stalledSocket.on('error', () => {});
          stalledClosed = new Promise<void>((resolve) => stalledSocket!.on('close', () => resolve()));
          stalledSocket.pause();
          stalledSocket.write(`GET /s/streams/${channel} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
        }
        const healthy = await Promise.all(Array.from({ length: healthyCount }, () => timedFollower(served.url(`/h/streams/${channel}`))));
        await reference.done;
        const n = reference.events.length;
        const latencies: number[] = [];
        healthy.forEach((follower, i) => {
          expectDense(follower.ids, n, `healthy follower ${i}${stalled ? ' (with a stalled one)' : ''}`);
          expect(follower.lastEvent).toBe('done');
          for (let id = 0; id < n; id++) latencies.push(follower.arrivedAt[id]! - reference.publishedAt[id]!);
        });
        if (stalledSocket) {
          stalledSocket.resume();
          await stalledClosed;
        }
        return { p50: round(percentile(latencies, 50)), p99: round(percentile(latencies, 99)), max: round(percentile(latencies, 100)), samples: latencies.length };
      };

      const without = await run('stall-without', false);
      expect(drops).toEqual([]);
      const withStalled = await run('stall-with', true);
      // The answer (about tokens x 16 KiB) is far beyond maxBufferedBytes plus the kernel's buffers.
      expect(drops).toHaveLength(1);
      expect(drops[0]).toMatchObject({ channel: 'stall-with', reason: 'slow-consumer' });
      expect(drops[0]!.bufferedBytes).toBeGreaterThan(maxBufferedBytes);

      const figures = {
        healthyFollowers: healthyCount,
        tokens,
        tokenBytes: size,
        answerBytes: tokens * size,
        maxBufferedBytes,
        latencyMsWithout: without,
        latencyMsWithStalled: withStalled,
        droppedAtEventId: drops[0]!.lastEventId,
      };
      recordFigure(SUITE, 'stalled-follower', figures);
      if (SOAK) console.log(`[${SUITE}] stalled follower`, JSON.stringify(figures));
    },
    soakTimeout(20_000),
  );
});
