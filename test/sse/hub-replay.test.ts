/**
 * Late joiners of long answers (issue 14, item 3): a replay larger than `maxBufferedBytes` is paced
 * by the follower's reading (a page waits until it took most of the one before), so a follower that
 * joins or resumes far back gets every event exactly; the slow-follower drop is for a client that
 * does not keep up with the live entries, never for one the hub flooded with its own replay.
 */
import http from 'node:http';
import net from 'node:net';
import { from, Subject } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import type { TokenEvent } from '../../src/events.js';
import { StreamHub, type DropInfo, type StreamHubOptions } from '../../src/sse/hub.js';
import { collectAll, tick } from '../helpers/hub.js';
import { listenLocal } from '../helpers/http.js';
import { openSSE, parseSSE, type ParsedMessage } from '../helpers/sse-reader.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The bound of these tests: a long answer is many times it. */
const MAX = 16 * 1024;

interface Served {
  hub: StreamHub;
  url: (path: string) => string;
  port: number;
  drops: DropInfo[];
}

async function serve(options: StreamHubOptions = {}): Promise<Served> {
  const drops: DropInfo[] = [];
  const hub = new StreamHub({ maxBufferedBytes: MAX, heartbeatMs: 0, onDrop: (info) => drops.push(info), ...options });
  const handler = hub.handler();
  const local = await listenLocal(http.createServer((req, res) => void handler(req, res)));
  cleanups.push(async () => {
    await hub.close();
    await local.close();
  });
  return { hub, url: (path) => `${local.origin}${path}`, port: Number(new URL(local.origin).port), drops };
}

const token = (index: number, size = 100): TokenEvent => ({
  type: 'token',
  text: `t${index} `.padEnd(size, 'abcdefghij'),
  index,
  t: index,
});

/** Start and `count` tokens of about 100 characters (about 150 bytes on the wire each). */
function history(count: number): TokenEvent[] {
  const events: TokenEvent[] = [{ type: 'start', provider: 't', model: 'm', t: 0 }];
  for (let i = 0; i < count; i++) events.push(token(i));
  return events;
}

const ending: TokenEvent[] = [
  { type: 'usage', usage: { inputTokens: 1, outputTokens: 1, estimated: false }, t: 1 },
  { type: 'done', stopReason: 'end', t: 2 },
];

/** 3,000 tokens: about 450 KB, nearly 30 times the bound. */
const LONG = [...history(3_000), ...ending];

/** Publishes a whole answer and waits until it is finished in the log. */
async function finished(hub: StreamHub, channel: string, events: readonly TokenEvent[]): Promise<void> {
  await hub.publish(channel, from(events));
  const { error } = await collectAll(hub.subscribe(channel));
  expect(error).toBeUndefined();
  expect((await hub.info(channel))?.finished).toBe(true);
}

/** The messages must be exactly these events, with ids from `firstId` on, in order. */
function expectExactly(messages: readonly ParsedMessage[], events: readonly TokenEvent[], firstId: number): void {
  expect(messages.length).toBe(events.length);
  expect(messages.map((m) => Number(m.id))).toEqual(events.map((_, i) => firstId + i));
  expect(messages.map((m) => m.data)).toEqual(events.map((e) => JSON.stringify(e)));
  expect(messages[messages.length - 1]!.event).toBe('done');
}

/** Reads a Web body one chunk per turn of the event loop (a slow but steady reader); `each` runs after every chunk. */
async function readSlowly(body: ReadableStream<Uint8Array>, each: () => void = () => {}): Promise<ParsedMessage[]> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
    each();
    await new Promise((resolve) => setImmediate(resolve));
  }
  return (await parseSSE(text + decoder.decode())).messages;
}

