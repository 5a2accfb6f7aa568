/**
 * The Chat Completions mapper reads the common chunk (one choice, a non-empty text `content` and
 * nothing else) on a short path of its own. Every chunk that carries text AND something else, after
 * the stream started, must still be read in full: each row below sends a plain chunk first (so the
 * short path is live), then the mixed chunk, and checks that nothing beside the text was lost.
 */
import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../src/errors.js';
import { createChatMapper } from '../../src/providers/openai-chat-wire.js';
import { feed, type RecordingSink } from '../helpers/recording-sink.js';

const first = { id: 'chatcmpl-1', model: 'gpt-x', choices: [{ index: 0, delta: { content: 'A' }, finish_reason: null }] };

/** A plain first chunk, `chunk`, an empty chunk and `[DONE]`, through a fresh mapper. */
function read(chunk: Record<string, unknown>): RecordingSink {
  return feed(createChatMapper({ provider: 'openai' }), [
    [undefined, first],
    [undefined, chunk],
    [undefined, { id: 'chatcmpl-1', choices: [] }],
    [undefined, '[DONE]'],
  ]);
}

const withDelta = (delta: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  id: 'chatcmpl-1',
  choices: [{ index: 0, delta: { content: 'B', ...delta }, finish_reason: null }],
  ...extra,
});

describe('Chat Completions: a chunk with text and more is read in full', () => {
  const rows: Array<[string, Record<string, unknown>, (sink: RecordingSink) => void]> = [
    ['plain text (the short path)', withDelta({}), (sink) => expect(sink.calls.filter((c) => c[0] === 'token')).toEqual([['token', 'A'], ['token', 'B']])],
    ['reasoning_content', withDelta({ reasoning_content: 'why' }), (sink) => expect(sink.reasoningText).toBe('why')],
    ['reasoning', withDelta({ reasoning: 'how' }), (sink) => expect(sink.reasoningText).toBe('how')],
    ['refusal', withDelta({ refusal: 'no' }), (sink) => expect(sink.refusalText).toBe('no')],
    [
      'a tool call',
      withDelta({ tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'f', arguments: '{}' } }] }),
      (sink) => expect(sink.calls.some((c) => c[0] === 'toolCall' && c[2] === 'call_1')).toBe(true),
    ],
    [
      'a legacy function_call',
      withDelta({ function_call: { name: 'g', arguments: '{}' } }),
      (sink) => expect(sink.calls.some((c) => c[0] === 'toolCall' && c[3] === 'g')).toBe(true),
    ],
    [
      'annotations',
      withDelta({ annotations: [{ type: 'url_citation', url_citation: { url: 'https://example.com' } }] }),
      (sink) => expect(sink.calls.some((c) => c[0] === 'citation')).toBe(true),
    ],
    [
      'a finish reason',
      { id: 'chatcmpl-1', choices: [{ index: 0, delta: { content: 'B' }, finish_reason: 'length' }] },
      (sink) => expect(sink.stop).toBe('max_tokens'),
    ],
    ['usage', withDelta({}, { usage: { prompt_tokens: 7, completion_tokens: 3 } }), (sink) => expect([sink.input, sink.output]).toEqual([7, 3])],
    [
      "Groq's x_groq usage",
      withDelta({}, { x_groq: { usage: { prompt_tokens: 5, completion_tokens: 2, total_time: 0.5 } } }),
      (sink) => expect([sink.input, sink.output]).toEqual([5, 2]),
    ],
  ];

  for (const [name, chunk, check] of rows) {
    it(`text and ${name}`, () => {
      const sink = read(chunk);
      expect(sink.text).toBe('AB');
      check(sink);
    });
  }

  it('reads only choice 0, wherever it is in the array', () => {
    const other = { id: 'chatcmpl-1', choices: [{ index: 1, delta: { content: 'X' }, finish_reason: null }] };
    const both = {
      id: 'chatcmpl-1',
      choices: [
        { index: 1, delta: { content: 'Y' }, finish_reason: null },
        { index: 0, delta: { content: 'B' }, finish_reason: null },
      ],
    };
    expect(read(other).text).toBe('A');
    expect(read(both).text).toBe('AB');
  });

  it('reads content parts (Mistral) and rejects content that is not text', () => {
    expect(read(withDelta({ content: [{ type: 'text', text: 'B' }] })).text).toBe('AB');
    expect(() => read(withDelta({ content: 42 }))).toThrow(ProtocolError);
  });

  it('an error object beside text fails the stream', () => {
    const sink = read(withDelta({}, { error: { message: 'overloaded' } }));
    expect(sink.failure).toBeDefined();
    expect(sink.text).toBe('A');
  });
});
