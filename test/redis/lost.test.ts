/**
 * Lost owners and lost followers of the Redis log against a real redis-server: a notice that Redis
 * cannot carry takes no id (a follower ahead of the others still ends), and an owner whose writes
 * fail because Redis is full (`maxmemory`, `noeviction`) has its channel finished for followers
 * everywhere. Every wait is for an event; the only clocks are vitest's hang guards, scaled for load.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Observable } from 'rxjs';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { SerializedStreamError } from '../../src/errors.js';
import { RemoteStreamError } from '../../src/errors.js';
import { RedisChannelLog, RedisStreamHub, type RedisStreamHubOptions } from '../../src/redis/index.js';
import { lostOwnerHooks } from '../../src/redis/lost.js';
import type { TokenEvent } from '../../src/events.js';
import type { ChannelLogEntry } from '../../src/sse/channel-log.js';
import type { HubMessage } from '../../src/sse/hub.js';
import { answerEvents } from '../helpers/hub.js';
import { deferred, drivenUpstream, type RedisServer, skipWithoutRedis, startRedis, startRedisWithAdmin } from '../helpers/redis.js';
import { setupOnce } from '../helpers/setup.js';

const WORDS = ['Nothing', ' waits', ' for', ' a', ' notice', ' that', ' never', ' comes', '.'];

/** A follower whose progress can be awaited: `received(n)` resolves once it holds n messages. */
function follow(stream$: Observable<HubMessage>) {
  const messages: HubMessage[] = [];
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  const ended = new Promise<unknown>((resolve) => {
    stream$.subscribe({
      next: (m) => {
        messages.push(m);
        for (const w of waiters.filter((w) => messages.length >= w.n)) w.resolve();
      },
      error: (error: unknown) => resolve(error),
      complete: () => resolve(undefined),
    });
  });
  return {
    messages,
    ended,
    received: (n: number) => (messages.length >= n ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ n, resolve }))),
  };
}

/** The id of a connection of `serverId`'s log (`cmd` or `reader`), from `CLIENT LIST`. */
async function clientId(admin: Redis, kind: 'cmd' | 'reader' | 'sub', serverId: string): Promise<string> {
  const list = String(await admin.client('LIST'));
  const line = list.split('\n').find((l) => l.includes(`name=tokenflow-${kind}-${serverId.slice(0, 8)}`));
  const id = line && /\bid=(\d+)/.exec(line)?.[1];
  if (!id) throw new Error(`no ${kind} connection of ${serverId} in CLIENT LIST`);
  return id;
}

