/**
 * Server-Sent Events framing as the spec (WHATWG HTML, "Server-sent events": parsing an event
 * stream) allows servers to send it, for every adapter through its real SDK over real HTTP: comments,
 * unknown fields, a field line without a colon, a bad `retry:`, CRLF and CR line endings and a BOM
 * change nothing; a line past `maxEventSize` stops the stream instead of being buffered.
 */
import Anthropic from '@anthropic-ai/sdk';
import Groq from 'groq-sdk';
import OpenAI from 'openai';
import { afterAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError, ProtocolError } from '../../src/errors.js';
import { isRetryable } from '../../src/operators/retry-core.js';
import type { Provider } from '../../src/provider.js';
import { anthropic } from '../../src/providers/anthropic.js';
import { groq } from '../../src/providers/groq.js';
import { openaiCompatible } from '../../src/providers/openai-compatible.js';
import { openai } from '../../src/providers/openai.js';
import { startMockProvider, type MockChunking, type MockFlavor, type MockProvider } from '../../src/testing/index.js';
import { withoutTimes } from '../helpers/fixtures.js';
import { run } from '../helpers/run.js';

const REQUEST = { model: 'request-model', messages: [{ role: 'user' as const, content: 'x' }] };

/** One SSE event: its lines, without the blank line that ends it. */
type SseEvent = string[];

const named = (name: string, data: unknown): SseEvent => [`event: ${name}`, `data: ${JSON.stringify(data)}`];
const chunk = (data: unknown): SseEvent => [`data: ${typeof data === 'string' ? data : JSON.stringify(data)}`];

const chatChunk = (delta: Record<string, unknown>, finish: string | null = null, extra: Record<string, unknown> = {}) => ({
  id: 'chatcmpl-framing',
  object: 'chat.completion.chunk',
  created: 1,
  model: 'framing-model',
  choices: [{ index: 0, delta, finish_reason: finish }],
  ...extra,
});

