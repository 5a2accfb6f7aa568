/**
 * Every adapter through its real SDK over real HTTP against the mock provider: events, request
 * bodies, non-streaming, HTTP errors, in-stream faults, and cancellation at the socket.
 */
import { firstValueFrom } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectionError, ProtocolError, ProviderError, StreamAbortedError } from '../../src/errors.js';
import type { TokenEvent } from '../../src/events.js';
import { collect } from '../../src/operators/collect.js';
import type { Provider } from '../../src/provider.js';
import { anthropic } from '../../src/providers/anthropic.js';
import { groq } from '../../src/providers/groq.js';
import { openaiCompatible } from '../../src/providers/openai-compatible.js';
import { openai } from '../../src/providers/openai.js';
import { startMockProvider, type MockFlavor, type MockProvider, type MockProviderOptions } from '../../src/testing/index.js';
import { abortAfter, cancelAfter, run } from '../helpers/run.js';

interface AdapterCase {
  label: string;
  flavor: MockFlavor;
  make(mock: MockProvider): Provider;
  /** Whether this provider reports exact usage without being asked twice. */
  exactUsage: boolean;
  /** The request path the SDK posts to. */
  path: string;
}

const common = (mock: MockProvider) => ({ apiKey: 'test-key', baseURL: mock.baseURL, maxRetries: 0 });
export const ADAPTERS: AdapterCase[] = [
  { label: 'anthropic', flavor: 'anthropic', make: (m) => anthropic(common(m)), exactUsage: true, path: '/v1/messages' },
  { label: 'openai chat', flavor: 'openai', make: (m) => openai(common(m)), exactUsage: true, path: '/v1/chat/completions' },
  { label: 'openai responses', flavor: 'openai', make: (m) => openai({ ...common(m), api: 'responses' }), exactUsage: true, path: '/v1/responses' },
  { label: 'groq', flavor: 'groq', make: (m) => groq(common(m)), exactUsage: true, path: '/openai/v1/chat/completions' },
  {
    label: 'openai-compatible',
    flavor: 'openai-compatible',
    make: (m) => openaiCompatible({ baseURL: m.baseURL, maxRetries: 0 }),
    exactUsage: true,
    path: '/v1/chat/completions',
  },
];

const TEXT = ['Hello', ', wörld', ' 👋🏽', ' 你好', '!'];
const REQUEST = { model: 'test-model', messages: [{ role: 'user' as const, content: 'Say hello.' }] };

function types(events: TokenEvent[]): string[] {
  return events.map((e) => e.type);
}

