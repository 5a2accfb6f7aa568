import { defer } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { CallbackError, ConnectionError, InvalidArgumentError, ProviderError, StreamTimeoutError } from '../../src/errors.js';
import { isRetryable } from '../../src/operators/retry-core.js';
import { retryBeforeFirstToken } from '../../src/operators/retryBeforeFirstToken.js';
import { retryMidStream } from '../../src/operators/retryMidStream.js';
import { ev, testScheduler } from '../helpers/marbles.js';

const values = { s: ev.start(), a: ev.tok('He', 0), b: ev.tok('llo', 1), d: ev.done() };
const overloaded = (retryAfterMs?: number) =>
  new ProviderError('overloaded', { status: 529, retryable: true, retryAfterMs });
const unauthorized = new ProviderError('bad key', { status: 401, retryable: false });
const fixed = (ms: number) => ({ backoff: { initialMs: ms, factor: 2, jitter: false } });

describe('retryBeforeFirstToken()', () => {
  it('resubscribes after the backoff when a retryable error comes before any token; one start downstream', () => {
    const scheduler = testScheduler();
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      // The second attempt's own clock: its events at t = 0, 2, 4, 6 since its subscription.
      const own = { s: ev.start(0), a: ev.tok('He', 0, 2), b: ev.tok('llo', 1, 4), d: ev.done(6) };
      const attempts = [cold('s-#', values, overloaded()), cold('s-a-b-d|', own)];
      let n = 0;
      const flaky = defer(() => attempts[n++]!);
      // Fails at frame 2, waits 3, second attempt subscribes at 5: its events at 5, 7, 9, 11.
      const shifted = { ...values, a: { ...own.a, t: 7 }, b: { ...own.b, t: 9 }, d: { ...own.d, t: 11 } };
      expectObservable(flaky.pipe(retryBeforeFirstToken({ ...fixed(3), scheduler }))).toBe('s------a-b-d|', shifted);
      expectSubscriptions(attempts[0]!.subscriptions).toBe('^-!');
      expectSubscriptions(attempts[1]!.subscriptions).toBe('-----^------!');
    });
  });

  it('waits for retry-after when it is longer than the backoff, and backs off exponentially', () => {
    const scheduler = testScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const attempts = [cold('#', values, overloaded(10)), cold('#', values, overloaded()), cold('a|', values)];
      let n = 0;
      const source = defer(() => attempts[n++]!);
      // attempt 0 fails at 0 → waits max(1, 10) = 10; attempt 1 fails at 10 → waits 1*2 = 2; attempt 2 at 12.
      expectObservable(source.pipe(retryBeforeFirstToken({ ...fixed(1), maxRetries: 2, scheduler }))).toBe(
        '------------a|',
        { a: { ...values.a, t: 12 } },
      );
    });
  });

  it('does not retry after a token, a non-retryable error, or when retries are used up', () => {
    const scheduler = testScheduler();
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const afterToken = cold('s-a-#', values, overloaded());
      expectObservable(afterToken.pipe(retryBeforeFirstToken({ ...fixed(1), scheduler }))).toBe('s-a-#', values, overloaded());
      expectSubscriptions(afterToken.subscriptions).toBe('^---!');

      const fatal = cold('s-#', values, unauthorized);
      expectObservable(fatal.pipe(retryBeforeFirstToken({ ...fixed(1), scheduler }))).toBe('s-#', values, unauthorized);

      const always = cold('-#', values, overloaded());
      // maxRetries 1: fails at 1, retries at 2, fails at 3 and gives up.
      expectObservable(always.pipe(retryBeforeFirstToken({ ...fixed(1), maxRetries: 1, scheduler }))).toBe('---#', values, overloaded());
      expectSubscriptions(always.subscriptions).toBe(['^!', '--^!']);
    });
  });

  it('passes on a retry-after longer than maxRetryAfterMs instead of waiting', () => {
    const scheduler = testScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const source = cold('#', values, overloaded(120_000));
      expectObservable(source.pipe(retryBeforeFirstToken({ scheduler }))).toBe('#', values, overloaded(120_000));
    });
  });

  it('cancels a pending retry and the upstream when unsubscribed', () => {
    const scheduler = testScheduler();
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('s-#', values, overloaded());
      expectObservable(source.pipe(retryBeforeFirstToken({ ...fixed(5), scheduler })), '^---!').toBe('s----', values);
      // Unsubscribed at 4, before the retry due at 7: no second subscription.
      expectSubscriptions(source.subscriptions).toBe('^-!');
      const endless = cold('s-a------', values);
      expectObservable(endless.pipe(retryBeforeFirstToken({ scheduler })), '^--!').toBe('s-a-', values);
      expectSubscriptions(endless.subscriptions).toBe('^--!');
    });
  });

  it('uses a custom shouldRetry and backoff function', () => {
    const scheduler = testScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const attempts = [cold('#', values, unauthorized), cold('a|', values)];
      let n = 0;
      const source = defer(() => attempts[n++]!);
      const seen: number[] = [];
      const op = retryBeforeFirstToken({
        shouldRetry: () => true,
        backoff: (attempt) => {
          seen.push(attempt);
          return 4;
        },
        scheduler,
      });
      expectObservable(source.pipe(op)).toBe('----a|', { a: { ...values.a, t: 4 } });
      scheduler.flush();
      expect(seen).toEqual([0]);
    });
  });

  it('rejects bad options when created', () => {
    expect(() => retryBeforeFirstToken({ maxRetries: -1 })).toThrow(InvalidArgumentError);
    expect(() => retryBeforeFirstToken({ maxRetrys: 2 } as never)).toThrow(/maxRetries/);
    expect(() => retryBeforeFirstToken({ backoff: { initialMs: -5 } })).toThrow(/initialMs/);
    expect(() => retryBeforeFirstToken({ shouldRetry: 'yes' } as never)).toThrow(/shouldRetry/);
  });
});

