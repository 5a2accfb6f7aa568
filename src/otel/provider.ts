import { context } from '@opentelemetry/api';
import { Observable } from 'rxjs';
import { InvalidArgumentError } from '../errors.js';
import type { AgentResponse, CallOptions, ChatRequest, TokenEvent } from '../events.js';
import { describeValue } from '../internal/describe.js';
import { PROVIDER_ENDPOINT, type Provider, type ProviderEndpoint } from '../provider.js';
import { checkProviderOptions, isProviderLike, type TracedProviderOptions } from './options.js';
import { recordThrough } from './record.js';
import { StreamRecorder, type ServerInfo } from './recorder.js';
import { setupFor, tracerFor } from './setup.js';

/**
 * The provider with every call traced: each `stream()` subscription and each `complete()` is one
 * `chat {model}` span (kind CLIENT) with the GenAI client metrics, as {@link traced} records them,
 * and more that only the provider knows: the request's settings (`gen_ai.request.model`,
 * `max_tokens`, `temperature`, `stop_sequences`, …), `server.address` and `server.port` (the host
 * the SDK really called), and with `captureContent` the input messages. The span starts when the
 * request is made and the HTTP request runs inside it, so an HTTP client instrumentation's span
 * nests under it.
 *
 * `complete()` is a non-streaming call: its span has no time to first chunk and it records no
 * chunk metrics, as the conventions ask.
 *
 * @example
 * import { anthropic } from 'tokenflow/anthropic';
 * import { tracedProvider } from 'tokenflow/otel';
 * const llm = tracedProvider(anthropic());
 * llm.stream({ model: 'claude-sonnet-4-6', messages }).subscribe(render); // one span per answer
 *
 * @param provider - any tokenflow provider (`anthropic()`, `openai()`, `groq()`, `openaiCompatible()`)
 * @param options - `tracer`, `meter`, `captureContent`, `providerName`, `conversationId`, `timePerOutputChunk`
 * @returns a provider that behaves exactly like `provider`, traced
 * @throws InvalidArgumentError for a `provider` that is not one, or a bad option
 */
export function tracedProvider(provider: Provider, options?: TracedProviderOptions): Provider {
  if (!isProviderLike(provider)) {
    throw new InvalidArgumentError(
      'provider',
      `tracedProvider(provider): provider must be a tokenflow Provider such as anthropic() or openai() (with name, stream() and complete()), got ${describeValue(provider)}.`,
    );
  }
  const checked = checkProviderOptions(options);
  const tracer = tracerFor(checked);
  const endpoint = (provider as unknown as Record<symbol, unknown>)[PROVIDER_ENDPOINT];
  const server = (): ServerInfo | undefined => {
    if (typeof endpoint !== 'function') return undefined;
    const found = (endpoint as () => ProviderEndpoint | undefined)();
    return found ? { address: found.address, port: found.port } : undefined;
  };
  const recorderFor = (request: unknown, streaming: boolean): StreamRecorder | undefined => {
    const setup = setupFor(checked, tracer, { request, server, streaming });
    return setup ? new StreamRecorder(setup) : undefined;
  };

  const wrapped: Provider = {
    name: provider.name,
    stream: (request: ChatRequest, callOptions?: CallOptions): Observable<TokenEvent> => {
      const inner = provider.stream(request, callOptions);
      return new Observable<TokenEvent>((subscriber) => {
        const recorder = recorderFor(request, true);
        if (!recorder) return inner.subscribe(subscriber);
        // The request goes out inside the span: HTTP instrumentation below nests under it.
        return recordThrough(inner, subscriber, recorder, recorder.begin({ provider: provider.name }));
      });
    },
    complete: async (request: ChatRequest, callOptions?: CallOptions): Promise<AgentResponse> => {
      const recorder = recorderFor(request, false);
      const inSpan = recorder?.begin({ provider: provider.name });
      let response: AgentResponse;
      try {
        response = await (inSpan ? context.with(inSpan, () => provider.complete(request, callOptions)) : provider.complete(request, callOptions));
      } catch (error) {
        recorder?.error(error);
        throw error;
      }
      recorder?.answered(response);
      return response;
    },
  };
  if (typeof endpoint === 'function') Object.defineProperty(wrapped, PROVIDER_ENDPOINT, { value: endpoint });
  return wrapped;
}
