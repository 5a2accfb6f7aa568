/**
 * `fromSSE()`'s connection errors name the URL they could not reach (scheme, host and path), never
 * its query, fragment or credentials: a channel URL may carry a token.
 */
import { describe, expect, it } from 'vitest';
import { fromSSE } from '../../src/client/index.js';
import { ConnectionError, SSEResponseError } from '../../src/errors.js';
import { run } from '../helpers/run.js';

const URL_WITH_SECRETS = 'http://user:pw@127.0.0.1:9/streams/abc?token=SECRET#frag';
const SHOWN = 'http://127.0.0.1:9/streams/abc';

async function connectionError(stream: ReturnType<typeof fromSSE>): Promise<string> {
  const outcome = await run(stream);
  expect(ConnectionError.isInstance(outcome.error)).toBe(true);
  const message = (outcome.error as Error).message;
  expect(message).toContain(SHOWN);
  for (const secret of ['SECRET', 'token=', 'pw@', 'user:', '#frag']) expect(message).not.toContain(secret);
  return message;
}

/** A fetch answering with an event stream whose body `start` drives. */
const streaming = (start: (controller: ReadableStreamDefaultController<Uint8Array>) => void): typeof fetch =>
  (async () => new Response(new ReadableStream<Uint8Array>({ start }), { headers: { 'content-type': 'text/event-stream' } })) as typeof fetch;

describe('fromSSE connection errors name the URL', () => {
  it('fetch mode: the connection fails', async () => {
    const failing = (async () => {
      throw new TypeError('fetch failed');
    }) as typeof fetch;
    const message = await connectionError(fromSSE(URL_WITH_SECRETS, { fetch: failing, reconnect: false }));
    expect(message).toBe(`Could not connect to ${SHOWN}: fetch failed`);
  });

  it('fetch mode: the body is cut', async () => {
    const cut = streaming((controller) => controller.error(new TypeError('terminated')));
    expect(await connectionError(fromSSE(URL_WITH_SECRETS, { fetch: cut, reconnect: false }))).toContain('was cut');
  });

  it('fetch mode: the body ends before done', async () => {
    const short = streaming((controller) => controller.close());
    expect(await connectionError(fromSSE(URL_WITH_SECRETS, { fetch: short, reconnect: false }))).toContain('ended before');
  });

  it('eventsource mode: the connection fails', async () => {
    class FailingEventSource extends EventTarget {
      readyState = 0; // CONNECTING: the browser would retry by itself
      constructor(readonly url: string) {
        super();
        queueMicrotask(() => this.dispatchEvent(new Event('error')));
      }
      close(): void {}
    }
    const stream = fromSSE(URL_WITH_SECRETS, { EventSource: FailingEventSource as unknown as typeof EventSource, reconnect: false });
    expect(await connectionError(stream)).toBe(`The EventSource connection to ${SHOWN} failed.`);
  });

  it('eventsource mode: the EventSource cannot be opened', async () => {
    class ThrowingEventSource {
      constructor() {
        throw new Error('blocked');
      }
    }
    const stream = fromSSE(URL_WITH_SECRETS, { EventSource: ThrowingEventSource as unknown as typeof EventSource, reconnect: false });
    expect(await connectionError(stream)).toBe(`Could not open ${SHOWN}: Error: blocked`);
  });

  it.each([
    ['an error status', new Response('nope', { status: 403, statusText: 'Forbidden' }), `${SHOWN} answered 403 Forbidden.`],
    ['not an event stream', new Response('<html>', { headers: { 'content-type': 'text/html' } }), `${SHOWN} answered with text/html, not an event stream (text/event-stream).`],
  ])('fetch mode: %s is an SSEResponseError naming the URL without its query or credentials', async (_label, response, expected) => {
    const answering = (async () => response) as typeof fetch;
    const outcome = await run(fromSSE(URL_WITH_SECRETS, { fetch: answering, reconnect: false }));
    expect(SSEResponseError.isInstance(outcome.error)).toBe(true);
    expect((outcome.error as Error).message).toBe(expected);
  });
});
