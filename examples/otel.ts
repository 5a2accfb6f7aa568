/**
 * OpenTelemetry traces and metrics for one answer and for an Agent's tool loop, printed to the
 * terminal: every span as the SDK's console exporter writes it, then the trace as a tree and the
 * GenAI client metrics in brief.
 *
 *   npx tsx examples/otel.ts
 *
 * Uses Anthropic when ANTHROPIC_API_KEY is set, otherwise the built-in mock provider (no key needed).
 * Needs the OpenTelemetry API and SDK packages (`@opentelemetry/api`, `@opentelemetry/sdk-trace`,
 * `@opentelemetry/sdk-metrics`, `@opentelemetry/context-async-hooks`).
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { context, metrics, SpanKind, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader, type HistogramMetricData } from '@opentelemetry/sdk-metrics';
import { ConsoleSpanExporter, InMemorySpanExporter, SimpleSpanProcessor, TracerProvider, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { lastValueFrom } from 'rxjs';
import { Agent, collect, tool } from 'tokenflow';
import { anthropic } from 'tokenflow/anthropic';
import { hubTelemetry, traced, tracedProvider } from 'tokenflow/otel';
import { StreamHub } from 'tokenflow/sse';
import { startMockProvider } from 'tokenflow/testing';

// ---- The application's OpenTelemetry setup (with @opentelemetry/sdk-node, NodeSDK does this) ----
const spans = new InMemorySpanExporter();
const tracerProvider = new TracerProvider({
  spanProcessors: [new SimpleSpanProcessor({ exporter: new ConsoleSpanExporter() }), new SimpleSpanProcessor({ exporter: spans })],
});
trace.setGlobalTracerProvider(tracerProvider);
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
const meterProvider = new MeterProvider({ readers: [new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 60_000 })] });
metrics.setGlobalMeterProvider(meterProvider);

// ---- A provider: the mock answers a request with tools by calling the tool, then with text ----
const mock = process.env.ANTHROPIC_API_KEY
  ? undefined
  : await startMockProvider({
      flavor: 'anthropic',
      profile: { ttftMs: [150, 300], tokensPerSecond: 60 },
      script: (request) =>
        request.body?.tools && request.toolResults.length === 0
          ? { text: 'Let me check.', toolCalls: [{ id: 'toolu_1', name: 'weather', arguments: '{"city":"Lisbon"}' }] }
          : request.toolResults.length > 0
            ? { text: `(mock) It is ${JSON.stringify(request.toolResults[0]?.output)} in Lisbon: no jacket needed.` }
            : { text: '(mock) Rivers carve the stone; the sea keeps their names.' },
    });
console.error(mock ? 'No ANTHROPIC_API_KEY: using the built-in mock provider.' : 'Using Anthropic.');
// tracedProvider(): one `chat {model}` span per call, with the request's settings and the server.
const llm = tracedProvider(mock ? anthropic({ apiKey: 'mock', baseURL: mock.baseURL, maxRetries: 0 }) : anthropic());
const model = 'claude-sonnet-4-6';

// ---- 1. One answer ----
const haiku = await lastValueFrom(llm.stream({ model, maxTokens: 100, messages: [{ role: 'user', content: 'A haiku about rivers.' }] }).pipe(collect()));

// ---- 2. A tool loop: traced() on the Agent's stream gives invoke_agent → chat / execute_tool ----
const weather = tool({
  description: 'The current weather in a city.',
  inputSchema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  execute: async (input) => ({ city: (input as { city: string }).city, celsius: 21, sky: 'clear' }),
});
// The Agent gets the plain provider: traced() below records its steps (a traced provider would add a
// second span per step).
const agent = new Agent({ provider: mock ? anthropic({ apiKey: 'mock', baseURL: mock.baseURL, maxRetries: 0 }) : anthropic(), model, maxTokens: 300 });
const advice = await lastValueFrom(
  agent.stream('Should I take a jacket in Lisbon today?', { tools: { weather } }).pipe(traced({ agentName: 'forecaster' }), collect()),
);

// ---- 3. Through a StreamHub: the answer's publish span, and a follow span per browser ----
const hub = new StreamHub({ telemetry: hubTelemetry() });
const server = createServer(hub.handler()).listen(0, '127.0.0.1');
await once(server, 'listening');
const channel = randomUUID();
// An instrumented server's request handler runs in its request's span: here, one made by hand.
await trace.getTracer('example').startActiveSpan('POST /ask', { kind: SpanKind.SERVER }, async (span) => {
  await hub.publish(channel, llm.stream({ model, maxTokens: 100, messages: [{ role: 'user', content: 'A haiku about the sea.' }] }));
  span.end();
});
// Two browsers follow it: one without a trace of its own (its span joins the answer's trace), one
// with a `traceparent` (its span is in the browser's trace, linked to the answer's publish span).
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/streams/${channel}`;
const browserSpan = trace.getTracer('example').startSpan('browser page');
const { traceId, spanId } = browserSpan.spanContext();
await Promise.all([
  fetch(url).then((r) => r.text()),
  fetch(url, { headers: { traceparent: `00-${traceId}-${spanId}-01` } }).then((r) => r.text()),
]);
browserSpan.end();
await hub.close();
server.close();

await tracerProvider.forceFlush();
await meterProvider.forceFlush();
console.log(`\nAnswers: ${JSON.stringify(haiku.content)} / ${JSON.stringify(advice.content)}\n`);

// ---- The traces as trees ----
const finished = spans.getFinishedSpans();
const ms = ([s, ns]: [number, number]) => s * 1000 + ns / 1e6;
const print = (span: ReadableSpan, depth: number): void => {
  const figures = [
    `${(ms(span.duration) / 1000).toFixed(3)} s`,
    span.attributes['gen_ai.response.time_to_first_chunk'] !== undefined ? `ttfc ${Number(span.attributes['gen_ai.response.time_to_first_chunk']).toFixed(3)} s` : '',
    span.attributes['gen_ai.response.finish_reasons'] ? `finish ${JSON.stringify(span.attributes['gen_ai.response.finish_reasons'])}` : '',
    span.attributes['gen_ai.usage.output_tokens'] !== undefined ? `tokens ${span.attributes['gen_ai.usage.input_tokens']} in / ${span.attributes['gen_ai.usage.output_tokens']} out` : '',
    span.attributes['tokenflow.hub.outcome'] !== undefined ? `${span.attributes['tokenflow.hub.events']} events, ${String(span.attributes['tokenflow.hub.outcome'])}` : '',
    span.attributes['tokenflow.hub.time_to_first_event'] !== undefined ? `first event after ${Number(span.attributes['tokenflow.hub.time_to_first_event']).toFixed(3)} s` : '',
    span.links.length > 0 ? `linked to ${finished.find((s) => s.spanContext().spanId === span.links[0]!.context.spanId)?.name ?? 'another trace'}` : '',
  ].filter(Boolean);
  console.log(`${'  '.repeat(depth)}${span.name}  (${figures.join(', ')})`);
  const children = finished.filter((s) => s.parentSpanContext?.spanId === span.spanContext().spanId);
  for (const child of children.sort((a, b) => ms(a.startTime) - ms(b.startTime))) print(child, depth + 1);
};
for (const root of finished.filter((s) => !s.parentSpanContext)) print(root, 0);

// ---- The metrics in brief ----
console.log('');
for (const resource of metricExporter.getMetrics()) {
  for (const scope of resource.scopeMetrics) {
    for (const metric of scope.metrics as HistogramMetricData[]) {
      const values = metric.dataPoints.map((p) => `${String(p.attributes['gen_ai.token.type'] ?? p.attributes['gen_ai.request.model'] ?? '')} count ${p.value.count} sum ${p.value.sum?.toFixed(3)}`);
      console.log(`${metric.descriptor.name} (${metric.descriptor.unit}): ${values.join('; ')}`);
    }
  }
}

await tracerProvider.shutdown();
await meterProvider.shutdown();
await mock?.close();