describe.each(ADAPTERS)('$label adapter', (adapter) => {
  const mocks: MockProvider[] = [];
  async function mockWith(options: Omit<MockProviderOptions, 'flavor'>): Promise<{ mock: MockProvider; llm: Provider }> {
    const mock = await startMockProvider({ flavor: adapter.flavor, ...options });
    mocks.push(mock);
    return { mock, llm: adapter.make(mock) };
  }
  afterAll(async () => {
    await Promise.all(mocks.map((m) => m.close()));
  });

  it('streams start, tokens, usage, done in order, with exact text and usage', async () => {
    const { mock, llm } = await mockWith({ script: { text: TEXT, usage: { inputTokens: 11, outputTokens: 5 } } });
    const outcome = await run(llm.stream(REQUEST));
    expect(outcome.error).toBeUndefined();
    expect(outcome.completed).toBe(true);
    expect(types(outcome.events)).toEqual(['start', 'token', 'token', 'token', 'token', 'token', 'usage', 'done']);
    expect(outcome.text).toBe(TEXT.join(''));
    const tokens = outcome.events.filter((e) => e.type === 'token');
    expect(tokens.map((e) => e.index)).toEqual([0, 1, 2, 3, 4]);
    const times = outcome.events.map((e) => e.t);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    const usage = outcome.events.find((e) => e.type === 'usage');
    expect(usage?.type === 'usage' && usage.usage).toEqual({ inputTokens: 11, outputTokens: 5, estimated: false });
    expect(outcome.events.at(-1)).toMatchObject({ type: 'done', stopReason: 'end' });
    expect(outcome.events[0]).toMatchObject({ type: 'start', provider: llm.name, model: 'test-model' });
    expect(mock.requests).toHaveLength(1);
    expect(mock.requests[0]!.path).toBe(adapter.path);
    expect(mock.requests[0]!.body.stream).toBe(true);
  });

  it('complete() gives the same answer as stream().pipe(collect()) without streaming', async () => {
    const { mock, llm } = await mockWith({ script: { text: TEXT, usage: { inputTokens: 11, outputTokens: 5 } } });
    const streamed = await firstValueFrom(llm.stream(REQUEST).pipe(collect()));
    const whole = await llm.complete(REQUEST);
    expect(whole.content).toBe(streamed.content);
    expect(whole.content).toBe(TEXT.join(''));
    expect(whole.usage).toEqual(streamed.usage);
    expect(whole.stopReason).toBe(streamed.stopReason);
    expect(whole.provider).toBe(streamed.provider);
    expect(mock.requests.map((r) => Boolean(r.body.stream))).toEqual([true, false]);
  });

  it('keeps multi-byte text intact under random byte splits', async () => {
    const { llm } = await mockWith({ script: { text: TEXT }, chunking: { random: { maxBytes: 5 } } });
    for (let i = 0; i < 3; i++) {
      const outcome = await run(llm.stream(REQUEST));
      expect(outcome.error).toBeUndefined();
      expect(outcome.text).toBe(TEXT.join(''));
    }
  });

  it.each([
    [401, 'authentication', false],
    [429, 'rate limit', true],
    [529, 'overloaded', true],
  ])('turns HTTP %i into a ProviderError before any start event', async (status, _label, retryable) => {
    const { mock, llm } = await mockWith({
      script: { text: TEXT },
      faults: { http: { status, headers: { 'retry-after': '2', 'x-request-id': 'req_test', 'request-id': 'req_test' } } },
    });
    const outcome = await run(llm.stream(REQUEST));
    expect(outcome.events).toEqual([]);
    expect(ProviderError.isInstance(outcome.error)).toBe(true);
    const error = outcome.error as ProviderError;
    expect(error.status).toBe(status);
    expect(error.retryable).toBe(retryable);
    expect(error.retryAfterMs).toBe(2000);
    expect(error.requestId).toBe('req_test');
    expect(error.inStream).toBe(false);
    expect(error.provider).toBe(llm.name);
    if (status === 401 && adapter.flavor !== 'openai-compatible') expect(error.message).toMatch(/_API_KEY/);
    expect(mock.requests).toHaveLength(1); // maxRetries: 0, nothing retried behind our back
  });

  it('reports an error event mid-stream as a ProviderError with the partial text', async () => {
    const { llm } = await mockWith({ script: { text: TEXT }, faults: { errorEventAfter: 2 } });
    const outcome = await run(llm.stream(REQUEST));
    expect(outcome.completed).toBe(false);
    expect(ProviderError.isInstance(outcome.error)).toBe(true);
    const error = outcome.error as ProviderError;
    expect(error.inStream).toBe(true);
    // The 200 response's request id (the mock numbers its requests), to quote to the provider's support.
    expect(error.requestId).toBe('req_mock000000');
    expect(error.partialText).toBe(TEXT.slice(0, 2).join(''));
    expect(error.usage).toBeDefined();
    expect(types(outcome.events)).not.toContain('done');
  });

  it('never completes a stream that ends without the terminal event', async () => {
    const { llm } = await mockWith({ script: { text: TEXT }, faults: { noTerminal: true } });
    const outcome = await run(llm.stream(REQUEST));
    if (adapter.flavor === 'openai-compatible') {
      // Lenient by design: a finish_reason followed by the end of the body is a complete answer.
      expect(outcome.completed).toBe(true);
      expect(outcome.text).toBe(TEXT.join(''));
      return;
    }
    expect(ProtocolError.isInstance(outcome.error)).toBe(true);
    expect((outcome.error as ProtocolError).partialText).toBe(TEXT.join(''));
    expect(types(outcome.events)).not.toContain('done');
  });

  it('reports a malformed line as a ProtocolError quoting it, with the partial text', async () => {
    const { llm } = await mockWith({ script: { text: TEXT }, faults: { malformedAfter: 3 } });
    const outcome = await run(llm.stream(REQUEST));
    expect(ProtocolError.isInstance(outcome.error)).toBe(true);
    const error = outcome.error as ProtocolError;
    expect(error.partialText).toBe(TEXT.slice(0, 3).join(''));
    expect(error.line).toBeTruthy();
  });

  it('reports a connection reset mid-stream as a ConnectionError with the partial text', async () => {
    const { llm } = await mockWith({ script: { text: TEXT }, faults: { resetAfter: 2 } });
    const outcome = await run(llm.stream(REQUEST));
    expect(ConnectionError.isInstance(outcome.error)).toBe(true);
    expect((outcome.error as ConnectionError).partialText).toBe(TEXT.slice(0, 2).join(''));
  });

  it('aborts the request when the caller signal fires, erroring with the partial text', async () => {
    const { mock, llm } = await mockWith({ script: { text: TEXT }, faults: { stallAfter: 2 } });
    // Aborted once the second token has reached the client (the server stalls there), whatever the load.
    const { error } = await abortAfter((signal) => llm.stream(REQUEST, { signal }), 2);
    expect(StreamAbortedError.isInstance(error)).toBe(true);
    expect((error as StreamAbortedError).partialText).toBe(TEXT.slice(0, 2).join(''));
    const log = await mock.waitForClose(0);
    expect(log.closedByClient).toBe(true);
  });

  it('closes the connection at the server when unsubscribed at random points', async () => {
    const { mock, llm } = await mockWith({ script: { text: TEXT }, faults: { stallAfter: TEXT.length - 1 } });
    for (let i = 0; i < 8; i++) {
      const at = Math.floor(Math.random() * TEXT.length); // 0: right after start, k: after k tokens
      await cancelAfter(llm.stream(REQUEST), at);
      const log = await mock.waitForClose(i);
      expect(log.closedByClient).toBe(true);
      expect(log.finished).toBe(false);
    }
  });

  it('closes the connection when unsubscribed while waiting for the first token', async () => {
    const { mock, llm } = await mockWith({ script: { text: TEXT }, profile: { ttftMs: 60_000, tokensPerSecond: 10 } });
    const subscription = llm.stream(REQUEST).subscribe();
    // The request has arrived and the server holds the first token for a minute: unsubscribe now.
    while (mock.requests.length === 0) await new Promise((r) => setTimeout(r, 5));
    subscription.unsubscribe();
    const log = await mock.waitForClose(0);
    expect(log.closedByClient).toBe(true);
    expect(log.tokensWritten).toBe(0);
  });

  it('is cold: nothing is sent until subscription, and each subscription is one request', async () => {
    const { mock, llm } = await mockWith({ script: { text: TEXT } });
    const stream$ = llm.stream(REQUEST);
    await new Promise((r) => setTimeout(r, 20));
    expect(mock.requests).toHaveLength(0);
    await run(stream$);
    await run(stream$);
    expect(mock.requests).toHaveLength(2);
  });
});

