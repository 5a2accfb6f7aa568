import type { MonoTypeOperatorFunction } from 'rxjs';
import type { TokenEvent } from '../events.js';
import { retryOperator, type RetryOptions } from './retry-core.js';

/**
 * Retries a failed request, but only while nothing has been shown: before the first token (or
 * reasoning or tool-call fragment). Only retryable errors are retried (429, 408, 409, 5xx, overloaded,
 * a lost connection, a timeout), after an exponential backoff or the provider's `retry-after`,
 * whichever is longer. Downstream sees one `start`, and `t` keeps counting from the first attempt.
 *
 *   source (1st):               --start--#(529)
 *   source (2nd):                          --start--tok("Hi")--done--|
 *   retryBeforeFirstToken():    --start-------(wait)-----tok("Hi")--done--|
 *
 * After a token, an error passes through untouched: use {@link retryMidStream} to start over instead.
 *
 * @example
 * llm.stream(request).pipe(firstTokenTimeout(10_000), retryBeforeFirstToken({ maxRetries: 3 }));
 *
 * @param options - `maxRetries` (2), `backoff` ({ initialMs: 500, factor: 2, maxMs: 10_000, jitter: true }),
 *   `shouldRetry`, `maxRetryAfterMs` (60_000), `scheduler`
 * @returns an operator resubscribing to the source on a retryable early error
 */
export function retryBeforeFirstToken(options?: RetryOptions): MonoTypeOperatorFunction<TokenEvent> {
  return retryOperator('retryBeforeFirstToken', options, false);
}
