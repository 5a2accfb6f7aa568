/**
 * The Chat Completions mapper reads a plain text chunk by its frame (the data around the content's
 * string, as the chunk before it had it) instead of parsing it. The mapper with frames must make
 * exactly the sink calls the mapper without them makes, for any stream: servers that repeat their
 * chunk around each token, servers that change it (OpenAI's `obfuscation`), spacing, key orders,
 * other `content` keys, escapes anywhere, and chunks that are not plain text.
 */
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { createChatMapper } from '../../src/providers/openai-chat-wire.js';
import { RecordingSink } from '../helpers/recording-sink.js';

/** Each data string through a fresh mapper; its calls, or the error the mapper threw (and where). */
function run(datas: readonly string[], frames: boolean): { calls: unknown[]; error?: string } {
  const mapper = createChatMapper({ provider: 'openai', frames });
  const sink = new RecordingSink();
  try {
    for (const data of datas) mapper.event(undefined, data, sink);
  } catch (error) {
    return { calls: sink.calls, error: `${(error as Error).name}: ${(error as Error).message} after ${sink.calls.length}` };
  }
  return { calls: sink.calls };
}

/** `read()`'s result, and the whole chunks `JSON.parse` was given meanwhile (not string literals alone). */
function parsedChunks<T>(read: () => T): { result: T; parsed: string[] } {
  const parse = JSON.parse;
  const parsed: string[] = [];
  const spy = vi.spyOn(JSON, 'parse').mockImplementation((text: string, reviver?: Parameters<typeof JSON.parse>[1]) => {
    if (text.startsWith('{')) parsed.push(text);
    return parse(text, reviver);
  });
  try {
    return { result: read(), parsed };
  } finally {
    spy.mockRestore();
  }
}

/** Texts mostly from a tiny set (so chunks repeat what a frame was made from), or anything at all. */
const text = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('A', 'B') },
  { weight: 1, arbitrary: fc.constantFrom('x"y', '\\', '') },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) },
  { weight: 1, arbitrary: fc.string({ unit: fc.constantFrom('"', '\\', 'a', ' ', '\n', 'é', '😀', '"content":"'), maxLength: 6 }) },
);

/** What a server keeps the same in every chunk of a stream. */
const server = fc.record({
  created: fc.constantFrom(1, 2),
  space: fc.constantFrom(0, 1),
  reorder: fc.boolean(),
  obfuscate: fc.boolean(),
  /** A second `content` key outside the delta: a frame must never take it for the delta's. */
  extra: fc.boolean(),
  /** The delta's key spelled with an escape (`"cont\u0065nt"`), which JSON.parse reads as `content`. */
  escapeKey: fc.boolean(),
});
type Server = typeof server extends fc.Arbitrary<infer T> ? T : never;

/** One chunk: plain text mostly, now and then something else. */
const chunk = fc.record({
  kind: fc.oneof({ weight: 8, arbitrary: fc.constant('plain') }, { weight: 1, arbitrary: fc.constantFrom('finish', 'usage', 'tool', 'reasoning', 'broken') }),
  text,
  extraText: fc.constantFrom('A', 'B'),
  obfuscation: fc.string({ maxLength: 3 }),
});
type Chunk = typeof chunk extends fc.Arbitrary<infer T> ? T : never;

