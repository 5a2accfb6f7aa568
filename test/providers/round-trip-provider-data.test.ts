/**
 * Provider data that must go back with an answer on the next turn of a tool loop, through the real
 * SDKs over HTTP with hand-written wire streams: a Responses reasoning item (its `id`, `summary`,
 * `encrypted_content`) before the function call it led to, and an Anthropic `tool_use` made by code
 * execution (its `caller`). Also: how the wire mappers report them, and that `fromSSE()` refuses a
 * `providerData` that is not an object.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { lastValueFrom } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Agent } from '../../src/agent/agent.js';
import { tool } from '../../src/agent/tools.js';
import { fromSSE } from '../../src/client/index.js';
import { ProtocolError } from '../../src/errors.js';
import type { ReasoningEvent, TokenEvent, ToolCallEvent } from '../../src/events.js';
import { collect } from '../../src/operators/collect.js';
import { createAnthropicMapper } from '../../src/providers/anthropic-wire.js';
import { toAnthropicMessages } from '../../src/providers/messages-anthropic.js';
import { startMockProvider, type MockScript, type RawScript } from '../../src/testing/index.js';
import { makeAdapter } from '../helpers/mock.js';
import { feed } from '../helpers/recording-sink.js';
import { run } from '../helpers/run.js';

/** One SSE frame of a typed wire (`event: <type>` with the same `type` in its data). */
const frame = (data: { type: string } & Record<string, unknown>): string => `event: ${data.type}\ndata: ${JSON.stringify(data)}\n\n`;

const REASONING_ITEM = {
  id: 'rs_0RoundTrip',
  type: 'reasoning',
  summary: [
    { type: 'summary_text', text: '**Weather** needs a lookup.' },
    { type: 'summary_text', text: 'Call the tool.' },
  ],
  encrypted_content: 'gAAAAABoRoundTripEncryptedReasoning==',
};
const CALL_ITEM = { id: 'fc_0RoundTrip', type: 'function_call', status: 'completed', call_id: 'call_rt1', name: 'weather', arguments: '{"city":"Paris"}' };
const RESPONSE = { id: 'resp_0RoundTrip', object: 'response', created_at: 1764000000, model: 'o4-mini-2025-04-16', error: null, incomplete_details: null };

/**
 * A reasoning model's step 0 over the Responses wire: a reasoning item with a two-part summary
 * (streamed) and its encrypted content (only in the finished item), then a function call.
 */
const RESPONSES_STEP_0 = [
  frame({ type: 'response.created', sequence_number: 0, response: { ...RESPONSE, status: 'in_progress', output: [], usage: null } }),
  frame({ type: 'response.output_item.added', sequence_number: 1, output_index: 0, item: { id: REASONING_ITEM.id, type: 'reasoning', summary: [] } }),
  frame({ type: 'response.reasoning_summary_text.delta', sequence_number: 2, item_id: REASONING_ITEM.id, output_index: 0, summary_index: 0, delta: '**Weather**' }),
  frame({ type: 'response.reasoning_summary_text.delta', sequence_number: 3, item_id: REASONING_ITEM.id, output_index: 0, summary_index: 0, delta: ' needs a lookup.' }),
  frame({ type: 'response.reasoning_summary_text.delta', sequence_number: 4, item_id: REASONING_ITEM.id, output_index: 0, summary_index: 1, delta: 'Call the tool.' }),
  frame({ type: 'response.output_item.done', sequence_number: 5, output_index: 0, item: REASONING_ITEM }),
  frame({ type: 'response.output_item.added', sequence_number: 6, output_index: 1, item: { ...CALL_ITEM, status: 'in_progress', arguments: '' } }),
  frame({ type: 'response.function_call_arguments.delta', sequence_number: 7, item_id: CALL_ITEM.id, output_index: 1, delta: '{"city":' }),
  frame({ type: 'response.function_call_arguments.delta', sequence_number: 8, item_id: CALL_ITEM.id, output_index: 1, delta: '"Paris"}' }),
  frame({ type: 'response.output_item.done', sequence_number: 9, output_index: 1, item: CALL_ITEM }),
  frame({
    type: 'response.completed',
    sequence_number: 10,
    response: {
      ...RESPONSE,
      status: 'completed',
      output: [REASONING_ITEM, CALL_ITEM],
      usage: { input_tokens: 40, input_tokens_details: { cached_tokens: 0 }, output_tokens: 90, output_tokens_details: { reasoning_tokens: 64 }, total_tokens: 130 },
    },
  }),
].join('');

