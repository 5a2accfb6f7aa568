import { describe, expect, it } from 'vitest';
import { ProviderError } from '../../src/errors.js';
import { createChatMapper, mapOpenAIFinishReason, toChatBody } from '../../src/providers/openai-chat-wire.js';
import { InvalidArgumentError } from '../../src/errors.js';
import { feed } from '../helpers/recording-sink.js';

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
