import type { MonoTypeOperatorFunction } from 'rxjs';
import type { TokenEvent } from '../events.js';
import { retryOperator, type RetryOptions } from './retry-core.js';

/**
 * Opt-in: retries a retryable error even after tokens were emitted, by starting the answer over. It
 * first emits a `reset` event (a consumer drops what it showed of this answer), then resubscribes, which
 * sends the request again (and is billed again). Before any output it behaves like
 * {@link retryBeforeFirstToken}, without a `reset`.
 *
 *   source (1st):       --start--tok("Hel")--#(connection reset)
 *   source (2nd):                               --start--tok("Hello")--done--|
 *   retryMidStream():   --start--tok("Hel")--reset----(wait)--tok("Hello")--done--|
 *
 * `text()` and `collect()` handle `reset` for you.
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
