/**
 * The machinery shared by `retryBeforeFirstToken()` and `retryMidStream()` (internal).
 */
import { Observable, type MonoTypeOperatorFunction, type SchedulerLike, type Subscription } from 'rxjs';
import { ConnectionError, InvalidArgumentError, ProviderError, StreamAbortedError, StreamTimeoutError, TokenflowError } from '../errors.js';
import type { TokenEvent } from '../events.js';
import { requireNumber, requireSignal } from '../validate.js';
import { readOptions, readScheduler } from './internal.js';

/** Exponential backoff: `initialMs`, then times `factor` per attempt, capped at `maxMs`. */
export interface BackoffOptions {
  /** @defaultValue 500 */
  initialMs?: number;
  /** @defaultValue 2 */
  factor?: number;
  /** @defaultValue 10_000 */
  maxMs?: number;
  /** Wait a random time between half and all of the delay, so many clients don't retry in step. @defaultValue true */
  jitter?: boolean;
}

/** Options for {@link retryBeforeFirstToken} and {@link retryMidStream}. */
export interface RetryOptions {
  /** Retries after the first attempt. @defaultValue 2 */
  maxRetries?: number;
  /** The delay before each retry: backoff settings, or a function of the attempt (0-based) and the error. */
  backoff?: BackoffOptions | ((attempt: number, error: unknown) => number);
  /**
   * Which errors to retry. @defaultValue retryable `ProviderError`s (429, 408, 409, 5xx, overloaded),
   * `ConnectionError`s and `StreamTimeoutError`s; never aborts, callback failures, protocol errors or
   * invalid requests.
   */
  shouldRetry?: (error: unknown, attempt: number) => boolean;
  /**
   * The longest `retry-after` to honour: a provider asking for a longer wait gets its error passed on
   * instead. @defaultValue 60_000
   */
  maxRetryAfterMs?: number;
  /**
   * The caller's signal (the one given to `stream()`): aborting it while the operator waits to retry
   * ends the stream at once with `StreamAbortedError`. Without it the abort is seen only when the
   * next attempt starts, since nothing is subscribed to the request during the wait.
   */
  signal?: AbortSignal;
  /** The clock, for tests on virtual time. @defaultValue `asyncScheduler` */
  scheduler?: SchedulerLike;
}

/** The default `shouldRetry`: errors that a second identical request may not hit. */
export function isRetryable(error: unknown): boolean {
  if (ProviderError.isInstance(error)) return error.retryable;
  return ConnectionError.isInstance(error) || StreamTimeoutError.isInstance(error);
}

const KEYS = ['maxRetries', 'backoff', 'shouldRetry', 'maxRetryAfterMs', 'signal', 'scheduler'] as const;
const BACKOFF_KEYS = ['initialMs', 'factor', 'maxMs', 'jitter'] as const;

