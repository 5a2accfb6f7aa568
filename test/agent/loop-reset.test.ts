/**
 * A `reset` inside one step of a tool loop (that step's request was retried) discards only that
 * step's output: the loop tags it with the step, and every fold of the text (`text()`, `collect()`,
 * errors' `partialText`, the SSE relay and the client) keeps the earlier steps, which ran and will
 * not run again. A reset of the whole loop (a retry around `agent.stream()`) still clears everything.
 */
import { createServer } from 'node:http';
import { concat, from, lastValueFrom, throwError, toArray, type Observable } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Agent } from '../../src/agent/agent.js';
import { tool, ToolExecutionError } from '../../src/agent/tools.js';
import { toAsyncIterable } from '../../src/bridge/toAsyncIterable.js';
import { fromSSE } from '../../src/client/index.js';
import { ProtocolError, QueueOverflowError } from '../../src/errors.js';
import type { ChatRequest, TokenEvent } from '../../src/events.js';
import { collect } from '../../src/operators/collect.js';
import { retryMidStream } from '../../src/operators/retryMidStream.js';
import { text } from '../../src/operators/text.js';
import type { Provider } from '../../src/provider.js';
import { pipeSSE } from '../../src/sse/index.js';
import { startMockProvider, type MockRequest, type MockScript } from '../../src/testing/index.js';
import { listenLocal } from '../helpers/http.js';
import { makeProvider } from '../helpers/mock.js';
import { run } from '../helpers/run.js';
import { beginStream, startSSEServer } from '../helpers/sse-server.js';

const STEP0 = 'Let me check the weather.';
const usage = (t: number): TokenEvent => ({ type: 'usage', usage: { inputTokens: 10, outputTokens: 4, estimated: false }, t });
const start: TokenEvent = { type: 'start', provider: 'scripted', model: 'm', t: 0 };

/**
 * Step 0 says {@link STEP0} and calls `weather`; step 1 is the given events (a spliced retry:
 * its `reset` comes from the provider's own stream, as an adapter sends it).
 */
function scripted(step1: Observable<TokenEvent>): Provider {
  let requests = 0;
  return {
    name: 'scripted',
    stream: (_request: ChatRequest): Observable<TokenEvent> =>
      requests++ === 0
        ? from<TokenEvent[]>([
            start,
            { type: 'token', text: STEP0, index: 0, t: 1 },
            { type: 'tool-call', index: 0, id: 'c1', name: 'weather', argsDelta: '{"city":"Paris"}', t: 2 },
            usage(3),
            { type: 'done', stopReason: 'tool_use', t: 4 },
          ])
        : step1,
    complete: () => Promise.reject(new Error('not used')),
  } as unknown as Provider;
}

/** Step 1: a first attempt says "Rain", a reset, then the answer. */
const retriedStep1 = (): Observable<TokenEvent> =>
  from<TokenEvent[]>([
    start,
    { type: 'token', text: 'Rain', index: 0, t: 1 },
    { type: 'reset', reason: 'the body holds a second attempt', t: 2 },
    { type: 'token', text: 'Sunny', index: 0, t: 3 },
    { type: 'token', text: ' in Paris.', index: 1, t: 4 },
    usage(5),
    { type: 'done', stopReason: 'end', t: 6 },
  ]);

const weather = tool({ inputSchema: z.object({ city: z.string() }), execute: ({ city }) => ({ city, sky: 'sunny' }) });

