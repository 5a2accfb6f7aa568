/**
 * `fromSSE()` bounds what a server can make it hold and spreads its reconnections:
 * - `maxEventSize`: one endless line (or one huge event) errors the stream with a `ProtocolError`
 *   naming the bound and the option, and the connection is closed, instead of buffering without end;
 * - reconnect backoff has jitter, so clients cut off together do not come back together, while a
 *   server's `retry:` and `Retry-After` are still honoured.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { fromSSE, type FromSSEOptions } from '../../src/client/index.js';
import { ConnectionError, InvalidArgumentError, ProtocolError } from '../../src/errors.js';
import { run } from '../helpers/run.js';
import { answer, beginStream, frame, frames, startSSEServer, type SSEHandler, type SSEServer } from '../helpers/sse-server.js';
import { TestEventSource } from './event-source.js';

const KIB = 1024;
const BOUND = 256 * KIB;
const EVENTS = answer(['a', 'b']);
const EventSourceClass = TestEventSource as unknown as typeof EventSource;

const servers: SSEServer[] = [];
afterEach(async () => {
  vi.useRealTimers();
  vi.restoreAllMocks();
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function serve(handler: SSEHandler): Promise<SSEServer> {
  const server = await startSSEServer(handler);
  servers.push(server);
  return server;
}

/**
 * Sends the start of a token message, then one line of `x` that never ends: 64 KiB at a time,
 * waiting for the socket to drain, until the client goes away or 64 MiB are out (then it ends the
 * response, still without a line break). Records how many bytes of the line left.
 */
function endlessLine(sent: { bytes: number }): SSEHandler {
  const chunk = 'x'.repeat(64 * KIB);
  return (_request, res) => {
    beginStream(res);
    res.write(`${frame(0, EVENTS[0]!)}event: token\ndata: {"type":"token","text":"`);
    let closed = false;
    res.on('close', () => (closed = true));
    const pump = (): void => {
      while (!closed) {
        if (sent.bytes >= 64 * 1024 * KIB) {
          res.end();
          return;
        }
        sent.bytes += chunk.length;
        if (!res.write(chunk)) {
          res.once('drain', pump);
          return;
        }
      }
    };
    pump();
  };
}

describe('fromSSE: maxEventSize', () => {
  it('fetch mode: one endless line errors with ProtocolError once past the bound, and the connection is closed', async () => {
    const sent = { bytes: 0 };
    const server = await serve(endlessLine(sent));
    const outcome = await run(fromSSE(server.url(), { mode: 'fetch', reconnect: false, maxEventSize: BOUND }));
    const error = outcome.error as ProtocolError;
    expect(ProtocolError.isInstance(error)).toBe(true);
    expect(error.message).toContain(String(BOUND));
    expect(error.message).toContain('options.maxEventSize');
    // The line itself is not kept on the error.
    expect(error.line).toBeUndefined();
    expect(outcome.events).toEqual([EVENTS[0]]);
    // The client closed the connection: the server stopped long before its 64 MiB.
    await expect(server.requests[0]!.closed).resolves.toEqual({ endedByServer: false });
    expect(sent.bytes).toBeLessThan(32 * 1024 * KIB);
    expect(server.requests).toHaveLength(1);
  });

  it('fetch mode: the default bound (4 MiB) stops an endless line too, and it is not retried', async () => {
    const sent = { bytes: 0 };
    const server = await serve(endlessLine(sent));
    const outcome = await run(fromSSE(server.url(), { mode: 'fetch', reconnect: { maxRetries: 3, delayMs: 1 } }));
    expect(ProtocolError.isInstance(outcome.error)).toBe(true);
    expect((outcome.error as Error).message).toContain(String(4 * 1024 * KIB));
    await expect(server.requests[0]!.closed).resolves.toEqual({ endedByServer: false });
    expect(server.requests).toHaveLength(1);
  });

  it('fetch mode: a whole event larger than the bound is refused, one within it passes', async () => {
    const big = { type: 'token' as const, text: 'y'.repeat(BOUND + 1), index: 0, t: 1 };
    const fits = { type: 'token' as const, text: 'y'.repeat(BOUND - 100), index: 0, t: 1 };
    const server = await serve((request, res) => {
      beginStream(res);
      res.write(frame(0, EVENTS[0]!) + frame(1, request.index === 0 ? big : fits));
    });
    const refused = await run(fromSSE(server.url(), { mode: 'fetch', reconnect: false, maxEventSize: BOUND }));
    expect(ProtocolError.isInstance(refused.error)).toBe(true);
    await expect(server.requests[0]!.closed).resolves.toEqual({ endedByServer: false });

    const stream$ = fromSSE(server.url(), { mode: 'fetch', reconnect: false, maxEventSize: BOUND });
    const received = await new Promise<string>((resolve, reject) => {
      const subscription = stream$.subscribe({
        next: (event) => {
          if (event.type !== 'token') return;
          queueMicrotask(() => subscription.unsubscribe());
          resolve(event.text);
        },
        error: reject,
      });
    });
    expect(received).toBe(fits.text);
  });

  it('eventsource mode: an event past the bound errors with ProtocolError and closes the EventSource', async () => {
    const big = { type: 'token' as const, text: 'z'.repeat(BOUND + 1), index: 0, t: 1 };
    const server = await serve((_request, res) => {
      beginStream(res);
      res.write(frame(0, EVENTS[0]!) + frame(1, big)); // and stays open
    });
    const outcome = await run(fromSSE(server.url(), { EventSource: EventSourceClass, reconnect: false, maxEventSize: BOUND }));
    expect(ProtocolError.isInstance(outcome.error)).toBe(true);
    expect((outcome.error as Error).message).toContain('options.maxEventSize');
    expect(outcome.events).toEqual([EVENTS[0]]);
    await expect(server.requests[0]!.closed).resolves.toEqual({ endedByServer: false });
  });

  it.each([0, -1, 1.5, '1024', Number.POSITIVE_INFINITY])('rejects maxEventSize %s, naming the option', async (value) => {
    const outcome = await run(fromSSE('http://127.0.0.1:9/events', { mode: 'fetch', maxEventSize: value as number }));
    expect(InvalidArgumentError.isInstance(outcome.error)).toBe(true);
    expect((outcome.error as InvalidArgumentError).field).toBe('options.maxEventSize');
  });
});

