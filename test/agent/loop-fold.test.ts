/**
 * The tool loop folds every event once: without a Conversation it keeps no loop-wide answer, so
 * what errors report (the provider, the text so far, the usage) must still come from what it saw,
 * and the events it sends keep their loop-wide `index` and `t`.
 */
import { from, type Observable } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { Agent } from '../../src/agent/agent.js';
import { tool } from '../../src/agent/tools.js';
import type { ChatRequest, TokenEvent } from '../../src/events.js';
import type { Provider } from '../../src/provider.js';
import { run } from '../helpers/run.js';

/** Step 0 says a word and calls `boom`; step 1 answers. Each step's `t` counts from its own request. */
function scripted(name: string): { provider: Provider; requests: ChatRequest[] } {
  const requests: ChatRequest[] = [];
  const provider = {
    name,
    stream: (request: ChatRequest): Observable<TokenEvent> => {
      requests.push(request);
      const start: TokenEvent = { type: 'start', provider: name, model: 'm', t: 0 };
      const usage: TokenEvent = { type: 'usage', usage: { inputTokens: 2, outputTokens: 3, estimated: false }, t: 5 };
      const events: TokenEvent[] =
        requests.length === 1
          ? [start, { type: 'token', text: 'Let me.', index: 0, t: 1 }, { type: 'tool-call', index: 0, id: 'c1', name: 'boom', argsDelta: '{}', t: 2 }, usage, { type: 'done', stopReason: 'tool_use', t: 6 }]
          : [start, { type: 'token', text: 'A', index: 0, t: 1 }, { type: 'token', text: 'B', index: 1, t: 3 }, usage, { type: 'done', stopReason: 'end', t: 6 }];
      return from(events);
    },
    complete: () => Promise.reject(new Error('not used')),
  } as unknown as Provider;
  return { provider, requests };
}

describe('the tool loop without a Conversation', () => {
  it("a throw-mode tool failure names the provider, with the loop's text and usage so far", async () => {
    const { provider } = scripted('scripted-a');
    const boom = tool({
      inputSchema: { type: 'object', properties: {} },
      execute: () => {
        throw new Error('kaput');
      },
    });
    const { error } = await run(new Agent({ provider, model: 'm' }).stream('Go', { tools: { boom }, onToolError: 'throw' }));
    expect(error).toMatchObject({ name: 'ToolExecutionError', provider: 'scripted-a', partialText: 'Let me.', usage: { inputTokens: 2, outputTokens: 3 } });
  });

  it("renumbers tokens across steps and moves each step's times after its step-start", async () => {
    const { provider } = scripted('scripted-b');
    const boom = tool({ inputSchema: { type: 'object', properties: {} }, execute: () => 'ok' });
    const { events, error } = await run(new Agent({ provider, model: 'm' }).stream('Go', { tools: { boom } }));
    expect(error).toBeUndefined();
    const tokens = events.filter((e) => e.type === 'token');
    expect(tokens.map((e) => [e.text, e.index])).toEqual([
      ['Let me.', 0],
      ['A', 1],
      ['B', 2],
    ]);
    const starts = events.filter((e) => e.type === 'step-start');
    // Step 1's tokens came 1 and 3 ms after its request; in the loop, after its step-start.
    expect(tokens[1]!.t - starts[1]!.t).toBeCloseTo(1, 9);
    expect(tokens[2]!.t - tokens[1]!.t).toBeCloseTo(2, 9);
    const finishes = events.filter((e) => e.type === 'step-finish');
    expect(finishes[1]!.metrics).toMatchObject({ ttftMs: 1, elapsedMs: 6, tokens: 2, interTokenGaps: { medianMs: 2, p90Ms: 2, maxMs: 2 } });
  });
});