describe('hub.handler(): a late joiner of a finished answer far larger than maxBufferedBytes', () => {
  it('a follower from the start and one resuming in the middle each get every event exactly, ending with done; nobody is dropped', async () => {
    const { hub, url, drops } = await serve();
    await finished(hub, 'long-1', LONG);
    const [all, middle] = await Promise.all([
      openSSE(url('/streams/long-1')),
      openSSE(url('/streams/long-1'), { headers: { 'last-event-id': '1500' } }),
    ]);
    expect(await all.ended).toBe('end');
    expect(await middle.ended).toBe('end');
    expectExactly(all.messages, LONG, 0);
    expectExactly(middle.messages, LONG.slice(1501), 1501);
    expect(drops).toEqual([]);
  });

  it('a client that never reads is still dropped (onDrop, slow-consumer) once live entries pass it by; a reader gets everything', async () => {
    let dropped!: (info: DropInfo) => void;
    const firstDrop = new Promise<DropInfo>((resolve) => (dropped = resolve));
    const { hub, port, url, drops } = await serve({ onDrop: (info) => dropped(info) });
    const upstream = new Subject<TokenEvent>();
    await hub.publish('long-2', upstream);
    const events = history(3_000);
    for (const event of events) upstream.next(event);
    await tick();
    // A raw socket that sends its request and never reads a byte.
    const stalled = net.connect({ port, host: '127.0.0.1' });
    stalled.pause();
    stalled.on('error', () => {});
    const stalledClosed = new Promise<void>((resolve) => stalled.on('close', () => resolve()));
    stalled.write('GET /streams/long-2 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    const reader = await openSSE(url('/streams/long-2'));
    // Live tokens of 1 KB, one per turn of the event loop, until the stalled client is dropped
    // (the kernel's socket buffers take some megabytes first).
    let pumping = true;
    const pumped = (async () => {
      for (let i = 3_000; pumping; i++) {
        const event = token(i, 1_000);
        events.push(event);
        upstream.next(event);
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    const info = await firstDrop;
    pumping = false;
    await pumped;
    for (const event of ending) upstream.next(event);
    expect(info).toMatchObject({ channel: 'long-2', reason: 'slow-consumer' });
    expect(info.bufferedBytes).toBeGreaterThan(MAX);
    expect(await reader.ended).toBe('end');
    expectExactly(reader.messages, [...events, ...ending], 0);
    stalled.resume();
    await stalledClosed;
  });
});

describe('hub.fetch(): the same for a Web stream', () => {
  it('a slow but steady reader gets every event of a long finished answer, from the start and from the middle', async () => {
    const { hub, drops } = await serve();
    await finished(hub, 'long-3', LONG);
    const [all, middle] = await Promise.all([
      hub.fetch(new Request('http://hub.test/streams/long-3')),
      hub.fetch(new Request('http://hub.test/streams/long-3', { headers: { 'last-event-id': '2000' } })),
    ]);
    const [allMessages, middleMessages] = await Promise.all([readSlowly(all.body!), readSlowly(middle.body!)]);
    expectExactly(allMessages, LONG, 0);
    expectExactly(middleMessages, LONG.slice(2001), 2001);
    expect(drops).toEqual([]);
  });

  it('live entries that arrive while a slow reader catches up are delivered exactly once, in order, after the replay', async () => {
    const { hub, drops } = await serve();
    const upstream = new Subject<TokenEvent>();
    await hub.publish('long-4', upstream);
    const events = history(3_000);
    for (const event of events) upstream.next(event);
    await tick();
    const response = await hub.fetch(new Request('http://hub.test/streams/long-4'));
    // A short live token after every chunk the reader takes, while it is still catching up.
    let live = 0;
    const messages = await readSlowly(response.body!, () => {
      if (live < 100) {
        const event: TokenEvent = { type: 'token', text: ` live${live}`, index: 3_000 + live, t: 3_000 + live };
        events.push(event);
        upstream.next(event);
        live++;
      } else if (live === 100) {
        for (const event of ending) upstream.next(event);
        live++;
      }
    });
    expect(live).toBe(101);
    expectExactly(messages, [...events, ...ending], 0);
    expect(drops).toEqual([]);
  });

  it('a body nobody reads is dropped once the live entries waiting for it pass the bound, even mid-replay', async () => {
    const { hub, drops } = await serve();
    const upstream = new Subject<TokenEvent>();
    await hub.publish('long-5', upstream);
    for (const event of history(3_000)) upstream.next(event);
    await tick();
    const stalled = await hub.fetch(new Request('http://hub.test/streams/long-5'));
    const reader = collectAll(hub.subscribe('long-5'));
    await tick();
    for (let i = 3_000; drops.length === 0 && i < 3_200; i++) {
      upstream.next(token(i, 1_000));
      await tick();
    }
    expect(drops).toEqual([expect.objectContaining({ channel: 'long-5', reason: 'slow-consumer' })]);
    expect(drops[0]!.bufferedBytes).toBeGreaterThan(MAX);
    expect(drops[0]!.lastEventId).toBeLessThan(3_000);
    await expect(new Response(stalled.body).text()).rejects.toThrow(/dropped/);
    for (const event of ending) upstream.next(event);
    expect((await reader).error).toBeUndefined();
  });
});
