/**
 * `tokenflow/openai`: OpenAI's Chat Completions or Responses API through the official `openai` SDK.
 *
 * @packageDocumentation
 */
import type OpenAI from 'openai';
import { InvalidArgumentError } from '../errors.js';
import { isPlainObject } from '../validate.js';
import type { Provider } from '../provider.js';
import { defineProvider, readMaxEventSize, setupClient, type SdkClientOptions } from './adapter.js';
import { isOpenAIClient, loadOpenAI } from './openai-client.js';
import { withClient } from './peer.js';
import { createChatCompletionMapper, createChatMapper, toChatBody } from './openai-chat-wire.js';
import { createResponseDocumentMapper, createResponsesMapper, toResponsesBody } from './openai-responses-wire.js';

/** Options for {@link openai}. */
export interface OpenAIOptions extends SdkClientOptions<OpenAI> {
  /** Which API to call. @defaultValue 'chat' (Chat Completions) */
  api?: 'chat' | 'responses';
}

/**
 * OpenAI as a tokenflow {@link Provider}: Chat Completions by default, the Responses API with
 * `api: 'responses'`.
 *
 * Chat streams ask for `stream_options.include_usage`, so usage is exact; the Responses API
 * reports it on `response.completed`.
 *
 * @example
 * import { openai } from 'tokenflow/openai';
 * const llm = openai(); // reads OPENAI_API_KEY
 * const responses = openai({ api: 'responses' });
 *
 * @param options - `{ client }` (a configured `OpenAI` instance) or `{ apiKey, baseURL, maxRetries, … }`, and `api`
 * @throws MissingApiKeyError when neither `apiKey`, `client` nor `OPENAI_API_KEY` is given
 */
export function openai(options?: OpenAIOptions): Provider {
  if (options !== undefined && !isPlainObject(options)) {
    throw new InvalidArgumentError('options', `openai() takes an options object such as { apiKey } or { client }, got ${typeof options}.`);
  }
  const api = options?.api ?? 'chat';
  if (api !== 'chat' && api !== 'responses') {
    throw new InvalidArgumentError('options.api', `options.api must be 'chat' or 'responses', got ${JSON.stringify(api)}.`);
  }
  const { api: _api, ...clientOptions } = options ?? {};
  const client = setupClient<OpenAI>(clientOptions, {
    factory: 'openai',
    displayName: 'OpenAI',
    envVar: 'OPENAI_API_KEY',
    isClient: isOpenAIClient,
    create: (sdkOptions) => loadOpenAI('tokenflow/openai', (OpenAI) => new OpenAI(sdkOptions)),
  });
  const maxEventSize = readMaxEventSize(clientOptions, 'openai');
  if (api === 'responses') {
    return defineProvider({
      name: 'openai',
      envVar: 'OPENAI_API_KEY',
      maxEventSize,
      maxTemperature: 2,
      prepare(request, stream) {
        const body = toResponsesBody(request, stream);
        return (signal, options) =>
          withClient(client, (c) => c.responses.create(body, { signal, ...options }).asResponse());
      },
      streamMapper: () => createResponsesMapper('openai'),
      documentMapper: () => createResponseDocumentMapper('openai'),
    });
  }
  return defineProvider({
    name: 'openai',
    envVar: 'OPENAI_API_KEY',
    maxEventSize,
    maxTemperature: 2,
    prepare(request, stream) {
      const body = toChatBody(request, stream, { maxTokensField: 'max_completion_tokens', includeUsage: true });
      return (signal, options) =>
        withClient(client, (c) => c.chat.completions.create(body, { signal, ...options }).asResponse());
    },
    streamMapper: () => createChatMapper({ provider: 'openai' }),
    documentMapper: () => createChatCompletionMapper('openai'),
  });
}
