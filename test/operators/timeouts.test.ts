import { NEVER, Observable, defer, firstValueFrom, map, range, take, tap, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { ConnectionError, InvalidArgumentError, StreamTimeoutError } from '../../src/errors.js';
import type { TokenEvent, Usage } from '../../src/events.js';
import { retryBeforeFirstToken } from '../../src/operators/retryBeforeFirstToken.js';
import { currentStreamContext } from '../../src/stream-context.js';
import { estimateTokens } from '../../src/estimate.js';
import { firstTokenTimeout } from '../../src/operators/firstTokenTimeout.js';
import { idleTimeout } from '../../src/operators/idleTimeout.js';
import { ev, testScheduler } from '../helpers/marbles.js';

const values = { s: ev.start(), a: ev.tok('He', 0), b: ev.tok('llo', 1), d: ev.done() };

/**
 * Matches a StreamTimeoutError of this kind and partial text (marble error values compare deeply),
 * with the usage so far: no usage event yet, so the output estimated from the text.
 */
function timeoutError(kind: 'first-token' | 'idle', timeoutMs: number, partialText: string): StreamTimeoutError {
  return new StreamTimeoutError(kind, timeoutMs, {
    partialText,
    usage: { inputTokens: 0, outputTokens: estimateTokens(partialText), estimated: true },
  });
}

describe('firstTokenTimeout()', () => {
  it('errors and unsubscribes upstream when no token arrives in time', () => {
    const scheduler = testScheduler();
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('s-------a-d|', values);
      const expected = timeoutError('first-token', 5, '');
      expected.withContext({ provider: 'test' });
      expectObservable(source.pipe(firstTokenTimeout(5, { scheduler }))).toBe('s----#', values, expected);
      expectSubscriptions(source.subscriptions).toBe('^----!');
    });
  });

  it('is disarmed by the first token: later silences do not matter', () => {
    const scheduler = testScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const source = cold('s-a----------b-d|', values);
      expectObservable(source.pipe(firstTokenTimeout(5, { scheduler }))).toBe('s-a----------b-d|', values);
    });
  });

  it('cancels its timer when unsubscribed', () => {
    const scheduler = testScheduler();
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('s----------', values);
      expectObservable(source.pipe(firstTokenTimeout(5, { scheduler })), '^--!').toBe('s---', values);
      expectSubscriptions(source.subscriptions).toBe('^--!');
    });
  });

  it('rejects a bad duration or option when created', () => {
    expect(() => firstTokenTimeout(0)).toThrow(InvalidArgumentError);
    expect(() => firstTokenTimeout(Number.NaN)).toThrow(/firstTokenTimeout\(ms\)/);
    expect(() => firstTokenTimeout(5, { schedular: 1 } as never)).toThrow(/scheduler/);
  });
});

describe('idleTimeout()', () => {
  it('errors with the partial text when the stream goes silent, and unsubscribes upstream', () => {
    const scheduler = testScheduler();
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('s-a-b---------d|', values);
      const expected = timeoutError('idle', 4, 'Hello');
      expected.withContext({ provider: 'test' });
      expectObservable(source.pipe(idleTimeout(4, { scheduler }))).toBe('s-a-b---#', values, expected);
      expectSubscriptions(source.subscriptions).toBe('^-------!');
    });
  });

  it('re-arms on every event, including before the first token', () => {
    const scheduler = testScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const source = cold('--s--a--b--d|', values);
      expectObservable(source.pipe(idleTimeout(3, { scheduler }))).toBe('--s--a--b--d|', values);
      const silent = cold('------s|', values);
      expectObservable(silent.pipe(idleTimeout(3, { scheduler }))).toBe('---#', undefined, timeoutError('idle', 3, ''));
    });
  });

  it('cancels its timer when unsubscribed', () => {
    const scheduler = testScheduler();
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('s-a---------', values);
      expectObservable(source.pipe(idleTimeout(4, { scheduler })), '^--!').toBe('s-a-', values);
      expectSubscriptions(source.subscriptions).toBe('^--!');
    });
  });
});

describe('timeouts: what counts as the first token (issue 13)', () => {
  const outputs = {
    r: { type: 'reasoning', text: 'Let me think', t: 0 },
    c: { type: 'tool-call', index: 0, id: 'call_1', name: 'lookup', argsDelta: '{}', t: 0 },
    p: { type: 'provider-tool', phase: 'call', id: 'srv_1', name: 'web_search', block: {}, t: 0 },
  } as const;
  for (const [key, label] of [
    ['r', 'reasoning'],
    ['c', 'a tool call'],
    ['p', 'a provider tool'],
  ] as const) {
    it(`firstTokenTimeout() is disarmed by ${label}: any output is the first token`, () => {
      const scheduler = testScheduler();
      scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const events = { ...values, o: outputs[key] };
        const source = cold('s-o----------d|', events);
        expectObservable(source.pipe(firstTokenTimeout(5, { scheduler }))).toBe('s-o----------d|', events);
        expectSubscriptions(source.subscriptions).toBe('^-------------!');
      });
    });
  }

  it('the documented pairing lets a reasoning model think longer than the timeout, without a retry', () => {
    const scheduler = testScheduler();
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      // Thinks from 2 to 30, answers at 40: far past the 10 ms first-token timeout, and not retried.
      const events = { ...values, r: outputs.r };
      const source = cold('s-r 27ms r 9ms a-d|', events);
      const piped = source.pipe(firstTokenTimeout(10, { scheduler }), retryBeforeFirstToken({ scheduler }));
      expectObservable(piped).toBe('--(sr) 24ms r 9ms a-d|', events);
      expectSubscriptions(source.subscriptions).toBe('^ 42ms !');
    });
  });

  it('start, citation and usage do not disarm it', () => {
    const scheduler = testScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const events = { ...values, c: { type: 'citation', citation: {}, t: 0 } as TokenEvent };
      const source = cold('s-c-------a|', events);
      expectObservable(source.pipe(firstTokenTimeout(5, { scheduler }))).toBe(
        's-c--#',
        events,
        Object.assign(timeoutError('first-token', 5, ''), { provider: 'test' }),
      );
    });
  });
});

