/**
 * `tokenflow/anthropic`: Claude through the official `@anthropic-ai/sdk`.
 *
 * @packageDocumentation
 */
import Anthropic from '@anthropic-ai/sdk';
import type { ChatRequest } from '../events.js';
import type { Provider } from '../provider.js';
import { mergeProviderOptions } from '../validate.js';
import { defineProvider, readMaxEventSize, setupClient, splitSystem, type SdkClientOptions } from './adapter.js';
import { createAnthropicMapper, createAnthropicMessageMapper } from './anthropic-wire.js';

/** Options for {@link anthropic}. */
export type AnthropicOptions = SdkClientOptions<Anthropic>;

/** The output budget sent when a request sets none: the Messages API requires one. */
export const ANTHROPIC_DEFAULT_MAX_TOKENS = 4096;

/** Builds the Messages API body for a request. */
function toAnthropicBody(request: ChatRequest, stream: boolean): Record<string, unknown> {
  const { system, messages } = splitSystem(request);
  const body: Record<string, unknown> = {
    model: request.model,
    max_tokens: request.maxTokens ?? ANTHROPIC_DEFAULT_MAX_TOKENS,
    messages: messages.map((m) => ({ role: m.role, content: m.content })),
    stream,
  };
  if (system !== undefined) body.system = system;
  if (request.temperature !== undefined) body.temperature = request.temperature;
  if (request.stop !== undefined) body.stop_sequences = request.stop;
  if (request.tools !== undefined) {
    body.tools = request.tools.map((t) => ({
      name: t.name,
      ...(t.description !== undefined ? { description: t.description } : {}),
      input_schema: t.parameters,
    }));
  }
  return mergeProviderOptions(body, request.providerOptions);
}

/**
 * Claude's Messages API as a tokenflow {@link Provider}.
 *
 * Streams through the SDK (auth, retries before the first byte, typed HTTP errors) and reads the
 * event stream itself. Usage is exact: `message_start` gives the prompt tokens, `message_delta`
 * the cumulative output tokens.
 *
 * @example
 * import { anthropic } from 'tokenflow/anthropic';
 * const llm = anthropic(); // reads ANTHROPIC_API_KEY
 * llm.stream({ model: 'claude-sonnet-4-6', messages: [{ role: 'user', content: 'Hi' }] })
 *   .subscribe((event) => console.log(event));
 *
 * @param options - `{ client }` (a configured `Anthropic` instance) or `{ apiKey, baseURL, maxRetries, … }`
 * @throws MissingApiKeyError when neither `apiKey`, `client` nor `ANTHROPIC_API_KEY` is given
 */
export function anthropic(options?: AnthropicOptions): Provider {
  const client = setupClient<Anthropic>(options, {
    factory: 'anthropic',
    displayName: 'Anthropic',
    envVar: 'ANTHROPIC_API_KEY',
    isClient: (value) => typeof (value as Anthropic | null)?.messages?.create === 'function',
    create: (sdkOptions) => new Anthropic(sdkOptions),
  });
  return defineProvider({
    name: 'anthropic',
    envVar: 'ANTHROPIC_API_KEY',
    maxEventSize: readMaxEventSize(options, 'anthropic'),
    maxTemperature: 1,
    prepare(request, stream) {
      const body = toAnthropicBody(request, stream);
      return (signal, options) =>
        client.messages.create(body as unknown as Anthropic.MessageCreateParams, { signal, ...options }).asResponse();
    },
    streamMapper: () => createAnthropicMapper('anthropic'),
    documentMapper: () => createAnthropicMessageMapper('anthropic'),
  });
}
