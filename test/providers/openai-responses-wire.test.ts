import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, ProviderError } from '../../src/errors.js';
import { createResponsesMapper, toResponsesBody } from '../../src/providers/openai-responses-wire.js';
import { feed } from '../helpers/recording-sink.js';

const ev = (type: string, rest: Record<string, unknown> = {}) => [type, { type, ...rest }] as [string, unknown];

describe('createResponsesMapper', () => {
  it('maps text deltas and response.completed with usage', () => {
    const sink = feed(createResponsesMapper(), [
      ev('response.created', { response: { id: 'resp_1', model: 'gpt-x', status: 'in_progress' } }),
      ev('response.in_progress', { response: { id: 'resp_1' } }),
      ev('response.output_item.added', { output_index: 0, item: { type: 'message', id: 'msg_1' } }),
      ev('response.output_text.delta', { output_index: 0, delta: 'Hi' }),
      ev('response.output_text.delta', { output_index: 0, delta: ' there' }),
      ev('response.completed', { response: { id: 'resp_1', usage: { input_tokens: 3, output_tokens: 2 } } }),
    ]);
    expect(sink.calls).toEqual([['start', 'gpt-x', 'resp_1'], ['token', 'Hi'], ['token', ' there'], ['done', 'end', undefined]]);
    expect([sink.input, sink.output]).toEqual([3, 2]);
  });

  it('maps function calls by output index and ends with tool_use', () => {
    const sink = feed(createResponsesMapper(), [
      ev('response.created', { response: { id: 'r', model: 'm' } }),
      ev('response.output_item.added', { output_index: 1, item: { type: 'function_call', call_id: 'call_1', name: 'f', arguments: '' } }),
      ev('response.function_call_arguments.delta', { output_index: 1, delta: '{"q":' }),
      ev('response.function_call_arguments.delta', { output_index: 1, delta: '2}' }),
      ev('response.completed', { response: { usage: { input_tokens: 1, output_tokens: 1 } } }),
    ]);
    expect(sink.calls.filter((c) => c[0] === 'toolCall')).toEqual([
      ['toolCall', 0, 'call_1', 'f', ''],
      ['toolCall', 0, undefined, undefined, '{"q":'],
      ['toolCall', 0, undefined, undefined, '2}'],
    ]);
    expect(sink.stop).toBe('tool_use');
  });

  it('reports an error event once, even when response.failed repeats it', () => {
    const sink = feed(createResponsesMapper(), [
      ev('response.created', { response: { id: 'r', model: 'm' } }),
      ev('error', { code: 'insufficient_quota', message: 'You exceeded your current quota', param: null }),
      ev('response.failed', { response: { error: { code: 'insufficient_quota', message: 'quota' } } }),
    ]);
    expect(sink.calls.filter((c) => c[0] === 'fail')).toHaveLength(1);
    const error = sink.failure as ProviderError;
    expect([error.code, error.inStream]).toEqual(['insufficient_quota', true]);
    expect(error.message).toContain('exceeded your current quota');
  });

  it('maps response.incomplete (max_output_tokens) to max_tokens and reasoning summaries to reasoning', () => {
    const sink = feed(createResponsesMapper(), [
      ev('response.created', { response: { id: 'r', model: 'm' } }),
      ev('response.reasoning_summary_text.delta', { delta: 'plan' }),
      ev('response.output_text.delta', { delta: 'cut' }),
      ev('response.incomplete', { response: { incomplete_details: { reason: 'max_output_tokens' }, usage: { input_tokens: 1, output_tokens: 9 } } }),
    ]);
    expect([sink.reasoningText, sink.text, sink.stop]).toEqual(['plan', 'cut', 'max_tokens']);
  });
});

describe('toResponsesBody', () => {
  it('sends system prompts as instructions and refuses stop sequences, which the API lacks', () => {
    const body = toResponsesBody({ model: 'm', messages: [{ role: 'system', content: 'sys' }, { role: 'user', content: 'q' }], maxTokens: 9 }, true);
    expect(body).toEqual({ model: 'm', input: [{ role: 'user', content: 'q' }], instructions: 'sys', max_output_tokens: 9, stream: true });
    expect(() => toResponsesBody({ model: 'm', messages: [{ role: 'user', content: 'q' }], stop: ['x'] }, true)).toThrow(InvalidArgumentError);
  });
});
