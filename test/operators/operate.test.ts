/**
 * The helper every operator subscribes through: throws go to `error`, and a synchronous source stops
 * when the consumer unsubscribes inside `next` (RxJS's "should stop listening to a synchronous
 * observable when unsubscribed").
 */
import { Observable, map, range, take, tap, toArray, firstValueFrom } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { TokenEvent } from '../../src/events.js';
import { deltas } from '../../src/operators/deltas.js';
import { operate } from '../../src/operators/operate.js';

const toEvent = (i: number): TokenEvent => ({ type: 'token', text: `t${i}`, index: i, t: i });

describe('operate()', () => {
  it('stops a synchronous source when the consumer unsubscribes inside next', async () => {
    let pulled = 0;
    const values = await firstValueFrom(
      range(0, 1e5).pipe(
        tap(() => pulled++),
        map(toEvent),
        deltas(),
        take(1),
        toArray(),
      ),
    );
    expect(values).toEqual(['t0']);
    expect(pulled).toBe(1);
  });

  it('sends a throwing handler to error and lets go of the source', () => {
    let torndown = false;
    const source = new Observable<number>((subscriber) => {
      subscriber.next(1);
      subscriber.next(2);
      return () => (torndown = true);
    });
    const boom = new Error('boom');
    const seen: unknown[] = [];
    new Observable<number>((subscriber) => {
      operate(source, subscriber, {
        next: (value) => {
          if (value === 2) throw boom;
          subscriber.next(value);
        },
      });
    }).subscribe({ next: (v) => seen.push(v), error: (e) => seen.push(e) });
    expect(seen).toEqual([1, boom]);
    expect(torndown).toBe(true);
  });

  it('sends a throwing complete or error handler downstream as the error', () => {
    const boom = new Error('boom');
    const seen: unknown[] = [];
    new Observable<number>((subscriber) => {
      operate(range(0, 1), subscriber, {
        next: () => undefined,
        complete: () => {
          throw boom;
        },
      });
    }).subscribe({ error: (e) => seen.push(e), complete: () => seen.push('complete') });
    expect(seen).toEqual([boom]);
  });

  it('an error thrown by the source subscribe function goes downstream', () => {
    const boom = new Error('at subscribe');
    const seen: unknown[] = [];
    new Observable<number>((subscriber) => {
      operate(
        new Observable<number>(() => {
          throw boom;
        }),
        subscriber,
        { next: () => undefined },
      );
    }).subscribe({ error: (e) => seen.push(e) });
    expect(seen).toEqual([boom]);
  });
});
