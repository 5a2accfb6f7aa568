import { TestScheduler } from 'rxjs/testing';
import { expect } from 'vitest';
import type { TokenEvent } from '../../src/events.js';

/** A TestScheduler asserting with vitest's deep equality. */
export function testScheduler(): TestScheduler {
  return new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
}

/** Event builders for marble values; `t` defaults to 0. */
export const ev = {
  start: (t = 0): TokenEvent => ({ type: 'start', provider: 'test', model: 'm', t }),
  tok: (text: string, index: number, t = 0): TokenEvent => ({ type: 'token', text, index, t }),
  usage: (outputTokens: number, t = 0, estimated = false): TokenEvent => ({
    type: 'usage',
    usage: { inputTokens: 7, outputTokens, estimated },
    t,
  }),
  done: (t = 0): TokenEvent => ({ type: 'done', stopReason: 'end', t }),
  reset: (reason = 'retry', t = 0): TokenEvent => ({ type: 'reset', reason, t }),
};
