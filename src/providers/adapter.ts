/**
 * What the four adapters share: option checks, request validation, and the wiring of a provider's
 * wire mappers and SDK call into `stream()` and `complete()`.
 */
import { firstValueFrom, throwError, type Observable } from 'rxjs';
import { InvalidArgumentError, MissingApiKeyError, type StreamErrorContext, type TokenflowError } from '../errors.js';
import { estimateTokens } from '../estimate.js';
import type { AgentResponse, CallOptions, ChatRequest, SystemMessage, TokenEvent } from '../events.js';
import { messageText } from '../messages.js';
import { collect } from '../operators/collect.js';
import { PROVIDER_ENDPOINT, type Provider, type ProviderEndpoint } from '../provider.js';
import {
  rejectUnknownKeys,
  requireNumber,
  requireObject,
  requireString,
  validateCallOptions,
  validateChatRequest,
} from '../validate.js';
import { createTokenStream, DEFAULT_MAX_EVENT_SIZE, type OpenOptions, type WireMapper } from './runtime.js';
import { mapSdkError } from './sdk-errors.js';

/** Options every adapter accepts: a configured SDK client, or what to configure one with. */
export interface SdkClientOptions<Client> {
  /** An SDK instance you configured yourself; then the options below must not be given. */
  client?: Client;
  /** The API key; defaults to the provider's environment variable. */
  apiKey?: string;
  /** The API's base URL (a proxy, a gateway, or the mock server of `tokenflow/testing`). */
  baseURL?: string;
  /** How often the SDK retries a failed request before the stream starts. @defaultValue the SDK's (2) */
  maxRetries?: number;
  /** Milliseconds the SDK waits for the response headers. @defaultValue the SDK's (10 minutes) */
  timeout?: number;
  /** Headers sent with every request. */
  defaultHeaders?: Record<string, string>;
  /** A `fetch` implementation for the SDK to use. */
  fetch?: typeof fetch;
  /** Any other SDK constructor option (for example OpenAI's `organization`), passed as it is. */
  clientOptions?: Record<string, unknown>;
  /**
   * The largest event-stream line or event tokenflow buffers, in characters. A longer one ends the
   * stream with a `ProtocolError` instead of growing memory without bound (a broken proxy that
   * never sends a newline). Not an SDK option, so it may be given together with `client`.
   * @defaultValue 8 MiB ({@link DEFAULT_MAX_EVENT_SIZE})
   */
  maxEventSize?: number;
}

/** Options that configure the SDK client, so they conflict with a ready-made `client`. */
const CLIENT_OPTION_KEYS = ['client', 'apiKey', 'baseURL', 'maxRetries', 'timeout', 'defaultHeaders', 'fetch', 'clientOptions'];
/** Options tokenflow reads itself: they go with a `client` too. */
const STREAM_OPTION_KEYS = ['maxEventSize'];

/** Reads an environment variable where there is an environment (Node, Bun, Deno's process shim). */
export function readEnv(name: string): string | undefined {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  const value = env?.[name]?.trim();
  return value ? value : undefined;
}

/** How an adapter checks its options and builds its SDK client. */
export interface ClientSetup<Client> {
  /** The adapter's factory name, quoted in errors (`anthropic`). */
  factory: string;
  /** The provider's display name, quoted in the missing-key error (`Anthropic`). */
  displayName: string;
  /** The environment variable with the key; `undefined` when no key is required. */
  envVar: string | undefined;
  /** Keys the adapter accepts beyond the common ones. */
  extraKeys?: readonly string[];
  /** `true` when `value` looks like this SDK's client. */
  isClient(value: unknown): boolean;
  /**
   * Constructs the SDK client from checked options: a promise when the SDK is loaded on demand, so
   * that importing an adapter never fails for a missing SDK (see ./peer.ts).
   */
  create(options: Record<string, unknown>): Client | Promise<Client>;
}

/**
 * Checks an adapter's options and returns its SDK client: the user's `client` as it is, or a
 * promise of one created once the SDK has loaded (call it with `withClient` from ./peer.ts).
 *
 * @throws InvalidArgumentError naming the offending option; MissingApiKeyError when no key is found
 */
