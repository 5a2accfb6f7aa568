/**
 * The one helper every custom operator subscribes to its source through (internal: not exported
 * from the package), in the style of RxJS's own `OperatorSubscriber`:
 *
 * - **Every callback's throw goes to `error`.** A handler (and the user code it calls: a `backoff`,
 *   an `onToken`, a projection) that throws errors the downstream subscriber and unsubscribes from
 *   the source; nothing becomes an uncaught exception, nothing is left hanging.
 * - **Synchronous unsubscribe.** The observer handed to the source *is* a `Subscription` owned by the
 *   downstream subscriber, so a downstream `take(1)` that unsubscribes inside `next` closes it at
 *   once, and a synchronous source (which checks its subscriber's `closed`) stops producing, as it
 *   does under RxJS's `map`.
 *
 * Built on public RxJS only: `Observable.subscribe()` takes an object that is both an observer and a
 * `Subscription` as the subscriber itself, rather than wrapping it.
 */
import { Subscription, type Observable, type Observer, type Subscriber } from 'rxjs';

/** What an operator does with each notification of its source. */
export interface OperatorHandlers<T> {
  next(value: T): void;
  /** @defaultValue passes the error downstream */
  error?(error: unknown): void;
  /** @defaultValue completes downstream */
  complete?(): void;
}

/** A subscriber to the source that belongs to the downstream subscriber. */
class OperatorObserver<T> extends Subscription implements Observer<T> {
  private stopped = false;

  constructor(
    private readonly destination: Subscriber<unknown>,
    private readonly handlers: OperatorHandlers<T>,
  ) {
    super();
    destination.add(this);
  }

  next(value: T): void {
    if (this.stopped || this.closed) return;
    try {
      this.handlers.next(value);
    } catch (error) {
      this.fail(error);
    }
  }

  error(error: unknown): void {
    if (this.stopped || this.closed) return;
    this.stopped = true;
    try {
      if (this.handlers.error) this.handlers.error(error);
      else this.destination.error(error);
    } catch (thrown) {
      this.destination.error(thrown);
    }
    this.unsubscribe();
  }

  complete(): void {
    if (this.stopped || this.closed) return;
    this.stopped = true;
    try {
      if (this.handlers.complete) this.handlers.complete();
      else this.destination.complete();
    } catch (thrown) {
      this.destination.error(thrown);
    }
    this.unsubscribe();
  }

  /** A handler threw: the error goes downstream and the source is let go. */
  private fail(error: unknown): void {
    this.stopped = true;
    this.destination.error(error);
    this.unsubscribe();
  }
}

/**
 * Subscribes `subscriber`'s operator to `source`. The returned subscription is already owned by
 * `subscriber` (unsubscribing downstream unsubscribes it); an operator may also unsubscribe it
 * itself (a timeout that lets go of the request before it reports).
 *
 * @example
 * export function deltas(): OperatorFunction<TokenEvent, string> {
 *   return (source) => new Observable((subscriber) => {
 *     operate(source, subscriber, { next: (event) => { if (event.type === 'token') subscriber.next(event.text); } });
 *   });
 * }
 */
export function operate<T>(source: Observable<T>, subscriber: Subscriber<unknown>, handlers: OperatorHandlers<T>): Subscription {
  const observer = new OperatorObserver<T>(subscriber, handlers);
  source.subscribe(observer);
  return observer;
}