function dataOf(s: Server, c: Chunk): string {
  const delta: Record<string, unknown> = { content: c.text };
  const choice: Record<string, unknown> = { index: 0, delta, finish_reason: null };
  let body: Record<string, unknown> = { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: s.created, model: 'gpt-x', choices: [choice] };
  switch (c.kind) {
    case 'finish':
      choice.finish_reason = 'stop';
      break;
    case 'usage':
      body.usage = { prompt_tokens: 3, completion_tokens: 4 };
      break;
    case 'tool':
      delta.tool_calls = [{ index: 0, id: 'call_1', type: 'function', function: { name: 'f', arguments: c.text } }];
      break;
    case 'reasoning':
      delta.reasoning_content = c.text || 'r';
      break;
    case 'broken':
      return `{"id":"chatcmpl-1","choices":[{"delta":{"content":${JSON.stringify(c.text)}}]`;
    case 'plain':
      break;
  }
  if (s.extra) body.extra = { content: c.extraText };
  if (s.obfuscate) body.obfuscation = c.obfuscation;
  if (s.reorder) body = Object.fromEntries(Object.entries(body).reverse());
  let data = JSON.stringify(body, null, s.space || undefined);
  if (s.escapeKey) {
    // Only the delta's key: its `content` is the one followed by the delta's own text.
    const key = `"content":${JSON.stringify(c.text)}`;
    const at = data.lastIndexOf(key.replace(':', s.space ? ': ' : ':'));
    if (at >= 0 && c.kind !== 'tool') data = `${data.slice(0, at)}"cont\\u0065nt"${data.slice(at + '"content"'.length)}`;
  }
  return data;
}

describe('Chat Completions: plain chunks read by their frame', () => {
  it('makes the same sink calls as parsing every chunk, for any stream', () => {
    fc.assert(
      fc.property(server, fc.array(chunk, { maxLength: 40 }), fc.boolean(), (s, chunks, done) => {
        const datas = chunks.map((c) => dataOf(s, c));
        if (done) datas.push('[DONE]');
        expect(run(datas, true)).toEqual(run(datas, false));
      }),
      { numRuns: 3000 },
    );
  });

  it('reads a repeated frame without a parse, and a changed one (obfuscation, a new created) in full', () => {
    const plain = (content: string, extra = '') =>
      `{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-x","choices":[{"index":0,"delta":{"content":${JSON.stringify(content)}},"finish_reason":null}]${extra}}`;
    const datas = [plain('A'), plain('B'), plain('C "q" \\ é'), plain('D', ',"obfuscation":"x"'), plain('E', ',"obfuscation":"yz"'), '[DONE]'];
    const framed = parsedChunks(() => run(datas, true));
    expect(framed.result).toEqual(run(datas, false));
    // A starts the stream and B makes the frame; C is read in it (its escapes by parsing its string
    // alone); D and E changed around their text and are parsed in full.
    expect(framed.parsed).toEqual([datas[0], datas[1], datas[3], datas[4]]);
    const framedResult = framed.result;
    expect(framedResult.calls.filter((c) => (c as unknown[])[0] === 'token')).toEqual([['token', 'A'], ['token', 'B'], ['token', 'C "q" \\ é'], ['token', 'D'], ['token', 'E']]);
  });

  it('stops framing after three plain chunks in a row that changed around their text', () => {
    const plain = (content: string, obfuscation: string) =>
      `{"id":"c","model":"m","choices":[{"index":0,"delta":{"content":"${content}"},"finish_reason":null}],"obfuscation":"${obfuscation}"}`;
    // Every chunk pads differently (as OpenAI's do), then two share their padding: framing has
    // stopped by then, so both are parsed in full.
    const datas = [plain('A', 'a'), plain('B', 'bb'), plain('C', 'ccc'), plain('D', 'dddd'), plain('E', 'same'), plain('F', 'same')];
    const framed = parsedChunks(() => run(datas, true));
    expect(framed.result).toEqual(run(datas, false));
    expect(framed.parsed).toEqual(datas);
    // Two chunks that share their padding right after the start are framed.
    const early = [plain('A', 'a'), plain('B', 'same'), plain('C', 'same')];
    expect(parsedChunks(() => run(early, true)).parsed).toEqual(early.slice(0, 2));
  });

  it('a chunk in the frame whose string is not valid JSON is still reported as the parse reports it', () => {
    const plain = (literal: string) => `{"id":"c","model":"m","choices":[{"index":0,"delta":{"content":"${literal}"},"finish_reason":null}]}`;
    for (const bad of ['a\\qb', 'a\nb', 'ab\\']) {
      const datas = [plain('x'), plain('y'), plain(bad)];
      const framed = run(datas, true);
      expect(framed.error).toMatch(/SyntaxError/);
      expect(framed).toEqual(run(datas, false));
    }
  });
});
