/**
 * `AgentResponse.message`, the answer as an assistant turn, both ways: its parts in the order the
 * answer produced them (from events), and the round trip over real HTTP: a recorded fixture is
 * collected, its `message` and tool results are appended, and the next request body carries the
 * answer's blocks unchanged (thinking signatures, redacted data, server tool blocks, function calls,
 * provider-run items).
 */
import { firstValueFrom, from } from 'rxjs';
import { afterAll, describe, expect, it } from 'vitest';
import type { AgentResponse, ChatMessage, TokenEvent, ToolResultPart } from '../../src/events.js';
import { collect } from '../../src/operators/collect.js';
import { startMockProvider, type MockProvider } from '../../src/testing/index.js';
import { loadFixtures, type Fixture } from '../helpers/fixtures.js';
import { flavorOf, makeAdapter, type AdapterLabel } from '../helpers/mock.js';

/** A token event before it is timed. */
type Untimed = TokenEvent extends infer E ? (E extends TokenEvent ? Omit<E, 't'> : never) : never;

/** The answer `collect()` folds these events into (start and the end added). */
function answerOf(events: Untimed[]): Promise<AgentResponse> {
  const all = [
    { type: 'start', provider: 'p', model: 'm' },
    ...events,
    { type: 'usage', usage: { inputTokens: 1, outputTokens: 1, estimated: false } },
    { type: 'done', stopReason: 'end' },
  ].map((event, t) => ({ ...event, t }) as TokenEvent);
  return firstValueFrom(from(all).pipe(collect()));
}

const SERVER_CALL = { type: 'server_tool_use', id: 'srv_1', name: 'web_search', input: { query: 'q' } };
const SERVER_RESULT = { type: 'web_search_tool_result', tool_use_id: 'srv_1', content: [] };

describe('AgentResponse.message from events', () => {
  it('is a plain string when the answer is only text', async () => {
    const answer = await answerOf([
      { type: 'token', text: 'Hello', index: 0 },
      { type: 'token', text: ' world', index: 1 },
    ]);
    expect(answer.message).toEqual({ role: 'assistant', content: 'Hello world' });
  });

  it('is an empty string for an answer without output', async () => {
    expect((await answerOf([])).message).toEqual({ role: 'assistant', content: '' });
  });

  it('keeps signed and redacted reasoning, text, provider tools and tool calls in the order they came', async () => {
    const answer = await answerOf([
      { type: 'reasoning', text: 'Think' },
      { type: 'reasoning', text: 'ing.' },
      { type: 'reasoning', text: '', signature: 'sig-1' },
      { type: 'reasoning', text: '', redacted: 'opaque' },
      { type: 'token', text: 'Let me ', index: 0 },
      { type: 'citation', citation: { type: 'x' } },
      { type: 'token', text: 'look.', index: 1 },
      { type: 'provider-tool', phase: 'call', id: 'srv_1', name: 'web_search', input: { query: 'q' }, block: SERVER_CALL },
      { type: 'provider-tool', phase: 'result', id: 'srv_1', name: 'web_search_tool_result', block: SERVER_RESULT },
      { type: 'token', text: 'Found it.', index: 2 },
      { type: 'tool-call', index: 0, id: 'call_a', name: 'get_weather', argsDelta: '{"city":' },
      { type: 'tool-call', index: 1, id: 'call_b', name: 'get_time', argsDelta: '' },
      { type: 'tool-call', index: 0, argsDelta: '"Oslo"}' },
    ]);
    expect(answer.message).toEqual({
      role: 'assistant',
      content: [
        { type: 'reasoning', text: 'Thinking.', signature: 'sig-1' },
        { type: 'reasoning', text: '', redacted: 'opaque' },
        { type: 'text', text: 'Let me look.' },
        { type: 'provider-tool', phase: 'call', id: 'srv_1', name: 'web_search', block: SERVER_CALL },
        { type: 'provider-tool', phase: 'result', id: 'srv_1', name: 'web_search_tool_result', block: SERVER_RESULT },
        { type: 'text', text: 'Found it.' },
        { type: 'tool-call', id: 'call_a', name: 'get_weather', input: { city: 'Oslo' } },
        { type: 'tool-call', id: 'call_b', name: 'get_time', input: {} },
      ],
    });
    expect(answer.content).toBe('Let me look.Found it.');
  });

  it('leaves out unsigned reasoning (no API takes it back): the text alone is a string', async () => {
    const answer = await answerOf([
      { type: 'reasoning', text: 'Chat reasoning_content' },
      { type: 'token', text: 'Four.', index: 0 },
    ]);
    expect(answer.reasoning).toBe('Chat reasoning_content');
    expect(answer.message).toEqual({ role: 'assistant', content: 'Four.' });
  });

  it('leaves out calls whose arguments are not JSON (a cut answer) and calls that are not function calls', async () => {
    const answer = await answerOf([
      { type: 'token', text: 'Calling.', index: 0 },
      { type: 'tool-call', index: 0, id: 'call_ok', name: 'f', argsDelta: '{"a":1}' },
      { type: 'tool-call', index: 1, id: 'call_custom', name: 'grep', kind: 'custom_tool_call', argsDelta: 'free text' },
      { type: 'tool-call', index: 2, id: 'call_cut', name: 'g', argsDelta: '{"b":' },
    ]);
    expect(answer.toolCalls).toHaveLength(3);
    expect(answer.message).toEqual({
      role: 'assistant',
      content: [
        { type: 'text', text: 'Calling.' },
        { type: 'tool-call', id: 'call_ok', name: 'f', input: { a: 1 } },
      ],
    });
  });

  it('joins text that a left-out piece separated', async () => {
    const answer = await answerOf([
      { type: 'token', text: 'One ', index: 0 },
      { type: 'reasoning', text: 'unsigned' },
      { type: 'token', text: 'two.', index: 1 },
      { type: 'tool-call', index: 0, id: 'call_1', name: 'f', argsDelta: '{}' },
    ]);
    expect(answer.message.content).toEqual([
      { type: 'text', text: 'One two.' },
      { type: 'tool-call', id: 'call_1', name: 'f', input: {} },
    ]);
  });

  it('forgets everything before a reset', async () => {
    const answer = await answerOf([
      { type: 'reasoning', text: 'old', signature: 's0' },
      { type: 'tool-call', index: 0, id: 'call_old', name: 'f', argsDelta: '{}' },
      { type: 'token', text: 'old text', index: 0 },
      { type: 'reset', reason: 'retry' },
      { type: 'token', text: 'new text', index: 0 },
    ]);
    expect(answer.message).toEqual({ role: 'assistant', content: 'new text' });
  });
});

