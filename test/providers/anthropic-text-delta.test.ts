/**
 * The Anthropic mapper reads a `text_delta` event's text straight from its data when the event has
 * exactly the API's shape (`textDeltaOf`), and parses everything else in full. What the short path
 * returns must be what `JSON.parse` gives, for any text; anything it is unsure of must go the long
 * way, so a malformed event is still reported and never read wrong.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../src/errors.js';
import { createAnthropicMapper, textDeltaOf } from '../../src/providers/anthropic-wire.js';
import { feed } from '../helpers/recording-sink.js';

const event = (text: string, index = 0) => JSON.stringify({ type: 'content_block_delta', index, delta: { type: 'text_delta', text } });
/** JSON's whitespace, as padding the API puts after a delta. */
const padding = fc.array(fc.constantFrom(' ', '\t', '\n', '\r'), { maxLength: 12 }).map((s) => s.join(''));
/** Any text: every UTF-16 code unit (lone surrogates, control characters, quotes, backslashes) and whole code points. */
const anyText = fc.oneof(fc.string({ unit: 'binary', maxLength: 40 }), fc.string({ unit: fc.constantFrom('"', '\\', '/', '\n', '\u0000', '\u2028', 'é', '😀', 'a', '}'), maxLength: 20 }));

describe('textDeltaOf: the text of a text_delta without parsing the event', () => {
  it('is the text JSON.parse gives, for any text, index and padding after the text', () => {
    fc.assert(
      fc.property(anyText, fc.nat(), padding, padding, padding, (text, index, a, b, c) => {
        const data = event(text, index);
        // `…"text":"…"}}` with whitespace between the two braces and after them, as the API pads it.
        const padded = `${data.slice(0, -2)}${a}}${b}}${c}`;
        expect(textDeltaOf(data)).toBe(text);
        expect(textDeltaOf(padded)).toBe(text);
        expect(textDeltaOf(padded)).toBe((JSON.parse(padded) as { delta: { text: string } }).delta.text);
      }),
      { numRuns: 2000 },
    );
  });

  it('returns a text only when JSON.parse reads the same text_delta, for any edit of an event', () => {
    // An event with one character inserted, removed or replaced anywhere: most are not the API's
    // shape (or not JSON at all); whatever the short path still reads must be exactly the parse.
    const edit = fc.record({ text: anyText, index: fc.nat({ max: 20 }), at: fc.nat(), kind: fc.constantFrom('insert', 'remove', 'replace'), char: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) });
    fc.assert(
      fc.property(edit, ({ text, index, at, kind, char }) => {
        const data = event(text, index);
        const i = at % (data.length + 1);
        const edited = kind === 'insert' ? data.slice(0, i) + char + data.slice(i) : kind === 'remove' ? data.slice(0, i) + data.slice(i + 1) : data.slice(0, i) + char + data.slice(i + 1);
        const read = textDeltaOf(edited);
        if (read === undefined) return;
        const parsed = JSON.parse(edited) as Record<string, unknown>;
        expect(Object.keys(parsed)).toEqual(['type', 'index', 'delta']);
        expect(parsed).toEqual({ type: 'content_block_delta', index: parsed.index, delta: { type: 'text_delta', text: read } });
        expect(Number.isInteger(parsed.index) && (parsed.index as number) >= 0).toBe(true);
      }),
      { numRuns: 5000 },
    );
  });

  it('leaves every other shape to the full parse', () => {
    const text = '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hi"}}';
    expect(textDeltaOf(text)).toBe('hi');
    for (const other of [
      '{"type":"content_block_delta","index":01,"delta":{"type":"text_delta","text":"hi"}}', // a leading zero: not JSON
      '{"type":"content_block_delta","index":-1,"delta":{"type":"text_delta","text":"hi"}}',
      '{"type":"content_block_delta","index":1.5,"delta":{"type":"text_delta","text":"hi"}}',
      '{"type":"content_block_delta","index":,"delta":{"type":"text_delta","text":"hi"}}',
      '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text": "hi"}}', // whitespace before the text
      '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hi","x":1}}', // another key
      '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hi"},"x":1}',
      '{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"hi"}}',
      '{"index":0,"type":"content_block_delta","delta":{"type":"text_delta","text":"hi"}}', // another order
      ' {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hi"}}',
      '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hi"}}x',
      '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hi"}',
      '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hi"}}}',
      '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"h\ni"}}', // a raw line feed
      '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"h\\qi"}}', // a bad escape
      '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"h\\u12"}}',
      '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hi\\"}}', // the quote is escaped: no end
      '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hi',
    ]) {
      expect(textDeltaOf(other), other).toBeUndefined();
    }
    expect(textDeltaOf('{"type":"content_block_delta","index":12,"delta":{"type":"text_delta","text":"a\\"b\\\\c\\u00e9\\n"}   }')).toBe('a"b\\cé\n');
  });
});

describe('the Anthropic mapper with the short path', () => {
  it('reads padded and plain text deltas as tokens, and still reports a malformed one', () => {
    const sink = feed(createAnthropicMapper(), [
      ['message_start', { type: 'message_start', message: { id: 'msg_1', model: 'claude-x', usage: { input_tokens: 1, output_tokens: 1 } } }],
      ['content_block_delta', '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"I"}       }'],
      ['content_block_delta', event('\'ll "say" \\ é😀')],
      ['message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 3 } }],
      ['message_stop', { type: 'message_stop' }],
    ]);
    expect(sink.calls.filter((c) => c[0] === 'token')).toEqual([['token', 'I'], ['token', '\'ll "say" \\ é😀']]);
    expect(sink.stop).toBe('end');
    // The mapper throws what `JSON.parse` throws; the engine reports it as a ProtocolError.
    expect(() =>
      feed(createAnthropicMapper(), [['content_block_delta', '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"h\\qi"}}']]),
    ).toThrow(SyntaxError);
  });

  it('still refuses a text that is not a string', () => {
    const read = () => feed(createAnthropicMapper(), [['content_block_delta', '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":42}}']]);
    expect(read).toThrow(ProtocolError);
    expect(read).toThrow(/text_delta\.text/);
  });
});
