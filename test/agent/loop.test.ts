/**
 * The Agent's tool loop over every adapter, real SDKs and real HTTP against the mock: a two-step
 * weather loop whose follow-up request carries the tool result in the wire's own format, parallel
 * calls in call order under a concurrency limit, failures and invalid input as error results,
 * approval, cancellation reaching the tools and the socket, the step budget, and collect().
 */
import { firstValueFrom, lastValueFrom, Observable } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Agent } from '../../src/agent/agent.js';
import { tool, ToolExecutionError } from '../../src/agent/tools.js';
import type { TokenEvent, ToolResultEvent } from '../../src/events.js';
import { collect } from '../../src/operators/collect.js';
import type { Provider } from '../../src/provider.js';
import { startMockProvider, type MockProvider, type MockProviderOptions, type MockRequest, type MockScript } from '../../src/testing/index.js';
import { ADAPTER_LABELS, flavorOf, makeAdapter, type AdapterLabel } from '../helpers/mock.js';
import { run } from '../helpers/run.js';

/** Starts a mock for the adapter, runs the body with both, always closes the mock. */
async function withAdapter(
  label: AdapterLabel,
  options: Omit<MockProviderOptions, 'flavor'>,
  body: (mock: MockProvider, provider: Provider) => Promise<void>,
): Promise<void> {
  const mock = await startMockProvider({ ...options, flavor: flavorOf(label) });
  try {
    await body(mock, makeAdapter(label, mock.baseURL));
  } finally {
    await mock.close();
  }
}

