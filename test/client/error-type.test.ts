/**
 * The provider's error type travels from the server's `error` event to the client's
 * `RemoteStreamError.errorType`, and only when it is one of the well-known types: anything else a
 * server sends there (free text, a number) is dropped, never shown to a UI.
 */
import { createServer } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { fromSSE } from '../../src/client/index.js';
import { RemoteStreamError } from '../../src/errors.js';
import { openai } from '../../src/providers/openai.js';
import { pipeSSE } from '../../src/sse/stream.js';
import { startMockProvider } from '../../src/testing/index.js';
import { listenLocal } from '../helpers/http.js';
import { run } from '../helpers/run.js';
import { answer, beginStream, frame, frames, startSSEServer, type SSEServer } from '../helpers/sse-server.js';
import { TestEventSource } from './event-source.js';

const EVENTS = answer(['Hel', 'lo']);
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function scripted(errorType: unknown): Promise<SSEServer> {
  const server = await startSSEServer((_request, res) => {
    beginStream(res);
    const error = JSON.stringify({ type: 'error', name: 'ProviderError', message: 'The provider is rate limiting requests.', status: 429, errorType });
    res.end(`${frames(EVENTS, 0, 1)}event: error\ndata: ${error}\n\n`);
  });
  cleanups.push(() => server.close());
  return server;
}

describe('errorType, server to client', () => {
  it('round trip: a provider error relayed by pipeSSE arrives as RemoteStreamError.errorType', async () => {
    const mock = await startMockProvider({ flavor: 'openai', script: { text: ['The', ' quick', ' fox'] }, faults: { errorEventAfter: 2 } });
    cleanups.push(() => mock.close());
    const llm = openai({ apiKey: 'test', baseURL: mock.baseURL, maxRetries: 0 });
    const server = createServer((_req, res) => {
      void pipeSSE(llm.stream({ model: 'gpt-test', messages: [{ role: 'user', content: 'hi' }] }), res, { onError: () => {} });
    });
    const local = await listenLocal(server);
    cleanups.push(local.close);

    const outcome = await run(fromSSE(`${local.origin}/answer`, { mode: 'fetch', reconnect: false }));
    const error = outcome.error as RemoteStreamError;
    expect(RemoteStreamError.isInstance(error)).toBe(true);
    expect(error.remoteName).toBe('ProviderError');
    expect(error.errorType).toBe('server_error');
    expect(error.partialText).toBe('The quick');
  });

  it.each(['rate_limit_error', 'overloaded_error', 'context_length_exceeded'])('keeps the known type %s', async (errorType) => {
    const server = await scripted(errorType);
    const outcome = await run(fromSSE(server.url(), { mode: 'fetch', reconnect: false }));
    expect((outcome.error as RemoteStreamError).errorType).toBe(errorType);
    expect((outcome.error as RemoteStreamError).status).toBe(429);
  });

  it.each([
    ['free text', 'invalid x-api-key sk-live-123'],
    ['an unknown type', 'my_custom_error'],
    ['a number', 42],
    ['an object', { type: 'rate_limit_error' }],
    ['null', null],
  ])('drops %s', async (_what, errorType) => {
    const server = await scripted(errorType);
    const outcome = await run(fromSSE(server.url(), { mode: 'fetch', reconnect: false }));
    const error = outcome.error as RemoteStreamError;
    expect(RemoteStreamError.isInstance(error)).toBe(true);
    expect(error.errorType).toBeUndefined();
    expect(JSON.stringify(error)).not.toContain('sk-live');
  });

  it('eventsource mode reads it the same way', async () => {
    const server = await startSSEServer((_request, res) => {
      beginStream(res);
      res.end(frame(0, EVENTS[0]!) + frame(1, { type: 'error', name: 'ProviderError', message: 'm', errorType: 'overloaded_error' }));
    });
    cleanups.push(() => server.close());
    const outcome = await run(fromSSE(server.url(), { EventSource: TestEventSource as unknown as typeof EventSource, reconnect: false }));
    expect((outcome.error as RemoteStreamError).errorType).toBe('overloaded_error');
  });
});
