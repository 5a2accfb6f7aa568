import { Observable, defer, firstValueFrom, map, range, take, tap, throwError, toArray } from 'rxjs';
import type { TokenEvent, Usage } from '../../src/events.js';
import { collect } from '../../src/operators/collect.js';
import { currentStreamContext, subscribeWithContext, type StreamProbe } from '../../src/stream-context.js';
import { describe, expect, it } from 'vitest';
import { CallbackError, ConnectionError, InvalidArgumentError, ProviderError, StreamTimeoutError } from '../../src/errors.js';
import { isRetryable, type RetryOptions } from '../../src/operators/retry-core.js';
import { retryBeforeFirstToken } from '../../src/operators/retryBeforeFirstToken.js';
import { retryMidStream } from '../../src/operators/retryMidStream.js';
import { ev, testScheduler } from '../helpers/marbles.js';

const values = { s: ev.start(), a: ev.tok('He', 0), b: ev.tok('llo', 1), d: ev.done() };
const overloaded = (retryAfterMs?: number) =>
  new ProviderError('overloaded', { status: 529, retryable: true, retryAfterMs });
const boom = new Error('boom');
const unauthorized = new ProviderError('bad key', { status: 401, retryable: false });
const fixed = (ms: number) => ({ backoff: { initialMs: ms, factor: 2, jitter: false } });
/** A `start` carrying the provider's id for its attempt. */
const startWith = (id: string, t = 0): TokenEvent => ({ type: 'start', provider: 'test', model: 'm', id, t });

