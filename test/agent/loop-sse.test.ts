/**
 * A tool loop's events cross SSE unchanged and typed: `pipeSSE()` on a real HTTP server, `fromSSE()`
 * on the other side, and `collect()` there folds them into the same loop result.
 */
import { createServer } from 'node:http';
import { lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Agent } from '../../src/agent/agent.js';
import { tool } from '../../src/agent/tools.js';
import { fromSSE } from '../../src/client/index.js';
import { collect } from '../../src/operators/collect.js';
import { pipeSSE } from '../../src/sse/index.js';
import { startMockProvider, type MockRequest, type MockScript } from '../../src/testing/index.js';
import { ProtocolError } from '../../src/errors.js';
import { listenLocal } from '../helpers/http.js';
import { beginStream, startSSEServer } from '../helpers/sse-server.js';
import { makeProvider } from '../helpers/mock.js';

const script = (request: MockRequest): MockScript =>
  request.toolResults.length === 0
    ? { toolCalls: [{ id: 'call_w1', name: 'weather', arguments: '{"city":"Paris"}' }], usage: { inputTokens: 20, outputTokens: 5 } }
    : { text: ['Sunny', ' in', ' Paris.'], usage: { inputTokens: 40, outputTokens: 3 } };

describe('a tool loop over SSE', () => {
  it('pipeSSE → fromSSE keeps every event of the loop, and collect() on the client gives the loop result', async () => {
    const mock = await startMockProvider({ flavor: 'openai', script });
    const agent = new Agent({ provider: makeProvider('openai', mock), model: 'test-model' });
    const weather = tool({ inputSchema: z.object({ city: z.string() }), execute: ({ city }) => ({ city, temperature: 21 }) });
    const server = createServer((_req, res) => {
      void pipeSSE(agent.stream('Weather?', { tools: { weather } }), res);
    });
    const local = await listenLocal(server);
    try {
      const received = await lastValueFrom(fromSSE(local.origin, { mode: 'fetch', reconnect: false }).pipe(toArray()));
      const answer = await lastValueFrom(fromSSE(local.origin, { mode: 'fetch', reconnect: false }).pipe(collect()));
      const types = received.map((e) => e.type);
      expect(types.filter((t) => t === 'step-start')).toHaveLength(2);
      expect(types.filter((t) => t === 'step-finish')).toHaveLength(2);
      expect(types.filter((t) => t === 'done')).toHaveLength(1);
      expect(received.find((e) => e.type === 'tool-result')).toMatchObject({
        step: 0,
        id: 'call_w1',
        name: 'weather',
        output: { city: 'Paris', temperature: 21 },
        isError: false,
      });
      expect(received.find((e) => e.type === 'step-finish')).toMatchObject({ step: 0, stopReason: 'tool_use', usage: { inputTokens: 20, outputTokens: 5 } });
      expect(answer.content).toBe('Sunny in Paris.');
      expect(answer.steps).toHaveLength(2);
      expect(answer.usage).toEqual({ inputTokens: 60, outputTokens: 8, estimated: false });
      expect(answer.steps![0]!.toolResults).toMatchObject([{ id: 'call_w1', output: { city: 'Paris', temperature: 21 } }]);
    } finally {
      await local.close();
      await mock.close();
    }
  });

  it.each([
    ['step-start', { type: 'step-start', step: '0', t: 1 }, 'step is not a number'],
    ['tool-result', { type: 'tool-result', step: 0, id: 7, name: 'weather', output: 1, isError: false, durationMs: 1, t: 1 }, 'id or name is not a string'],
    ['tool-result', { type: 'tool-result', step: 0, id: 'c', name: 'weather', output: 1, t: 1 }, 'isError or durationMs is missing'],
    ['step-finish', { type: 'step-finish', step: 0, stopReason: 'end', usage: null, t: 1 }, 'usage is not { inputTokens, outputTokens }'],
  ])('fromSSE refuses a malformed %s event with ProtocolError (%#)', async (_type, data, reason) => {
    const server = await startSSEServer((_request, res) => {
      beginStream(res);
      res.end(`id: 0\nevent: ${data.type}\ndata: ${JSON.stringify(data)}\n\n`);
    });
    try {
      const error = await lastValueFrom(fromSSE(server.url(), { mode: 'fetch', reconnect: false }).pipe(toArray())).catch((e: unknown) => e);
      expect(ProtocolError.isInstance(error)).toBe(true);
      expect((error as Error).message).toContain(reason);
    } finally {
      await server.close();
    }
  });
});
