/**
 * `tokenflow/anthropic`: Claude through the official `@anthropic-ai/sdk`.
 *
 * @packageDocumentation
 */
import type Anthropic from '@anthropic-ai/sdk';
import type { MessageCreateParams, MessageCreateParamsBase, Tool } from '@anthropic-ai/sdk/resources/messages/messages';
import type { ChatRequest } from '../events.js';
import type { Provider } from '../provider.js';
import { mergeProviderOptions } from '../validate.js';
import { defineProvider, readMaxEventSize, setupClient, type SdkClientOptions } from './adapter.js';
import { createAnthropicMapper, createAnthropicMessageMapper } from './anthropic-wire.js';
import { toAnthropicMessages } from './messages-anthropic.js';
import { loadPeer, sdkClient, withClient } from './peer.js';
import { mergeNestedOption, outputFormat } from '../schema.js';

/** Options for {@link anthropic}. */
export type AnthropicOptions = SdkClientOptions<Anthropic>;

/** The output budget sent when a request sets none: the Messages API requires one. */
export const ANTHROPIC_DEFAULT_MAX_TOKENS = 4096;

/**
 * Sampling fields the API takes for the models that have them, which the SDK's types (1.x) no
 * longer declare: typed here so the rest of the body is still checked against the SDK's own types.
 */
interface Sampling {
  temperature?: number;
}

/** A Messages API body: the SDK's parameters, plus {@link Sampling}. */
type AnthropicBody = MessageCreateParams & Sampling;

/**
 * Builds the Messages API body for a request, typed by the SDK's own parameter types.
 *
 * @throws InvalidArgumentError for a message part Anthropic cannot take
 */
function toAnthropicBody(request: ChatRequest, stream: boolean): AnthropicBody {
  const { system, messages } = toAnthropicMessages(request);
  const base: MessageCreateParamsBase & Sampling = {
    model: request.model,
    max_tokens: request.maxTokens ?? ANTHROPIC_DEFAULT_MAX_TOKENS,
    messages,
  };
  if (system !== undefined) base.system = system;
  if (request.temperature !== undefined) base.temperature = request.temperature;
  if (request.stop !== undefined) base.stop_sequences = request.stop;
  if (request.tools !== undefined) {
    base.tools = request.tools.map((t) => ({
      name: t.name,
      ...(t.description !== undefined ? { description: t.description } : {}),
      input_schema: inputSchema(t.parameters),
    }));
  }
  let providerOptions = request.providerOptions;
  if (request.output !== undefined) {
    // `output_config` also carries `effort`, which a caller sets through providerOptions: merged.
    const merged = mergeNestedOption(providerOptions, 'output_config', {
      format: { type: 'json_schema' as const, schema: outputFormat(request.output).schema },
    });
    base.output_config = merged.value;
    providerOptions = merged.providerOptions;
  }
  const body: AnthropicBody = stream ? { ...base, stream: true } : { ...base, stream: false };
  return mergeProviderOptions(body, providerOptions);
}

/**
 * A tool's JSON Schema as the SDK types `input_schema`. The API requires an object schema; one that
 * says so goes as it is, and one that names no type is sent with `type: 'object'` (what it describes
 * anyway: tool input is always an object).
 */
function inputSchema(parameters: Record<string, unknown>): Tool.InputSchema {
  return isObjectSchema(parameters) ? parameters : { type: 'object', ...parameters };
}

function isObjectSchema(parameters: Record<string, unknown>): parameters is Tool.InputSchema {
  return parameters.type === 'object';
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
    // Loaded on demand: importing tokenflow/anthropic works without the SDK, and a missing SDK is a
    // MissingDependencyError on the first request rather than the module loader's raw error.
    create: (sdkOptions) =>
      sdkClient(async () => {
        const { Anthropic } = await loadPeer('@anthropic-ai/sdk', 'tokenflow/anthropic', () => import('@anthropic-ai/sdk'));
        return new Anthropic(sdkOptions);
      }),
  });
  return defineProvider({
    name: 'anthropic',
    envVar: 'ANTHROPIC_API_KEY',
    maxEventSize: readMaxEventSize(options, 'anthropic'),
    maxTemperature: 1,
    prepare(request, stream) {
      const body = toAnthropicBody(request, stream);
      return (signal, options) =>
        withClient(client, (c) => c.messages.create(body, { signal, ...options }).asResponse());
    },
    streamMapper: () => createAnthropicMapper('anthropic'),
    documentMapper: () => createAnthropicMessageMapper('anthropic'),
  });
}
