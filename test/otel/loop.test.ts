/**
 * `traced()` on an Agent's tool loop: one `invoke_agent` span, a `chat` child per step and an
 * `execute_tool` child per tool call, timed by the events (a tool span runs from its dispatch at the
 * step's end to its result); failed tools, `onToolError: 'throw'`, cancellation while a tool runs,
 * content capture; and the same tree from the loop's events read back over SSE.
 */
import { createServer } from 'node:http';
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { lastValueFrom, toArray } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Agent } from '../../src/agent/agent.js';
import { tool, ToolExecutionError } from '../../src/agent/tools.js';
import { fromSSE } from '../../src/client/index.js';
import type { TokenEvent } from '../../src/events.js';
import { collect } from '../../src/operators/collect.js';
import { traced } from '../../src/otel/index.js';
import { pipeSSE } from '../../src/sse/index.js';
import { startMockProvider, type MockProvider, type MockRequest, type MockScript } from '../../src/testing/index.js';
import { listenLocal } from '../helpers/http.js';
import { makeProvider } from '../helpers/mock.js';
import { openai } from '../../src/providers/openai.js';
import { run } from '../helpers/run.js';
import { isChildOf, startTelemetry, timesOf, type Telemetry } from './sdk.js';

/** Step 0 calls the weather tool, step 1 answers with text. */
const twoStep = (request: MockRequest): MockScript =>
  request.toolResults.length === 0
    ? { toolCalls: [{ id: 'call_w1', name: 'weather', arguments: ['{"city":', '"Paris"}'] }], usage: { inputTokens: 20, outputTokens: 5 }, model: 'served-model' }
    : { text: ['Sunny', ' in', ' Paris.'], usage: { inputTokens: 40, outputTokens: 3 }, model: 'served-model' };

const weather = tool({ description: 'The weather.', inputSchema: z.object({ city: z.string() }), execute: ({ city }) => ({ city, celsius: 21 }) });

let telemetry: Telemetry;
let mock: MockProvider;

beforeEach(async () => {
  telemetry = startTelemetry();
  mock = await startMockProvider({ flavor: 'openai', script: twoStep });
});
afterEach(async () => {
  await telemetry.shutdown();
  await mock.close();
});

const agent = () => new Agent({ provider: makeProvider('openai', mock), model: 'test-model' });

/** The spans of one loop, by role. */
async function tree() {
  const spans = await telemetry.spans();
  const root = spans.find((s) => s.name.startsWith('invoke_agent'));
  const chats = spans.filter((s) => s.name.startsWith('chat')).sort((a, b) => timesOf(a).start - timesOf(b).start);
  const tools = spans.filter((s) => s.name.startsWith('execute_tool'));
  if (!root) throw new Error(`no invoke_agent span among ${spans.map((s) => s.name).join(', ')}`);
  return { spans, root, chats, tools };
}

