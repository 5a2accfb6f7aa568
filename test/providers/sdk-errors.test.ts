/**
 * How the adapters classify what goes wrong (src/providers/sdk-errors.ts and the engine): HTTP
 * errors as proxies send them, network failures recognised only by positive evidence, an SDK's own
 * client-side refusal, and a server speaking something other than the provider's wire, each
 * through the real SDKs over real HTTP against the mock provider.
 */
import Anthropic from '@anthropic-ai/sdk';
import Groq from 'groq-sdk';
import OpenAI from 'openai';
import { afterAll, describe, expect, it } from 'vitest';
import { ConnectionError, ProtocolError, ProviderError, StreamAbortedError, TokenflowError } from '../../src/errors.js';
import { isRetryable } from '../../src/operators/retry-core.js';
import type { Provider } from '../../src/provider.js';
import { estimateRequestTokens } from '../../src/providers/adapter.js';
import { anthropic } from '../../src/providers/anthropic.js';
import { groq } from '../../src/providers/groq.js';
import { openaiCompatible } from '../../src/providers/openai-compatible.js';
import { openai } from '../../src/providers/openai.js';
import { isNetworkError, MAX_BODY_EXCERPT, mapSdkError, parseEventStreamError } from '../../src/providers/sdk-errors.js';
import { startMockProvider, type MockFlavor, type MockProvider, type RawScript } from '../../src/testing/index.js';
import { run } from '../helpers/run.js';

const REQUEST = { model: 'request-model', messages: [{ role: 'user' as const, content: 'x' }] };
const SOURCE = { provider: 'p' };

/** Every adapter, with a body prefix that starts a normal answer ("Hi") and a message of the wrong shape. */
interface Case {
  label: string;
  flavor: MockFlavor;
  make(baseURL: string): Provider;
  /** A valid start of a streamed answer whose first token is "Hi". */
  prefix: string;
  /** One SSE message (with its event name where the wire has them) carrying `data`. */
  message(data: string): string;
  /** A well-formed message whose text delta is not a string. */
  wrongShape: string;
}

const chatPrefix = `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { role: 'assistant', content: 'Hi' }, finish_reason: null }] })}\n\n`;
const chatWrongShape = JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { content: { text: 'x' } }, finish_reason: null }] });

const CASES: Case[] = [
  {
    label: 'anthropic',
    flavor: 'anthropic',
    make: (baseURL) => anthropic({ apiKey: 'k', baseURL, maxRetries: 0 }),
    prefix:
      `event: message_start\ndata: ${JSON.stringify({ type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [], stop_reason: null, usage: { input_tokens: 3, output_tokens: 1 } } })}\n\n` +
      `event: content_block_start\ndata: ${JSON.stringify({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } })}\n\n` +
      `event: content_block_delta\ndata: ${JSON.stringify({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hi' } })}\n\n`,
    message: (data) => `event: content_block_delta\ndata: ${data}\n\n`,
    wrongShape: JSON.stringify({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 42 } }),
  },
  {
    label: 'openai chat',
    flavor: 'openai',
    make: (baseURL) => openai({ apiKey: 'k', baseURL, maxRetries: 0 }),
    prefix: chatPrefix,
    message: (data) => `data: ${data}\n\n`,
    wrongShape: chatWrongShape,
  },
  {
    label: 'openai responses',
    flavor: 'openai',
    make: (baseURL) => openai({ apiKey: 'k', baseURL, maxRetries: 0, api: 'responses' }),
    prefix:
      `event: response.created\ndata: ${JSON.stringify({ type: 'response.created', sequence_number: 0, response: { id: 'resp_1', object: 'response', created_at: 1, status: 'in_progress', model: 'm', output: [] } })}\n\n` +
      `event: response.output_item.added\ndata: ${JSON.stringify({ type: 'response.output_item.added', sequence_number: 1, output_index: 0, item: { id: 'msg_1', type: 'message', status: 'in_progress', role: 'assistant', content: [] } })}\n\n` +
      `event: response.output_text.delta\ndata: ${JSON.stringify({ type: 'response.output_text.delta', sequence_number: 2, item_id: 'msg_1', output_index: 0, content_index: 0, delta: 'Hi' })}\n\n`,
    message: (data) => `event: response.output_text.delta\ndata: ${data}\n\n`,
    wrongShape: JSON.stringify({ type: 'response.output_text.delta', sequence_number: 3, item_id: 'msg_1', output_index: 0, content_index: 0, delta: 7 }),
  },
  {
    label: 'groq',
    flavor: 'groq',
    make: (baseURL) => groq({ apiKey: 'k', baseURL, maxRetries: 0 }),
    prefix: chatPrefix,
    message: (data) => `data: ${data}\n\n`,
    wrongShape: chatWrongShape,
  },
  {
    label: 'openai-compatible',
    flavor: 'openai-compatible',
    make: (baseURL) => openaiCompatible({ baseURL, maxRetries: 0, includeUsage: false }),
    prefix: chatPrefix,
    message: (data) => `data: ${data}\n\n`,
    wrongShape: chatWrongShape,
  },
];

