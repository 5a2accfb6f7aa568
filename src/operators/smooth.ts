import { Observable, type MonoTypeOperatorFunction, type SchedulerLike, type Subscription } from 'rxjs';
import { InvalidArgumentError } from '../errors.js';
import type { TokenEvent } from '../events.js';
import { readMs, readOptions, readScheduler } from './internal.js';
import { operate } from './operate.js';

/** Options for {@link smooth}. */
export interface SmoothOptions {
  /**
   * Where to cut: `'word'` (a word with the spaces after it), `'line'` (up to a newline), or an
   * `Intl.Segmenter` for languages written without spaces (Chinese, Japanese, Thai).
   * @defaultValue 'word'
   */
  chunking?: 'word' | 'line' | Intl.Segmenter;
  /** The pause after each chunk, in milliseconds; 0 re-chunks without pacing. @defaultValue 10 */
  delayMs?: number;
  /** The clock, for tests on virtual time. @defaultValue `asyncScheduler` */
  scheduler?: SchedulerLike;
}

type Splitter = (buffer: string) => number;

/**
 * Re-chunks the answer into whole words (or lines, or `Intl.Segmenter` segments) and emits them at a
 * steady pace, so text appears evenly however bursty the provider's deltas are. Other events keep
 * their place in the order; at `done` (or any non-text event) the unfinished rest is flushed. Token
 * `index` is renumbered; `t` stays the time the text arrived. A `reset` drops the text it discards
 * that is still queued: all of it, or for a tool loop's step reset (`step` set), only that step's.
 * Unsubscribing cancels the pace: nothing is scheduled after teardown, even from inside `next`.
 *
 *   source:                --tok("Hel")--tok("lo wor")--tok("ld")--done--|
 *   smooth({delayMs: 5}):  --------------"Hello "---------"world"-done--|
 *
 * @example
 * const segmenter = new Intl.Segmenter('ja', { granularity: 'word' });
 * llm.stream(request).pipe(smooth({ chunking: segmenter, delayMs: 20 }), deltas()).subscribe(append);
 *
 * @param options - `chunking` ('word'), `delayMs` (10), `scheduler`
 * @returns an operator emitting the same answer in even chunks
 */
export function smooth(options?: SmoothOptions): MonoTypeOperatorFunction<TokenEvent> {
  const o = readOptions(options, 'smooth', ['chunking', 'delayMs', 'scheduler']);
  const delayMs = o.delayMs === undefined ? 10 : readMs(o.delayMs, 'smooth.delayMs');
  const scheduler = readScheduler(o.scheduler, 'smooth');
  const split = readChunking(o.chunking);

  return (source) =>
    new Observable<TokenEvent>((subscriber) => {
      let buffer = '';
      let bufferT = 0;
      let index = 0;
      /** The index the first token of each step of a tool loop got (a step's reset numbers from there again). */
      const stepIndex = new Map<number, number>();
      const queue: TokenEvent[] = [];
      let head = 0;
      let timer: Subscription | undefined;
      let completed = false;

      const drain = (): void => {
        while (head < queue.length) {
          const event = queue[head]!;
          // The pause is between text chunks; other events (start, usage, done) never wait for it.
          if (event.type === 'token' && timer) break;
          head++;
          subscriber.next(event);
          // A consumer that let go inside `next` (a `take(1)`) gets nothing more, and no pacer is left
          // scheduled behind it.
          if (subscriber.closed) return;
          if (event.type === 'token' && delayMs > 0) timer = scheduler.schedule(tick, delayMs);
        }
        if (head === queue.length) {
          queue.length = 0;
          head = 0;
          if (completed) subscriber.complete();
        }
      };
      const tick = (): void => {
        timer = undefined;
        // A scheduled action has no operator around it: a throw here (a custom scheduler's) goes to
        // the subscriber, not to the scheduler's timer as an uncaught exception.
        try {
          drain();
        } catch (error) {
          subscriber.error(error);
        }
      };
      const emitText = (text: string): void => {
        queue.push({ type: 'token', text, index: index++, t: bufferT });
      };
      const flush = (): void => {
        if (buffer.length > 0) emitText(buffer);
        buffer = '';
      };

      operate(source, subscriber, {
        next: (event) => {
          if (event.type === 'token') {
            buffer += event.text;
            bufferT = event.t;
            for (let cut = split(buffer); cut > 0; cut = split(buffer)) {
              emitText(buffer.slice(0, cut));
              buffer = buffer.slice(cut);
            }
          } else if (event.type === 'reset') {
            buffer = '';
            // What the reset discards: everything (no `step`), or the output of its step only. Text
            // queued before that step began is earlier steps' answer, which stands: it stays queued.
            let from = head;
            if (event.step !== undefined) {
              for (let i = queue.length - 1; i >= head; i--) {
                const queued = queue[i]!;
                if (queued.type === 'step-start' && queued.step === event.step) {
                  from = i + 1;
                  break;
                }
              }
            }
            index = event.step === undefined ? 0 : (stepIndex.get(event.step) ?? index);
            // Keep queued non-text events (a `start`); drop queued text of the discarded attempt.
            const kept = queue.slice(from).filter((e) => e.type !== 'token');
            queue.length = from;
            queue.push(...kept, event);
          } else {
            if (event.type === 'step-start') stepIndex.set(event.step, index);
            flush();
            queue.push(event);
          }
          drain();
        },
        error: (error: unknown) => {
          // Nothing is held back: what was received goes out before the error.
          timer?.unsubscribe();
          timer = undefined;
          flush();
          while (head < queue.length && !subscriber.closed) subscriber.next(queue[head++]!);
          subscriber.error(error);
        },
        complete: () => {
          flush();
          completed = true;
          drain();
        },
      });
      return () => {
        timer?.unsubscribe();
        timer = undefined;
      };
    });
}

function readChunking(value: unknown): Splitter {
  if (value === undefined || value === 'word') return cutAfter(/\s*\S+\s+/y);
  if (value === 'line') return cutAfter(/[^\n]*\n/y);
  if (typeof Intl !== 'undefined' && value instanceof Intl.Segmenter) {
    const segmenter = value;
    // A segment is complete once two more follow it: with only one after it, the next delta may still
    // join them (ICU reads "東京タ" as 東京 + タ, but "東京タワー" as one word).
    return (buffer) => {
      let count = 0;
      let secondStart = 0;
      for (const { index } of segmenter.segment(buffer)) {
        if (++count === 2) secondStart = index;
        if (count === 3) return secondStart;
      }
      return 0;
    };
  }
  throw new InvalidArgumentError(
    'smooth.chunking',
    `smooth(): chunking must be 'word', 'line' or an Intl.Segmenter, got ${JSON.stringify(value)}.`,
  );
}

/** The length of the first complete chunk at the start of the buffer, or 0 if there is none yet. */
function cutAfter(pattern: RegExp): Splitter {
  return (buffer) => {
    pattern.lastIndex = 0;
    return pattern.test(buffer) ? pattern.lastIndex : 0;
  };
}
