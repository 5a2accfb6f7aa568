/**
 * The machinery shared by `retryBeforeFirstToken()` and `retryMidStream()` (internal).
 */
import { Observable, type MonoTypeOperatorFunction, type SchedulerLike, type Subscription } from 'rxjs';
import {
  CallbackError,
  ConnectionError,
  InvalidArgumentError,
  ProviderError,
  StreamAbortedError,
  StreamTimeoutError,
  TokenflowError,
  type StreamErrorContext,
} from '../errors.js';
import type { TokenEvent, Usage, UsageEvent } from '../events.js';
import { backoffDelay } from '../internal/backoff.js';
import { errorMessage } from '../internal/describe.js';
import { currentStreamContext, subscribeWithContext, type StreamContext } from '../stream-context.js';
import { requireNumber, requireSignal } from '../validate.js';
import { isOutput, readOptions, readScheduler } from './internal.js';
import { operate, type OperatorHandlers } from './operate.js';

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
  /**
   * Retries after the first attempt: at most `maxRetries + 1` requests, because the SDK sends each
   * attempt once while this operator owns retries (its own `maxRetries` applies only without one).
   * @defaultValue 2
   */
  maxRetries?: number;
  /**
   * The delay before each retry: backoff settings, or a function of the attempt (0-based) and the
   * error returning milliseconds (a finite number ≥ 0; anything else, or a throw, ends the stream
   * with a `CallbackError`).
   */
  backoff?: BackoffOptions | ((attempt: number, error: unknown) => number);
  /**
   * Which errors to retry (one that throws ends the stream with a `CallbackError`, its throw as
   * `cause`). @defaultValue retryable `ProviderError`s (429, 408, 409, 5xx, overloaded),
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

/**
 * The default `shouldRetry`: errors that a second identical request may not hit.
 *
 * @example
 * retryBeforeFirstToken({ shouldRetry: (error) => isRetryable(error) && !isQuotaError(error) });
 *
 * @param error - what the attempt failed with
 * @returns `true` for a retryable `ProviderError` (429, 408, 409, 5xx, overloaded), a
 *   `ConnectionError` or a `StreamTimeoutError`
 */
export function isRetryable(error: unknown): boolean {
  if (ProviderError.isInstance(error)) return error.retryable;
  return ConnectionError.isInstance(error) || StreamTimeoutError.isInstance(error);
}

const KEYS = ['maxRetries', 'backoff', 'shouldRetry', 'maxRetryAfterMs', 'signal', 'scheduler'] as const;
const BACKOFF_KEYS = ['initialMs', 'factor', 'maxMs', 'jitter'] as const;

/** What a retrying operator's attempts cost together, kept across attempts. */
interface Bill {
  inputTokens: number;
  outputTokens: number;
  estimated: boolean;
}

/**
 * What one failed attempt was billed, from its error's usage. A request the provider refused with
 * an HTTP error status (a `ProviderError` that did not arrive inside a stream) generated nothing;
 * an error that carries no usage at all is unknown, counted 0 and marked estimated.
 */
function addAttemptCost(bill: Bill, error: unknown): void {
  if (ProviderError.isInstance(error) && !error.inStream) return;
  const usage = TokenflowError.isInstance(error) ? error.usage : undefined;
  if (!usage) {
    bill.estimated = true;
    return;
  }
  const counted = usage.billed ?? usage;
  bill.inputTokens += counted.inputTokens;
  bill.outputTokens += counted.outputTokens;
  if (counted.estimated) bill.estimated = true;
}

