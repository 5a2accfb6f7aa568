import { firstValueFrom, from, toArray } from 'rxjs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import type { TokenEvent } from '../../src/events.js';
import { smooth } from '../../src/operators/smooth.js';
import { ev, testScheduler } from '../helpers/marbles.js';

const tok = (text: string, index: number, t = 0) => ev.tok(text, index, t);

describe('smooth()', () => {
  it('re-chunks into words and paces them delayMs apart; done waits for the queue', () => {
    const scheduler = testScheduler();
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('s-a-b-d|', { s: ev.start(), a: tok('Hel', 0), b: tok('lo big world', 1), d: ev.done() });
      const expected = {
        s: ev.start(),
        h: tok('Hello ', 0),
        b: tok('big ', 1),
        w: tok('world', 2),
        d: ev.done(),
      };
      // "Hello " and "big " are complete at 4; "world" is flushed by done at 6 and waits its turn.
      expectObservable(source.pipe(smooth({ delayMs: 3, scheduler }))).toBe('s---h--b--(wd|)', expected);
      expectSubscriptions(source.subscriptions).toBe('^------!');
    });
  });

  it('cuts at newlines with chunking: line', () => {
    const scheduler = testScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const source = cold('a-b|', { a: tok('one\ntw', 0), b: tok('o\nthree', 1) });
      expectObservable(source.pipe(smooth({ chunking: 'line', delayMs: 0, scheduler }))).toBe('a-b(c|)', {
        a: tok('one\n', 0),
        b: tok('two\n', 1),
        c: tok('three', 2),
      });
    });
  });

  it('cuts Japanese into words with an Intl.Segmenter', async () => {
    const segmenter = new Intl.Segmenter('ja', { granularity: 'word' });
    const events: TokenEvent[] = [ev.start(), tok('東京タ', 0), tok('ワーに行', 1), tok('きました', 2), ev.done()];
    const out = await firstValueFrom(from(events).pipe(smooth({ chunking: segmenter, delayMs: 0 }), toArray()));
    const texts = out.filter((e) => e.type === 'token').map((e) => (e as { text: string }).text);
    expect(texts.join('')).toBe('東京タワーに行きました');
    // Whole words of the full sentence, never a word cut where a delta ended ("東京" + "タワー"); the
    // rest at done comes out as it is.
    const words = [...segmenter.segment('東京タワーに行きました')].map((s) => s.segment);
    expect(texts.slice(0, -1).every((t) => words.includes(t))).toBe(true);
    expect(texts[0]).toBe('東京タワー');
    expect(texts.length).toBeGreaterThan(1);
  });

  it('drops queued text on reset and numbers tokens from 0 again', () => {
    const scheduler = testScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const source = cold('a-r-b-d|', { a: tok('one two three ', 0), r: ev.reset(), b: tok('fresh ', 0), d: ev.done() });
      // delayMs 5: "one " at 0; "two " and "three " are still queued when reset arrives at 2 and are
      // dropped; "fresh " (4) waits for the pause to end at 5; done (6) never waits.
      expectObservable(source.pipe(smooth({ delayMs: 5, scheduler }))).toBe('o-r--fd|', {
        o: tok('one ', 0),
        r: ev.reset(),
        f: tok('fresh ', 0),
        d: ev.done(),
      });
    });
  });

  it('a step reset drops only that step\'s queued text: earlier steps\' text still goes out, and indexes go back to the step\'s first', () => {
    const scheduler = testScheduler();
    const step = (n: number): TokenEvent => ({ type: 'step-start', step: n, t: 0 });
    const reset: TokenEvent = { type: 'reset', reason: 'retry', step: 1, t: 0 };
    scheduler.run(({ cold, expectObservable }) => {
      const source = cold('pa(bq)r-c-d|', {
        p: step(0),
        a: tok('one two three ', 0),
        b: step(1),
        q: tok('four five ', 3),
        r: reset,
        c: tok('six ', 3),
        d: ev.done(),
      });
      // delayMs 10: "one " at 1; "two " (11) and "three " (21) are step 0's and go out although the
      // reset (frame 6) came first; step 1's "four " and "five " are dropped; the reset follows step
      // 1's start at 21, and "six " gets index 3 again when the pause ends (31), with done after it.
      expectObservable(source.pipe(smooth({ delayMs: 10, scheduler }))).toBe('pa 9ms t 9ms (xbr) 5ms (cd|)', {
        p: step(0),
        a: tok('one ', 0),
        t: tok('two ', 1),
        x: tok('three ', 2),
        b: step(1),
        r: reset,
        c: tok('six ', 3),
        d: ev.done(),
      });
    });
  });

  it('emits what it holds before passing on an error, and stops its pacer when unsubscribed', () => {
    const scheduler = testScheduler();
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const failing = cold('a-#', { a: tok('one two thr', 0) }, new Error('lost'));
      expectObservable(failing.pipe(smooth({ delayMs: 5, scheduler }))).toBe('o-(tx#)', { o: tok('one ', 0), t: tok('two ', 1), x: tok('thr', 2) }, new Error('lost'));
      const endless = cold('a------', { a: tok('one two three ', 0) });
      expectObservable(endless.pipe(smooth({ delayMs: 5, scheduler })), '^--!').toBe('o---', { o: tok('one ', 0) });
      expectSubscriptions(endless.subscriptions).toBe('^--!');
    });
  });

  it('never changes the text, whatever the deltas (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.string({ unit: 'grapheme', maxLength: 12 }), { maxLength: 20 }), fc.constantFrom<'word' | 'line'>('word', 'line'), async (pieces, chunking) => {
        const deltas = pieces.filter((p) => p.length > 0);
        const events: TokenEvent[] = [ev.start(), ...deltas.map((p, i) => tok(p, i)), ev.done()];
        const out = await firstValueFrom(from(events).pipe(smooth({ chunking, delayMs: 0 }), toArray()));
        const tokens = out.filter((e): e is Extract<TokenEvent, { type: 'token' }> => e.type === 'token');
        expect(tokens.map((e) => e.text).join('')).toBe(deltas.join(''));
        expect(tokens.map((e) => e.index)).toEqual(tokens.map((_, i) => i));
        expect(out.at(-1)?.type).toBe('done');
      }),
      { numRuns: 200 },
    );
  });

  it('rejects bad options when created', () => {
    expect(() => smooth({ chunking: 'sentence' as never })).toThrow(InvalidArgumentError);
    expect(() => smooth({ delayMs: -1 })).toThrow(/delayMs/);
    expect(() => smooth({ delay: 5 } as never)).toThrow(/delayMs/);
  });
});
