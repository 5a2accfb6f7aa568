import { Observable } from 'rxjs';
import type { TokenEvent } from '../../src/events.js';

/** Everything a stream emitted, and how it ended. */
export interface Outcome {
  events: TokenEvent[];
  error: unknown;
  completed: boolean;
  text: string;
}

/** Subscribes and waits for the stream to end either way. */
export function run(stream$: Observable<TokenEvent>): Promise<Outcome> {
  return new Promise((resolve) => {
    const events: TokenEvent[] = [];
    const finish = (error: unknown, completed: boolean) =>
      resolve({
        events,
        error,
        completed,
        text: events.map((e) => (e.type === 'token' ? e.text : '')).join(''),
      });
    stream$.subscribe({
      next: (event) => events.push(event),
      error: (error: unknown) => finish(error, false),
      complete: () => finish(undefined, true),
    });
  });
}

/** Subscribes and unsubscribes after `afterTokens` tokens (0: right after `start`, -1: at once). */
export function cancelAfter(stream$: Observable<TokenEvent>, afterTokens: number): Promise<TokenEvent[]> {
  return new Promise((resolve, reject) => {
    const events: TokenEvent[] = [];
    let tokens = 0;
    const subscription = stream$.subscribe({
      next: (event) => {
        events.push(event);
        if (event.type === 'token') tokens++;
        if ((event.type === 'start' && afterTokens === 0) || (event.type === 'token' && tokens === afterTokens)) {
          queueMicrotask(() => {
            subscription.unsubscribe();
            resolve(events);
          });
        }
      },
      error: reject,
      complete: () => reject(new Error(`the stream completed before ${afterTokens} tokens were cancelled`)),
    });
    if (afterTokens < 0) {
      subscription.unsubscribe();
      resolve(events);
    }
  });
}

/**
 * Subscribes with a fresh signal and aborts it when the `afterTokens`-th token has been delivered
 * (synchronously, right after the subscriber got it); resolves with how the stream ended.
 */
export function abortAfter(
  stream: (signal: AbortSignal) => Observable<TokenEvent>,
  afterTokens: number,
  reason: unknown = new Error('the user pressed stop'),
): Promise<Outcome> {
  const controller = new AbortController();
  let tokens = 0;
  return run(
    new Observable<TokenEvent>((subscriber) =>
      stream(controller.signal).subscribe({
        next: (event) => {
          subscriber.next(event);
          if (event.type === 'token' && ++tokens === afterTokens) controller.abort(reason);
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => subscriber.complete(),
      }),
    ),
  );
}