const FIXTURES = loadFixtures();
function fixture(dir: string, name: string): Fixture {
  const found = FIXTURES.find((f) => f.provider === dir && f.name === name);
  if (!found) throw new Error(`no fixture ${dir}/${name}`);
  return found;
}

/** The fixture document's Anthropic content blocks as they go back: text blocks without their citations. */
function anthropicBlocks(f: Fixture): unknown[] {
  const content = (f.document as { content: Array<Record<string, unknown>> }).content;
  return content.map((block) => {
    if (block.type !== 'text') return block;
    const { citations: _citations, ...text } = block;
    return text;
  });
}

interface RoundTrip {
  label: AdapterLabel;
  dir: string;
  name: string;
  /** What the answer must look like in the next request body, between the question and what follows. */
  expected(f: Fixture): unknown[];
}

const USER = { role: 'user', content: 'Go on.' } as const;

const CASES: RoundTrip[] = [
  {
    label: 'anthropic',
    dir: 'anthropic',
    name: 'thinking-redacted-tool',
    expected: (f) => [{ role: 'assistant', content: anthropicBlocks(f) }],
  },
  { label: 'anthropic', dir: 'anthropic', name: 'web-search', expected: (f) => [{ role: 'assistant', content: anthropicBlocks(f) }] },
  {
    label: 'anthropic',
    dir: 'anthropic',
    name: 'code-execution-then-tool',
    expected: (f) => [{ role: 'assistant', content: anthropicBlocks(f) }],
  },
  { label: 'anthropic', dir: 'anthropic', name: 'mcp-tool', expected: (f) => [{ role: 'assistant', content: anthropicBlocks(f) }] },
  {
    label: 'anthropic',
    dir: 'anthropic',
    name: 'whole-message-start',
    expected: (f) => [{ role: 'assistant', content: anthropicBlocks(f) }],
  },
  {
    label: 'openai',
    dir: 'openai',
    name: 'parallel-tool-calls',
    expected: () => [
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'call_TokenflowA', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
          { id: 'call_TokenflowB', type: 'function', function: { name: 'get_time', arguments: '{"tz":"Europe/Paris"}' } },
        ],
      },
    ],
  },
  {
    label: 'groq',
    dir: 'groq',
    name: 'tool-call-whole',
    expected: () => [
      { role: 'assistant', content: null, tool_calls: [{ id: 'tk7q2m9x1', type: 'function', function: { name: 'lookup', arguments: '{"q":"rxjs"}' } }] },
    ],
  },
  {
    label: 'openai-compatible',
    dir: 'openai-compatible',
    name: 'stop-with-tool-calls',
    expected: () => [
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_w1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }] },
    ],
  },
  {
    label: 'openai-responses',
    dir: 'openai-responses',
    name: 'function-call',
    expected: () => [{ type: 'function_call', call_id: 'call_TokenflowR1', name: 'get_weather', arguments: '{"city":"Oslo"}' }],
  },
  {
    label: 'openai-responses',
    dir: 'openai-responses',
    name: 'code-interpreter-then-call',
    expected: (f) => {
      const [code, call] = (f.document as { output: Array<Record<string, unknown>> }).output;
      // The provider-run item exactly as it came; the function call by its call_id, name and arguments.
      return [code, { type: 'function_call', call_id: call!.call_id, name: call!.name, arguments: call!.arguments }];
    },
  },
  {
    label: 'openai-responses',
    dir: 'openai-responses',
    name: 'web-search-citations',
    expected: (f) => [(f.document as { output: unknown[] }).output[0], { role: 'assistant', content: 'Observables are lazy. They push many values.' }],
  },
];