describe("a reset inside a tool loop's step", () => {
  it('is tagged with its step, and its token indexes start again where the step began', async () => {
    const agent = new Agent({ provider: scripted(retriedStep1()), model: 'm' });
    const { events, error } = await run(agent.stream('Weather?', { tools: { weather } }));
    expect(error).toBeUndefined();
    expect(events.find((e) => e.type === 'reset')).toMatchObject({ type: 'reset', step: 1, reason: 'the body holds a second attempt' });
    expect(events.filter((e) => e.type === 'token').map((e) => [e.text, e.index])).toEqual([
      [STEP0, 0],
      ['Rain', 1],
      ['Sunny', 1],
      [' in Paris.', 2],
    ]);
  });

  it("text() keeps step 0's text through step 1's reset", async () => {
    const agent = new Agent({ provider: scripted(retriedStep1()), model: 'm' });
    const texts = await lastValueFrom(agent.stream('Weather?', { tools: { weather } }).pipe(text(), toArray()));
    expect(texts).toEqual([STEP0, `${STEP0}Rain`, STEP0, `${STEP0}Sunny`, `${STEP0}Sunny in Paris.`]);
  });

  it("collect() drops only step 1's discarded parts: content, steps, messages and metrics", async () => {
    const agent = new Agent({ provider: scripted(retriedStep1()), model: 'm' });
    const answer = await lastValueFrom(agent.stream('Weather?', { tools: { weather } }).pipe(collect()));
    expect(answer.content).toBe('Sunny in Paris.');
    expect(answer.steps?.map((s) => s.content)).toEqual([STEP0, 'Sunny in Paris.']);
    expect(answer.steps?.[0]?.toolCalls).toMatchObject([{ id: 'c1', name: 'weather' }]);
    expect(answer.message).toEqual({ role: 'assistant', content: 'Sunny in Paris.' });
    expect(answer.messages?.[0]).toEqual({ role: 'assistant', content: [{ type: 'text', text: STEP0 }, { type: 'tool-call', id: 'c1', name: 'weather', input: { city: 'Paris' } }] });
    // The step's own figures are its answering attempt's; the loop's count every token it sent.
    expect(answer.steps?.[1]?.metrics.tokens).toBe(2);
    expect(answer.metrics.tokens).toBe(4);
  });

  it("collect() of a loop stream cut after the reset reports step 0's text and the retry's as partialText", async () => {
    const agent = new Agent({ provider: scripted(retriedStep1()), model: 'm' });
    const { events } = await run(agent.stream('Weather?', { tools: { weather } }));
    const cut = events.slice(0, events.findIndex((e) => e.type === 'token' && e.text === 'Sunny') + 1);
    const error = await lastValueFrom(from(cut).pipe(collect())).catch((e: unknown) => e);
    expect(ProtocolError.isInstance(error)).toBe(true);
    expect((error as ProtocolError).partialText).toBe(`${STEP0}Sunny`);
  });

  it("a ToolExecutionError after the reset carries step 0's text and step 1's new text", async () => {
    const boom = tool({
      inputSchema: { type: 'object', properties: {} },
      execute: () => {
        throw new Error('kaput');
      },
    });
    const step1 = from<TokenEvent[]>([
      start,
      { type: 'token', text: 'Rain', index: 0, t: 1 },
      { type: 'reset', reason: 'retried', t: 2 },
      { type: 'token', text: 'Checking again.', index: 0, t: 3 },
      { type: 'tool-call', index: 0, id: 'c2', name: 'boom', argsDelta: '{}', t: 4 },
      usage(5),
      { type: 'done', stopReason: 'tool_use', t: 6 },
    ]);
    const agent = new Agent({ provider: scripted(step1), model: 'm' });
    const { error } = await run(agent.stream('Weather?', { tools: { weather, boom }, onToolError: 'throw' }));
    expect(ToolExecutionError.isInstance(error)).toBe(true);
    expect((error as ToolExecutionError).partialText).toBe(`${STEP0}Checking again.`);
  });

  it("a step's stream error after the reset carries the loop's text without the discarded part", async () => {
    const step1 = concat(
      from<TokenEvent[]>([
        start,
        { type: 'token', text: 'Rain', index: 0, t: 1 },
        { type: 'reset', reason: 'retried', t: 2 },
        { type: 'token', text: 'Sun', index: 0, t: 3 },
      ]),
      throwError(() => new ProtocolError('cut', undefined, { partialText: 'Sun' })),
    );
    const agent = new Agent({ provider: scripted(step1), model: 'm' });
    const { error } = await run(agent.stream('Weather?', { tools: { weather } }));
    expect(ProtocolError.isInstance(error)).toBe(true);
    expect((error as ProtocolError).partialText).toBe(`${STEP0}Sun`);
  });
});