const mocks: MockProvider[] = [];
afterAll(async () => {
  await Promise.all(mocks.map((m) => m.close()));
});

/** A mock that answers every request with `script`. */
async function serve(flavor: MockFlavor, script: RawScript): Promise<MockProvider> {
  const mock = await startMockProvider({ flavor, script, chunking: 'whole' });
  mocks.push(mock);
  return mock;
}

/** LiteLLM's error body for a failed stream: an event stream holding the OpenAI-style error, then `[DONE]`. */
const LITELLM_ERROR =
  ': proxy keep-alive\n\n' +
  `data: ${JSON.stringify({ error: { message: 'litellm.InternalServerError: upstream connect error', type: 'internal_server_error', param: null, code: 500 } })}\n\n` +
  'data: [DONE]\n\n';

describe.each(CASES)('$label: HTTP errors as proxies send them', (c) => {
  it('reads an error status whose body is an event stream like a JSON error body', async () => {
    const mock = await serve(c.flavor, { raw: LITELLM_ERROR, status: 500, headers: { 'content-type': 'text/event-stream' } });
    const { error } = await run(c.make(mock.baseURL).stream(REQUEST));
    expect(ProviderError.isInstance(error)).toBe(true);
    const e = error as ProviderError;
    expect(e.status).toBe(500);
    expect(e.type).toBe('internal_server_error');
    expect(e.code).toBe('500');
    expect(e.retryable).toBe(true);
    expect(e.message).toContain('HTTP 500: litellm.InternalServerError: upstream connect error');
    expect(e.message).not.toContain('data:');
    expect(e.body).toEqual({ error: expect.objectContaining({ type: 'internal_server_error' }) });
  });

  it('forwards only a short excerpt of an error body it cannot read', async () => {
    const page = `<html><head><title>502 Bad Gateway</title></head><body>${'<p>upstream went away</p>\n'.repeat(8000)}</body></html>`;
    const mock = await serve(c.flavor, { raw: page, status: 502, headers: { 'content-type': 'text/html' } });
    const { error } = await run(c.make(mock.baseURL).stream(REQUEST));
    const e = error as ProviderError;
    expect(ProviderError.isInstance(e)).toBe(true);
    expect(e.status).toBe(502);
    expect(e.message).toContain('502 Bad Gateway');
    expect(e.message.length).toBeLessThan(MAX_BODY_EXCERPT + 200);
    expect(typeof e.body).toBe('string');
    expect((e.body as string).length).toBeLessThanOrEqual(MAX_BODY_EXCERPT + 1);
    expect(e.body as string).not.toContain('\n');
  });

  it('says a 429 without retry-after asked for no delay, and one with it did', async () => {
    const body = JSON.stringify({ error: { message: 'Too many requests', type: 'rate_limit_error' } });
    const bare = await serve(c.flavor, { raw: body, status: 429, headers: { 'content-type': 'application/json' } });
    const bareError = (await run(c.make(bare.baseURL).stream(REQUEST))).error as ProviderError;
    expect(bareError.status).toBe(429);
    expect(bareError.retryAfterMs).toBeUndefined();
    expect(bareError.message).not.toMatch(/asked/);
    expect(bareError.message).toContain('sent no retry-after');
    const timed = await serve(c.flavor, { raw: body, status: 429, headers: { 'content-type': 'application/json', 'retry-after': '3' } });
    const timedError = (await run(c.make(timed.baseURL).stream(REQUEST))).error as ProviderError;
    expect(timedError.retryAfterMs).toBe(3000);
    expect(timedError.message).toContain('retry after 3 s, as the provider asked');
  });
});

