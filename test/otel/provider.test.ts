/**
 * `tracedProvider()` over real HTTP: the request's settings and the server it really called on the
 * span from the first request on, the HTTP request running inside the span (so HTTP instrumentation
 * nests under it), `complete()` as a non-streaming operation, errors passing through unchanged.
 */
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { lastValueFrom, toArray } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Agent } from '../../src/agent/agent.js';
import { InvalidArgumentError, ProviderError } from '../../src/errors.js';
import { collect } from '../../src/operators/collect.js';
import { isOutput } from '../../src/operators/internal.js';
import { tracedProvider } from '../../src/otel/index.js';
import { openai } from '../../src/providers/openai.js';
import { startMockProvider, type MockFault, type MockProvider, type MockScript } from '../../src/testing/index.js';
import { ADAPTER_LABELS, flavorOf, makeAdapter, rejectionOf, type AdapterLabel } from '../helpers/mock.js';
import { run } from '../helpers/run.js';
import { isChildOf, startTelemetry, type Telemetry } from './sdk.js';

const SCRIPT: MockScript = { text: ['Hello', ' there', '.'], usage: { inputTokens: 9, outputTokens: 3 }, model: 'served-model' };
const REQUEST = { model: 'asked-model', messages: [{ role: 'user' as const, content: 'Say hello.' }], temperature: 0.25, maxTokens: 32, providerOptions: { top_p: 0.9 } };

let telemetry: Telemetry;
let mock: MockProvider | undefined;

beforeEach(() => {
  telemetry = startTelemetry();
});
afterEach(async () => {
  await telemetry.shutdown();
  await mock?.close();
  mock = undefined;
});

async function start(label: AdapterLabel, faults?: MockFault) {
  mock = await startMockProvider({ flavor: flavorOf(label), script: SCRIPT, ...(faults ? { faults } : {}) });
  return makeAdapter(label, mock.baseURL);
}

const PROVIDER: Record<AdapterLabel, string> = {
  anthropic: 'anthropic',
  openai: 'openai',
  'openai-responses': 'openai',
  groq: 'groq',
  'openai-compatible': 'openai-compatible',
};

describe('tracedProvider(): stream()', () => {
  it.each(ADAPTER_LABELS)('%s: the first request’s span has the request’s settings and the server it called', async (label) => {
    const llm = tracedProvider(await start(label), { tracer: telemetry.tracer, meter: telemetry.meter });
    const events = await lastValueFrom(llm.stream(REQUEST).pipe(toArray()));
    const answer = await lastValueFrom(llm.stream(REQUEST).pipe(collect()));
    const [first, second] = await telemetry.spans();
    const port = Number(new URL(mock!.url).port);
    for (const span of [first!, second!]) {
      expect(span.name).toBe('chat asked-model');
      expect(span.kind).toBe(SpanKind.CLIENT);
      expect(span.status.code).toBe(SpanStatusCode.UNSET);
    }
    expect(first!.attributes).toEqual({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': PROVIDER[label],
      'gen_ai.request.model': 'asked-model',
      'gen_ai.request.temperature': 0.25,
      'gen_ai.request.max_tokens': 32,
      'gen_ai.request.top_p': 0.9,
      'gen_ai.request.stream': true,
      'server.address': '127.0.0.1',
      'server.port': port,
      'gen_ai.response.model': 'served-model',
      'gen_ai.response.id': (events[0] as { id?: string }).id,
      'gen_ai.response.finish_reasons': ['stop'],
      'gen_ai.usage.input_tokens': 9,
      'gen_ai.usage.output_tokens': 3,
      'gen_ai.response.time_to_first_chunk': events.find(isOutput)!.t / 1000,
    });
    // From the second request on, the server is known when the span starts (for samplers).
    expect(second!.attributes['server.address']).toBe('127.0.0.1');
    expect(second!.attributes['gen_ai.response.time_to_first_chunk']).toBe(answer.metrics.ttftMs! / 1000);
    const [duration] = await telemetry.points('gen_ai.client.operation.duration');
    expect(duration!.count).toBe(2);
    expect(duration!.attributes).toEqual({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': PROVIDER[label],
      'gen_ai.request.model': 'asked-model',
      'gen_ai.response.model': 'served-model',
      'server.address': '127.0.0.1',
      'server.port': port,
    });
  });

  it('captureContent records the request’s messages on the span', async () => {
    const llm = tracedProvider(await start('anthropic'), { tracer: telemetry.tracer, captureContent: true });
    const { providerOptions: _options, ...plain } = REQUEST;
    await lastValueFrom(llm.stream({ ...plain, system: 'Be brief.' }).pipe(collect()));
    const span = await telemetry.span('chat asked-model');
    expect(JSON.parse(span.attributes['gen_ai.input.messages'] as string)).toEqual([{ role: 'user', parts: [{ type: 'text', content: 'Say hello.' }] }]);
    expect(JSON.parse(span.attributes['gen_ai.system_instructions'] as string)).toEqual([{ type: 'text', content: 'Be brief.' }]);
    expect(JSON.parse(span.attributes['gen_ai.output.messages'] as string)).toEqual([
      { role: 'assistant', parts: [{ type: 'text', content: 'Hello there.' }], finish_reason: 'stop' },
    ]);
  });

  it('an invalid request errors exactly as the provider’s own stream does', async () => {
    const inner = await start('openai');
    const llm = tracedProvider(inner, { tracer: telemetry.tracer });
    const bad = { ...REQUEST, temperature: -1 };
    const [mine, theirs] = [await run(llm.stream(bad)), await run(inner.stream(bad))];
    expect(InvalidArgumentError.isInstance(mine.error)).toBe(true);
    expect((mine.error as InvalidArgumentError).field).toBe((theirs.error as InvalidArgumentError).field);
    expect(mock!.requests).toHaveLength(0);
    const span = await telemetry.span('chat asked-model');
    expect(span.attributes['error.type']).toBe('InvalidArgumentError');
  });

  it('works as an Agent’s provider, and a wrapped wrapper still knows the server', async () => {
    const llm = tracedProvider(tracedProvider(await start('openai'), { tracer: telemetry.tracer }), { tracer: telemetry.tracer });
    const agent = new Agent({ provider: llm, model: 'asked-model' });
    const answer = await agent.processMessage('Hi');
    expect(answer.content).toBe('Hello there.');
    const spans = await telemetry.spans();
    expect(spans).toHaveLength(2);
    expect(isChildOf(spans[0]!, spans[1]!) || isChildOf(spans[1]!, spans[0]!)).toBe(false); // no context manager: two roots
    expect(spans.map((s) => s.attributes['server.address'])).toEqual(['127.0.0.1', '127.0.0.1']);
  });
});

