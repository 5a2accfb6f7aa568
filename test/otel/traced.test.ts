/**
 * `traced()` over real HTTP (the mock provider, the real SDK adapters) into the real OpenTelemetry
 * SDK, in memory: the `chat {model}` span's attributes exactly, the time to first chunk equal to the
 * stream's own figure, the four GenAI client histograms, errors, cancellation, content capture on and
 * off, the no-op path when nothing is registered, and a failing telemetry pipeline that must not
 * touch the stream.
 */
import { createNoopMeter, INVALID_SPAN_CONTEXT, metrics, SpanKind, SpanStatusCode, trace, type Meter, type Span, type Tracer } from '@opentelemetry/api';
import { TracerProvider } from '@opentelemetry/sdk-trace';
import { from, lastValueFrom, take, toArray } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ProviderError } from '../../src/errors.js';
import type { ChatRequest, TokenEvent } from '../../src/events.js';
import { collect } from '../../src/operators/collect.js';
import { isOutput } from '../../src/operators/internal.js';
import { metrics as streamMetrics } from '../../src/operators/metrics.js';
import { retryBeforeFirstToken } from '../../src/operators/retryBeforeFirstToken.js';
import { traced } from '../../src/otel/index.js';
import { startMockProvider, type MockFault, type MockProvider, type MockScript } from '../../src/testing/index.js';
import { ADAPTER_LABELS, flavorOf, makeAdapter, type AdapterLabel } from '../helpers/mock.js';
import { run } from '../helpers/run.js';
import { startTelemetry, type Telemetry } from './sdk.js';

const SECONDS_BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];
const TOKEN_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864];
const TEXT = ['Hello', ' there', ' world', '.'];
const SCRIPT: MockScript = { text: TEXT, usage: { inputTokens: 11, outputTokens: 4 }, model: 'served-model' };
const REQUEST = {
  model: 'asked-model',
  messages: [{ role: 'user' as const, content: 'Say hello.' }],
  system: 'Be brief.',
  temperature: 0.5,
  maxTokens: 64,
  stop: ['END'],
};

let telemetry: Telemetry;
let mock: MockProvider | undefined;

beforeEach(() => {
  telemetry = startTelemetry();
});
afterEach(async () => {
  await telemetry.shutdown();
  await mock?.close();
  mock = undefined;
  vi.restoreAllMocks();
});

async function start(label: AdapterLabel, script: MockScript = SCRIPT, faults?: MockFault | ((r: { index: number }) => MockFault | undefined)) {
  mock = await startMockProvider({ flavor: flavorOf(label), script, ...(faults ? { faults } : {}) });
  return makeAdapter(label, mock.baseURL);
}

/** The provider name each adapter reports, as `gen_ai.provider.name` has it. */
const PROVIDER: Record<AdapterLabel, string> = {
  anthropic: 'anthropic',
  openai: 'openai',
  'openai-responses': 'openai',
  groq: 'groq',
  'openai-compatible': 'openai-compatible',
};

