/**
 * Hub formats (issue 19, item 4): a follower can read a channel in another wire format, with the
 * hub's guarantees (one upstream, replay, resume by Last-Event-ID, stop). A small format made here
 * shows what the hub does for any format; test/ag-ui/hub.test.ts and test/ai-sdk/hub.test.ts run the
 * real ones with their real clients.
 */
import { createServer } from 'node:http';
import { from, Subject } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import type { SerializedStreamError } from '../../src/errors.js';
import type { TokenEvent } from '../../src/events.js';
import { InMemoryChannelLog, StreamHub, type HubFormat, type HubHandlerOptions } from '../../src/sse/index.js';
import { answerEvents } from '../helpers/hub.js';
import { listenLocal } from '../helpers/http.js';
import { openSSE } from '../helpers/sse-reader.js';

const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).reverse().map((close) => close().catch(() => {})));
});

/** What each writer was fed: the ids of every event and error, in order, per writer opened. */
const fed: number[][] = [];

/** "words": each token's text as a `word` message, the ending as `end` or `failed <name> <reason>`. */
const words: HubFormat = {
  name: 'words',
  headers: { 'content-type': 'text/event-stream', 'x-format': 'words' },
  open(channel) {
    const seen: number[] = [];
    fed.push(seen);
    let count = 0;
    return {
      event(event: TokenEvent, id: number) {
        seen.push(id);
        if (event.type === 'token') return `id: ${id}\nevent: word\ndata: ${++count}:${event.text}\n\n`;
        if (event.type === 'done') return `id: ${id}\nevent: end\ndata: ${channel.channel}\n\n`;
        return '';
      },
      error(error: SerializedStreamError, id: number) {
        seen.push(id);
        return `event: failed\ndata: ${error.name} ${error.reason ?? ''}\n\n`;
      },
    };
  },
  cut(channel, error, started) {
    return `event: cut\ndata: ${channel.channel} ${error.reason ?? ''} ${started ? 'after-some' : 'before-any'}\n\n`;
  },
};

async function serve(hub: StreamHub, options: HubHandlerOptions = { formats: [words] }) {
  const server = await listenLocal(createServer(hub.handler(options)));
  closers.push(() => server.close());
  return server;
}

function newHub(): StreamHub {
  const hub = new StreamHub();
  closers.push(() => hub.close());
  return hub;
}