describe('tracedProvider(): the request runs inside the span', () => {
  const manager = new AsyncLocalStorageContextManager();
  beforeEach(() => {
    context.setGlobalContextManager(manager.enable());
  });
  afterEach(() => {
    context.disable();
  });

  it('the span is the child of the caller’s active span, and the HTTP request sees the span as active', async () => {
    mock = await startMockProvider({ flavor: 'openai', script: SCRIPT });
    const activeAtFetch: Array<string | undefined> = [];
    const llm = tracedProvider(
      openai({
        apiKey: 'k',
        baseURL: mock.baseURL,
        maxRetries: 0,
        fetch: (input, init) => {
          activeAtFetch.push(trace.getActiveSpan()?.spanContext().spanId);
          return fetch(input, init);
        },
      }),
      { tracer: telemetry.tracer },
    );
    const outer = telemetry.tracer.startSpan('handle request');
    await context.with(trace.setSpan(context.active(), outer), () => lastValueFrom(llm.stream(REQUEST).pipe(collect())));
    outer.end();
    const chat = await telemetry.span('chat asked-model');
    expect(isChildOf(chat, await telemetry.span('handle request'))).toBe(true);
    expect(activeAtFetch).toEqual([chat.spanContext().spanId]);
  });
});

describe('tracedProvider(): complete()', () => {
  it('is a non-streaming chat span: no time to first chunk, no chunk metrics', async () => {
    const llm = tracedProvider(await start('openai'), { tracer: telemetry.tracer, meter: telemetry.meter });
    const answer = await llm.complete(REQUEST);
    expect(answer.content).toBe('Hello there.');
    const span = await telemetry.span('chat asked-model');
    expect(span.attributes).toEqual({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'asked-model',
      'gen_ai.request.temperature': 0.25,
      'gen_ai.request.max_tokens': 32,
      'gen_ai.request.top_p': 0.9,
      'server.address': '127.0.0.1',
      'server.port': Number(new URL(mock!.url).port),
      'gen_ai.response.model': 'served-model',
      'gen_ai.response.id': answer.id,
      'gen_ai.response.finish_reasons': ['stop'],
      'gen_ai.usage.input_tokens': 9,
      'gen_ai.usage.output_tokens': 3,
    });
    expect((await telemetry.points('gen_ai.client.operation.duration'))[0]?.count).toBe(1);
    expect((await telemetry.points('gen_ai.client.token.usage')).map((p) => p.sum)).toEqual([9, 3]);
    expect(await telemetry.points('gen_ai.client.operation.time_to_first_chunk')).toEqual([]);
    expect(await telemetry.points('gen_ai.client.operation.time_per_output_chunk')).toEqual([]);
  });

  it('a failed call rejects with the provider’s error and the span records it', async () => {
    const llm = tracedProvider(await start('groq', { http: { status: 500 } }), { tracer: telemetry.tracer });
    const error = await rejectionOf(llm.complete(REQUEST));
    expect(ProviderError.isInstance(error)).toBe(true);
    const span = await telemetry.span('chat asked-model');
    expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: (error as Error).message });
    expect(span.attributes['error.type']).toBe('ProviderError');
  });
});