describe('toAsyncIterable()', () => {
  it("an overflow after a step's reset reports the earlier steps' text and the retry's", async () => {
    const events: TokenEvent[] = [
      { type: 'step-start', step: 0, t: 0 },
      { type: 'token', text: 'A', index: 0, t: 1 },
      { type: 'step-start', step: 1, t: 2 },
      { type: 'token', text: 'B', index: 1, t: 3 },
      { type: 'reset', reason: 'retried', step: 1, t: 4 },
      { type: 'token', text: 'C', index: 1, t: 5 },
      { type: 'usage', usage: { inputTokens: 1, outputTokens: 2, estimated: false }, t: 6 },
      { type: 'done', stopReason: 'end', t: 7 },
    ];
    // The body never catches up: the synchronous source overflows a queue of 5 at `usage`.
    let caught: unknown;
    try {
      for await (const _event of toAsyncIterable(from(events), { maxQueue: 5 })) await new Promise((resolve) => setImmediate(resolve));
    } catch (error) {
      caught = error;
    }
    expect(QueueOverflowError.isInstance(caught)).toBe(true);
    expect((caught as QueueOverflowError).partialText).toBe('AC');
  });
});

/** Step 0 calls `weather` after a sentence; step 1 (the request carrying the result) answers. */
const mockScript = (request: MockRequest): MockScript =>
  request.toolResults.length === 0
    ? { text: [STEP0], toolCalls: [{ id: 'call_w1', name: 'weather', arguments: '{"city":"Paris"}' }], usage: { inputTokens: 20, outputTokens: 5 } }
    : { text: ['Sun', 'ny', ' in Paris.'], usage: { inputTokens: 40, outputTokens: 3 } };

/** Retries at once (no wait to time). */
const retryNow = () => retryMidStream({ maxRetries: 1, backoff: () => 0 });