export function setupClient<Client>(raw: unknown, setup: ClientSetup<Client>): Client | Promise<Client> {
  const path = 'options';
  const options = raw === undefined ? {} : requireObject(raw, path);
  rejectUnknownKeys(options, [...CLIENT_OPTION_KEYS, ...STREAM_OPTION_KEYS, ...(setup.extraKeys ?? [])], path);
  if (options.client !== undefined) {
    if (!setup.isClient(options.client)) {
      throw new InvalidArgumentError(
        'options.client',
        `options.client must be an SDK client for ${setup.displayName}, as the official SDK constructs it.`,
      );
    }
    const conflicting = CLIENT_OPTION_KEYS.filter((k) => k !== 'client' && options[k] !== undefined);
    if (conflicting.length > 0) {
      throw new InvalidArgumentError(
        `options.${conflicting[0]}`,
        `${setup.factory}(): options.${conflicting[0]} has no effect with options.client: configure the client instead.`,
      );
    }
    return options.client as Client;
  }
  if (options.apiKey !== undefined) requireString(options.apiKey, 'options.apiKey');
  if (options.baseURL !== undefined) {
    const url = requireString(options.baseURL, 'options.baseURL');
    if (!URL.canParse(url)) throw new InvalidArgumentError('options.baseURL', `options.baseURL must be an absolute URL, got ${JSON.stringify(url)}.`);
  }
  if (options.maxRetries !== undefined) requireNumber(options.maxRetries, 'options.maxRetries', { min: 0, integer: true });
  if (options.timeout !== undefined) requireNumber(options.timeout, 'options.timeout', { min: 1 });
  if (options.defaultHeaders !== undefined) {
    const headers = requireObject(options.defaultHeaders, 'options.defaultHeaders');
    for (const [k, v] of Object.entries(headers)) requireString(v, `options.defaultHeaders.${k}`, { allowEmpty: true });
  }
  if (options.fetch !== undefined && typeof options.fetch !== 'function') {
    throw new InvalidArgumentError('options.fetch', 'options.fetch must be a fetch function.');
  }
  if (options.clientOptions !== undefined) requireObject(options.clientOptions, 'options.clientOptions');
  const apiKey = (options.apiKey as string | undefined) ?? (setup.envVar ? readEnv(setup.envVar) : undefined);
  if (setup.envVar && !apiKey) throw new MissingApiKeyError(setup.displayName, setup.envVar, setup.factory);
  const sdkOptions: Record<string, unknown> = { ...(options.clientOptions as Record<string, unknown> | undefined) };
  for (const key of ['baseURL', 'maxRetries', 'timeout', 'defaultHeaders', 'fetch'] as const) {
    if (options[key] !== undefined) sdkOptions[key] = options[key];
  }
  if (apiKey !== undefined) sdkOptions.apiKey = apiKey;
  return setup.create(sdkOptions);
}

/**
 * Reads and checks the `maxEventSize` option. Adapters call it after {@link setupClient} has
 * checked the options object and its keys; it is read apart from the SDK options because the
 * engine, not the SDK, applies it.
 *
 * @throws InvalidArgumentError unless it is a positive integer
 */
export function readMaxEventSize(options: unknown, factory: string): number | undefined {
  if (typeof options !== 'object' || options === null) return undefined;
  const value = (options as { maxEventSize?: unknown }).maxEventSize;
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new InvalidArgumentError(
      'options.maxEventSize',
      `${factory}(): options.maxEventSize must be a positive integer (characters per event-stream line or event), got ${
        typeof value === 'number' ? String(value) : value === null ? 'null' : typeof value
      }. Leave it out for the default of ${DEFAULT_MAX_EVENT_SIZE} (8 MiB).`,
    );
  }
  return value;
}

