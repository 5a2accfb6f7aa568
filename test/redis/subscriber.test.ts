/**
 * The subscriber connection (live pushes) across a reconnect, against a real redis-server: it
 * subscribes again on its own, and a close while that renewal is in flight leaves no unhandled
 * rejection behind (ioredis 6.0.0's own renewal, `autoResubscribe`, has no rejection handler; a CI
 * run failed on exactly that after the kill-and-restart test).
 */
import { once } from 'node:events';
import { randomUUID } from 'node:crypto';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { Redis, type RedisOptions } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisChannelLog, RedisStreamHub } from '../../src/redis/index.js';
import { answerEvents, collectAll, textOf } from '../helpers/hub.js';
import { drivenUpstream, type RedisServer, skipWithoutRedis, startRedisWithAdmin, until } from '../helpers/redis.js';

/** An ioredis client whose `duplicate`s (the connections a log opens from it) the test can reach. */
function recordingClient(url: string): { client: Redis; connections: Redis[] } {
  const client = new Redis(url, { lazyConnect: true });
  const connections: Redis[] = [];
  const duplicate = client.duplicate.bind(client);
  client.duplicate = (override?: Partial<RedisOptions>) => {
    const connection = duplicate(override);
    connections.push(connection);
    return connection;
  };
  return { client, connections };
}

/**
 * A loopback TCP proxy in front of redis-server that can hold back a connection's `SUBSCRIBE`: the
 * server then never answers it, as when it is slow or the connection is cut meanwhile.
 */
async function holdingProxy(port: number): Promise<{ url: string; holdSubscribe: () => Promise<void>; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  let hold: (() => void) | undefined;
  const server: Server = createServer((client) => {
    const upstream = connect(port, '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {});
    }
    upstream.pipe(client);
    client.on('data', (chunk: Buffer) => {
      if (hold && /\r\nSUBSCRIBE\r\n/i.test(chunk.toString('latin1'))) {
        hold();
        hold = undefined;
        return;
      }
      upstream.write(chunk);
    });
    client.on('end', () => upstream.end());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port: own } = server.address() as { port: number };
  return {
    url: `redis://127.0.0.1:${own}`,
    holdSubscribe: () => new Promise<void>((resolve) => (hold = resolve)),
    close: async () => {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

const subscriberOf = (connections: Redis[]): Redis => {
  const sub = connections.find((c) => c.options.connectionName?.startsWith('tokenflow-sub-'));
  if (!sub) throw new Error('the log opened no subscriber connection');
  return sub;
};

describe.skipIf(skipWithoutRedis('the Redis subscriber connection'))('the live subscriber across a reconnect (real redis-server)', () => {
  let server: RedisServer;
  let admin: Redis;
  const closers: Array<() => Promise<unknown>> = [];
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);

  beforeAll(async () => {
    ({ server, admin } = await startRedisWithAdmin());
    process.on('unhandledRejection', onUnhandled);
  });
  afterEach(async () => {
    await Promise.all(closers.splice(0).map((close) => close().catch(() => {})));
  });
  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled);
    admin?.disconnect();
    await server?.stop();
  });

  const numsub = async (serverId: string): Promise<number> => {
    const reply = (await admin.call('PUBSUB', 'NUMSUB', `tokenflow:live:${serverId}`)) as [string, number];
    return Number(reply[1]);
  };

  /** How many times `serverId` announced on the control stream that it follows `channel`. */
  const announcements = async (channel: string, serverId: string): Promise<number> => {
    const items = (await admin.call('XRANGE', 'tokenflow:control', '-', '+')) as Array<[string, string[]]>;
    return items.filter(([, f]) => f[0] === 'f' && f[1] === channel && f[2] === 's' && f[3] === serverId).length;
  };

  it('the subscriber subscribes again after its connection was killed and announces itself again; the answer arrives whole', async () => {
    const [a, b] = [new RedisStreamHub({ redis: server.url }), new RedisStreamHub({ redis: server.url })];
    closers.push(() => a.close(), () => b.close());
    const channel = randomUUID();
    const up = drivenUpstream();
    await a.publish(channel, up.stream$);
    const onB = collectAll(b.subscribe(channel));
    await until(() => b.followerCount(channel) === 1, 'B to follow');
    await until(async () => (await announcements(channel, b.log.serverId)) === 1, 'B to announce itself');
    await until(async () => (await numsub(b.log.serverId)) === 1, 'B to be subscribed');
    const words = Array.from({ length: 60 }, (_, i) => `k${i} `);
    const events = answerEvents(words);
    for (const event of events.slice(0, 20)) up.subject.next(event);

    await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
    expect(await numsub(b.log.serverId)).toBe(0);
    await until(async () => (await numsub(b.log.serverId)) === 1, 'B to subscribe again');
    // Owners drop a server their pushes found absent: B says again that it follows the channel.
    await until(async () => (await announcements(channel, b.log.serverId)) === 2, 'B to announce itself again');
    for (const event of events.slice(20)) up.subject.next(event);
    const result = await onB;
    expect(result.error).toBeUndefined();
    expect(result.messages.map((m) => m.id)).toEqual(events.map((_, i) => i));
    expect(textOf(result.messages)).toBe(words.join(''));
  });

  it('closing while the renewed subscription is in flight leaves no unhandled rejection', async () => {
    const proxy = await holdingProxy(server.port);
    closers.push(() => proxy.close());
    const { client, connections } = recordingClient(proxy.url);
    const log = new RedisChannelLog({ redis: client });
    closers.push(() => log.close());
    const sub = subscriberOf(connections);
    await until(async () => (await numsub(log.serverId)) === 1, 'the log to subscribe');
    unhandled.length = 0;

    // The subscriber's connection is cut; it reconnects, and its renewed SUBSCRIBE is held back,
    // so it is still waiting for a reply when the log closes.
    const held = proxy.holdSubscribe();
    await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
    await held;
    await log.close();
    if (sub.status !== 'end') await once(sub, 'end');
    // The rejection came before `end` (the same close handler); Node reports one nobody handles
    // when that task's ticks and microtasks are done, before the next turn of the event loop.
    await new Promise((resolve) => setImmediate(resolve));
    expect(unhandled).toEqual([]);
    expect(sub.status).toBe('end');
  });
});
