import type { MonoTypeOperatorFunction } from 'rxjs';
import type { TokenEvent } from '../events.js';
import { timeoutOperator, type TimeoutOptions } from './firstTokenTimeout.js';

/**
 * Errors with `StreamTimeoutError` (`kind: 'idle'`) when no event at all arrives for `ms`, counted
 * from subscription and again after every event of any type (a model that is thinking sends
 * `reasoning` events, so it is not idle), and unsubscribes from the source, which aborts the HTTP
 * request. Catches a provider that stalls mid-answer with the connection still open. The error
 * carries the partial text and the usage the provider already reported (an estimate where it
 * reported none), read before the request is let go.
 *
 *   source:           --start--tok--tok-----------------------
 *   idleTimeout(10):  --start--tok--tok----------#          (10 ms after the last event)
 *
 * On an Agent's tool loop (`agent.stream(message, { tools })`) the clock stops at each
 * `step-finish` and starts again at the next `step-start` (or the loop's `done`): the loop's tools,
 * and approvals, may take as long as they take, and their `tool-result`s neither stop nor restart
 * it. A model that goes silent inside a step is still caught.
 *
 *   loop:             --step-start--start--tok--step-finish--(tool: 60 ms)--step-start--start--tok---------
 *   idleTimeout(10):  --step-start--start--tok--step-finish----------------step-start--start--tok------#
 *
 * @example
 * llm.stream(request).pipe(idleTimeout(15_000)).subscribe({ error: (e) => show(e.partialText) });
 *
 * @param ms - the longest silence allowed, in milliseconds
 * @param options - `scheduler`
 * @returns an operator passing every event through
 */
export function idleTimeout(ms: number, options?: TimeoutOptions): MonoTypeOperatorFunction<TokenEvent> {
  return timeoutOperator('idle', ms, options);
}