/** The tree's shape, for comparing two traces of the same loop. */
function shape(spans: readonly ReadableSpan[]) {
  return spans
    .map((s) => ({ name: s.name, kind: s.kind, status: s.status.code, parent: spans.find((p) => isChildOf(s, p))?.name ?? null }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

const EPSILON = 0.01; // ms: span times are epoch milliseconds in a double (about 0.4 µs apart) turned into HrTime

describe('traced() on a tool loop', () => {
  it('is one invoke_agent span with a chat span per step and an execute_tool span per call, timed by the events', async () => {
    const events = await lastValueFrom(
      agent()
        .stream('Weather in Paris?', { tools: { weather } })
        .pipe(traced({ tracer: telemetry.tracer, meter: telemetry.meter, agentName: 'forecaster' }), toArray()),
    );
    const { spans, root, chats, tools } = await tree();
    expect(spans).toHaveLength(4);

    expect(root.name).toBe('invoke_agent forecaster');
    expect(root.kind).toBe(SpanKind.INTERNAL);
    expect(root.parentSpanContext).toBeUndefined();
    expect(root.attributes).toEqual({
      'gen_ai.operation.name': 'invoke_agent',
      'gen_ai.agent.name': 'forecaster',
      'gen_ai.provider.name': 'openai',
      'gen_ai.response.finish_reasons': ['stop'],
      'gen_ai.usage.input_tokens': 60,
      'gen_ai.usage.output_tokens': 8,
    });

    expect(chats.map((s) => s.name)).toEqual(['chat served-model', 'chat served-model']);
    for (const chat of chats) {
      expect(chat.kind).toBe(SpanKind.CLIENT);
      expect(isChildOf(chat, root)).toBe(true);
    }
    const stepFinishes = events.filter((e) => e.type === 'step-finish');
    const stepStarts = events.filter((e) => e.type === 'step-start');
    expect(chats[0]!.attributes).toEqual({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.stream': true,
      'gen_ai.response.model': 'served-model',
      'gen_ai.response.id': (events.find((e) => e.type === 'start') as { id: string }).id,
      'gen_ai.response.finish_reasons': ['tool_call'],
      'gen_ai.usage.input_tokens': 20,
      'gen_ai.usage.output_tokens': 5,
      // The step's own first chunk (its tool call), timed from the step's start.
      'gen_ai.response.time_to_first_chunk': (events.find((e) => e.type === 'tool-call')!.t - stepStarts[0]!.t) / 1000,
    });
    expect(chats[1]!.attributes).toMatchObject({ 'gen_ai.response.finish_reasons': ['stop'], 'gen_ai.usage.input_tokens': 40, 'gen_ai.usage.output_tokens': 3 });
    // The step's own time to first token, as its step-finish reports it (the loop's times are the
    // step's plus the step's offset, so equal up to floating-point rounding).
    const stepTtft = (stepFinishes[1] as { metrics?: { ttftMs?: number } }).metrics!.ttftMs!;
    expect(chats[1]!.attributes['gen_ai.response.time_to_first_chunk']).toBeCloseTo(stepTtft / 1000, 9);

    expect(tools).toHaveLength(1);
    const [call] = tools;
    expect(call!.name).toBe('execute_tool weather');
    expect(call!.kind).toBe(SpanKind.INTERNAL);
    expect(isChildOf(call!, root)).toBe(true);
    expect(call!.status.code).toBe(SpanStatusCode.UNSET);
    expect(call!.attributes).toEqual({
      'gen_ai.operation.name': 'execute_tool',
      'gen_ai.tool.name': 'weather',
      'gen_ai.tool.call.id': 'call_w1',
      'gen_ai.tool.type': 'function',
    });
    // The tool ran after step 0 finished and before step 1 began, as the events say.
    const [chat0, chat1] = chats.map(timesOf);
    const tool0 = timesOf(call!);
    expect(tool0.start).toBeGreaterThanOrEqual(chat0!.end - EPSILON);
    expect(tool0.end).toBeLessThanOrEqual(chat1!.start + EPSILON);
    const result = events.find((e) => e.type === 'tool-result')!;
    expect(tool0.end - tool0.start).toBeCloseTo(Math.min(result.t - stepFinishes[0]!.t, (result as { durationMs: number }).durationMs), 2);
    const rootTimes = timesOf(root);
    expect(rootTimes.end - rootTimes.start).toBeCloseTo(events.at(-1)!.t, 2);

    // Metrics: one chat operation per step (the loop itself is no provider call).
    const [duration] = await telemetry.points('gen_ai.client.operation.duration');
    expect(duration!.count).toBe(2);
    expect((await telemetry.points('gen_ai.client.token.usage')).map((p) => [p.attributes['gen_ai.token.type'], p.count, p.sum])).toEqual([
      ['input', 2, 60],
      ['output', 2, 8],
    ]);
  });

  it('a failed tool call is an execute_tool span with status ERROR and error.type tool_error; the loop goes on', async () => {
    const broken = tool({
      inputSchema: z.object({ city: z.string() }),
      execute: () => {
        throw new Error('weather service unreachable');
      },
    });
    const answer = await lastValueFrom(agent().stream('Weather?', { tools: { weather: broken } }).pipe(traced({ tracer: telemetry.tracer }), collect()));
    expect(answer.steps).toHaveLength(2);
    const { root, tools } = await tree();
    expect(tools[0]!.status.code).toBe(SpanStatusCode.ERROR);
    expect(tools[0]!.attributes['error.type']).toBe('tool_error');
    // Without captureContent the model's error text (which may quote the input) stays out.
    expect(tools[0]!.status.message).not.toContain('unreachable');
    expect(root.status.code).toBe(SpanStatusCode.UNSET);
  });

  it("onToolError: 'throw': the failing call's span and the loop's carry ToolExecutionError", async () => {
    const broken = tool({
      inputSchema: z.object({ city: z.string() }),
      execute: () => {
        throw new Error('weather service unreachable');
      },
    });
    const outcome = await run(agent().stream('Weather?', { tools: { weather: broken }, onToolError: 'throw' }).pipe(traced({ tracer: telemetry.tracer })));
    expect(ToolExecutionError.isInstance(outcome.error)).toBe(true);
    const { root, tools, chats } = await tree();
    expect(chats).toHaveLength(1);
    expect(chats[0]!.status.code).toBe(SpanStatusCode.UNSET);
    expect(tools).toHaveLength(1);
    expect(tools[0]!.attributes['gen_ai.tool.call.id']).toBe('call_w1');
    expect(tools[0]!.status.code).toBe(SpanStatusCode.ERROR);
    expect(tools[0]!.attributes['error.type']).toBe('ToolExecutionError');
    expect(root.status.code).toBe(SpanStatusCode.ERROR);
    expect(root.attributes['error.type']).toBe('ToolExecutionError');
  });

  it('unsubscribing while a tool runs ends the tool span and the loop span as cancelled', async () => {
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const slow = tool({
      inputSchema: z.object({ city: z.string() }),
      execute: (_input, { signal }) =>
        new Promise((_resolve, reject) => {
          started();
          signal.addEventListener('abort', () => reject(signal.reason));
        }),
    });
    const subscription = agent().stream('Weather?', { tools: { weather: slow } }).pipe(traced({ tracer: telemetry.tracer })).subscribe();
    await running;
    subscription.unsubscribe();
    const { root, tools, chats } = await tree();
    expect(chats).toHaveLength(1);
    expect(tools).toHaveLength(1);
    for (const span of [root, tools[0]!]) {
      expect(span.status.code).toBe(SpanStatusCode.UNSET);
      expect(span.attributes['tokenflow.cancelled']).toBe(true);
      expect(span.events.map((e) => e.name)).toEqual(['tokenflow.cancelled']);
    }
    expect(chats[0]!.attributes['tokenflow.cancelled']).toBeUndefined();
  });

  it('captureContent adds the call’s arguments and result, and the answer on the loop span', async () => {
    await lastValueFrom(agent().stream('Weather?', { tools: { weather } }).pipe(traced({ tracer: telemetry.tracer, captureContent: true }), collect()));
    const { root, tools, chats } = await tree();
    expect(tools[0]!.attributes['gen_ai.tool.call.arguments']).toBe('{"city":"Paris"}');
    expect(JSON.parse(tools[0]!.attributes['gen_ai.tool.call.result'] as string)).toEqual({ city: 'Paris', celsius: 21 });
    expect(JSON.parse(chats[0]!.attributes['gen_ai.output.messages'] as string)).toEqual([
      { role: 'assistant', parts: [{ type: 'tool_call', id: 'call_w1', name: 'weather', arguments: { city: 'Paris' } }], finish_reason: 'tool_call' },
    ]);
    expect(JSON.parse(root.attributes['gen_ai.output.messages'] as string)).toEqual([
      { role: 'assistant', parts: [{ type: 'text', content: 'Sunny in Paris.' }], finish_reason: 'stop' },
    ]);
  });

  it('without captureContent, no tool arguments, results or messages', async () => {
    await lastValueFrom(agent().stream('Weather?', { tools: { weather } }).pipe(traced({ tracer: telemetry.tracer }), collect()));
    const { spans } = await tree();
    const text = JSON.stringify(spans.map((s) => s.attributes));
    expect(text).not.toMatch(/Paris|Sunny|celsius|gen_ai\.(input|output)\.messages|gen_ai\.tool\.call\.(arguments|result)/);
  });

  it('with agentName, the loop’s requests run inside the invoke_agent span (SDK and HTTP spans nest under it)', async () => {
    const manager = new AsyncLocalStorageContextManager();
    context.setGlobalContextManager(manager.enable());
    try {
      const activeAtFetch: Array<string | undefined> = [];
      const provider = openai({
        apiKey: 'k',
        baseURL: mock.baseURL,
        maxRetries: 0,
        fetch: (input, init) => {
          activeAtFetch.push(trace.getActiveSpan()?.spanContext().spanId);
          return fetch(input, init);
        },
      });
      const named = new Agent({ provider, model: 'test-model' });
      await lastValueFrom(named.stream('Weather?', { tools: { weather } }).pipe(traced({ tracer: telemetry.tracer, agentName: 'forecaster' }), collect()));
      const { root } = await tree();
      expect(activeAtFetch).toEqual([root.spanContext().spanId, root.spanContext().spanId]);
    } finally {
      context.disable();
    }
  });

  it('with agentName on a plain answer, the agent made one model call: invoke_agent with one chat child', async () => {
    const answer = await lastValueFrom(agent().stream('Hi').pipe(traced({ tracer: telemetry.tracer, agentName: 'greeter' }), collect()));
    const { spans, root, chats } = await tree();
    expect(spans).toHaveLength(2);
    expect(root.name).toBe('invoke_agent greeter');
    expect(chats).toHaveLength(1);
    expect(isChildOf(chats[0]!, root)).toBe(true);
    expect(chats[0]!.attributes).toMatchObject({ 'gen_ai.response.finish_reasons': ['tool_call'], 'gen_ai.usage.output_tokens': 5 });
    expect(root.attributes).toMatchObject({ 'gen_ai.provider.name': 'openai', 'gen_ai.response.finish_reasons': ['tool_call'], 'gen_ai.usage.input_tokens': answer.usage.inputTokens });
  });

  it('the loop read back over SSE gives the same tree', async () => {
    const server = createServer((_request, response) => {
      void pipeSSE(agent().stream('Weather in Paris?', { tools: { weather } }), response);
    });
    const local = await listenLocal(server);
    try {
      await lastValueFrom(agent().stream('Weather in Paris?', { tools: { weather } }).pipe(traced({ tracer: telemetry.tracer }), collect()));
      const direct = shape(await telemetry.spans());
      telemetry = (await telemetry.shutdown(), startTelemetry());
      const relayed: TokenEvent[] = await lastValueFrom(
        fromSSE(local.origin, { mode: 'fetch', reconnect: false }).pipe(traced({ tracer: telemetry.tracer }), toArray()),
      );
      expect(relayed.filter((e) => e.type === 'step-start')).toHaveLength(2);
      const overSSE = await telemetry.spans();
      expect(shape(overSSE)).toEqual(direct);
      expect(overSSE.find((s) => s.name === 'execute_tool weather')?.attributes['gen_ai.tool.call.id']).toBe('call_w1');
    } finally {
      await local.close();
    }
  });
});