describe('a proxy that does not know the prompt size', () => {
  it("turns message_start's input_tokens 0 into an estimate, keeping the reported output tokens (docs/providers.md)", async () => {
    const c = CASES[0]!;
    const body =
      c.prefix.replace('"input_tokens":3', '"input_tokens":0') +
      `event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n` +
      `event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":4}}\n\n` +
      `event: message_stop\ndata: {"type":"message_stop"}\n\n`;
    expect(body).toContain('"input_tokens":0');
    const mock = await serve('anthropic', { raw: body });
    const outcome = await run(c.make(mock.baseURL).stream(REQUEST));
    expect(outcome.error).toBeUndefined();
    const usage = outcome.events.find((e) => e.type === 'usage');
    expect(usage?.type === 'usage' && usage.usage).toEqual({ inputTokens: estimateRequestTokens(REQUEST), outputTokens: 4, estimated: true });
  });
});

describe.each(CASES)('$label: a server speaking something else is a ProtocolError, never a lost connection', (c) => {
  const bad: Array<[string, string]> = [
    ['data: null', 'null'],
    ['a number', '42'],
    ['a string', '"hello"'],
    ['an array', '[{"type":"x"}]'],
    ['a message of the wrong shape', c.wrongShape],
  ];
  it.each(bad)('%s, first or after a token', async (_label, data) => {
    for (const prefix of ['', c.prefix]) {
      const mock = await serve(c.flavor, { raw: prefix + c.message(data) });
      const outcome = await run(c.make(mock.baseURL).stream(REQUEST));
      expect(ProtocolError.isInstance(outcome.error), `${prefix ? 'after a token' : 'first'}: ${String(outcome.error)}`).toBe(true);
      expect(ConnectionError.isInstance(outcome.error)).toBe(false);
      expect(isRetryable(outcome.error)).toBe(false);
      expect((outcome.error as ProtocolError).partialText).toBe(prefix ? 'Hi' : '');
      expect(outcome.events.some((e) => e.type === 'token' && typeof e.text !== 'string')).toBe(false);
    }
  });
});