describe('retryBeforeFirstToken()', () => {
  it('resubscribes after the backoff when a retryable error comes before any token; one start downstream, the answering attempt\'s', () => {
    const scheduler = testScheduler();
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      // The second attempt's own clock: its events at t = 0, 4, 8, 10 since its subscription.
      const own = { s: startWith('a2'), a: ev.tok('He', 0, 4), b: ev.tok('llo', 1, 8), d: ev.done(10) };
      const attempts = [cold('s-#', { s: startWith('a1') }, overloaded()), cold('s---a---b-d|', own)];
      let n = 0;
      const flaky = defer(() => attempts[n++]!);
      // Fails at frame 2, waits 3, second attempt subscribes at 5: its events at 5, 9, 13, 15. Its
      // start is held until its first token, so the one start downstream is the answering attempt's.
      const shifted = { s: startWith('a2', 5), a: { ...own.a, t: 9 }, b: { ...own.b, t: 13 }, d: { ...own.d, t: 15 } };
      expectObservable(flaky.pipe(retryBeforeFirstToken({ ...fixed(3), scheduler }))).toBe('---------(sa)b-d|', shifted);
      expectSubscriptions(attempts[0]!.subscriptions).toBe('^-!');
      expectSubscriptions(attempts[1]!.subscriptions).toBe('-----^----------!');
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
      // A start is passed on with its attempt's first other event (or just before its final error).
      const afterToken = cold('s-a-----#', values, overloaded());
      expectObservable(afterToken.pipe(retryBeforeFirstToken({ ...fixed(1), scheduler }))).toBe('--(sa)--#', values, overloaded());
      expectSubscriptions(afterToken.subscriptions).toBe('^-------!');

      const fatal = cold('s-#', values, unauthorized);
      expectObservable(fatal.pipe(retryBeforeFirstToken({ ...fixed(1), scheduler }))).toBe('--(s#)', values, unauthorized);

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
      // The failed attempt's start was never passed on (it was not the answer's).
      expectObservable(source.pipe(retryBeforeFirstToken({ ...fixed(5), scheduler })), '^---!').toBe('-----', values);
      // Unsubscribed at 4, before the retry due at 7: no second subscription.
      expectSubscriptions(source.subscriptions).toBe('^-!');
      const endless = cold('s-a------', values);
      expectObservable(endless.pipe(retryBeforeFirstToken({ scheduler })), '^--!').toBe('--(sa)', values);
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
      const attempts = [cold('s-a-----#', values, lost), cold('s-a-b-d|', own)];
      let n = 0;
      const source = defer(() => attempts[n++]!);
      const expected = {
        ...values,
        // The reason names the error's class, never its message (it reaches browsers over SSE).
        r: { type: 'reset', reason: 'retry 1 of 2 after ConnectionError', t: 8 },
        A: { ...own.a, t: 12 },
        b: { ...own.b, t: 14 },
        d: { ...own.d, t: 16 },
      };
      // Fails at 8 (reset, t 8), waits 2, the second attempt runs from 10 with its start swallowed.
      expectObservable(source.pipe(retryMidStream({ ...fixed(2), scheduler }))).toBe('--(sa)--r---A-b-d|', expected);
      expectSubscriptions(attempts[1]!.subscriptions).toBe('----------^------!');
    });
  });

  it('sends no reset when the error came before any output', () => {
    const scheduler = testScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const attempts = [cold('s-#', values, overloaded()), cold('s-a---|', { s: ev.start(0), a: ev.tok('He', 0, 2) })];
      let n = 0;
      const source = defer(() => attempts[n++]!);
      expectObservable(source.pipe(retryMidStream({ ...fixed(1), scheduler }))).toBe('-----(sa)|', {
        s: ev.start(3),
        a: { ...values.a, t: 5 },
      });
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

describe('retry operators: user code that throws never escapes (issue 13)', () => {
  const cases: Array<[string, RetryOptions, RegExp, 'thrown' | 'stream']> = [
    ['a backoff returning a negative number', { backoff: () => -1 }, /backoff\(0\) returned -1/, 'stream'],
    ['a backoff returning NaN', { backoff: () => Number.NaN }, /backoff\(0\) returned NaN/, 'stream'],
    ['a backoff returning a string', { backoff: (() => '5') as never }, /backoff\(0\) returned string/, 'stream'],
    [
      'a backoff that throws',
      {
        backoff: () => {
          throw boom;
        },
      },
      /backoff threw \(boom\)/,
      'thrown',
    ],
    [
      'a shouldRetry that throws',
      {
        shouldRetry: () => {
          throw boom;
        },
      },
      /shouldRetry threw \(boom\)/,
      'thrown',
    ],
  ];
  for (const operator of [retryBeforeFirstToken, retryMidStream]) {
    for (const [what, options, message, cause] of cases) {
      it(`${operator.name}(): ${what} errors the stream with CallbackError, synchronously, and nothing is left scheduled`, () => {
        const scheduler = testScheduler();
        const original = new ProviderError('overloaded', {
          status: 529,
          retryable: true,
          inStream: true,
          partialText: '',
          usage: { inputTokens: 7, outputTokens: 0, estimated: false },
          provider: 'test',
        });
        const seen: unknown[] = [];
        throwError(() => original)
          .pipe(operator({ ...options, scheduler }))
          .subscribe({ next: (e) => seen.push(e), error: (e) => seen.push(e), complete: () => seen.push('complete') });
        expect(seen).toHaveLength(1);
        const error = seen[0] as CallbackError;
        expect(CallbackError.isInstance(error)).toBe(true);
        expect(error.message).toMatch(message);
        expect(error.message).toContain(operator.name);
        expect(error.message).toContain('overloaded');
        expect(error.cause).toBe(cause === 'thrown' ? boom : original);
        // The stream's context travels on: the partial text, the usage so far, the provider.
        expect(error).toMatchObject({ partialText: '', provider: 'test', usage: { inputTokens: 7 } });
        expect(scheduler.actions).toHaveLength(0);
      });
    }
  }

  it('a backoff that fails on the second retry ends the stream after the first one', () => {
    const scheduler = testScheduler();
    scheduler.run(({ cold }) => {
      const source = cold('-#', values, overloaded());
      const op = retryBeforeFirstToken({
        backoff: (attempt) => (attempt === 0 ? 2 : Number.POSITIVE_INFINITY),
        scheduler,
      });
      const seen: Array<[number, unknown]> = [];
      source.pipe(op).subscribe({ error: (e) => seen.push([scheduler.now(), e]) });
      scheduler.flush();
      // Fails at 1, waits 2, fails again at 4: the second backoff is refused there, at once.
      expect(seen).toHaveLength(1);
      expect(seen[0]![0]).toBe(4);
      expect((seen[0]![1] as Error).message).toMatch(/backoff\(1\) returned Infinity/);
    });
  });
});

describe('retry operators: synchronous unsubscribe and teardown', () => {
  for (const operator of [retryBeforeFirstToken, retryMidStream]) {
    it(`${operator.name}() stops listening to a synchronous source when unsubscribed`, async () => {
      let pulled = 0;
      const scheduler = testScheduler();
      const values = await firstValueFrom(
        range(0, 1e5).pipe(
          tap(() => pulled++),
          map((i): TokenEvent => ev.tok(`t${i}`, i, i)),
          operator({ scheduler }),
          take(1),
          toArray(),
        ),
      );
      expect(values).toEqual([ev.tok('t0', 0, 0)]);
      expect(pulled).toBe(1);
    });

    it(`${operator.name}() leaves nothing scheduled once unsubscribed during the wait`, () => {
      const scheduler = testScheduler();
      let subscriptions = 0;
      const source = defer(() => {
        subscriptions++;
        return throwError(() => overloaded());
      });
      const subscription = source.pipe(operator({ ...fixed(5), scheduler })).subscribe();
      expect(scheduler.actions).toHaveLength(1);
      subscription.unsubscribe();
      expect(scheduler.actions).toHaveLength(0);
      scheduler.flush();
      expect(subscriptions).toBe(1);
    });
  }
});

describe('retry operators: what counts as output', () => {
  for (const [label, event] of [
    ['reasoning', { type: 'reasoning', text: 'Let me think', t: 0 }],
    ['a tool call', { type: 'tool-call', index: 0, id: 'call_1', name: 'lookup', argsDelta: '{', t: 0 }],
    ['a provider tool', { type: 'provider-tool', phase: 'call', id: 'srv_1', name: 'web_search', block: {}, t: 0 }],
  ] as const) {
    it(`retryBeforeFirstToken() does not retry after ${label}: it was output`, () => {
      const scheduler = testScheduler();
      scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const source = cold('s-o-----#', { ...values, o: event }, overloaded());
        expectObservable(source.pipe(retryBeforeFirstToken({ ...fixed(1), scheduler }))).toBe('--(so)--#', { ...values, o: event }, overloaded());
        expectSubscriptions(source.subscriptions).toBe('^-------!');
      });
    });
  }
});

