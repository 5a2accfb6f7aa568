/**
 * RedisChannelLog and RedisStreamHub in one process, against a real redis-server started on a free
 * loopback port (persistence off). Several hubs in one process stand for several servers: each has
 * its own connections and server id. The separate-process scenarios are in cluster.test.ts.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import fc from 'fast-check';
import { lastValueFrom, take, toArray } from 'rxjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RemoteStreamError } from '../../src/errors.js';
import type { TokenEvent } from '../../src/events.js';
import { RedisChannelLog, RedisStreamHub, type RedisStreamHubOptions } from '../../src/redis/index.js';
import { InMemoryChannelLog, type ChannelLog, type ChannelLogEntry } from '../../src/sse/channel-log.js';
import type { HubMessage } from '../../src/sse/hub.js';
import { garbageCollector } from '../helpers/handles.js';
import { answerEvents as scripted, collectAll, textOf, tick } from '../helpers/hub.js';
import { drivenUpstream, type RedisServer, skipWithoutRedis, startRedis, until } from '../helpers/redis.js';

const WORDS = ['Any', ' server', ' can', ' follow', ' any', ' channel', '.'];
const ANSWER = WORDS.join('');

const answerEvents = (words: readonly string[] = WORDS): TokenEvent[] => scripted(words);

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A fresh channel published on `hub`, with the test's upstream behind it. */
async function publishOn(hub: RedisStreamHub, options?: { meta: Record<string, unknown> }) {
  const channel = randomUUID();
  const up = drivenUpstream();
  await hub.publish(channel, up.stream$, options);
  return { channel, up };
}

