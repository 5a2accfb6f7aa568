/**
 * No secret and no upstream text reaches a browser: every way a stream can fail (an HTTP 401 whose
 * body echoes the key, a 200 HTML page, an in-stream error event, a connection error, a protocol
 * error, the app's own `Error`) is sent over `toSSE`, `pipeSSE` and the hub's HTTP handler, and the
 * bytes the browser gets must not contain the secret, while `onError` gets the full error.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { inspect } from 'node:util';
import { concat, Observable, of, throwError } from 'rxjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConnectionError, ProtocolError } from '../../src/errors.js';
import type { ChatRequest, TokenEvent } from '../../src/events.js';
import { anthropic } from '../../src/providers/anthropic.js';
import { openai } from '../../src/providers/openai.js';
import type { StreamErrorReport } from '../../src/sse/encode.js';
import { StreamHub } from '../../src/sse/hub.js';
import { pipeSSE, toSSE } from '../../src/sse/stream.js';
import { startMockProvider, type MockProviderOptions } from '../../src/testing/index.js';
import { openSSE, parseSSEText } from '../helpers/sse-reader.js';
import { listenLocal } from '../helpers/http.js';

const KEY = 'sk-ant-api03-SECRET-abcdefghijklmnop';
const BEARER = 'Bearer sk-SECRET-0123456789';
const HTML = `<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><h1>Upstream failed</h1><pre>x-api-key: ${KEY}</pre></body></html>`;
const REQUEST: ChatRequest = { model: 'test-model', messages: [{ role: 'user', content: 'hi' }] };

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function mock(options: MockProviderOptions) {
  const server = await startMockProvider(options);
  cleanups.push(() => server.close());
  return server;
}

/** Each case builds a fresh failing stream (a cold Observable) and names the class the server sees. */
interface Case {
  label: string;
  name: string;
  make: () => Promise<Observable<TokenEvent>>;
}

const start: TokenEvent = { type: 'start', provider: 'app', model: 'm', t: 0 };
const token: TokenEvent = { type: 'token', text: 'Hello', index: 0, t: 1 };

const CASES: Case[] = [
  {
    label: 'an HTTP 401 whose body echoes the key (Anthropic adapter)',
    name: 'ProviderError',
    make: async () => {
      const m = await mock({
        flavor: 'anthropic',
        faults: { http: { status: 401, body: { type: 'error', error: { type: 'authentication_error', message: `invalid x-api-key: ${KEY} (${BEARER})` } } } },
      });
      return anthropic({ apiKey: KEY, baseURL: m.baseURL, maxRetries: 0 }).stream(REQUEST);
    },
  },
  {
    label: 'a 200 text/html error page with the key in it (OpenAI adapter)',
    name: 'ProtocolError',
    make: async () => {
      const m = await mock({ flavor: 'openai', script: { raw: HTML, headers: { 'content-type': 'text/html; charset=utf-8' } } });
      return openai({ apiKey: 'test', baseURL: m.baseURL, maxRetries: 0 }).stream(REQUEST);
    },
  },
  {
    label: 'an in-stream error event whose message carries the key (Anthropic adapter)',
    name: 'ProviderError',
    make: async () => {
      const m = await mock({
        flavor: 'anthropic',
        script: { text: 'Hello there friend' },
        faults: { errorEventAfter: 1, error: { type: 'overloaded_error', message: `Overloaded; request signed with ${BEARER} / ${KEY}` } },
      });
      return anthropic({ apiKey: 'test', baseURL: m.baseURL, maxRetries: 0 }).stream(REQUEST);
    },
  },
  {
    label: "a ConnectionError whose cause's message contains the key",
    name: 'ConnectionError',
    make: async () =>
      concat(
        of(start, token),
        throwError(() => new ConnectionError(`fetch failed: ${KEY}`, { cause: new Error(`connect ECONNRESET https://proxy?key=${KEY}`) })),
      ),
  },
  {
    label: 'a ProtocolError whose line contains the key',
    name: 'ProtocolError',
    make: async () => concat(of(start), throwError(() => new ProtocolError(`bad line: data: {"key":"${KEY}"`, `data: {"key":"${KEY}"`))),
  },
  {
    label: "a plain Error thrown by the app's stream",
    name: 'Error',
    make: async () =>
      new Observable<TokenEvent>((subscriber) => {
        subscriber.next(start);
        subscriber.error(new Error(`db connect failed: postgres://app:${KEY}@db/prod, auth ${BEARER}`));
      }),
  },
];

/** An `onError` hook that records what it gets and resolves once it was called. */
function recorder() {
  const calls: Array<{ error: unknown; report: StreamErrorReport }> = [];
  let called!: () => void;
  const done = new Promise<void>((resolve) => (called = resolve));
  return {
    calls,
    done,
    onError: (error: unknown, report: StreamErrorReport) => {
      calls.push({ error, report });
      called();
    },
  };
}

/** What the browser got: no secret anywhere, exactly one `error` event, with the class name and a fixed message. */
function expectSanitised(body: string, name: string): Record<string, unknown> {
  expect(body).not.toContain('SECRET');
  expect(body).not.toContain('sk-');
  const errors = parseSSEText(body).messages.filter((m) => m.event === 'error');
  expect(errors).toHaveLength(1);
  const data = JSON.parse(errors[0]!.data) as Record<string, unknown>;
  expect(data.name).toBe(name);
  expect(typeof data.message).toBe('string');
  return data;
}

