/**
 * Leases of the Redis log against a real redis-server: renewal never waits behind the handling of
 * lost peers, and a lease that cannot be released after the terminal entry is no failure. Every
 * wait is for an event (a keyspace notification, a follower's end, a hook being reached); the only
 * clocks are the hang guards of vitest, scaled for load.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { RemoteStreamError } from '../../src/errors.js';
import { RedisChannelLog, RedisStreamHub, type RedisStreamHubOptions } from '../../src/redis/index.js';
import { lostOwnerHooks } from '../../src/redis/lost.js';
import { answerEvents, collectAll, textOf } from '../helpers/hub.js';
import { deferred, drivenUpstream, skipWithoutRedis, startRedisWithAdmin } from '../helpers/redis.js';
import { setupOnce } from '../helpers/setup.js';

const WORDS = ['Leases', ' are', ' renewed', ' on', ' their', ' own', '.'];

describe.skipIf(skipWithoutRedis('Redis leases'))('Redis leases (real redis-server)', () => {
  const redis = setupOnce(startRedisWithAdmin);
  const closers: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    lostOwnerHooks.beforeStep = undefined;
    await Promise.all(closers.splice(0).map((close) => close().catch(() => {})));
  });
  afterAll(async () => {
    const { server, admin } = redis();
    admin.disconnect();
    await server.stop();
  });

  function newHub(options: Partial<RedisStreamHubOptions> = {}): RedisStreamHub {
    const hub = new RedisStreamHub({ redis: redis().server.url, ...options });
    closers.push(() => hub.close());
    return hub;
  }

  it('renewal runs on its own timer: while lost-peer handling is stuck, a healthy server keeps its leases and nobody fences its channels', async () => {
    const { server, admin } = redis();
    const leaseMs = 600;
    // A: healthy, runs channel H and follows fifty channels of a peer that crashed. C follows H.
    const a = newHub({ leaseMs });
    const c = newHub({ leaseMs });
    const h = randomUUID();
    const up = drivenUpstream();
    await a.publish(h, up.stream$);
    const events = answerEvents(WORDS);
    up.subject.next(events[0]!);
    up.subject.next(events[1]!);
    const onC = collectAll(c.subscribe(h));

    // The crashed peer: its channels exist, with an answer begun, and its leases are gone.
    const peer = new RedisChannelLog({ redis: server.url, leaseMs });
    const lost = Array.from({ length: 50 }, () => randomUUID());
    for (const channel of lost) {
      await peer.create(channel, {});
      await peer.append(channel, [
        { id: 0, type: 'start', data: JSON.stringify(events[0]) },
        { id: 1, type: 'token', data: JSON.stringify(events[1]) },
      ]);
    }
    await peer.close();
    await admin.del(...lost.map((channel) => `tokenflow:l:${channel}`));

    // Lost-peer handling on A gets stuck on the first of those channels until the test lets go.
    const entered = deferred();
    const release = deferred();
    const lostSet = new Set<string>(lost);
    lostOwnerHooks.beforeStep = (step) => {
      if (step.kind !== 'lose' || !lostSet.has(step.channel)) return;
      entered.resolve();
      return release.promise;
    };

    // Every renewal of H's lease is an `expire` keyspace event; its lapse would be `expired`.
    await admin.config('SET', 'notify-keyspace-events', 'Kgx');
    const events$ = new Redis(server.url);
    closers.push(async () => events$.disconnect());
    const renewals = deferred<'renewed' | 'expired'>();
    let stuck = false;
    let renewed = 0;
    events$.on('message', (_channel: string, event: string) => {
      if (event === 'expired') renewals.resolve('expired');
      // Four renewals a third of a lease apart span more than a lease: with renewal waiting behind
      // the stuck handling, the lease would have run out by then.
      if (event === 'expire' && stuck && ++renewed === 4) renewals.resolve('renewed');
    });
    await events$.subscribe(`__keyspace@0__:tokenflow:l:${h}`);

    const followers = lost.map((channel) => collectAll(a.subscribe(channel)));
    await entered.promise;
    stuck = true;
    expect(await renewals.promise).toBe('renewed');
    expect(await admin.get(`tokenflow:l:${h}`)).toBe(a.log.serverId);

    // Let go: A finishes the crashed peer's channels, and H is answered to the end on C.
    release.resolve();
    for (const result of await Promise.all(followers)) {
      expect(result.error).toBeInstanceOf(RemoteStreamError);
      expect((result.error as RemoteStreamError).reason).toBe('lost');
      expect((result.error as RemoteStreamError).partialText).toBe(WORDS[0]);
    }
    for (const event of events.slice(2)) up.subject.next(event);
    const followed = await onC;
    expect(followed.error).toBeUndefined();
    expect(textOf(followed.messages)).toBe(WORDS.join(''));
    expect(up.cancelled()).toBe(false);
  });

  it('a lease release that fails after the terminal entry was stored is no failure: followers here get done, not lost', async () => {
    const { server, admin } = redis();
    const user = `release-fails-${randomUUID().slice(0, 8)}`;
    // A user who may do everything but delete a lease (the create script's DEL of a stream and the
    // wake key's are allowed): the release after the terminal XADD fails, nothing else does.
    await admin.call('ACL', 'SETUSER', user, 'on', '>pw', '~*', '&*', '+@all', '-del', '(+del ~tokenflow:s:* ~tokenflow:wake:*)');
    closers.push(() => admin.call('ACL', 'DELUSER', user));
    const url = server.url.replace('redis://', `redis://${user}:pw@`);
    // A long lease: the check below reads the lease before it could run out on a loaded machine.
    const a = newHub({ redis: url, leaseMs: 5_000 });
    const b = newHub({ leaseMs: 5_000 });
    const channel = randomUUID();
    const up = drivenUpstream();
    await a.publish(channel, up.stream$);
    const onA = collectAll(a.subscribe(channel));
    const onB = collectAll(b.subscribe(channel));
    const events = answerEvents(WORDS);
    for (const event of events) up.subject.next(event);
    for (const result of await Promise.all([onA, onB])) {
      expect(result.error).toBeUndefined();
      expect(result.messages.map((m) => m.id)).toEqual(events.map((_, i) => i));
      expect(textOf(result.messages)).toBe(WORDS.join(''));
    }
    // The release did fail: the lease is still there, running out by itself.
    const ttl = await admin.pttl(`tokenflow:l:${channel}`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(5_000);
  });
});
