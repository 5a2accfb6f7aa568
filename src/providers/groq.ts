/**
 * `tokenflow/groq`: Groq through the official `groq-sdk`.
 *
 * @packageDocumentation
 */
import type Groq from 'groq-sdk';
import type { Provider } from '../provider.js';
import { defineProvider, readMaxEventSize, setupClient, type SdkClientOptions } from './adapter.js';
import { createChatCompletionMapper, createChatMapper, toGroqChatBody } from './openai-chat-wire.js';
import { loadPeer, sdkClient, withClient } from './peer.js';

/** Options for {@link groq}. */
export type GroqOptions = SdkClientOptions<Groq>;

/**
 * Groq as a tokenflow {@link Provider}.
 *
 * Groq speaks the Chat Completions wire format and reports usage, with its server-side timings, in
 * `x_groq.usage` on the final chunk; they arrive on the `usage` event as `serverTimings`.
 *
 * @example
 * import { groq } from 'tokenflow/groq';
 * const llm = groq(); // reads GROQ_API_KEY
 *
 * @param options - `{ client }` (a configured `Groq` instance) or `{ apiKey, baseURL, maxRetries, … }`
 * @throws MissingApiKeyError when neither `apiKey`, `client` nor `GROQ_API_KEY` is given
 */
export function groq(options?: GroqOptions): Provider {
  const client = setupClient<Groq>(options, {
    factory: 'groq',
    displayName: 'Groq',
    envVar: 'GROQ_API_KEY',
    isClient: (value) => typeof (value as Groq | null)?.chat?.completions?.create === 'function',
    // Loaded on demand, like the other SDKs (see ./peer.ts).
    create: (sdkOptions) =>
      sdkClient(async () => {
        const { Groq } = await loadPeer('groq-sdk', 'tokenflow/groq', () => import('groq-sdk'));
        return new Groq(sdkOptions);
      }),
  });
  return defineProvider({
    name: 'groq',
    envVar: 'GROQ_API_KEY',
    maxEventSize: readMaxEventSize(options, 'groq'),
    maxTemperature: 2,
    prepare(request, stream) {
      // Groq sends usage in x_groq without being asked.
      const body = toGroqChatBody(request, stream);
      return (signal, options) => withClient(client, (c) => c.chat.completions.create(body, { signal, ...options }).asResponse());
    },
    streamMapper: () => createChatMapper({ provider: 'groq' }),
    documentMapper: () => createChatCompletionMapper('groq'),
  });
}
