/**
 * `pipeSSE`, `toSSE` and `sseResponse` end to end: the mock provider over real HTTP behind the
 * OpenAI adapter, our server on 127.0.0.1, and a `fetch` client parsing with eventsource-parser.
 * Cancellation is proven where it matters: the mock provider sees its socket closed by the client.
 */
import { createServer, IncomingMessage, ServerResponse, type Server } from 'node:http';
import { Socket } from 'node:net';
import { Observable } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import type { ChatRequest, TokenEvent } from '../../src/events.js';
import type { Provider } from '../../src/provider.js';
import { openai } from '../../src/providers/openai.js';
import { pipeSSE, sseResponse, toSSE, type SSEStreamOptions } from '../../src/sse/stream.js';
import { startMockProvider, type MockProvider, type MockProviderOptions } from '../../src/testing/index.js';
import { budget } from '../helpers/budget.js';
import { invalidArgument, rejectedArgument } from '../helpers/mock.js';
import { openSSE, parseSSE, tokenText, type ParsedMessage } from '../helpers/sse-reader.js';
import { listenLocal } from '../helpers/http.js';

const REQUEST: ChatRequest = { model: 'gpt-test', messages: [{ role: 'user', content: 'hi' }] };
const ANSWER = ['The', ' quick', ' brown', ' fox', ' jumps', ' over', ' the', ' lazy', ' dog.'];
/** Long and slow enough that no test can see it finish before it cancels. */
const SLOW_WORDS = Array.from({ length: 60 }, (_, i) => ` w${i}`);
const SLOW = { ttftMs: 0, tokensPerSecond: 25 } as const;

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function mockWith(options: Omit<MockProviderOptions, 'flavor'>): Promise<{ mock: MockProvider; llm: Provider }> {
  const mock = await startMockProvider({ flavor: 'openai', ...options });
  cleanups.push(() => mock.close());
  return { mock, llm: openai({ apiKey: 'test', baseURL: mock.baseURL, maxRetries: 0 }) };
}

/** Our server under test on 127.0.0.1; `piped` holds each pipeSSE promise. */
async function serve(handler: (req: IncomingMessage, res: ServerResponse) => Promise<void> | void): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    void Promise.resolve(handler(req, res)).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500).end(String(error));
      else res.destroy();
    });
  });
  const local = await listenLocal(server);
  cleanups.push(local.close);
  return { url: `${local.origin}/answer`, server };
}

/** Serves `pipeSSE(llm.stream(REQUEST), res, options)` and records each pipeSSE promise. */
async function servePipe(llm: Provider, options: SSEStreamOptions = {}): Promise<{ url: string; piped: Array<Promise<void>> }> {
  const piped: Array<Promise<void>> = [];
  const { url } = await serve((_req, res) => {
    const p = pipeSSE(llm.stream(REQUEST), res, options);
    piped.push(p);
    return p;
  });
  return { url, piped };
}

function dataOf(message: ParsedMessage): any {
  return JSON.parse(message.data);
}

/**
 * The checks every complete stream passes: no ids (a plain response cannot resume, and a reconnect
 * gets a new answer that must not look like a replay), event name = data type.
 */
function expectWellFormed(messages: readonly ParsedMessage[]): void {
  expect(messages.length).toBeGreaterThan(0);
  for (const m of messages) {
    expect(m.id).toBeUndefined();
    expect(dataOf(m).type).toBe(m.event);
  }
}

function tokensIn(messages: readonly ParsedMessage[]): number {
  return messages.filter((m) => m.event === 'token').length;
}

