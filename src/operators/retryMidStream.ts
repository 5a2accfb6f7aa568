import type { MonoTypeOperatorFunction } from 'rxjs';
import type { TokenEvent } from '../events.js';
import { retryOperator, type RetryOptions } from './retry-core.js';

/**
 * Opt-in: retries a retryable error even after output was emitted, by starting the answer over. It
 * first emits a `reset` event (a consumer drops what it showed of this answer), then resubscribes, which
 * sends the request again (and is billed again). Before any output it behaves like
 * {@link retryBeforeFirstToken}, without a `reset`.
 *
 *   source (1st):       --start(a1)--tok("Hel")--#(connection reset)
 *   source (2nd):                                   --start(a2)--tok("Hello")--usage--done--|
 *   retryMidStream():   --start(a1)--tok("Hel")--reset----(wait)--tok("Hello")--usage*--done--|
 *
 * The stream keeps its one `start` (the first attempt's, already shown); the answering attempt's id
 * rides on the final usage as `usage.billed.answerId` (*), which `collect()` reports as
 * `AgentResponse.id`. `billed` also sums what every attempt cost. `text()` and `collect()` handle
 * `reset` for you. Each attempt is sent once by the SDK (see {@link retryBeforeFirstToken}: one retry
 * owner), and user callbacks that throw end the stream with a `CallbackError`.
 *
 * @example
 * llm.stream(request).pipe(idleTimeout(15_000), retryMidStream({ maxRetries: 1 }), text());
 *
 * @param options - as for {@link retryBeforeFirstToken}
 * @returns an operator resubscribing to the source on a retryable error, at any point
 */
export function retryMidStream(options?: RetryOptions): MonoTypeOperatorFunction<TokenEvent> {
  return retryOperator('retryMidStream', options, true);
}