describe('timeouts: synchronous unsubscribe and teardown', () => {
  for (const [name, operator] of [
    ['firstTokenTimeout', firstTokenTimeout],
    ['idleTimeout', idleTimeout],
  ] as const) {
    it(`${name}() stops listening to a synchronous source when unsubscribed, and leaves no timer behind`, async () => {
      const scheduler = testScheduler();
      let pulled = 0;
      const seen = await firstValueFrom(
        range(0, 1e5).pipe(
          tap(() => pulled++),
          map((i): TokenEvent => ev.tok(`t${i}`, i, i)),
          operator(5, { scheduler }),
          take(1),
          toArray(),
        ),
      );
      expect(seen).toEqual([ev.tok('t0', 0, 0)]);
      expect(pulled).toBe(1);
      expect(scheduler.actions).toHaveLength(0);
    });

    it(`${name}() leaves nothing scheduled once unsubscribed`, () => {
      const scheduler = testScheduler();
      const subscription = NEVER.pipe(operator(5, { scheduler })).subscribe();
      expect(scheduler.actions).toHaveLength(1);
      subscription.unsubscribe();
      expect(scheduler.actions).toHaveLength(0);
    });
  }
});

describe('timeouts: the usage the provider already reported (issue 13)', () => {
  /** A provider-like stream: hands its probe to the context, then emits and stalls. */
  function probed(usage: () => Usage, events: TokenEvent[]): { source: Observable<TokenEvent>; unsubscribed: () => boolean } {
    let torn = false;
    let readAfterTeardown = false;
    const source = new Observable<TokenEvent>((subscriber) => {
      currentStreamContext()?.probe?.({
        usage: () => {
          if (torn) readAfterTeardown = true;
          return usage();
        },
        partialText: () => 'ignored',
      });
      for (const event of events) subscriber.next(event);
      return () => (torn = true);
    });
    return { source, unsubscribed: () => torn && !readAfterTeardown };
  }

  for (const [name, operator, kind] of [
    ['firstTokenTimeout', firstTokenTimeout, 'first-token'],
    ['idleTimeout', idleTimeout, 'idle'],
  ] as const) {
    it(`${name}() reads the probe before letting go: the error keeps the provider's exact input tokens`, () => {
      const scheduler = testScheduler();
      const exact: Usage = { inputTokens: 1234, outputTokens: 1, estimated: false };
      const events = kind === 'idle' ? [ev.start(), ev.tok('Hel', 0)] : [ev.start()];
      const { source, unsubscribed } = probed(() => exact, events);
      const errors: unknown[] = [];
      source.pipe(operator(5, { scheduler })).subscribe({ error: (e) => errors.push(e) });
      scheduler.flush();
      expect(errors).toHaveLength(1);
      const error = errors[0] as StreamTimeoutError;
      expect(StreamTimeoutError.isInstance(error)).toBe(true);
      expect(error.usage).toEqual(exact);
      // The partial text is what went downstream, not the probe's.
      expect(error.partialText).toBe(kind === 'idle' ? 'Hel' : '');
      expect(unsubscribed()).toBe(true);
    });
  }

  it('a probe that throws errors the stream; nothing escapes the scheduler', () => {
    const scheduler = testScheduler();
    const boom = new Error('probe broke');
    const { source } = probed(() => {
      throw boom;
    }, [ev.start()]);
    const errors: unknown[] = [];
    source.pipe(idleTimeout(5, { scheduler })).subscribe({ error: (e) => errors.push(e) });
    expect(() => scheduler.flush()).not.toThrow();
    expect(errors).toHaveLength(1);
    expect((errors[0] as Error).cause).toBe(boom);
  });

  it('placed after a retry operator, it reads the probe of the attempt that is running', () => {
    const scheduler = testScheduler();
    let attempt = 0;
    const source = defer(() => {
      const n = ++attempt;
      return new Observable<TokenEvent>((subscriber) => {
        currentStreamContext()?.probe?.({ usage: () => ({ inputTokens: n * 100, outputTokens: 0, estimated: false }), partialText: () => '' });
        if (n === 1) subscriber.error(new ConnectionError('reset'));
        else subscriber.next(ev.start());
      });
    });
    const errors: unknown[] = [];
    source
      .pipe(retryBeforeFirstToken({ backoff: { initialMs: 1, jitter: false }, scheduler }), idleTimeout(10, { scheduler }))
      .subscribe({ error: (e) => errors.push(e) });
    scheduler.flush();
    expect((errors[0] as StreamTimeoutError).usage).toEqual({ inputTokens: 200, outputTokens: 0, estimated: false });
  });
});
