/**
 * The tool loop follows the calls a step produced, not its stop reason: a server that sends tool
 * calls with `finish_reason: 'stop'` (some OpenAI-compatible servers do) still gets its tool run,
 * through the real SDK over HTTP; and a provider whose `done` says `end` beside a call (whatever the
 * adapter made of the wire) still has the loop run the call.
 */
import { of, type Observable } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Agent } from '../../src/agent/agent.js';
import { tool } from '../../src/agent/tools.js';
import type { ChatRequest, TokenEvent } from '../../src/events.js';
import type { Provider } from '../../src/provider.js';
import { startMockProvider, type MockScript, type RawScript } from '../../src/testing/index.js';
import { makeAdapter } from '../helpers/mock.js';
import { run } from '../helpers/run.js';

const weatherSchema = z.object({ city: z.string() });

/** A Chat Completions stream with a whole tool call and `finish_reason: 'stop'` (llama.cpp, some Ollama versions). */
const STOP_WITH_CALL = [
  {
    id: 'chatcmpl-stop',
    object: 'chat.completion.chunk',
    created: 1764000000,
    model: 'llama3.1:8b',
    choices: [
      {
        index: 0,
        delta: { role: 'assistant', content: '', tool_calls: [{ index: 0, id: 'call_s1', type: 'function', function: { name: 'weather', arguments: '{"city":"Oslo"}' } }] },
        finish_reason: null,
      },
    ],
  },
  { id: 'chatcmpl-stop', object: 'chat.completion.chunk', created: 1764000000, model: 'llama3.1:8b', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] },
]
  .map((chunk) => `data: ${JSON.stringify(chunk)}\n\n`)
  .concat('data: [DONE]\n\n')
  .join('');

describe('the tool loop follows calls, not the stop reason', () => {
  it.each(['openai', 'openai-compatible'] as const)('runs a tool a %s server sent with finish_reason "stop"', async (label) => {
    const mock = await startMockProvider({
      flavor: label,
      script: (request): MockScript | RawScript => (request.index === 0 ? { raw: STOP_WITH_CALL } : { text: 'Cold in Oslo.' }),
    });
    try {
      const cities: string[] = [];
      const weather = tool({ inputSchema: weatherSchema, execute: ({ city }) => (cities.push(city), `${city}: -3°C`) });
      const agent = new Agent({ provider: makeAdapter(label, mock.baseURL), model: 'llama3.1:8b' });
      const { events, error } = await run(agent.stream('Weather in Oslo?', { tools: { weather } }));
      expect(error).toBeUndefined();
      expect(cities).toEqual(['Oslo']);
      expect(events.find((e) => e.type === 'tool-result')).toMatchObject({ id: 'call_s1', output: 'Oslo: -3°C', isError: false });
      expect(mock.requests).toHaveLength(2);
      expect(mock.requests[1]!.toolResults).toEqual([{ toolCallId: 'call_s1', output: 'Oslo: -3°C' }]);
      expect(events.at(-1)).toMatchObject({ type: 'done', stopReason: 'end' });
    } finally {
      await mock.close();
    }
  });

  it('runs a call whose step said `end`: the calls decide, not the stop reason', async () => {
    const requests: ChatRequest[] = [];
    const step = (events: TokenEvent[]): Observable<TokenEvent> => of(...events);
    const provider = {
      name: 'scripted',
      stream: (request: ChatRequest) => {
        requests.push(request);
        const start: TokenEvent = { type: 'start', provider: 'scripted', model: 'm', t: 0 };
        const usage: TokenEvent = { type: 'usage', usage: { inputTokens: 1, outputTokens: 1, estimated: false }, t: 2 };
        return requests.length === 1
          ? step([start, { type: 'tool-call', index: 0, id: 'call_e1', name: 'weather', argsDelta: '{"city":"Rome"}', t: 1 }, usage, { type: 'done', stopReason: 'end', t: 3 }])
          : step([start, { type: 'token', text: 'Warm.', index: 0, t: 1 }, usage, { type: 'done', stopReason: 'end', t: 3 }]);
      },
      complete: () => Promise.reject(new Error('not used')),
    } as unknown as Provider;
    const weather = tool({ inputSchema: weatherSchema, execute: ({ city }) => `${city}: 24°C` });
    const { events, error } = await run(new Agent({ provider, model: 'm' }).stream('Weather in Rome?', { tools: { weather } }));
    expect(error).toBeUndefined();
    expect(requests).toHaveLength(2);
    expect(events.filter((e) => e.type === 'step-finish').map((e) => e.stopReason)).toEqual(['end', 'end']);
    expect(events.find((e) => e.type === 'tool-result')).toMatchObject({ id: 'call_e1', output: 'Rome: 24°C' });
    expect(requests[1]!.messages.at(-1)).toEqual({
      role: 'tool',
      content: [{ type: 'tool-result', toolCallId: 'call_e1', name: 'weather', output: 'Rome: 24°C' }],
    });
  });
});
