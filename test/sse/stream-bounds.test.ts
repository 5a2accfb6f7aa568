/**
 * `pipeSSE` and `toSSE` stay bounded for a client that reads slowly or not at all: `pipeSSE` honours
 * `res.write()`'s return value (queues until `'drain'`, up to `maxBufferedBytes`), `toSSE` starts its
 * upstream only when read and counts its queue against the same bound. Past it the stream ends with
 * an `error` event and the upstream is unsubscribed (which aborts a provider's request).
 *
 * The sources here emit as fast as the event loop lets them and would produce far more than any
 * bound: a source that sees the server hold more than the bound (plus one event) stops and says so,
 * so a regression fails fast instead of buffering hundreds of megabytes.
 */
import { createServer, get, type IncomingMessage, type ServerResponse } from 'node:http';
import { Observable } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import type { TokenEvent } from '../../src/events.js';
import { pipeSSE, sseResponse, toSSE } from '../../src/sse/stream.js';
import { listenLocal } from '../helpers/http.js';
import { parseSSE } from '../helpers/sse-reader.js';

const KIB = 1024;
/** One token's text: 16 KiB, so an event is a little more than that on the wire. */
const PIECE = 'x'.repeat(16 * KIB);
const EVENT_BYTES = PIECE.length + 100;
/** What the sources would produce if nobody stopped them: 64 MiB. */
const TOKENS = 4096;
const BOUND = 256 * KIB;

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

/** A fast source: `start`, then a 16 KiB token per turn of the event loop, then `done`. */
interface Firehose {
  tokens$: Observable<TokenEvent>;
  /** Bytes of token text emitted so far. */
  readonly emitted: number;
  readonly subscribed: boolean;
  /** Set when `tooMuch()` held: the server buffered more than the bound allows. */
  readonly exceeded: boolean;
  /** Resolves when the subscriber unsubscribed or the source ended. */
  ended: Promise<'unsubscribed' | 'completed'>;
}

function firehose(tooMuch: (emitted: number) => boolean, tokens = TOKENS): Firehose {
  let emitted = 0;
  let subscribed = false;
  let exceeded = false;
  let settle!: (how: 'unsubscribed' | 'completed') => void;
  const ended = new Promise<'unsubscribed' | 'completed'>((resolve) => (settle = resolve));
  const tokens$ = new Observable<TokenEvent>((subscriber) => {
    subscribed = true;
    let stopped = false;
    let index = 0;
    subscriber.next({ type: 'start', provider: 'mock', model: 'm', t: 0 });
    const step = (): void => {
      if (stopped) return;
      if (tooMuch(emitted)) {
        exceeded = true;
        stopped = true;
        subscriber.complete();
        settle('completed');
        return;
      }
      if (index === tokens) {
        // Before `done`: the consumer lets go of the source as soon as it has it.
        stopped = true;
        settle('completed');
        subscriber.next({ type: 'done', stopReason: 'end', t: index + 1 });
        subscriber.complete();
        return;
      }
      subscriber.next({ type: 'token', text: PIECE, index, t: index + 1 });
      emitted += PIECE.length;
      index++;
      setImmediate(step);
    };
    setImmediate(step);
    return () => {
      if (stopped) return;
      stopped = true;
      settle('unsubscribed');
    };
  });
  return {
    tokens$,
    get emitted() {
      return emitted;
    },
    get subscribed() {
      return subscribed;
    },
    get exceeded() {
      return exceeded;
    },
    ended,
  };
}

/** A request whose response is never read (until `readAll`): the server's writes back up. */
function openWithoutReading(url: string): Promise<{ readAll(): Promise<string> }> {
  return new Promise((resolve, reject) => {
    const request = get(url, (response: IncomingMessage) => {
      // No 'data' listener and paused: the client stops reading the socket once its small buffer is full.
      response.pause();
      resolve({
        async readAll() {
          response.setEncoding('utf8');
          let text = '';
          for await (const chunk of response) text += chunk as string;
          return text;
        },
      });
    });
    request.on('error', reject);
    cleanups.push(() => void request.destroy());
  });
}

