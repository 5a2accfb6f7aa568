import { describe, expect, it } from 'vitest';
import { ProtocolError, ProviderError } from '../../src/errors.js';
import {
  createChatCompletionMapper,
  createChatMapper,
  mapOpenAIFinishReason,
  toChatBody,
} from '../../src/providers/openai-chat-wire.js';
import { InvalidArgumentError } from '../../src/errors.js';
import { feed, type RecordingSink } from '../helpers/recording-sink.js';

const chunk = (delta: Record<string, unknown> | null, extra: Record<string, unknown> = {}) => [
  undefined,
  { id: 'chatcmpl-1', model: 'gpt-x', choices: [{ index: 0, delta, finish_reason: null }], ...extra },
] as [undefined, unknown];

describe('createChatMapper', () => {
  it('skips role, null and empty deltas; usage arrives in a choices: [] chunk before [DONE]', () => {
    const sink = feed(createChatMapper({ provider: 'openai' }), [
      chunk({ role: 'assistant', content: '', refusal: null }),
      chunk({ content: null }),
      chunk({}),
      chunk({ content: '\n\nHi' }),
      [undefined, { id: 'chatcmpl-1', model: 'gpt-x', choices: [{ index: 0, delta: {}, finish_reason: 'length' }] }],
      [undefined, { id: 'chatcmpl-1', model: 'gpt-x', choices: [], usage: { prompt_tokens: 4, completion_tokens: 2 } }],
      [undefined, '[DONE]'],
    ]);
    expect(sink.calls).toEqual([['start', 'gpt-x', 'chatcmpl-1'], ['token', '\n\nHi'], ['done', 'max_tokens', undefined]]);
    expect([sink.input, sink.output]).toEqual([4, 2]);
  });

  it('keeps refusal text out of the answer and reports it on done', () => {
    const sink = feed(createChatMapper({ provider: 'openai' }), [
      chunk({ role: 'assistant', content: null, refusal: '' }),
      chunk({ refusal: "I can't" }),
      chunk({ refusal: ' help.' }),
      [undefined, { id: 'c', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }],
      [undefined, '[DONE]'],
    ]);
    expect(sink.text).toBe('');
    expect([sink.stop, sink.refusalText]).toEqual(['refusal', "I can't help."]);
  });

  it('passes interleaved tool-call fragments with their own indices', () => {
    const sink = feed(createChatMapper({ provider: 'openai' }), [
      chunk({ tool_calls: [{ index: 0, id: 'call_a', type: 'function', function: { name: 'a', arguments: '' } }] }),
      chunk({ tool_calls: [{ index: 1, id: 'call_b', type: 'function', function: { name: 'b', arguments: '{"x"' } }] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: '{}' } }] }),
      chunk({ tool_calls: [{ index: 1, function: { arguments: ':1}' } }] }),
      [undefined, { choices: [{ index: 0, delta: {}, finish_reason: 'tool_calls' }] }],
      [undefined, '[DONE]'],
    ]);
    expect(sink.calls.filter((c) => c[0] === 'toolCall')).toEqual([
      ['toolCall', 0, 'call_a', 'a', ''],
      ['toolCall', 1, 'call_b', 'b', '{"x"'],
      ['toolCall', 0, undefined, undefined, '{}'],
      ['toolCall', 1, undefined, undefined, ':1}'],
    ]);
    expect(sink.stop).toBe('tool_use');
  });

  it("reads Groq's x_groq usage with server timings in milliseconds", () => {
    const sink = feed(createChatMapper({ provider: 'groq' }), [
      chunk({ role: 'assistant', content: 'ok' }),
      [
        undefined,
        {
          choices: [{ index: 0, delta: {}, finish_reason: 'stop' }],
          x_groq: { id: 'req_1', usage: { prompt_tokens: 7, completion_tokens: 3, queue_time: 0.5, prompt_time: 0.25, completion_time: 0.125, total_time: 0.375 } },
        },
      ],
      [undefined, '[DONE]'],
    ]);
    expect([sink.input, sink.output]).toEqual([7, 3]);
    expect(sink.timings).toEqual({ queueMs: 500, promptMs: 250, completionMs: 125, totalMs: 375 });
  });

  it('maps reasoning_content (vLLM, DeepSeek) and reasoning (Groq) deltas to reasoning', () => {
    const sink = feed(createChatMapper({ provider: 'x' }), [
      chunk({ reasoning_content: 'think ' }),
      chunk({ reasoning: 'more' }),
      chunk({ content: 'answer' }),
    ]);
    expect([sink.reasoningText, sink.text]).toEqual(['think more', 'answer']);
  });

  it('reports an {"error": …} chunk as a ProviderError', () => {
    const sink = feed(createChatMapper({ provider: 'openai' }), [
      chunk({ content: 'par' }),
      [undefined, { error: { message: 'The server had an error', type: 'server_error', code: null } }],
    ]);
    const error = sink.failure as ProviderError;
    expect(ProviderError.isInstance(error)).toBe(true);
    expect([error.type, error.retryable, error.inStream]).toEqual(['server_error', true, true]);
  });

  it('is strict about [DONE] unless lenientEnd, which accepts a finish_reason then the end of the body', () => {
    const events: Array<[undefined, unknown]> = [chunk({ content: 'a' }), [undefined, { choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }]];
    const strict = createChatMapper({ provider: 'openai' });
    const strictSink = feed(strict, events);
    strict.end?.(strictSink);
    expect(strictSink.stop).toBeUndefined();
    const lenient = createChatMapper({ provider: 'c', lenientEnd: true });
    const lenientSink = feed(lenient, events);
    lenient.end?.(lenientSink);
    expect(lenientSink.stop).toBe('end');
  });

  it.each([
    ['stop', 'end'],
    ['length', 'max_tokens'],
    ['tool_calls', 'tool_use'],
    ['function_call', 'tool_use'],
    ['content_filter', 'content_filter'],
    ['eos', 'end'],
    ['model_length', 'max_tokens'],
    ['something_new', 'other'],
    [null, 'other'],
  ])('maps finish_reason %s to %s', (wire, expected) => {
    expect(mapOpenAIFinishReason(wire)).toBe(expected);
  });
});

