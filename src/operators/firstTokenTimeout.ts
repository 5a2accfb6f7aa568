import { Observable, type MonoTypeOperatorFunction, type SchedulerLike, type Subscription } from 'rxjs';
import { StreamTimeoutError } from '../errors.js';
import { usageSoFar } from '../estimate.js';
import type { TokenEvent, Usage } from '../events.js';
import { readMs, readOptions, readScheduler } from './internal.js';

/** Options for {@link firstTokenTimeout} and {@link idleTimeout}. */
export interface TimeoutOptions {
  /** The clock, for tests on virtual time. @defaultValue `asyncScheduler` */
  scheduler?: SchedulerLike;
}

/**
 * Errors with `StreamTimeoutError` (`kind: 'first-token'`) when no token arrives within `ms` of
 * subscription, and unsubscribes from the source, which aborts the HTTP request. Once the first token
 * is in, the timer is gone. Put {@link retryBeforeFirstToken} after it to try again.
 *
 *   source:                   --start----------------tok--|
 *   firstTokenTimeout(10):    --start------#               (error after 10 ms; upstream unsubscribed)
 *
 * @example
 * llm.stream(request).pipe(firstTokenTimeout(5_000), retryBeforeFirstToken({ maxRetries: 2 }));
 *
 * @param ms - the longest wait for the first token, in milliseconds
 * @param options - `scheduler`
 * @returns an operator passing every event through
 */
export function firstTokenTimeout(ms: number, options?: TimeoutOptions): MonoTypeOperatorFunction<TokenEvent> {
  return timeoutOperator('first-token', ms, options);
}

/** @internal Both timeouts: `first-token` disarms at the first token, `idle` moves its deadline on every event. */
export function timeoutOperator(
  kind: 'first-token' | 'idle',
  ms: number,
  options: TimeoutOptions | undefined,
): MonoTypeOperatorFunction<TokenEvent> {
  const name = kind === 'first-token' ? 'firstTokenTimeout' : 'idleTimeout';
  const timeoutMs = readMs(ms, `${name}(ms)`, { min: 1 });
  const scheduler = readScheduler(readOptions(options, name, ['scheduler']).scheduler, name);
  return (source) =>
    new Observable<TokenEvent>((subscriber) => {
      let timer: Subscription | undefined;
      let upstream: Subscription | undefined;
      let provider: string | undefined;
      let usage: Usage | undefined;
      const parts: string[] = [];
      /** When the timeout is due. An event only moves it: no timer is rescheduled per token. */
      let deadline = scheduler.now() + timeoutMs;
      const check = (): void => {
        const remaining = deadline - scheduler.now();
        if (remaining > 0) {
          timer = scheduler.schedule(check, remaining);
          return;
        }
        timer = undefined;
        // Unsubscribe first: the request is aborted before anyone hears of the timeout.
        upstream?.unsubscribe();
        const partialText = parts.join('');
        const error = new StreamTimeoutError(kind, timeoutMs, { partialText, usage: usageSoFar(partialText, usage) });
        if (provider) error.withContext({ provider });
        subscriber.error(error);
      };
      timer = scheduler.schedule(check, timeoutMs);
      upstream = source.subscribe({
        next: (event) => {
          if (event.type === 'token') parts.push(event.text);
          else if (event.type === 'start') provider = event.provider;
          else if (event.type === 'reset') parts.length = 0;
          else if (event.type === 'usage') usage = event.usage;
          if (kind === 'idle') deadline = scheduler.now() + timeoutMs;
          else if (timer && event.type === 'token') {
            timer.unsubscribe();
            timer = undefined;
          }
          subscriber.next(event);
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => subscriber.complete(),
      });
      if (subscriber.closed) upstream.unsubscribe();
      return () => {
        timer?.unsubscribe();
        upstream?.unsubscribe();
      };
    });
}