describe('traced(): one answer is one chat span', () => {
  it.each(ADAPTER_LABELS)('%s: the span has exactly the conventions’ attributes, its ttft is the stream’s own', async (label) => {
    const llm = await start(label);
    // The Responses API takes no stop sequences.
    const { stop: _stop, ...withoutStop } = REQUEST;
    const request: ChatRequest = label === 'openai-responses' ? withoutStop : REQUEST;
    const events = await lastValueFrom(llm.stream(request).pipe(traced({ tracer: telemetry.tracer, meter: telemetry.meter, request }), toArray()));
    const answer = await lastValueFrom(collectOf(events));
    const span = await telemetry.span('chat asked-model');

    expect(span.kind).toBe(SpanKind.CLIENT);
    expect(span.status.code).toBe(SpanStatusCode.UNSET);
    expect(span.parentSpanContext).toBeUndefined();
    expect(span.attributes).toEqual({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': PROVIDER[label],
      'gen_ai.request.model': 'asked-model',
      'gen_ai.request.temperature': 0.5,
      'gen_ai.request.max_tokens': 64,
      ...(label === 'openai-responses' ? {} : { 'gen_ai.request.stop_sequences': ['END'] }),
      'gen_ai.request.stream': true,
      'gen_ai.response.model': 'served-model',
      'gen_ai.response.id': answer.id,
      'gen_ai.response.finish_reasons': ['stop'],
      'gen_ai.usage.input_tokens': 11,
      'gen_ai.usage.output_tokens': 4,
      'gen_ai.response.time_to_first_chunk': answer.metrics.ttftMs! / 1000,
    });
    expect(answer.id).toBeTruthy();
    // The stream's own figure: the first output event's `t`, which metrics() reports as ttftMs.
    const first = events.find(isOutput)!;
    expect(span.attributes['gen_ai.response.time_to_first_chunk']).toBe(first.t / 1000);
    const measured = await lastValueFrom(from(events).pipe(streamMetrics()));
    expect(measured.ttftMs).toBe(first.t);
  });

  it('time to first chunk counts any output, not only text: a reasoning chunk at 5 ms before the first token at 9 ms', async () => {
    const events: TokenEvent[] = [
      { type: 'start', provider: 'anthropic', model: 'm', t: 1 },
      { type: 'reasoning', text: 'Hmm.', t: 5 },
      { type: 'token', text: 'Hi', index: 0, t: 9 },
      { type: 'usage', usage: { inputTokens: 3, outputTokens: 2, estimated: false }, t: 10 },
      { type: 'done', stopReason: 'end', t: 10 },
    ];
    await lastValueFrom(from(events).pipe(traced({ tracer: telemetry.tracer, meter: telemetry.meter, timePerOutputChunk: true }), toArray()));
    const span = await telemetry.span('chat m');
    expect(span.attributes['gen_ai.response.time_to_first_chunk']).toBe(0.005);
    expect((await telemetry.points('gen_ai.client.operation.time_to_first_chunk'))[0]).toMatchObject({ count: 1, sum: 0.005 });
    // One gap after the first chunk: reasoning (5 ms) to token (9 ms).
    expect((await telemetry.points('gen_ai.client.operation.time_per_output_chunk'))[0]).toMatchObject({ count: 1, sum: 0.004 });
  });

  it('without a request, the span is named after the model the start event reports', async () => {
    const llm = await start('openai');
    await lastValueFrom(llm.stream(REQUEST).pipe(traced({ tracer: telemetry.tracer }), collect()));
    const span = await telemetry.span('chat served-model');
    expect(span.attributes['gen_ai.request.model']).toBeUndefined();
    expect(span.attributes['gen_ai.response.model']).toBe('served-model');
    expect(span.attributes['gen_ai.provider.name']).toBe('openai');
  });

  it('a reasoning answer: time to first chunk is the first reasoning chunk, before the first text token', async () => {
    // The mock writes the reasoning, then waits 30 ms before the first text token.
    mock = await startMockProvider({ flavor: 'anthropic', script: { reasoning: ['Let me', ' think.'], text: TEXT }, profile: { ttftMs: 30, tokensPerSecond: Number.POSITIVE_INFINITY } });
    const llm = makeAdapter('anthropic', mock.baseURL);
    const events = await lastValueFrom(llm.stream(REQUEST).pipe(traced({ tracer: telemetry.tracer, request: REQUEST }), toArray()));
    const span = await telemetry.span('chat asked-model');
    const firstReasoning = events.find((e) => e.type === 'reasoning')!;
    const firstToken = events.find((e) => e.type === 'token')!;
    expect(events.find(isOutput)).toBe(firstReasoning);
    expect(span.attributes['gen_ai.response.time_to_first_chunk']).toBe(firstReasoning.t / 1000);
    expect(firstReasoning.t).toBeLessThanOrEqual(firstToken.t);
  });

  it('provider names map to the conventions’ well-known values; providerName overrides', async () => {
    mock = await startMockProvider({ flavor: 'openai-compatible', script: SCRIPT });
    const { openaiCompatible } = await import('../../src/providers/openai-compatible.js');
    const mistral = openaiCompatible({ baseURL: mock.baseURL, name: 'mistral', maxRetries: 0 });
    await lastValueFrom(mistral.stream(REQUEST).pipe(traced({ tracer: telemetry.tracer, request: REQUEST }), collect()));
    await lastValueFrom(mistral.stream(REQUEST).pipe(traced({ tracer: telemetry.tracer, providerName: 'deepseek' }), collect()));
    const spans = await telemetry.spans();
    expect(spans.map((s) => s.attributes['gen_ai.provider.name'])).toEqual(['mistral_ai', 'deepseek']);
  });

  it('serverAddress and serverPort set server.address and server.port', async () => {
    const llm = await start('openai');
    const port = Number(new URL(mock!.url).port);
    await lastValueFrom(llm.stream(REQUEST).pipe(traced({ tracer: telemetry.tracer, serverAddress: '127.0.0.1', serverPort: port }), collect()));
    const span = await telemetry.span('chat served-model');
    expect(span.attributes['server.address']).toBe('127.0.0.1');
    expect(span.attributes['server.port']).toBe(port);
  });

  it('a retried answer reports what was billed: every attempt, and the number of attempts', async () => {
    const llm = await start('openai', SCRIPT, (request) => (request.index === 0 ? { http: { status: 429 } } : undefined));
    const answer = await lastValueFrom(
      llm.stream(REQUEST).pipe(retryBeforeFirstToken({ maxRetries: 1, backoff: { initialMs: 0, jitter: false } }), traced({ tracer: telemetry.tracer }), collect()),
    );
    expect(answer.usage.billed?.attempts).toBe(2);
    const span = await telemetry.span('chat served-model');
    expect(span.attributes['tokenflow.attempts']).toBe(2);
    expect(span.attributes['gen_ai.usage.input_tokens']).toBe(answer.usage.billed!.inputTokens);
    expect(span.status.code).toBe(SpanStatusCode.UNSET);
  });
});

