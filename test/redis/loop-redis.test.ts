/**
 * A tool loop through `RedisStreamHub` across two servers on one real redis-server (issue 15,
 * item 6): the loop runs on server A, every follower is on server B (SSE through `fromSSE`, and
 * `hub.subscribe()`), a stop asked on B aborts the tool running on A, and a failing tool's message
 * never reaches the browser. The scenarios are shared with the in-memory suite
 * (test/helpers/tool-loop-hub.ts); the entry codec carries the loop's events as it carries any other.
 */
import { createServer } from 'node:http';
import { afterAll, afterEach, describe } from 'vitest';
import { RedisStreamHub } from '../../src/redis/index.js';
import { listenLocal } from '../helpers/http.js';
import { skipWithoutRedis, startRedis } from '../helpers/redis.js';
import { setupOnce } from '../helpers/setup.js';
import { defineToolLoopHubTests } from '../helpers/tool-loop-hub.js';

describe.skipIf(skipWithoutRedis('tool loop on RedisStreamHub'))('a tool loop on RedisStreamHub (two servers, real redis-server)', () => {
  const redis = setupOnce(() => startRedis());
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
  });
  afterAll(async () => redis().stop());

  defineToolLoopHubTests(async ({ onError }) => {
    const publisher = new RedisStreamHub({ redis: redis().url, heartbeatMs: 0, onError: onError ?? (() => {}) });
    const follower = new RedisStreamHub({ redis: redis().url, heartbeatMs: 0, onError: () => {} });
    const handler = follower.handler();
    const local = await listenLocal(createServer((req, res) => void handler(req, res)));
    cleanups.push(async () => {
      await local.close();
      await follower.close();
      await publisher.close();
    });
    return { publisher, follower, origin: local.origin };
  }, cleanups);
});