describe('retry operators: the figures of every attempt (issue 13)', () => {
  const inStream = (usage: Usage) =>
    new ProviderError('overloaded', { status: 529, retryable: true, inStream: true, partialText: '', usage });
  const refused = () =>
    new ProviderError('rate limited', { status: 429, retryable: true, usage: { inputTokens: 7, outputTokens: 0, estimated: true } });

  it('the final usage keeps the answer\'s own counts and adds what every attempt was billed; collect() reports the answering attempt\'s id', () => {
    const scheduler = testScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const answer$ = defer(() => {
        const attempts: Array<Observable<TokenEvent>> = [
          // Accepted, then overloaded in the stream: billed for its prompt and what it generated.
          cold('s-#', { s: startWith('a1') }, inStream({ inputTokens: 7, outputTokens: 3, estimated: false })),
          // Refused with a 429 before the stream began: nothing generated, nothing billed.
          cold('#', undefined, refused()),
          cold('s-a---u-d|', { s: startWith('a3'), a: ev.tok('Hi', 0, 2), u: ev.usage(20, 6), d: ev.done(8) }),
        ];
        let n = 0;
        // Fails at 2 → waits 1 → 3 fails → waits 2 → the third attempt runs from 5.
        return defer(() => attempts[n++]!).pipe(retryBeforeFirstToken({ ...fixed(1), scheduler }));
      });
      const usage: Usage = {
        inputTokens: 7,
        outputTokens: 20,
        estimated: false,
        billed: { inputTokens: 14, outputTokens: 23, estimated: false, attempts: 3, answerId: 'a3' },
      };
      expectObservable(answer$).toBe('-------(sa)u-d|', {
        s: startWith('a3', 5),
        a: ev.tok('Hi', 0, 7),
        u: { type: 'usage', usage, t: 11 },
        d: ev.done(13),
      });
      expectObservable(answer$.pipe(collect())).toBe('--------------(r|)', {
        r: expect.objectContaining({ id: 'a3', content: 'Hi', usage }),
      });
    });
  });

  it('after a mid-stream retry the one start stays the first attempt\'s, and collect() reports the answering attempt\'s id', () => {
    const scheduler = testScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const lost = new ConnectionError('connection reset', { partialText: 'Hel', usage: { inputTokens: 7, outputTokens: 2, estimated: true } });
      const events: TokenEvent[] = [];
      const answer$ = defer(() => {
        const attempts: Array<Observable<TokenEvent>> = [
          cold('s-a-#', { s: startWith('a1'), a: ev.tok('Hel', 0, 2) }, lost),
          cold('s-a-u-d|', { s: startWith('a2'), a: ev.tok('Hello', 0, 2), u: ev.usage(5, 4), d: ev.done(6) }),
        ];
        let n = 0;
        return defer(() => attempts[n++]!).pipe(retryMidStream({ ...fixed(1), scheduler }));
      });
      answer$.subscribe((e) => events.push(e));
      expectObservable(answer$.pipe(collect())).toBe('------------(r|)', {
        r: expect.objectContaining({
          id: 'a2',
          content: 'Hello',
          usage: { inputTokens: 7, outputTokens: 5, estimated: false, billed: { inputTokens: 14, outputTokens: 7, estimated: true, attempts: 2, answerId: 'a2' } },
        }),
      });
      scheduler.flush();
      expect(events.filter((e) => e.type === 'start')).toEqual([startWith('a1')]);
    });
  });

  it('one attempt: the usage passes through untouched, without billed', () => {
    const scheduler = testScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const events = { s: startWith('a1'), a: ev.tok('Hi', 0), u: ev.usage(3), d: ev.done() };
      expectObservable(cold('s-a---u-d|', events).pipe(retryBeforeFirstToken({ scheduler }))).toBe('--(sa)u-d|', events);
    });
  });

  it('a stream that fails after retries carries what all the attempts cost on its error', () => {
    const scheduler = testScheduler();
    scheduler.run(() => {
      const errors = [
        inStream({ inputTokens: 7, outputTokens: 1, estimated: false }),
        inStream({ inputTokens: 7, outputTokens: 2, estimated: false }),
      ];
      let n = 0;
      const seen: unknown[] = [];
      defer(() => throwError(() => errors[n++]!))
        .pipe(retryBeforeFirstToken({ ...fixed(1), maxRetries: 1, scheduler }))
        .subscribe({ error: (e) => seen.push(e) });
      scheduler.flush();
      expect(seen).toEqual([errors[1]]);
      expect(errors[1]!.usage).toEqual({
        inputTokens: 7,
        outputTokens: 2,
        estimated: false,
        billed: { inputTokens: 14, outputTokens: 3, estimated: false, attempts: 2 },
      });
    });
  });
});