describe('pipeSSE over real HTTP', () => {
  it('sends the SSE headers, no ids, typed data, the whole answer, and ends after done', async () => {
    const { mock, llm } = await mockWith({ script: { text: ANSWER } });
    const { url, piped } = await servePipe(llm);
    const conn = await openSSE(url);
    expect(conn.status).toBe(200);
    expect(conn.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(conn.headers.get('cache-control')).toBe('no-cache, no-transform');
    expect(conn.headers.get('x-accel-buffering')).toBe('no');
    expect(await conn.ended).toBe('end');
    await piped[0];

    const { messages } = conn;
    expectWellFormed(messages);
    expect(messages[0]!.event).toBe('start');
    expect(messages[messages.length - 1]!.event).toBe('done');
    expect(messages.filter((m) => m.event === 'done')).toHaveLength(1);
    expect(tokensIn(messages)).toBe(ANSWER.length);
    expect(tokenText(messages)).toBe(ANSWER.join(''));
    // A token's own index is inside the JSON and counts tokens only.
    expect(messages.filter((m) => m.event === 'token').map((m) => dataOf(m).index)).toEqual(ANSWER.map((_, i) => i));
    expect(mock.requests).toHaveLength(1);
    expect((await mock.waitForClose(0, budget(10_000))).closedByClient).toBe(false);
  });

  it('a client that goes away mid-answer closes the provider socket (closedByClient)', async () => {
    const { mock, llm } = await mockWith({ script: { text: SLOW_WORDS }, profile: SLOW });
    const { url, piped } = await servePipe(llm, { heartbeatMs: 0 });
    const conn = await openSSE(url);
    await conn.waitFor((messages) => tokensIn(messages) >= 3);
    await conn.close();
    expect(await conn.ended).toBe('aborted');

    const log = await mock.waitForClose(0, budget(10_000));
    expect(log.closedByClient).toBe(true);
    expect(log.finished).toBe(false);
    expect(log.tokensWritten).toBeLessThan(SLOW_WORDS.length);
    // pipeSSE resolves once the response closed.
    await expect(piped[0]).resolves.toBeUndefined();
    expect(mock.requests).toHaveLength(1);
  });

  it('a provider error mid-stream ends with an error message carrying the partial text', async () => {
    const { mock, llm } = await mockWith({ script: { text: ANSWER }, faults: { errorEventAfter: 3 } });
    const { url } = await servePipe(llm);
    const conn = await openSSE(url);
    expect(await conn.ended).toBe('end');

    const { messages } = conn;
    expectWellFormed(messages);
    const last = messages[messages.length - 1]!;
    expect(last.event).toBe('error');
    const error = dataOf(last);
    expect(error.type).toBe('error');
    expect(error.name).toBe('ProviderError');
    // The mock's in-stream `server_error`: a fixed message and the known type, never the provider's words.
    expect(error.message).toBe('The provider failed or is overloaded.');
    expect(error.errorType).toBe('server_error');
    expect(error.retryable).toBe(true);
    expect(error.partialText).toBe(ANSWER.slice(0, 3).join(''));
    expect(tokenText(messages)).toBe(ANSWER.slice(0, 3).join(''));
    expect(messages.filter((m) => m.event === 'error')).toHaveLength(1);
    expect(messages.some((m) => m.event === 'done')).toBe(false);
    expect(mock.requests).toHaveLength(1);
  });

  it('sends heartbeat comments while the stream is quiet, and none after it ended', async () => {
    const { llm } = await mockWith({ script: { text: ANSWER }, profile: { ttftMs: 600, tokensPerSecond: Number.POSITIVE_INFINITY } });
    const { url } = await servePipe(llm, { heartbeatMs: 40 });
    const conn = await openSSE(url);
    expect(await conn.ended).toBe('end');

    const firstToken = conn.items.findIndex((item) => item.kind === 'message' && item.message.event === 'token');
    const lastItem = conn.items[conn.items.length - 1]!;
    expect(firstToken).toBeGreaterThan(0);
    const commentsBefore = conn.items.slice(0, firstToken).filter((item) => item.kind === 'comment');
    expect(commentsBefore.length).toBeGreaterThanOrEqual(2);
    expect(conn.comments.every((c) => c === '' || c === 'ping')).toBe(true);
    expect(lastItem.kind === 'message' && lastItem.message.event).toBe('done');
    // Comments are not messages: the answer stays whole.
    expectWellFormed(conn.messages);
    expect(tokenText(conn.messages)).toBe(ANSWER.join(''));
  });

  it('retryMs writes retry: before anything else', async () => {
    const { llm } = await mockWith({ script: { text: ANSWER } });
    const { url } = await servePipe(llm, { retryMs: 2500 });
    const conn = await openSSE(url);
    await conn.ended;
    expect(conn.text.startsWith('retry: 2500\n\n')).toBe(true);
    expect(conn.retries).toEqual([2500]);
    expect(conn.items[0]).toEqual({ kind: 'retry', retry: 2500 });
    expectWellFormed(conn.messages);
  });

  it('without retryMs there is no retry: field', async () => {
    const { llm } = await mockWith({ script: { text: ANSWER } });
    const { url } = await servePipe(llm);
    const conn = await openSSE(url);
    await conn.ended;
    expect(conn.retries).toEqual([]);
    expect(conn.text.startsWith('event: start\n')).toBe(true);
    expect(conn.text).not.toMatch(/^id:/m);
  });

  it('legacy: an answer_streaming message without id after each token, partial_response growing', async () => {
    const { llm } = await mockWith({ script: { text: ANSWER } });
    const { url } = await servePipe(llm, { legacy: { agentId: 7, conversationId: 'c1' } });
    const conn = await openSSE(url);
    await conn.ended;

    const { messages } = conn;
    const legacy = messages.filter((m) => m.event === 'answer_streaming');
    const regular = messages.filter((m) => m.event !== 'answer_streaming');
    expect(legacy).toHaveLength(ANSWER.length);
    expect(legacy.every((m) => m.id === undefined)).toBe(true);
    expect(conn.text).not.toMatch(/^id:/m);
    expectWellFormed(regular);
    let partial = '';
    legacy.forEach((m, i) => {
      partial += ANSWER[i];
      expect(dataOf(m)).toEqual({ token: ANSWER[i], partial_response: partial, agent_id: 7, conversation_id: 'c1' });
    });
    // Each legacy message follows its own token.
    messages.forEach((m, i) => {
      if (m.event === 'answer_streaming') {
        expect(messages[i - 1]!.event).toBe('token');
        expect(dataOf(m).token).toBe(dataOf(messages[i - 1]!).text);
      }
    });
  });

  it('a signal abort ends the response and closes the upstream socket', async () => {
    const { mock, llm } = await mockWith({ script: { text: SLOW_WORDS }, profile: SLOW });
    const controller = new AbortController();
    const { url, piped } = await servePipe(llm, { signal: controller.signal, heartbeatMs: 0 });
    const conn = await openSSE(url);
    await conn.waitFor((messages) => tokensIn(messages) >= 2);
    controller.abort();
    // The server ended the response: the body ends normally, not by our abort.
    expect(await conn.ended).toBe('end');
    await piped[0];
    expect(conn.messages.some((m) => m.event === 'done')).toBe(false);
    expectWellFormed(conn.messages);
    const log = await mock.waitForClose(0, budget(10_000));
    expect(log.closedByClient).toBe(true);
    expect(log.tokensWritten).toBeLessThan(SLOW_WORDS.length);
  });

  it('an already-aborted signal ends the response at once and never calls the provider', async () => {
    const { mock, llm } = await mockWith({ script: { text: ANSWER } });
    const { url } = await servePipe(llm, { signal: AbortSignal.abort() });
    const conn = await openSSE(url);
    expect(await conn.ended).toBe('end');
    expect(conn.status).toBe(200);
    expect(conn.messages).toEqual([]);
    expect(mock.requests).toHaveLength(0);
  });
});

describe('pipeSSE edge cases', () => {
  it('a response whose client already went away: resolves, and leaves no provider request running', async () => {
    const { mock, llm } = await mockWith({ script: { text: SLOW_WORDS }, profile: SLOW });
    let piped: Promise<void> | undefined;
    let serverSawRequest!: () => void;
    const arrived = new Promise<void>((resolve) => (serverSawRequest = resolve));
    const { url } = await serve(async (_req, res) => {
      serverSawRequest();
      // An async handler (auth, a database lookup…) that only gets to streaming after the client left.
      await new Promise((resolve) => res.once('close', resolve));
      piped = pipeSSE(llm.stream(REQUEST), res, { heartbeatMs: 0 });
      await piped;
    });
    const controller = new AbortController();
    const request = fetch(url, { signal: controller.signal }).catch(() => undefined);
    await arrived;
    controller.abort();
    await request;
    await expect.poll(() => piped !== undefined).toBe(true);
    // Give a request the chance to reach the mock, if pipeSSE is going to make one.
    await new Promise((r) => setTimeout(r, 300));
    // Either no provider request at all, or one cancelled by us (not run to its end for nobody).
    if (mock.requests.length > 0) expect((await mock.waitForClose(0, budget(10_000))).closedByClient).toBe(true);
    // Resolves: a pipeSSE that never settled would run into the test's timeout (a hang guard scaled
    // for load), not into a one-second window a busy machine can miss.
    await expect(piped!).resolves.toBeUndefined();
  });

  it('reset clears the text for the legacy partial_response and for the error partialText', async () => {
    const events: TokenEvent[] = [
      { type: 'start', provider: 'p', model: 'm', t: 0 },
      { type: 'token', text: 'old', index: 0, t: 1 },
      { type: 'reset', reason: 'retry', t: 2 },
      { type: 'token', text: 'new', index: 0, t: 3 },
      { type: 'token', text: '!', index: 1, t: 4 },
    ];
    const source = new Observable<TokenEvent>((s) => {
      events.forEach((e) => s.next(e));
      s.error(new Error('secret detail'));
    });
    const parsed = await parseSSE(toSSE(source, { legacy: {} }));
    const legacy = parsed.messages.filter((m) => m.event === 'answer_streaming').map((m) => dataOf(m).partial_response);
    expect(legacy).toEqual(['old', 'new', 'new!']);
    const regular = parsed.messages.filter((m) => m.event !== 'answer_streaming');
    expectWellFormed(regular);
    expect(regular.map((m) => m.event)).toEqual(['start', 'token', 'reset', 'token', 'token', 'error']);
    expect(dataOf(regular[5]!)).toEqual({ type: 'error', name: 'Error', message: 'The stream failed on the server.', partialText: 'new!' });
  });
});

describe('toSSE and sseResponse', () => {
  it('toSSE read directly gives the same well-formed stream', async () => {
    const { mock, llm } = await mockWith({ script: { text: ANSWER } });
    const parsed = await parseSSE(toSSE(llm.stream(REQUEST)));
    expectWellFormed(parsed.messages);
    expect(parsed.messages[0]!.event).toBe('start');
    expect(parsed.messages[parsed.messages.length - 1]!.event).toBe('done');
    expect(tokenText(parsed.messages)).toBe(ANSWER.join(''));
    expect(mock.requests).toHaveLength(1);
  });

  it('cancelling the reader mid-stream closes the upstream socket at the mock', async () => {
    const { mock, llm } = await mockWith({ script: { text: SLOW_WORDS }, profile: SLOW });
    const reader = toSSE(llm.stream(REQUEST), { heartbeatMs: 0 }).getReader();
    const decoder = new TextDecoder();
    let text = '';
    while ((text.match(/^event: token$/gm) ?? []).length < 3) {
      const { done, value } = await reader.read();
      expect(done).toBe(false);
      text += decoder.decode(value, { stream: true });
    }
    await reader.cancel();
    const log = await mock.waitForClose(0, budget(10_000));
    expect(log.closedByClient).toBe(true);
    expect(log.tokensWritten).toBeLessThan(SLOW_WORDS.length);
  });

  it('toSSE: a signal abort closes the stream and the upstream socket', async () => {
    const { mock, llm } = await mockWith({ script: { text: SLOW_WORDS }, profile: SLOW });
    const controller = new AbortController();
    const reader = toSSE(llm.stream(REQUEST), { signal: controller.signal, heartbeatMs: 0 }).getReader();
    const decoder = new TextDecoder();
    let text = '';
    while ((text.match(/^event: token$/gm) ?? []).length < 2) {
      const { done, value } = await reader.read();
      expect(done).toBe(false);
      text += decoder.decode(value, { stream: true });
    }
    controller.abort();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    expect(text).not.toContain('event: done');
    const log = await mock.waitForClose(0, budget(10_000));
    expect(log.closedByClient).toBe(true);
    expect(log.tokensWritten).toBeLessThan(SLOW_WORDS.length);
  });

  it('toSSE writes an error message for a failing stream and retry: first', async () => {
    const { llm } = await mockWith({ script: { text: ANSWER }, faults: { errorEventAfter: 2 } });
    const parsed = await parseSSE(toSSE(llm.stream(REQUEST), { retryMs: 100 }));
    expect(parsed.items[0]).toEqual({ kind: 'retry', retry: 100 });
    expectWellFormed(parsed.messages);
    const last = parsed.messages[parsed.messages.length - 1]!;
    expect(last.event).toBe('error');
    expect(dataOf(last)).toMatchObject({ name: 'ProviderError', partialText: ANSWER.slice(0, 2).join('') });
  });

  it('sseResponse: status 200, the SSE headers (plus extra ones), and the stream as body', async () => {
    const { llm } = await mockWith({ script: { text: ANSWER } });
    const response = sseResponse(llm.stream(REQUEST), { headers: { 'x-extra': 'yes' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('no-cache, no-transform');
    expect(response.headers.get('x-accel-buffering')).toBe('no');
    expect(response.headers.get('x-extra')).toBe('yes');
    const parsed = await parseSSE(response.body!);
    expectWellFormed(parsed.messages);
    expect(tokenText(parsed.messages)).toBe(ANSWER.join(''));
  });

  it('sseResponse served over real HTTP behaves like pipeSSE', async () => {
    const { llm } = await mockWith({ script: { text: ANSWER } });
    const { url } = await serve(async (_req, res) => {
      const response = sseResponse(llm.stream(REQUEST));
      res.writeHead(response.status, Object.fromEntries(response.headers));
      const reader = response.body!.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        res.write(value);
      }
      res.end();
    });
    const conn = await openSSE(url);
    expect(conn.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    await conn.ended;
    expectWellFormed(conn.messages);
    expect(tokenText(conn.messages)).toBe(ANSWER.join(''));
  });

  it('a stream that completes without done just ends (no invented events)', async () => {
    const events: TokenEvent[] = [
      { type: 'start', provider: 'p', model: 'm', t: 0 },
      { type: 'token', text: 'a', index: 0, t: 1 },
    ];
    const parsed = await parseSSE(toSSE(new Observable<TokenEvent>((s) => { events.forEach((e) => s.next(e)); s.complete(); })));
    expect(parsed.messages.map((m) => m.event)).toEqual(['start', 'token']);
  });
});

describe('bad input is rejected before any request', () => {
  function fakeResponse(): ServerResponse {
    return new ServerResponse(new IncomingMessage(new Socket()));
  }

  it.each([
    ['a string', 'nope'],
    ['null', null],
    ['a promise', Promise.resolve()],
    ['an array of events', [{ type: 'done', stopReason: 'end', t: 0 }]],
  ])('a non-Observable (%s)', async (_name, value) => {
    for (const call of [() => toSSE(value as never), () => sseResponse(value as never)]) {
      expect(invalidArgument(call).field).toBe('tokens$');
    }
    // pipeSSE returns a promise: bad input rejects it, it never throws.
    expect((await rejectedArgument(() => pipeSSE(value as never, fakeResponse()))).field).toBe('tokens$');
  });

  it('unknown options are rejected with a suggestion, and nothing reaches the mock', async () => {
    const { mock, llm } = await mockWith({ script: { text: ANSWER } });
    const res = fakeResponse();
    for (const call of [
      async () => invalidArgument(() => toSSE(llm.stream(REQUEST), { heartbeatMS: 10 } as never)),
      async () => invalidArgument(() => sseResponse(llm.stream(REQUEST), { heartbeatMS: 10 } as never)),
      () => rejectedArgument(() => pipeSSE(llm.stream(REQUEST), res, { heartbeatMS: 10 } as never)),
    ]) {
      const error = await call();
      expect(error.field).toMatch(/heartbeatMS$/);
      expect(error.message).toContain('did you mean');
      expect(error.message).toContain('heartbeatMs');
    }
    const legacy = invalidArgument(() => toSSE(llm.stream(REQUEST), { legacy: { agentID: 1 } } as never));
    expect(legacy.message).toContain('agentId');
    expect(res.headersSent).toBe(false);
    await new Promise((r) => setTimeout(r, 50));
    expect(mock.requests).toHaveLength(0);
  });

  it.each([
    ['negative heartbeatMs', { heartbeatMs: -1 }, 'options.heartbeatMs'],
    ['NaN heartbeatMs', { heartbeatMs: Number.NaN }, 'options.heartbeatMs'],
    ['string heartbeatMs', { heartbeatMs: '100' }, 'options.heartbeatMs'],
    ['fractional retryMs', { retryMs: 1.5 }, 'options.retryMs'],
    ['negative retryMs', { retryMs: -1 }, 'options.retryMs'],
    ['a non-signal', { signal: { aborted: false } }, 'options.signal'],
  ])('%s', async (_name, options, field) => {
    const { mock, llm } = await mockWith({ script: { text: ANSWER } });
    const res = fakeResponse();
    expect(invalidArgument(() => toSSE(llm.stream(REQUEST), options as never)).field).toBe(field);
    expect(invalidArgument(() => sseResponse(llm.stream(REQUEST), options as never)).field).toBe(field);
    expect((await rejectedArgument(() => pipeSSE(llm.stream(REQUEST), res, options as never))).field).toBe(field);
    expect(res.headersSent).toBe(false);
    await new Promise((r) => setTimeout(r, 50));
    expect(mock.requests).toHaveLength(0);
  });

  it.each([
    ['null', null],
    ['a string', 'fast'],
    ['a number', 5],
  ])('toSSE / pipeSSE options that are not an object (%s)', async (_name, options) => {
    const { mock, llm } = await mockWith({ script: { text: ANSWER } });
    invalidArgument(() => toSSE(llm.stream(REQUEST), options as never));
    await rejectedArgument(() => pipeSSE(llm.stream(REQUEST), fakeResponse(), options as never));
    await new Promise((r) => setTimeout(r, 50));
    expect(mock.requests).toHaveLength(0);
  });

  // sseResponse destructures its options before checking them: null throws a TypeError and a
  // number is silently accepted (and the stream starts, so the provider is called).
  it.each([
    ['null', null],
    ['a number', 5],
    ['a boolean', true],
  ])('sseResponse options that are not an object (%s)', async (_name, options) => {
    const { mock, llm } = await mockWith({ script: { text: ANSWER } });
    let thrown: unknown;
    let response: Response | undefined;
    try {
      response = sseResponse(llm.stream(REQUEST), options as never);
    } catch (error) {
      thrown = error;
    }
    await response?.body?.cancel();
    await new Promise((r) => setTimeout(r, 50));
    expect(mock.requests).toHaveLength(0);
    expect(InvalidArgumentError.isInstance(thrown)).toBe(true);
  });

  it('sseResponse rejects headers that are not an object', async () => {
    const { mock, llm } = await mockWith({ script: { text: ANSWER } });
    expect(invalidArgument(() => sseResponse(llm.stream(REQUEST), { headers: 'x' as never })).field).toBe('options.headers');
    await new Promise((r) => setTimeout(r, 50));
    expect(mock.requests).toHaveLength(0);
  });

  it.each([
    ['nothing', undefined],
    ['null', null],
    ['a plain object', {}],
    ['a Request', new Request('http://127.0.0.1/')],
  ])('pipeSSE with %s as the response', async (_name, res) => {
    const { mock, llm } = await mockWith({ script: { text: ANSWER } });
    expect((await rejectedArgument(() => pipeSSE(llm.stream(REQUEST), res as never))).field).toBe('res');
    await new Promise((r) => setTimeout(r, 50));
    expect(mock.requests).toHaveLength(0);
  });
});