describe('toChatBody', () => {
  const request = { model: 'm', system: 'be brief', messages: [{ role: 'user' as const, content: 'hi' }], maxTokens: 5 };
  it('puts the system prompt first and asks for usage when told to', () => {
    expect(toChatBody(request, true, { maxTokensField: 'max_completion_tokens', includeUsage: true })).toEqual({
      model: 'm',
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: 'hi' },
      ],
      stream: true,
      stream_options: { include_usage: true },
      max_completion_tokens: 5,
    });
  });
  it('refuses providerOptions that would override a field it sets', () => {
    expect(() =>
      toChatBody({ ...request, providerOptions: { stream: false } }, true, { maxTokensField: 'max_tokens', includeUsage: false }),
    ).toThrow(InvalidArgumentError);
    expect(
      toChatBody({ ...request, providerOptions: { seed: 3 } }, false, { maxTokensField: 'max_tokens', includeUsage: false }),
    ).toMatchObject({ seed: 3, max_tokens: 5 });
  });
});

/** The error a mapper throws for these messages (the engine would turn it into the stream's error). */
function thrown(run: () => unknown): ProtocolError {
  try {
    run();
  } catch (error) {
    expect(ProtocolError.isInstance(error), String(error)).toBe(true);
    return error as ProtocolError;
  }
  throw new Error('expected a ProtocolError');
}

const toolCalls = (sink: RecordingSink) => sink.calls.filter((c) => c[0] === 'toolCall');

