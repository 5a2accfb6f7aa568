import { describe, expect, it } from 'vitest';
import { ProviderError } from '../../src/errors.js';
import { createAnthropicMapper, mapAnthropicStopReason } from '../../src/providers/anthropic-wire.js';
import { feed } from '../helpers/recording-sink.js';

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

  it('numbers tool calls in order, apart from content block indices, and routes thinking to reasoning', () => {
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
      ['toolCall', 0, 'toolu_1', 'get', ''],
      ['toolCall', 0, undefined, undefined, '{"a":'],
      ['toolCall', 0, undefined, undefined, '1}'],
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
    ['pause_turn', 'other'],
    [null, 'other'],
  ])('maps stop_reason %s to %s', (wire, expected) => {
    expect(mapAnthropicStopReason(wire)).toBe(expected);
  });
});
