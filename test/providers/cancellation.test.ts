/**
 * Unsubscribe is cancel, proven at the socket: a thousand streams cancelled at random points each
 * close their connection at the server, and leave no handle behind.
 */
import { describe, expect, it } from 'vitest';
import type { Provider } from '../../src/provider.js';
import { anthropic } from '../../src/providers/anthropic.js';
import { openai } from '../../src/providers/openai.js';
import { startMockProvider, type MockFlavor } from '../../src/testing/index.js';
import { cancelAfter } from '../helpers/run.js';

const STREAMS = 1_000;
const CONCURRENCY = 25;
const TOKENS = 12;

/** Active handles by kind, e.g. { TCPSocketWrap: 2, Timeout: 1 }. */
function handles(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) counts[kind] = (counts[kind] ?? 0) + 1;
  return counts;
}

/** The kinds of handle of which there are more now than at the baseline, with their counts. */
function grown(now: Record<string, number>, baseline: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(now).filter(([kind, n]) => n > (baseline[kind] ?? 0)));
}

async function settle(baseline: Record<string, number>): Promise<Record<string, number>> {
  // Closed sockets release their handles over the next turns of the event loop.
  for (let i = 0; i < 100; i++) {
    if (Object.keys(grown(handles(), baseline)).length === 0) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  return grown(handles(), baseline);
}

const cases: Array<[MockFlavor, (baseURL: string) => Provider]> = [
  ['openai', (baseURL) => openai({ apiKey: 'k', baseURL, maxRetries: 0 })],
  ['anthropic', (baseURL) => anthropic({ apiKey: 'k', baseURL, maxRetries: 0 })],
];

describe.each(cases)(`%s: ${STREAMS} cancelled streams`, (flavor, make) => {
  it(`each closes its connection at the server and handles return to baseline`, async () => {
    // The server stalls before the end, so no stream can finish: every close is the client's.
    const mock = await startMockProvider({ flavor, script: { text: Array.from({ length: TOKENS }, (_, i) => ` t${i}`) }, faults: { stallAfter: TOKENS - 2 } });
    const llm = make(mock.baseURL);
    const request = { model: 'm', messages: [{ role: 'user' as const, content: 'go' }] };
    try {
      // Warm up at full concurrency: undici replaces each aborted connection with a fresh idle one
      // in its pool, so the baseline holds one idle connection per concurrent stream. What must not
      // happen is growth with the number of streams.
      const cancelMany = async (count: number) => {
        let next = 0;
        const worker = async () => {
          while (next < count) {
            next++;
            // 0 cancels right after `start`, k after k tokens.
            await cancelAfter(llm.stream(request), Math.floor(Math.random() * (TOKENS - 1)));
          }
        };
        await Promise.all(Array.from({ length: CONCURRENCY }, worker));
      };
      await cancelMany(4 * CONCURRENCY);
      await new Promise((r) => setTimeout(r, 200));
      const baseline = handles();
      mock.reset();

      await cancelMany(STREAMS);

      const logs = await Promise.all(Array.from({ length: STREAMS }, (_, i) => mock.waitForClose(i, 10_000)));
      expect(logs.filter((log) => !log.closedByClient)).toEqual([]);
      expect(logs.every((log) => !log.finished)).toBe(true);
      expect(await settle(baseline)).toEqual({});
    } finally {
      await mock.close();
    }
  });
});
