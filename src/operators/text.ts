import { Observable, type OperatorFunction } from 'rxjs';
import type { TokenEvent } from '../events.js';
import { operate } from './operate.js';

/**
 * Emits the text accumulated so far after every token; after a `reset` (a mid-stream retry), emits
 * `''` so a view clears what it showed.
 *
 *   source:  --start--tok("He")--tok("llo")--usage--done--|
 *   text():  ---------"He"-------"Hello"-------------------|
 *
 * Concatenation is cheap here (JavaScript engines build strings as ropes), but a view that only
 * appends should prefer {@link deltas}.
 *
 * @example
 * llm.stream(request).pipe(text()).subscribe((partial) => (output.textContent = partial));
 *
 * @returns an operator emitting the partial answer text
 */
export function text(): OperatorFunction<TokenEvent, string> {
  return (source) =>
    new Observable<string>((subscriber) => {
      let accumulated = '';
      operate(source, subscriber, {
        next: (event) => {
          if (event.type === 'token') {
            accumulated += event.text;
            subscriber.next(accumulated);
          } else if (event.type === 'reset') {
            accumulated = '';
            subscriber.next(accumulated);
          }
        },
      });
    });
}
