/**
 * A `StreamHub` channel followed as AG-UI (issue 19, item 4): a real `@ag-ui/client` `HttpAgent`
 * POSTs its run to a route that publishes the Agent's stream on the hub and follows it in the AG-UI
 * format; other clients follow the same channel (one upstream request), resume by `Last-Event-ID`,
 * and a stop from anyone ends every AG-UI run with `RUN_ERROR`, which the client's verification accepts.
 */
import { createServer, type IncomingMessage } from 'node:http';
import { HttpAgent, type Message } from '@ag-ui/client';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Agent } from '../../src/agent/agent.js';
import { tool } from '../../src/agent/tools.js';
import { aguiHubFormat, readRunAgentInput } from '../../src/ag-ui/index.js';
import { StreamHub } from '../../src/sse/index.js';
import { startMockProvider, type MockFault, type MockRequest, type MockScript } from '../../src/testing/index.js';
import { budget } from '../helpers/budget.js';
import { listenLocal } from '../helpers/http.js';
import { makeProvider } from '../helpers/mock.js';
import { openSSE } from '../helpers/sse-reader.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

async function readBody(req: IncomingMessage): Promise<unknown> {
  let text = '';
  for await (const chunk of req) text += String(chunk);
  return JSON.parse(text);
}

/** POST /agent publishes the run as channel `runId` and follows it as AG-UI; GET /streams/<id> follows any channel. */
async function start(script: MockScript | ((request: MockRequest) => MockScript), faults?: MockFault) {
  const mock = await startMockProvider({ flavor: 'openai', script, ...(faults ? { faults } : {}) });
  const agent = new Agent({ provider: makeProvider('openai', mock), model: 'test-model' });
  const weather = tool({ inputSchema: z.object({ city: z.string() }), execute: ({ city }) => ({ city, temperature: 21 }) });
  const hub = new StreamHub({ onError: () => {} });
  const formats = [aguiHubFormat()];
  const run = hub.handler({ formats, format: () => 'ag-ui', action: () => 'follow' });
  const streams = hub.handler({ formats });
  const server = createServer((req, res) => {
    if (req.method === 'POST' && req.url === '/agent') {
      void (async () => {
        const input = readRunAgentInput(await readBody(req));
        const last = input.messages.at(-1);
        const message = last?.role === 'user' && typeof last.content === 'string' ? last.content : '';
        await hub.publish(input.runId, agent.stream(message, { tools: { weather } }), { meta: { threadId: input.threadId, runId: input.runId } });
        await run(req, res, input.runId);
      })().catch(() => res.writeHead(500).end());
      return;
    }
    void streams(req, res);
  });
  const local = await listenLocal(server);
  cleanups.push(() => mock.close(), () => hub.close(), () => local.close());
  return { local, mock, hub };
}

const user = (id: string, content: string): Message => ({ id, role: 'user', content });

describe('aguiHubFormat(): HttpAgent runs through the hub', () => {
  it('a tool loop run: the client verifies it and assembles the messages; a second follower gets the same run from the one upstream', async () => {
    const script = (request: MockRequest): MockScript =>
      request.toolResults.length === 0
        ? { toolCalls: [{ id: 'call_w1', name: 'weather', arguments: '{"city":"Paris"}' }], usage: { inputTokens: 20, outputTokens: 5 } }
        : { text: ['Sunny', ' in', ' Paris.'], usage: { inputTokens: 40, outputTokens: 3 } };
    const { local, mock } = await start(script);
    const client = new HttpAgent({ url: `${local.origin}/agent`, threadId: 'thread-h', initialMessages: [user('u1', 'Weather?')] });
    const result = await client.runAgent({ runId: 'run-h' });
    expect(result.newMessages).toMatchObject([
      { id: 'run-h-1', role: 'assistant', toolCalls: [{ id: 'call_w1', function: { name: 'weather', arguments: '{"city":"Paris"}' } }] },
      { id: 'run-h-2', role: 'tool', toolCallId: 'call_w1', content: '{"city":"Paris","temperature":21}' },
      { id: 'run-h-3', role: 'assistant', content: 'Sunny in Paris.' },
    ]);

    // Another follower of the same channel: the same run, byte for byte, and no new upstream request.
    const again = await openSSE(`${local.origin}/streams/run-h?format=ag-ui`);
    expect(await again.ended).toBe('end');
    const events = again.messages.map((m) => JSON.parse(m.data) as { type: string; threadId?: string; runId?: string });
    expect(events[0]).toMatchObject({ type: 'RUN_STARTED', threadId: 'thread-h', runId: 'run-h' });
    expect(events.at(-1)!.type).toBe('RUN_FINISHED');
    expect(mock.requests).toHaveLength(2);

    // Resumed after an id: exactly what followed it.
    // The first resume point after the tool call ended (an id marks the last message of each stored event).
    const callEnd = again.messages.findIndex((m) => (JSON.parse(m.data) as { type: string }).type === 'TOOL_CALL_END');
    const cut = again.messages.findIndex((m, i) => i >= callEnd && m.id !== undefined);
    expect(callEnd).toBeGreaterThan(0);
    const resumeId = again.messages[cut]!.id!;
    const resumed = await openSSE(`${local.origin}/streams/run-h?format=ag-ui`, { headers: { 'last-event-id': resumeId } });
    expect(await resumed.ended).toBe('end');
    expect(resumed.messages.map((m) => m.data)).toEqual(again.messages.slice(cut + 1).map((m) => m.data));
  });

  it('a stop from another client ends the HttpAgent run with RUN_ERROR (code stopped), and the provider request is cancelled', async () => {
    const { local, mock } = await start({ text: ['a', 'b', 'c', 'd'] }, { stallAfter: 2 });
    const client = new HttpAgent({ url: `${local.origin}/agent`, threadId: 'thread-s', initialMessages: [user('u1', 'Hi')] });
    const errors: Array<{ code?: string }> = [];
    let stopped = false;
    const run = client.runAgent(
      { runId: 'run-s' },
      {
        onRunErrorEvent: ({ event }) => void errors.push(event as { code?: string }),
        onTextMessageContentEvent: () => {
          if (stopped) return;
          stopped = true;
          void fetch(`${local.origin}/streams/run-s/stop`, { method: 'POST' });
        },
      },
    );
    await run.catch(() => undefined);
    expect(errors).toMatchObject([{ code: 'stopped' }]);
    expect((await mock.waitForClose(0, budget(10_000))).closedByClient).toBe(true);
  });
});
