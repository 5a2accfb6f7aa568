import { Observable, type OperatorFunction } from 'rxjs';
import { describe, expectTypeOf, it } from 'vitest';
import {
  Agent,
  collect,
  deltas,
  metrics,
  progress,
  retryBeforeFirstToken,
  smooth,
  streamWithCallbacks,
  text,
  toAsyncIterable,
  toolInputs,
  usage,
  type ToolInputUpdate,
  type AgentResponse,
  type AssistantMessage,
  type ChatMessage,
  type ProviderToolCall,
  type ReasoningBlock,
  type StopReason,
  type StreamMetrics,
  type TokenEvent,
  type Usage,
  tool,
  ToolExecutionError,
  type StepFinishEvent,
  type Tool,
  type ToolApprovalRequest,
  type ToolCall,
  type ToolResultEvent,
  type ToolSet,
} from '../src/index.js';
import { object, partialObject, ValidationError, type ChatRequest, type DeepPartial, type OutputSpec } from '../src/index.js';
import { z } from 'zod';
import * as v from 'valibot';
import { fromSSE } from '../src/client/index.js';
import { Redis } from 'ioredis';
import { RedisChannelLog, RedisStreamHub } from '../src/redis/index.js';
import { StreamHub, toSSE, type ChannelLog, type HubMessage } from '../src/sse/index.js';
import { useTokenStream, type TokenStream, type TokenStreamSource, type TokenStreamStatus, type ToolCallActivity } from '../src/react/index.js';

declare const tokens$: Observable<TokenEvent>;

