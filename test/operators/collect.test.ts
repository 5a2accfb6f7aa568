/**
 * collect(): what the folded answer keeps beyond text. Provider-run tools, citations and signed
 * reasoning are what a later turn must send back unchanged, so losing or mixing them is a defect.
 */
import { firstValueFrom, from } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { TokenEvent } from '../../src/events.js';
import { collect } from '../../src/operators/collect.js';

const answer = (events: TokenEvent[]) =>
  firstValueFrom(
    from([
      { type: 'start', provider: 'anthropic', model: 'm', t: 0 } as TokenEvent,
      ...events,
      { type: 'usage', usage: { inputTokens: 1, outputTokens: 2, estimated: false }, t: 9 } as TokenEvent,
      { type: 'done', stopReason: 'end', t: 10 } as TokenEvent,
    ]).pipe(collect()),
  );

describe('collect()', () => {
  it('keeps provider-run tools apart from the tool calls the app must answer, each result on its call', async () => {
    const call = { type: 'server_tool_use', id: 'srv_1', name: 'web_search', input: { query: 'q' } };
    const result = { type: 'web_search_tool_result', tool_use_id: 'srv_1', content: [] };
    const response = await answer([
      { type: 'provider-tool', phase: 'call', id: 'srv_1', name: 'web_search', input: { query: 'q' }, block: call, t: 1 },
      { type: 'provider-tool', phase: 'result', id: 'srv_1', name: 'web_search_tool_result', block: result, t: 2 },
      { type: 'tool-call', index: 0, id: 'toolu_1', name: 'get', argsDelta: '{}', t: 3 },
    ]);
    expect(response.providerTools).toEqual([{ id: 'srv_1', name: 'web_search', input: { query: 'q' }, call, result }]);
    expect(response.toolCalls).toEqual([{ index: 0, id: 'toolu_1', name: 'get', arguments: '{}' }]);
  });

  it('keeps citations in order, and the kind of a call that is not a function call', async () => {
    const response = await answer([
      { type: 'token', text: 'Paris', index: 0, t: 1 },
      { type: 'citation', citation: { type: 'url_citation', url: 'https://example.org/a' }, t: 2 },
      { type: 'citation', citation: { type: 'url_citation', url: 'https://example.org/b' }, t: 3 },
      { type: 'tool-call', index: 0, id: 'c1', name: 'sql', kind: 'custom_tool_call', argsDelta: 'SELECT 1', t: 4 },
    ]);
    expect(response.citations?.map((c) => c.url)).toEqual(['https://example.org/a', 'https://example.org/b']);
    expect(response.toolCalls?.[0]).toEqual({ index: 0, id: 'c1', name: 'sql', kind: 'custom_tool_call', arguments: 'SELECT 1' });
  });

  it('splits signed reasoning into its blocks, with redacted blocks in place', async () => {
    const response = await answer([
      { type: 'reasoning', text: 'first ', t: 1 },
      { type: 'reasoning', text: 'thought', t: 2 },
      { type: 'reasoning', text: '', signature: 'sig1', t: 3 },
      { type: 'reasoning', text: '', redacted: 'opaque', t: 4 },
      { type: 'reasoning', text: 'second', t: 5 },
      { type: 'reasoning', text: '', signature: 'sig2', t: 6 },
    ]);
    expect(response.reasoning).toBe('first thoughtsecond');
    expect(response.reasoningBlocks).toEqual([{ text: 'first thought', signature: 'sig1' }, { redacted: 'opaque' }, { text: 'second', signature: 'sig2' }]);
  });

  it('has no reasoningBlocks for reasoning nobody signed, and forgets everything before a reset', async () => {
    const plain = await answer([{ type: 'reasoning', text: 'think', t: 1 }]);
    expect(plain.reasoningBlocks).toBeUndefined();
    const reset = await answer([
      { type: 'reasoning', text: '', signature: 'old', t: 1 },
      { type: 'provider-tool', phase: 'call', id: 's', name: 'web_search', block: {}, t: 2 },
      { type: 'citation', citation: { n: 1 }, t: 3 },
      { type: 'reset', reason: 'second attempt', t: 4 },
      { type: 'token', text: 'B', index: 0, t: 5 },
    ]);
    expect([reset.content, reset.reasoningBlocks, reset.providerTools, reset.citations]).toEqual(['B', undefined, undefined, undefined]);
  });
});
