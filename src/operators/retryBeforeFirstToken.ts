import type { MonoTypeOperatorFunction } from 'rxjs';
import type { TokenEvent } from '../events.js';
import { retryOperator, type RetryOptions } from './retry-core.js';

/**
 * Retries a failed request, but only while nothing has been shown: before the first output of any
 * kind (a token, reasoning, a tool call or a provider tool; the same notion that disarms
 * {@link firstTokenTimeout}). Only retryable errors are retried (429, 408, 409, 5xx, overloaded, a
 * lost connection, a timeout), after an exponential backoff or the provider's `retry-after`,
 * whichever is longer. `t` keeps counting from the first attempt.
 *
 *   source (1st):               --start(a1)--#(529)
 *   source (2nd):                               --start(a2)--tok("Hi")--done--|
 *   retryBeforeFirstToken():    ----------------(wait)----------(start(a2), tok("Hi"))--done--|
 *
 * Downstream sees one `start`: each attempt's `start` is held until that attempt's first other event,
 * so the `start` passed on (its `id`, `model`) is the one of the attempt that answers; a failed
 * stream still gets its `start` just before the error. After a token, an error passes through
 * untouched: use {@link retryMidStream} to start over instead.
 *
 * **One retry owner.** Each attempt is sent once: the provider stream, subscribed through this
 * operator, tells its SDK `maxRetries: 0` for that request, so `maxRetries: 2` means at most 3
 * requests (not 3 × 3 with the SDK's own retries). This works through any operators that subscribe
 * synchronously (`map`, `tap`, the timeouts); an operator that subscribes later (`subscribeOn`,
 * `delayWhen` on the subscription) hides it, and the SDK then retries as configured.
 *
 * **What it cost.** When there was more than one attempt, the final `usage` carries `billed`: every
 * attempt's usage summed (read from each failed attempt's error; a request refused with an HTTP
 * error status counts 0), the number of attempts and the answering attempt's id.
 *
 * User code that throws (`shouldRetry`, `backoff`) or a `backoff` that returns anything but a finite
 * number of milliseconds ≥ 0 ends the stream with a `CallbackError` naming the callback, with what it
 * threw (or the error being retried) as `cause`; it never escapes as an uncaught exception.
 *
 * @example
 * llm.stream(request).pipe(firstTokenTimeout(10_000), retryBeforeFirstToken({ maxRetries: 3 }));
 *
 * @param options - `maxRetries` (2), `backoff` ({ initialMs: 500, factor: 2, maxMs: 10_000, jitter: true }),
 *   `shouldRetry` (`isRetryable`), `maxRetryAfterMs` (60_000), `signal`, `scheduler`
 * @returns an operator resubscribing to the source on a retryable early error
 */
export function retryBeforeFirstToken(options?: RetryOptions): MonoTypeOperatorFunction<TokenEvent> {
  return retryOperator('retryBeforeFirstToken', options, false);
}