/** The provider-specific half of an adapter. */
export interface AdapterDefinition {
  name: string;
  /** The bound on one event-stream line or event (`options.maxEventSize`). @defaultValue 8 MiB */
  maxEventSize?: number | undefined;
  /** The environment variable named in authentication errors. */
  envVar?: string | undefined;
  /** Highest temperature the provider accepts. */
  maxTemperature: number;
  /**
   * Builds the provider's request body (throws `InvalidArgumentError` for what the provider cannot
   * do) and returns how to send it: the SDK call's raw `Response`.
   */
  prepare(request: ChatRequest, stream: boolean): (signal: AbortSignal, options: OpenOptions) => Promise<Response>;
  /** The mapper for a streamed body. */
  streamMapper(): WireMapper;
  /** The mapper for a non-streamed JSON body. */
  documentMapper(): WireMapper;
}

/**
 * Prompt tokens estimated from the request's text, for providers that report no usage: message
 * text, reasoning, tool inputs and results; images and documents count nothing.
 */
export function estimateRequestTokens(request: ChatRequest): number {
  let tokens = request.system ? estimateTokens(request.system) : 0;
  for (const message of request.messages) tokens += estimateTokens(messageText(message));
  if (request.tools) tokens += estimateTokens(JSON.stringify(request.tools));
  return tokens;
}

/** Builds a {@link Provider} from an adapter definition. */
export function defineProvider(definition: AdapterDefinition): Provider {
  const limits = { maxTemperature: definition.maxTemperature };
  const mapError = (error: unknown, context: StreamErrorContext): TokenflowError =>
    mapSdkError(error, context, { provider: definition.name, envVar: definition.envVar });

  /**
   * Where the latest response came from (see {@link PROVIDER_ENDPOINT}): its URL is kept as it is and
   * parsed only when asked, so a request does not pay for a URL parse nobody reads.
   */
  let endpoint: ProviderEndpoint | undefined;
  let endpointUrl = '';
  const noteEndpoint =
    (open: (signal: AbortSignal, options: OpenOptions) => Promise<Response>) =>
    async (signal: AbortSignal, options: OpenOptions): Promise<Response> => {
      const response = await open(signal, options);
      if (response.url) endpointUrl = response.url;
      return response;
    };
  const currentEndpoint = (): ProviderEndpoint | undefined => {
    if (endpointUrl) {
      endpoint = endpointOf(endpointUrl) ?? endpoint;
      endpointUrl = '';
    }
    return endpoint;
  };

  const run = (request: unknown, options: unknown, stream: boolean) => {
    const checked = validateChatRequest(request, limits);
    const { signal } = validateCallOptions(options);
    return createTokenStream({
      provider: definition.name,
      model: checked.model,
      open: noteEndpoint(definition.prepare(checked, stream)),
      createMapper: stream ? definition.streamMapper : definition.documentMapper,
      estimateInputTokens: () => estimateRequestTokens(checked),
      mapError,
      signal,
      document: !stream,
      maxEventSize: definition.maxEventSize,
    });
  };

  const provider: Provider = {
    name: definition.name,
    // Bad input is checked now, once, but reported the RxJS way: the Observable errors on
    // subscription (before anything is sent), so `catchError` and `retry` see it like any failure.
    stream: (request: ChatRequest, options?: CallOptions): Observable<TokenEvent> => {
      try {
        return run(request, options, true);
      } catch (error) {
        return throwError(() => error);
      }
    },
    // An async function: bad input is a rejected promise, never a synchronous throw.
    complete: async (request: ChatRequest, options?: CallOptions): Promise<AgentResponse> =>
      firstValueFrom(run(request, options, false).pipe(collect())),
  };
  // Not enumerable: a spread or a log of the provider shows only its public members.
  Object.defineProperty(provider, PROVIDER_ENDPOINT, { value: currentEndpoint });
  return provider;
}

/** The host and port of an absolute URL (`undefined` for anything else, such as a `Response` without one). */
function endpointOf(url: string): ProviderEndpoint | undefined {
  if (!url || !URL.canParse(url)) return undefined;
  const { hostname, port, protocol } = new URL(url);
  if (!hostname) return undefined;
  // An IPv6 host comes bracketed (`[::1]`); server.address takes the address itself.
  const address = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  return { address, port: port ? Number(port) : protocol === 'https:' ? 443 : 80 };
}

/** A system message's text: its string, or its text parts joined like separate system messages. */
export function systemText(message: SystemMessage): string {
  return typeof message.content === 'string' ? message.content : message.content.map((part) => part.text).join('\n\n');
}
