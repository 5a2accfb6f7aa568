/**
 * A Conversation as the history of a tool loop: the whole exchange is recorded (tool turns
 * included), a follow-up sends it back, trimming never separates a tool call from its result, and
 * an exchange that leaves a call unanswered records nothing.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Agent } from '../../src/agent/agent.js';
import { Conversation } from '../../src/agent/conversation.js';
import { tool } from '../../src/agent/tools.js';
import type { ChatMessage } from '../../src/events.js';
import { startMockProvider, type MockRequest, type MockScript } from '../../src/testing/index.js';
import { flavorOf, makeAdapter, type AdapterLabel } from '../helpers/mock.js';

const weather = tool({ inputSchema: z.object({ city: z.string() }), execute: ({ city }) => `${city}: 21°C` });

/**
 * With tools, every question gets a tool call (`call_<request index>`), and a request that ends with
 * its result gets a text answer; without tools, text.
 */
const script = (request: MockRequest): MockScript => {
  const body = request.body as { messages?: unknown[]; input?: unknown[]; tools?: unknown };
  const answered = body.tools === undefined || JSON.stringify((body.messages ?? body.input ?? []).at(-1)).includes('call_');
  return answered
    ? { text: `Answer ${request.index}.` }
    : { toolCalls: [{ id: `call_${request.index}`, name: 'weather', arguments: '{"city":"Oslo"}' }] };
};

const roles = (messages: readonly ChatMessage[]) => messages.map((m) => m.role);

/** The ids of calls and of results in a list of messages. */
function ids(messages: readonly ChatMessage[]): { calls: string[]; results: string[] } {
  const calls: string[] = [];
  const results: string[] = [];
  for (const m of messages) {
    if (typeof m.content === 'string') continue;
    for (const p of m.content) {
      if (p.type === 'tool-call') calls.push(p.id);
      if (p.type === 'tool-result') results.push(p.toolCallId);
    }
  }
  return { calls, results };
}

describe.each(['anthropic', 'openai', 'openai-responses'] as const satisfies readonly AdapterLabel[])('Conversation with a tool loop over %s', (label) => {
  async function withAgent(body: (agent: Agent, requests: readonly MockRequest[]) => Promise<void>): Promise<void> {
    const mock = await startMockProvider({ flavor: flavorOf(label), script });
    try {
      await body(new Agent({ provider: makeAdapter(label, mock.baseURL), model: 'test-model' }), mock.requests);
    } finally {
      await mock.close();
    }
  }

  it('records the whole exchange, tool turns included, and a follow-up sends them back', async () => {
    await withAgent(async (agent, requests) => {
      const conversation = new Conversation();
      const first = await agent.processMessage('Weather in Oslo?', { tools: { weather }, history: conversation });
      expect(first.content).toBe('Answer 1.');
      const stored = await conversation.all();
      expect(stored).toEqual([
        { role: 'user', content: 'Weather in Oslo?' },
        { role: 'assistant', content: [{ type: 'tool-call', id: 'call_0', name: 'weather', input: { city: 'Oslo' } }] },
        { role: 'tool', content: [{ type: 'tool-result', toolCallId: 'call_0', name: 'weather', output: 'Oslo: 21°C' }] },
        { role: 'assistant', content: 'Answer 1.' },
      ]);
      await agent.processMessageStreaming('And tomorrow?', { tools: { weather }, history: conversation });
      // The follow-up's first request carries the earlier tool result.
      expect(requests[2]!.toolResults).toEqual([expect.objectContaining({ toolCallId: 'call_0', output: 'Oslo: 21°C' })]);
      expect(roles(await conversation.all())).toEqual(['user', 'assistant', 'tool', 'assistant', 'user', 'assistant', 'tool', 'assistant']);
    });
  });

  it('maxTurns trims whole exchanges: a tool call is never sent without its result', async () => {
    await withAgent(async (agent, requests) => {
      const conversation = new Conversation({ maxTurns: 1 });
      await agent.processMessage('Weather in Oslo?', { tools: { weather }, history: conversation });
      await agent.processMessage('And tomorrow?', { tools: { weather }, history: conversation });
      const sent = await conversation.messages();
      expect(roles(sent)).toEqual(['user', 'assistant', 'tool', 'assistant']);
      expect(sent[0]).toEqual({ role: 'user', content: 'And tomorrow?' });
      const { calls, results } = ids(sent);
      expect(calls).toEqual(['call_2']);
      expect(results).toEqual(calls);
      await agent.processMessage('Thanks!', { tools: { weather }, history: conversation });
      // What went out holds the last exchange whole, and nothing of the first.
      const body = JSON.stringify(requests[4]!.body);
      expect(body).toContain('call_2');
      expect(body).not.toContain('call_0');
    });
  });

  it('maxTokens trimming drops a whole exchange that does not fit, never its tail', async () => {
    await withAgent(async (agent) => {
      const conversation = new Conversation({ maxTokens: 12 });
      await agent.processMessage('Weather in Oslo, please, with every detail you have?', { tools: { weather }, history: conversation });
      const all = await conversation.all();
      expect(all).toHaveLength(4);
      // The tool turn and the answer alone would fit the budget; the exchange as a whole does not.
      const sent = await conversation.messages();
      expect(sent).toEqual([]);
    });
  });

  it('an exchange that leaves a call for the application records nothing', async () => {
    await withAgent(async (agent) => {
      const conversation = new Conversation();
      const answer = await agent.processMessage('Weather in Oslo?', { tools: { weather: { inputSchema: { type: 'object' } } }, history: conversation });
      expect(answer.stopReason).toBe('tool_use');
      expect(await conversation.all()).toEqual([]);
    });
  });

  it('an exchange that ran out of steps ends with the tool turn, and the next question can follow it', async () => {
    await withAgent(async (agent, requests) => {
      const conversation = new Conversation();
      const answer = await agent.processMessage('Weather in Oslo?', { tools: { weather }, history: conversation, maxSteps: 1 });
      expect(answer.stopReason).toBe('tool_use');
      expect(roles(await conversation.all())).toEqual(['user', 'assistant', 'tool']);
      const next = await agent.processMessage('Go on.', { history: conversation });
      expect(next.stopReason).toBe('end');
      expect(requests[1]!.toolResults).toEqual([expect.objectContaining({ toolCallId: 'call_0' })]);
    });
  });
});
