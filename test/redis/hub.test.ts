/**
 * `RedisStreamHub`'s options and its HTTP front's answers to resume points, against a real
 * redis-server: every `StreamHub` option is accepted, and a `Last-Event-ID` that names no event of
 * the channel (out of a stream id's range, negative, not a number, beyond the end) is a 400.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { from, lastValueFrom, Observable, Subject, take, throwError, toArray } from 'rxjs';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import type { TokenEvent } from '../../src/events.js';
import { RedisChannelLog, RedisStreamHub, type RedisStreamHubOptions } from '../../src/redis/index.js';
import type { StreamHubOptions } from '../../src/sse/hub.js';
import { answerEvents, collectAll } from '../helpers/hub.js';
import { listenLocal } from '../helpers/http.js';
import { skipWithoutRedis, startRedis } from '../helpers/redis.js';
import { setupOnce } from '../helpers/setup.js';

describe.skipIf(skipWithoutRedis('RedisStreamHub'))('RedisStreamHub (real redis-server)', () => {
  const redis = setupOnce(() => startRedis());
  const closers: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    await Promise.all(closers.splice(0).map((close) => close().catch(() => {})));
  });
  afterAll(async () => redis().stop());

  function newHub(options: Partial<RedisStreamHubOptions> = {}): RedisStreamHub {
    const hub = new RedisStreamHub({ redis: redis().url, ...options });
    closers.push(() => hub.close());
    return hub;
  }

  describe('options', () => {
    it('accepts every StreamHub option (a new one that is not accepted fails this file\'s type check)', async () => {
      // `Required<…>`: an option added to StreamHubOptions must be added here, and is then tried.
      const every: Required<Omit<StreamHubOptions, 'log'>> = {
        ttlMs: 60_000,
        graceMs: 10_000,
        heartbeatMs: 0,
        retryMs: 500,
        maxBufferedBytes: 1 << 20,
        batchMs: 0,
        authorize: () => true,
        onDrop: () => {},
        onError: () => {},
        telemetry: { publish: () => undefined, follow: () => undefined },
      };
      for (const [key, value] of Object.entries(every)) {
        expect(() => newHub({ [key]: value }), key).not.toThrow();
      }
      expect(() => newHub(every)).not.toThrow();
      expect(() => newHub({ onErorr: () => {} } as Partial<RedisStreamHubOptions>)).toThrow(InvalidArgumentError);
    });

    it('hands onError the failure of a stream published on it', async () => {
      const reported: unknown[] = [];
      const hub = newHub({ onError: (error) => void reported.push(error) });
      const channel = randomUUID();
      const secret = new Error('upstream said: key sk-123 is invalid');
      await hub.publish(channel, throwError(() => secret));
      const followed = await collectAll(hub.subscribe(channel));
      expect(followed.error).toBeDefined();
      expect(reported).toEqual([secret]);
    });
  });

  describe('resume points over HTTP', () => {
    async function serve(hub: RedisStreamHub) {
      const handler = hub.handler();
      const server = await listenLocal(createServer((req, res) => void handler(req, res)));
      closers.push(() => server.close());
      return async (channel: string, lastEventId: string): Promise<number> => {
        const response = await fetch(`${server.origin}/streams/${channel}`, { headers: { 'last-event-id': lastEventId } });
        await response.body?.cancel();
        return response.status;
      };
    }

    it('a Last-Event-ID out of range of a stream id, negative, not a number, or beyond the end is 400; a finished channel\'s last id is 204', async () => {
      const hub = newHub();
      const get = await serve(hub);
      const running = randomUUID();
      const subject = new Subject<TokenEvent>();
      await hub.publish(running, new Observable<TokenEvent>((o) => subject.subscribe(o)));
      const events = answerEvents(['a', 'b']);
      for (const event of events.slice(0, 3)) subject.next(event);
      const finished = randomUUID();
      await hub.publish(finished, from(answerEvents(['x'])));
      // Both are stored as far as they go: the running one's three events, the finished one's end.
      await lastValueFrom(hub.subscribe(running).pipe(take(3), toArray()));
      expect((await collectAll(hub.subscribe(finished))).error).toBeUndefined();

      for (const channel of [running, finished]) {
        for (const id of ['99999999999999999999', '1e300', '-5', 'abc', '3.5']) {
          expect(await get(channel, id), `${channel === running ? 'running' : 'finished'} channel, Last-Event-ID ${id}`).toBe(400);
        }
      }
      // Beyond the last stored event: the running channel holds 0..2, the finished one 0..3.
      expect(await get(running, '3')).toBe(400);
      expect(await get(finished, '4')).toBe(400);
      // At the end of a finished channel: 204, so an EventSource stops reconnecting.
      expect(await get(finished, '3')).toBe(204);
      expect(await get(running, '2')).toBe(200);
    });

    it('the log refuses a resume point that is no event id instead of sending Redis an invalid stream id', async () => {
      const log = new RedisChannelLog({ redis: redis().url });
      closers.push(() => log.close());
      const channel = randomUUID();
      await log.create(channel, {});
      for (const afterId of [1e20, 1e300, -5, Number.NaN, 2.5]) {
        await expect(log.read(channel, afterId, 10), String(afterId)).rejects.toThrow(InvalidArgumentError);
      }
      expect(await log.read(channel, -1, 10)).toEqual([]);
    });
  });
});