describe('the round trip: collect() a recorded answer, append its message and tool results, send again', () => {
  const mocks: MockProvider[] = [];
  afterAll(() => Promise.all(mocks.map((m) => m.close())));

  it.each(CASES)('$label: $dir/$name goes back unchanged', async ({ label, dir, name, expected }) => {
    const f = fixture(dir, name);
    const mock = await startMockProvider({
      flavor: flavorOf(label),
      script: (request) => (request.index === 0 ? { raw: f.body, status: f.status, headers: f.headers } : { text: 'Done.' }),
    });
    mocks.push(mock);
    const llm = makeAdapter(label, mock.baseURL);
    const question: ChatMessage = { role: 'user', content: 'Please help.' };
    const streamed = await firstValueFrom(llm.stream({ model: 'm', messages: [question] }).pipe(collect()));
    const calls = streamed.message.content;
    const results: ToolResultPart[] = (typeof calls === 'string' ? [] : calls).flatMap((part) =>
      part.type === 'tool-call' ? [{ type: 'tool-result' as const, toolCallId: part.id, name: part.name, output: `result of ${part.id}` }] : [],
    );
    expect(results.length).toBe(streamed.toolCalls?.length ?? 0);
    const messages: ChatMessage[] = [question, streamed.message, ...(results.length > 0 ? [{ role: 'tool' as const, content: results }] : []), USER];
    const before = mock.requests.length;
    const next = await llm.complete({ model: 'm', messages });
    expect(next.content).toBe('Done.');
    const body = mock.requests[before]!.body as { messages?: unknown[]; input?: unknown[] };
    const sent = body.messages ?? body.input ?? [];
    expect(sent[0]).toEqual({ role: 'user', content: 'Please help.' });
    expect(sent.slice(1, 1 + expected(f).length)).toEqual(expected(f));
    // Then the results, answering each call by its id.
    const rest = sent.slice(1 + expected(f).length);
    if (results.length === 0) {
      expect(rest).toEqual([USER]);
    } else if (label === 'anthropic') {
      expect(rest).toEqual([
        {
          role: 'user',
          content: [
            ...results.map((r) => ({ type: 'tool_result', tool_use_id: r.toolCallId, content: r.output })),
            { type: 'text', text: 'Go on.' },
          ],
        },
      ]);
    } else if (label === 'openai-responses') {
      expect(rest).toEqual([...results.map((r) => ({ type: 'function_call_output', call_id: r.toolCallId, output: r.output })), USER]);
    } else {
      expect(rest).toEqual([...results.map((r) => ({ role: 'tool', tool_call_id: r.toolCallId, content: r.output })), USER]);
    }
  });
});