const weather = tool({
  description: 'The weather in a city.',
  inputSchema: z.object({ city: z.string() }),
  execute: ({ city }) => ({ city, sky: 'sunny' }),
});

describe('Responses reasoning items round-trip', () => {
  it('a two-step loop sends the reasoning item back unchanged before the function call and its output', async () => {
    const mock = await startMockProvider({
      flavor: 'openai',
      script: (request): MockScript | RawScript => (request.index === 0 ? { raw: RESPONSES_STEP_0 } : { text: 'Sunny in Paris.' }),
    });
    try {
      const agent = new Agent({ provider: makeAdapter('openai-responses', mock.baseURL), model: 'o4-mini' });
      const { events, error, completed } = await run(agent.stream('Weather in Paris?', { tools: { weather } }));
      expect(error).toBeUndefined();
      expect(completed).toBe(true);

      // The item is reported once, when it is finished, after its summary's text.
      const reasoning = events.filter((e): e is ReasoningEvent => e.type === 'reasoning');
      expect(reasoning.map((e) => e.text)).toEqual(['**Weather**', ' needs a lookup.', 'Call the tool.', '']);
      const { type: _type, ...data } = REASONING_ITEM;
      expect(reasoning.at(-1)!.providerData).toEqual(data);

      expect(mock.requests).toHaveLength(2);
      const input = (mock.requests[1]!.body as { input: Array<Record<string, unknown>> }).input;
      expect(input).toEqual([
        { role: 'user', content: 'Weather in Paris?' },
        REASONING_ITEM,
        { type: 'function_call', call_id: 'call_rt1', name: 'weather', arguments: '{"city":"Paris"}' },
        { type: 'function_call_output', call_id: 'call_rt1', output: '{"city":"Paris","sky":"sunny"}' },
      ]);
    } finally {
      await mock.close();
    }
  });

  it('collect() keeps the item in reasoningBlocks and in the message, before the call', async () => {
    const mock = await startMockProvider({ flavor: 'openai', script: { raw: RESPONSES_STEP_0 } });
    try {
      const provider = makeAdapter('openai-responses', mock.baseURL);
      const answer = await lastValueFrom(provider.stream({ model: 'o4-mini', messages: [{ role: 'user', content: 'Weather in Paris?' }] }).pipe(collect()));
      const { type: _type, ...data } = REASONING_ITEM;
      const text = '**Weather** needs a lookup.Call the tool.';
      expect(answer.reasoning).toBe(text);
      expect(answer.reasoningBlocks).toEqual([{ text, providerData: data }]);
      expect(answer.message).toEqual({
        role: 'assistant',
        content: [
          { type: 'reasoning', text, providerData: data },
          { type: 'tool-call', id: 'call_rt1', name: 'weather', input: { city: 'Paris' } },
        ],
      });
    } finally {
      await mock.close();
    }
  });

  it('an item without a summary (none asked for) still goes back, as an empty reasoning part', async () => {
    const bare = { id: 'rs_0Bare', type: 'reasoning', summary: [], encrypted_content: 'gAAAAABoBare==' };
    const raw = [
      frame({ type: 'response.created', sequence_number: 0, response: { ...RESPONSE, status: 'in_progress', output: [], usage: null } }),
      frame({ type: 'response.output_item.added', sequence_number: 1, output_index: 0, item: { ...bare, encrypted_content: undefined } }),
      frame({ type: 'response.output_item.done', sequence_number: 2, output_index: 0, item: bare }),
      frame({ type: 'response.output_item.done', sequence_number: 3, output_index: 1, item: { ...CALL_ITEM } }),
      // The terminal response repeats the item: it is not reported twice.
      frame({ type: 'response.completed', sequence_number: 4, response: { ...RESPONSE, status: 'completed', output: [bare, CALL_ITEM], usage: null } }),
    ].join('');
    const mock = await startMockProvider({ flavor: 'openai', script: { raw } });
    try {
      const provider = makeAdapter('openai-responses', mock.baseURL);
      const answer = await lastValueFrom(provider.stream({ model: 'o4-mini', messages: [{ role: 'user', content: 'Hi' }] }).pipe(collect()));
      expect(answer.message.content).toEqual([
        { type: 'reasoning', text: '', providerData: { id: 'rs_0Bare', summary: [], encrypted_content: 'gAAAAABoBare==' } },
        { type: 'tool-call', id: 'call_rt1', name: 'weather', input: { city: 'Paris' } },
      ]);
      expect(answer.reasoningBlocks).toHaveLength(1);
    } finally {
      await mock.close();
    }
  });
});

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'anthropic');
const CALLER = { type: 'code_execution_20250825', tool_id: 'srvtoolu_01TokenflowProgram' };

