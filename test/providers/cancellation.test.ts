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
import { handles, settleHandles } from '../helpers/handles.js';

const STREAMS = 1_000;
const CONCURRENCY = 25;
const TOKENS = 12;

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
      expect(await settleHandles(baseline)).toEqual({});
    } finally {
      await mock.close();
    }
  });
});
