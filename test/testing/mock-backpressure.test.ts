/**
 * The mock under backpressure: when a socket's buffer is full (`res.write()` returns false) it waits
 * for `drain`, or for the client to go, and each wait must leave nothing behind on the request's
 * abort signal. A wait that raced two `once()`s left an `abort` listener per wait: a slow reader of a
 * long answer got hundreds of them (and Node's MaxListenersExceededWarning).
 *
 * Filling a real loopback socket takes megabytes, so here `ServerResponse.write` reports a full
 * buffer every third write and drains a turn later: the mock's wait is the real one.
 */
import { ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { startMockProvider, type MockProvider } from '../../src/testing/index.js';

let mock: MockProvider | undefined;
afterEach(async () => {
  await mock?.close();
  mock = undefined;
});

/**
 * Runs `body` with every third `ServerResponse.write` reporting a full buffer; counts those waits
 * and the most `abort` listeners any signal had at once (the mock aborts a request's signal when it
 * ends, which takes them all off, so what is left at the end shows nothing).
 */
async function underBackpressure(body: () => Promise<void>): Promise<{ fullWrites: number; mostAbortListeners: number }> {
  const write = ServerResponse.prototype.write;
  const add = EventTarget.prototype.addEventListener;
  const remove = EventTarget.prototype.removeEventListener;
  let writes = 0;
  let fullWrites = 0;
  const listening = new Map<EventTarget, Set<unknown>>();
  let mostAbortListeners = 0;
  ServerResponse.prototype.write = function (this: ServerResponse, ...args: unknown[]) {
    (write as (...a: unknown[]) => boolean).apply(this, args);
    if (++writes % 3 !== 0) return true;
    fullWrites++;
    setImmediate(() => this.emit('drain'));
    return false;
  } as typeof write;
  EventTarget.prototype.addEventListener = function (this: EventTarget, type: string, listener: unknown, options?: unknown) {
    if (this instanceof AbortSignal && type === 'abort') {
      const set = listening.get(this) ?? new Set();
      set.add(listener);
      listening.set(this, set);
      mostAbortListeners = Math.max(mostAbortListeners, set.size);
    }
    return add.call(this, type, listener as EventListener, options as AddEventListenerOptions);
  };
  EventTarget.prototype.removeEventListener = function (this: EventTarget, type: string, listener: unknown, options?: unknown) {
    if (this instanceof AbortSignal && type === 'abort') listening.get(this)?.delete(listener);
    return remove.call(this, type, listener as EventListener, options as EventListenerOptions);
  };
  try {
    await body();
  } finally {
    ServerResponse.prototype.write = write;
    EventTarget.prototype.addEventListener = add;
    EventTarget.prototype.removeEventListener = remove;
  }
  return { fullWrites, mostAbortListeners };
}

describe('startMockProvider under backpressure', () => {
  it('waits for drain on a full socket and leaves no abort listener behind per wait', async () => {
    const text = Array.from({ length: 600 }, (_, i) => `w${i} `);
    mock = await startMockProvider({ flavor: 'openai', script: { text } });
    let body = '';
    const { fullWrites, mostAbortListeners } = await underBackpressure(async () => {
      const response = await fetch(`${mock!.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'm', messages: [], stream: true }),
      });
      body = await response.text();
      await mock!.waitForClose(0);
    });
    // Every token arrived, in order, through a couple of hundred waits.
    const tokens = [...body.matchAll(/"content":"(w\d+ )"/g)].map((m) => m[1]);
    expect(tokens).toEqual(text);
    expect(fullWrites).toBeGreaterThan(150);
    // At any moment the request's own listener and the wait's, not one per wait so far.
    expect(mostAbortListeners).toBeLessThanOrEqual(3);
  });
});