describe('traced(): the GenAI client metrics', () => {
  it('records the four histograms with the conventions’ units, bucket advice and attributes', async () => {
    const llm = await start('openai');
    const events = await lastValueFrom(
      llm.stream(REQUEST).pipe(traced({ tracer: telemetry.tracer, meter: telemetry.meter, request: REQUEST, timePerOutputChunk: true }), toArray()),
    );
    const all = await telemetry.metrics();
    const common = {
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'asked-model',
      'gen_ai.response.model': 'served-model',
    };

    expect(all.get('gen_ai.client.token.usage')?.descriptor).toMatchObject({ unit: '{token}', description: 'Number of input and output tokens used.' });
    const usage = await telemetry.points('gen_ai.client.token.usage');
    expect(usage.map((p) => [p.attributes, p.count, p.sum])).toEqual([
      [{ ...common, 'gen_ai.token.type': 'input' }, 1, 11],
      [{ ...common, 'gen_ai.token.type': 'output' }, 1, 4],
    ]);
    expect(usage[0]!.boundaries).toEqual(TOKEN_BUCKETS);

    for (const name of ['gen_ai.client.operation.duration', 'gen_ai.client.operation.time_to_first_chunk', 'gen_ai.client.operation.time_per_output_chunk']) {
      expect(all.get(name)?.descriptor.unit, name).toBe('s');
      const [point, ...others] = await telemetry.points(name);
      expect(others, name).toEqual([]);
      expect(point!.attributes, name).toEqual(common);
      expect(point!.boundaries, name).toEqual(SECONDS_BUCKETS);
    }
    const outputs = events.filter(isOutput);
    const [ttft] = await telemetry.points('gen_ai.client.operation.time_to_first_chunk');
    expect(ttft).toMatchObject({ count: 1, sum: outputs[0]!.t / 1000 });
    const [chunks] = await telemetry.points('gen_ai.client.operation.time_per_output_chunk');
    // One value per chunk after the first: the gaps between consecutive output events.
    expect(chunks!.count).toBe(outputs.length - 1);
    expect(chunks!.sum).toBeCloseTo((outputs.at(-1)!.t - outputs[0]!.t) / 1000, 9);
    const [duration] = await telemetry.points('gen_ai.client.operation.duration');
    expect(duration).toMatchObject({ count: 1, sum: events.at(-1)!.t / 1000 });
  });

  it('without timePerOutputChunk: true (the default, for its cost) the per-chunk histogram is skipped and the others kept', async () => {
    const llm = await start('openai');
    await lastValueFrom(llm.stream(REQUEST).pipe(traced({ tracer: telemetry.tracer, meter: telemetry.meter }), collect()));
    const all = await telemetry.metrics();
    expect(await telemetry.points('gen_ai.client.operation.time_per_output_chunk')).toEqual([]);
    expect(all.has('gen_ai.client.operation.duration')).toBe(true);
    expect((await telemetry.points('gen_ai.client.token.usage')).length).toBe(2);
  });

  it('estimated usage goes on the span, marked, and not into gen_ai.client.token.usage', async () => {
    const llm = await start('openai', { ...SCRIPT, usage: false });
    await lastValueFrom(llm.stream(REQUEST).pipe(traced({ tracer: telemetry.tracer, meter: telemetry.meter }), collect()));
    const span = await telemetry.span('chat served-model');
    expect(span.attributes['tokenflow.usage.estimated']).toBe(true);
    expect(span.attributes['gen_ai.usage.output_tokens']).toBeGreaterThan(0);
    expect(await telemetry.points('gen_ai.client.token.usage')).toEqual([]);
  });
});

