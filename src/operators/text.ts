import { Observable, type OperatorFunction } from 'rxjs';
import type { TokenEvent } from '../events.js';
import { PartialText } from '../internal/partial-text.js';
import { operate } from './operate.js';

/**
 * Emits the text accumulated so far after every token; after a `reset` (a mid-stream retry), emits
 * `''` so a view clears what it showed. In a tool loop, a reset tagged with its `step` discards only
 * that step's text: it emits the earlier steps' text, which stands.
 *
 *   source:  --start--tok("He")--tok("llo")--usage--done--|
 *   text():  ---------"He"-------"Hello"-------------------|
 *
 *   loop:    --step-start(0)--tok("A")--step-finish--step-start(1)--tok("B")--reset(step 1)--tok("C")--|
 *   text():  -----------------"A"-------------------------------------"AB"-----"A"-------------"AC"-----|
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
      const accumulated = new PartialText();
      operate(source, subscriber, {
        next: (event) => {
          if (accumulated.add(event)) subscriber.next(accumulated.text);
        },
      });
    });
}