/** The context every attempt's source is subscribed with: tokenflow owns retries, the SDK sends once. */
const RETRY_OWNER: StreamContext = { retryOwner: true };

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
      /**
       * The stream context in force at this subscription (probes of timeouts downstream), applied
       * again to every later attempt: those subscribe from a timer, where no context is in force.
       */
      const outer = currentStreamContext();
      let attempt = 0;
      let offset = 0;
      /** The one `start` has gone downstream. */
      let startSent = false;
      /** This attempt's `start`, passed on with its first other event, so it is the answering attempt's. */
      let held: TokenEvent | undefined;
      /** The provider's id for the current attempt. */
      let attemptId: string | undefined;
      /** Output (text, reasoning, tool calls) was emitted in the current attempt. */
      let output = false;
      let timer: Subscription | undefined;
      /** The provider of the attempt that failed, for an abort during the wait. */
      let provider: string | undefined;
      /** What the failed attempts cost. */
      const bill: Bill = { inputTokens: 0, outputTokens: 0, estimated: false };

      const billed = (last: Usage): NonNullable<Usage['billed']> => {
        const record: NonNullable<Usage['billed']> = {
          inputTokens: bill.inputTokens + last.inputTokens,
          outputTokens: bill.outputTokens + last.outputTokens,
          estimated: bill.estimated || last.estimated,
          attempts: attempt + 1,
        };
        if (attemptId !== undefined) record.answerId = attemptId;
        return record;
      };

      const flushStart = (): void => {
        const start = held;
        held = undefined;
        startSent = true;
        subscriber.next(start!);
      };

      /**
       * Ends the stream with `error`; a failure after retries carries what all the attempts cost
       * (`failed`: the error the last attempt ended with, when `error` wraps it).
       */
      const giveUp = (error: unknown, failed: unknown = error): void => {
        if (attempt > 0 && TokenflowError.isInstance(error)) {
          addAttemptCost(bill, failed);
          const record: NonNullable<Usage['billed']> = { ...bill, attempts: attempt + 1 };
          if (error.usage) error.usage = { ...error.usage, billed: record };
        }
        // A failed stream reads as it would without the operator: its `start`, then the error.
        if (held) flushStart();
        subscriber.error(error);
      };

      /** User code (`shouldRetry`, `backoff`) failed: say which, keep what it threw as the cause. */
      const callbackFailed = (callback: string, detail: string, cause: unknown, streamError: unknown): CallbackError => {
        const failure = new CallbackError(`${name}(): ${callback} ${detail} while handling: ${errorMessage(streamError)}`, { cause });
        if (TokenflowError.isInstance(streamError)) {
          const context: StreamErrorContext = {};
          if (streamError.partialText !== undefined) context.partialText = streamError.partialText;
          if (streamError.usage !== undefined) context.usage = streamError.usage;
          if (streamError.provider !== undefined) context.provider = streamError.provider;
          failure.withContext(context);
        }
        return failure;
      };

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

      const handlers: OperatorHandlers<TokenEvent> = {
        next: (event) => {
          // `t` counts from the first subscription, so time to first token includes the failed tries.
          let shifted = offset === 0 ? event : { ...event, t: event.t + offset };
          if (event.type === 'start') {
            attemptId = event.id;
            // One `start` per answer, however many attempts it took: after output was shown and reset
            // (a mid-stream retry), the answer's id travels on the final usage (`billed.answerId`).
            if (!startSent) held = shifted;
            return;
          }
          if (held) flushStart();
          if (isOutput(event)) output = true;
          else if (event.type === 'usage' && attempt > 0) {
            shifted = { ...(shifted as UsageEvent), usage: { ...event.usage, billed: billed(event.usage) } };
          }
          subscriber.next(shifted);
        },
        error: (error: unknown) => {
          if ((output && !midStream) || attempt >= maxRetries) return giveUp(error);
          let retry: boolean;
          try {
            retry = shouldRetry(error, attempt);
          } catch (thrown) {
            return giveUp(callbackFailed('shouldRetry', `threw (${errorMessage(thrown)})`, thrown, error), error);
          }
          if (!retry) return giveUp(error);
          const retryAfter = ProviderError.isInstance(error) ? error.retryAfterMs : undefined;
          if (retryAfter !== undefined && retryAfter > maxRetryAfterMs) return giveUp(error);
          let delay: unknown;
          try {
            delay = delayFor(attempt, error);
          } catch (thrown) {
            return giveUp(callbackFailed('backoff', `threw (${errorMessage(thrown)})`, thrown, error), error);
          }
          if (typeof delay !== 'number' || !Number.isFinite(delay) || delay < 0) {
            const detail = `returned ${typeof delay === 'number' ? String(delay) : typeof delay}, not a finite number of milliseconds, 0 or more,`;
            return giveUp(callbackFailed(`backoff(${attempt})`, detail, error, error), error);
          }
          const wait = Math.max(delay, retryAfter ?? 0);
          addAttemptCost(bill, error);
          attempt++;
          held = undefined;
          if (output) {
            output = false;
            subscriber.next({ type: 'reset', reason: `retry ${attempt} of ${maxRetries} after ${kindOf(error)}`, t: scheduler.now() - t0 });
          }
          offset = scheduler.now() - t0 + wait;
          provider = TokenflowError.isInstance(error) ? error.provider : undefined;
          timer = scheduler.schedule(next, wait);
          if (signal?.aborted) onAbort();
          else signal?.addEventListener('abort', onAbort, { once: true });
        },
      };

      /** Sends one attempt: the source is subscribed as the one retry owner (the SDK sends it once). */
      const send = (context: StreamContext): void => {
        attemptId = undefined;
        subscribeWithContext(context, () => operate(source, subscriber, handlers));
      };
      const next = (): void => {
        timer = undefined;
        signal?.removeEventListener('abort', onAbort);
        send(outer ? { ...outer, retryOwner: true } : RETRY_OWNER);
      };
      send(RETRY_OWNER);
      return () => {
        signal?.removeEventListener('abort', onAbort);
        timer?.unsubscribe();
        timer = undefined;
      };
    });
}

/** An error's message for another message. */
/**
 * What failed, for the `reset` event's reason: the error's class and status, never its message. The
 * reason is relayed to browsers over SSE, and messages quote upstream text that can echo a key.
 */
function kindOf(error: unknown): string {
  if (ProviderError.isInstance(error) && error.status !== undefined) return `ProviderError ${error.status}`;
  if (TokenflowError.isInstance(error)) return error.name;
  return 'an error';
}


function readBackoff(value: unknown, name: string): (attempt: number, error: unknown) => number {
  // A function's result is checked where it is called: a bad one errors the stream, never throws.
  if (typeof value === 'function') return value as (attempt: number, error: unknown) => number;
  const b = readOptions(value, `${name}.backoff`, BACKOFF_KEYS);
  const initialMs = b.initialMs === undefined ? 500 : requireNumber(b.initialMs, `${name}.backoff.initialMs`, { min: 0 });
  const factor = b.factor === undefined ? 2 : requireNumber(b.factor, `${name}.backoff.factor`, { min: 1 });
  const maxMs = b.maxMs === undefined ? 10_000 : requireNumber(b.maxMs, `${name}.backoff.maxMs`, { min: 0 });
  if (b.jitter !== undefined && typeof b.jitter !== 'boolean') {
    throw new InvalidArgumentError(`${name}.backoff.jitter`, `${name}(): backoff.jitter must be true or false.`);
  }
  const policy = { initialMs, factor, maxMs, jitter: b.jitter ?? true };
  return (attempt) => backoffDelay(policy, attempt);
}