describe('over the mock provider (real SDK, real HTTP)', () => {
  it("a provider retried mid-step: text() and collect() keep step 0's text", async () => {
    // Request 1 is step 1's first attempt: an in-stream error after one token, then a retry.
    const mock = await startMockProvider({ flavor: 'openai', script: mockScript, faults: (r) => (r.index === 1 ? { errorEventAfter: 1 } : undefined) });
    try {
      const llm = makeProvider('openai', mock);
      const retried: Provider = { name: llm.name, stream: (request, options) => llm.stream(request, options).pipe(retryNow()), complete: (request, options) => llm.complete(request, options) };
      const agent = new Agent({ provider: retried, model: 'test-model' });
      const events = await lastValueFrom(agent.stream('Weather?', { tools: { weather } }).pipe(toArray()));
      expect(mock.requests).toHaveLength(3);
      expect(events.find((e) => e.type === 'reset')).toMatchObject({ step: 1 });
      const texts = await lastValueFrom(from(events).pipe(text(), toArray()));
      expect(texts).toEqual([STEP0, `${STEP0}Sun`, STEP0, `${STEP0}Sun`, `${STEP0}Sunny`, `${STEP0}Sunny in Paris.`]);
      const answer = await lastValueFrom(from(events).pipe(collect()));
      expect(answer.content).toBe('Sunny in Paris.');
      expect(answer.steps?.map((s) => s.content)).toEqual([STEP0, 'Sunny in Paris.']);
    } finally {
      await mock.close();
    }
  });

  it('pipeSSE → fromSSE: the client keeps step 0 through the step reset', async () => {
    const mock = await startMockProvider({ flavor: 'openai', script: mockScript, faults: (r) => (r.index === 1 ? { errorEventAfter: 1 } : undefined) });
    const llm = makeProvider('openai', mock);
    const retried: Provider = { name: llm.name, stream: (request, options) => llm.stream(request, options).pipe(retryNow()), complete: (request, options) => llm.complete(request, options) };
    const agent = new Agent({ provider: retried, model: 'test-model' });
    const server = createServer((_req, res) => {
      void pipeSSE(agent.stream('Weather?', { tools: { weather } }), res);
    });
    const local = await listenLocal(server);
    try {
      const received = await lastValueFrom(fromSSE(local.origin, { mode: 'fetch', reconnect: false }).pipe(toArray()));
      expect(received.find((e) => e.type === 'reset')).toMatchObject({ step: 1 });
      const texts = await lastValueFrom(from(received).pipe(text(), toArray()));
      expect(texts.at(-1)).toBe(`${STEP0}Sunny in Paris.`);
      expect(texts).toContain(STEP0);
      expect(texts).not.toContain('');
      const answer = await lastValueFrom(from(received).pipe(collect()));
      expect(answer.steps?.map((s) => s.content)).toEqual([STEP0, 'Sunny in Paris.']);
    } finally {
      await local.close();
      await mock.close();
    }
  });

  it("fromSSE keeps the step reset's text cut in its own partialText, and refuses a step that is not a number", async () => {
    const events: TokenEvent[] = [
      { type: 'step-start', step: 0, t: 0 },
      { type: 'token', text: 'A', index: 0, t: 1 },
      { type: 'step-start', step: 1, t: 2 },
      { type: 'token', text: 'B', index: 1, t: 3 },
      { type: 'reset', reason: 'retried', step: 1, t: 4 },
    ];
    const server = await startSSEServer((request, res) => {
      beginStream(res);
      const body = events.map((e, i) => `id: ${i}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`).join('');
      const bad = request.url.includes('bad');
      // A tokenflow server's error event carries no partial text of its own: the client reports its own.
      const tail = bad
        ? `id: 5\nevent: reset\ndata: ${JSON.stringify({ type: 'reset', reason: 'x', step: '1', t: 5 })}\n\n`
        : `id: 5\nevent: error\ndata: ${JSON.stringify({ type: 'error', name: 'ProviderError', message: 'failed' })}\n\n`;
      res.end(body + tail);
    });
    try {
      const error = await lastValueFrom(fromSSE(server.url(), { mode: 'fetch', reconnect: false }).pipe(toArray())).catch((e: unknown) => e);
      expect(error).toMatchObject({ name: 'RemoteStreamError', partialText: 'A' });
      const bad = await lastValueFrom(fromSSE(server.url('/bad'), { mode: 'fetch', reconnect: false }).pipe(toArray())).catch((e: unknown) => e);
      expect(ProtocolError.isInstance(bad)).toBe(true);
      expect((bad as Error).message).toContain('step is not a number');
    } finally {
      await server.close();
    }
  });

  it('a retryMidStream() around the whole loop still clears everything: the loop restarts at step 0', async () => {
    // Request 1 is step 1 of the first run; the retry runs the loop again: requests 2 (step 0) and 3.
    const mock = await startMockProvider({ flavor: 'openai', script: mockScript, faults: (r) => (r.index === 1 ? { errorEventAfter: 1 } : undefined) });
    try {
      const agent = new Agent({ provider: makeProvider('openai', mock), model: 'test-model' });
      const events = await lastValueFrom(agent.stream('Weather?', { tools: { weather } }).pipe(retryNow(), toArray()));
      expect(mock.requests).toHaveLength(4);
      const reset = events.find((e) => e.type === 'reset');
      expect(reset).toBeDefined();
      expect(reset).not.toHaveProperty('step');
      const texts = await lastValueFrom(from(events).pipe(text(), toArray()));
      expect(texts).toEqual([STEP0, `${STEP0}Sun`, '', STEP0, `${STEP0}Sun`, `${STEP0}Sunny`, `${STEP0}Sunny in Paris.`]);
      const answer = await lastValueFrom(from(events).pipe(collect()));
      expect(answer.content).toBe('Sunny in Paris.');
      // The first run's steps are gone with it: two steps, not the first run's step 0 as well.
      expect(answer.steps?.map((s) => s.content)).toEqual([STEP0, 'Sunny in Paris.']);
      expect(answer.messages).toHaveLength(3);
    } finally {
      await mock.close();
    }
  });
});