describe('Anthropic tool_use.caller round-trip', () => {
  it('a call made by code execution goes back on the next turn with its caller, after the code execution call', async () => {
    // Programmatic tool calling: a code_execution call, then a tool_use whose caller is that call.
    const step0 = readFileSync(join(FIXTURES, 'programmatic-tool-call.sse'));
    const mock = await startMockProvider({
      flavor: 'anthropic',
      script: (request): MockScript | RawScript => (request.index === 0 ? { raw: step0 } : { text: 'West leads.' }),
    });
    try {
      const queries: string[] = [];
      const queryDatabase = tool({
        inputSchema: z.object({ sql: z.string() }),
        execute: ({ sql }) => {
          queries.push(sql);
          return [{ sum: 42 }];
        },
      });
      const agent = new Agent({ provider: makeAdapter('anthropic', mock.baseURL), model: 'claude-sonnet-4-5' });
      const { events, error } = await run(agent.stream('Revenue by region?', { tools: { query_database: queryDatabase } }));
      expect(error).toBeUndefined();
      expect(queries).toEqual(["SELECT SUM(revenue) FROM sales WHERE region = 'West'"]);

      // The first fragment carries the caller; the call is still the application's to answer.
      const first = events.find((e): e is ToolCallEvent => e.type === 'tool-call');
      expect(first).toMatchObject({ id: 'toolu_01TokenflowQuery', name: 'query_database', providerData: { caller: CALLER } });

      expect(mock.requests).toHaveLength(2);
      const messages = (mock.requests[1]!.body as { messages: Array<{ role: string; content: unknown }> }).messages;
      const assistant = messages[1]!.content as Array<Record<string, unknown>>;
      expect(assistant.map((b) => b.type)).toEqual(['text', 'server_tool_use', 'tool_use']);
      expect(assistant[2]).toEqual({
        type: 'tool_use',
        id: 'toolu_01TokenflowQuery',
        name: 'query_database',
        input: { sql: "SELECT SUM(revenue) FROM sales WHERE region = 'West'" },
        caller: CALLER,
      });
      expect(messages[2]).toEqual({
        role: 'user',
        content: [{ type: 'tool_result', tool_use_id: 'toolu_01TokenflowQuery', content: '[{"sum":42}]' }],
      });
    } finally {
      await mock.close();
    }
  });

  const start = { type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude', content: [], stop_reason: null, usage: { input_tokens: 5, output_tokens: 1 } } };
  const toolUse = (caller: unknown) => ({
    type: 'content_block_start',
    index: 0,
    content_block: { type: 'tool_use', id: 'toolu_1', name: 'lookup', input: {}, ...(caller === undefined ? {} : { caller }) },
  });

  it('a direct caller, or none, adds no provider data; a caller that is not an object is a ProtocolError', () => {
    for (const caller of [undefined, null, { type: 'direct' }]) {
      const sink = feed(createAnthropicMapper(), [['message_start', start], ['content_block_start', toolUse(caller)]]);
      expect(sink.calls.find((c) => c[0] === 'toolCall')).toEqual(['toolCall', 0, 'toolu_1', 'lookup', '']);
    }
    const sink = feed(createAnthropicMapper(), [['message_start', start], ['content_block_start', toolUse(CALLER)]]);
    expect(sink.calls.find((c) => c[0] === 'toolCall')).toEqual(['toolCall', 0, 'toolu_1', 'lookup', '', undefined, { caller: CALLER }]);
    expect(() => feed(createAnthropicMapper(), [['message_start', start], ['content_block_start', toolUse('code')]])).toThrow(ProtocolError);
  });

  it('a tool-call part sends its caller back on tool_use, and only an object caller', () => {
    const request = (providerData: Record<string, unknown> | undefined) => ({
      model: 'claude',
      messages: [
        { role: 'user' as const, content: 'Go.' },
        {
          role: 'assistant' as const,
          content: [{ type: 'tool-call' as const, id: 'toolu_1', name: 'lookup', input: {}, ...(providerData ? { providerData } : {}) }],
        },
      ],
    });
    const block = (providerData: Record<string, unknown> | undefined) =>
      (toAnthropicMessages(request(providerData)).messages[1]!.content as unknown as Array<Record<string, unknown>>)[0];
    expect(block({ caller: CALLER })).toEqual({ type: 'tool_use', id: 'toolu_1', name: 'lookup', input: {}, caller: CALLER });
    expect(block(undefined)).toEqual({ type: 'tool_use', id: 'toolu_1', name: 'lookup', input: {} });
    // Another provider's data has no caller: nothing is added.
    expect(block({ id: 'fc_1' })).toEqual({ type: 'tool_use', id: 'toolu_1', name: 'lookup', input: {} });
  });
});

describe('fromSSE() and providerData', () => {
  const serve = (events: readonly unknown[]): typeof fetch =>
    (async () =>
      new Response(events.map((e, i) => `id: ${i}\nevent: ${(e as TokenEvent).type}\ndata: ${JSON.stringify(e)}\n\n`).join(''), {
        headers: { 'content-type': 'text/event-stream' },
      })) as typeof fetch;
  const startEvent: TokenEvent = { type: 'start', provider: 'openai', model: 'm', t: 0 };
  const done: TokenEvent = { type: 'done', stopReason: 'tool_use', t: 2 };

  it('passes reasoning and tool-call provider data through', async () => {
    const reasoning: TokenEvent = { type: 'reasoning', text: '', providerData: { id: 'rs_1', encrypted_content: 'x' }, t: 1 };
    const call: TokenEvent = { type: 'tool-call', index: 0, id: 'toolu_1', name: 'f', argsDelta: '{}', providerData: { caller: CALLER }, t: 1 };
    const outcome = await run(fromSSE('http://127.0.0.1:9/events', { fetch: serve([startEvent, reasoning, call, done]), reconnect: false }));
    expect(outcome.error).toBeUndefined();
    expect(outcome.events).toEqual([startEvent, reasoning, call, done]);
  });

  it.each([
    ['reasoning', { type: 'reasoning', text: '', providerData: 'rs_1', t: 1 }],
    ['tool-call', { type: 'tool-call', index: 0, argsDelta: '', providerData: ['caller'], t: 1 }],
  ])('refuses a %s event whose providerData is not an object', async (_name, bad) => {
    const outcome = await run(fromSSE('http://127.0.0.1:9/events', { fetch: serve([startEvent, bad, done]), reconnect: false }));
    expect(ProtocolError.isInstance(outcome.error)).toBe(true);
    expect((outcome.error as Error).message).toContain('providerData is not an object');
  });
});
