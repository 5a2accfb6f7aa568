/**
 * The operators over real HTTP: a timeout, and an error thrown downstream, abort the request (seen
 * at the mock server's socket); the retry operators send real second requests.
 */
import { VirtualTimeScheduler, firstValueFrom, map, tap } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { ProviderError, StreamTimeoutError } from '../../src/errors.js';
import { collect } from '../../src/operators/collect.js';
import { firstTokenTimeout } from '../../src/operators/firstTokenTimeout.js';
import { idleTimeout } from '../../src/operators/idleTimeout.js';
import { retryBeforeFirstToken } from '../../src/operators/retryBeforeFirstToken.js';
import { retryMidStream } from '../../src/operators/retryMidStream.js';
import { openai } from '../../src/providers/openai.js';
import { startMockProvider, type MockProvider, type MockProviderOptions } from '../../src/testing/index.js';
import { run } from '../helpers/run.js';

const TEXT = ['Streams ', 'should ', 'stop ', 'when ', 'nobody ', 'listens.'];
const REQUEST = { model: 'gpt-test', messages: [{ role: 'user' as const, content: 'hi' }] };
let mock: MockProvider | undefined;

async function start(options: Omit<MockProviderOptions, 'flavor'>) {
  mock = await startMockProvider({ flavor: 'openai', script: { text: TEXT }, ...options });
  return { mock, llm: openai({ apiKey: 'test-key', baseURL: mock.baseURL, maxRetries: 0 }) };
}

afterEach(async () => {
  await mock?.close();
  mock = undefined;
});

describe('timeouts abort the request', () => {
  it('idleTimeout: a stall mid-answer errors with the partial text and closes the socket', async () => {
    const { mock, llm } = await start({ faults: { stallAfter: 3 } });
    // The clock is virtual and moves only once the third token is in and the server has stalled, so a
    // slow machine can neither fire the timeout early nor make it miss: the idle time is by construction.
    const clock = new VirtualTimeScheduler();
    let tokens = 0;
    const outcome = await run(
      llm.stream(REQUEST).pipe(
        tap((event) => {
          if (event.type === 'token' && ++tokens === 3) setImmediate(() => clock.flush());
        }),
        idleTimeout(300, { scheduler: clock }),
      ),
    );
    expect(StreamTimeoutError.isInstance(outcome.error)).toBe(true);
    const error = outcome.error as StreamTimeoutError;
    expect(error.kind).toBe('idle');
    expect(error.partialText).toBe(TEXT.slice(0, 3).join(''));
    expect(error.provider).toBe('openai');
    const log = await mock.waitForClose(0);
    expect(log.closedByClient).toBe(true);
    expect(log.finished).toBe(false);
  });

  it('firstTokenTimeout: a slow first token errors and closes the socket', async () => {
    const { mock, llm } = await start({ profile: { ttftMs: 10_000, tokensPerSecond: 10 } });
    const outcome = await run(llm.stream(REQUEST).pipe(firstTokenTimeout(200)));
    expect(StreamTimeoutError.isInstance(outcome.error) && (outcome.error as StreamTimeoutError).kind).toBe('first-token');
    const log = await mock.waitForClose(0);
    expect(log.closedByClient).toBe(true);
    expect(log.tokensWritten).toBe(0);
  });

  it('an error thrown downstream (in an operator) closes the socket', async () => {
    const { mock, llm } = await start({ faults: { stallAfter: 4 } });
    const outcome = await run(
      llm.stream(REQUEST).pipe(
        map((event) => {
          if (event.type === 'token' && event.index === 1) throw new Error('render failed');
          return event;
        }),
      ),
    );
    expect((outcome.error as Error).message).toBe('render failed');
    const log = await mock.waitForClose(0);
    expect(log.closedByClient).toBe(true);
  });
});

describe('retries send real second requests', () => {
  it('retryBeforeFirstToken: a 429 with retry-after is retried once, after the delay', async () => {
    const { mock, llm } = await start({
      faults: (request) =>
        request.index === 0
          ? { http: { status: 429, headers: { 'retry-after-ms': '150' }, body: { error: { message: 'slow down', type: 'rate_limit_exceeded' } } } }
          : undefined,
    });
    const answer = await firstValueFrom(
      llm.stream(REQUEST).pipe(retryBeforeFirstToken({ backoff: { initialMs: 1, jitter: false } }), collect()),
    );
    expect(answer.content).toBe(TEXT.join(''));
    expect(mock.requests).toHaveLength(2);
    // Honoured retry-after: the second request cannot arrive before the provider's delay.
    expect(mock.requests[1]!.receivedAt - mock.requests[0]!.receivedAt).toBeGreaterThanOrEqual(150);
    // Time to first token counts from the first attempt.
    expect(answer.metrics.ttftMs).toBeGreaterThanOrEqual(150);
  });

  it('retryBeforeFirstToken: a first-token timeout is retried and the stalled request is closed', async () => {
    const { mock, llm } = await start({ faults: (request) => (request.index === 0 ? { stallAfter: 0 } : undefined) });
    const answer = await firstValueFrom(
      llm.stream(REQUEST).pipe(firstTokenTimeout(200), retryBeforeFirstToken({ backoff: { initialMs: 1, jitter: false } }), collect()),
    );
    expect(answer.content).toBe(TEXT.join(''));
    expect(mock.responses[0]!.closedByClient).toBe(true);
    expect(mock.responses[1]!.finished).toBe(true);
  });

  it('retryBeforeFirstToken: an error after the first token is not retried', async () => {
    const { mock, llm } = await start({ faults: { errorEventAfter: 2 } });
    const outcome = await run(llm.stream(REQUEST).pipe(retryBeforeFirstToken({ backoff: { initialMs: 1, jitter: false } })));
    expect(ProviderError.isInstance(outcome.error)).toBe(true);
    expect((outcome.error as ProviderError).partialText).toBe(TEXT.slice(0, 2).join(''));
    expect(mock.requests).toHaveLength(1);
  });

  it('retryMidStream: a connection reset after tokens emits reset and starts over', async () => {
    const { mock, llm } = await start({ faults: (request) => (request.index === 0 ? { resetAfter: 3 } : undefined) });
    const outcome = await run(llm.stream(REQUEST).pipe(retryMidStream({ backoff: { initialMs: 1, jitter: false } })));
    expect(outcome.error).toBeUndefined();
    const types = outcome.events.map((e) => e.type);
    expect(types.filter((t) => t === 'start')).toHaveLength(1);
    expect(types.filter((t) => t === 'reset')).toHaveLength(1);
    const afterReset = outcome.events.slice(types.indexOf('reset'));
    expect(afterReset.map((e) => (e.type === 'token' ? e.text : '')).join('')).toBe(TEXT.join(''));
    expect(mock.requests).toHaveLength(2);
    const answer = await firstValueFrom(
      llm.stream(REQUEST).pipe(retryMidStream({ backoff: { initialMs: 1, jitter: false } }), collect()),
    );
    expect(answer.content).toBe(TEXT.join(''));
  });
});
