/**
 * streamWithCallbacks(): handlers in order and never overlapping, the HTTP stream read meanwhile,
 * and every failure (handler throw, abort, overflow, stream error, bad input) cancelling the request
 * at the socket, proven against the mock provider.
 */
import { defer, firstValueFrom, map, Observable, range, tap } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { streamWithCallbacks, type StreamCallbacks } from '../../src/bridge/streamWithCallbacks.js';
import { CallbackError, ProviderError, QueueOverflowError, StreamAbortedError } from '../../src/errors.js';
import type { TokenEvent } from '../../src/events.js';
import { collect } from '../../src/operators/collect.js';
import { startMockProvider } from '../../src/testing/index.js';
import { makeProvider, withMock, rejectionOf, rejectedArgument } from '../helpers/mock.js';
import { createRandom } from '../../src/testing/random.js';

const REQUEST = { model: 'test-model', messages: [{ role: 'user' as const, content: 'Say something.' }] };
const TEXT = ['Hello', ', wörld', ' 👋🏽', ' 你好', ' again', ' and', ' again', '!'];
const TOKENS20 = Array.from({ length: 20 }, (_, i) => ` t${i}`);

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A promise with its resolver, for a handler held until the test releases it. */
function gate(): { promise: Promise<void>; release: () => void } {
  let release!: () => void;
  const promise = new Promise<void>((resolve) => {
    release = resolve;
  });
  return { promise, release };
}

