import { describe, expect, it } from 'vitest';
import { ProtocolError, ProviderError } from '../../src/errors.js';
import { createAnthropicMapper, createAnthropicMessageMapper, mapAnthropicStopReason } from '../../src/providers/anthropic-wire.js';
import { feed, RecordingSink } from '../helpers/recording-sink.js';

const start = (usage: Record<string, number> = { input_tokens: 10, output_tokens: 1 }) =>
  ['message_start', { type: 'message_start', message: { id: 'msg_1', model: 'claude-x', usage } }] as [string, unknown];

describe('createAnthropicMapper', () => {
  it('maps text deltas to tokens and message_stop to done, with cumulative usage', () => {
    const sink = feed(createAnthropicMapper(), [
      start({ input_tokens: 10, cache_creation_input_tokens: 3, cache_read_input_tokens: 2, output_tokens: 1 }),
      ['content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }],
      ['ping', { type: 'ping' }],
      ['content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hel' } }],
      ['content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'lo' } }],
      ['content_block_stop', { type: 'content_block_stop', index: 0 }],
      ['message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 5 } }],
      ['message_delta', { type: 'message_delta', delta: {}, usage: { output_tokens: 7 } }],
      ['message_stop', { type: 'message_stop' }],
    ]);
    expect(sink.calls).toEqual([
      ['start', 'claude-x', 'msg_1'],
      ['token', ''],
      ['token', 'Hel'],
      ['token', 'lo'],
      ['done', 'end', undefined],
    ]);
    // cache tokens count as input; the last cumulative output wins
    expect([sink.input, sink.output]).toEqual([15, 7]);
  });

  it('keys tool calls by content block index (the engine numbers them) and routes thinking to reasoning', () => {
    const sink = feed(createAnthropicMapper(), [
      start(),
      ['content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'thinking', thinking: '' } }],
      ['content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'hmm' } }],
      ['content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'signature_delta', signature: 'sig' } }],
      ['content_block_start', { type: 'content_block_start', index: 1, content_block: { type: 'tool_use', id: 'toolu_1', name: 'get', input: {} } }],
      ['content_block_delta', { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '{"a":' } }],
      ['content_block_delta', { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '1}' } }],
      ['message_delta', { type: 'message_delta', delta: { stop_reason: 'tool_use' }, usage: { output_tokens: 9 } }],
      ['message_stop', { type: 'message_stop' }],
    ]);
    expect(sink.reasoningText).toBe('hmm');
    expect(sink.calls.filter((c) => c[0] === 'toolCall')).toEqual([
      ['toolCall', 1, 'toolu_1', 'get', ''],
      ['toolCall', 1, undefined, undefined, '{"a":'],
      ['toolCall', 1, undefined, undefined, '1}'],
    ]);
    expect(sink.stop).toBe('tool_use');
  });

  it('reports an error event as a ProviderError with the status its type stands for', () => {
    const sink = feed(createAnthropicMapper(), [
      start(),
      ['error', { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }],
    ]);
    expect(ProviderError.isInstance(sink.failure)).toBe(true);
    const error = sink.failure as ProviderError;
    expect([error.status, error.type, error.retryable, error.inStream]).toEqual([529, 'overloaded_error', true, true]);
    expect(error.message).toContain('Overloaded');
  });

  it('throws SyntaxError on malformed JSON (the engine turns it into a ProtocolError)', () => {
    expect(() => feed(createAnthropicMapper(), [['content_block_delta', '{"type":"content_block_delta",']])).toThrow(SyntaxError);
  });

  it.each([
    ['end_turn', 'end'],
    ['max_tokens', 'max_tokens'],
    ['model_context_window_exceeded', 'max_tokens'],
    ['stop_sequence', 'stop_sequence'],
    ['tool_use', 'tool_use'],
    ['refusal', 'refusal'],
    ['pause_turn', 'pause_turn'],
    ['compaction', 'other'],
    ['toString', 'other'],
    ['a_reason_from_the_future', 'other'],
    [null, 'other'],
  ])('maps stop_reason %s to %s', (wire, expected) => {
    expect(mapAnthropicStopReason(wire)).toBe(expected);
  });
});

type Ev = [string, unknown];
const blockStart = (index: number, block: Record<string, unknown>): Ev => ['content_block_start', { type: 'content_block_start', index, content_block: block }];
const blockDelta = (index: number, delta: Record<string, unknown>): Ev => ['content_block_delta', { type: 'content_block_delta', index, delta }];
const inputJson = (index: number, partial_json: string): Ev => blockDelta(index, { type: 'input_json_delta', partial_json });
const blockStop = (index: number): Ev => ['content_block_stop', { type: 'content_block_stop', index }];
const messageDelta = (stop_reason: string | null, usage: Record<string, unknown> = { output_tokens: 9 }): Ev => [
  'message_delta',
  { type: 'message_delta', delta: { stop_reason, stop_sequence: null }, usage },
];
const stop: Ev = ['message_stop', { type: 'message_stop' }];
const only = (sink: RecordingSink, ...kinds: string[]) => sink.calls.filter((c) => kinds.includes(c[0]));

describe('createAnthropicMapper: tools the provider runs', () => {
  it('reports server_tool_use once its input is complete, never as a client call, and its result block', () => {
    const result = { type: 'web_search_tool_result', tool_use_id: 'srvtoolu_1', content: [{ type: 'web_search_result', url: 'https://a.example' }] };
    const sink = feed(createAnthropicMapper(), [
      start(),
      blockStart(0, { type: 'server_tool_use', id: 'srvtoolu_1', name: 'web_search', input: {} }),
      inputJson(0, ''),
      inputJson(0, '{"query": "ri'),
      inputJson(0, 'vers"}'),
      blockStop(0),
      blockStart(1, result),
      blockStop(1),
      blockStart(2, { type: 'tool_use', id: 'toolu_1', name: 'get', input: {} }),
      inputJson(2, '{"a":1}'),
      blockStop(2),
      messageDelta('tool_use'),
      stop,
    ]);
    expect(only(sink, 'providerTool', 'toolCall')).toEqual([
      [
        'providerTool',
        'call',
        'srvtoolu_1',
        'web_search',
        { query: 'rivers' },
        { type: 'server_tool_use', id: 'srvtoolu_1', name: 'web_search', input: { query: 'rivers' } },
      ],
      ['providerTool', 'result', 'srvtoolu_1', 'web_search_tool_result', undefined, result],
      ['toolCall', 2, 'toolu_1', 'get', ''],
      ['toolCall', 2, undefined, undefined, '{"a":1}'],
    ]);
  });

  it('uses the prefilled input of a provider call that got no delta, and treats mcp_tool_use and future *_tool_use / *_tool_result blocks alike', () => {
    const mcpResult = { type: 'mcp_tool_result', tool_use_id: 'mcptoolu_1', is_error: false, content: 'ok' };
    const futureResult = { type: 'moon_tool_result', tool_use_id: 'srvtoolu_9', content: {} };
    const sink = feed(createAnthropicMapper(), [
      start(),
      blockStart(0, { type: 'mcp_tool_use', id: 'mcptoolu_1', name: 'echo', server_name: 's', input: { say: 'hi' } }),
      blockStop(0),
      blockStart(1, mcpResult),
      blockStop(1),
      blockStart(2, { type: 'moon_tool_use', id: 'srvtoolu_9', name: 'moon', input: {} }),
      inputJson(2, '{"phase":"full"}'),
      blockStop(2),
      blockStart(3, futureResult),
      blockStop(3),
      blockStart(4, { type: 'hologram', id: 'x', name: 'y' }),
      blockStop(4),
      blockStart(5, { type: 'container_upload', file_id: 'file_1' }),
      blockStop(5),
      messageDelta('end_turn'),
      stop,
    ]);
    expect(only(sink, 'providerTool', 'toolCall', 'token')).toEqual([
      ['providerTool', 'call', 'mcptoolu_1', 'echo', { say: 'hi' }, { type: 'mcp_tool_use', id: 'mcptoolu_1', name: 'echo', server_name: 's', input: { say: 'hi' } }],
      ['providerTool', 'result', 'mcptoolu_1', 'mcp_tool_result', undefined, mcpResult],
      ['providerTool', 'call', 'srvtoolu_9', 'moon', { phase: 'full' }, { type: 'moon_tool_use', id: 'srvtoolu_9', name: 'moon', input: { phase: 'full' } }],
      ['providerTool', 'result', 'srvtoolu_9', 'moon_tool_result', undefined, futureResult],
    ]);
    expect(sink.stop).toBe('end');
  });

  it('does not report a provider call whose block never stopped (its input is incomplete)', () => {
    const sink = feed(createAnthropicMapper(), [
      start(),
      blockStart(0, { type: 'server_tool_use', id: 'srvtoolu_1', name: 'web_fetch', input: {} }),
      inputJson(0, '{"url": "https://a.exa'),
      messageDelta('max_tokens'),
      stop,
    ]);
    expect(only(sink, 'providerTool', 'toolCall')).toEqual([]);
    expect(sink.stop).toBe('max_tokens');
  });

  it('reports a provider call whose input JSON is broken as a ProtocolError', () => {
    expect(() =>
      feed(createAnthropicMapper(), [
        start(),
        blockStart(0, { type: 'server_tool_use', id: 'srvtoolu_1', name: 'web_search', input: {} }),
        inputJson(0, '{"query": '),
        blockStop(0),
      ]),
    ).toThrow(ProtocolError);
  });
});

describe('createAnthropicMapper: inputs given whole', () => {
  const caller = { type: 'code_execution_20250825', tool_id: 'srvtoolu_1' };

  it('gives a tool_use its prefilled input (programmatic tool calling) at content_block_stop when no delta came', () => {
    const sink = feed(createAnthropicMapper(), [
      start(),
      blockStart(0, { type: 'tool_use', id: 'toolu_1', name: 'query', input: { sql: 'SELECT 1' }, caller }),
      blockStop(0),
      messageDelta('tool_use'),
      stop,
    ]);
    // The first fragment carries the caller, sent back with the call (see round-trip-provider-data.test.ts).
    expect(only(sink, 'toolCall')).toEqual([
      ['toolCall', 0, 'toolu_1', 'query', '', undefined, { caller }],
      ['toolCall', 0, undefined, undefined, '{"sql":"SELECT 1"}'],
    ]);
  });

  it('gives the prefilled input at message_stop to a block never stopped, but never turns the {} placeholder into arguments', () => {
    const sink = feed(createAnthropicMapper(), [
      start(),
      blockStart(0, { type: 'tool_use', id: 'toolu_1', name: 'query', input: { sql: 'SELECT 1' }, caller }),
      blockStart(1, { type: 'tool_use', id: 'toolu_2', name: 'other', input: {} }),
      messageDelta('max_tokens'),
      stop,
    ]);
    expect(only(sink, 'toolCall')).toEqual([
      ['toolCall', 0, 'toolu_1', 'query', '', undefined, { caller }],
      ['toolCall', 1, 'toolu_2', 'other', ''],
      ['toolCall', 0, undefined, undefined, '{"sql":"SELECT 1"}'],
    ]);
  });

  it('keeps the streamed arguments when deltas came, whatever the start block said', () => {
    const sink = feed(createAnthropicMapper(), [
      start(),
      blockStart(0, { type: 'tool_use', id: 'toolu_1', name: 'q', input: { stale: true } }),
      inputJson(0, '{"a":2}'),
      blockStop(0),
      messageDelta('tool_use'),
      stop,
    ]);
    expect(sink.args.get(0)).toBe('{"a":2}');
  });

  it('gives a stopped tool_use without any input {} (a tool with no parameters)', () => {
    const sink = feed(createAnthropicMapper(), [start(), blockStart(0, { type: 'tool_use', id: 'toolu_1', name: 'now', input: {} }), inputJson(0, ''), blockStop(0), messageDelta('tool_use'), stop]);
    expect(sink.args.get(0)).toBe('{}');
  });

  const whole = {
    id: 'msg_w',
    type: 'message',
    role: 'assistant',
    model: 'claude-x',
    content: [
      { type: 'thinking', thinking: 'hm', signature: 'sig_w' },
      { type: 'redacted_thinking', data: 'red_w' },
      { type: 'text', text: 'See.', citations: [{ type: 'char_location', cited_text: 'c' }] },
      { type: 'server_tool_use', id: 'srvtoolu_w', name: 'web_search', input: { query: 'q' } },
      { type: 'web_search_tool_result', tool_use_id: 'srvtoolu_w', content: [] },
      { type: 'tool_use', id: 'toolu_w', name: 'get', input: { a: 1 } },
      { type: 'compaction', content: 'summary', encrypted_content: null },
    ],
    stop_reason: 'tool_use',
    stop_sequence: null,
    usage: { input_tokens: 20, cache_creation_input_tokens: 1, cache_read_input_tokens: 2, output_tokens: 44 },
  };
  const wholeCalls = [
    ['start', 'claude-x', 'msg_w'],
    ['reasoning', 'hm'],
    ['signature', 'sig_w'],
    ['redacted', 'red_w'],
    ['token', 'See.'],
    ['citation', { type: 'char_location', cited_text: 'c' }],
    ['providerTool', 'call', 'srvtoolu_w', 'web_search', { query: 'q' }, whole.content[3]],
    ['providerTool', 'result', 'srvtoolu_w', 'web_search_tool_result', undefined, whole.content[4]],
    ['toolCall', 5, 'toolu_w', 'get', '{"a":1}'],
  ];

  it('yields the blocks, stop reason and final usage of a message_start that holds the whole message', () => {
    const sink = feed(createAnthropicMapper(), [['message_start', { type: 'message_start', message: whole }], stop]);
    expect(sink.calls).toEqual([...wholeCalls, ['done', 'tool_use', undefined]]);
    expect([sink.input, sink.output]).toEqual([23, 44]);
  });

  it('maps a non-streamed Message through the same block mapping', () => {
    const sink = feed(createAnthropicMessageMapper(), [[undefined, whole]]);
    expect(sink.calls).toEqual([...wholeCalls, ['done', 'tool_use', undefined]]);
    expect([sink.input, sink.output]).toEqual([23, 44]);
  });

  it('keys streamed client calls after the blocks message_start gave whole', () => {
    const sink = feed(createAnthropicMapper(), [
      ['message_start', { type: 'message_start', message: { ...whole, stop_reason: null } }],
      blockStart(0, { type: 'tool_use', id: 'toolu_s', name: 'get', input: {} }),
      inputJson(0, '{}'),
      blockStop(0),
      messageDelta('tool_use'),
      stop,
    ]);
    expect(only(sink, 'toolCall').map((c) => c[1])).toEqual([5, 7, 7]);
  });
});

describe('createAnthropicMapper: a body with two attempts', () => {
  it('resets on a second message_start and reports only the second attempt', () => {
    const sink = feed(createAnthropicMapper(), [
      start({ input_tokens: 100, cache_read_input_tokens: 50, output_tokens: 1 }),
      blockStart(0, { type: 'text', text: '' }),
      blockDelta(0, { type: 'text_delta', text: 'first' }),
      blockStart(1, { type: 'tool_use', id: 'toolu_a', name: 'q', input: { whole: 1 } }),
      messageDelta('pause_turn', { output_tokens: 3 }),
      start({ input_tokens: 7, output_tokens: 1 }),
      blockStart(0, { type: 'text', text: '' }),
      blockDelta(0, { type: 'text_delta', text: 'second' }),
      blockStop(0),
      messageDelta(null, { output_tokens: 5 }),
      stop,
    ]);
    const reset = sink.calls.findIndex((c) => c[0] === 'reset');
    expect(reset).toBeGreaterThan(0);
    // nothing of the first attempt after the reset: not its open tool's input, not its stop reason
    expect(sink.calls.slice(reset + 1)).toEqual([
      ['start', 'claude-x', 'msg_1'],
      ['token', ''],
      ['token', 'second'],
      ['done', 'other', undefined],
    ]);
    expect(sink.text).toBe('second');
    // the cache count of the first attempt is gone too
    expect([sink.input, sink.output]).toEqual([7, 5]);
  });
});

describe('createAnthropicMapper: reasoning marks and citations', () => {
  it('reports signature_delta, a redacted block and citations_delta', () => {
    const citation = { type: 'web_search_result_location', url: 'https://a.example', cited_text: 'c' };
    const sink = feed(createAnthropicMapper(), [
      start(),
      blockStart(0, { type: 'thinking', thinking: '', signature: '' }),
      blockDelta(0, { type: 'thinking_delta', thinking: 'hm' }),
      blockDelta(0, { type: 'signature_delta', signature: 'sig' }),
      blockStop(0),
      blockStart(1, { type: 'redacted_thinking', data: 'opaque' }),
      blockStop(1),
      blockStart(2, { type: 'text', text: '', citations: [] }),
      blockDelta(2, { type: 'citations_delta', citation }),
      blockDelta(2, { type: 'text_delta', text: 'cited' }),
      blockStop(2),
      messageDelta('end_turn'),
      stop,
    ]);
    expect(only(sink, 'reasoning', 'signature', 'redacted', 'citation', 'token')).toEqual([
      ['reasoning', ''],
      ['reasoning', 'hm'],
      ['signature', 'sig'],
      ['redacted', 'opaque'],
      ['token', ''],
      ['citation', citation],
      ['token', 'cited'],
    ]);
  });

  it('closes a thinking block with the signature its start gave when no signature_delta came', () => {
    const sink = feed(createAnthropicMapper(), [
      start(),
      blockStart(0, { type: 'thinking', thinking: 'all of it', signature: 'sig_start' }),
      blockStop(0),
      messageDelta('end_turn'),
      stop,
    ]);
    expect(only(sink, 'reasoning', 'signature')).toEqual([
      ['reasoning', 'all of it'],
      ['signature', 'sig_start'],
    ]);
  });

  it('does not override the request model with an empty model or id', () => {
    const sink = feed(createAnthropicMapper(), [['message_start', { type: 'message_start', message: { id: '', model: '', content: [], usage: { input_tokens: 3 } } }]]);
    expect(sink.calls[0]).toEqual(['start', undefined, undefined]);
  });
});

describe('createAnthropicMapper: what is not what it claims to be', () => {
  it.each(['null', '3', '[]', '"message_stop"'])('rejects a message that is not a JSON object (%s) with a ProtocolError', (data) => {
    expect(() => feed(createAnthropicMapper(), [['message_stop', data]])).toThrow(ProtocolError);
  });

  it.each([
    ['text_delta', { type: 'text_delta', text: 42 }, 'text_delta.text'],
    ['thinking_delta', { type: 'thinking_delta', thinking: { a: 1 } }, 'thinking_delta.thinking'],
    ['input_json_delta', { type: 'input_json_delta', partial_json: 7 }, 'input_json_delta.partial_json'],
    ['citations_delta', { type: 'citations_delta', citation: 'c' }, 'citations_delta.citation'],
  ])('rejects a %s of the wrong type with a ProtocolError naming the field', (_name, delta, field) => {
    const run = () => feed(createAnthropicMapper(), [start(), blockStart(0, { type: 'tool_use', id: 't', name: 'n', input: {} }), blockDelta(0, delta)]);
    expect(run).toThrow(ProtocolError);
    expect(run).toThrow(field);
  });

  it('ignores unknown event and delta types', () => {
    const sink = feed(createAnthropicMapper(), [
      start(),
      ['future_event', { type: 'future_event', x: 1 }],
      blockDelta(0, { type: 'hologram_delta', x: 1 }),
      blockDelta(0, { type: 'compaction_delta', content: 'summary', encrypted_content: null }),
      messageDelta('end_turn'),
      stop,
    ]);
    expect(sink.calls).toEqual([
      ['start', 'claude-x', 'msg_1'],
      ['done', 'end', undefined],
    ]);
  });
});

describe('createAnthropicMapper: usage', () => {
  it('passes a message_start prompt of 0 through (the engine decides it is unknown) and no output from a live message_start', () => {
    const sink = feed(createAnthropicMapper(), [start({ input_tokens: 0, output_tokens: 1 })]);
    expect([sink.input, sink.output]).toEqual([0, undefined]);
  });

  it('takes the prompt counts message_delta repeats when they are given and > 0, each on its own', () => {
    const sink = feed(createAnthropicMapper(), [
      start({ input_tokens: 10, cache_creation_input_tokens: 4, cache_read_input_tokens: 0, output_tokens: 1 }),
      messageDelta('end_turn', { input_tokens: 900, cache_creation_input_tokens: 0, cache_read_input_tokens: 30, output_tokens: 12 }),
    ]);
    expect([sink.input, sink.output]).toEqual([934, 12]);
    const zero = feed(createAnthropicMapper(), [start({ input_tokens: 10, output_tokens: 1 }), messageDelta('end_turn', { input_tokens: 0, output_tokens: 2 })]);
    expect(zero.input).toBe(10);
  });
});