describe('createChatMapper: content that is not a string (issue 12, item 4)', () => {
  it("reads Mistral's array content: thinking parts are reasoning, text parts answer text, references citations", () => {
    const sink = feed(createChatMapper({ provider: 'mistral' }), [
      chunk({ role: 'assistant', content: [{ type: 'thinking', thinking: [{ type: 'text', text: 'Two ' }] }] }),
      chunk({ content: [{ type: 'thinking', thinking: [{ type: 'text', text: 'halves.' }] }] }),
      chunk({ content: [{ type: 'text', text: 'Half' }, { type: 'text', text: ' is 0.5.' }] }),
      chunk({ content: [{ type: 'reference', reference_ids: [1] }, { type: 'audio_hint', data: 7 }] }),
      chunk({ content: 'Done.' }),
    ]);
    expect(sink.calls).toEqual([
      ['start', 'gpt-x', 'chatcmpl-1'],
      ['reasoning', 'Two '],
      ['reasoning', 'halves.'],
      ['token', 'Half'],
      ['token', ' is 0.5.'],
      ['citation', { type: 'reference', reference_ids: [1] }],
      ['token', 'Done.'],
    ]);
  });

  it.each([
    ['a number', { content: 3 }, 'choices[0].delta.content'],
    ['an object', { content: { text: 'x' } }, 'choices[0].delta.content'],
    ['true', { content: true }, 'choices[0].delta.content'],
    ['a part with a number as text', { content: [{ type: 'text', text: 5 }] }, 'choices[0].delta.content[0].text'],
    ['a part that is a string', { content: ['hi'] }, 'choices[0].delta.content[0]'],
    ['a part without a type', { content: [{ text: 'hi' }] }, 'choices[0].delta.content[0]'],
    ['thinking that is an object', { content: [{ type: 'thinking', thinking: { text: 'x' } }] }, 'choices[0].delta.content[0].thinking'],
    ['a thinking part with a number as text', { content: [{ type: 'thinking', thinking: [{ type: 'text', text: 1 }] }] }, 'choices[0].delta.content[0].thinking[0].text'],
    ['reasoning_content as a number', { reasoning_content: 1 }, 'choices[0].delta.reasoning_content'],
    ['reasoning as an array', { reasoning: ['x'] }, 'choices[0].delta.reasoning'],
    ['refusal as an object', { refusal: { text: 'no' } }, 'choices[0].delta.refusal'],
    ['tool arguments as an object', { tool_calls: [{ index: 0, id: 'c', function: { name: 'f', arguments: { a: 1 } } }] }, 'choices[0].delta.tool_calls[0].function.arguments'],
    ['a tool name as a number', { tool_calls: [{ index: 0, id: 'c', function: { name: 7, arguments: '{}' } }] }, 'choices[0].delta.tool_calls[0].function.name'],
    ['a tool id as a number', { tool_calls: [{ index: 0, id: 9, function: { name: 'f', arguments: '{}' } }] }, 'choices[0].delta.tool_calls[0].id'],
  ])('refuses %s with a ProtocolError naming the field', (_what, delta, field) => {
    const mapper = createChatMapper({ provider: 'x' });
    const sink = feed(mapper, [chunk({ content: 'before ' })]);
    const error = thrown(() => mapper.event(undefined, JSON.stringify(chunk(delta)[1]), sink));
    expect(error.message).toContain(field);
    expect(sink.calls.filter((c) => c[0] === 'token')).toEqual([['token', 'before ']]);
  });
});

describe('createChatMapper: start (issue 12, item 8)', () => {
  it('takes the first non-empty id and model, and starts as soon as both are known', () => {
    const sink = feed(createChatMapper({ provider: 'x' }), [
      [undefined, { id: '', model: '', choices: [{ index: 0, delta: { role: 'assistant' }, finish_reason: null }] }],
      [undefined, { id: 'chatcmpl-real', model: '', choices: [{ index: 0, delta: {}, finish_reason: null }] }],
      [undefined, { id: 'chatcmpl-other', model: 'm-real', choices: [] }],
      [undefined, { id: 'chatcmpl-other', model: 'm-other', choices: [{ index: 0, delta: { content: 'hi' }, finish_reason: null }] }],
    ]);
    expect(sink.calls).toEqual([['start', 'm-real', 'chatcmpl-real'], ['token', 'hi']]);
  });

  it('starts on the first chunk that names both, before any output (start marks when the provider answered)', () => {
    const sink = feed(createChatMapper({ provider: 'x' }), [chunk({ role: 'assistant', content: '' })]);
    expect(sink.calls).toEqual([['start', 'gpt-x', 'chatcmpl-1']]);
  });

  it('starts just before the first output with what it knows (the engine fills in the request model)', () => {
    const sink = feed(createChatMapper({ provider: 'x' }), [
      [undefined, { id: '', model: '', choices: [{ index: 0, delta: { role: 'assistant' }, finish_reason: null }] }],
      [undefined, { id: 'chatcmpl-2', choices: [{ index: 0, delta: { reasoning: 'r' }, finish_reason: null }] }],
      [undefined, { id: 'chatcmpl-2', model: 'late', choices: [{ index: 0, delta: { content: 'a' }, finish_reason: null }] }],
    ]);
    expect(sink.calls).toEqual([['start', undefined, 'chatcmpl-2'], ['reasoning', 'r'], ['token', 'a']]);
  });

  it('starts before done when the answer has no output at all', () => {
    const sink = feed(createChatMapper({ provider: 'x' }), [
      [undefined, { id: '', model: 'm', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }],
      [undefined, '[DONE]'],
    ]);
    expect(sink.calls).toEqual([['start', 'm', undefined], ['done', 'end', undefined]]);
  });
});