describe('retry operators: one retry owner (issue 13)', () => {
  for (const operator of [retryBeforeFirstToken, retryMidStream]) {
    it(`${operator.name}() subscribes every attempt as the retry owner, with the context of its own subscription`, () => {
      const scheduler = testScheduler();
      const seen: Array<{ retryOwner: boolean | undefined; probe: boolean }> = [];
      const probes: StreamProbe[] = [];
      const source = new Observable<TokenEvent>((subscriber) => {
        const context = currentStreamContext();
        seen.push({ retryOwner: context?.retryOwner, probe: typeof context?.probe === 'function' });
        const attempt = seen.length;
        const probe: StreamProbe = { usage: () => ({ inputTokens: attempt, outputTokens: 0, estimated: false }), partialText: () => '' };
        context?.probe?.(probe);
        subscriber.error(overloaded());
      });
      subscribeWithContext({ probe: (p) => probes.push(p) }, () =>
        source.pipe(operator({ ...fixed(1), maxRetries: 2, scheduler })).subscribe({ error: () => undefined }),
      );
      scheduler.flush();
      // Three attempts, each the SDK sends once; a timeout downstream hears of each attempt's probe.
      expect(seen).toEqual([
        { retryOwner: true, probe: true },
        { retryOwner: true, probe: true },
        { retryOwner: true, probe: true },
      ]);
      expect(probes.map((p) => p.usage().inputTokens)).toEqual([1, 2, 3]);
      expect(currentStreamContext()).toBeUndefined();
    });
  }
});
