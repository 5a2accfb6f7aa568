import { expect } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import type { Provider } from '../../src/provider.js';
import { anthropic } from '../../src/providers/anthropic.js';
import { groq } from '../../src/providers/groq.js';
import { openaiCompatible } from '../../src/providers/openai-compatible.js';
import { openai } from '../../src/providers/openai.js';
import { startMockProvider, type MockFlavor, type MockProvider, type MockProviderOptions } from '../../src/testing/index.js';

/** The adapter for a mock of this flavor (no SDK retries, so every request is the test's own). */
export function makeProvider(flavor: MockFlavor, mock: MockProvider): Provider {
  const options = { apiKey: 'test', baseURL: mock.baseURL, maxRetries: 0 };
  switch (flavor) {
    case 'anthropic':
      return anthropic(options);
    case 'openai':
      return openai(options);
    case 'groq':
      return groq(options);
    case 'openai-compatible':
      return openaiCompatible({ baseURL: mock.baseURL, maxRetries: 0 });
  }
}

/** Starts a mock, runs the body with it and its adapter, and always closes the mock. */
export async function withMock(
  options: MockProviderOptions,
  body: (mock: MockProvider, llm: Provider) => Promise<void>,
): Promise<void> {
  const mock = await startMockProvider(options);
  try {
    await body(mock, makeProvider(options.flavor, mock));
  } finally {
    await mock.close();
  }
}

/** Awaits a promise expected to reject, returning the reason. */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject');
}

/** Runs `fn`, expecting it to throw an `InvalidArgumentError` synchronously; returns the error. */
export function invalidArgument(fn: () => unknown): InvalidArgumentError {
  try {
    fn();
  } catch (error) {
    expect(InvalidArgumentError.isInstance(error)).toBe(true);
    return error as InvalidArgumentError;
  }
  throw new Error('expected a synchronous InvalidArgumentError');
}

/** `fn()` returns a promise that rejects with an `InvalidArgumentError` (it must not throw). */
export async function rejectedArgument(fn: () => Promise<unknown>): Promise<InvalidArgumentError> {
  let promise: Promise<unknown>;
  try {
    promise = fn();
  } catch (error) {
    throw new Error(`expected a rejected promise, but the call threw: ${String(error)}`);
  }
  try {
    await promise;
  } catch (error) {
    expect(InvalidArgumentError.isInstance(error)).toBe(true);
    return error as InvalidArgumentError;
  }
  throw new Error('expected a rejection with InvalidArgumentError');
}

/** Every adapter a mock can serve: the four flavors, and OpenAI's Responses API on the `openai` mock. */
export type AdapterLabel = MockFlavor | 'openai-responses';

export const ADAPTER_LABELS: readonly AdapterLabel[] = ['anthropic', 'openai', 'openai-responses', 'groq', 'openai-compatible'];

/** The mock flavor that serves an adapter. */
export function flavorOf(label: AdapterLabel): MockFlavor {
  return label === 'openai-responses' ? 'openai' : label;
}

/** The `baseURL` an adapter takes for a server at `url` (`http://127.0.0.1:PORT`), as the mock's own `baseURL` is built. */
export function baseURLFor(label: AdapterLabel, url: string): string {
  const flavor = flavorOf(label);
  return flavor === 'anthropic' || flavor === 'groq' ? url : `${url}/v1`;
}

/** The adapter for a label at a base URL, without SDK retries (every request is the test's own). */
export function makeAdapter(label: AdapterLabel, baseURL: string): Provider {
  const options = { apiKey: 'test', baseURL, maxRetries: 0 };
  if (label === 'openai-responses') return openai({ ...options, api: 'responses' });
  if (label === 'openai-compatible') return openaiCompatible({ baseURL, maxRetries: 0 });
  return label === 'anthropic' ? anthropic(options) : label === 'openai' ? openai(options) : groq(options);
}
