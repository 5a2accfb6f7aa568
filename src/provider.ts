import type { Observable } from 'rxjs';
import type { AgentResponse, CallOptions, ChatRequest, TokenEvent } from './events.js';

/**
 * A language model behind one provider's API. Every adapter (`anthropic()`, `openai()`, `groq()`,
 * `openaiCompatible()`) returns one; nothing above the adapters knows which.
 */
export interface Provider {
  /** The adapter's name, as it appears on `start` events and errors (`anthropic`, `openai`, …). */
  readonly name: string;
  /**
   * A cold stream of the answer: nothing happens until subscription, each subscription is one
   * HTTP request, and unsubscribing aborts it. `stream()` itself never throws: an invalid request or
   * call option makes the Observable error with `InvalidArgumentError` (naming the field) as soon as
   * it is subscribed to, before anything is sent, so `catchError` sees it like any other failure.
   *
   * @example
   * llm.stream({ model, messages }).pipe(
   *   text(),
   *   catchError((error) => of(`Sorry: ${error.message}`)), // bad input arrives here too
   * );
   *
   * @param request - the model, messages and settings
   * @param options - `signal` to cancel the request
   * @returns a cold Observable of the answer's events
   */
  stream(request: ChatRequest, options?: CallOptions): Observable<TokenEvent>;
  /**
   * The whole answer without streaming, as the same `AgentResponse` `collect()` gives. Never throws:
   * an invalid request is a promise rejected with `InvalidArgumentError`, nothing sent.
   *
   * @param request - the model, messages and settings
   * @param options - `signal` to cancel the request
   * @returns the answer
   */
  complete(request: ChatRequest, options?: CallOptions): Promise<AgentResponse>;
}

/**
 * Internal (not exported from the package): a provider the adapters build carries, under this key,
 * a function that returns the host and port its latest request went to (`undefined` until a response
 * arrived), read by `tokenflow/otel` for `server.address` and `server.port`. The URL is the one the
 * SDK really requested, so a `baseURL` option, a configured `client`, an SDK's environment variable
 * and its default all count. A `Symbol.for` key, so that another installed copy reads it too.
 */
export const PROVIDER_ENDPOINT = Symbol.for('tokenflow.provider.endpoint');

/** What {@link PROVIDER_ENDPOINT}'s function returns (internal). */
export interface ProviderEndpoint {
  /** The host name (or IP address) of the request's URL. */
  address: string;
  /** Its port: the URL's own, or 443 / 80 by its scheme. */
  port: number;
}
