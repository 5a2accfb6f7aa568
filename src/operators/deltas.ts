import { Observable, type OperatorFunction } from 'rxjs';
import type { TokenEvent } from '../events.js';
import { operate } from './operate.js';

/**
 * Emits each token's text, and nothing else: the plain string stream many UIs and pipes want.
 *
 *   source:    --start--tok("He")--tok("llo")--usage--done--|
 *   deltas():  ---------"He"-------"llo"-------------------|
 *
 * Other events (including `reset`) are dropped: use the events themselves, or {@link text}, when a
 * mid-stream retry must clear what was shown.
 *
 * @example
 * llm.stream(request).pipe(deltas()).subscribe((piece) => process.stdout.write(piece));
 *
 * @returns an operator emitting token texts
 */
export function deltas(): OperatorFunction<TokenEvent, string> {
  return (source) =>
    new Observable<string>((subscriber) => {
      operate(source, subscriber, {
        next: (event) => {
          if (event.type === 'token') subscriber.next(event.text);
        },
      });
    });
}
