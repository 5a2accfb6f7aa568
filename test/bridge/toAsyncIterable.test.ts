/**
 * toAsyncIterable(): `for await` over a token stream, one request per loop, with `break`, a throw in
 * the loop body and an overflow each cancelling the request at the socket.
 */
import { defer, map, Observable, of, range, tap } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { toAsyncIterable, type AsyncIterableOptions } from '../../src/bridge/toAsyncIterable.js';
import { ProviderError, QueueOverflowError } from '../../src/errors.js';
import type { TokenEvent } from '../../src/events.js';
import { startMockProvider } from '../../src/testing/index.js';
import { makeProvider, withMock, invalidArgument } from '../helpers/mock.js';

const REQUEST = { model: 'test-model', messages: [{ role: 'user' as const, content: 'Say something.' }] };
const TEXT = ['Hello', ', wörld', ' 👋🏽', ' 你好', '!'];
const TOKENS = Array.from({ length: 12 }, (_, i) => ` t${i}`);

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function tokenTexts(events: TokenEvent[]): string[] {
  return events.flatMap((e) => (e.type === 'token' ? [e.text] : []));
}

describe.each(['openai', 'anthropic'] as const)('toAsyncIterable over %s', (flavor) => {
  it('yields every event in order', async () => {
    await withMock({ flavor, script: { text: TEXT, usage: { inputTokens: 4, outputTokens: 5 } } }, async (mock, llm) => {
      const events: TokenEvent[] = [];
      for await (const event of toAsyncIterable(llm.stream(REQUEST))) events.push(event);
      expect(events.map((e) => e.type)).toEqual(['start', 'token', 'token', 'token', 'token', 'token', 'usage', 'done']);
      expect(tokenTexts(events)).toEqual(TEXT);
      expect(events.filter((e) => e.type === 'token').map((e) => (e.type === 'token' ? e.index : -1))).toEqual([0, 1, 2, 3, 4]);
      const usage = events.find((e) => e.type === 'usage');
      expect(usage?.type === 'usage' && usage.usage).toEqual({ inputTokens: 4, outputTokens: 5, estimated: false });
      expect(mock.requests).toHaveLength(1);
    });
  });

  it('break after 2 tokens cancels the request at the socket', async () => {
    await withMock({ flavor, script: { text: TOKENS }, faults: { stallAfter: 5 } }, async (mock, llm) => {
      const tokens: string[] = [];
      for await (const event of toAsyncIterable(llm.stream(REQUEST))) {
        if (event.type === 'token') tokens.push(event.text);
        if (tokens.length === 2) break;
      }
      expect(tokens).toEqual(TOKENS.slice(0, 2));
      const log = await mock.waitForClose(0, 2000);
      expect(log.closedByClient).toBe(true);
      expect(log.finished).toBe(false);
    });
  });

  it('an error thrown in the loop body cancels the request and propagates', async () => {
    await withMock({ flavor, script: { text: TOKENS }, faults: { stallAfter: 5 } }, async (mock, llm) => {
      const boom = new Error('loop body failed');
      const tokens: string[] = [];
      let caught: unknown;
      try {
        for await (const event of toAsyncIterable(llm.stream(REQUEST))) {
          if (event.type === 'token') tokens.push(event.text);
          if (tokens.length === 3) throw boom;
        }
      } catch (error) {
        caught = error;
      }
      expect(caught).toBe(boom);
      expect(tokens).toEqual(TOKENS.slice(0, 3));
      const log = await mock.waitForClose(0, 2000);
      expect(log.closedByClient).toBe(true);
    });
  });

  it('a stream error is thrown by the loop after the events before it', async () => {
    await withMock({ flavor, script: { text: TOKENS }, faults: { errorEventAfter: 3 } }, async (_mock, llm) => {
      const events: TokenEvent[] = [];
      let caught: unknown;
      try {
        for await (const event of toAsyncIterable(llm.stream(REQUEST))) {
          events.push(event);
          // A slow body: the error arrives while earlier events still wait in the queue.
          await sleep(5);
        }
      } catch (error) {
        caught = error;
      }
      expect(ProviderError.isInstance(caught)).toBe(true);
      expect((caught as ProviderError).inStream).toBe(true);
      expect(events.map((e) => e.type)).toEqual(['start', 'token', 'token', 'token']);
      expect(tokenTexts(events)).toEqual(TOKENS.slice(0, 3));
    });
  });

  it('subscribes only when iteration starts, and each loop makes a new request', async () => {
    await withMock({ flavor, script: { text: TEXT } }, async (mock, llm) => {
      let subscriptions = 0;
      const iterable = toAsyncIterable(
        defer(() => {
          subscriptions++;
          return llm.stream(REQUEST);
        }),
      );
      await sleep(50);
      expect(subscriptions).toBe(0);
      expect(mock.requests).toHaveLength(0);

      const first: string[] = [];
      for await (const event of iterable) if (event.type === 'token') first.push(event.text);
      expect(subscriptions).toBe(1);
      expect(mock.requests).toHaveLength(1);

      const second: string[] = [];
      for await (const event of iterable) if (event.type === 'token') second.push(event.text);
      expect(subscriptions).toBe(2);
      expect(mock.requests).toHaveLength(2);
      expect(first).toEqual(TEXT);
      expect(second).toEqual(TEXT);
    });
  });

  it('a loop falling maxQueue events behind gets the queued events, then QueueOverflowError; the socket is closed', async () => {
    await withMock({ flavor, script: { text: TOKENS }, faults: { stallAfter: 10 } }, async (mock, llm) => {
      const events: TokenEvent[] = [];
      let caught: unknown;
      try {
        for await (const event of toAsyncIterable(llm.stream(REQUEST), { maxQueue: 2 })) {
          events.push(event);
          if (events.length === 1) {
            // A slow step: stay here until the overflow has cancelled the request.
            const log = await mock.waitForClose(0, 2000);
            expect(log.closedByClient).toBe(true);
          }
        }
      } catch (error) {
        caught = error;
      }
      expect(QueueOverflowError.isInstance(caught)).toBe(true);
      expect((caught as QueueOverflowError).limit).toBe(2);
      // The event the loop was on, then the two that fitted in the queue.
      expect(events.map((e) => e.type)).toEqual(['start', 'token', 'token']);
      expect(tokenTexts(events)).toEqual(TOKENS.slice(0, 2));
      expect(mock.responses[0]?.closedByClient).toBe(true);
    });
  });
});