describe('createChatMapper: tool-call keys (issue 12, item 8)', () => {
  it('passes wire indexes that start at 1 or skip as keys (the engine numbers calls from 0)', () => {
    const sink = feed(createChatMapper({ provider: 'x' }), [
      chunk({ tool_calls: [{ index: 1, id: 'call_a', function: { name: 'a', arguments: '{"x":' } }] }),
      chunk({ tool_calls: [{ index: 1, function: { arguments: '1}' } }] }),
      chunk({ tool_calls: [{ index: 3, id: 'call_b', function: { name: 'b', arguments: '{}' } }] }),
    ]);
    expect(toolCalls(sink)).toEqual([
      ['toolCall', 1, 'call_a', 'a', '{"x":'],
      ['toolCall', 1, undefined, undefined, '1}'],
      ['toolCall', 3, 'call_b', 'b', '{}'],
    ]);
  });

  it('starts a new call when a fragment at the same index has another id (Mistral, Gemini: whole calls at index 0)', () => {
    const sink = feed(createChatMapper({ provider: 'x' }), [
      chunk({ tool_calls: [{ index: 0, id: 'call_a', function: { name: 'a', arguments: '{"q":1}' } }] }),
      chunk({ tool_calls: [{ index: 0, id: 'call_b', function: { name: 'b', arguments: '{"q":2}' } }] }),
      chunk({ tool_calls: [{ index: 0, id: 'call_b', function: { arguments: '' } }] }),
    ]);
    const keys = toolCalls(sink).map((c) => c[1]);
    expect(keys[0]).not.toBe(keys[1]);
    expect(keys[2]).toBe(keys[1]);
    expect([sink.args.get(keys[0] as number), sink.args.get(keys[1] as number)]).toEqual(['{"q":1}', '{"q":2}']);
  });

  it('without an index, a new id starts a call and a fragment without id continues the last one', () => {
    const sink = feed(createChatMapper({ provider: 'x' }), [
      chunk({ tool_calls: [{ id: 'call_a', function: { name: 'a', arguments: '{"a"' } }] }),
      chunk({ tool_calls: [{ function: { arguments: ':1}' } }] }),
      chunk({ tool_calls: [{ id: 'call_b', function: { name: 'b', arguments: '{}' } }] }),
      chunk({ tool_calls: [{ id: 'call_b', function: { arguments: '' } }] }),
    ]);
    const keys = toolCalls(sink).map((c) => c[1]);
    expect(keys[1]).toBe(keys[0]);
    expect(keys[2]).not.toBe(keys[0]);
    expect(keys[3]).toBe(keys[2]);
    expect([sink.args.get(keys[0] as number), sink.args.get(keys[2] as number)]).toEqual(['{"a":1}', '{}']);
  });

  it('reads a custom tool call (free-form input) with its kind, and the deprecated function_call', () => {
    const sink = feed(createChatMapper({ provider: 'openai' }), [
      chunk({ tool_calls: [{ index: 0, id: 'call_c', type: 'custom', custom: { name: 'grammar', input: 'SELECT 1' } }] }),
      chunk({ function_call: { name: 'legacy', arguments: '{}' } }),
    ]);
    expect(toolCalls(sink)).toEqual([
      ['toolCall', 0, 'call_c', 'grammar', 'SELECT 1', 'custom_tool_call'],
      ['toolCall', Number.MIN_SAFE_INTEGER, undefined, 'legacy', '{}'],
    ]);
  });

  it('refuses a tool-call index that is not a non-negative integer', () => {
    const mapper = createChatMapper({ provider: 'x' });
    const error = thrown(() => feed(mapper, [chunk({ tool_calls: [{ index: '0', id: 'c', function: { name: 'f', arguments: '' } }] })]));
    expect(error.message).toContain('choices[0].delta.tool_calls[0].index');
  });
});