describe('retryMidStream()', () => {
  it('emits reset and starts over when a retryable error comes after tokens', () => {
    const scheduler = testScheduler();
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const lost = new ConnectionError('connection reset');
      const own = { s: ev.start(0), a: ev.tok('He', 0, 2), b: ev.tok('llo', 1, 4), d: ev.done(6) };
      const attempts = [cold('s-a-#', values, lost), cold('s-a-b-d|', own)];
      let n = 0;
      const source = defer(() => attempts[n++]!);
      const expected = {
        ...values,
        r: { type: 'reset', reason: 'retry 1 of 2: connection reset', t: 4 },
        A: { ...own.a, t: 8 },
        b: { ...own.b, t: 10 },
        d: { ...own.d, t: 12 },
      };
      // Fails at 4 (reset, t 4), waits 2, the second attempt runs from 6 with its start swallowed.
      expectObservable(source.pipe(retryMidStream({ ...fixed(2), scheduler }))).toBe('s-a-r---A-b-d|', expected);
      expectSubscriptions(attempts[1]!.subscriptions).toBe('------^------!');
    });
  });

  it('sends no reset when the error came before any output', () => {
    const scheduler = testScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const attempts = [cold('s-#', values, overloaded()), cold('s-a|', { s: ev.start(0), a: ev.tok('He', 0, 2) })];
      let n = 0;
      const source = defer(() => attempts[n++]!);
      expectObservable(source.pipe(retryMidStream({ ...fixed(1), scheduler }))).toBe('s----a|', { ...values, a: { ...values.a, t: 5 } });
    });
  });
});

describe('isRetryable()', () => {
  it('retries overloads, rate limits, lost connections and timeouts; nothing else', () => {
    expect(isRetryable(overloaded())).toBe(true);
    expect(isRetryable(unauthorized)).toBe(false);
    expect(isRetryable(new ConnectionError('reset'))).toBe(true);
    expect(isRetryable(new StreamTimeoutError('first-token', 10))).toBe(true);
    expect(isRetryable(new CallbackError('handler threw'))).toBe(false);
    expect(isRetryable(new Error('random'))).toBe(false);
  });
});
