/**
 * `hubTelemetry()` (issue 17, item 4): one trace from the provider call through the hub to each
 * follower. The OpenTelemetry SDK records in memory; the answers come from the mock provider over
 * real HTTP through the real OpenAI SDK, the followers are real HTTP requests, and the trace context
 * crosses a real redis-server between two hubs.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { context, SpanKind, SpanStatusCode, trace, type Span, type TextMapPropagator } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { Redis } from 'ioredis';
import { Subject, throwError } from 'rxjs';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import type { TokenEvent } from '../../src/events.js';
import { hubTelemetry, tracedProvider } from '../../src/otel/index.js';
import { openai } from '../../src/providers/openai.js';
import { RedisStreamHub } from '../../src/redis/index.js';
import { StreamHub, type HubTelemetry, type StreamHubOptions } from '../../src/sse/index.js';
import { startMockProvider, type MockProvider, type MockScript } from '../../src/testing/index.js';
import { budget } from '../helpers/budget.js';
import { answerEvents } from '../helpers/hub.js';
import { listenLocal, type LocalServer } from '../helpers/http.js';
import { skipWithoutRedis, startRedis } from '../helpers/redis.js';
import { setupOnce } from '../helpers/setup.js';
import { openSSE } from '../helpers/sse-reader.js';
import { isChildOf, startTelemetry, type Telemetry } from './sdk.js';

const SCRIPT: MockScript = { text: ['Hello', ' there', '.'], usage: { inputTokens: 9, outputTokens: 3 }, model: 'served-model' };
const REQUEST = { model: 'asked-model', messages: [{ role: 'user' as const, content: 'Say hello.' }] };

let telemetry: Telemetry;
let mock: MockProvider | undefined;
const closers: Array<() => Promise<unknown>> = [];
const manager = new AsyncLocalStorageContextManager();

beforeEach(() => {
  telemetry = startTelemetry();
  context.setGlobalContextManager(manager.enable());
});
afterEach(async () => {
  await Promise.all(closers.splice(0).reverse().map((close) => close().catch(() => {})));
  context.disable();
  await telemetry.shutdown();
  await mock?.close();
  mock = undefined;
});

async function provider() {
  mock ??= await startMockProvider({ flavor: 'openai', script: SCRIPT });
  return tracedProvider(openai({ apiKey: 'k', baseURL: mock.baseURL, maxRetries: 0 }), { tracer: telemetry.tracer });
}

async function serve(hub: StreamHub): Promise<LocalServer> {
  const server = await listenLocal(createServer(hub.handler()));
  closers.push(() => server.close());
  return server;
}

function memoryHub(options: StreamHubOptions = {}): StreamHub {
  const hub = new StreamHub({ telemetry: hubTelemetry({ tracer: telemetry.tracer }), ...options });
  closers.push(() => hub.close());
  return hub;
}

/** Publishes inside an active `POST /ask` span, as an instrumented server's request handler would. */
async function publishInAsk(hub: StreamHub, channel: string, stream: Parameters<StreamHub['publish']>[1]): Promise<void> {
  await telemetry.tracer.startActiveSpan('POST /ask', async (span: Span) => {
    await hub.publish(channel, stream);
    span.end();
  });
}

/** A browser's own trace, as the `traceparent` header a traced page sends. */
function browserTrace(): { span: Span; traceparent: string } {
  const span = telemetry.tracer.startSpan('browser page', {}, context.active());
  const { traceId, spanId } = span.spanContext();
  return { span, traceparent: `00-${traceId}-${spanId}-01` };
}

/** The finished spans named `name`, once there are `count` of them (the hub ends them as responses close). */
async function spansNamed(name: string, count: number): Promise<ReadableSpan[]> {
  return vi.waitFor(
    async () => {
      const found = (await telemetry.spans()).filter((s) => s.name === name);
      if (found.length < count) throw new Error(`waiting for ${count} "${name}" spans, have ${found.length}`);
      return found;
    },
    { timeout: budget(10_000), interval: 20 },
  );
}

/** A channel of `publisher` that is mid-answer: one follower on `server` has its first token, the upstream is still open. */
async function followMidAnswer(publisher: StreamHub, server: LocalServer) {
  const channel = randomUUID();
  const upstream = new Subject<TokenEvent>();
  await publisher.publish(channel, upstream);
  const follower = await openSSE(`${server.origin}/streams/${channel}`);
  const [start, token] = answerEvents(['Hi']);
  upstream.next(start!);
  upstream.next(token!);
  await follower.waitFor((messages) => messages.some((m) => m.event === 'token'));
  return { channel, upstream, follower };
}

