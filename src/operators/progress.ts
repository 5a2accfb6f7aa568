import { Observable, type OperatorFunction } from 'rxjs';
import type { StreamMetrics, TokenEvent } from '../events.js';
import { ResponseBuilder } from '../response-builder.js';
import { operate } from './operate.js';

/**
 * Emits live {@link StreamMetrics} after every token, for a UI's "tokens/s" and elapsed time, then the
 * final metrics once at `done` (the same value {@link metrics} gives).
 *
 *   source:      --start--tok--tok--usage--done--|
 *   progress():  ---------p1---p2----------final-|
 *
 * While streaming, `tokensPerSecond` is estimated from the characters of all output so far (text,
 * reasoning and tool arguments, about four per token: tokenizing every delta would cost more than the
 * stream itself), over the time since the first output of any kind; the final value uses the
 * provider's output count. Each emission is one small object; the text is never joined.
 *
 * @example
 * llm.stream(request).pipe(progress()).subscribe((m) => {
 *   status.textContent = `${m.tokens} tokens · ${m.tokensPerSecond?.toFixed(0) ?? '…'} tokens/s`;
 * });
 *
 * @returns an operator emitting `StreamMetrics`
 */
export function progress(): OperatorFunction<TokenEvent, StreamMetrics> {
  return (source) =>
    new Observable<StreamMetrics>((subscriber) => {
      // Figures only: the text is never joined nor even kept (a token adds no string to hold).
      const builder = new ResponseBuilder(false);
      operate(source, subscriber, {
        next: (event) => {
          builder.push(event);
          if (event.type === 'token') subscriber.next(builder.live(event.t));
          else if (event.type === 'done') subscriber.next(builder.metrics());
        },
      });
    });
}