describe.each(['openai', 'anthropic'] as const)('streamWithCallbacks over %s', (flavor) => {
  it('sync handlers: every token in order, every event with start first and done last, onEvent before onToken', async () => {
    await withMock({ flavor, script: { text: TEXT, usage: { inputTokens: 9, outputTokens: 8 } } }, async (mock, llm) => {
      const calls: string[] = [];
      const tokens: string[] = [];
      const events: TokenEvent[] = [];
      const answer = await streamWithCallbacks(llm.stream(REQUEST), {
        onToken: (text, event) => {
          calls.push(`token:${event.type === 'token' ? event.index : '?'}`);
          expect(event.type).toBe('token');
          expect(event.type === 'token' && event.text).toBe(text);
          tokens.push(text);
        },
        onEvent: (event) => {
          calls.push(`event:${event.type}${event.type === 'token' ? `:${event.index}` : ''}`);
          events.push(event);
        },
      });

      expect(tokens).toEqual(TEXT);
      expect(events[0]?.type).toBe('start');
      expect(events.at(-1)?.type).toBe('done');
      expect(events.map((e) => e.type)).toEqual(['start', ...TEXT.map(() => 'token'), 'usage', 'done']);
      // For each token, onEvent saw it immediately before onToken did.
      for (let i = 0; i < TEXT.length; i++) {
        const at = calls.indexOf(`event:token:${i}`);
        expect(at).toBeGreaterThanOrEqual(0);
        expect(calls[at + 1]).toBe(`token:${i}`);
      }
      expect(answer.content).toBe(tokens.join(''));
      expect(answer.content).toBe(TEXT.join(''));
      expect(answer.usage).toEqual({ inputTokens: 9, outputTokens: 8, estimated: false });
      expect(answer.stopReason).toBe('end');

      // collect() on the same script builds the same answer.
      const collected = await firstValueFrom(llm.stream(REQUEST).pipe(collect()));
      expect(answer.content).toBe(collected.content);
      expect(answer.usage).toEqual(collected.usage);
      expect(answer.stopReason).toBe(collected.stopReason);
      expect(answer.provider).toBe(collected.provider);
      expect(answer.model).toBe(collected.model);
      expect(answer.metrics.tokens).toBe(collected.metrics.tokens);
      expect(mock.requests).toHaveLength(2);
    });
  });

  it('async onToken with random delays: calls never overlap and keep their order', async () => {
    const random = createRandom(42);
    await withMock({ flavor, script: { text: TOKENS20 } }, async (_mock, llm) => {
      let inFlight = 0;
      let maxInFlight = 0;
      const seen: string[] = [];
      const eventOrder: string[] = [];
      const answer = await streamWithCallbacks(llm.stream(REQUEST), {
        onEvent: async (event) => {
          inFlight++;
          maxInFlight = Math.max(maxInFlight, inFlight);
          eventOrder.push(event.type);
          await sleep(Math.floor(random() * 4));
          inFlight--;
        },
        onToken: async (text) => {
          inFlight++;
          maxInFlight = Math.max(maxInFlight, inFlight);
          await sleep(Math.floor(random() * 6));
          seen.push(text);
          inFlight--;
        },
      });
      expect(maxInFlight).toBe(1);
      expect(inFlight).toBe(0);
      expect(seen).toEqual(TOKENS20);
      expect(eventOrder[0]).toBe('start');
      expect(eventOrder.at(-1)).toBe('done');
      expect(answer.content).toBe(TOKENS20.join(''));
    });
  });

  it('a slow handler does not stall the HTTP stream: the server finished before the last token was handled', async () => {
    await withMock({ flavor, script: { text: TOKENS20 }, profile: 'instant' }, async (mock, llm) => {
      let finishedAtLastToken: boolean | undefined;
      let handled = 0;
      const answer = await streamWithCallbacks(llm.stream(REQUEST), {
        onToken: async () => {
          handled++;
          if (handled === TOKENS20.length) finishedAtLastToken = mock.responses[0]?.finished;
          await sleep(30);
        },
      });
      expect(handled).toBe(20);
      expect(finishedAtLastToken).toBe(true);
      expect(answer.content).toBe(TOKENS20.join(''));
    });
  });

  it.each([
    ['a throwing sync handler', 'sync'],
    ['a rejecting async handler', 'async'],
  ] as const)('%s rejects with CallbackError and cancels the request at the socket', async (_label, kind) => {
    await withMock({ flavor, script: { text: TOKENS20 }, faults: { stallAfter: 5 } }, async (mock, llm) => {
      const boom = new Error('handler exploded');
      let calls = 0;
      const onToken: StreamCallbacks['onToken'] =
        kind === 'sync'
          ? () => {
              if (++calls === 3) throw boom;
            }
          : async () => {
              if (++calls === 3) throw boom;
            };
      const error = await rejectionOf(streamWithCallbacks(llm.stream(REQUEST), { onToken }));
      expect(CallbackError.isInstance(error)).toBe(true);
      const callbackError = error as CallbackError;
      expect(callbackError.cause).toBe(boom);
      expect(callbackError.message).toContain('handler exploded');
      expect(calls).toBe(3);
      const first3 = TOKENS20.slice(0, 3).join('');
      const first5 = TOKENS20.slice(0, 5).join('');
      if (kind === 'sync') {
        expect(callbackError.partialText).toBe(first3);
      } else {
        // Tokens 4 and 5 may already have been read into the queue when the handler rejected.
        expect(callbackError.partialText?.startsWith(first3)).toBe(true);
        expect(first5.startsWith(callbackError.partialText ?? '#')).toBe(true);
      }
      const log = await mock.waitForClose(0, 2000);
      expect(log.closedByClient).toBe(true);
      expect(log.finished).toBe(false);
      expect(mock.responses[0]?.closedByClient).toBe(true);
    });
  });

  it('an AbortSignal aborted mid-stream rejects with StreamAbortedError carrying the partial text, and closes the socket', async () => {
    await withMock({ flavor, script: { text: TOKENS20 }, faults: { stallAfter: 4 } }, async (mock, llm) => {
      const controller = new AbortController();
      const seen: string[] = [];
      const reason = new Error('user pressed stop');
      const promise = streamWithCallbacks(llm.stream(REQUEST), {
        signal: controller.signal,
        onToken: (text) => {
          seen.push(text);
          // All four tokens the server sends before stalling are in: abort from outside the handler.
          if (seen.length === 4) setTimeout(() => controller.abort(reason), 10);
        },
      });
      const error = await rejectionOf(promise);
      expect(StreamAbortedError.isInstance(error)).toBe(true);
      expect((error as StreamAbortedError).partialText).toBe(TOKENS20.slice(0, 4).join(''));
      expect((error as StreamAbortedError).cause).toBe(reason);
      expect(seen).toEqual(TOKENS20.slice(0, 4));
      const log = await mock.waitForClose(0, 2000);
      expect(log.closedByClient).toBe(true);
    });
  });

  it('a signal aborted before the call sends nothing', async () => {
    await withMock({ flavor, script: { text: TEXT } }, async (mock, llm) => {
      let subscriptions = 0;
      const stream$ = defer(() => {
        subscriptions++;
        return llm.stream(REQUEST);
      });
      const tokens: string[] = [];
      const error = await rejectionOf(
        streamWithCallbacks(stream$, { signal: AbortSignal.abort(), onToken: (text) => void tokens.push(text) }),
      );
      expect(StreamAbortedError.isInstance(error)).toBe(true);
      expect((error as StreamAbortedError).partialText).toBe('');
      expect(subscriptions).toBe(0);
      expect(tokens).toEqual([]);
      // Give a request that was wrongly started the chance to arrive.
      await sleep(50);
      expect(mock.requests.length).toBe(0);
    });
  });

  it('a handler falling maxQueue events behind rejects with QueueOverflowError and closes the socket', async () => {
    await withMock({ flavor, script: { text: TOKENS20 }, faults: { stallAfter: 10 } }, async (mock, llm) => {
      const held = gate();
      let calls = 0;
      const promise = streamWithCallbacks(llm.stream(REQUEST), {
        maxQueue: 3,
        onToken: async () => {
          calls++;
          await held.promise;
        },
      });
      try {
        const error = await rejectionOf(promise);
        expect(QueueOverflowError.isInstance(error)).toBe(true);
        expect((error as QueueOverflowError).limit).toBe(3);
        // The first token is in the handler, three wait in the queue: the next one overflows.
        expect(calls).toBe(1);
        const partial = (error as QueueOverflowError).partialText ?? '';
        expect(partial.startsWith(TOKENS20.slice(0, 4).join(''))).toBe(true);
        expect(TOKENS20.slice(0, 10).join('').startsWith(partial)).toBe(true);
        const log = await mock.waitForClose(0, 2000);
        expect(log.closedByClient).toBe(true);
      } finally {
        held.release();
      }
      // Releasing the handler afterwards delivers nothing more.
      await sleep(10);
      expect(calls).toBe(1);
    });
  });

  it('a stream error rejects with the typed error after the tokens before it were handled', async () => {
    await withMock({ flavor, script: { text: TOKENS20 }, faults: { errorEventAfter: 3 } }, async (mock, llm) => {
      const seen: string[] = [];
      const error = await rejectionOf(
        streamWithCallbacks(llm.stream(REQUEST), {
          onToken: async (text) => {
            await sleep(5);
            seen.push(text);
          },
        }),
      );
      expect(ProviderError.isInstance(error)).toBe(true);
      expect((error as ProviderError).inStream).toBe(true);
      expect(seen).toEqual(TOKENS20.slice(0, 3));
      expect((error as ProviderError).partialText).toBe(TOKENS20.slice(0, 3).join(''));
      expect(mock.requests).toHaveLength(1);
    });
  });
});