function linkedTo(span: ReadableSpan): string[] {
  return span.links.map((link) => link.context.spanId);
}

describe('hubTelemetry(): a StreamHub in memory', () => {
  it('publish is a PRODUCER span in the asking request\'s trace, with the answer\'s chat span inside it', async () => {
    const hub = memoryHub();
    const channel = randomUUID();
    await publishInAsk(hub, channel, (await provider()).stream(REQUEST));
    const server = await serve(hub);
    const follower = await openSSE(`${server.origin}/streams/${channel}`);
    expect(await follower.ended).toBe('end');

    const [publish] = await spansNamed('publish', 1);
    const ask = await telemetry.span('POST /ask');
    const chat = await telemetry.span('chat asked-model');
    expect(publish!.kind).toBe(SpanKind.PRODUCER);
    expect(isChildOf(publish!, ask)).toBe(true);
    expect(isChildOf(chat, publish!)).toBe(true);
    expect(publish!.status.code).toBe(SpanStatusCode.UNSET);
    expect(publish!.attributes).toEqual({
      'messaging.system': 'tokenflow',
      'messaging.operation.name': 'publish',
      'messaging.operation.type': 'send',
      'messaging.destination.name': channel,
      'tokenflow.hub.events': follower.messages.length,
      'tokenflow.hub.outcome': 'done',
    });
  });

  it('a follower with a traceparent gets a CONSUMER span in its own trace, linked to publish', async () => {
    const hub = memoryHub();
    const channel = randomUUID();
    await publishInAsk(hub, channel, (await provider()).stream(REQUEST));
    const server = await serve(hub);
    const browser = browserTrace();
    const follower = await openSSE(`${server.origin}/streams/${channel}`, { headers: { traceparent: browser.traceparent } });
    expect(await follower.ended).toBe('end');
    browser.span.end();

    const [follow] = await spansNamed('follow', 1);
    const [publish] = await spansNamed('publish', 1);
    expect(follow!.kind).toBe(SpanKind.CONSUMER);
    expect(isChildOf(follow!, await telemetry.span('browser page'))).toBe(true);
    expect(follow!.spanContext().traceId).not.toBe(publish!.spanContext().traceId);
    expect(linkedTo(follow!)).toEqual([publish!.spanContext().spanId]);
    expect(follow!.links[0]!.context.traceId).toBe(publish!.spanContext().traceId);
    const wait = follow!.attributes['tokenflow.hub.time_to_first_event'] as number;
    expect(wait).toBeGreaterThanOrEqual(0);
    expect(follow!.attributes).toEqual({
      'messaging.system': 'tokenflow',
      'messaging.operation.name': 'follow',
      'messaging.operation.type': 'receive',
      'messaging.destination.name': channel,
      'tokenflow.hub.events': follower.messages.length,
      'tokenflow.hub.outcome': 'done',
      'tokenflow.hub.time_to_first_event': wait,
    });
    expect(follow!.status.code).toBe(SpanStatusCode.UNSET);
  });

  it('a follower with no trace of its own joins the answer\'s trace, as a child of publish', async () => {
    const hub = memoryHub();
    const channel = randomUUID();
    await publishInAsk(hub, channel, (await provider()).stream(REQUEST));
    const server = await serve(hub);
    const followers = await Promise.all([openSSE(`${server.origin}/streams/${channel}`), openSSE(`${server.origin}/streams/${channel}`)]);
    for (const follower of followers) expect(await follower.ended).toBe('end');

    const follows = await spansNamed('follow', 2);
    const [publish] = await spansNamed('publish', 1);
    for (const follow of follows) {
      expect(isChildOf(follow, publish!)).toBe(true);
      expect(linkedTo(follow)).toEqual([publish!.spanContext().spanId]);
    }
  });

  it('a resumed follower records where it resumed, and counts only what it was sent', async () => {
    const hub = memoryHub();
    const channel = randomUUID();
    await hub.publish(channel, (await provider()).stream(REQUEST));
    const server = await serve(hub);
    const first = await openSSE(`${server.origin}/streams/${channel}`);
    expect(await first.ended).toBe('end');
    const resumeAfter = 2;
    const resumed = await openSSE(`${server.origin}/streams/${channel}`, { headers: { 'last-event-id': String(resumeAfter) } });
    expect(await resumed.ended).toBe('end');
    expect(resumed.messages.length).toBe(first.messages.length - resumeAfter - 1);

    const follows = await spansNamed('follow', 2);
    const later = follows.find((s) => s.attributes['tokenflow.hub.resumed_after'] !== undefined)!;
    expect(later.attributes['tokenflow.hub.resumed_after']).toBe(resumeAfter);
    expect(later.attributes['tokenflow.hub.events']).toBe(resumed.messages.length);
  });

  it('a stop is a cancellation on both spans, not an error', async () => {
    const hub = memoryHub();
    const server = await serve(hub);
    const { channel, upstream, follower } = await followMidAnswer(hub, server);
    expect((await fetch(`${server.origin}/streams/${channel}/stop`, { method: 'POST' })).status).toBe(204);
    expect(await follower.ended).toBe('end');

    const [publish] = await spansNamed('publish', 1);
    const [follow] = await spansNamed('follow', 1);
    for (const span of [publish!, follow!]) {
      expect(span.attributes['tokenflow.hub.outcome']).toBe('stopped');
      expect(span.status.code).toBe(SpanStatusCode.UNSET);
      expect(span.attributes['error.type']).toBeUndefined();
    }
    expect(upstream.observed).toBe(false);
  });

  it('a failed upstream sets ERROR with the error\'s class on both spans', async () => {
    const hub = memoryHub({ onError: () => {} });
    const channel = randomUUID();
    class QuotaError extends Error {
      override name = 'QuotaError';
    }
    await hub.publish(channel, throwError(() => new QuotaError('upstream said: key sk-123 is over quota')));
    const server = await serve(hub);
    const follower = await openSSE(`${server.origin}/streams/${channel}`);
    expect(await follower.ended).toBe('end');
    const sent = JSON.parse(follower.messages.at(-1)!.data) as { name: string };

    const [publish] = await spansNamed('publish', 1);
    const [follow] = await spansNamed('follow', 1);
    for (const span of [publish!, follow!]) {
      expect(span.status.code).toBe(SpanStatusCode.ERROR);
      expect(span.attributes['error.type']).toBe(sent.name);
      expect(span.attributes['tokenflow.hub.outcome']).toBe('error');
    }
  });

  it('a follower that leaves before the end is recorded as disconnected', async () => {
    const hub = memoryHub();
    const { follower } = await followMidAnswer(hub, await serve(hub));
    await follower.close();

    const [follow] = await spansNamed('follow', 1);
    expect(follow!.attributes['tokenflow.hub.outcome']).toBe('disconnected');
    expect(follow!.attributes['tokenflow.hub.events']).toBe(2);
    expect(follow!.status.code).toBe(SpanStatusCode.UNSET);
  });

  it('the propagator option writes and reads the channel\'s context', async () => {
    const seen: string[] = [];
    const propagator: TextMapPropagator = {
      inject(ctx, carrier, setter) {
        const span = trace.getSpanContext(ctx);
        if (span) setter.set(carrier, 'x-test-trace', `${span.traceId}.${span.spanId}`);
      },
      extract(ctx, carrier, getter) {
        const value = getter.get(carrier, 'x-test-trace');
        const text = Array.isArray(value) ? value[0] : value;
        if (!text) return ctx;
        seen.push(text);
        const [traceId, spanId] = text.split('.');
        return trace.setSpanContext(ctx, { traceId: traceId!, spanId: spanId!, traceFlags: 1, isRemote: true });
      },
      fields: () => ['x-test-trace'],
    };
    const hub = memoryHub({ telemetry: hubTelemetry({ tracer: telemetry.tracer, propagator }) });
    const channel = randomUUID();
    await hub.publish(channel, (await provider()).stream(REQUEST));
    expect((await hub.info(channel))!.trace).toEqual({ 'x-test-trace': expect.stringMatching(/^[0-9a-f]{32}\.[0-9a-f]{16}$/) });
    const server = await serve(hub);
    expect(await (await openSSE(`${server.origin}/streams/${channel}`)).ended).toBe('end');
    const [follow] = await spansNamed('follow', 1);
    const [publish] = await spansNamed('publish', 1);
    expect(linkedTo(follow!)).toEqual([publish!.spanContext().spanId]);
    expect(seen).toContain(`${publish!.spanContext().traceId}.${publish!.spanContext().spanId}`);
  });

  it('hooks that throw are reported once and change nothing for the channel or its followers', async () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      const broken: HubTelemetry = {
        publish: () => {
          throw new Error('exporter down');
        },
        follow: () => {
          throw new Error('exporter down');
        },
      };
      const hub = memoryHub({ telemetry: broken });
      const channel = randomUUID();
      await hub.publish(channel, (await provider()).stream(REQUEST));
      const server = await serve(hub);
      const follower = await openSSE(`${server.origin}/streams/${channel}`);
      expect(await follower.ended).toBe('end');
      expect(follower.messages.map((m) => m.event)).toEqual(['start', 'token', 'token', 'token', 'usage', 'done']);
      expect(errors.mock.calls.filter(([message]) => String(message).includes('telemetry hook threw'))).toHaveLength(1);
    } finally {
      errors.mockRestore();
    }
  });

  it('a run() that never calls back still subscribes the stream, once', async () => {
    const hub = memoryHub({
      telemetry: { publish: () => ({ run: () => {}, end: () => {} }), follow: () => undefined },
    });
    const channel = randomUUID();
    await hub.publish(channel, (await provider()).stream(REQUEST));
    const server = await serve(hub);
    const follower = await openSSE(`${server.origin}/streams/${channel}`);
    expect(await follower.ended).toBe('end');
    expect(follower.messages.at(-1)!.event).toBe('done');
    expect(mock!.requests).toHaveLength(1);
  });

  it('rejects options it cannot use', () => {
    expect(() => hubTelemetry({ tracr: telemetry.tracer } as never)).toThrow(/did you mean hubTelemetry\(\) options.tracer/);
    expect(() => hubTelemetry({ tracer: {} as never })).toThrow(InvalidArgumentError);
    expect(() => hubTelemetry({ propagator: { inject: () => {} } as never })).toThrow(/hubTelemetry.propagator/);
    expect(() => new StreamHub({ telemetry: { publish: () => undefined } as never })).toThrow(expect.objectContaining({ field: 'options.telemetry' }));
  });
});

