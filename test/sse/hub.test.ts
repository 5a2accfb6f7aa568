import fc from 'fast-check';
import { firstValueFrom, Observable, Subject, take, toArray } from 'rxjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ChannelNotFoundError, InvalidArgumentError, RemoteStreamError } from '../../src/errors.js';
import type { TokenEvent } from '../../src/events.js';
import { InMemoryChannelLog, type ChannelLog } from '../../src/sse/channel-log.js';
import { StreamHub, type HubMessage } from '../../src/sse/hub.js';
import { startMockProvider, type MockProvider } from '../../src/testing/index.js';
import { answerEvents as scripted, collectAll, textOf, tick } from '../helpers/hub.js';
import { makeProvider, rejectionOf } from '../helpers/mock.js';
import { budget } from '../helpers/budget.js';

const hubs: StreamHub[] = [];
const mocks: MockProvider[] = [];
afterEach(async () => {
  await Promise.all(hubs.splice(0).map((h) => h.close()));
  await Promise.all(mocks.splice(0).map((m) => m.close()));
});

function newHub(options: ConstructorParameters<typeof StreamHub>[0] = {}): StreamHub {
  const hub = new StreamHub(options);
  hubs.push(hub);
  return hub;
}

async function newMock(options: Parameters<typeof startMockProvider>[0]): Promise<MockProvider> {
  const mock = await startMockProvider(options);
  mocks.push(mock);
  return mock;
}

const WORDS = ['Streams', ' flow', ' through', ' one', ' hub', ' to', ' many', ' tabs', ' at', ' once', '.'];
const ANSWER = WORDS.join('');

const answerEvents = (words: readonly string[] = WORDS): TokenEvent[] => scripted(words);

/** The in-memory log with some methods replaced, to play a slow or failing shared store. */
function logWith(overrides: (inner: InMemoryChannelLog) => Partial<ChannelLog>): ChannelLog {
  const inner = new InMemoryChannelLog();
  return {
    create: inner.create.bind(inner),
    append: inner.append.bind(inner),
    read: inner.read.bind(inner),
    info: inner.info.bind(inner),
    watch: inner.watch.bind(inner),
    expire: inner.expire.bind(inner),
    close: inner.close.bind(inner),
    ...overrides(inner),
  };
}

const request = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'Say something.' }] };

