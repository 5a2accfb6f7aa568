/**
 * One retry owner, over real HTTP: every adapter with its SDK's default retries (2), through its real
 * SDK against the mock provider. Under a tokenflow retry operator the SDK sends each attempt once, so
 * `maxRetries: 2` is 3 requests at the server, never 3 × 3. Also: the answer's id and the billed usage
 * after a retry, and a timeout's error keeping the prompt tokens the provider already reported.
 */
import { firstValueFrom, toArray } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { ProviderError, StreamTimeoutError } from '../../src/errors.js';
import type { TokenEvent } from '../../src/events.js';
import { collect } from '../../src/operators/collect.js';
import { idleTimeout } from '../../src/operators/idleTimeout.js';
import { retryBeforeFirstToken } from '../../src/operators/retryBeforeFirstToken.js';
import { retryMidStream } from '../../src/operators/retryMidStream.js';
import type { Provider } from '../../src/provider.js';
import { anthropic } from '../../src/providers/anthropic.js';
import { groq } from '../../src/providers/groq.js';
import { openaiCompatible } from '../../src/providers/openai-compatible.js';
import { openai } from '../../src/providers/openai.js';
import { startMockProvider, type MockProvider } from '../../src/testing/index.js';
import { ADAPTER_LABELS, flavorOf, type AdapterLabel } from '../helpers/mock.js';

const REQUEST = { model: 'test-model', messages: [{ role: 'user' as const, content: 'Say hello.' }] };
const FAST = { backoff: { initialMs: 1, jitter: false } } as const;
/** A 429 that asks for (almost) no wait, so the SDK's own retries, when they happen, happen at once. */
const RATE_LIMITED = { http: { status: 429, headers: { 'retry-after-ms': '1' } } } as const;

/** The adapter with the SDK's default retries: no `maxRetries` given. */
function withSdkRetries(label: AdapterLabel, mock: MockProvider): Provider {
  const options = { apiKey: 'test', baseURL: mock.baseURL };
  switch (label) {
    case 'anthropic':
      return anthropic(options);
    case 'openai':
      return openai(options);
    case 'openai-responses':
      return openai({ ...options, api: 'responses' });
    case 'groq':
      return groq(options);
    case 'openai-compatible':
      return openaiCompatible({ baseURL: mock.baseURL });
  }
}

let mocks: MockProvider[] = [];
afterEach(async () => {
  await Promise.all(mocks.map((m) => m.close()));
  mocks = [];
});

async function start(label: AdapterLabel, options: Omit<Parameters<typeof startMockProvider>[0], 'flavor'>): Promise<MockProvider> {
  const mock = await startMockProvider({ flavor: flavorOf(label), ...options });
  mocks.push(mock);
  return mock;
}

describe('one retry owner: a 429 on every request', () => {
  for (const label of ADAPTER_LABELS) {
    it(`${label}: retryBeforeFirstToken({ maxRetries: 2 }) sends exactly 3 requests`, async () => {
      const mock = await start(label, { faults: RATE_LIMITED });
      const llm = withSdkRetries(label, mock);
      const error = await firstValueFrom(llm.stream(REQUEST).pipe(retryBeforeFirstToken({ ...FAST, maxRetries: 2 }))).catch((e: unknown) => e);
      expect(ProviderError.isInstance(error)).toBe(true);
      expect((error as ProviderError).status).toBe(429);
      expect(mock.requests).toHaveLength(3);
      // Refused requests generated nothing: billed 0, over 3 attempts.
      expect((error as ProviderError).usage?.billed).toEqual({ inputTokens: 0, outputTokens: 0, estimated: false, attempts: 3 });
    });
  }

  it('retryMidStream({ maxRetries: 1 }) sends exactly 2 requests', async () => {
    const mock = await start('anthropic', { faults: RATE_LIMITED });
    const llm = withSdkRetries('anthropic', mock);
    await firstValueFrom(llm.stream(REQUEST).pipe(retryMidStream({ ...FAST, maxRetries: 1 }))).catch(() => undefined);
    expect(mock.requests).toHaveLength(2);
  });

  it('without a retry operator the SDK keeps its own retries (1 + 2 requests)', async () => {
    const mock = await start('anthropic', { faults: RATE_LIMITED });
    const llm = withSdkRetries('anthropic', mock);
    await firstValueFrom(llm.stream(REQUEST)).catch(() => undefined);
    expect(mock.requests).toHaveLength(3);
  });
});

describe('after a retry over HTTP', () => {
  for (const label of ADAPTER_LABELS) {
    it(`${label}: the start and collect() carry the answering attempt's id, and the usage says what both attempts cost`, async () => {
      const mock = await start(label, {
        script: (request) => ({
          text: 'Hello there',
          id: request.index === 0 ? 'first_attempt' : 'second_attempt',
          usage: { inputTokens: 11, outputTokens: 2 },
        }),
        faults: (request) => (request.index === 0 ? { errorEventAfter: 0 } : undefined),
      });
      const llm = withSdkRetries(label, mock);
      const events = await firstValueFrom(llm.stream(REQUEST).pipe(retryBeforeFirstToken(FAST), toArray()));
      expect(mock.requests).toHaveLength(2);
      const starts = events.filter((e) => e.type === 'start');
      expect(starts).toHaveLength(1);
      expect(starts[0]).toMatchObject({ id: 'second_attempt' });
      const usage = events.find((e) => e.type === 'usage');
      expect(usage).toMatchObject({ usage: { inputTokens: 11, outputTokens: 2, billed: { attempts: 2, answerId: 'second_attempt' } } });
      const billed = (usage as Extract<TokenEvent, { type: 'usage' }>).usage.billed!;
      // The failed attempt was accepted (an error inside the stream): its prompt is billed too.
      expect(billed.inputTokens).toBeGreaterThan(11);

      mock.reset();
      const answer = await firstValueFrom(llm.stream(REQUEST).pipe(retryBeforeFirstToken(FAST), collect()));
      expect(answer.id).toBe('second_attempt');
      expect(answer.content).toBe('Hello there');
      expect(answer.usage.billed).toEqual(billed);
    });
  }
});

describe('a timeout over HTTP', () => {
  it('anthropic: the idle timeout error keeps the exact prompt tokens from message_start', async () => {
    const mock = await start('anthropic', {
      script: { text: 'Hello there again', usage: { inputTokens: 1234, outputTokens: 3 } },
      faults: { stallAfter: 1 },
    });
    const llm = withSdkRetries('anthropic', mock);
    const error = (await firstValueFrom(llm.stream(REQUEST).pipe(idleTimeout(200), collect())).catch((e: unknown) => e)) as StreamTimeoutError;
    expect(error).toMatchObject({ name: 'StreamTimeoutError', kind: 'idle', partialText: 'Hello' });
    expect(error.usage?.inputTokens).toBe(1234);
    await mock.waitForClose(0);
    expect(mock.responses[0]!.closedByClient).toBe(true);
  });
});