describe('traced(): errors and cancellation', () => {
  it('an HTTP error before the stream: status ERROR, error.type, finish reason error, duration with error.type', async () => {
    const llm = await start('anthropic', SCRIPT, { http: { status: 429 } });
    const outcome = await run(llm.stream(REQUEST).pipe(traced({ tracer: telemetry.tracer, meter: telemetry.meter, request: REQUEST })));
    expect(ProviderError.isInstance(outcome.error)).toBe(true);
    const span = await telemetry.span('chat asked-model');
    expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: (outcome.error as Error).message });
    expect(span.attributes['error.type']).toBe('ProviderError');
    expect(span.attributes['gen_ai.provider.name']).toBe('anthropic');
    expect(span.attributes['gen_ai.response.finish_reasons']).toEqual(['error']);
    expect(span.events.map((e) => e.name)).toEqual(['exception']);
    const [duration] = await telemetry.points('gen_ai.client.operation.duration');
    expect(duration!.attributes).toEqual({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'anthropic',
      'gen_ai.request.model': 'asked-model',
      'error.type': 'ProviderError',
    });
    expect(await telemetry.points('gen_ai.client.token.usage')).toEqual([]);
  });

  it('an error event mid-stream: the span has the response, the first chunk, and the error', async () => {
    const llm = await start('openai', SCRIPT, { errorEventAfter: 2 });
    const outcome = await run(llm.stream(REQUEST).pipe(traced({ tracer: telemetry.tracer, request: REQUEST })));
    expect(ProviderError.isInstance(outcome.error)).toBe(true);
    const span = await telemetry.span('chat asked-model');
    expect(span.status.code).toBe(SpanStatusCode.ERROR);
    expect(span.attributes['error.type']).toBe('ProviderError');
    expect(span.attributes['gen_ai.response.model']).toBe('served-model');
    expect(span.attributes['gen_ai.response.time_to_first_chunk']).toBe(outcome.events.find(isOutput)!.t / 1000);
  });

  it('unsubscribing ends the span with a recorded cancellation, not an error, and still cancels the request', async () => {
    // The server stalls after 10 tokens and holds the connection: only the client can close it.
    const llm = await start('openai', { text: Array.from({ length: 50 }, (_, i) => ` w${i}`), model: 'served-model' }, { stallAfter: 10 });
    const events = await lastValueFrom(
      llm.stream(REQUEST).pipe(traced({ tracer: telemetry.tracer, meter: telemetry.meter, request: REQUEST }), take(4), toArray()),
    );
    expect(events).toHaveLength(4);
    const span = await telemetry.span('chat asked-model');
    expect(span.status.code).toBe(SpanStatusCode.UNSET);
    expect(span.attributes['tokenflow.cancelled']).toBe(true);
    expect(span.attributes['error.type']).toBeUndefined();
    expect(span.attributes['gen_ai.response.finish_reasons']).toEqual(['error']);
    expect(span.events.map((e) => e.name)).toEqual(['tokenflow.cancelled']);
    expect(span.ended).toBe(true);
    // Neither a failure nor a finished operation: no duration; the first chunk did arrive.
    expect(await telemetry.points('gen_ai.client.operation.duration')).toEqual([]);
    expect((await telemetry.points('gen_ai.client.operation.time_to_first_chunk'))[0]?.count).toBe(1);
    // The operator keeps unsubscription what it is: the HTTP request is aborted.
    const log = await mock!.waitForClose(0);
    expect(log.closedByClient).toBe(true);
  });
});

