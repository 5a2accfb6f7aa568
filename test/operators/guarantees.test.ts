/**
 * What every operator guarantees (docs/operators.md): a throw in its own code (or in what it calls)
 * goes to `error`, never out as an uncaught exception; a synchronous source stops as soon as the
 * consumer unsubscribes, as RxJS's specs test per operator ("should stop listening to a synchronous
 * observable when unsubscribed"); and `smooth()` leaves nothing scheduled behind its teardown.
 */
import { map, Observable, range, Subject, take, takeUntil, tap, type OperatorFunction, type SchedulerLike } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import type { TokenEvent } from '../../src/events.js';
import { collect } from '../../src/operators/collect.js';
import { deltas } from '../../src/operators/deltas.js';
import { metrics } from '../../src/operators/metrics.js';
import { progress } from '../../src/operators/progress.js';
import { smooth } from '../../src/operators/smooth.js';
import { text } from '../../src/operators/text.js';
import { timeToFirstToken } from '../../src/operators/timeToFirstToken.js';
import { usage } from '../../src/operators/usage.js';
import { ev } from '../helpers/marbles.js';

/** A whole word per token, so `smooth()` has a chunk to emit after each one. */
const toEvent = (i: number): TokenEvent => ({ type: 'token', text: `w${i} `, index: i, t: i });

const virtual = (): TestScheduler => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

/** Every operator of this part, by name; each call makes a fresh one. */
const operators: Record<string, () => OperatorFunction<TokenEvent, unknown>> = {
  text: () => text(),
  deltas: () => deltas(),
  timeToFirstToken: () => timeToFirstToken(),
  progress: () => progress(),
  collect: () => collect(),
  usage: () => usage(),
  metrics: () => metrics(),
  'smooth (no pacing)': () => smooth({ delayMs: 0 }),
  'smooth (paced)': () => smooth({ delayMs: 5, scheduler: virtual() }),
};

/** The operators that emit while the answer streams, so a `take(1)` can end them from `next`. */
const emitEarly = ['text', 'deltas', 'timeToFirstToken', 'progress', 'smooth (no pacing)', 'smooth (paced)'];

describe('every operator stops listening to a synchronous source when unsubscribed', () => {
  it.each(emitEarly)('%s: take(1) pulls one event from range(0, 1e5)', (name) => {
    let pulled = 0;
    const seen: unknown[] = [];
    range(0, 1e5)
      .pipe(
        tap(() => pulled++),
        map(toEvent),
        operators[name]!(),
        take(1),
      )
      .subscribe((value) => seen.push(value));
    expect(seen).toHaveLength(1);
    expect(pulled).toBe(1);
  });

  it.each(Object.keys(operators))('%s: a consumer that lets go mid-stream (takeUntil fired from a tap) stops the source', (name) => {
    let pulled = 0;
    const stop = new Subject<void>();
    let ended = false;
    range(0, 1e5)
      .pipe(
        tap((i) => {
          pulled++;
          if (i === 2) stop.next();
        }),
        map(toEvent),
        operators[name]!(),
        takeUntil(stop),
      )
      .subscribe({ complete: () => (ended = true) });
    expect(ended).toBe(true);
    expect(pulled).toBe(3);
  });

  it.each(Object.keys(operators))('%s: a source that checks subscriber.closed stops producing', (name) => {
    let produced = 0;
    const source = new Observable<TokenEvent>((subscriber) => {
      for (let i = 0; i < 1e5 && !subscriber.closed; i++) {
        produced++;
        subscriber.next(toEvent(i));
      }
    });
    const stop = new Subject<void>();
    source
      .pipe(
        tap((e) => e.type === 'token' && e.index === 4 && stop.next()),
        operators[name]!(),
        takeUntil(stop),
      )
      .subscribe();
    expect(produced).toBe(5);
  });
});

describe('every operator sends a throw in its own code to error', () => {
  it.each(Object.keys(operators))('%s: an event that throws when read errors the stream and lets go of the source', (name) => {
    const boom = new Error('unreadable event');
    const unreadable = {
      type: 'token',
      index: 0,
      get text(): string {
        throw boom;
      },
      get t(): number {
        throw boom;
      },
    } as TokenEvent;
    let after = 0;
    let torndown = false;
    const source = new Observable<TokenEvent>((subscriber) => {
      subscriber.next(ev.start());
      subscriber.next(unreadable);
      // Nothing after the throw reaches the operator: it let go of the source.
      if (!subscriber.closed) after++;
      return () => (torndown = true);
    });
    const errors: unknown[] = [];
    source.pipe(operators[name]!()).subscribe({ error: (error: unknown) => errors.push(error) });
    expect(errors).toEqual([boom]);
    expect(after).toBe(0);
    expect(torndown).toBe(true);
  });
});

describe('smooth() leaves nothing scheduled', () => {
  it('schedules no pacer after a consumer unsubscribes inside next', () => {
    const scheduler = virtual();
    const source = new Subject<TokenEvent>();
    const seen: TokenEvent[] = [];
    source.pipe(smooth({ delayMs: 5, scheduler }), take(1)).subscribe((event) => seen.push(event));
    source.next(ev.tok('one two three ', 0));
    expect(seen).toEqual([ev.tok('one ', 0)]);
    expect(source.observed).toBe(false);
    expect(scheduler.actions).toHaveLength(0);
  });

  it('cancels its pacer when unsubscribed between chunks', () => {
    const scheduler = virtual();
    const seen: TokenEvent[] = [];
    const subscription = new Observable<TokenEvent>((subscriber) => subscriber.next(ev.tok('one two three ', 0)))
      .pipe(smooth({ delayMs: 5, scheduler }))
      .subscribe((event) => seen.push(event));
    expect(scheduler.actions).toHaveLength(1);
    subscription.unsubscribe();
    expect(scheduler.actions).toHaveLength(0);
    scheduler.flush();
    expect(seen).toEqual([ev.tok('one ', 0)]);
  });

  it('a scheduler that throws while pacing errors the stream instead of throwing from its timer', () => {
    const inner = virtual();
    const boom = new Error('scheduler broke');
    let calls = 0;
    const scheduler: SchedulerLike = {
      now: () => inner.now(),
      schedule: ((work: () => void, delay?: number) => {
        if (++calls === 2) throw boom;
        return inner.schedule(work, delay);
      }) as SchedulerLike['schedule'],
    };
    let torndown = false;
    const source = new Observable<TokenEvent>((subscriber) => {
      subscriber.next(ev.tok('one two three ', 0));
      return () => (torndown = true);
    });
    const seen: unknown[] = [];
    source.pipe(smooth({ delayMs: 5, scheduler })).subscribe({ next: (e) => seen.push(e), error: (e: unknown) => seen.push(e) });
    expect(() => inner.flush()).not.toThrow();
    expect(seen).toEqual([ev.tok('one ', 0), ev.tok('two ', 1), boom]);
    expect(torndown).toBe(true);
    expect(inner.actions).toHaveLength(0);
  });
});