describe('streamWithCallbacks bad input', () => {
  it('rejects with InvalidArgumentError (never throws) and sends nothing', async () => {
    const mock = await startMockProvider({ flavor: 'openai', script: { text: TEXT } });
    try {
      const llm = makeProvider('openai', mock);
      const stream$ = () => llm.stream(REQUEST);

      const notObservable = await rejectedArgument(() => streamWithCallbacks({ not: 'a stream' } as unknown as Observable<TokenEvent>, {}));
      expect(notObservable.message).toContain('Observable');
      await rejectedArgument(() => streamWithCallbacks(null as unknown as Observable<TokenEvent>));
      await rejectedArgument(() => streamWithCallbacks('tokens' as unknown as Observable<TokenEvent>));

      const unknownKey = await rejectedArgument(() => streamWithCallbacks(stream$(), { onTokens: () => {} } as unknown as StreamCallbacks));
      expect(unknownKey.message).toContain('onTokens');
      expect(unknownKey.message).toMatch(/did you mean [\w.]*onToken\?/);

      const notFunction = await rejectedArgument(() => streamWithCallbacks(stream$(), { onToken: 'print' } as unknown as StreamCallbacks));
      expect(notFunction.field).toBe('callbacks.onToken');
      await rejectedArgument(() => streamWithCallbacks(stream$(), { onEvent: 42 } as unknown as StreamCallbacks));

      const badSignal = await rejectedArgument(() =>
        streamWithCallbacks(stream$(), { signal: new AbortController() } as unknown as StreamCallbacks),
      );
      expect(badSignal.message).toContain('AbortSignal');

      const zeroQueue = await rejectedArgument(() => streamWithCallbacks(stream$(), { maxQueue: 0 }));
      expect(zeroQueue.message).toContain('maxQueue');
      await rejectedArgument(() => streamWithCallbacks(stream$(), { maxQueue: 1.5 }));
      await rejectedArgument(() => streamWithCallbacks(stream$(), 'callbacks' as unknown as StreamCallbacks));

      await sleep(50);
      expect(mock.requests).toHaveLength(0);
    } finally {
      await mock.close();
    }
  });
});

