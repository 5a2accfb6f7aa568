/** Checks shared by the bridge functions (internal). */
import { isObservable, type Observable } from 'rxjs';
import { InvalidArgumentError, QueueOverflowError } from '../errors.js';
import type { TokenEvent } from '../events.js';
import { requireNumber } from '../validate.js';

/** Throws unless `value` is an Observable (from any copy of RxJS: anything with `subscribe`). */
export function requireStream(value: unknown, fn: string): Observable<TokenEvent> {
  if (isObservable(value) || (typeof value === 'object' && value !== null && typeof (value as { subscribe?: unknown }).subscribe === 'function')) {
    return value as Observable<TokenEvent>;
  }
  throw new InvalidArgumentError(
    'tokens$',
    `${fn}(): the first argument must be an Observable<TokenEvent> such as llm.stream(request), got ${value === null ? 'null' : typeof value}.`,
  );
}

/** The `maxQueue` option. */
export function readMaxQueue(value: unknown, fn: string): number {
  return value === undefined ? 10_000 : requireNumber(value, `${fn}.maxQueue`, { min: 1, integer: true });
}

/** The error for a consumer that fell `limit` events behind; the request is cancelled with it. */
export function overflowError(fn: string, consumer: string, limit: number, partialText: string): QueueOverflowError {
  return new QueueOverflowError(
    `${fn}(): the ${consumer} fell ${limit} events behind the stream; the request was cancelled. ` +
      `Make the ${consumer} faster, or raise maxQueue.`,
    limit,
    { partialText },
  );
}

/** `true` for a promise or any thenable. */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}