const anthropicStream = (texts: string[]): SseEvent[] => [
  named('message_start', {
    type: 'message_start',
    message: { id: 'msg_framing', type: 'message', role: 'assistant', model: 'framing-model', content: [], stop_reason: null, usage: { input_tokens: 5, output_tokens: 1 } },
  }),
  named('ping', { type: 'ping' }),
  named('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
  ...texts.map((text) => named('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } })),
  named('content_block_stop', { type: 'content_block_stop', index: 0 }),
  named('message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 2 } }),
  named('message_stop', { type: 'message_stop' }),
];

const chatStream = (texts: string[], usage: 'usage' | 'x_groq' | 'none'): SseEvent[] => {
  const counts = { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 };
  return [
    chunk(chatChunk({ role: 'assistant', content: '' })),
    ...texts.map((content) => chunk(chatChunk({ content }))),
    chunk(chatChunk({}, 'stop', usage === 'x_groq' ? { x_groq: { id: 'req_framing', usage: counts } } : {})),
    ...(usage === 'usage' ? [chunk({ ...chatChunk({}), choices: [], usage: counts })] : []),
    chunk('[DONE]'),
  ];
};

const responsesStream = (texts: string[]): SseEvent[] => {
  const response = { id: 'resp_framing', object: 'response', created_at: 1, status: 'in_progress', model: 'framing-model', output: [] };
  const item = { id: 'msg_framing', type: 'message', status: 'in_progress', role: 'assistant', content: [] };
  let seq = 0;
  const ev = (type: string, data: Record<string, unknown>) => named(type, { type, sequence_number: seq++, ...data });
  const where = { item_id: 'msg_framing', output_index: 0, content_index: 0 };
  const text = texts.join('');
  return [
    ev('response.created', { response }),
    ev('response.output_item.added', { output_index: 0, item }),
    ev('response.content_part.added', { ...where, part: { type: 'output_text', text: '', annotations: [] } }),
    ...texts.map((delta) => ev('response.output_text.delta', { ...where, delta })),
    ev('response.output_text.done', { ...where, text }),
    ev('response.output_item.done', { output_index: 0, item: { ...item, status: 'completed', content: [{ type: 'output_text', text, annotations: [] }] } }),
    ev('response.completed', {
      response: {
        ...response,
        status: 'completed',
        output: [{ ...item, status: 'completed', content: [{ type: 'output_text', text, annotations: [] }] }],
        usage: { input_tokens: 5, output_tokens: 2, total_tokens: 7 },
      },
    }),
  ];
};

interface Case {
  label: string;
  flavor: MockFlavor;
  make(baseURL: string, extra?: { maxEventSize?: number }): Provider;
  /** A whole answer built from these text deltas. */
  stream(texts: string[]): SseEvent[];
  /** How many leading events come before the first text delta. */
  lead: number;
}

const CASES: Case[] = [
  { label: 'anthropic', flavor: 'anthropic', make: (baseURL, extra) => anthropic({ apiKey: 'k', baseURL, maxRetries: 0, ...extra }), stream: anthropicStream, lead: 3 },
  { label: 'openai chat', flavor: 'openai', make: (baseURL, extra) => openai({ apiKey: 'k', baseURL, maxRetries: 0, ...extra }), stream: (t) => chatStream(t, 'usage'), lead: 1 },
  {
    label: 'openai responses',
    flavor: 'openai',
    make: (baseURL, extra) => openai({ apiKey: 'k', baseURL, maxRetries: 0, api: 'responses', ...extra }),
    stream: responsesStream,
    lead: 3,
  },
  { label: 'groq', flavor: 'groq', make: (baseURL, extra) => groq({ apiKey: 'k', baseURL, maxRetries: 0, ...extra }), stream: (t) => chatStream(t, 'x_groq'), lead: 1 },
  {
    label: 'openai-compatible',
    flavor: 'openai-compatible',
    make: (baseURL, extra) => openaiCompatible({ baseURL, maxRetries: 0, includeUsage: false, ...extra }),
    stream: (t) => chatStream(t, 'none'),
    lead: 1,
  },
];

interface Framing {
  eol?: '\n' | '\r\n' | '\r';
  /** Comments, unknown fields, a bare `keep-alive` line and bad `retry:` values between and inside events. */
  noise?: boolean;
  bom?: boolean;
  /** A comment line after the last event. */
  trailer?: boolean;
}

/** Renders events as an event-stream body with the given framing. */
function render(events: SseEvent[], framing: Framing = {}): string {
  const eol = framing.eol ?? '\n';
  const blocks = events.map((lines, i) => {
    if (!framing.noise) return lines;
    // Inside the event, before its data: fields a client must ignore.
    const noisy = [...lines];
    noisy.splice(lines.length - 1, 0, 'foo: bar', 'keep-alive', 'retry: x', ': inside an event');
    return i % 2 === 0 ? noisy : [': between events', ...noisy];
  });
  const extra: string[][] = framing.noise ? [[':'], ['keep-alive'], ['retry: soon'], ['retry: -5'], ['foo: bar', 'baz']] : [];
  const out: string[][] = [];
  blocks.forEach((block, i) => {
    out.push(block);
    if (extra.length > 0) out.push(extra[i % extra.length]!);
  });
  const body = out.map((block) => block.join(eol) + eol + eol).join('');
  return (framing.bom ? '\uFEFF' : '') + body + (framing.trailer ? `: end of stream${eol}` : '');
}

const mocks: MockProvider[] = [];
afterAll(async () => {
  await Promise.all(mocks.map((m) => m.close()));
});

async function serve(flavor: MockFlavor, raw: string | Uint8Array, chunking: MockChunking): Promise<MockProvider> {
  const mock = await startMockProvider({ flavor, chunking, script: { raw } });
  mocks.push(mock);
  return mock;
}

const TEXTS = ['Hello', ' wörld', ' 👋'];
const VARIANTS: Array<[string, Framing]> = [
  ['comments, unknown fields, a bare keep-alive line and bad retry values', { noise: true }],
  ['CRLF line endings', { eol: '\r\n' }],
  ['CR line endings (a comment after the last event)', { eol: '\r', trailer: true }],
  ['a byte order mark', { bom: true }],
  ['all of it: BOM, CRLF and noise', { bom: true, eol: '\r\n', noise: true }],
  ['CR line endings with noise', { eol: '\r', noise: true }],
];
const CHUNKINGS: MockChunking[] = ['whole', { random: { maxBytes: 5 } }];

describe.each(CASES)('$label: event-stream framing', (c) => {
  it.each(VARIANTS)('%s: the same events as a plain stream', async (_name, framing) => {
    const plainMock = await serve(c.flavor, render(c.stream(TEXTS)), 'whole');
    const plain = await run(c.make(plainMock.baseURL).stream(REQUEST));
    expect(plain.error).toBeUndefined();
    expect(plain.text).toBe(TEXTS.join(''));
    expect(plain.events.at(-1)?.type).toBe('done');
    for (const chunking of CHUNKINGS) {
      const mock = await serve(c.flavor, render(c.stream(TEXTS), framing), chunking);
      const framed = await run(c.make(mock.baseURL).stream(REQUEST));
      expect(framed.error, JSON.stringify(chunking)).toBeUndefined();
      expect(withoutTimes(framed.events), JSON.stringify(chunking)).toEqual(withoutTimes(plain.events));
    }
  });

  // eventsource-parser holds a trailing CR back (a LF may follow): the engine completes that last
  // line at the end of the body, so a body in CR line endings keeps its terminal event.
  it('CR line endings up to the last byte: the same events as a plain stream', async () => {
    const plainMock = await serve(c.flavor, render(c.stream(TEXTS)), 'whole');
    const plain = await run(c.make(plainMock.baseURL).stream(REQUEST));
    const mock = await serve(c.flavor, render(c.stream(TEXTS), { eol: '\r' }), 'whole');
    const framed = await run(c.make(mock.baseURL).stream(REQUEST));
    expect(framed.error).toBeUndefined();
    expect(withoutTimes(framed.events)).toEqual(withoutTimes(plain.events));
  });

  it('stops with a ProtocolError at a line longer than maxEventSize, without reading the rest of the body', async () => {
    const maxEventSize = 64 * 1024;
    const head = new TextEncoder().encode(render(c.stream(['Hi']).slice(0, c.lead + 1)) + 'data: ');
    // 16 MiB without a newline: far past the bound, and past what socket buffers hold.
    const body = new Uint8Array(head.length + 16 * 1024 * 1024).fill(0x78);
    body.set(head);
    const mock = await serve(c.flavor, body, { random: { maxBytes: 64 * 1024 } });
    const outcome = await run(c.make(mock.baseURL, { maxEventSize }).stream(REQUEST));
    expect(ProtocolError.isInstance(outcome.error), String(outcome.error)).toBe(true);
    const error = outcome.error as ProtocolError;
    expect(error.message).toContain(`larger than ${maxEventSize} characters`);
    expect(error.message).toContain('maxEventSize');
    expect(error.partialText).toBe('Hi');
    expect(isRetryable(error)).toBe(false);
    const log = await mock.waitForClose(0);
    expect(log.finished).toBe(false);
    expect(log.closedByClient).toBe(true);
  });

  it('passes a stream whose longest line is under maxEventSize', async () => {
    const big = 'y'.repeat(60_000);
    const mock = await serve(c.flavor, render(c.stream(['a', big, 'b'])), { random: { maxBytes: 4096 } });
    const outcome = await run(c.make(mock.baseURL, { maxEventSize: 64 * 1024 }).stream(REQUEST));
    expect(outcome.error).toBeUndefined();
    expect(outcome.text).toBe(`a${big}b`);
  });
});

describe('the maxEventSize option', () => {
  const factories: Array<[string, (options: Record<string, unknown>) => Provider]> = [
    ['anthropic', (o) => anthropic({ apiKey: 'k', ...o })],
    ['openai', (o) => openai({ apiKey: 'k', ...o })],
    ['openai responses', (o) => openai({ apiKey: 'k', api: 'responses', ...o })],
    ['groq', (o) => groq({ apiKey: 'k', ...o })],
    ['openaiCompatible', (o) => openaiCompatible({ baseURL: 'http://127.0.0.1:1/v1', ...o })],
  ];
  const bad: unknown[] = [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '65536', null];
  it.each(factories)('%s rejects anything but a positive integer, naming the option', (_name, make) => {
    for (const value of bad) {
      let thrown: unknown;
      try {
        make({ maxEventSize: value });
      } catch (error) {
        thrown = error;
      }
      expect(InvalidArgumentError.isInstance(thrown), String(value)).toBe(true);
      expect((thrown as InvalidArgumentError).field).toBe('options.maxEventSize');
      expect((thrown as Error).message).toContain('positive integer');
    }
    expect(() => make({ maxEventSize: 1 })).not.toThrow();
  });

  const withClient: Array<[string, MockFlavor, (baseURL: string, maxEventSize: number) => Provider]> = [
    ['anthropic', 'anthropic', (baseURL, maxEventSize) => anthropic({ client: new Anthropic({ apiKey: 'k', baseURL, maxRetries: 0 }), maxEventSize })],
    ['openai', 'openai', (baseURL, maxEventSize) => openai({ client: new OpenAI({ apiKey: 'k', baseURL, maxRetries: 0 }), maxEventSize })],
    ['groq', 'groq', (baseURL, maxEventSize) => groq({ client: new Groq({ apiKey: 'k', baseURL, maxRetries: 0 }), maxEventSize })],
    [
      'openaiCompatible',
      'openai-compatible',
      (baseURL, maxEventSize) => openaiCompatible({ client: new OpenAI({ apiKey: 'k', baseURL, maxRetries: 0 }), maxEventSize, includeUsage: false }),
    ],
  ];
  it.each(withClient)('%s accepts it together with a configured client, and applies it', async (_name, flavor, make) => {
    const c = CASES.find((x) => x.flavor === flavor)!;
    const mock = await serve(flavor, render(c.stream(['z'.repeat(2000)])), 'whole');
    const outcome = await run(make(mock.baseURL, 1024).stream(REQUEST));
    expect(ProtocolError.isInstance(outcome.error), String(outcome.error)).toBe(true);
    expect((outcome.error as Error).message).toContain('larger than 1024 characters');
  });
});
