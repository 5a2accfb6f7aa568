import { Observable, type MonoTypeOperatorFunction, type SchedulerLike, type Subscription } from 'rxjs';
import { StreamTimeoutError, TokenflowError } from '../errors.js';
import { usageSoFar } from '../estimate.js';
import type { TokenEvent, Usage } from '../events.js';
import { PartialText } from '../internal/partial-text.js';
import { subscribeWithContext, type StreamProbe } from '../stream-context.js';
import { isOutput, readMs, readOptions, readScheduler } from './internal.js';
import { operate } from './operate.js';

/** Options for {@link firstTokenTimeout} and {@link idleTimeout}. */
export interface TimeoutOptions {
  /** The clock, for tests on virtual time. @defaultValue `asyncScheduler` */
  scheduler?: SchedulerLike;
}

/**
 * Errors with `StreamTimeoutError` (`kind: 'first-token'`) when no output arrives within `ms` of
 * subscription, and unsubscribes from the source, which aborts the HTTP request. Output means the
 * answer's first event of any kind: a `token`, `reasoning` (a model thinking), a `tool-call` or a
 * `provider-tool`; `start`, `citation` and `usage` do not count. Once output is in, the timer is
 * gone. Put {@link retryBeforeFirstToken} after it to try again: both use the same notion of
 * output, so whatever disarms the timeout also ends the retry window.
 *
 *   source:                   --start----------------tok--|
 *   firstTokenTimeout(10):    --start------#               (error after 10 ms; upstream unsubscribed)
 *
 *   source:                   --start--reasoning-------------tok--|
 *   firstTokenTimeout(10):    --start--reasoning-------------tok--|   (disarmed by the reasoning)
 *
 * The error carries the partial text and the usage the provider already reported (its exact prompt
 * tokens, read from the request before it is let go), or an estimate where it reported none.
 *
 * On an Agent's tool loop it times the loop's first output, once, as on any stream: later steps
 * are not timed again (that would part it from the retry window, and re-running a loop re-runs its
 * tools). A step whose model stalls is {@link idleTimeout}'s to catch.
 *
 *   loop:                     --step-start--start--tool-call--step-finish------(tool)------step-start--start--…
 *   firstTokenTimeout(10):    disarmed by the tool-call; the tool and step 1 are not timed
 *
 * @example
 * llm.stream(request).pipe(firstTokenTimeout(5_000), retryBeforeFirstToken({ maxRetries: 2 }));
 *
 * @param ms - the longest wait for the first output, in milliseconds (at least 1)
 * @param options - `scheduler`
 * @returns an operator passing every event through
 */
export function firstTokenTimeout(ms: number, options?: TimeoutOptions): MonoTypeOperatorFunction<TokenEvent> {
  return timeoutOperator('first-token', ms, options);
}

/**
 * Both timeouts (internal): `first-token` disarms at the first output, `idle` moves its deadline on
 * every event and, on a tool loop, stops its clock from a `step-finish` until the next `step-start`
 * (or `done`): the loop's own tools are running then, not the model.
 *
 * @param kind - which timeout
 * @param ms - its duration, in milliseconds
 * @param options - `scheduler`
 * @returns the operator
 */
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
      /** The provider stream's own account of itself, when the source is one (through any operators). */
      let probe: StreamProbe | undefined;
      const partial = new PartialText();
      /** When the timeout is due. An event only moves it: no timer is rescheduled per token. */
      let deadline = scheduler.now() + timeoutMs;
      /** Idle only: a tool loop is between a step's end and the next step (its tools run). */
      let paused = false;
      const check = (): void => {
        if (paused) {
          timer = undefined;
          return;
        }
        const remaining = deadline - scheduler.now();
        if (remaining > 0) {
          timer = scheduler.schedule(check, remaining);
          return;
        }
        timer = undefined;
        try {
          const partialText = partial.text;
          // Read what the provider reported before letting go of the request: its exact prompt
          // tokens are known from the first event on, and are lost once the request is aborted.
          const known = usage ?? probe?.usage() ?? usageSoFar(partialText, undefined);
          // Unsubscribe first: the request is aborted before anyone hears of the timeout.
          upstream?.unsubscribe();
          const error = new StreamTimeoutError(kind, timeoutMs, { partialText, usage: known });
          if (provider) error.withContext({ provider });
          subscriber.error(error);
        } catch (thrown) {
          // Nothing raised on the scheduler's turn may escape as an uncaught exception.
          upstream?.unsubscribe();
          subscriber.error(
            TokenflowError.isInstance(thrown) ? thrown : new TokenflowError(`${name}(): reporting the timeout failed.`, { cause: thrown }),
          );
        }
      };
      timer = scheduler.schedule(check, timeoutMs);
      const onProbe = (p: StreamProbe): void => {
        probe = p;
      };
      upstream = subscribeWithContext({ probe: onProbe }, () =>
        operate(source, subscriber, {
          next: (event) => {
            if (!partial.add(event) && event.type === 'start') provider = event.provider;
            else if (event.type === 'usage') usage = event.usage;
            if (kind === 'idle') {
              if (event.type === 'step-finish') {
                // Tools (and approvals) may take as long as they take: only the model can be idle.
                paused = true;
                timer?.unsubscribe();
                timer = undefined;
              } else if (!paused || event.type === 'step-start' || event.type === 'done') {
                paused = false;
                deadline = scheduler.now() + timeoutMs;
                timer ??= scheduler.schedule(check, timeoutMs);
              }
            } else if (timer && isOutput(event)) {
              timer.unsubscribe();
              timer = undefined;
            }
            subscriber.next(event);
          },
        }),
      );
      return () => {
        timer?.unsubscribe();
        timer = undefined;
      };
    });
}