/** The hook got the real error, upstream text and all: nothing was lost on the server side. */
function expectFullError(calls: ReturnType<typeof recorder>['calls'], sent: Record<string, unknown>): void {
  expect(calls).toHaveLength(1);
  expect(inspect(calls[0]!.error, { depth: 10 })).toContain('SECRET');
  expect(calls[0]!.report.sent).toEqual(sent);
}

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const local = await listenLocal(createServer(handler));
  cleanups.push(local.close);
  return local.origin;
}

async function bodyOf(url: string): Promise<string> {
  const connection = await openSSE(url);
  cleanups.push(() => connection.close());
  expect(await connection.ended).toBe('end');
  return connection.text;
}

describe.each(CASES)('$label', ({ name, make }) => {
  it('toSSE: the bytes carry no secret; onError gets the full error', async () => {
    const hook = recorder();
    const body = await new Response(toSSE(await make(), { onError: hook.onError, heartbeatMs: 0 })).text();
    const sent = expectSanitised(body, name);
    await hook.done;
    expectFullError(hook.calls, sent);
  });

  it('pipeSSE over HTTP: the bytes carry no secret; onError gets the full error', async () => {
    const hook = recorder();
    const stream = await make();
    const url = await serve((_req, res) => void pipeSSE(stream, res, { onError: hook.onError, heartbeatMs: 0 }));
    const sent = expectSanitised(await bodyOf(url), name);
    await hook.done;
    expectFullError(hook.calls, sent);
  });

  it("the hub's HTTP handler: the bytes carry no secret; onError gets the full error and the channel", async () => {
    const hook = recorder();
    const hub = new StreamHub({ onError: hook.onError, heartbeatMs: 0 });
    cleanups.push(() => hub.close());
    const handler = hub.handler();
    const url = await serve((req, res) => void handler(req, res));
    await hub.publish('secret-channel', await make());
    await hook.done;
    const sent = expectSanitised(await bodyOf(`${url}/streams/secret-channel`), name);
    expectFullError(hook.calls, sent);
    expect(hook.calls[0]!.report.channel).toBe('secret-channel');
  });
});

describe('what the browser does get', () => {
  it('a 401: the status, the known provider type, a fixed message, retryable', async () => {
    const body = await new Response(toSSE(await CASES[0]!.make(), { onError: () => {}, heartbeatMs: 0 })).text();
    expect(expectSanitised(body, 'ProviderError')).toMatchObject({
      status: 401,
      errorType: 'authentication_error',
      message: "The server's provider credentials were refused.",
      retryable: false,
    });
  });

  it('an in-stream error: the partial answer text (the app\'s own output) still goes', async () => {
    const body = await new Response(toSSE(await CASES[2]!.make(), { onError: () => {}, heartbeatMs: 0 })).text();
    const sent = expectSanitised(body, 'ProviderError');
    expect(sent).toMatchObject({ errorType: 'overloaded_error', message: 'The provider failed or is overloaded.', retryable: true });
    expect(sent.partialText).toBe('Hello');
  });
});

describe('onError', () => {
  const failing = () => concat(of(start, token), throwError(() => new Error(`boom ${KEY}`)));

  it('a hook that throws does not break the response, and is reported with console.error', async () => {
    const log = vi.spyOn(console, 'error').mockImplementation(() => {});
    cleanups.push(() => log.mockRestore());
    const body = await new Response(toSSE(failing(), { onError: () => { throw new Error('hook broke'); }, heartbeatMs: 0 })).text();
    expectSanitised(body, 'Error');
    expect(log).toHaveBeenCalledTimes(1);
    expect(inspect(log.mock.calls[0])).toContain('hook broke');
  });

  it('a hook that rejects does not break the response, and is reported with console.error', async () => {
    const log = vi.spyOn(console, 'error').mockImplementation(() => {});
    cleanups.push(() => log.mockRestore());
    let reported!: () => void;
    const wasReported = new Promise<void>((resolve) => (reported = resolve));
    log.mockImplementation(() => reported());
    const body = await new Response(toSSE(failing(), { onError: () => Promise.reject(new Error('async hook broke')), heartbeatMs: 0 })).text();
    expectSanitised(body, 'Error');
    await wasReported;
    expect(inspect(log.mock.calls[0])).toContain('async hook broke');
  });

  it('a hub hook that throws leaves the channel and its followers unaffected', async () => {
    const log = vi.spyOn(console, 'error').mockImplementation(() => {});
    cleanups.push(() => log.mockRestore());
    const hub = new StreamHub({ onError: () => { throw new Error('hook broke'); }, heartbeatMs: 0 });
    cleanups.push(() => hub.close());
    const handler = hub.handler();
    const url = await serve((req, res) => void handler(req, res));
    await hub.publish('c', failing());
    expectSanitised(await bodyOf(`${url}/streams/c`), 'Error');
    expect(inspect(log.mock.calls)).toContain('hook broke');
  });

  it('without a hook, the full error goes to console.error (a failure nobody can see is worse than a log line)', async () => {
    const log = vi.spyOn(console, 'error').mockImplementation(() => {});
    cleanups.push(() => log.mockRestore());
    const body = await new Response(toSSE(failing(), { heartbeatMs: 0 })).text();
    expectSanitised(body, 'Error');
    expect(log).toHaveBeenCalledTimes(1);
    expect(inspect(log.mock.calls[0])).toContain('SECRET');
  });

  it('rejects an onError that is not a function', () => {
    expect(() => toSSE(failing(), { onError: 'log' as never })).toThrow(/onError/);
    expect(() => new StreamHub({ onError: 42 as never })).toThrow(/onError/);
  });
});
