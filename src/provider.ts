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
   * HTTP request, and unsubscribing aborts it. Invalid requests throw `InvalidArgumentError` here,
   * before anything is sent.
   */
  stream(request: ChatRequest, options?: CallOptions): Observable<TokenEvent>;
  /** The whole answer without streaming, as the same `AgentResponse` `collect()` gives. */
  complete(request: ChatRequest, options?: CallOptions): Promise<AgentResponse>;
}