describe('streamWithCallbacks: nothing escapes, nothing hangs', () => {
  const toEvent = (i: number): TokenEvent => ({ type: 'token', text: `t${i}`, index: i, t: i });

  it('a handler that throws on the first token of a synchronous source stops it at once', async () => {
    let pulled = 0;
    const boom = new Error('handler broke');
    const source = range(0, 1e5).pipe(
      tap(() => pulled++),
      map(toEvent),
    );
    const error = await rejectionOf(
      streamWithCallbacks(source, {
        onToken: () => {
          throw boom;
        },
      }),
    );
    expect(CallbackError.isInstance(error)).toBe(true);
    expect((error as CallbackError).cause).toBe(boom);
    expect((error as CallbackError).partialText).toBe('t0');
    expect(pulled).toBe(1);
  });

  it('a handler returning a thenable whose then() throws rejects with CallbackError instead of hanging', async () => {
    const boom = new Error('then broke');
    let torndown = false;
    const source = new Observable<TokenEvent>((subscriber) => {
      subscriber.next({ type: 'start', provider: 'test', model: 'm', t: 0 });
      subscriber.next(toEvent(0));
      return () => (torndown = true);
    });
    const badThenable = {
      then(): never {
        throw boom;
      },
    };
    const error = await rejectionOf(streamWithCallbacks(source, { onToken: () => badThenable }));
    expect(CallbackError.isInstance(error)).toBe(true);
    expect((error as CallbackError).cause).toBe(boom);
    expect(torndown).toBe(true);
  });

  it('an event the run cannot read rejects the promise and lets go of the source', async () => {
    const boom = new Error('unreadable event');
    let torndown = false;
    const unreadable = {
      type: 'token',
      index: 0,
      get t(): number {
        throw boom;
      },
    } as unknown as TokenEvent;
    const source = new Observable<TokenEvent>((subscriber) => {
      subscriber.next({ type: 'start', provider: 'test', model: 'm', t: 0 });
      subscriber.next(unreadable);
      return () => (torndown = true);
    });
    const seen: string[] = [];
    const error = await rejectionOf(streamWithCallbacks(source, { onEvent: (e) => void seen.push(e.type) }));
    expect(error).toBe(boom);
    expect(seen).toEqual(['start']);
    expect(torndown).toBe(true);
  });

  it('a source whose subscribe throws rejects the promise and leaves no abort listener behind', async () => {
    const boom = new Error('cannot subscribe');
    const controller = new AbortController();
    let listeners = 0;
    const signal = controller.signal;
    const add = signal.addEventListener.bind(signal);
    const remove = signal.removeEventListener.bind(signal);
    signal.addEventListener = ((...args: Parameters<typeof add>) => (listeners++, add(...args))) as typeof add;
    signal.removeEventListener = ((...args: Parameters<typeof remove>) => (listeners--, remove(...args))) as typeof remove;
    // Not an RxJS Observable: anything with subscribe() is accepted, and this one throws in it.
    const foreign = {
      subscribe(): never {
        throw boom;
      },
    } as unknown as Observable<TokenEvent>;
    expect(await rejectionOf(streamWithCallbacks(foreign, { signal }))).toBe(boom);
    expect(listeners).toBe(0);
  });
});