describe('StreamHub.publish / subscribe (in process)', () => {
  it('gives every follower every event with dense ids, in order, and completes after done', async () => {
    const hub = newHub();
    const upstream = new Subject<TokenEvent>();
    await hub.publish('chan-1', upstream);
    const a = collectAll(hub.subscribe('chan-1'));
    const b = collectAll(hub.subscribe('chan-1'));
    for (const event of answerEvents()) {
      upstream.next(event);
      await tick();
    }
    for (const { messages, error } of await Promise.all([a, b])) {
      expect(error).toBeUndefined();
      expect(messages.map((m) => m.id)).toEqual(answerEvents().map((_, i) => i));
      expect(messages.map((m) => m.event)).toEqual(answerEvents());
      expect(textOf(messages)).toBe(ANSWER);
    }
  });

  it('subscribes to the upstream exactly once however many follow, and replays from the start to a late follower', async () => {
    const hub = newHub();
    let subscriptions = 0;
    const source = new Subject<TokenEvent>();
    const cold = new Observable<TokenEvent>((subscriber) => {
      subscriptions++;
      return source.subscribe(subscriber);
    });
    await hub.publish('chan-2', cold);
    const early = [collectAll(hub.subscribe('chan-2')), collectAll(hub.subscribe('chan-2'))];
    const events = answerEvents();
    for (const event of events.slice(0, 5)) source.next(event);
    await tick();
    const late = collectAll(hub.subscribe('chan-2'));
    for (const event of events.slice(5)) source.next(event);
    await tick();
    const afterEnd = collectAll(hub.subscribe('chan-2'));
    for (const { messages } of await Promise.all([...early, late, afterEnd])) {
      expect(messages.map((m) => m.event)).toEqual(events);
    }
    expect(subscriptions).toBe(1);
  });

  it('resumes after lastEventId with nothing lost and nothing twice, from any cut point (property)', async () => {
    const hub = newHub();
    const events = answerEvents();
    const upstream = new Subject<TokenEvent>();
    await hub.publish('chan-3', upstream);
    for (const event of events) upstream.next(event);
    await tick();
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: events.length }), { maxLength: 4 }), async (cuts) => {
        // Follow, leave after a few messages, come back with the last id seen: repeatedly.
        const seen: HubMessage[] = [];
        let lastEventId = -1;
        for (const count of cuts) {
          const part = await firstValueFrom(hub.subscribe('chan-3', { lastEventId }).pipe(take(count), toArray()), { defaultValue: [] });
          seen.push(...part);
          if (part.length > 0) lastEventId = part[part.length - 1]!.id;
        }
        const { messages } = await collectAll(hub.subscribe('chan-3', { lastEventId }));
        seen.push(...messages);
        expect(seen.map((m) => m.id)).toEqual(events.map((_, i) => i));
        expect(textOf(seen)).toBe(ANSWER);
      }),
      { numRuns: 60 },
    );
  });

  it('delivers live events to a follower that joined while the replay was being read', async () => {
    // A log whose reads are slow: events appended during the read must not be lost or doubled.
    const slowLog = logWith((inner) => ({
      read: async (channel, afterId, limit) => {
        const page = await inner.read(channel, afterId, limit);
        await new Promise((resolve) => setTimeout(resolve, 20));
        return page;
      },
    }));
    const hub = newHub({ log: slowLog });
    const upstream = new Subject<TokenEvent>();
    await hub.publish('chan-4', upstream);
    const events = answerEvents();
    for (const event of events.slice(0, 4)) upstream.next(event);
    await tick();
    const follower = collectAll(hub.subscribe('chan-4'));
    // These arrive while the follower's first read is in flight.
    for (const event of events.slice(4)) {
      upstream.next(event);
      await tick();
    }
    const { messages } = await follower;
    expect(messages.map((m) => m.id)).toEqual(events.map((_, i) => i));
  });

  it('a follower errors (and leaves) when the channel log fails under it', async () => {
    const failing = new Error('the shared store went away');
    const brokenLog = logWith(() => ({ read: () => Promise.reject(failing) }));
    const hub = newHub({ log: brokenLog });
    await hub.publish('chan-broken', new Subject<TokenEvent>());
    const { error } = await collectAll(hub.subscribe('chan-broken'));
    expect(error).toBe(failing);
    expect(hub.followerCount('chan-broken')).toBe(0);
  });

  it('when the log refuses a write, the upstream is cancelled and followers get reason "lost", never a silent wait', async () => {
    let appends = 0;
    const flakyLog = logWith((inner) => ({
      append: (channel, entries) => (++appends <= 2 ? inner.append(channel, entries) : Promise.reject(new Error('store down'))),
    }));
    const hub = newHub({ log: flakyLog });
    let cancelled = false;
    const upstream = new Subject<TokenEvent>();
    await hub.publish('chan-lost', new Observable<TokenEvent>((s) => {
      const inner$ = upstream.subscribe(s);
      return () => {
        cancelled = true;
        inner$.unsubscribe();
      };
    }));
    const follower = collectAll(hub.subscribe('chan-lost'));
    for (const event of answerEvents().slice(0, 4)) {
      upstream.next(event);
      await tick();
    }
    const { messages, error } = await follower;
    expect(messages.length).toBe(2);
    expect((error as RemoteStreamError).reason).toBe('lost');
    expect(cancelled).toBe(true);
  });

  it('errors with RemoteStreamError carrying the partial text when the upstream fails', async () => {
    const hub = newHub();
    const upstream = new Subject<TokenEvent>();
    await hub.publish('chan-5', upstream);
    const follower = collectAll(hub.subscribe('chan-5'));
    for (const event of answerEvents().slice(0, 4)) upstream.next(event);
    upstream.error(new InvalidArgumentError('x', 'boom for the test'));
    const { messages, error } = await follower;
    expect(textOf(messages)).toBe(WORDS.slice(0, 3).join(''));
    expect(RemoteStreamError.isInstance(error)).toBe(true);
    const remote = error as RemoteStreamError;
    expect(remote.remoteName).toBe('InvalidArgumentError');
    // The browser-bound message is fixed; the app's own text stays on the server (onError).
    expect(remote.message).toBe('The server set up the stream with an invalid argument.');
    expect(remote.partialText).toBe(WORDS.slice(0, 3).join(''));
  });

  it('treats an upstream that completes without done as an error, never a silent success', async () => {
    const hub = newHub();
    const upstream = new Subject<TokenEvent>();
    await hub.publish('chan-6', upstream);
    const follower = collectAll(hub.subscribe('chan-6'));
    for (const event of answerEvents().slice(0, 3)) upstream.next(event);
    upstream.complete();
    const { error } = await follower;
    expect(RemoteStreamError.isInstance(error)).toBe(true);
    expect((error as RemoteStreamError).remoteName).toBe('ProtocolError');
    expect((error as RemoteStreamError).partialText).toBe(WORDS.slice(0, 2).join(''));
  });

  it('ends a channel whose stream emits something that is not a TokenEvent with an error, and cancels it', async () => {
    const hub = newHub();
    let cancelled = false;
    const upstream = new Observable<TokenEvent>((subscriber) => {
      subscriber.next(answerEvents()[0]!);
      subscriber.next({ type: 'token', text: 'ok', index: 0, t: 1 });
      subscriber.next('not an event' as never);
      return () => (cancelled = true);
    });
    await hub.publish('chan-bad', upstream);
    const { messages, error } = await collectAll(hub.subscribe('chan-bad'));
    expect(messages.map((m) => m.event.type)).toEqual(['start', 'token']);
    expect((error as RemoteStreamError).remoteName).toBe('InvalidArgumentError');
    expect((error as RemoteStreamError).partialText).toBe('ok');
    expect(cancelled).toBe(true);
  });

  it('a sync source emitting something that is not a TokenEvent is let go of at once', async () => {
    const hub = newHub();
    let produced = 0;
    const upstream = new Observable<TokenEvent>((subscriber) => {
      subscriber.next(answerEvents()[0]!);
      for (let i = 0; i < 1e4 && !subscriber.closed; i++) {
        produced++;
        subscriber.next('not an event' as never);
      }
    });
    await hub.publish('chan-bad-sync', upstream);
    const { error } = await collectAll(hub.subscribe('chan-bad-sync'));
    expect((error as RemoteStreamError).remoteName).toBe('InvalidArgumentError');
    expect(produced).toBe(1);
  });

  it('a source that throws in its subscribe ends the channel with an error; publish resolves (RxJS and foreign Observables)', async () => {
    const reported: unknown[] = [];
    const hub = newHub({ graceMs: Infinity, onError: (error) => void reported.push(error) });
    const rxjsThrowing = new Observable<TokenEvent>(() => {
      throw new InvalidArgumentError('x', 'cannot start');
    });
    // Not an RxJS Observable: `publish` takes anything with subscribe(), and this one throws in it.
    const foreignThrowing = {
      subscribe(): never {
        throw new InvalidArgumentError('x', 'cannot start either');
      },
    } as unknown as Observable<TokenEvent>;
    for (const [channel, source, message] of [
      ['chan-throw-rx', rxjsThrowing, 'cannot start'],
      ['chan-throw-foreign', foreignThrowing, 'cannot start either'],
    ] as const) {
      reported.length = 0;
      await expect(hub.publish(channel, source)).resolves.toBeUndefined();
      const { messages, error } = await collectAll(hub.subscribe(channel));
      expect(messages).toEqual([]);
      expect(RemoteStreamError.isInstance(error)).toBe(true);
      expect((error as RemoteStreamError).remoteName).toBe('InvalidArgumentError');
      // Followers get the fixed message; the hub's onError got the error itself.
      expect((error as RemoteStreamError).message).toBe('The server set up the stream with an invalid argument.');
      expect(reported.map((e) => (e as Error).message)).toEqual([message]);
      expect((await hub.info(channel))?.finished).toBe(true);
    }
  });

  it("an event that makes the hub's own code throw ends the channel with an error and cancels the upstream", async () => {
    const hub = newHub({ graceMs: Infinity });
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const cases: Array<[string, TokenEvent]> = [
      // The answer so far cannot take this text in.
      ['chan-hub-throws-text', { type: 'token', text: Symbol('not text') as never, index: 1, t: 2 }],
      // Nor can this event be written to the log.
      ['chan-hub-throws-json', { type: 'citation', citation: cyclic, t: 2 }],
    ];
    for (const [channel, bad] of cases) {
      let cancelled = false;
      let after = 0;
      const upstream = new Observable<TokenEvent>((subscriber) => {
        subscriber.next(answerEvents()[0]!);
        subscriber.next({ type: 'token', text: 'ok', index: 0, t: 1 });
        subscriber.next(bad);
        if (!subscriber.closed) after++;
        subscriber.next({ type: 'done', stopReason: 'end', t: 3 });
        return () => (cancelled = true);
      });
      await expect(hub.publish(channel, upstream)).resolves.toBeUndefined();
      const { messages, error } = await collectAll(hub.subscribe(channel));
      expect(messages.map((m) => m.event.type)).toEqual(['start', 'token']);
      expect(RemoteStreamError.isInstance(error)).toBe(true);
      // Resumed from the log: the error follows the last event without a hole (a hole reads as gone).
      const resumed = await collectAll(hub.subscribe(channel, { lastEventId: 0 }));
      expect(resumed.messages.map((m) => m.event.type)).toEqual(['token']);
      expect((resumed.error as RemoteStreamError).reason).not.toBe('gone');
      expect(cancelled).toBe(true);
      expect(after).toBe(0);
    }
  });

  it('fails a resume from before the replay buffer with reason "gone" instead of skipping', async () => {
    const hub = newHub({ log: new InMemoryChannelLog({ replayLimit: 5 }) });
    const upstream = new Subject<TokenEvent>();
    await hub.publish('chan-7', upstream);
    for (const event of answerEvents()) upstream.next(event);
    await tick();
    const { messages, error } = await collectAll(hub.subscribe('chan-7', { lastEventId: 2 }));
    expect(messages).toEqual([]);
    expect(RemoteStreamError.isInstance(error)).toBe(true);
    expect((error as RemoteStreamError).reason).toBe('gone');
    // A resume inside the buffer still works.
    const last = answerEvents().length - 1;
    const tail = await collectAll(hub.subscribe('chan-7', { lastEventId: last - 3 }));
    expect(tail.messages.map((m) => m.id)).toEqual([last - 2, last - 1, last]);
  });

  it('close() ends every running channel with reason "stopped", delivered to its followers before they end', async () => {
    const hub = new StreamHub();
    let cancelled = false;
    const source = new Subject<TokenEvent>();
    await hub.publish('chan-close', new Observable<TokenEvent>((s) => {
      const inner = source.subscribe(s);
      return () => {
        cancelled = true;
        inner.unsubscribe();
      };
    }));
    const follower = collectAll(hub.subscribe('chan-close'));
    for (const event of answerEvents().slice(0, 3)) source.next(event);
    await hub.close();
    const { messages, error } = await follower;
    expect(textOf(messages)).toBe(WORDS.slice(0, 2).join(''));
    expect((error as RemoteStreamError).reason).toBe('stopped');
    expect(cancelled).toBe(true);
  });

  it('unknown channel: ChannelNotFoundError; finished channels expire after ttlMs', async () => {
    // Virtual time for the expiry timer: on a busy machine, real milliseconds could pass the ttl
    // before the first check (seen: the channel was already gone). `tick()` uses setImmediate, not faked.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const hub = newHub({ ttlMs: 30 });
      const unknown = await collectAll(hub.subscribe('no-such-channel'));
      expect(ChannelNotFoundError.isInstance(unknown.error)).toBe(true);
      const upstream = new Subject<TokenEvent>();
      await hub.publish('chan-8', upstream);
      for (const event of answerEvents()) upstream.next(event);
      await tick();
      await tick();
      expect((await hub.info('chan-8'))?.finished).toBe(true);
      await vi.advanceTimersByTimeAsync(29);
      expect((await hub.info('chan-8'))?.finished).toBe(true);
      await vi.advanceTimersByTimeAsync(1);
      expect(await hub.info('chan-8')).toBeUndefined();
      expect(ChannelNotFoundError.isInstance(await rejectionOf(hub.stop('chan-8')))).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });

  it('batchMs: events of several ticks share one append; the first token and done never wait', async () => {
    async function appendsWith(batchMs: number) {
      const appends: number[][] = [];
      const log = logWith((inner) => ({
        append: (channel, entries) => {
          appends.push(entries.map((e) => e.id));
          return inner.append(channel, entries);
        },
      }));
      const hub = newHub({ log, batchMs });
      const upstream = new Subject<TokenEvent>();
      await hub.publish('batched', upstream);
      const followed = collectAll(hub.subscribe('batched'));
      const events = answerEvents();
      for (const event of events) {
        upstream.next(event);
        // The next tick, after the hub's own deferred flush (setImmediate runs in order): a 2 ms
        // timer here could fire first on a loaded machine and put two events in one append.
        await new Promise((resolve) => setImmediate(resolve));
      }
      const { messages, error } = await followed;
      expect(error).toBeUndefined();
      expect(messages.map((m) => m.id)).toEqual(events.map((_, i) => i));
      expect(textOf(messages)).toBe(ANSWER);
      await log.close();
      return appends;
    }
    // One append per tick by default.
    expect(await appendsWith(0)).toHaveLength(answerEvents().length);
    // With a window: start and the first token at once (it does not wait for the window), then
    // one window for all the rest, closed early by done (which does not wait either).
    const windowed = await appendsWith(5_000);
    expect(windowed).toEqual([[0, 1], answerEvents().slice(2).map((_, i) => i + 2)]);
    expect(() => new StreamHub({ batchMs: -5 })).toThrow(/batchMs/);
  });

  it('while the log is busy with a write, the entries of the ticks meanwhile go out together in the next one', async () => {
    const appends: number[][] = [];
    let release: (() => void) | undefined;
    const log = logWith((inner) => ({
      append: async (channel, entries) => {
        appends.push(entries.map((e) => e.id));
        // The first write is slow (a loaded Redis): the test decides when it returns.
        if (appends.length === 1) await new Promise<void>((resolve) => (release = resolve));
        return inner.append(channel, entries);
      },
    }));
    const hub = newHub({ log });
    const upstream = new Subject<TokenEvent>();
    await hub.publish('busy', upstream);
    const followed = collectAll(hub.subscribe('busy'));
    const events = answerEvents();
    for (const event of events) {
      upstream.next(event);
      await new Promise((resolve) => setImmediate(resolve));
    }
    // Every tick flushed, but only the first write went out; the rest wait for it.
    expect(appends).toEqual([[0]]);
    release!();
    const { messages, error } = await followed;
    expect(error).toBeUndefined();
    expect(textOf(messages)).toBe(ANSWER);
    expect(appends).toEqual([[0], events.slice(1).map((_, i) => i + 1)]);
    await log.close();
  });

  it('rejects bad arguments with InvalidArgumentError before subscribing to anything', async () => {
    const hub = newHub();
    let subscribed = 0;
    const upstream = new Observable<TokenEvent>(() => {
      subscribed++;
    });
    for (const bad of ['', 'has space', 'a/b', 'x'.repeat(201), 42]) {
      const error = await rejectionOf(hub.publish(bad as string, upstream));
      expect(InvalidArgumentError.isInstance(error)).toBe(true);
      expect((error as InvalidArgumentError).field).toBe('channel');
    }
    expect(InvalidArgumentError.isInstance(await rejectionOf(hub.publish('ok', 'not a stream' as never)))).toBe(true);
    const typo = await rejectionOf(hub.publish('ok', upstream, { metta: {} } as never));
    expect((typo as Error).message).toContain('did you mean');
    expect(subscribed).toBe(0);
    await hub.publish('taken', upstream);
    const duplicate = await rejectionOf(hub.publish('taken', upstream));
    expect((duplicate as Error).message).toContain('already exists');
    expect(subscribed).toBe(1);
    expect(() => new StreamHub({ graceMs: -1 })).toThrow(/graceMs/);
    expect(() => new StreamHub({ log: {} as never })).toThrow(/ChannelLog/);
    expect(() => new StreamHub({ heartbeat: 5 } as never)).toThrow(/heartbeatMs/);
    // An Observable never throws: bad input is the error of its subscription.
    expect(() => hub.subscribe('ok', { lastEventId: 1.5 })).not.toThrow();
    await expect(firstValueFrom(hub.subscribe('ok', { lastEventId: 1.5 }))).rejects.toThrow(/lastEventId/);
  });
});

