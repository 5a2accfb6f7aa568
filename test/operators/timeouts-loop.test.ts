/**
 * The timeouts on an Agent's tool loop, on virtual time: `idleTimeout()` stops its clock from a
 * `step-finish` to the next `step-start` (or `done`), so a slow tool never times the loop out while a
 * silent model still does; `firstTokenTimeout()` times the loop's first output only.
 */
import { describe, it } from 'vitest';
import { StreamTimeoutError } from '../../src/errors.js';
import { estimateTokens } from '../../src/estimate.js';
import type { TokenEvent } from '../../src/events.js';
import { firstTokenTimeout } from '../../src/operators/firstTokenTimeout.js';
import { idleTimeout } from '../../src/operators/idleTimeout.js';
import { ev, testScheduler } from '../helpers/marbles.js';

const usage = { inputTokens: 7, outputTokens: 2, estimated: false };

/** A loop's events: `a`/`g` step 0/1 start, `s` start, `t` a token, `f` step-finish, `r` tool-result, `u` usage, `d` done. */
const values: Record<string, TokenEvent> = {
  a: { type: 'step-start', step: 0, t: 0 },
  g: { type: 'step-start', step: 1, t: 0 },
  s: ev.start(),
  t: ev.tok('He', 0),
  f: { type: 'step-finish', step: 0, usage, stopReason: 'tool_use', t: 0 },
  r: { type: 'tool-result', step: 0, id: 'call_1', name: 'slow', output: 'ok', isError: false, durationMs: 40, t: 0 },
  u: ev.usage(2),
  d: ev.done(),
};

/** The timeout's error: the usage reported so far, or (none yet) the output estimated from the text. */
function timeoutError(kind: 'first-token' | 'idle', timeoutMs: number, partialText: string, reported?: typeof usage): StreamTimeoutError {
  const error = new StreamTimeoutError(kind, timeoutMs, {
    partialText,
    usage: reported ?? { inputTokens: 0, outputTokens: estimateTokens(partialText), estimated: true },
  });
  error.withContext({ provider: 'test' });
  return error;
}

describe('idleTimeout() on a tool loop', () => {
  it('does not time out while a tool runs longer than the timeout, tool results included', () => {
    const scheduler = testScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const loop = 'a-s-t-f 20ms r 20ms g-s-t-f-u-d|';
      const source = cold(loop, values);
      expectObservable(source.pipe(idleTimeout(5, { scheduler }))).toBe(loop, values);
    });
  });

  it('still times out a model that stalls inside a later step, counted from that step', () => {
    const scheduler = testScheduler();
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('a-s-t-f 20ms g-s 20ms t-f-u-d|', values);
      expectObservable(source.pipe(idleTimeout(5, { scheduler }))).toBe('a-s-t-f 20ms g-s----#', values, timeoutError('idle', 5, 'He'));
      expectSubscriptions(source.subscriptions).toBe('^------ 20ms -------!');
    });
  });

  it('still times out a model that stalls inside the first step', () => {
    const scheduler = testScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const source = cold('a-s-t 20ms f|', values);
      expectObservable(source.pipe(idleTimeout(5, { scheduler }))).toBe('a-s-t----#', values, timeoutError('idle', 5, 'He'));
    });
  });

  it('starts the clock again at the loop\'s done', () => {
    const scheduler = testScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      // After the last step the loop sends its usage and done; a stream stuck after done still ends.
      const source = cold('a-s-t-f 20ms u-d 20ms |', values);
      expectObservable(source.pipe(idleTimeout(5, { scheduler }))).toBe('a-s-t-f 20ms u-d----#', values, timeoutError('idle', 5, 'He', usage));
    });
  });

  it('leaves nothing scheduled when unsubscribed during a pause', () => {
    const scheduler = testScheduler();
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('a-s-t-f 40ms g|', values);
      expectObservable(source.pipe(idleTimeout(5, { scheduler })), '^------ 10ms !').toBe('a-s-t-f', values);
      expectSubscriptions(source.subscriptions).toBe('^------ 10ms !');
    });
  });
});

describe('firstTokenTimeout() on a tool loop', () => {
  it('times the loop\'s first output only: a slow tool and a slow later step do not time out', () => {
    const scheduler = testScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const loop = 'a-s-t-f 20ms r 20ms g-s 20ms t-f-u-d|';
      const source = cold(loop, values);
      expectObservable(source.pipe(firstTokenTimeout(5, { scheduler }))).toBe(loop, values);
    });
  });

  it('times out a first step with no output in time', () => {
    const scheduler = testScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const source = cold('a-s 20ms t-f|', values);
      expectObservable(source.pipe(firstTokenTimeout(5, { scheduler }))).toBe('a-s--#', values, timeoutError('first-token', 5, ''));
    });
  });
});
