/**
 * A tool loop through an in-memory `StreamHub` (issue 15, item 6): followers over SSE (`fromSSE`)
 * and in this process (`hub.subscribe()`) get every event of the loop, a late or resuming follower
 * exactly the rest, a stop while a tool runs aborts the tool and sends the model nothing more, and a
 * failing tool's message never reaches the browser. The scenarios are in test/helpers/tool-loop-hub.ts
 * (the Redis suite runs the same ones across two servers).
 */
import { createServer } from 'node:http';
import { Subject } from 'rxjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { TokenEvent } from '../../src/events.js';
import { StreamHub } from '../../src/sse/hub.js';
import { collectAll, tick } from '../helpers/hub.js';
import { listenLocal } from '../helpers/http.js';
import { defineToolLoopHubTests } from '../helpers/tool-loop-hub.js';

describe('a tool loop on an in-memory StreamHub', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
  });

  defineToolLoopHubTests(async ({ onError }) => {
    const hub = new StreamHub({ heartbeatMs: 0, onError: onError ?? (() => {}) });
    const handler = hub.handler();
    const local = await listenLocal(createServer((req, res) => void handler(req, res)));
    cleanups.push(async () => {
      await hub.close();
      await local.close();
    });
    return { publisher: hub, follower: hub, origin: local.origin };
  }, cleanups);

  it("with batchMs, the first token of every step goes out at once (the wait after a tool ran), the rest still shares a window", async () => {
    // Only the batch window's timer is fake: it never fires unless advanced, so whatever a follower
    // has after a few turns of the event loop went out without waiting for it.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const hub = new StreamHub({ batchMs: 10_000, heartbeatMs: 0, graceMs: Infinity });
      cleanups.push(() => hub.close());
      const upstream = new Subject<TokenEvent>();
      await hub.publish('loop-batched', upstream);
      const messages: number[] = [];
      const followed = collectAll(hub.subscribe('loop-batched'));
      hub.subscribe('loop-batched').subscribe((m) => messages.push(m.id));
      const settle = async () => {
        for (let i = 0; i < 3; i++) await tick();
      };
      const usage = { inputTokens: 1, outputTokens: 1, estimated: false };
      const step0: TokenEvent[] = [
        { type: 'step-start', step: 0, t: 0 },
        { type: 'start', provider: 'p', model: 'm', t: 1 },
        { type: 'token', text: 'Checking.', index: 0, t: 2 },
      ];
      for (const e of step0) upstream.next(e);
      await settle();
      expect(messages).toEqual([0, 1, 2]);
      // The rest of step 0 and its tool's result wait for the window.
      upstream.next({ type: 'usage', usage, t: 3 });
      upstream.next({ type: 'step-finish', step: 0, usage, stopReason: 'tool_use', t: 4 });
      upstream.next({ type: 'tool-result', step: 0, id: 'c1', name: 'weather', output: { temperature: 21 }, isError: false, durationMs: 5, t: 9 });
      await settle();
      expect(messages).toEqual([0, 1, 2]);
      // Step 1's first token closes the window at once, as the answer's first token did.
      upstream.next({ type: 'step-start', step: 1, t: 10 });
      upstream.next({ type: 'start', provider: 'p', model: 'm', t: 11 });
      upstream.next({ type: 'token', text: 'Sunny', index: 1, t: 12 });
      await settle();
      expect(messages).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
      upstream.next({ type: 'token', text: '.', index: 2, t: 13 });
      await settle();
      expect(messages).toHaveLength(9);
      upstream.next({ type: 'usage', usage, t: 14 });
      upstream.next({ type: 'step-finish', step: 1, usage, stopReason: 'end', t: 14 });
      upstream.next({ type: 'usage', usage: { ...usage, inputTokens: 2, outputTokens: 2 }, t: 15 });
      upstream.next({ type: 'done', stopReason: 'end', t: 15 });
      const { messages: all, error } = await followed;
      expect(error).toBeUndefined();
      expect(all.map((m) => m.event.type)).toEqual([
        'step-start', 'start', 'token', 'usage', 'step-finish', 'tool-result', 'step-start', 'start', 'token', 'token', 'usage', 'step-finish', 'usage', 'done',
      ]);
    } finally {
      vi.useRealTimers();
    }
  });
});