describe.skipIf(skipWithoutRedis('Redis lost owners'))('Redis lost owners and followers (real redis-server)', () => {
  const redis = setupOnce(startRedisWithAdmin);
  const closers: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    lostOwnerHooks.beforeStep = undefined;
    // In reverse: hubs close before the Redis server or user they use goes away.
    for (const close of closers.splice(0).reverse()) await close().catch(() => {});
  });
  afterAll(async () => {
    const { server, admin } = redis();
    admin.disconnect();
    await server.stop();
  });

  function newHub(url: string, options: Partial<RedisStreamHubOptions> = {}): RedisStreamHub {
    const hub = new RedisStreamHub({ redis: url, ...options });
    closers.push(() => hub.close());
    return hub;
  }

  it('a failure Redis cannot carry goes to the watchers\' failure path with no id, also for a watcher that joins after it', async () => {
    const { server, admin } = redis();
    const owner = new RedisChannelLog({ redis: server.url, leaseMs: 300 });
    const follower = new RedisChannelLog({ redis: server.url, leaseMs: 300 });
    closers.push(() => owner.close(), () => follower.close());
    const channel = randomUUID();
    await owner.create(channel, {});
    await owner.append(channel, [{ id: 0, type: 'start', data: '{"type":"start"}' }]);

    const outcome = (watcher: 'first' | 'late') => {
      const told = deferred<{ watcher: string; entries?: readonly ChannelLogEntry[]; error?: SerializedStreamError }>();
      const unwatch = follower.watch(
        channel,
        (entries) => told.resolve({ watcher, entries }),
        (error) => told.resolve({ watcher, error }),
      );
      return { told: told.promise, unwatch };
    };
    const first = outcome('first');
    // The channel vanishes from Redis (deleted, evicted, or lost in a restart): there is nowhere to
    // write a notice, so this server tells its own watchers.
    await admin.del(`tokenflow:m:${channel}`, `tokenflow:s:${channel}`);
    const told = await first.told;
    expect(told.entries).toBeUndefined();
    expect(told.error).toMatchObject({ type: 'error', name: 'RemoteStreamError', reason: 'lost' });
    expect(told.error!.message).toMatch(/no longer in Redis/);
    const late = outcome('late');
    expect(await late.told).toMatchObject({ watcher: 'late', error: { reason: 'lost' } });
    first.unwatch();
    late.unwatch();
  });

  it('the lost notice\'s text honours a tool loop\'s step reset: the reset step\'s text goes, earlier steps\' stays', async () => {
    const { server } = redis();
    const owner = new RedisChannelLog({ redis: server.url, leaseMs: 300 });
    const follower = new RedisChannelLog({ redis: server.url, leaseMs: 300 });
    closers.push(() => owner.close(), () => follower.close());
    const channel = randomUUID();
    await owner.create(channel, {});
    const events: TokenEvent[] = [
      { type: 'step-start', step: 0, t: 0 },
      { type: 'start', provider: 'mock', model: 'm', t: 1 },
      { type: 'token', text: 'Kept. ', index: 0, t: 2 },
      { type: 'step-finish', step: 0, usage: { inputTokens: 1, outputTokens: 1, estimated: false }, stopReason: 'tool_use', t: 3 },
      { type: 'step-start', step: 1, t: 4 },
      { type: 'token', text: 'Discarded.', index: 1, t: 5 },
      { type: 'reset', reason: 'retry', step: 1, t: 6 },
      { type: 'token', text: 'Again', index: 1, t: 7 },
    ];
    await owner.append(channel, events.map((event, id) => ({ id, type: event.type, data: JSON.stringify(event) })));
    const notice = deferred<ChannelLogEntry>();
    const unwatch = follower.watch(channel, (entries) => {
      const error = entries.find((entry) => entry.type === 'error');
      if (error) notice.resolve(error);
    });
    // The owner stops renewing its lease (as if it crashed): the follower's server finishes the channel.
    await owner.close();
    const entry = await notice.promise;
    unwatch();
    expect(entry.id).toBe(events.length);
    expect(JSON.parse(entry.data)).toMatchObject({ reason: 'lost', partialText: 'Kept. Again' });
  });

  it('a follower that read further than this server\'s reader still ends with reason lost, with no id beyond the last event', async () => {
    const { server, admin } = redis();
    const user = `reader-cut-${randomUUID().slice(0, 8)}`;
    await admin.call('ACL', 'SETUSER', user, 'on', '>pw', '~*', '&*', '+@all');
    closers.push(() => admin.call('ACL', 'DELUSER', user));
    const a = newHub(server.url, { leaseMs: 300 });
    const b = newHub(server.url.replace('redis://', `redis://${user}:pw@`), { leaseMs: 300 });
    const channel = randomUUID();
    const up = drivenUpstream();
    await a.publish(channel, up.stream$);
    const events = answerEvents(WORDS);
    for (const event of events.slice(0, 3)) up.subject.next(event);
    const onA = follow(a.subscribe(channel));
    const behind = follow(b.subscribe(channel));
    await behind.received(3);

    // B's lost-owner rounds wait until the scene is set.
    const hold = deferred();
    lostOwnerHooks.beforeStep = (step) => (step.kind === 'round' ? hold.promise : undefined);
    // B's reader and subscriber are cut off and cannot come back (its user is disabled; the command
    // connection, already authenticated, goes on).
    await admin.call('ACL', 'SETUSER', user, 'off');
    await admin.client('KILL', 'ID', await clientId(admin, 'reader', b.log.serverId));
    await admin.client('KILL', 'ID', await clientId(admin, 'sub', b.log.serverId));
    for (const event of events.slice(3, 5)) up.subject.next(event);
    await onA.received(5);
    // A follower that joins now reads ids 0..4 through the command connection: it is ahead of
    // everything B's reader delivered (0..2).
    const ahead = follow(b.subscribe(channel));
    await ahead.received(5);
    hold.resolve();

    // Both end through the watch's failure path, whatever id each is at.
    const [behindEnd, aheadEnd] = await Promise.all([behind.ended, ahead.ended]);
    for (const end of [behindEnd, aheadEnd]) {
      expect(end).toBeInstanceOf(RemoteStreamError);
      expect((end as RemoteStreamError).reason).toBe('lost');
      expect((end as RemoteStreamError).message).toMatch(/connection to Redis/);
    }
    expect(ahead.messages.map((m) => m.id)).toEqual([0, 1, 2, 3, 4]);
    expect(behind.messages.map((m) => m.id)).toEqual([0, 1, 2]);
  });

  describe('Redis full (maxmemory, noeviction)', () => {
    // A server of its own: filling Redis must not touch the other tests.
    const full = setupOnce(() => startRedis());
    afterAll(async () => full().stop());

    it('the owner fences itself and releases its lease; followers on other servers get reason lost with the stored text', async () => {
      const server: RedisServer = full();
      const admin = new Redis(server.url);
      closers.push(async () => admin.disconnect());
      closers.push(() => admin.config('SET', 'maxmemory', '0'));
      const a = newHub(server.url, { leaseMs: 600 });
      const b = newHub(server.url, { leaseMs: 600 });
      const channel = randomUUID();
      const up = drivenUpstream();
      await a.publish(channel, up.stream$);
      const events = answerEvents(WORDS);
      const onA = follow(a.subscribe(channel));
      const onB = follow(b.subscribe(channel));
      for (const event of events.slice(0, 3)) up.subject.next(event);
      await Promise.all([onA.received(3), onB.received(3)]);

      await admin.config('SET', 'maxmemory-policy', 'noeviction');
      await admin.config('SET', 'maxmemory', '1');
      // The owner's next write is refused (OOM).
      up.subject.next(events[3]!);

      const [endA, endB] = await Promise.all([onA.ended, onB.ended]);
      expect(endB).toBeInstanceOf(RemoteStreamError);
      expect((endB as RemoteStreamError).reason).toBe('lost');
      expect((endB as RemoteStreamError).partialText).toBe(WORDS.slice(0, 2).join(''));
      expect(onB.messages.map((m) => m.id)).toEqual([0, 1, 2]);
      expect(endA).toBeInstanceOf(RemoteStreamError);
      expect((endA as RemoteStreamError).reason).toBe('lost');
      expect(up.cancelled()).toBe(true);
      // The notice is in the channel, for every server and every later reader, and fenced.
      const [top] = (await admin.xrevrange(`tokenflow:s:${channel}`, '+', '-', 'COUNT', 1)) as [string, string[]][];
      expect(top![0]).toBe('4-0');
      expect(top![1].slice(0, 4)).toEqual(['i', '3', 't', 'error']);
      expect(await admin.exists(`tokenflow:l:${channel}`)).toBe(0);
    });

    it('after a refused write the owner writes nothing more of the channel, even once Redis has room again (no hole)', async () => {
      const server: RedisServer = full();
      const admin = new Redis(server.url);
      closers.push(async () => admin.disconnect());
      closers.push(() => admin.config('SET', 'maxmemory', '0'));
      const log = new RedisChannelLog({ redis: server.url, leaseMs: 5_000 });
      closers.push(() => log.close());
      const channel = randomUUID();
      const entry = (id: number, type: string): ChannelLogEntry => ({ id, type, data: JSON.stringify({ type, text: `w${id}` }) });
      await log.create(channel, {});
      await log.append(channel, [entry(0, 'start')]);
      await admin.config('SET', 'maxmemory-policy', 'noeviction');
      await admin.config('SET', 'maxmemory', '1');
      await expect(log.append(channel, [entry(1, 'token')])).rejects.toThrow(/OOM/);
      // Released at once (a DEL is allowed when Redis is full), not left to run out.
      expect(await admin.exists(`tokenflow:l:${channel}`)).toBe(0);
      await admin.config('SET', 'maxmemory', '0');
      await expect(log.append(channel, [entry(2, 'token')])).rejects.toThrow(/no longer written from this server/);
      expect((await log.read(channel, -1, 10))!.map((e) => e.id)).toEqual([0]);
    });
  });
});