describe('streamWithCallbacks: onToolCall and onToolResult', () => {
  const usage = { inputTokens: 1, outputTokens: 1, estimated: false };
  /** A tool loop's stream: step 0 calls two tools (fragments interleaved), step 1 answers. */
  const loop: TokenEvent[] = [
    { type: 'step-start', step: 0, t: 0 },
    { type: 'start', provider: 'mock', model: 'm', t: 1 },
    { type: 'tool-call', index: 0, id: 'call_a', name: 'weather', argsDelta: '{"city":', t: 2 },
    { type: 'tool-call', index: 1, id: 'call_b', name: 'time', argsDelta: '{}', t: 3 },
    { type: 'tool-call', index: 0, argsDelta: '"Oslo"}', t: 4 },
    { type: 'usage', usage, t: 5 },
    { type: 'step-finish', step: 0, usage, stopReason: 'tool_use', t: 6 },
    { type: 'tool-result', step: 0, id: 'call_b', name: 'time', output: '12:00', isError: false, durationMs: 1, t: 7 },
    { type: 'tool-result', step: 0, id: 'call_a', name: 'weather', output: { c: 21 }, isError: false, durationMs: 2, t: 8 },
    { type: 'step-start', step: 1, t: 9 },
    { type: 'start', provider: 'mock', model: 'm', t: 10 },
    { type: 'token', text: 'Sunny.', index: 0, t: 11 },
    { type: 'usage', usage, t: 12 },
    { type: 'step-finish', step: 1, usage, stopReason: 'end', t: 13 },
    { type: 'usage', usage: { inputTokens: 2, outputTokens: 2, estimated: false }, t: 14 },
    { type: 'done', stopReason: 'end', t: 15 },
  ];

  it('complete calls at their step\'s end (before step-finish), results after their event, all in order with async handlers', async () => {
    const log: string[] = [];
    const slow = (entry: string) => {
      log.push(entry);
      return sleep(0);
    };
    const answer = await streamWithCallbacks(new Observable<TokenEvent>((s) => { loop.forEach((e) => s.next(e)); s.complete(); }), {
      onEvent: (event) => slow(`event:${event.type}`),
      onToken: (text) => slow(`token:${text}`),
      onToolCall: (call, step) => slow(`call:${step}:${call.id}:${call.name}:${call.arguments}`),
      onToolResult: (result) => slow(`result:${result.id}:${JSON.stringify(result.output)}`),
    });
    expect(log.filter((entry) => !entry.startsWith('event:') || /step|done|tool-result/.test(entry))).toEqual([
      'event:step-start',
      'call:0:call_a:weather:{"city":"Oslo"}',
      'call:0:call_b:time:{}',
      'event:step-finish',
      'event:tool-result',
      'result:call_b:"12:00"',
      'event:tool-result',
      'result:call_a:{"c":21}',
      'event:step-start',
      'token:Sunny.',
      'event:step-finish',
      'event:done',
    ]);
    expect(answer.content).toBe('Sunny.');
    expect(answer.steps).toHaveLength(2);
  });

  it('a single answer\'s calls arrive before done', async () => {
    await withMock(
      { flavor: 'openai', script: { toolCalls: [{ id: 'call_1', name: 'lookup', arguments: ['{"q":', '"x"}'] }] } },
      async (_mock, provider) => {
        const log: string[] = [];
        await streamWithCallbacks(provider.stream(REQUEST), {
          onEvent: (event) => void (event.type === 'done' && log.push('done')),
          onToolCall: (call, step) => void log.push(`call:${step}:${call.id}:${call.arguments}`),
        });
        expect(log).toEqual(['call:0:call_1:{"q":"x"}', 'done']);
      },
    );
  });

  it('a throwing onToolCall rejects with CallbackError naming it', async () => {
    const error = await rejectionOf(
      streamWithCallbacks(new Observable<TokenEvent>((s) => { loop.forEach((e) => s.next(e)); s.complete(); }), {
        onToolCall: () => {
          throw new Error('no');
        },
      }),
    );
    expect(CallbackError.isInstance(error)).toBe(true);
    expect((error as Error).message).toContain('onToolCall threw: no');
  });

  it('rejects a non-function onToolResult', async () => {
    const error = await rejectedArgument(() => streamWithCallbacks(new Observable<TokenEvent>(), { onToolResult: 'x' } as never));
    expect(error.field).toBe('callbacks.onToolResult');
  });
});