describe.skipIf(skipWithoutRedis('RedisChannelLog'))('RedisChannelLog and RedisStreamHub (real redis-server)', () => {
  let server: RedisServer;
  let admin: Redis;
  const closers: Array<() => Promise<unknown>> = [];

  beforeAll(async () => {
    server = await startRedis();
    admin = new Redis(server.url);
    admin.on('error', () => {}); // it reconnects after the kill and restart tests
  });
  afterEach(async () => {
    await Promise.all(closers.splice(0).map((close) => close().catch(() => {})));
  });
  afterAll(async () => {
    admin?.disconnect();
    await server?.stop();
  });

  function newLog(options: Partial<ConstructorParameters<typeof RedisChannelLog>[0]> = {}): RedisChannelLog {
    const log = new RedisChannelLog({ redis: server.url, ...options });
    closers.push(() => log.close());
    return log;
  }

  function newHub(options: Partial<RedisStreamHubOptions> = {}): RedisStreamHub {
    const hub = new RedisStreamHub({ redis: server.url, ...options });
    closers.push(() => hub.close());
    return hub;
  }

  const entry = (id: number, type: string, text = `w${id}`): ChannelLogEntry => ({ id, type, data: JSON.stringify({ type, text }) });

  describe('the ChannelLog contract, the same as the in-memory log', () => {
    // The same script against both logs: a difference is a bug in the Redis one.
    async function script(log: ChannelLog, channel: string) {
      const seen: number[] = [];
      const created = await log.create(channel, { userId: 'u1' });
      const again = await log.create(channel, {});
      const unwatch = log.watch(channel, (entries) => seen.push(...entries.map((e) => e.id)));
      const empty = await log.info(channel);
      await log.append(channel, [entry(0, 'start')]);
      await log.append(channel, [entry(1, 'token'), entry(2, 'token'), { ...entry(3, 'token'), extra: 'event: answer_streaming\ndata: {}\n\n' }]);
      await log.append(channel, [entry(4, 'usage'), entry(5, 'done')]);
      await until(() => seen.length === 6, 'the watcher to see every entry');
      unwatch();
      return {
        created,
        again,
        empty: { ...empty, createdAt: 0 },
        all: await log.read(channel, -1, 100),
        afterTwo: await log.read(channel, 2, 100),
        limited: await log.read(channel, 0, 2),
        pastEnd: await log.read(channel, 5, 100),
        info: { ...(await log.info(channel)), createdAt: 0 },
        unknownRead: await log.read(`${channel}-nope`, -1, 10),
        unknownInfo: await log.info(`${channel}-nope`),
        seen,
      };
    }

    it('create, append, read, info and watch agree entry for entry', async () => {
      const memory = new InMemoryChannelLog();
      const redis = newLog();
      const channel = randomUUID();
      const [a, b] = [await script(memory, channel), await script(redis, channel)];
      expect(b).toEqual(a);
      expect(b.all!.map((e) => e.id)).toEqual([0, 1, 2, 3, 4, 5]);
      expect(b.all![3]!.extra).toBe('event: answer_streaming\ndata: {}\n\n');
      expect(b.info).toMatchObject({ nextId: 6, firstId: 0, finished: true, meta: { userId: 'u1' } });
      await memory.close();
    });

    it('expire deletes the channel after ttlMs; a finished channel releases its lease', async () => {
      const log = newLog();
      const channel = randomUUID();
      await log.create(channel, {});
      expect(await admin.get(`tokenflow:l:${channel}`)).toBe(log.serverId);
      await log.append(channel, [entry(0, 'start'), entry(1, 'done')]);
      expect(await admin.exists(`tokenflow:l:${channel}`)).toBe(0);
      await log.expire(channel, 300);
      const ttl = await admin.pttl(`tokenflow:s:${channel}`);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(300);
      await until(async () => (await log.info(channel)) === undefined, 'the channel to expire');
      expect(await admin.exists(`tokenflow:s:${channel}`, `tokenflow:m:${channel}`)).toBe(0);
    });

    it('a running channel carries the safety TTL, so an abandoned one cannot stay forever', async () => {
      const log = newLog({ idleTtlMs: 60_000 });
      const channel = randomUUID();
      await log.create(channel, {});
      await log.append(channel, [entry(0, 'start')]);
      for (const key of [`tokenflow:s:${channel}`, `tokenflow:m:${channel}`]) {
        const ttl = await admin.pttl(key);
        expect(ttl).toBeGreaterThan(50_000);
        expect(ttl).toBeLessThanOrEqual(60_000);
      }
    });

    it('trims to maxLen entries; a resume from before the oldest kept one is told it is gone', async () => {
      const hub = newHub({ maxLen: 10 });
      const { channel, up } = await publishOn(hub);
      const words = Array.from({ length: 300 }, (_, i) => `t${i} `);
      // One stream entry per event: each is stored before the next is recorded (events recorded while
      // a write is in flight would share the next entry, and MAXLEN counts entries).
      for (const [i, event] of answerEvents(words).entries()) {
        up.subject.next(event);
        await until(async () => (await hub.info(channel))?.nextId === i + 1, `event ${i} stored`);
      }
      await until(async () => (await hub.info(channel))?.finished === true, 'the answer to finish');
      const info = (await hub.info(channel))!;
      // MAXLEN ~ trims whole radix-tree nodes: at least maxLen kept, far fewer than written.
      expect(info.firstId).toBeGreaterThan(100);
      expect(info.nextId).toBe(303);
      const resumed = await collectAll(hub.subscribe(channel, { lastEventId: 5 }));
      expect(resumed.messages).toEqual([]);
      expect(resumed.error).toBeInstanceOf(RemoteStreamError);
      expect((resumed.error as RemoteStreamError).reason).toBe('gone');
      // A resume inside the kept range gets exactly the rest.
      const tail = await collectAll(hub.subscribe(channel, { lastEventId: 295 }));
      expect(tail.messages.map((m) => m.id)).toEqual([296, 297, 298, 299, 300, 301, 302]);
      expect(tail.error).toBeUndefined();
    });

    it('events Redis lost (a hole in the ids) reach followers as reason gone, never as a silent skip', async () => {
      const hub = newHub();
      const { channel, up } = await publishOn(hub);
      const events = answerEvents(Array.from({ length: 10 }, (_, i) => `h${i} `));
      for (const [i, event] of events.slice(0, 7).entries()) {
        up.subject.next(event);
        // Stored before the next is recorded, so each is a stream entry of its own.
        await until(async () => (await hub.info(channel))?.nextId === i + 1, `event ${i} stored`);
      }
      await until(async () => (await hub.info(channel))?.nextId === 7, 'seven events stored');
      const live = collectAll(hub.subscribe(channel));
      await until(() => hub.followerCount(channel) === 1, 'the live follower');
      // Events 3 and 4 vanish (each was its own stream entry, with stream id <id + 1>-0).
      await admin.xdel(`tokenflow:s:${channel}`, '4-0', '5-0');
      const replay = await collectAll(newHub().subscribe(channel));
      expect(replay.messages.map((m) => m.id)).toEqual([0, 1, 2]);
      expect((replay.error as RemoteStreamError).reason).toBe('gone');
      // Live: two entries in one read, with a hole between them.
      const field = (id: number) => ['i', String(id), 't', 'token', 'd', JSON.stringify({ type: 'token', text: `x${id}`, index: id, t: id })];
      await admin.multi().xadd(`tokenflow:s:${channel}`, '8-0', ...field(7)).xadd(`tokenflow:s:${channel}`, '10-0', ...field(9)).exec();
      const followed = await live;
      expect(followed.messages.map((m) => m.id)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
      expect((followed.error as RemoteStreamError).reason).toBe('gone');
    });

    it('a batch sent again after a dropped reply is stored once; a different batch at a used id is refused', async () => {
      const log = newLog();
      const channel = randomUUID();
      await log.create(channel, {});
      const batch = [entry(0, 'start'), entry(1, 'token')];
      await log.append(channel, batch);
      await log.append(channel, batch); // what ioredis does when a connection drops before the reply
      expect((await log.read(channel, -1, 10))!.map((e) => e.id)).toEqual([0, 1]);
      await expect(log.append(channel, [entry(0, 'start'), entry(1, 'token', 'other')])).rejects.toThrow(/cannot write channel/);
    });
  });

  it('keeps nothing of an answered command while the log runs (each was raced against the close)', async () => {
    // Racing every command against one promise that settles only at close kept each result (about
    // 340 bytes per command, for the life of the log).
    const gc = garbageCollector();
    if (!gc) throw new Error('no garbage collector available (v8.setFlagsFromString(--expose-gc) failed)');
    const log = newLog();
    const channel = randomUUID();
    await log.create(channel, {});
    await log.append(channel, [entry(0, 'start'), entry(1, 'token')]);
    const results = [new WeakRef((await log.read(channel, -1, 10))!), new WeakRef((await log.info(channel))!)];
    expect(results.every((ref) => ref.deref() !== undefined)).toBe(true);
    for (let i = 0; i < 3; i++) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      gc();
    }
    expect(results.map((ref) => ref.deref())).toEqual([undefined, undefined]);
  });

  describe('many servers in one process', () => {
    it('publish on A, follow on B, resume on C: the same ids and text everywhere', async () => {
      const [a, b, c] = [newHub(), newHub(), newHub()];
      const { channel, up } = await publishOn(a, { meta: { userId: 'u1' } });
      const onB = collectAll(b.subscribe(channel));
      const events = answerEvents();
      for (const event of events.slice(0, 4)) up.subject.next(event);
      await until(() => b.followerCount(channel) === 1, 'B to follow');
      await sleep(30);
      for (const event of events.slice(4)) {
        up.subject.next(event);
        await tick();
      }
      const followed = await onB;
      expect(followed.error).toBeUndefined();
      expect(followed.messages.map((m) => m.id)).toEqual(events.map((_, i) => i));
      expect(textOf(followed.messages)).toBe(ANSWER);
      const resumed = await collectAll(c.subscribe(channel, { lastEventId: 3 }));
      expect(resumed.messages.map((m) => m.id)).toEqual(events.slice(4).map((_, i) => i + 4));
      expect(textOf(followed.messages.slice(0, 4)) + textOf(resumed.messages)).toBe(ANSWER);
      expect((await c.info(channel))!.meta).toEqual({ userId: 'u1' });
    });

    it('a follower that leaves and resumes on any server, at any points, mid-answer, gets every id once (property)', async () => {
      const servers = [newHub(), newHub(), newHub()];
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 1, max: 12 })), { minLength: 1, maxLength: 6 }),
          async (plan) => {
            const { channel, up } = await publishOn(servers[0]!);
            const words = Array.from({ length: 40 }, (_, i) => `p${i} `);
            const events = answerEvents(words);
            const emitting = (async () => {
              for (const event of events) {
                up.subject.next(event);
                await sleep(1);
              }
            })();
            const seen: HubMessage[] = [];
            for (let leg = 0; seen[seen.length - 1]?.event.type !== 'done'; leg++) {
              // Follow on the plan's server for the plan's number of events, then leave; the last
              // leg (or running out of plan) follows to the end.
              const [server, count] = plan[leg % plan.length]!;
              const lastEventId = seen.length === 0 ? undefined : seen[seen.length - 1]!.id;
              const stream$ = servers[server]!.subscribe(channel, lastEventId === undefined ? {} : { lastEventId });
              seen.push(...(await lastValueFrom((leg < plan.length ? stream$.pipe(take(count)) : stream$).pipe(toArray()))));
            }
            await emitting;
            expect(seen.map((m) => m.id)).toEqual(events.map((_, i) => i));
            expect(textOf(seen)).toBe(words.join(''));
          },
        ),
        { numRuns: 12, seed: Number(process.env.TOKENFLOW_SEED ?? 42) },
      );
    });

    it('followers on one server share one blocking reader connection, whatever their number', async () => {
      const [a, b] = [newHub(), newHub()];
      const channels = Array.from({ length: 20 }, () => randomUUID());
      const ups = channels.map(() => drivenUpstream());
      await Promise.all(channels.map((channel, i) => a.publish(channel, ups[i]!.stream$)));
      const followers = channels.flatMap((channel) => [collectAll(b.subscribe(channel)), collectAll(b.subscribe(channel))]);
      await until(() => channels.every((channel) => b.followerCount(channel) === 2), 'every follower');
      const list = await admin.client('LIST');
      const readers = String(list).split('\n').filter((line) => line.includes(`name=tokenflow-reader-${b.log.serverId.slice(0, 8)}`));
      expect(readers).toHaveLength(1);
      for (const up of ups) for (const event of answerEvents()) up.subject.next(event);
      for (const result of await Promise.all(followers)) {
        expect(result.error).toBeUndefined();
        expect(textOf(result.messages)).toBe(ANSWER);
      }
    });

    it('one XADD per channel per tick: events recorded in one tick are one command', async () => {
      const a = newHub();
      const { channel, up } = await publishOn(a);
      const before = a.log.stats.appends;
      const events = answerEvents();
      // Two ticks: the first event alone, then all the rest synchronously.
      up.subject.next(events[0]!);
      await tick();
      await tick();
      for (const event of events.slice(1)) up.subject.next(event);
      await until(async () => (await a.info(channel))?.finished === true, 'the answer to finish');
      expect(a.log.stats.appends - before).toBe(2);
      expect((await a.log.read(channel, -1, 100))!.map((e) => e.id)).toEqual(events.map((_, i) => i));
    });

    it('stop on B cancels the upstream on A; every follower gets reason stopped with the partial text', async () => {
      const [a, b] = [newHub(), newHub()];
      const { channel, up } = await publishOn(a);
      const onA = collectAll(a.subscribe(channel));
      const onB = collectAll(b.subscribe(channel));
      const events = answerEvents();
      for (const event of events.slice(0, 3)) up.subject.next(event);
      await until(() => b.followerCount(channel) === 1, 'B to follow');
      await sleep(20);
      expect(await b.stop(channel)).toBe(true);
      for (const result of await Promise.all([onA, onB])) {
        expect(result.error).toBeInstanceOf(RemoteStreamError);
        expect((result.error as RemoteStreamError).reason).toBe('stopped');
        expect((result.error as RemoteStreamError).partialText).toBe(WORDS.slice(0, 2).join(''));
      }
      expect(up.cancelled()).toBe(true);
      expect(await b.stop(channel)).toBe(false);
      await expect(b.stop(randomUUID())).rejects.toThrow(/no channel|not found|never published|expired/i);
    });

    it('a server that stops renewing its lease: followers elsewhere get reason lost, and its late writes are refused', async () => {
      const a = newHub({ leaseMs: 300 });
      const b = newHub({ leaseMs: 300 });
      const { channel, up } = await publishOn(a);
      const events = answerEvents();
      for (const event of events.slice(0, 4)) up.subject.next(event);
      const onB = collectAll(b.subscribe(channel));
      await until(() => b.followerCount(channel) === 1, 'B to follow');
      // A freezes: its lease lapses as if it had died (the key is deleted rather than waiting).
      await admin.del(`tokenflow:l:${channel}`);
      const lost = await onB;
      expect(lost.error).toBeInstanceOf(RemoteStreamError);
      expect((lost.error as RemoteStreamError).reason).toBe('lost');
      expect((lost.error as RemoteStreamError).partialText).toBe(WORDS.slice(0, 3).join(''));
      // Every server sees the same end: the error is in the channel.
      const late = await collectAll(newHub().subscribe(channel));
      expect(textOf(late.messages)).toBe(WORDS.slice(0, 3).join(''));
      expect((late.error as RemoteStreamError).reason).toBe('lost');
      // A learns at its next renewal and cancels its upstream; any write it still makes is refused.
      await until(() => up.cancelled(), 'A to cancel its upstream');
      const ids = (await b.log.read(channel, -1, 100))!.map((e) => e.id);
      expect(ids).toEqual([0, 1, 2, 3, 4]);
    });

    it('grace across servers: a follower on B keeps A\'s upstream going; nobody anywhere abandons it', async () => {
      const a = newHub({ graceMs: 150, leaseMs: 300 });
      const b = newHub({ leaseMs: 300 });
      const followed = drivenUpstream();
      const lonely = drivenUpstream();
      const [c1, c2] = [randomUUID(), randomUUID()];
      await a.publish(c1, followed.stream$);
      await a.publish(c2, lonely.stream$);
      const onB = collectAll(b.subscribe(c1));
      followed.subject.next(answerEvents()[0]!);
      await sleep(600);
      expect(followed.cancelled()).toBe(false);
      expect(lonely.cancelled()).toBe(true);
      for (const event of answerEvents().slice(1)) followed.subject.next(event);
      expect(textOf((await onB).messages)).toBe(ANSWER);
    });

    it('the connections dropped mid-answer (CLIENT KILL): they reconnect and nothing is lost or repeated', async () => {
      const [a, b] = [newHub(), newHub()];
      const { channel, up } = await publishOn(a);
      const onB = collectAll(b.subscribe(channel));
      const words = Array.from({ length: 60 }, (_, i) => `k${i} `);
      const events = answerEvents(words);
      await until(() => b.followerCount(channel) === 1, 'B to follow');
      for (const [i, event] of events.entries()) {
        up.subject.next(event);
        if (i === 20 || i === 40) await admin.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
        await sleep(2);
      }
      const result = await onB;
      expect(result.error).toBeUndefined();
      expect(result.messages.map((m) => m.id)).toEqual(events.map((_, i) => i));
      expect(textOf(result.messages)).toBe(words.join(''));
      expect(up.cancelled()).toBe(false);
    });

    it('Redis unreachable for longer than leaseMs: every follower gets reason lost and the owner stops paying', async () => {
      const a = newHub({ leaseMs: 600 });
      const b = newHub({ leaseMs: 600 });
      const { channel, up } = await publishOn(a);
      const onA = collectAll(a.subscribe(channel));
      const onB = collectAll(b.subscribe(channel));
      const events = answerEvents();
      await until(() => b.followerCount(channel) === 1, 'B to follow');
      for (const event of events.slice(0, 4)) up.subject.next(event);
      await until(async () => (await b.info(channel))?.nextId === 4, 'four events stored');
      await sleep(50);
      await server.kill();
      try {
        for (const result of await Promise.all([onA, onB])) {
          expect((result.error as RemoteStreamError).reason).toBe('lost');
          expect((result.error as RemoteStreamError).message).toMatch(/connection to Redis/);
          expect((result.error as RemoteStreamError).partialText).toBe(textOf(result.messages));
          expect(result.messages.map((m) => m.id)).toEqual([0, 1, 2, 3]);
        }
        await until(() => up.cancelled(), 'the owner to cancel its upstream');
      } finally {
        await server.restart();
      }
    });

    describe('live delivery: owners push stored entries to the servers that follow', () => {
      /** Emits `events` on `up` a few at a time, with a pause between, calling `at(i)` before event i. */
      async function drive(up: ReturnType<typeof drivenUpstream>, events: TokenEvent[], at?: (i: number) => Promise<void> | void) {
        for (const [i, event] of events.entries()) {
          await at?.(i);
          up.subject.next(event);
          if (i % 4 === 3) await sleep(2);
        }
      }
      /**
       * Emits `events` from the first until A has pushed to B, after at least `min` of them and
       * keeping `reserve` for later; returns how many it emitted. A pushes only when it appends after
       * reading B's announcement, so the wait must go on appending: a test that stopped appending and
       * waited could wait forever when A read the announcement after its last append (as it may on a
       * loaded machine). Past `min`, every event waits 10 ms for A's reader to catch up.
       */
      async function driveUntilPushed(up: ReturnType<typeof drivenUpstream>, a: RedisStreamHub, events: TokenEvent[], min: number, reserve = 20): Promise<number> {
        await drive(up, events.slice(0, min - 1));
        for (let i = min - 1; i < events.length - reserve; i++) {
          up.subject.next(events[i]!);
          await sleep(10);
          if (a.log.stats.publishes > 0) return i + 1;
        }
        throw new Error(`A never pushed to B in ${events.length - reserve} events`);
      }
      const live = (b: RedisStreamHub) => `tokenflow:live:${b.log.serverId}`;
      /** A channel published on A and followed on B (B's reader has it), with `count` words ready. */
      async function followedOnB(count: number, prefix: string, options: Partial<RedisStreamHubOptions> = {}) {
        const [a, b] = [newHub(options), newHub(options)];
        const { channel, up } = await publishOn(a);
        const onB = collectAll(b.subscribe(channel));
        await until(() => b.followerCount(channel) === 1, 'B to follow');
        const words = Array.from({ length: count }, (_, i) => `${prefix}${i} `);
        return { a, b, channel, up, onB, words, events: answerEvents(words) };
      }
      /** B got every event once, in order, and the whole text. */
      function expectWhole(result: Awaited<ReturnType<typeof collectAll>>, events: TokenEvent[], words: string[]): void {
        expect(result.error).toBeUndefined();
        expect(result.messages.map((m) => m.id)).toEqual(events.map((_, i) => i));
        expect(textOf(result.messages)).toBe(words.join(''));
      }

      it('a follower on another server is pushed the entries: its blocking reader is left out of a running answer', async () => {
        const { a, b, up, onB, words, events } = await followedOnB(400, 'v');
        // The first events come from the stream until A has read B's announcement and pushes.
        const sent = await driveUntilPushed(up, a, events, 20, 180);
        const reads = b.log.stats.reads;
        await drive(up, events.slice(sent));
        const result = await onB;
        expectWhole(result, events, words);
        // Read from its stream, B would wake once per entry or so (180 or more of them); pushed, it does not.
        expect(b.log.stats.reads - reads).toBeLessThan(20);
      });

      it("an event leaves for Redis in the turn of the event loop that recorded it, not the next one", async () => {
        const { a, channel, up, onB, words, events } = await followedOnB(120, 'n');
        const sent = await driveUntilPushed(up, a, events, 20, 60);
        // Nothing of the channel in flight: the next event is written at once, not behind another.
        await until(async () => (await a.info(channel))?.nextId === sent, 'every event so far stored');
        const { publishes, other } = a.log.stats;
        up.subject.next(events[sent]!);
        // This callback was queued after the hub's own flush: by the time it runs, the event's
        // store-and-push script must be on its way (a second turn of the loop would delay every push).
        await new Promise<void>((resolve) => setImmediate(resolve));
        expect(a.log.stats.publishes - publishes).toBe(1);
        expect(a.log.stats.other - other).toBe(1);
        await drive(up, events.slice(sent + 1));
        expectWhole(await onB, events, words);
      });

      it('Redis forgetting the push script (SCRIPT FLUSH) costs a resend, nothing else; the lease goes only after the last entry is stored', async () => {
        const { a, channel, up, onB, words, events } = await followedOnB(80, 'f');
        const sent = await driveUntilPushed(up, a, events, 10, 40);
        await admin.script('FLUSH');
        await drive(up, events.slice(sent, -1));
        await admin.script('FLUSH');
        // The terminal entry's script is refused once: its lease must outlive that refusal.
        up.subject.next(events[events.length - 1]!);
        expectWhole(await onB, events, words);
        await until(async () => (await a.info(channel))?.finished === true, 'the channel to be finished in Redis');
        await until(async () => (await admin.exists(`tokenflow:l:${channel}`)) === 0, 'the lease to be released');
      });

      it('pushes lost while the subscriber reconnects (CLIENT KILL TYPE pubsub): the stream fills in, nothing lost or repeated', async () => {
        const { up, onB, words, events } = await followedOnB(120, 's');
        await drive(up, events, async (i) => {
          if (i === 30 || i === 80) await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
        });
        const result = await onB;
        expectWhole(result, events, words);
      });

      it('a push that skips ids is not delivered: the channel goes back to its stream, which brings every id once', async () => {
        const { a, b, channel, up, onB, words, events } = await followedOnB(400, 'g');
        const sent = await driveUntilPushed(up, a, events, 30, 50);
        // A message for ids far ahead (as if the ones between went missing), and one that is not JSON.
        const skip = sent + 30;
        const ahead = JSON.stringify([[channel, `${skip + 1}-0`, 'i', String(skip), 't', 'token', 'd', JSON.stringify({ type: 'token', text: 'FORGED', index: skip })]]);
        await admin.publish(live(b), ahead);
        await admin.publish(live(b), 'not json');
        await drive(up, events.slice(sent));
        const result = await onB;
        expectWhole(result, events, words);
      });

      /** A hub whose Redis user may run every command on every key but use no pub/sub channel. */
      async function noPubSubHub(): Promise<RedisStreamHub> {
        const user = `no-pubsub-${randomUUID().slice(0, 8)}`;
        await admin.call('ACL', 'SETUSER', user, 'on', '>pw', '~*', 'resetchannels', '+@all');
        const hub = new RedisStreamHub({ redis: server.url.replace('redis://', `redis://${user}:pw@`) });
        // The user goes once the hub is closed (deleting it first would cut its connections under it).
        closers.push(async () => {
          await hub.close();
          await admin.call('ACL', 'DELUSER', user);
        });
        return hub;
      }

      it('an owner whose Redis user may not publish: its entries are stored all the same, B reads them from the stream, and A stops trying', async () => {
        // PUBLISH is refused, inside the script too.
        const a = await noPubSubHub();
        const b = newHub();
        const { channel, up } = await publishOn(a);
        const onB = collectAll(b.subscribe(channel));
        await until(() => b.followerCount(channel) === 1, 'B to follow');
        const words = Array.from({ length: 400 }, (_, i) => `n${i} `);
        const events = answerEvents(words);
        // Until B's announcement reaches A, whose appends then go through the script and try to push
        // (a bound of 360 events 10 ms apart, where A usually needs a few).
        let sent = 0;
        while (sent < events.length - 40 && a.log.stats.publishes === 0) {
          up.subject.next(events[sent++]!);
          await sleep(10);
        }
        expect(a.log.stats.publishes).toBeGreaterThan(0);
        // A round trip on A's command connection: the script's reply (the refusal) came before it.
        await a.log.info(channel);
        const tried = a.log.stats.publishes;
        await drive(up, events.slice(sent));
        expectWhole(await onB, events, words);
        // Refused once, A stores without pushing: no script more for the remaining 40 or more events.
        expect(a.log.stats.publishes).toBe(tried);
        expect(up.cancelled()).toBe(false);
      });

      it('a follower whose Redis user may not subscribe: it announces nothing, and reads the whole answer from the stream', async () => {
        const a = newHub();
        const b = await noPubSubHub();
        const { channel, up } = await publishOn(a);
        const onB = collectAll(b.subscribe(channel));
        await until(() => b.followerCount(channel) === 1, 'B to follow');
        const words = Array.from({ length: 60 }, (_, i) => `m${i} `);
        const events = answerEvents(words);
        await drive(up, events);
        expectWhole(await onB, events, words);
        // Nobody announced: A wrote with plain appends and pushed nothing.
        expect(a.log.stats.publishes).toBe(0);
      });

      it('an owner that stops pushing without a word: the quiet check sees the stream moved on, and the follower reads it', async () => {
        const { a, b, channel, up, onB, words, events } = await followedOnB(200, 'q', { leaseMs: 300 });
        const sent = await driveUntilPushed(up, a, events, 20);
        // A hears that B left (B did not): it pushes nothing more, and B takes the channel as live.
        // A's blocking read returns with the notice, which A handles before it reads again.
        const reads = a.log.stats.reads;
        await admin.call('XADD', 'tokenflow:control', '*', 'u', channel, 's', b.log.serverId);
        await until(() => a.log.stats.reads > reads, 'A to read the notice');
        const pushes = a.log.stats.publishes;
        await drive(up, events.slice(sent));
        const result = await onB;
        expect(a.log.stats.publishes).toBe(pushes);
        expectWhole(result, events, words);
      });
    });

    it('Redis restarts empty mid-answer: the owner cancels its upstream and followers get reason lost; then 404', async () => {
      const a = newHub({ leaseMs: 600 });
      const b = newHub({ leaseMs: 600 });
      const { channel, up } = await publishOn(a);
      const onA = collectAll(a.subscribe(channel));
      const onB = collectAll(b.subscribe(channel));
      const events = answerEvents(Array.from({ length: 40 }, (_, i) => `r${i} `));
      await until(() => b.followerCount(channel) === 1, 'B to follow');
      for (const event of events.slice(0, 10)) up.subject.next(event);
      await sleep(50);
      await server.restart();
      // The owner keeps getting tokens from its provider; its next write finds the channel gone.
      for (const event of events.slice(10, 20)) {
        up.subject.next(event);
        await sleep(20);
      }
      for (const result of await Promise.all([onA, onB])) {
        expect(result.error).toBeInstanceOf(RemoteStreamError);
        expect((result.error as RemoteStreamError).reason).toBe('lost');
        // The text each follower actually received, not what the owner recorded but never stored.
        expect((result.error as RemoteStreamError).partialText).toBe(textOf(result.messages));
        // Nothing was delivered twice or out of order before the error.
        const ids = result.messages.map((m) => m.id);
        expect(ids).toEqual(ids.map((_, i) => i));
      }
      await until(() => up.cancelled(), 'the owner to cancel its upstream');
      expect(await b.info(channel)).toBeUndefined();
    });
  });
});
