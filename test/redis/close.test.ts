/**
 * Closing a Redis hub whose connection to Redis is gone for good. ioredis leaves a command pending
 * when the connection drops and `disconnect()` comes while it is reconnecting (with
 * `maxRetriesPerRequest: null`, as queue libraries set it, nothing ever flushes it): the log's
 * close must settle every operation still waiting, or the hub's close, which waits for its last
 * appends, never returns and its own followers are never ended.
 */
import { once } from 'node:events';
import { randomUUID } from 'node:crypto';
import { createServer, connect, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { tap } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisStreamHub } from '../../src/redis/index.js';
import type { HubMessage } from '../../src/sse/hub.js';
import { answerEvents, collectAll, textOf } from '../helpers/hub.js';
import { drivenUpstream, type RedisServer, skipWithoutRedis, startRedisWithAdmin, until } from '../helpers/redis.js';

/** A loopback TCP proxy to redis-server that `cut()` turns into a dead address: sockets closed, connections refused. */
async function cuttableProxy(port: number): Promise<{ url: string; cut: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(port, '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {});
    }
    client.pipe(upstream).pipe(client);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port: own } = server.address() as { port: number };
  return {
    url: `redis://127.0.0.1:${own}`,
    cut: async () => {
      const closed = new Promise((resolve) => server.close(resolve));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

describe.skipIf(skipWithoutRedis('closing a Redis hub'))('closing a Redis hub whose Redis went away for good (real redis-server)', () => {
  let server: RedisServer;
  let admin: Redis;

  beforeAll(async () => {
    ({ server, admin } = await startRedisWithAdmin());
  });
  afterAll(async () => {
    admin?.disconnect();
    await server?.stop();
  });

  it('close() returns, the upstream is cancelled and the hub’s own followers end with the text they had', async () => {
    const proxy = await cuttableProxy(server.port);
    const client = new Redis(proxy.url, { lazyConnect: true, maxRetriesPerRequest: null });
    client.on('error', () => {});
    const hub = new RedisStreamHub({ redis: client, leaseMs: 1_000 });
    const channel = randomUUID();
    const up = drivenUpstream();
    await hub.publish(channel, up.stream$);
    const seen: HubMessage[] = [];
    const local = collectAll(hub.subscribe(channel).pipe(tap((m) => seen.push(m))));
    const events = answerEvents(['Cut ', 'off ', 'here']);
    for (const event of events.slice(0, 3)) up.subject.next(event);
    await until(() => seen.length === 3, 'the local follower to get the first three events');

    // Redis is unreachable from here on: every command the hub sends waits in ioredis's queue.
    await proxy.cut();
    up.subject.next(events[3]!);
    await hub.close();
    client.disconnect();

    expect(up.cancelled()).toBe(true);
    const result = await local;
    expect(result.error).toBeInstanceOf(Error);
    expect(result.messages.map((m) => m.id)).toEqual([0, 1, 2]);
    expect((result.error as { partialText?: string }).partialText).toBe(textOf(result.messages));
  }, 30_000);
});