describe('request bodies', () => {
  let mock: MockProvider;
  beforeAll(async () => {
    mock = await startMockProvider({ flavor: 'anthropic', script: { text: 'ok' } });
  });
  afterAll(() => mock.close());

  it('anthropic: hoists system messages, defaults max_tokens, maps stop and tools', async () => {
    const llm = anthropic({ apiKey: 'k', baseURL: mock.baseURL, maxRetries: 0 });
    await run(
      llm.stream({
        model: 'claude-x',
        system: 'Be brief.',
        messages: [
          { role: 'system', content: 'You are terse.' },
          { role: 'user', content: 'hi' },
        ],
        stop: ['END'],
        tools: [{ name: 'get_time', parameters: { type: 'object', properties: {} } }],
        providerOptions: { thinking: { type: 'enabled', budget_tokens: 1024 } },
      }),
    );
    expect(mock.requests[0]!.body).toEqual({
      model: 'claude-x',
      max_tokens: 4096,
      system: 'You are terse.\n\nBe brief.',
      messages: [{ role: 'user', content: 'hi' }],
      stop_sequences: ['END'],
      tools: [{ name: 'get_time', input_schema: { type: 'object', properties: {} } }],
      thinking: { type: 'enabled', budget_tokens: 1024 },
      stream: true,
    });
    const headers = mock.requests[0]!.headers;
    expect(headers['x-api-key'] ?? headers.authorization).toMatch(/^(Bearer )?k$/);
  });
});

describe('groq', () => {
  it('carries server-side timings on the usage event', async () => {
    const mock = await startMockProvider({ flavor: 'groq', script: { text: ['a', 'b'] } });
    try {
      const outcome = await run(groq({ apiKey: 'k', baseURL: mock.baseURL, maxRetries: 0 }).stream(REQUEST));
      const usage = outcome.events.find((e) => e.type === 'usage');
      expect(usage?.type === 'usage' && usage.serverTimings?.totalMs).toBeGreaterThan(0);
      expect(mock.requests[0]!.body.stream_options).toBeUndefined();
    } finally {
      await mock.close();
    }
  });
});

describe('openai-compatible', () => {
  it('asks for usage, and when the server rejects stream_options asks again without it, once', async () => {
    const mock = await startMockProvider({ flavor: 'openai-compatible', script: { text: TEXT }, faults: { rejectStreamOptions: true } });
    try {
      const llm = openaiCompatible({ baseURL: mock.baseURL, maxRetries: 0 });
      const first = await run(llm.stream(REQUEST));
      expect(first.error).toBeUndefined();
      expect(first.text).toBe(TEXT.join(''));
      const usage = first.events.find((e) => e.type === 'usage');
      expect(usage?.type === 'usage' && usage.usage.estimated).toBe(true);
      await run(llm.stream(REQUEST));
      expect(mock.requests.map((r) => r.body.stream_options !== undefined)).toEqual([true, false, false]);
    } finally {
      await mock.close();
    }
  });

  it('never sends the OpenAI key from the environment to a compatible server', async () => {
    const mock = await startMockProvider({ flavor: 'openai-compatible', script: { text: 'x' } });
    const saved = process.env.OPENAI_API_KEY;
    process.env.OPENAI_API_KEY = 'sk-secret-from-env';
    try {
      await run(openaiCompatible({ baseURL: mock.baseURL, maxRetries: 0 }).stream(REQUEST));
      expect(mock.requests[0]!.headers.authorization).not.toContain('sk-secret-from-env');
    } finally {
      if (saved === undefined) delete process.env.OPENAI_API_KEY;
      else process.env.OPENAI_API_KEY = saved;
      await mock.close();
    }
  });
});
