import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, StreamTimeoutError } from '../../src/errors.js';
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