describe('traced(): content only with captureContent', () => {
  const CONTENT_KEYS = ['gen_ai.system_instructions', 'gen_ai.input.messages', 'gen_ai.output.messages', 'gen_ai.tool.definitions'];
  const TOOLS_REQUEST = { ...REQUEST, tools: [{ name: 'weather', description: 'The weather.', parameters: { type: 'object', properties: {} } }] };

  it('off by default: no prompt or answer text in any attribute', async () => {
    const llm = await start('openai');
    await lastValueFrom(llm.stream(TOOLS_REQUEST).pipe(traced({ tracer: telemetry.tracer, request: TOOLS_REQUEST }), collect()));
    const span = await telemetry.span('chat asked-model');
    for (const key of CONTENT_KEYS) expect(span.attributes[key], key).toBeUndefined();
    expect(JSON.stringify(span.attributes)).not.toMatch(/Say hello|Be brief|Hello/);
  });

  it('on: system instructions, input and output messages and tool definitions in the conventions’ JSON', async () => {
    const llm = await start('openai');
    await lastValueFrom(llm.stream(TOOLS_REQUEST).pipe(traced({ tracer: telemetry.tracer, request: TOOLS_REQUEST, captureContent: true }), collect()));
    const span = await telemetry.span('chat asked-model');
    expect(JSON.parse(span.attributes['gen_ai.system_instructions'] as string)).toEqual([{ type: 'text', content: 'Be brief.' }]);
    expect(JSON.parse(span.attributes['gen_ai.input.messages'] as string)).toEqual([{ role: 'user', parts: [{ type: 'text', content: 'Say hello.' }] }]);
    expect(JSON.parse(span.attributes['gen_ai.output.messages'] as string)).toEqual([
      { role: 'assistant', parts: [{ type: 'text', content: 'Hello there world.' }], finish_reason: 'stop' },
    ]);
    expect(JSON.parse(span.attributes['gen_ai.tool.definitions'] as string)).toEqual([
      { type: 'function', name: 'weather', description: 'The weather.', parameters: { type: 'object', properties: {} } },
    ]);
  });

  it('on: tool calls, images and tool results take the conventions’ part types', async () => {
    const request = {
      model: 'asked-model',
      messages: [
        { role: 'user' as const, content: [{ type: 'text' as const, text: 'Look:' }, { type: 'image' as const, image: 'https://example.com/a.png' }] },
        { role: 'assistant' as const, content: [{ type: 'tool-call' as const, id: 'call_1', name: 'weather', input: { city: 'Paris' } }] },
        { role: 'tool' as const, content: [{ type: 'tool-result' as const, toolCallId: 'call_1', name: 'weather', output: 'rainy' }] },
      ],
    };
    const llm = await start('openai', { toolCalls: [{ id: 'call_2', name: 'weather', arguments: '{"city":"Rome"}' }], model: 'served-model' });
    await lastValueFrom(llm.stream(request).pipe(traced({ tracer: telemetry.tracer, request, captureContent: true }), collect()));
    const span = await telemetry.span('chat asked-model');
    expect(JSON.parse(span.attributes['gen_ai.input.messages'] as string)).toEqual([
      { role: 'user', parts: [{ type: 'text', content: 'Look:' }, { type: 'uri', modality: 'image', uri: 'https://example.com/a.png' }] },
      { role: 'assistant', parts: [{ type: 'tool_call', id: 'call_1', name: 'weather', arguments: { city: 'Paris' } }] },
      { role: 'tool', parts: [{ type: 'tool_call_response', id: 'call_1', response: 'rainy' }] },
    ]);
    expect(JSON.parse(span.attributes['gen_ai.output.messages'] as string)).toEqual([
      { role: 'assistant', parts: [{ type: 'tool_call', id: 'call_2', name: 'weather', arguments: { city: 'Rome' } }], finish_reason: 'tool_call' },
    ]);
    expect(span.attributes['gen_ai.response.finish_reasons']).toEqual(['tool_call']);
  });
});