describe('public API types', () => {
  it('operators carry their result types through pipe()', () => {
    expectTypeOf(text()).toEqualTypeOf<OperatorFunction<TokenEvent, string>>();
    expectTypeOf(tokens$.pipe(deltas())).toEqualTypeOf<Observable<string>>();
    expectTypeOf(tokens$.pipe(collect())).toEqualTypeOf<Observable<AgentResponse>>();
    expectTypeOf(tokens$.pipe(usage())).toEqualTypeOf<Observable<Usage>>();
    expectTypeOf(tokens$.pipe(metrics())).toEqualTypeOf<Observable<StreamMetrics>>();
    expectTypeOf(tokens$.pipe(progress())).toEqualTypeOf<Observable<StreamMetrics>>();
    expectTypeOf(tokens$.pipe(retryBeforeFirstToken(), smooth(), text())).toEqualTypeOf<Observable<string>>();
  });

  it('toolInputs() updates narrow on type: a call with unknown input, or a reset', () => {
    expectTypeOf(tokens$.pipe(toolInputs())).toEqualTypeOf<Observable<ToolInputUpdate>>();
    tokens$.pipe(toolInputs()).subscribe((update) => {
      if (update.type === 'tool-input') {
        expectTypeOf(update.input).toEqualTypeOf<unknown>();
        expectTypeOf(update.done).toEqualTypeOf<boolean>();
        expectTypeOf(update.step).toEqualTypeOf<number | undefined>();
        expectTypeOf(update.error).toEqualTypeOf<string | undefined>();
      } else {
        expectTypeOf(update.type).toEqualTypeOf<'reset'>();
        expectTypeOf(update.reason).toEqualTypeOf<string>();
      }
    });
  });

  it('provider-run tools, citations and signed reasoning narrow, and reach AgentResponse', () => {
    tokens$.subscribe((event) => {
      if (event.type === 'provider-tool') {
        expectTypeOf(event.phase).toEqualTypeOf<'call' | 'result'>();
        expectTypeOf(event.block).toEqualTypeOf<Record<string, unknown>>();
      }
      if (event.type === 'citation') expectTypeOf(event.citation).toEqualTypeOf<Record<string, unknown>>();
      if (event.type === 'reasoning') expectTypeOf(event.signature).toEqualTypeOf<string | undefined>();
      if (event.type === 'tool-call') expectTypeOf(event.kind).toEqualTypeOf<string | undefined>();
      // Provider data that goes back on the next turn (Responses reasoning items, Anthropic `caller`).
      if (event.type === 'reasoning') expectTypeOf(event.providerData).toEqualTypeOf<Record<string, unknown> | undefined>();
      if (event.type === 'tool-call') expectTypeOf(event.providerData).toEqualTypeOf<Record<string, unknown> | undefined>();
    });
    expectTypeOf<AgentResponse['providerTools']>().toEqualTypeOf<ProviderToolCall[] | undefined>();
    expectTypeOf<AgentResponse['reasoningBlocks']>().toEqualTypeOf<ReasoningBlock[] | undefined>();
    expectTypeOf<'pause_turn'>().toMatchTypeOf<StopReason>();
  });

  it('events narrow on type', () => {
    tokens$.subscribe((event) => {
      if (event.type === 'token') expectTypeOf(event.text).toBeString();
      if (event.type === 'usage') expectTypeOf(event.usage).toEqualTypeOf<Usage>();
      // @ts-expect-error a done event has no text
      if (event.type === 'done') void event.text;
    });
  });

  it('the callback bridge accepts handlers returning anything, and resolves to an AgentResponse', () => {
    expectTypeOf(streamWithCallbacks(tokens$, { onToken: (t) => process.stdout.write(t) })).toEqualTypeOf<Promise<AgentResponse>>();
    expectTypeOf(streamWithCallbacks(tokens$, { onToken: async (t, event) => void [t, event.index] })).toEqualTypeOf<Promise<AgentResponse>>();
    // @ts-expect-error unknown option
    void streamWithCallbacks(tokens$, { onTokens: () => {} });
    expectTypeOf(toAsyncIterable(tokens$)).toEqualTypeOf<AsyncIterable<TokenEvent>>();
  });

  it('the Agent returns streams and answers', () => {
    const agent = new Agent({ provider: { name: 'x', stream: () => tokens$, complete: async () => ({}) as AgentResponse }, model: 'm' });
    expectTypeOf(agent.stream('hi')).toEqualTypeOf<Observable<TokenEvent>>();
    expectTypeOf(agent.processMessage('hi', { context: { user: 'ada' } })).toEqualTypeOf<Promise<AgentResponse>>();
    // @ts-expect-error context is an object or a string
    void agent.processMessage('hi', { context: 42 });
  });

  it('the SSE hub and the client keep the event type end to end', () => {
    const hub = new StreamHub();
    expectTypeOf(hub.publish('c', tokens$)).toEqualTypeOf<Promise<void>>();
    expectTypeOf(hub.subscribe('c')).toEqualTypeOf<Observable<HubMessage>>();
    expectTypeOf<HubMessage['event']>().toEqualTypeOf<TokenEvent>();
    expectTypeOf(hub.stop('c')).toEqualTypeOf<Promise<boolean>>();
    expectTypeOf(toSSE(tokens$)).toEqualTypeOf<ReadableStream<Uint8Array>>();
    expectTypeOf(fromSSE('/s')).toEqualTypeOf<Observable<TokenEvent>>();
    expectTypeOf(fromSSE('/s').pipe(text())).toEqualTypeOf<Observable<string>>();
    // authorize may be async and may answer with a status
    void new StreamHub({ authorize: async (request, channel, action) => (action === 'stop' ? { status: 401 } : request.header('x') === channel.meta.owner) });
    // @ts-expect-error 404 is the hub's own answer, not authorize's
    void new StreamHub({ authorize: () => ({ status: 404 }) });
    // @ts-expect-error fromSSE's mode is eventsource or fetch
    void fromSSE('/s', { mode: 'websocket' });
  });

  it('tokenflow/react: useTokenStream takes an Observable, a factory, a URL or nothing, and returns the state with stop()', () => {
    expectTypeOf(useTokenStream).parameter(0).toEqualTypeOf<TokenStreamSource>();
    expectTypeOf(useTokenStream(tokens$)).toEqualTypeOf<TokenStream>();
    expectTypeOf(useTokenStream(() => fromSSE('/s'), { sse: { withCredentials: true } })).toEqualTypeOf<TokenStream>();
    const stream = useTokenStream('/api/streams/c');
    expectTypeOf(stream.text).toEqualTypeOf<string>();
    expectTypeOf(stream.status).toEqualTypeOf<TokenStreamStatus>();
    expectTypeOf(stream.stopReason).toEqualTypeOf<StopReason | undefined>();
    expectTypeOf(stream.metrics.ttftMs).toEqualTypeOf<number | undefined>();
    expectTypeOf(stream.metrics.usage).toEqualTypeOf<Usage | undefined>();
    expectTypeOf(stream.toolCalls).toEqualTypeOf<ToolCallActivity[]>();
    expectTypeOf(stream.error).toEqualTypeOf<Error | undefined>();
    expectTypeOf(stream.stop).toEqualTypeOf<() => void>();
    void useTokenStream(null);
    // @ts-expect-error a stream of strings is not a token stream
    void useTokenStream(tokens$.pipe(text()));
    // @ts-expect-error fromSSE's options go under `sse`
    void useTokenStream('/s', { withCredentials: true });
  });

  it('the Redis hub is a StreamHub, built from an ioredis client or a URL', () => {
    const hub = new RedisStreamHub({ redis: new Redis('redis://127.0.0.1:6379'), leaseMs: 5_000, graceMs: 30_000 });
    expectTypeOf(hub).toMatchTypeOf<StreamHub>();
    expectTypeOf(hub.subscribe('c')).toEqualTypeOf<Observable<HubMessage>>();
    expectTypeOf(hub.log).toEqualTypeOf<RedisChannelLog>();
    expectTypeOf(new RedisChannelLog({ redis: 'redis://127.0.0.1:6379' })).toMatchTypeOf<ChannelLog>();
    // @ts-expect-error redis is required
    void new RedisStreamHub({ leaseMs: 5_000 });
    // @ts-expect-error the log is Redis: a log of your own goes to StreamHub
    void new RedisStreamHub({ redis: 'redis://127.0.0.1:6379', log: new RedisChannelLog({ redis: 'redis://127.0.0.1:6379' }) });
  });

  it('messages with parts: narrowed by role, and AgentResponse.message goes back into history', () => {
    expectTypeOf<AgentResponse['message']>().toEqualTypeOf<AssistantMessage>();
    const history: ChatMessage[] = [
      { role: 'user', content: [{ type: 'text', text: 'Weather?' }, { type: 'image', image: 'https://example.test/a.png' }] },
      { role: 'assistant', content: [{ type: 'tool-call', id: 'call_1', name: 'weather', input: { city: 'Oslo' } }] },
      { role: 'tool', content: [{ type: 'tool-result', toolCallId: 'call_1', name: 'weather', output: '4 °C' }] },
    ];
    expectTypeOf(history).toEqualTypeOf<ChatMessage[]>();
    // @ts-expect-error a tool call is the assistant's, never the user's
    const wrong: ChatMessage = { role: 'user', content: [{ type: 'tool-call', id: 'x', name: 'y', input: {} }] };
    void wrong;
    const message = {} as ChatMessage;
    if (message.role === 'tool') expectTypeOf(message.content[0]!.toolCallId).toEqualTypeOf<string>();
  });

  it('tools: execute infers its input from a Standard Schema; a tool set mixes tools; the loop events are typed', () => {
    const weather = tool({
      inputSchema: z.object({ city: z.string(), days: z.number().optional() }),
      execute: (input, context) => {
        expectTypeOf(input).toEqualTypeOf<{ city: string; days?: number | undefined }>();
        expectTypeOf(context.signal).toEqualTypeOf<AbortSignal>();
        expectTypeOf(context.toolCallId).toEqualTypeOf<string>();
        return { temperature: 21 };
      },
      needsApproval: (input) => input.city === 'Atlantis',
    });
    expectTypeOf(weather).toEqualTypeOf<Tool<{ city: string; days?: number | undefined }, { temperature: number }>>();
    const valibot = tool({
      inputSchema: v.object({ q: v.string() }),
      jsonSchema: { type: 'object', properties: { q: { type: 'string' } } },
      execute: ({ q }) => q.length,
    });
    const json = tool<{ city: string }, string>({ inputSchema: { type: 'object', properties: { city: { type: 'string' } } }, execute: ({ city }) => city });
    const tools: ToolSet = { weather, valibot, json, manual: { inputSchema: { type: 'object' } } };
    // @ts-expect-error the input is the schema's: city is a string
    tool({ inputSchema: z.object({ city: z.string() }), execute: (input: { city: number }) => input.city });

    const agent = {} as Agent;
    const stream$ = agent.stream('Weather?', {
      tools,
      maxSteps: 3,
      toolConcurrency: 2,
      onToolError: 'throw',
      approve: (call) => {
        expectTypeOf(call).toEqualTypeOf<ToolApprovalRequest>();
        return Promise.resolve(true);
      },
    });
    expectTypeOf(stream$).toEqualTypeOf<Observable<TokenEvent>>();
    // @ts-expect-error onToolError is 'result' or 'throw'
    agent.stream('Weather?', { tools, onToolError: 'ignore' });
    void agent.processMessageStreaming('Weather?', {
      tools,
      onToolCall: (call, step) => {
        expectTypeOf(call).toEqualTypeOf<ToolCall>();
        expectTypeOf(step).toEqualTypeOf<number>();
      },
      onToolResult: (result) => expectTypeOf(result).toEqualTypeOf<ToolResultEvent>(),
    });

    const event = {} as TokenEvent;
    if (event.type === 'step-finish') expectTypeOf(event).toEqualTypeOf<StepFinishEvent>();
    if (event.type === 'tool-result') expectTypeOf(event.output).toEqualTypeOf<unknown>();
    expectTypeOf<AgentResponse['steps']>().toEqualTypeOf<AgentResponse[] | undefined>();
    expectTypeOf<ChatMessage[] | undefined>().toEqualTypeOf<AgentResponse['messages']>();
    const error = {} as unknown;
    if (ToolExecutionError.isInstance(error)) expectTypeOf(error.failure).toEqualTypeOf<'unknown-tool' | 'invalid-input' | 'execute-failed'>();
  });
  it('structured output: partials are DeepPartial of the schema, object() is its output', () => {
    const Person = z.object({ name: z.string(), tags: z.array(z.string()), age: z.number().transform(String) });
    expectTypeOf(partialObject({ schema: Person })).toEqualTypeOf<
      OperatorFunction<TokenEvent, DeepPartial<{ name: string; tags: string[]; age: string }> | undefined>
    >();
    expectTypeOf(object({ schema: Person })).toEqualTypeOf<OperatorFunction<TokenEvent, { name: string; tags: string[]; age: string }>>();
    expectTypeOf(object()).toEqualTypeOf<OperatorFunction<TokenEvent, unknown>>();
    expectTypeOf<DeepPartial<{ a: { b: number[] } }>>().toEqualTypeOf<{ a?: { b?: number[] } }>();
    const request: ChatRequest = { model: 'm', messages: [], output: { schema: Person, name: 'person', strict: true } };
    expectTypeOf(request.output).toEqualTypeOf<OutputSpec | undefined>();
    // @ts-expect-error a schema is required
    const missing: OutputSpec = { name: 'x' };
    void missing;
    new Agent({ provider: {} as never, model: 'm' }).stream('Hi', { output: { schema: { type: 'object' } } });
    const error = {} as unknown;
    if (ValidationError.isInstance(error)) {
      expectTypeOf(error.text).toEqualTypeOf<string>();
      expectTypeOf(error.issues).toEqualTypeOf<readonly string[]>();
      expectTypeOf(error.failure).toEqualTypeOf<'invalid-json' | 'schema-mismatch' | 'refusal' | 'max_tokens'>();
    }
  });
});
