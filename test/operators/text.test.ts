import { describe, expect, it } from 'vitest';
import { deltas } from '../../src/operators/deltas.js';
import { text } from '../../src/operators/text.js';
import { timeToFirstToken } from '../../src/operators/timeToFirstToken.js';
import { ev, testScheduler } from '../helpers/marbles.js';

const values = { s: ev.start(), a: ev.tok('He', 0, 5), b: ev.tok('llo', 1, 9), u: ev.usage(2), d: ev.done(), r: ev.reset() };

describe('text()', () => {
  it('emits the accumulated text after every token', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const source = cold('s-a-b-u-d|', values);
      expectObservable(source.pipe(text())).toBe('--a-b----|', { a: 'He', b: 'Hello' });
    });
  });

  it('emits an empty string on reset and starts over', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const source = cold('s-a-r-a-b-d|', values);
      expectObservable(source.pipe(text())).toBe('--a-r-a-b--|', { a: 'He', r: '', b: 'Hello' });
    });
  });

  it('passes errors through and unsubscribes upstream when unsubscribed', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const failing = cold('s-a-#', values, new Error('boom'));
      expectObservable(failing.pipe(text())).toBe('--a-#', { a: 'He' }, new Error('boom'));
      const endless = cold('s-a-b-----', values);
      expectObservable(endless.pipe(text()), '^----!').toBe('--a-b-', { a: 'He', b: 'Hello' });
      expectSubscriptions(endless.subscriptions).toBe('^----!');
    });
  });
});

describe('deltas()', () => {
  it('emits only token texts', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('s-a-r-b-u-d|', values).pipe(deltas())).toBe('--a---b----|', { a: 'He', b: 'llo' });
    });
  });

  it('unsubscribes upstream when unsubscribed', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('s-a-b---', values);
      expectObservable(source.pipe(deltas()), '^--!').toBe('--a-', { a: 'He' });
      expectSubscriptions(source.subscriptions).toBe('^--!');
    });
  });
});

describe('timeToFirstToken()', () => {
  it("emits the first token's t and completes with the source, never cutting it short", () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('s-a-b-d|', values);
      expectObservable(source.pipe(timeToFirstToken())).toBe('--a----|', { a: 5 });
      expectSubscriptions(source.subscriptions).toBe('^------!');
    });
  });

  it('completes without a value when no token came, and unsubscribes upstream when unsubscribed', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      expectObservable(cold('s-u-d|', values).pipe(timeToFirstToken())).toBe('-----|');
      const endless = cold('s-----', values);
      expectObservable(endless.pipe(timeToFirstToken()), '^--!').toBe('----');
      expectSubscriptions(endless.subscriptions).toBe('^--!');
    });
  });

  it('keeps the first time after a reset (the user saw text then)', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const later = ev.tok('Hello', 0, 40);
      expectObservable(cold('s-a-r-l-d|', { ...values, l: later }).pipe(timeToFirstToken())).toBe('--a------|', { a: 5 });
    });
  });
});

it('text() result is a string view of the same events deltas() sees', () => {
  const pieces: string[] = [];
  const partials: string[] = [];
  testScheduler().run(({ cold }) => {
    const source = cold('s-a-b-d|', values);
    source.pipe(deltas()).subscribe((d) => pieces.push(d));
    source.pipe(text()).subscribe((t) => partials.push(t));
  });
  expect(partials.at(-1)).toBe(pieces.join(''));
});