describe('traced(): nothing registered costs nothing', () => {
  it('uses the API’s no-op tracer and meter: one non-recording span, ended, and nothing set on it', async () => {
    const llm = await start('openai');
    // Nothing is registered in this test process: the API's globals are its no-op implementations.
    expect(metrics.getMeterProvider().getMeter('tokenflow')).toBe(createNoopMeter());
    const getTracer = vi.spyOn(trace, 'getTracer');
    const operator = traced();
    const tracer = getTracer.mock.results[0]!.value as Tracer;
    const spans: Span[] = [];
    const calls: string[] = [];
    const startSpan = tracer.startSpan.bind(tracer);
    vi.spyOn(tracer, 'startSpan').mockImplementation((...args: Parameters<Tracer['startSpan']>) => {
      const span = startSpan(...args);
      for (const method of ['setAttribute', 'setAttributes', 'addEvent', 'setStatus', 'recordException', 'updateName', 'end'] as const) {
        const original = span[method].bind(span) as (...a: unknown[]) => unknown;
        (span as unknown as Record<string, unknown>)[method] = (...a: unknown[]) => {
          calls.push(method);
          return original(...a);
        };
      }
      spans.push(span);
      return span;
    });
    const createHistogram = vi.spyOn(createNoopMeter(), 'createHistogram');

    const answer = await lastValueFrom(llm.stream(REQUEST).pipe(operator, collect()));
    expect(answer.content).toBe('Hello there world.');
    expect(spans).toHaveLength(1);
    expect(spans[0]!.isRecording()).toBe(false);
    expect(spans[0]!.spanContext()).toEqual(INVALID_SPAN_CONTEXT);
    // The recorder stood aside at once: the span was ended, nothing else was asked of it.
    expect(calls).toEqual(['end']);
    expect(createHistogram).not.toHaveBeenCalled();
  });
});

describe('traced(): telemetry that fails never breaks the stream', () => {
  const throwing = (what: string) => () => {
    throw new Error(`${what} failed`);
  };

  it.each([
    ['a tracer whose startSpan throws', (t: Telemetry) => ({ tracer: { startSpan: throwing('startSpan') } as unknown as Tracer, meter: t.meter })],
    ['a span processor that throws when a span ends', (t: Telemetry) => ({ tracer: failingTracer(), meter: t.meter })],
    ['a meter whose histograms throw', (t: Telemetry) => ({ tracer: t.tracer, meter: failingMeter() })],
    ['a meter that cannot create histograms', (t: Telemetry) => ({ tracer: t.tracer, meter: { createHistogram: throwing('createHistogram') } as never })],
  ])('%s: every event arrives and the stream completes', async (_label, options) => {
    const llm = await start('openai');
    const plain = await lastValueFrom(llm.stream(REQUEST).pipe(toArray()));
    const outcome = await run(llm.stream(REQUEST).pipe(traced({ ...options(telemetry), request: REQUEST })));
    expect(outcome.error).toBeUndefined();
    expect(outcome.completed).toBe(true);
    expect(outcome.events.map((e) => e.type)).toEqual(plain.map((e) => e.type));
    expect(outcome.text).toBe('Hello there world.');
  });
});

/** A tracer of a provider whose span processor throws on every span's end (as a failing exporter would). */
function failingTracer(): Tracer {
  const provider = new TracerProvider({
    spanProcessors: [
      {
        onStart: () => {},
        onEnd: () => {
          throw new Error('exporter failed');
        },
        forceFlush: async () => {},
        shutdown: async () => {},
      },
    ],
  });
  return provider.getTracer('failing');
}

/** A meter whose histograms throw on every record. */
function failingMeter(): Meter {
  return {
    createHistogram: () => ({
      record: () => {
        throw new Error('record failed');
      },
    }),
  } as unknown as Meter;
}

function collectOf(events: TokenEvent[]) {
  return from(events).pipe(collect());
}
