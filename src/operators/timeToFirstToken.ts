import { Observable, type OperatorFunction } from 'rxjs';
import type { TokenEvent } from '../events.js';
import { operate } from './operate.js';

/**
 * Emits the time to first token, in milliseconds since subscription, as soon as the first token
 * arrives; completes when the source completes (it never cuts the stream short). A stream without
 * text tokens (a tool call only) completes without a value.
 *
 *   source:              --start--tok(t=420)--tok--done--|
 *   timeToFirstToken():  ---------420---------------------|
 *
 * Share the stream to use it beside the text, since each subscription is one request.
 *
 * @example
 * const answer$ = llm.stream(request).pipe(share());
 * answer$.pipe(timeToFirstToken()).subscribe((ms) => console.log(`first token after ${ms} ms`));
 * answer$.pipe(deltas()).subscribe(render);
 *
 * @returns an operator emitting one number
 */
export function timeToFirstToken(): OperatorFunction<TokenEvent, number> {
  return (source) =>
    new Observable<number>((subscriber) => {
      let seen = false;
      operate(source, subscriber, {
        next: (event) => {
          if (!seen && event.type === 'token') {
            seen = true;
            subscriber.next(event.t);
          }
        },
      });
    });
}