describe('createChatMapper: chunks of the wrong shape (issue 12, item 10)', () => {
  it.each(['null', '3', '[]', '"text"'])('refuses data: %s as a ProtocolError', (data) => {
    thrown(() => feed(createChatMapper({ provider: 'x' }), [[undefined, data]]));
  });

  it.each([
    ['choices that is an object', { id: 'c', model: 'm', choices: { 0: {} } }, 'choices'],
    ['a choice that is a string', { id: 'c', model: 'm', choices: ['x'] }, 'choices[0]'],
    ['a delta that is a string', { id: 'c', model: 'm', choices: [{ index: 0, delta: 'hi' }] }, 'choices[0].delta'],
    ['tool_calls that is an object', { id: 'c', model: 'm', choices: [{ index: 0, delta: { tool_calls: { index: 0 } } }] }, 'choices[0].delta.tool_calls'],
    ['a tool call that is a number', { id: 'c', model: 'm', choices: [{ index: 0, delta: { tool_calls: [1] } }] }, 'choices[0].delta.tool_calls[0]'],
    ['a function that is a string', { id: 'c', model: 'm', choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: 'f' }] } }] }, 'choices[0].delta.tool_calls[0].function'],
    ['a finish_reason that is a number', { id: 'c', model: 'm', choices: [{ index: 0, delta: {}, finish_reason: 1 }] }, 'choices[0].finish_reason'],
  ])('refuses %s with a ProtocolError naming the field', (_what, data, field) => {
    const error = thrown(() => feed(createChatMapper({ provider: 'x' }), [[undefined, data]]));
    expect(error.message).toContain(`x: ${field} must be`);
  });

  it('follows choice 0 only: another choice (n > 1) is not spliced into the answer', () => {
    const sink = feed(createChatMapper({ provider: 'x' }), [
      [undefined, { id: 'c', model: 'm', choices: [{ index: 1, delta: { content: 'B' }, finish_reason: null }] }],
      [undefined, { id: 'c', model: 'm', choices: [{ index: 0, delta: { content: 'A' }, finish_reason: null }] }],
      [undefined, { id: 'c', model: 'm', choices: [{ index: 1, delta: { content: 'B' }, finish_reason: 'stop' }, { index: 0, delta: { content: 'a' }, finish_reason: 'length' }] }],
      [undefined, '[DONE]'],
    ]);
    expect([sink.text, sink.stop]).toEqual(['Aa', 'max_tokens']);
  });
});

describe('createChatMapper: stops, errors and usage', () => {
  it('fails with a ProviderError on finish_reason "error" (Mistral) instead of ending as an answer', () => {
    const sink = feed(createChatMapper({ provider: 'mistral', lenientEnd: true }), [
      chunk({ content: 'par' }),
      [undefined, { id: 'c', model: 'm', choices: [{ index: 0, delta: {}, finish_reason: 'error' }] }],
      [undefined, '[DONE]'],
    ]);
    expect(ProviderError.isInstance(sink.failure)).toBe(true);
    expect((sink.failure as ProviderError).retryable).toBe(true);
    expect(sink.calls.at(-2)).toEqual(['fail', 'ProviderError']);
  });

  it("fails on Groq's x_groq.error (the stream was stopped early)", () => {
    const sink = feed(createChatMapper({ provider: 'groq' }), [
      chunk({ content: 'par' }),
      [undefined, { id: 'c', model: 'm', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], x_groq: { id: 'req', error: 'over capacity' } }],
    ]);
    expect(ProviderError.isInstance(sink.failure)).toBe(true);
    expect(sink.failure?.message).toContain('over capacity');
  });

  it("counts xAI's reasoning tokens (reported apart from completion_tokens) as output, and OpenAI's only once", () => {
    const xai = feed(createChatMapper({ provider: 'xai' }), [
      [undefined, { id: 'c', model: 'grok', choices: [], usage: { prompt_tokens: 10, completion_tokens: 2, total_tokens: 312, completion_tokens_details: { reasoning_tokens: 300 } } }],
    ]);
    expect([xai.input, xai.output]).toEqual([10, 302]);
    const openai = feed(createChatMapper({ provider: 'openai' }), [
      [undefined, { id: 'c', model: 'o', choices: [], usage: { prompt_tokens: 10, completion_tokens: 302, total_tokens: 312, completion_tokens_details: { reasoning_tokens: 300 } } }],
    ]);
    expect([openai.input, openai.output]).toEqual([10, 302]);
  });

  it('passes annotations (url_citation) as citations', () => {
    const annotation = { type: 'url_citation', url_citation: { url: 'https://example.com', title: 'Ex', start_index: 0, end_index: 3 } };
    const sink = feed(createChatMapper({ provider: 'openai' }), [chunk({ content: 'Yes' }), chunk({ annotations: [annotation] })]);
    expect(sink.calls.at(-1)).toEqual(['citation', annotation]);
  });
});

