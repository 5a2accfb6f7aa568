import { context, type Context } from '@opentelemetry/api';
import type { Observable, Subscriber, TeardownLogic } from 'rxjs';
import type { TokenEvent } from '../events.js';
import { operate } from '../operators/operate.js';
import type { StreamRecorder } from './recorder.js';

/**
 * Passes `source` on to `subscriber`, each event, error and completion shown to `recorder` first.
 * With `inSpan`, the source is subscribed inside that span's context, so the requests it makes (and
 * their HTTP instrumentation) nest under it.
 *
 * @returns the teardown: an unsubscribe before the stream ended is the recorder's cancellation
 */
export function recordThrough(
  source: Observable<TokenEvent>,
  subscriber: Subscriber<TokenEvent>,
  recorder: StreamRecorder,
  inSpan: Context | undefined,
): TeardownLogic {
  let ended = false;
  const subscribe = (): void => {
    operate(source, subscriber, {
      next: (event) => {
        recorder.event(event);
        subscriber.next(event);
      },
      error: (error: unknown) => {
        ended = true;
        recorder.error(error);
        subscriber.error(error);
      },
      complete: () => {
        ended = true;
        recorder.complete();
        subscriber.complete();
      },
    });
  };
  if (inSpan) context.with(inSpan, subscribe);
  else subscribe();
  return () => {
    if (!ended) recorder.cancel();
  };
}
