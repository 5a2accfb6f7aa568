/**
 * The mock provider on its own, read by the official SDKs' own stream iterators (not by tokenflow),
 * so its wire formats are checked independently of the adapters.
 */
import Anthropic from '@anthropic-ai/sdk';
import Groq from 'groq-sdk';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { splitBytes, createRandom } from '../../src/testing/random.js';
import { profiles, startMockProvider, type MockProvider } from '../../src/testing/index.js';

const TEXT = ['Hi', ' 👋🏽', ' 你好', '!'];
let mock: MockProvider | undefined;
afterEach(async () => {
  await mock?.close();
  mock = undefined;
});

describe('startMockProvider', () => {
  it('anthropic: the SDK iterator reads text, stop reason and usage', async () => {
    mock = await startMockProvider({ flavor: 'anthropic', script: { text: TEXT, usage: { inputTokens: 3, outputTokens: 4 } }, chunking: { random: { maxBytes: 3 } } });
    const client = new Anthropic({ apiKey: 'k', baseURL: mock.baseURL, maxRetries: 0 });
    let text = '';
    let stop: string | null | undefined;
    let output = 0;
    for await (const event of await client.messages.create({ model: 'm', max_tokens: 10, messages: [{ role: 'user', content: 'x' }], stream: true })) {
      if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') text += event.delta.text;
      if (event.type === 'message_delta') {
        stop = event.delta.stop_reason;
        output = event.usage.output_tokens;
      }
    }
    expect([text, stop, output]).toEqual([TEXT.join(''), 'end_turn', 4]);
  });

  it('openai chat: usage chunk only when asked, and [DONE]', async () => {
    mock = await startMockProvider({ flavor: 'openai', script: { text: TEXT } });
    const client = new OpenAI({ apiKey: 'k', baseURL: mock.baseURL, maxRetries: 0 });
    const read = async (includeUsage: boolean) => {
      let text = '';
      let usage: unknown;
      const stream = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'x' }], stream: true, ...(includeUsage ? { stream_options: { include_usage: true } } : {}) });
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta?.content ?? '';
        if (chunk.usage) usage = chunk.usage;
      }
      return { text, usage };
    };
    expect(await read(true)).toMatchObject({ text: TEXT.join(''), usage: { completion_tokens: 4 } });
    expect(await read(false)).toEqual({ text: TEXT.join(''), usage: undefined });
  });

  it('openai responses: the SDK reads the event sequence to response.completed', async () => {
    mock = await startMockProvider({ flavor: 'openai', script: { text: TEXT } });
    const client = new OpenAI({ apiKey: 'k', baseURL: mock.baseURL, maxRetries: 0 });
    const types: string[] = [];
    let text = '';
    for await (const event of await client.responses.create({ model: 'm', input: 'x', stream: true })) {
      types.push(event.type);
      if (event.type === 'response.output_text.delta') text += event.delta;
    }
    expect(text).toBe(TEXT.join(''));
    expect(types[0]).toBe('response.created');
    expect(types.at(-1)).toBe('response.completed');
  });

  it('groq: x_groq usage on the final chunk', async () => {
    mock = await startMockProvider({ flavor: 'groq', script: { text: TEXT } });
    const client = new Groq({ apiKey: 'k', baseURL: mock.baseURL, maxRetries: 0 });
    let usage: unknown;
    for await (const chunk of await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'x' }], stream: true })) {
      if (chunk.x_groq?.usage) usage = chunk.x_groq.usage;
    }
    expect(usage).toMatchObject({ completion_tokens: 4 });
  });

  it('answers non-streaming requests with JSON the SDK parses', async () => {
    mock = await startMockProvider({ flavor: 'openai', script: { text: TEXT } });
    const client = new OpenAI({ apiKey: 'k', baseURL: mock.baseURL, maxRetries: 0 });
    const completion = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'x' }] });
    expect(completion.choices[0]?.message.content).toBe(TEXT.join(''));
  });

  it('an HTTP fault reaches the SDK as its typed error, with retry-after', async () => {
    mock = await startMockProvider({ flavor: 'openai', faults: { http: { status: 429, headers: { 'retry-after': '3' } } } });
    const client = new OpenAI({ apiKey: 'k', baseURL: mock.baseURL, maxRetries: 0 });
    const error = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    expect((error as InstanceType<typeof OpenAI.RateLimitError>).headers.get('retry-after')).toBe('3');
  });

  it('an error event after k tokens makes the SDK iterator throw after those tokens', async () => {
    mock = await startMockProvider({ flavor: 'anthropic', script: { text: TEXT }, faults: { errorEventAfter: 2 } });
    const client = new Anthropic({ apiKey: 'k', baseURL: mock.baseURL, maxRetries: 0 });
    let text = '';
    const error = await (async () => {
      for await (const event of await client.messages.create({ model: 'm', max_tokens: 10, messages: [{ role: 'user', content: 'x' }], stream: true })) {
        if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') text += event.delta.text;
      }
    })().catch((e: unknown) => e);
    expect(text).toBe(TEXT.slice(0, 2).join(''));
    expect(String(error)).toMatch(/Overloaded/);
  });

  it('logs a client abort during a stall as closedByClient, not finished', async () => {
    mock = await startMockProvider({ flavor: 'openai', script: { text: TEXT }, faults: { stallAfter: 1 } });
    const controller = new AbortController();
    const response = await fetch(`${mock.baseURL}/chat/completions`, { method: 'POST', body: JSON.stringify({ model: 'm', messages: [], stream: true }), signal: controller.signal });
    const reader = response.body!.getReader();
    await reader.read();
    controller.abort();
    const log = await mock.waitForClose(0);
    expect([log.closedByClient, log.finished, log.tokensWritten]).toEqual([true, false, 1]);
  });

  it('random chunking cuts inside multi-byte characters, deterministically per seed', () => {
    const bytes = new TextEncoder().encode('👋🏽你好'.repeat(20));
    const pieces = splitBytes(bytes, 5, createRandom(7));
    expect(pieces.reduce((n, p) => n + p.length, 0)).toBe(bytes.length);
    // Some piece must end in the middle of a character: its last byte is a UTF-8 lead or continuation byte with the sequence unfinished.
    const decoder = new TextDecoder('utf-8', { fatal: true });
    expect(pieces.some((p) => { try { decoder.decode(p); return false; } catch { return true; } })).toBe(true);
    expect(splitBytes(bytes, 5, createRandom(7)).map((p) => p.length)).toEqual(pieces.map((p) => p.length));
  });

  it('ships profiles in the providers\' ranges and logs the drawn values', async () => {
    expect(profiles.groq.tokensPerSecond[0]).toBeGreaterThanOrEqual(100);
    mock = await startMockProvider({ flavor: 'openai', profile: { ttftMs: [5, 10], tokensPerSecond: [1000, 2000] }, script: { text: TEXT } });
    await (await fetch(`${mock.baseURL}/chat/completions`, { method: 'POST', body: JSON.stringify({ model: 'm', messages: [], stream: true }) })).text();
    const log = mock.responses[0]!;
    expect(log.ttftMs).toBeGreaterThanOrEqual(5);
    expect(log.ttftMs).toBeLessThanOrEqual(10);
    expect(log.finished).toBe(true);
  });
});