describe('createChatCompletionMapper', () => {
  const doc = (message: Record<string, unknown>, extra: Record<string, unknown> = {}) => [
    undefined,
    { id: 'chatcmpl-d', object: 'chat.completion', model: 'm', choices: [{ index: 0, message: { role: 'assistant', ...message }, finish_reason: 'stop' }], ...extra },
  ] as [undefined, unknown];

  it("reads Mistral's array content in order, and custom and function tool calls", () => {
    const sink = feed(createChatCompletionMapper('mistral'), [
      doc({
        content: [{ type: 'thinking', thinking: [{ type: 'text', text: 'Hmm.' }] }, { type: 'text', text: 'Yes.' }],
        tool_calls: [
          { id: 'call_a', type: 'function', function: { name: 'a', arguments: '{}' } },
          { id: 'call_c', type: 'custom', custom: { name: 'sql', input: 'SELECT 1' } },
          { id: 'call_x', type: 'future_kind', future_kind: {} },
        ],
      }),
    ]);
    expect(sink.calls).toEqual([
      ['start', 'm', 'chatcmpl-d'],
      ['reasoning', 'Hmm.'],
      ['token', 'Yes.'],
      ['toolCall', 0, 'call_a', 'a', '{}'],
      ['toolCall', 1, 'call_c', 'sql', 'SELECT 1', 'custom_tool_call'],
      ['done', 'end', undefined],
    ]);
  });

  it.each([
    ['content as a number', { content: 42 }, 'choices[0].message.content'],
    ['a text part with an object as text', { content: [{ type: 'text', text: {} }] }, 'choices[0].message.content[0].text'],
    ['reasoning_content as a number', { reasoning_content: 1 }, 'choices[0].message.reasoning_content'],
    ['refusal as a number', { refusal: 1 }, 'choices[0].message.refusal'],
    ['arguments as an object', { tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: {} } }] }, 'choices[0].message.tool_calls[0].function.arguments'],
    ['a tool name as a number', { tool_calls: [{ id: 'c', type: 'function', function: { name: 1, arguments: '{}' } }] }, 'choices[0].message.tool_calls[0].function.name'],
  ])('refuses %s with a ProtocolError naming the field', (_what, message, field) => {
    const error = thrown(() => feed(createChatCompletionMapper('x'), [doc(message)]));
    expect(error.message).toContain(field);
  });

  it.each(['null', '3', '[]'])('refuses a document that is %s', (data) => {
    thrown(() => feed(createChatCompletionMapper('x'), [[undefined, data]]));
  });

  it('refuses a message that is not an object', () => {
    const error = thrown(() =>
      feed(createChatCompletionMapper('x'), [[undefined, { id: 'c', model: 'm', choices: [{ index: 0, message: 'hi', finish_reason: 'stop' }] }]]),
    );
    expect(error.message).toContain('choices[0].message');
  });

  it('takes the wire id and model only when non-empty', () => {
    const sink = feed(createChatCompletionMapper('x'), [doc({ content: 'a' }, { id: '', model: '' })]);
    expect(sink.calls[0]).toEqual(['start', undefined, undefined]);
  });
});
