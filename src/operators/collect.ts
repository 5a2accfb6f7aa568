import { Observable, type OperatorFunction } from 'rxjs';
import { ProtocolError, TokenflowError } from '../errors.js';
import type { AgentResponse, TokenEvent } from '../events.js';
import { ResponseBuilder } from '../response-builder.js';
import { operate } from './operate.js';

/**
 * Folds a token stream into one {@link AgentResponse}, emitted when the stream completes.
 *
 *   source:    --start--tok("He")--tok("llo")--usage--done--|
 *   collect(): ---------------------------------------------({content: "Hello", …}|)
 *
 * The same shape a provider's non-streaming `complete()` returns. Text is accumulated as parts and
 * joined once at the end. A `reset` event (a mid-stream retry) discards what came before it. A
 * source that completes without `done` errors with `ProtocolError`; an error from the source passes
 * through, with the partial text filled in when it had none. An event it cannot read (a malformed one)
 * errors the stream and cancels the request, like any throw in an operator.
 *
 * @example
 * const answer = await firstValueFrom(llm.stream(request).pipe(collect()));
 * console.log(answer.content, answer.usage.outputTokens, answer.metrics.ttftMs);
 *
 * @returns an operator emitting one `AgentResponse`
 */
export function collect(): OperatorFunction<TokenEvent, AgentResponse> {
  return (source) =>
    new Observable<AgentResponse>((subscriber) => {
      const builder = new ResponseBuilder();
      operate(source, subscriber, {
        next: (event) => builder.push(event),
        error: (error: unknown) => {
          if (TokenflowError.isInstance(error)) error.withContext({ partialText: builder.text() });
          subscriber.error(error);
        },
        complete: () => {
          if (!builder.done) {
            subscriber.error(
              new ProtocolError('collect(): the stream completed without a `done` event.', undefined, {
                partialText: builder.text(),
              }),
            );
            return;
          }
          subscriber.next(builder.build());
          subscriber.complete();
        },
      });
    });
}