describe('toAsyncIterable bad input', () => {
  it('throws InvalidArgumentError before anything is sent', async () => {
    const mock = await startMockProvider({ flavor: 'openai', script: { text: TEXT } });
    try {
      const llm = makeProvider('openai', mock);
      invalidArgument(() => toAsyncIterable(undefined as unknown as Observable<TokenEvent>));
      invalidArgument(() => toAsyncIterable([1, 2, 3] as unknown as Observable<TokenEvent>));
      invalidArgument(() => toAsyncIterable(llm.stream(REQUEST), { maxQueue: 0 }));
      invalidArgument(() => toAsyncIterable(llm.stream(REQUEST), { maxQueue: -1 }));
      invalidArgument(() => toAsyncIterable(llm.stream(REQUEST), 5 as unknown as AsyncIterableOptions));
      const unknownKey = invalidArgument(() => toAsyncIterable(llm.stream(REQUEST), { maxQeue: 2 } as unknown as AsyncIterableOptions));
      expect(unknownKey.message).toContain('maxQueue');
      await sleep(50);
      expect(mock.requests).toHaveLength(0);
    } finally {
      await mock.close();
    }
  });
});

describe('toAsyncIterable() protocol details', () => {
  it('answers several pending next() calls in order', async () => {
    const { Subject } = await import('rxjs');
    const subject = new Subject<number>();
    const iterator = toAsyncIterable(subject)[Symbol.asyncIterator]();
    const pending = [iterator.next(), iterator.next(), iterator.next()];
    subject.next(1);
    subject.next(2);
    subject.complete();
    expect(await Promise.all(pending)).toEqual([
      { value: 1, done: false },
      { value: 2, done: false },
      { value: undefined, done: true },
    ]);
  });
});

describe('toAsyncIterable(): nothing escapes, nothing hangs', () => {
  it('yields null and other non-object values instead of throwing on them', async () => {
    const seen: unknown[] = [];
    for await (const value of toAsyncIterable(of<unknown[]>(null, 1, undefined, 'x'))) seen.push(value);
    expect(seen).toEqual([null, 1, undefined, 'x']);
  });

  it('an overflow while a synchronous source is still emitting stops it at once', async () => {
    let pulled = 0;
    // 1e3, not 1e5: a source that is not stopped makes every later value rebuild the overflow's text.
    const source = range(0, 1e3).pipe(
      tap(() => pulled++),
      map((i): TokenEvent => ({ type: 'token', text: `t${i}`, index: i, t: i })),
    );
    const iterator = toAsyncIterable(source, { maxQueue: 10 })[Symbol.asyncIterator]();
    const first = await iterator.next();
    expect(first.value).toMatchObject({ text: 't0' });
    expect(pulled).toBe(11);
  });

  it('a value that throws when read ends the loop with that error and lets go of the source', async () => {
    const boom = new Error('unreadable event');
    let torndown = false;
    const source = new Observable<TokenEvent>((subscriber) => {
      subscriber.next({
        get type(): string {
          throw boom;
        },
      } as unknown as TokenEvent);
      return () => (torndown = true);
    });
    const iterator = toAsyncIterable(source)[Symbol.asyncIterator]();
    await expect(iterator.next()).rejects.toBe(boom);
    expect(torndown).toBe(true);
  });
});

describe('toAsyncIterable(): reset', () => {
  it("an overflow's partialText holds only the text after the last reset (a retry discarded the rest)", async () => {
    const events: TokenEvent[] = [
      { type: 'start', provider: 'p', model: 'm', t: 0 },
      { type: 'token', text: 'old answer', index: 0, t: 1 },
      { type: 'reset', reason: 'retry', t: 2 },
      { type: 'token', text: 'new', index: 0, t: 3 },
      { type: 'token', text: ' one', index: 1, t: 4 },
    ];
    // Nobody reads until the fifth event: with maxQueue 4 it overflows.
    const iterator = toAsyncIterable(of(...events), { maxQueue: 4 })[Symbol.asyncIterator]();
    const seen: TokenEvent[] = [];
    let caught: unknown;
    try {
      // The first next() subscribes; the synchronous source overflows before it returns.
      for (let result = await iterator.next(); !result.done; result = await iterator.next()) seen.push(result.value);
    } catch (error) {
      caught = error;
    }
    expect(seen).toEqual(events.slice(0, 4));
    expect(QueueOverflowError.isInstance(caught)).toBe(true);
    expect((caught as QueueOverflowError).partialText).toBe('new one');
  });
});