describe.skipIf(skipWithoutRedis('hubTelemetry over Redis'))('hubTelemetry(): two RedisStreamHub servers (real redis-server)', () => {
  const redis = setupOnce(() => startRedis());
  afterAll(async () => redis().stop());

  function redisHub(): RedisStreamHub {
    const hub = new RedisStreamHub({ redis: redis().url, telemetry: hubTelemetry({ tracer: telemetry.tracer }) });
    closers.push(() => hub.close());
    return hub;
  }

  it('the context crosses Redis: followers on the other server link to the publishing server\'s span', async () => {
    const [owner, other] = [redisHub(), redisHub()];
    const channel = randomUUID();
    await publishInAsk(owner, channel, (await provider()).stream(REQUEST));
    // Stored in Redis, where the other server reads it.
    const client = new Redis(redis().url);
    closers.push(async () => client.quit());
    const stored = await client.hget(`tokenflow:m:${channel}`, 'trace');
    expect(JSON.parse(stored!)).toEqual({ traceparent: expect.stringMatching(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/) });

    const server = await serve(other);
    const browser = browserTrace();
    const followers = await Promise.all([
      openSSE(`${server.origin}/streams/${channel}`, { headers: { traceparent: browser.traceparent } }),
      openSSE(`${server.origin}/streams/${channel}`),
    ]);
    for (const follower of followers) expect(await follower.ended).toBe('end');
    browser.span.end();

    const [publish] = await spansNamed('publish', 1);
    const follows = await spansNamed('follow', 2);
    expect(JSON.parse(stored!).traceparent).toBe(`00-${publish!.spanContext().traceId}-${publish!.spanContext().spanId}-01`);
    const withOwnTrace = follows.find((s) => s.spanContext().traceId === browser.span.spanContext().traceId)!;
    const joined = follows.find((s) => s !== withOwnTrace)!;
    expect(isChildOf(withOwnTrace, await telemetry.span('browser page'))).toBe(true);
    expect(isChildOf(joined, publish!)).toBe(true);
    for (const follow of follows) {
      expect(linkedTo(follow)).toEqual([publish!.spanContext().spanId]);
      expect(follow.attributes['tokenflow.hub.outcome']).toBe('done');
      expect(follow.attributes['tokenflow.hub.events']).toBe(followers[0]!.messages.length);
    }
    expect(isChildOf(await telemetry.span('chat asked-model'), publish!)).toBe(true);
    expect(publish!.attributes['tokenflow.hub.outcome']).toBe('done');
  });

  it('a stop asked on the other server ends both spans as stopped', async () => {
    const [owner, other] = [redisHub(), redisHub()];
    const server = await serve(other);
    const { channel, follower } = await followMidAnswer(owner, server);
    expect((await fetch(`${server.origin}/streams/${channel}/stop`, { method: 'POST' })).status).toBe(204);
    expect(await follower.ended).toBe('end');
    const [publish] = await spansNamed('publish', 1);
    const [follow] = await spansNamed('follow', 1);
    expect(publish!.attributes['tokenflow.hub.outcome']).toBe('stopped');
    expect(follow!.attributes['tokenflow.hub.outcome']).toBe('stopped');
    expect(linkedTo(follow!)).toEqual([publish!.spanContext().spanId]);
  });
});