describe('pipeSSE: a client that never reads', () => {
  it('buffers at most maxBufferedBytes, then ends the response with an error event and unsubscribes upstream', async () => {
    let res: ServerResponse | undefined;
    let mostHeld = 0;
    const source = firehose(() => {
      const held = res?.writableLength ?? 0;
      mostHeld = Math.max(mostHeld, held);
      return held > BOUND + EVENT_BYTES;
    });
    let piped: Promise<void> | undefined;
    const server = createServer((_req, response) => {
      res = response;
      piped = pipeSSE(source.tokens$, response, { heartbeatMs: 0, maxBufferedBytes: BOUND, onError: () => {} });
    });
    const local = await listenLocal(server);
    cleanups.push(local.close);

    const client = await openWithoutReading(`${local.origin}/answer`);
    expect(await source.ended).toBe('unsubscribed');
    expect(source.exceeded).toBe(false);
    // Stopped long before the answer's end: the kernel's socket buffers plus the bound, not 64 MiB.
    expect(source.emitted).toBeLessThan((TOKENS * PIECE.length) / 2);
    expect(mostHeld).toBeLessThanOrEqual(BOUND + EVENT_BYTES);
    // What waits in the response after it ended: the queue and a small error message.
    expect(res!.writableEnded).toBe(true);
    expect(res!.writableLength).toBeLessThanOrEqual(BOUND + EVENT_BYTES + KIB);

    // A client that reads at last gets everything that was kept, then the reason it ended.
    const parsed = await parseSSE(await client.readAll());
    await piped;
    const last = parsed.messages.at(-1)!;
    expect(last.event).toBe('error');
    const payload = JSON.parse(last.data) as Record<string, unknown>;
    expect(payload).toMatchObject({ type: 'error', name: 'QueueOverflowError' });
    // It already has the text: the error does not repeat it.
    expect(payload.partialText).toBeUndefined();
    const tokens = parsed.messages.filter((m) => m.event === 'token').map((m) => (JSON.parse(m.data) as { index: number }).index);
    expect(tokens).toEqual(tokens.map((_, i) => i));
  });

  it('a client that falls behind and catches up gets the whole answer, in order (writes wait for drain)', async () => {
    // 16 MiB of answer while the client is paused: more than the sockets take, less than the bound.
    const total = 1024;
    let res: ServerResponse | undefined;
    let refused = 0;
    const events: TokenEvent[] = [{ type: 'start', provider: 'mock', model: 'm', t: 0 }];
    for (let index = 0; index < total; index++) events.push({ type: 'token', text: PIECE, index, t: index + 1 });
    events.push({ type: 'done', stopReason: 'end', t: total + 1 });
    let emittedAll!: () => void;
    const allEmitted = new Promise<void>((resolve) => (emittedAll = resolve));
    const source = new Observable<TokenEvent>((subscriber) => {
      let i = 0;
      const step = (): void => {
        if (subscriber.closed) return;
        const event = events[i++]!;
        // pipeSSE lets go of the source on `done`: the last step.
        if (event.type === 'done') emittedAll();
        subscriber.next(event);
        setImmediate(step);
      };
      setImmediate(step);
    });
    const server = createServer((_req, response) => {
      res = response;
      const write = response.write.bind(response) as (chunk: string) => boolean;
      response.write = ((chunk: string) => {
        const ok = write(chunk);
        if (!ok) refused++;
        return ok;
      }) as typeof response.write;
      void pipeSSE(source, response, { heartbeatMs: 0, maxBufferedBytes: 64 * 1024 * KIB });
    });
    const local = await listenLocal(server);
    cleanups.push(local.close);

    const client = await openWithoutReading(`${local.origin}/answer`);
    await allEmitted;
    // The socket backed up while the client was paused: pipeSSE saw write() refuse and queued.
    expect(refused).toBeGreaterThan(0);
    expect(res).toBeDefined();
    const parsed = await parseSSE(await client.readAll());
    expect(parsed.messages.map((m) => m.event)).toEqual(events.map((e) => e.type));
    const indexes = parsed.messages.filter((m) => m.event === 'token').map((m) => (JSON.parse(m.data) as { index: number }).index);
    expect(indexes).toEqual(events.slice(1, -1).map((_, i) => i));
  });
});

describe('toSSE: pulled, lazy and bounded', () => {
  it('constructing toSSE or sseResponse and never reading starts no upstream', async () => {
    const source = firehose(() => false);
    const stream = toSSE(source.tokens$, { heartbeatMs: 0 });
    const response = sseResponse(source.tokens$, { heartbeatMs: 0 });
    // Several turns of the event loop: a stream that starts itself would have subscribed by now.
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(source.subscribed).toBe(false);
    expect(response.bodyUsed).toBe(false);

    // The first read starts it.
    const reader = stream.getReader();
    const first = await reader.read();
    expect(first.done).toBe(false);
    expect(source.subscribed).toBe(true);
    await reader.cancel();
    expect(await source.ended).toBe('unsubscribed');
    await response.body!.cancel();
  });

  it('a reader that stops reading keeps the queue within maxBufferedBytes; past it the stream ends with an error and the upstream is unsubscribed', async () => {
    let read = 0;
    const source = firehose((emitted) => emitted - read > BOUND + EVENT_BYTES);
    const reader = toSSE(source.tokens$, { heartbeatMs: 0, maxBufferedBytes: BOUND, onError: () => {} }).getReader();
    const first = await reader.read();
    read += first.value!.byteLength;

    // Nothing reads now: the stream must stop the source by itself.
    expect(await source.ended).toBe('unsubscribed');
    expect(source.exceeded).toBe(false);
    expect(source.emitted).toBeLessThanOrEqual(BOUND + 2 * EVENT_BYTES);

    const decoder = new TextDecoder();
    let rest = '';
    let queued = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      queued += value.byteLength;
      rest += decoder.decode(value, { stream: true });
    }
    // All that waited for the reader: the bound, one event over it, and the error message.
    expect(queued).toBeLessThanOrEqual(BOUND + EVENT_BYTES + KIB);
    const parsed = await parseSSE(decoder.decode(first.value!) + rest);
    const last = parsed.messages.at(-1)!;
    expect(last.event).toBe('error');
    expect(JSON.parse(last.data)).toMatchObject({ type: 'error', name: 'QueueOverflowError' });
  });

  it('a reader that keeps up gets the whole answer however long it is', async () => {
    // 8 MiB: thirty-two times the bound.
    const source = firehose(() => false, 512);
    const parsed = await parseSSE(toSSE(source.tokens$, { heartbeatMs: 0, maxBufferedBytes: BOUND, onError: () => {} }));
    expect(await source.ended).toBe('completed');
    expect(parsed.messages.filter((m) => m.event === 'token')).toHaveLength(512);
    expect(parsed.messages.at(-1)!.event).toBe('done');
  });
});