describe('an SDK refusing a request on the client side', () => {
  it('is a non-retryable TokenflowError with the SDK message, not a ConnectionError (Anthropic: non-streaming with a huge maxTokens)', async () => {
    const mock = await serve('anthropic', { raw: '' });
    const llm = anthropic({ apiKey: 'k', baseURL: mock.baseURL, maxRetries: 0 });
    const error = await llm.complete({ ...REQUEST, maxTokens: 100_000 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(TokenflowError.isInstance(error)).toBe(true);
    expect(ConnectionError.isInstance(error)).toBe(false);
    expect(ProviderError.isInstance(error)).toBe(false);
    expect(isRetryable(error)).toBe(false);
    const e = error as TokenflowError;
    expect(e.message).toMatch(/^anthropic: .*Streaming is required for operations that may take longer than 10 minutes/);
    expect(e.message).toContain('stream(request).pipe(collect())');
    expect(e.cause).toBeInstanceOf(Anthropic.AnthropicError);
    expect(mock.requests).toHaveLength(0);
  });
});

describe('mapSdkError classifies network errors by positive evidence only', () => {
  const sdkConnectionErrors: Array<[string, unknown]> = [
    ['openai APIConnectionError', new OpenAI.APIConnectionError({ message: 'Connection error.', cause: new Error('x') })],
    ['openai APIConnectionTimeoutError', new OpenAI.APIConnectionTimeoutError()],
    ['anthropic APIConnectionError', new Anthropic.APIConnectionError({ message: 'Connection error.' })],
    ['anthropic APIConnectionTimeoutError', new Anthropic.APIConnectionTimeoutError()],
    ['groq APIConnectionError', new Groq.APIConnectionError({ message: 'Connection error.' })],
    ['groq APIConnectionTimeoutError', new Groq.APIConnectionTimeoutError()],
  ];
  it.each(sdkConnectionErrors)('%s is a retryable ConnectionError', (_name, error) => {
    const mapped = mapSdkError(error, {}, SOURCE);
    expect(ConnectionError.isInstance(mapped)).toBe(true);
    expect(isRetryable(mapped)).toBe(true);
    expect(mapped.cause).toBe(error);
  });

  it('recognises an SDK connection error from another copy of the SDK by its class name', () => {
    class APIConnectionError extends Error {}
    class APIConnectionTimeoutError extends APIConnectionError {}
    expect(isNetworkError(new APIConnectionTimeoutError('Request timed out.'))).toBe(true);
    expect(isNetworkError(new (class SomethingElse extends Error {})('Request timed out.'))).toBe(false);
  });

  it('recognises an SDK connection error by its shape: an APIError without status or headers', () => {
    const shaped = Object.assign(new (class Minified extends Error {})('Connection error.'), { status: undefined, headers: undefined, error: undefined });
    expect(isNetworkError(shaped)).toBe(true);
    const withStatus = Object.assign(new Error('400 bad'), { status: 400, headers: new Headers(), error: undefined });
    expect(isNetworkError(withStatus)).toBe(false);
  });

  const codes = ['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT'];
  it.each(codes)('a cause with code %s is a ConnectionError', (code) => {
    const socket = Object.assign(new Error('socket failure'), { code });
    const error = new TypeError('terminated', { cause: socket });
    const mapped = mapSdkError(error, {}, SOURCE);
    expect(ConnectionError.isInstance(mapped)).toBe(true);
    expect(mapped.message).toContain('socket failure');
  });

  it("fetch's own network failure is a ConnectionError", () => {
    expect(ConnectionError.isInstance(mapSdkError(new TypeError('fetch failed'), {}, SOURCE))).toBe(true);
  });

  const unknown: Array<[string, unknown]> = [
    ['a plain Error', new Error('something odd')],
    ['a TypeError from a bug', new TypeError("Cannot read properties of undefined (reading 'x')")],
    ['an error with an unknown code', Object.assign(new Error('bad certificate'), { code: 'ERR_SOMETHING_ELSE' })],
    ['an SDK client-side error', new Anthropic.AnthropicError('It looks like you are running in a browser-like environment.')],
    ['a thrown string', 'boom'],
  ];
  it.each(unknown)('%s is a non-retryable TokenflowError keeping message and cause', (_name, error) => {
    const mapped = mapSdkError(error, { partialText: '' }, SOURCE);
    expect(TokenflowError.isInstance(mapped)).toBe(true);
    expect(ConnectionError.isInstance(mapped)).toBe(false);
    expect(isRetryable(mapped)).toBe(false);
    expect(mapped.cause).toBe(error);
    expect(mapped.provider).toBe('p');
    expect(mapped.message).toContain(error instanceof Error ? error.message : String(error));
  });

  it('still maps aborts to StreamAbortedError', () => {
    expect(StreamAbortedError.isInstance(mapSdkError(new OpenAI.APIUserAbortError(), {}, SOURCE))).toBe(true);
  });
});

describe('parseEventStreamError', () => {
  it('takes the first data line that is a JSON object with error, whatever the line endings', () => {
    const text = 'event: error\r\ndata: [DONE]\r\ndata: {"ok":true}\rdata:{"error":{"message":"first"}}\n\ndata: {"error":{"message":"second"}}\n';
    expect(parseEventStreamError(text)).toEqual({ error: { message: 'first' } });
  });
  it('finds nothing in a body without such a line', () => {
    expect(parseEventStreamError('<html>data: {"error":1}</html>')).toBeUndefined();
    expect(parseEventStreamError('data: {"error": broken')).toBeUndefined();
  });
});
