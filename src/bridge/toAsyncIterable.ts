import { Observable, type Subscription } from 'rxjs';
import { InvalidArgumentError } from '../errors.js';
import type { TokenEvent } from '../events.js';
import { PartialText } from '../internal/partial-text.js';
import { operate } from '../operators/operate.js';
import { isPlainObject, rejectUnknownKeys } from '../validate.js';
import { overflowError, readMaxQueue, requireStream } from './internal.js';

/** Options for {@link toAsyncIterable}. */
export interface AsyncIterableOptions {
  /**
   * How many events may wait for a slow loop body before the request is cancelled and the loop
   * throws `QueueOverflowError` (after the events already queued). @defaultValue 10_000
   */
  maxQueue?: number;
}

/**
 * Turns a token stream into an async iterable for `for await` code. Each loop subscribes (one
 * request per loop); `break`, `return` or a throw in the loop body unsubscribes, which aborts the HTTP
 * request. A stream error is thrown from the loop after the events that came before it.
 *
 * @example
 * for await (const event of toAsyncIterable(llm.stream(request))) {
 *   if (event.type === 'token') process.stdout.write(event.text);
 *   if (userPressedStop) break; // cancels the request
 * }
 *
 * @param tokens$ - the stream, e.g. `llm.stream(request)`
 * @param options - `maxQueue`
 * @returns an `AsyncIterable<TokenEvent>`
 */
export function toAsyncIterable<T = TokenEvent>(tokens$: Observable<T>, options?: AsyncIterableOptions): AsyncIterable<T> {
  const source = requireStream(tokens$, 'toAsyncIterable') as unknown as Observable<T>;
  if (options !== undefined && !isPlainObject(options)) {
    throw new InvalidArgumentError('options', 'toAsyncIterable(): options must be an object like { maxQueue }.');
  }
  if (options) rejectUnknownKeys(options as Record<string, unknown>, ['maxQueue'], 'options');
  const maxQueue = readMaxQueue(options?.maxQueue, 'toAsyncIterable');
  return { [Symbol.asyncIterator]: () => new ObservableIterator(source, maxQueue) };
}

type Waiter<T> = { resolve: (result: IteratorResult<T>) => void; reject: (error: unknown) => void };

class ObservableIterator<T> implements AsyncIterator<T> {
  private readonly queue: T[] = [];
  private head = 0;
  /** Callers of `next()` waiting for a value, oldest first (the protocol allows several at once). */
  private readonly waiters: Waiter<T>[] = [];
  /** The answer text so far (a `reset` empties it), for the partial text of an overflow error. */
  private readonly text = new PartialText();
  private subscription: Subscription | undefined;
  private ended = false;
  private error: unknown = undefined;
  private failed = false;
  private closed = false;

  constructor(
    private readonly source: Observable<T>,
    private readonly maxQueue: number,
  ) {}

  next(): Promise<IteratorResult<T>> {
    if (!this.subscription && !this.closed) this.subscribe();
    if (this.head < this.queue.length) {
      const value = this.queue[this.head++]!;
      if (this.head === this.queue.length) {
        this.queue.length = 0;
        this.head = 0;
      }
      return Promise.resolve({ value, done: false });
    }
    if (this.failed) {
      this.failed = false;
      this.closed = true;
      return Promise.reject(this.error);
    }
    if (this.ended || this.closed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject });
    });
  }

  /** Called by `break`/`return`/a throw in the loop: cancels the request. */
  return(): Promise<IteratorResult<T>> {
    this.close();
    return Promise.resolve({ value: undefined, done: true });
  }

  private subscribe(): void {
    // Through operate(): a throw while taking a value in goes to the loop as its error, and an
    // overflow while a synchronous source is still emitting lets go of it at once.
    new Observable<never>((subscriber) => {
      this.subscription = subscriber;
      operate(this.source, subscriber, { next: (value) => this.receive(value) });
    }).subscribe({
      error: (error: unknown) => this.fail(error),
      complete: () => {
        this.ended = true;
        for (const waiter of this.waiters.splice(0)) waiter.resolve({ value: undefined, done: true });
      },
    });
    if (this.closed) this.subscription?.unsubscribe();
  }

  private receive(value: T): void {
    if (this.closed) return;
    // Any value may come through (the iterable is generic): `null` is yielded like any other.
    if (typeof value === 'object' && value !== null) {
      const event = value as { type?: unknown; text?: unknown; step?: unknown };
      if (typeof event.type === 'string') this.text.add({ type: event.type, text: event.text, step: event.step });
    }
    const waiter = this.waiters.shift();
    if (waiter) {
      waiter.resolve({ value, done: false });
      return;
    }
    if (this.queue.length - this.head >= this.maxQueue) {
      this.fail(overflowError('toAsyncIterable', 'loop body', this.maxQueue, this.text.text));
      this.subscription?.unsubscribe();
      return;
    }
    this.queue.push(value);
  }

  private fail(error: unknown): void {
    if (this.ended) return;
    this.ended = true;
    const waiters = this.waiters.splice(0);
    if (waiters.length > 0) {
      // The first waiting caller gets the error; any after it see the end, as with an async generator.
      this.closed = true;
      waiters[0]!.reject(error);
      for (const waiter of waiters.slice(1)) waiter.resolve({ value: undefined, done: true });
    } else {
      this.failed = true;
      this.error = error;
    }
  }

  private close(): void {
    this.closed = true;
    this.subscription?.unsubscribe();
    this.queue.length = 0;
    this.head = 0;
    for (const waiter of this.waiters.splice(0)) waiter.resolve({ value: undefined, done: true });
  }
}