describe('StreamHub with a provider behind it (the mock over real HTTP)', () => {
  it('stop() cancels the upstream request for every follower, who get reason "stopped" and the partial text', async () => {
    const mock = await newMock({ flavor: 'openai', script: { tokens: 400 }, profile: { ttftMs: 0, tokensPerSecond: 100 } });
    const hub = newHub();
    await hub.publish('stop-me', makeProvider('openai', mock).stream(request));
    const followers = [collectAll(hub.subscribe('stop-me')), collectAll(hub.subscribe('stop-me'))];
    // Wait for a few tokens to go through.
    await firstValueFrom(hub.subscribe('stop-me').pipe(take(5), toArray()));
    expect(await hub.stop('stop-me')).toBe(true);
    for (const { messages, error } of await Promise.all(followers)) {
      expect(RemoteStreamError.isInstance(error)).toBe(true);
      expect((error as RemoteStreamError).reason).toBe('stopped');
      expect((error as RemoteStreamError).partialText).toBe(textOf(messages));
      expect(textOf(messages).length).toBeGreaterThan(0);
    }
    await mock.waitForClose(0, budget(10_000));
    expect(mock.responses[0]!.closedByClient).toBe(true);
    expect(mock.requests).toHaveLength(1);
    // Stopping again is harmless: the stream already ended.
    expect(await hub.stop('stop-me')).toBe(false);
  });

  it('disconnect is not stop: with every follower gone the upstream runs on within the grace period, and a returning follower resumes', async () => {
    const mock = await newMock({ flavor: 'anthropic', script: { tokens: 60 }, profile: { ttftMs: 0, tokensPerSecond: 400 } });
    const hub = newHub({ graceMs: 10_000 });
    await hub.publish('keep-going', makeProvider('anthropic', mock).stream({ ...request, maxTokens: 100 }));
    const firstPart = await firstValueFrom(hub.subscribe('keep-going').pipe(take(6), toArray()));
    expect(hub.followerCount('keep-going')).toBe(0);
    const rest = await collectAll(hub.subscribe('keep-going', { lastEventId: firstPart[firstPart.length - 1]!.id }));
    expect(rest.error).toBeUndefined();
    const all = [...firstPart, ...rest.messages];
    expect(all.map((m) => m.id)).toEqual(all.map((_, i) => i));
    expect(all[all.length - 1]!.event.type).toBe('done');
    expect(mock.responses[0]!.closedByClient).toBe(false);
    expect(mock.requests).toHaveLength(1);
  });

  it('cancels an abandoned upstream after graceMs with nobody following (the provider sees the socket close)', async () => {
    const mock = await newMock({ flavor: 'openai', script: { tokens: 2_000 }, profile: { ttftMs: 0, tokensPerSecond: 100 } });
    const hub = newHub({ graceMs: 150 });
    await hub.publish('abandoned', makeProvider('openai', mock).stream(request));
    await firstValueFrom(hub.subscribe('abandoned').pipe(take(3), toArray()));
    await mock.waitForClose(0, budget(10_000));
    expect(mock.responses[0]!.closedByClient).toBe(true);
    const { messages, error } = await collectAll(hub.subscribe('abandoned'));
    expect((error as RemoteStreamError).reason).toBe('abandoned');
    expect((error as RemoteStreamError).partialText).toBe(textOf(messages));
  });
});