describe('fromSSE: reconnect backoff with jitter', () => {
  /** A fetch that always fails to connect, recording the (fake) time of each attempt. */
  function failingFetch(times: number[]): typeof fetch {
    return (async () => {
      times.push(Date.now());
      throw new TypeError('fetch failed');
    }) as typeof fetch;
  }

  /** A deterministic stand-in for Math.random: spread over [0, 1). */
  function spreadRandom(): void {
    let i = 0;
    vi.spyOn(Math, 'random').mockImplementation(() => ((i++ * 0.6180339887) % 1));
  }

  it('clients failing together wait different times, each within [delay/2, delay] of its doubling delay', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    spreadRandom();
    const reconnect = { maxRetries: 4, delayMs: 1_000, maxDelayMs: 5_000 };
    const clients = Array.from({ length: 6 }, () => ({ times: [] as number[] }));
    const outcomes = clients.map((client) => run(fromSSE('http://127.0.0.1:9/events', { fetch: failingFetch(client.times), reconnect })));
    await vi.advanceTimersByTimeAsync(60_000);
    for (const outcome of await Promise.all(outcomes)) expect(ConnectionError.isInstance(outcome.error)).toBe(true);

    const expected = [1_000, 2_000, 4_000, 5_000];
    const gaps = clients.map(({ times }) => times.slice(1).map((t, i) => t - times[i]!));
    for (const clientGaps of gaps) {
      expect(clientGaps).toHaveLength(expected.length);
      clientGaps.forEach((gap, i) => {
        expect(gap).toBeGreaterThanOrEqual(expected[i]! / 2);
        expect(gap).toBeLessThanOrEqual(expected[i]!);
      });
    }
    // Not in lockstep: the clients' waits differ at every step.
    for (let step = 0; step < expected.length; step++) {
      expect(new Set(gaps.map((g) => g[step])).size).toBeGreaterThan(1);
    }
  });

  it("uses the server's retry: as the delay it spreads (waits within [retry/2, retry])", async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    spreadRandom();
    const times: number[] = [];
    const fetchWithRetry = (async () => {
      times.push(Date.now());
      // Connects, says `retry: 4000`, then ends without done: a lost connection.
      return new Response(`retry: 4000\n\n${frames(EVENTS, 0, 0)}`, { headers: { 'content-type': 'text/event-stream' } });
    }) as typeof fetch;
    const outcome = run(fromSSE('http://127.0.0.1:9/events', { fetch: fetchWithRetry, reconnect: { maxRetries: 1, delayMs: 10, maxDelayMs: 10 } }));
    await vi.advanceTimersByTimeAsync(20_000);
    expect(ConnectionError.isInstance((await outcome).error)).toBe(true);
    expect(times).toHaveLength(2);
    const gap = times[1]! - times[0]!;
    expect(gap).toBeGreaterThanOrEqual(2_000);
    expect(gap).toBeLessThanOrEqual(4_000);
  });

  it('waits at least a Retry-After (up to maxDelayMs), whatever the jitter draws', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    vi.spyOn(Math, 'random').mockReturnValue(0);
    const times: number[] = [];
    const busy = (async () => {
      times.push(Date.now());
      return new Response('', { status: 503, headers: { 'retry-after': '3' } });
    }) as typeof fetch;
    const options: FromSSEOptions = { fetch: busy, reconnect: { maxRetries: 1, delayMs: 100, maxDelayMs: 10_000 } };
    const outcome = run(fromSSE('http://127.0.0.1:9/events', options));
    await vi.advanceTimersByTimeAsync(20_000);
    expect((await outcome).error).toBeDefined();
    expect(times).toHaveLength(2);
    expect(times[1]! - times[0]!).toBe(3_000);
  });
});