/** Builds a retrying operator; `midStream` decides whether output already emitted blocks a retry. */
export function retryOperator(
  name: string,
  options: RetryOptions | undefined,
  midStream: boolean,
): MonoTypeOperatorFunction<TokenEvent> {
  const o = readOptions(options, name, KEYS);
  const maxRetries = o.maxRetries === undefined ? 2 : requireNumber(o.maxRetries, `${name}.maxRetries`, { min: 0, integer: true });
  const maxRetryAfterMs =
    o.maxRetryAfterMs === undefined ? 60_000 : requireNumber(o.maxRetryAfterMs, `${name}.maxRetryAfterMs`, { min: 0 });
  if (o.shouldRetry !== undefined && typeof o.shouldRetry !== 'function') {
    throw new InvalidArgumentError(`${name}.shouldRetry`, `${name}(): shouldRetry must be a function (error, attempt) => boolean.`);
  }
  const shouldRetry = (o.shouldRetry as RetryOptions['shouldRetry']) ?? isRetryable;
  const scheduler = readScheduler(o.scheduler, name);
  const signal = requireSignal(o.signal, `${name}.signal`);
  const delayFor = readBackoff(o.backoff, name);

  return (source) =>
    new Observable<TokenEvent>((subscriber) => {
      const t0 = scheduler.now();
      let attempt = 0;
      let offset = 0;
      let started = false;
      /** Output (text, reasoning, tool calls) was emitted in the current attempt. */
      let output = false;
      let upstream: Subscription | undefined;
      let timer: Subscription | undefined;
      /** The provider of the attempt that failed, for an abort during the wait. */
      let provider: string | undefined;
      const onAbort = (): void => {
        if (!timer) return;
        timer.unsubscribe();
        timer = undefined;
        const aborted = new StreamAbortedError(`${name}(): the request was aborted by its signal while waiting to retry.`, {
          partialText: '',
          cause: signal?.reason,
        });
        subscriber.error(provider === undefined ? aborted : aborted.withContext({ provider }));
      };

      const subscribe = (): void => {
        timer = undefined;
        signal?.removeEventListener('abort', onAbort);
        upstream = source.subscribe({
          next: (event) => {
            if (event.type === 'start') {
              // One `start` per answer, however many attempts it took.
              if (started) return;
              started = true;
            } else if (event.type === 'token' || event.type === 'reasoning' || event.type === 'tool-call' || event.type === 'provider-tool') {
              output = true;
            }
            // `t` counts from the first subscription, so time to first token includes the failed tries.
            subscriber.next(offset === 0 ? event : { ...event, t: event.t + offset });
          },
          error: (error: unknown) => {
            if ((output && !midStream) || attempt >= maxRetries || !shouldRetry(error, attempt)) {
              subscriber.error(error);
              return;
            }
            const retryAfter = ProviderError.isInstance(error) ? error.retryAfterMs : undefined;
            if (retryAfter !== undefined && retryAfter > maxRetryAfterMs) {
              subscriber.error(error);
              return;
            }
            const wait = Math.max(delayFor(attempt, error), retryAfter ?? 0);
            attempt++;
            if (output) {
              output = false;
              const reason = error instanceof Error ? error.message : String(error);
              subscriber.next({ type: 'reset', reason: `retry ${attempt} of ${maxRetries}: ${reason}`, t: scheduler.now() - t0 });
            }
            offset = scheduler.now() - t0 + wait;
            provider = TokenflowError.isInstance(error) ? error.provider : undefined;
            timer = scheduler.schedule(subscribe, wait);
            if (signal?.aborted) onAbort();
            else signal?.addEventListener('abort', onAbort, { once: true });
          },
          complete: () => subscriber.complete(),
        });
      };
      subscribe();
      return () => {
        signal?.removeEventListener('abort', onAbort);
        timer?.unsubscribe();
        upstream?.unsubscribe();
      };
    });
}

function readBackoff(value: unknown, name: string): (attempt: number, error: unknown) => number {
  if (typeof value === 'function') {
    const fn = value as (attempt: number, error: unknown) => number;
    return (attempt, error) => {
      const ms = fn(attempt, error);
      return requireNumber(ms, `${name}.backoff(${attempt}) result`, { min: 0 });
    };
  }
  const b = readOptions(value, `${name}.backoff`, BACKOFF_KEYS);
  const initialMs = b.initialMs === undefined ? 500 : requireNumber(b.initialMs, `${name}.backoff.initialMs`, { min: 0 });
  const factor = b.factor === undefined ? 2 : requireNumber(b.factor, `${name}.backoff.factor`, { min: 1 });
  const maxMs = b.maxMs === undefined ? 10_000 : requireNumber(b.maxMs, `${name}.backoff.maxMs`, { min: 0 });
  if (b.jitter !== undefined && typeof b.jitter !== 'boolean') {
    throw new InvalidArgumentError(`${name}.backoff.jitter`, `${name}(): backoff.jitter must be true or false.`);
  }
  const jitter = b.jitter ?? true;
  return (attempt) => {
    const ms = Math.min(maxMs, initialMs * factor ** attempt);
    return jitter ? ms / 2 + Math.random() * (ms / 2) : ms;
  };
}
