/**
 * `tokenflow/openai-compatible`: any server speaking OpenAI's Chat Completions (Ollama, vLLM,
 * LM Studio, llama.cpp, gateways), through the official `openai` SDK.
 *
 * @packageDocumentation
 */
import type OpenAI from 'openai';
import { InvalidArgumentError } from '../errors.js';
import type { Provider } from '../provider.js';
import { requireString } from '../validate.js';
import { defineProvider, readMaxEventSize, setupClient, type SdkClientOptions } from './adapter.js';
import { createChatCompletionMapper, createChatMapper, toChatBody } from './openai-chat-wire.js';
import { isOpenAIClient, loadOpenAI } from './openai-client.js';
import { withClient } from './peer.js';
import type { OpenOptions } from './runtime.js';

/** Options for {@link openaiCompatible}. */
export interface OpenAICompatibleOptions extends SdkClientOptions<OpenAI> {
  /** The server's API root, e.g. `http://localhost:11434/v1` (Ollama). Required unless `client` is given. */
  baseURL?: string;
  /** The name on `start` events and errors. @defaultValue 'openai-compatible' */
  name?: string;
  /**
   * Ask for usage with `stream_options.include_usage`. `'auto'` asks, and if the server rejects the
   * field (HTTP 400/422 naming it) asks again without it and remembers; usage is then estimated.
   * @defaultValue 'auto'
   */
  includeUsage?: 'auto' | boolean;
  /** The body field for `maxTokens`. @defaultValue 'max_tokens' (what most servers accept) */
  maxTokensField?: 'max_tokens' | 'max_completion_tokens';
}

/** The key sent when none is given: local servers ignore it, and the user's OPENAI_API_KEY must never leak to them. */
const PLACEHOLDER_KEY = 'unused';

function rejectsStreamOptions(error: unknown): boolean {
  const status = (error as { status?: unknown } | null)?.status;
  if (status !== 400 && status !== 422) return false;
  const text = `${(error as Error).message} ${JSON.stringify((error as { error?: unknown }).error ?? '')}`;
  return /stream_options/i.test(text);
}

/**
 * An OpenAI-compatible server as a tokenflow {@link Provider}.
 *
 * Lenient where such servers differ: missing `id`, `model` or usage fields are fine (usage is then
 * estimated, `estimated: true`); a stream that ends after a `finish_reason` without `[DONE]` counts
 * as complete; `reasoning_content` / `reasoning` deltas become `reasoning` events.
 *
 * @example
 * import { openaiCompatible } from 'tokenflow/openai-compatible';
 * const llm = openaiCompatible({ baseURL: 'http://localhost:11434/v1' }); // Ollama
 * llm.stream({ model: 'llama3.2', messages: [{ role: 'user', content: 'Hi' }] });
 *
 * @param options - `baseURL` (or a configured `client`), optional `apiKey`, `name`, `includeUsage`
 */
export function openaiCompatible(options: OpenAICompatibleOptions): Provider {
  if (options === undefined || options === null || typeof options !== 'object') {
    throw new InvalidArgumentError('options', 'openaiCompatible() needs options: at least { baseURL }.');
  }
  const { name = 'openai-compatible', includeUsage = 'auto', maxTokensField = 'max_tokens', ...clientOptions } = options;
  requireString(name, 'options.name');
  if (includeUsage !== 'auto' && typeof includeUsage !== 'boolean') {
    throw new InvalidArgumentError('options.includeUsage', `options.includeUsage must be 'auto', true or false, got ${JSON.stringify(includeUsage)}.`);
  }
  if (maxTokensField !== 'max_tokens' && maxTokensField !== 'max_completion_tokens') {
    throw new InvalidArgumentError('options.maxTokensField', `options.maxTokensField must be 'max_tokens' or 'max_completion_tokens'.`);
  }
  if (clientOptions.client === undefined && clientOptions.baseURL === undefined) {
    throw new InvalidArgumentError('options.baseURL', 'openaiCompatible() needs options.baseURL, e.g. http://localhost:11434/v1 for Ollama.');
  }
  const client = setupClient<OpenAI>(clientOptions, {
    factory: 'openaiCompatible',
    displayName: name,
    envVar: undefined,
    isClient: isOpenAIClient,
    create: (sdkOptions) => loadOpenAI('tokenflow/openai-compatible', (OpenAI) => new OpenAI({ apiKey: PLACEHOLDER_KEY, ...sdkOptions })),
  });
  /** Learned once per provider: whether this server accepts `stream_options`. */
  let askUsage = includeUsage !== false;

  return defineProvider({
    name,
    maxEventSize: readMaxEventSize(clientOptions, 'openaiCompatible'),
    maxTemperature: 2,
    prepare(request, stream) {
      const send = (withUsage: boolean, signal: AbortSignal, options: OpenOptions) =>
        withClient(client, (c) =>
          c.chat.completions
            .create(toChatBody(request, stream, { maxTokensField, includeUsage: withUsage }), { signal, ...options })
            .asResponse(),
        );
      // Build once now so an invalid request fails before anything is sent.
      toChatBody(request, stream, { maxTokensField, includeUsage: askUsage });
      return async (signal, options) => {
        if (!stream || !askUsage) return send(false, signal, options);
        try {
          return await send(true, signal, options);
        } catch (error) {
          if (includeUsage !== 'auto' || !rejectsStreamOptions(error)) throw error;
          askUsage = false;
          return send(false, signal, options);
        }
      };
    },
    streamMapper: () => createChatMapper({ provider: name, lenientEnd: true }),
    documentMapper: () => createChatCompletionMapper(name),
  });
}