describe('StreamHub formats', () => {
  it('?format=<name> answers in that format, with its headers, from the first event', async () => {
    fed.length = 0;
    const hub = newHub();
    const upstream = new Subject<TokenEvent>();
    await hub.publish('c1', upstream);
    const server = await serve(hub);
    const follower = await openSSE(`${server.origin}/streams/c1?format=words`);
    expect(follower.headers.get('x-format')).toBe('words');
    for (const event of answerEvents(['Hello', ' there'])) upstream.next(event);
    expect(await follower.ended).toBe('end');
    expect(follower.messages.map((m) => [m.event, m.data, m.id])).toEqual([
      ['word', '1:Hello', '1'],
      ['word', '2: there', '2'],
      ['end', 'c1', '4'],
    ]);
    // The same channel in tokenflow's own format, unchanged.
    const own = await openSSE(`${server.origin}/streams/c1`);
    expect(await own.ended).toBe('end');
    expect(own.messages.map((m) => m.event)).toEqual(['start', 'token', 'token', 'usage', 'done']);
  });

  it('a resumed follower\'s writer is fed the events before its resume point, which are not written again', async () => {
    fed.length = 0;
    const hub = newHub();
    await hub.publish('c2', from(answerEvents(['one', ' two', ' three'])));
    const server = await serve(hub);
    const first = await openSSE(`${server.origin}/streams/c2?format=words`);
    expect(await first.ended).toBe('end');
    const resumed = await openSSE(`${server.origin}/streams/c2?format=words`, { headers: { 'last-event-id': '2' } });
    expect(await resumed.ended).toBe('end');
    // Its writer numbered " three" 3: it had seen "one" and " two".
    expect(resumed.messages.map((m) => [m.event, m.data])).toEqual([
      ['word', '3: three'],
      ['end', 'c2'],
    ]);
    expect(fed[1]).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('followers of one channel in one format share one writer: each event is written once', async () => {
    fed.length = 0;
    const hub = newHub();
    const upstream = new Subject<TokenEvent>();
    await hub.publish('shared', upstream);
    const server = await serve(hub);
    const followers = await Promise.all([1, 2, 3].map(() => openSSE(`${server.origin}/streams/shared?format=words`)));
    const events = answerEvents(['a', 'b']);
    upstream.next(events[0]!);
    upstream.next(events[1]!);
    await Promise.all(followers.map((f) => f.waitFor((m) => m.length === 1)));
    // A late follower resumes after the first word: the text it gets is the shared writer's.
    const late = await openSSE(`${server.origin}/streams/shared?format=words`, { headers: { 'last-event-id': '1' } });
    for (const event of events.slice(2)) upstream.next(event);
    for (const f of [...followers, late]) expect(await f.ended).toBe('end');
    expect(fed).toEqual([[0, 1, 2, 3, 4]]);
    for (const f of followers) expect(f.messages.map((m) => m.data)).toEqual(['1:a', '2:b', 'shared']);
    expect(late.messages.map((m) => m.data)).toEqual(['2:b', 'shared']);
  });

  it('a follower the hub cannot serve (its replay was trimmed) is cut with the format\'s own ending', async () => {
    const hub = new StreamHub({ log: new InMemoryChannelLog({ replayLimit: 3 }) });
    closers.push(() => hub.close());
    await hub.publish('trimmed', from(answerEvents(['one', ' two', ' three'])));
    const server = await serve(hub);
    const follower = await openSSE(`${server.origin}/streams/trimmed?format=words`);
    expect(await follower.ended).toBe('end');
    expect(follower.messages.map((m) => [m.event, m.data])).toEqual([['cut', 'trimmed gone before-any']]);
  });

  it('a stop reaches a format follower as its writer\'s error ending', async () => {
    const hub = newHub();
    const upstream = new Subject<TokenEvent>();
    await hub.publish('c3', upstream);
    const server = await serve(hub);
    const follower = await openSSE(`${server.origin}/streams/c3?format=words`);
    const [start, token] = answerEvents(['Hi']);
    upstream.next(start!);
    upstream.next(token!);
    await follower.waitFor((messages) => messages.length === 1);
    expect((await fetch(`${server.origin}/streams/c3/stop`, { method: 'POST' })).status).toBe(204);
    expect(await follower.ended).toBe('end');
    expect(follower.messages.map((m) => [m.event, m.data])).toEqual([
      ['word', '1:Hi'],
      ['failed', 'StreamAbortedError stopped'],
    ]);
    expect(upstream.observed).toBe(false);
  });

  it('the format and action options: a POST route that follows, in one format', async () => {
    const hub = newHub();
    const upstream = new Subject<TokenEvent>();
    await hub.publish('c4', upstream);
    const server = await serve(hub, { formats: [words], format: () => 'words', action: () => 'follow' });
    const follower = await openSSE(`${server.origin}/agent/c4`, { method: 'POST', body: '{}' });
    for (const event of answerEvents(['Posted'])) upstream.next(event);
    expect(await follower.ended).toBe('end');
    expect(follower.messages.map((m) => m.data)).toEqual(['1:Posted', 'c4']);
  });

  it('hub.fetch() serves formats too', async () => {
    const hub = newHub();
    const upstream = new Subject<TokenEvent>();
    await hub.publish('c5', upstream);
    for (const event of answerEvents(['Web'])) upstream.next(event);
    await new Promise((resolve) => setImmediate(resolve));
    const response = await hub.fetch(new Request('http://localhost/streams/c5?format=words'), { formats: [words] });
    expect(response.headers.get('x-format')).toBe('words');
    const text = await response.text();
    expect(text).toContain('event: word\ndata: 1:Web');
    expect(text).toContain('event: end\ndata: c5');
  });

  it('an unknown format is a 406 that names the ones there are; bad options are refused', async () => {
    const hub = newHub();
    await hub.publish('c6', new Subject<TokenEvent>());
    const server = await serve(hub);
    const response = await fetch(`${server.origin}/streams/c6?format=xml`);
    expect(response.status).toBe(406);
    expect(((await response.json()) as { error: string }).error).toMatch(/No format "xml".*words/);
    expect(() => hub.handler({ formats: words as never })).toThrow(expect.objectContaining({ field: 'options.formats' }));
    expect(() => hub.handler({ formats: [words, words] })).toThrow(expect.objectContaining({ field: 'options.formats[1]' }));
    expect(() => hub.handler({ formats: [{ name: 'x' } as never] })).toThrow(expect.objectContaining({ field: 'options.formats[0]' }));
    expect(() => hub.handler({ format: 'words' as never })).toThrow(expect.objectContaining({ field: 'options.format' }));
    expect(() => hub.handler({ action: 'follow' as never })).toThrow(expect.objectContaining({ field: 'options.action' }));
  });
});