/** A promise with its resolve and reject exposed: tests decide when a tool finishes. */
function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (error: unknown) => void } {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Resolves once `predicate` holds, checked after every turn of the event loop (a hang is the test timeout). */
async function until(predicate: () => boolean): Promise<void> {
  while (!predicate()) await new Promise((resolve) => setImmediate(resolve));
}

const weatherSchema = z.object({ city: z.string(), unit: z.enum(['c', 'f']).optional() });

/** Step 0 asks for the weather, step 1 answers with text. */
const twoStep = (request: MockRequest): MockScript =>
  request.index === 0
    ? { toolCalls: [{ id: 'call_w1', name: 'weather', arguments: ['{"city":', '"Paris"}'] }], usage: { inputTokens: 20, outputTokens: 5 } }
    : { text: ['Sunny', ' in', ' Paris.'], usage: { inputTokens: 40, outputTokens: 3 } };

/** The event types in order, a call's fragments as one `tool-call` (some wires send a naming fragment first). */
const types = (events: readonly TokenEvent[]) =>
  events.map((e) => e.type).filter((type, i, all) => !(type === 'tool-call' && all[i - 1] === 'tool-call'));

/** The tool results in a follow-up request, in the wire's own shape. */
function wireToolResults(label: AdapterLabel, request: MockRequest | undefined): unknown[] {
  const body = request?.body as { messages?: Array<Record<string, unknown>>; input?: Array<Record<string, unknown>> };
  if (label === 'anthropic') {
    return (body.messages ?? []).flatMap((m) => (Array.isArray(m.content) ? (m.content as Array<Record<string, unknown>>) : [])).filter((b) => b.type === 'tool_result');
  }
  if (label === 'openai-responses') return (body.input ?? []).filter((item) => item.type === 'function_call_output');
  return (body.messages ?? []).filter((m) => m.role === 'tool');
}

describe.each(ADAPTER_LABELS)('tool loop over %s', (label) => {
  it('runs a two-step weather loop: the follow-up request carries the result in the wire format', async () => {
    await withAdapter(label, { script: twoStep }, async (mock, provider) => {
      const agent = new Agent({ provider, model: 'test-model' });
      const seen: unknown[] = [];
      const weather = tool({
        description: 'The weather in a city.',
        inputSchema: weatherSchema,
        execute: ({ city }, { toolCallId, signal }) => {
          seen.push({ city, toolCallId, aborted: signal.aborted });
          return { city, temperature: 21, sky: 'sunny' };
        },
      });
      const { events, completed, error } = await run(agent.stream('Weather in Paris?', { tools: { weather } }));
      expect(error).toBeUndefined();
      expect(completed).toBe(true);
      expect(types(events)).toEqual([
        'step-start', 'start', 'tool-call', 'usage', 'step-finish', 'tool-result',
        'step-start', 'start', 'token', 'token', 'token', 'usage', 'step-finish',
        'usage', 'done',
      ]);
      expect(seen).toEqual([{ city: 'Paris', toolCallId: 'call_w1', aborted: false }]);
      const result = events.find((e): e is ToolResultEvent => e.type === 'tool-result')!;
      expect(result).toMatchObject({ step: 0, id: 'call_w1', name: 'weather', output: { city: 'Paris', temperature: 21, sky: 'sunny' }, isError: false });
      const finishes = events.filter((e) => e.type === 'step-finish');
      expect(finishes.map((e) => [e.step, e.stopReason])).toEqual([[0, 'tool_use'], [1, 'end']]);
      expect(events.at(-1)).toMatchObject({ type: 'done', stopReason: 'end' });
      expect(events.at(-2)).toMatchObject({ type: 'usage', usage: { inputTokens: 60, outputTokens: 8, estimated: false } });
      // Token indices count across the loop; `t` never goes back.
      expect(events.filter((e) => e.type === 'token').map((e) => e.index)).toEqual([0, 1, 2]);
      const times = events.map((e) => e.t);
      expect([...times].sort((a, b) => a - b)).toEqual(times);

      expect(mock.requests).toHaveLength(2);
      // The first request offered the tool with its JSON Schema.
      const first = JSON.stringify(mock.requests[0]!.body);
      expect(first).toContain('"weather"');
      expect(first).toContain('"city"');
      expect(first).not.toContain('$schema');
      // The second sends the call back and its result, in this wire's own shape.
      expect(mock.requests[1]!.toolResults).toEqual([{ toolCallId: 'call_w1', output: '{"city":"Paris","temperature":21,"sky":"sunny"}' }]);
      const wire = wireToolResults(label, mock.requests[1]);
      expect(wire).toHaveLength(1);
      if (label === 'anthropic') expect(wire[0]).toMatchObject({ type: 'tool_result', tool_use_id: 'call_w1' });
      else if (label === 'openai-responses') expect(wire[0]).toMatchObject({ type: 'function_call_output', call_id: 'call_w1' });
      else expect(wire[0]).toMatchObject({ role: 'tool', tool_call_id: 'call_w1' });
      expect(JSON.stringify(mock.requests[1]!.body)).toContain('Weather in Paris?');
    });
  });

  it('collect() over the loop: the last step\'s text, every step, the usage summed, the added messages', async () => {
    await withAdapter(label, { script: twoStep }, async (_mock, provider) => {
      const agent = new Agent({ provider, model: 'test-model' });
      const weather = tool({ inputSchema: weatherSchema, execute: ({ city }) => `${city}: 21°C` });
      const answer = await lastValueFrom(agent.stream('Weather in Paris?', { tools: { weather } }).pipe(collect()));
      expect(answer.content).toBe('Sunny in Paris.');
      expect(answer.stopReason).toBe('end');
      expect(answer.usage).toEqual({ inputTokens: 60, outputTokens: 8, estimated: false });
      expect(answer.steps).toHaveLength(2);
      expect(answer.steps![0]!.content).toBe('');
      expect(answer.steps![0]!.toolCalls).toMatchObject([{ id: 'call_w1', name: 'weather', arguments: '{"city":"Paris"}' }]);
      expect(answer.steps![0]!.toolResults).toMatchObject([{ id: 'call_w1', name: 'weather', output: 'Paris: 21°C', isError: false }]);
      expect(answer.steps![0]!.usage).toEqual({ inputTokens: 20, outputTokens: 5, estimated: false });
      expect(answer.steps![1]!.usage).toEqual({ inputTokens: 40, outputTokens: 3, estimated: false });
      expect(answer.steps![1]!.content).toBe('Sunny in Paris.');
      // Time to first token: per step from the step's request, for the whole from the loop's start.
      expect(answer.steps![1]!.metrics.ttftMs).toBeDefined();
      expect(answer.metrics.ttftMs!).toBeGreaterThanOrEqual(answer.steps![1]!.metrics.ttftMs!);
      expect(answer.metrics.tokens).toBe(3);
      expect(answer.toolCalls).toBeUndefined();
      expect(answer.messages).toEqual([
        { role: 'assistant', content: [{ type: 'tool-call', id: 'call_w1', name: 'weather', input: { city: 'Paris' } }] },
        { role: 'tool', content: [{ type: 'tool-result', toolCallId: 'call_w1', name: 'weather', output: 'Paris: 21°C' }] },
        { role: 'assistant', content: 'Sunny in Paris.' },
      ]);
    });
  });

  it('runs two calls of a step in parallel and sends the results in call order', async () => {
    const script = (request: MockRequest): MockScript =>
      request.index === 0
        ? { toolCalls: [{ id: 'call_a', name: 'weather', arguments: '{"city":"Oslo"}' }, { id: 'call_b', name: 'weather', arguments: '{"city":"Rome"}' }] }
        : { text: 'Cold and warm.' };
    await withAdapter(label, { script }, async (mock, provider) => {
      const gates = new Map([['Oslo', deferred<string>()], ['Rome', deferred<string>()]]);
      const started: string[] = [];
      const weather = tool({
        inputSchema: weatherSchema,
        execute: ({ city }) => {
          started.push(city);
          return gates.get(city)!.promise;
        },
      });
      const agent = new Agent({ provider, model: 'test-model' });
      const outcome = run(agent.stream('Oslo and Rome?', { tools: { weather } }));
      await until(() => started.length === 2); // both run at once
      gates.get('Rome')!.resolve('Rome: 25'); // the second call finishes first
      await new Promise((resolve) => setImmediate(resolve));
      gates.get('Oslo')!.resolve('Oslo: -3');
      const { events, error } = await outcome;
      expect(error).toBeUndefined();
      // Events as the tools finish; the model gets them in call order.
      expect(events.filter((e) => e.type === 'tool-result').map((e) => e.id)).toEqual(['call_b', 'call_a']);
      expect(mock.requests[1]!.toolResults.map((r) => [r.toolCallId, r.output])).toEqual([
        ['call_a', 'Oslo: -3'],
        ['call_b', 'Rome: 25'],
      ]);
    });
  });

  it('honours toolConcurrency: the next call starts only when one finishes', async () => {
    const script = (request: MockRequest): MockScript =>
      request.index === 0
        ? { toolCalls: ['A', 'B', 'C'].map((c, i) => ({ id: `call_${i}`, name: 'weather', arguments: JSON.stringify({ city: c }) })) }
        : { text: 'Done.' };
    await withAdapter(label, { script }, async (mock, provider) => {
      let running = 0;
      let most = 0;
      const gates: Array<{ city: string; gate: ReturnType<typeof deferred<string>> }> = [];
      const weather = tool({
        inputSchema: weatherSchema,
        execute: async ({ city }) => {
          running++;
          most = Math.max(most, running);
          const gate = deferred<string>();
          gates.push({ city, gate });
          try {
            return await gate.promise;
          } finally {
            running--;
          }
        },
      });
      const agent = new Agent({ provider, model: 'test-model' });
      const outcome = run(agent.stream('Three cities?', { tools: { weather }, toolConcurrency: 2 }));
      await until(() => gates.length >= 2);
      await new Promise((resolve) => setImmediate(resolve));
      expect(gates.map((g) => g.city)).toEqual(['A', 'B']);
      gates[1]!.gate.resolve('B ok');
      await until(() => gates.length === 3);
      expect(gates[2]!.city).toBe('C');
      gates[0]!.gate.resolve('A ok');
      gates[2]!.gate.resolve('C ok');
      const { error } = await outcome;
      expect(error).toBeUndefined();
      expect(most).toBe(2);
      expect(mock.requests[1]!.toolResults.map((r) => r.output)).toEqual(['A ok', 'B ok', 'C ok']);
    });
  });

  it('a failing tool becomes an error result the model sees', async () => {
    await withAdapter(label, { script: twoStep }, async (mock, provider) => {
      const weather = tool({
        inputSchema: weatherSchema,
        execute: (): never => {
          throw new Error('weather service unreachable');
        },
      });
      const agent = new Agent({ provider, model: 'test-model' });
      const { events, error } = await run(agent.stream('Weather in Paris?', { tools: { weather } }));
      expect(error).toBeUndefined();
      const result = events.find((e) => e.type === 'tool-result');
      expect(result).toMatchObject({ isError: true, id: 'call_w1' });
      expect(String((result as ToolResultEvent).output)).toContain('weather service unreachable');
      const sent = mock.requests[1]!.toolResults[0]!;
      expect(sent.output).toContain('Tool "weather" failed: weather service unreachable');
      if (label === 'anthropic') expect(sent.isError).toBe(true);
      expect(events.at(-1)).toMatchObject({ type: 'done', stopReason: 'end' });
    });
  });

  it('an invalid input (zod) becomes an error result naming the issue path; execute never runs', async () => {
    const script = (request: MockRequest): MockScript =>
      request.index === 0 ? { toolCalls: [{ id: 'call_bad', name: 'weather', arguments: '{"city":42,"unit":"k"}' }] } : { text: 'Sorry.' };
    await withAdapter(label, { script }, async (mock, provider) => {
      let calls = 0;
      const weather = tool({ inputSchema: weatherSchema, execute: () => ++calls });
      const agent = new Agent({ provider, model: 'test-model' });
      const { events, error } = await run(agent.stream('Weather?', { tools: { weather } }));
      expect(error).toBeUndefined();
      expect(calls).toBe(0);
      const result = events.find((e) => e.type === 'tool-result') as ToolResultEvent;
      expect(result.isError).toBe(true);
      expect(result.output).toMatch(/Invalid input for tool "weather": city: .*; unit: /);
      expect(mock.requests[1]!.toolResults[0]!.output).toMatch(/city: /);
    });
  });

  it('approval denied: the call never runs and the model is told the user denied it', async () => {
    await withAdapter(label, { script: twoStep }, async (mock, provider) => {
      let calls = 0;
      const asked: unknown[] = [];
      const weather = tool({ inputSchema: weatherSchema, needsApproval: true, execute: () => ++calls });
      const agent = new Agent({ provider, model: 'test-model' });
      const { events, error } = await run(
        agent.stream('Weather in Paris?', {
          tools: { weather },
          approve: async (call) => {
            asked.push(call);
            return false;
          },
        }),
      );
      expect(error).toBeUndefined();
      expect(calls).toBe(0);
      expect(asked).toEqual([{ id: 'call_w1', name: 'weather', input: { city: 'Paris' }, step: 0 }]);
      expect(events.find((e) => e.type === 'tool-result')).toMatchObject({ isError: true });
      expect(mock.requests[1]!.toolResults[0]!.output).toContain('denied by the user');
    });
  });

  it('unsubscribing while a tool runs aborts its signal and sends nothing more', async () => {
    await withAdapter(label, { script: twoStep }, async (mock, provider) => {
      let streams = 0;
      const counting: Provider = { ...provider, stream: (request, options) => (streams++, provider.stream(request, options)) };
      const running = deferred<AbortSignal>();
      const finish = deferred<string>();
      const weather = tool({
        inputSchema: weatherSchema,
        execute: (_input, { signal }) => {
          running.resolve(signal);
          return finish.promise; // ignores the abort: the loop must not go on anyway
        },
      });
      const agent = new Agent({ provider: counting, model: 'test-model' });
      const events: TokenEvent[] = [];
      const subscription = agent.stream('Weather in Paris?', { tools: { weather } }).subscribe({ next: (e) => events.push(e) });
      const signal = await running.promise;
      expect(signal.aborted).toBe(false);
      subscription.unsubscribe();
      expect(signal.aborted).toBe(true);
      finish.resolve('Paris: 21');
      await finish.promise;
      await new Promise((resolve) => setImmediate(resolve));
      expect(streams).toBe(1);
      expect(mock.requests).toHaveLength(1);
      expect(events.some((e) => e.type === 'tool-result')).toBe(false);
    });
  });

  it('unsubscribing during a later step aborts that request at the socket', async () => {
    await withAdapter(label, { script: twoStep, faults: (request) => (request.index === 1 ? { stallAfter: 1 } : undefined) }, async (mock, provider) => {
      const weather = tool({ inputSchema: weatherSchema, execute: () => 'ok' });
      const agent = new Agent({ provider, model: 'test-model' });
      await new Promise<void>((resolve) => {
        const subscription = agent.stream('Weather?', { tools: { weather } }).subscribe({
          next: (event) => {
            if (event.type === 'token') {
              subscription.unsubscribe();
              resolve();
            }
          },
        });
      });
      const log = await mock.waitForClose(1);
      expect(log.closedByClient).toBe(true);
    });
  });

  it('stops at maxSteps: the last step\'s calls run, one done with stopReason tool_use', async () => {
    const script = (request: MockRequest): MockScript => ({
      toolCalls: [{ id: `call_${request.index}`, name: 'weather', arguments: '{"city":"Paris"}' }],
      usage: { inputTokens: 10, outputTokens: 2 },
    });
    await withAdapter(label, { script }, async (mock, provider) => {
      let calls = 0;
      const weather = tool({ inputSchema: weatherSchema, execute: () => `call ${++calls}` });
      const agent = new Agent({ provider, model: 'test-model' });
      const answer = await lastValueFrom(agent.stream('Loop forever?', { tools: { weather }, maxSteps: 2 }).pipe(collect()));
      expect(mock.requests).toHaveLength(2);
      expect(calls).toBe(2);
      expect(answer.stopReason).toBe('tool_use');
      expect(answer.steps).toHaveLength(2);
      expect(answer.usage).toEqual({ inputTokens: 20, outputTokens: 4, estimated: false });
      expect(answer.toolCalls).toMatchObject([{ id: 'call_1' }]);
      expect(answer.messages?.at(-1)).toEqual({ role: 'tool', content: [{ type: 'tool-result', toolCallId: 'call_1', name: 'weather', output: 'call 2' }] });
      const { events } = await run(agent.stream('Loop forever?', { tools: { weather }, maxSteps: 1 }));
      expect(events.filter((e) => e.type === 'done')).toHaveLength(1);
      expect(events.filter((e) => e.type === 'step-start')).toHaveLength(1);
      expect(events.at(-1)).toMatchObject({ type: 'done', stopReason: 'tool_use' });
    });
  });
});

describe('tool loop behaviour (anthropic mock)', () => {
  const label: AdapterLabel = 'anthropic';

  it('a tool without execute stops the loop and hands the calls back', async () => {
    await withAdapter(label, { script: twoStep }, async (mock, provider) => {
      const agent = new Agent({ provider, model: 'test-model' });
      const answer = await lastValueFrom(agent.stream('Weather?', { tools: { weather: { inputSchema: weatherSchema } } }).pipe(collect()));
      expect(mock.requests).toHaveLength(1);
      expect(answer.stopReason).toBe('tool_use');
      expect(answer.toolCalls).toMatchObject([{ id: 'call_w1', name: 'weather' }]);
      expect(answer.steps![0]!.toolResults).toBeUndefined();
    });
  });

  it('an unknown tool name becomes an error result listing the tools', async () => {
    const script = (request: MockRequest): MockScript =>
      request.index === 0 ? { toolCalls: [{ id: 'call_x', name: 'forecast', arguments: '{}' }] } : { text: 'Oops.' };
    await withAdapter(label, { script }, async (mock, provider) => {
      const weather = tool({ inputSchema: weatherSchema, execute: () => 'x' });
      const agent = new Agent({ provider, model: 'test-model' });
      const { error } = await run(agent.stream('Forecast?', { tools: { weather } }));
      expect(error).toBeUndefined();
      expect(mock.requests[1]!.toolResults).toEqual([{ toolCallId: 'call_x', output: 'There is no tool named "forecast". Call one of: weather.', isError: true }]);
    });
  });

  it("onToolError: 'throw' errors the stream with ToolExecutionError carrying the partial text", async () => {
    const script = (request: MockRequest): MockScript =>
      request.index === 0 ? { text: 'Let me check.', toolCalls: [{ id: 'call_w1', name: 'weather', arguments: '{"city":"Paris"}' }] } : { text: 'never' };
    await withAdapter(label, { script }, async (mock, provider) => {
      const cause = new Error('down');
      const weather = tool({
        inputSchema: weatherSchema,
        execute: () => Promise.reject(cause),
      });
      const agent = new Agent({ provider, model: 'test-model' });
      const { error } = await run(agent.stream('Weather?', { tools: { weather }, onToolError: 'throw' }));
      expect(ToolExecutionError.isInstance(error)).toBe(true);
      const e = error as ToolExecutionError;
      expect(e).toMatchObject({ toolName: 'weather', toolCallId: 'call_w1', failure: 'execute-failed', partialText: 'Let me check.' });
      expect(e.cause).toBe(cause);
      expect(mock.requests).toHaveLength(1);
    });
  });

  it("an aborted signal during a tool errors with StreamAbortedError and aborts the tool", async () => {
    await withAdapter(label, { script: twoStep }, async (mock, provider) => {
      const running = deferred<AbortSignal>();
      const weather = tool({
        inputSchema: weatherSchema,
        execute: (_input, { signal }) => {
          running.resolve(signal);
          return new Promise<string>(() => undefined);
        },
      });
      const controller = new AbortController();
      const agent = new Agent({ provider, model: 'test-model' });
      const outcome = run(agent.stream('Weather?', { tools: { weather }, signal: controller.signal }));
      const signal = await running.promise;
      controller.abort();
      const { error } = await outcome;
      expect(error).toMatchObject({ name: 'StreamAbortedError' });
      expect(signal.aborted).toBe(true);
      expect(mock.requests).toHaveLength(1);
    });
  });

  it('processMessage and processMessageStreaming run the loop: onToken across steps, onToolCall, onToolResult', async () => {
    const script = (request: MockRequest): MockScript =>
      request.index % 2 === 0
        ? { text: 'Checking.', toolCalls: [{ id: 'call_w1', name: 'weather', arguments: '{"city":"Paris"}' }] }
        : { text: ' Sunny.' };
    await withAdapter(label, { script }, async (mock, provider) => {
      const weather = tool({ inputSchema: weatherSchema, execute: () => 'sunny' });
      const agent = new Agent({ provider, model: 'test-model' });
      const plain = await agent.processMessage('Weather?', { tools: { weather } });
      expect(plain.content).toBe(' Sunny.');
      expect(plain.steps).toHaveLength(2);
      const log: string[] = [];
      const streamed = await agent.processMessageStreaming('Weather?', {
        tools: { weather },
        onToken: (token) => void log.push(`token:${token}`),
        onToolCall: (call, step) => void log.push(`call:${call.id}:${call.arguments}:${step}`),
        onToolResult: (result) => void log.push(`result:${result.id}:${String(result.output)}`),
      });
      expect(streamed.content).toBe(' Sunny.');
      expect(log).toEqual(['token:Checking.', 'call:call_w1:{"city":"Paris"}:0', 'result:call_w1:sunny', 'token: Sunny.']);
      expect(mock.requests).toHaveLength(4);
    });
  });
});

describe('tool loop options are checked before anything is sent', () => {
  const provider: Provider = {
    stream: () => {
      throw new Error('nothing may be sent');
    },
    complete: () => Promise.reject(new Error('nothing may be sent')),
  } as unknown as Provider;
  const agent = new Agent({ provider, model: 'm' });
  const weather = tool({ inputSchema: weatherSchema, execute: () => 'x' });
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ['tools not an object', { tools: 'weather' }, 'stream() options.tools'],
    ['a tool without inputSchema', { tools: { weather: { execute: () => 1 } } }, 'stream() options.tools.weather.inputSchema'],
    ['a schema that is not a schema', { tools: { weather: { inputSchema: 'city: string' } } }, 'stream() options.tools.weather.inputSchema'],
    ['a schema of a non-object', { tools: { weather: { inputSchema: z.string() } } }, 'stream() options.tools.weather.inputSchema'],
    ['maxSteps below 1', { tools: { weather }, maxSteps: 0 }, 'stream() options.maxSteps'],
    ['a fractional toolConcurrency', { tools: { weather }, toolConcurrency: 1.5 }, 'stream() options.toolConcurrency'],
    ['toolConcurrency 0', { tools: { weather }, toolConcurrency: 0 }, 'stream() options.toolConcurrency'],
    ['an unknown onToolError', { tools: { weather }, onToolError: 'ignore' }, 'stream() options.onToolError'],
    ['approve not a function', { tools: { weather }, approve: true }, 'stream() options.approve'],
    ['needsApproval without approve', { tools: { weather: { ...weather, needsApproval: true } } }, 'stream() options.approve'],
  ];
  it.each(cases)('%s', async (_name, options, field) => {
    const error = await firstValueFrom(agent.stream('Hi', options) as Observable<TokenEvent>).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'InvalidArgumentError', field });
  });
});

describe('a provider stream the loop cannot read', () => {
  it('errors the loop stream (not an uncaught exception) and lets go of the step', async () => {
    let unsubscribed = false;
    const provider = {
      name: 'custom',
      stream: () =>
        new Observable<TokenEvent>((subscriber) => {
          subscriber.next({ type: 'start', provider: 'custom', model: 'm', t: 0 });
          // Not an event: folding it into the step throws inside the loop's handler.
          subscriber.next(null as unknown as TokenEvent);
          return () => {
            unsubscribed = true;
          };
        }),
      complete: () => Promise.reject(new Error('not used')),
    } as unknown as Provider;
    const agent = new Agent({ provider, model: 'm' });
    const seen: string[] = [];
    const error = await new Promise<unknown>((resolve) => {
      agent.stream('Hi', { tools: { weather: tool({ inputSchema: weatherSchema, execute: () => 'x' }) } }).subscribe({
        next: (event) => seen.push(event.type),
        error: resolve,
        complete: () => resolve(new Error('completed')),
      });
    });
    expect(error).toBeInstanceOf(TypeError);
    expect(seen).toEqual(['step-start', 'start']);
    expect(unsubscribed).toBe(true);
  });
});
