/**
 * AG-UI → tokenflow: a third-party run written from the spec (fixtures/ag-ui), `toAGUI()`'s own
 * output read back (text and tool calls equal), errors and malformed streams typed.
 */
import { readFileSync } from 'node:fs';
import { transformChunks, verifyEvents } from '@ag-ui/client';
import type { BaseEvent } from '@ag-ui/core';
import { concat, from, lastValueFrom, NEVER, Observable, of, throwError, toArray } from 'rxjs';
import { describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { Agent } from '../../src/agent/agent.js';
import { tool } from '../../src/agent/tools.js';
import { fromAGUI, toAGUI, type AGUIEvent } from '../../src/ag-ui/index.js';
import { streamWithCallbacks } from '../../src/bridge/streamWithCallbacks.js';
import { InvalidArgumentError, ProtocolError, RemoteStreamError, TokenflowError } from '../../src/errors.js';
import type { TokenEvent } from '../../src/events.js';
import { collect } from '../../src/operators/collect.js';
import { metrics } from '../../src/operators/metrics.js';
import { startMockProvider, type MockRequest, type MockScript } from '../../src/testing/index.js';
import { makeProvider } from '../helpers/mock.js';

/** An SSE fixture as AG-UI events (each message one `data:` line of JSON). */
function fixture(name: string): AGUIEvent[] {
  const text = readFileSync(new URL(`../fixtures/ag-ui/${name}`, import.meta.url), 'utf8');
  return text
    .split('\n\n')
    .map((block) => block.trim())
    .filter((block) => block.startsWith('data: '))
    .map((block) => JSON.parse(block.slice('data: '.length)) as AGUIEvent);
}

const errorOf = (o: Observable<unknown>) => lastValueFrom(o.pipe(toArray())).then(() => undefined, (e: unknown) => e);

describe('fromAGUI(): a third-party AG-UI run', () => {
  const events = fixture('third-party-run.sse');

  it('the fixture is a valid AG-UI run by @ag-ui/client itself', async () => {
    const client = verifyEvents(false)(transformChunks(false)(from(events as BaseEvent[]) as never));
    await lastValueFrom(from(client as unknown as Observable<BaseEvent>).pipe(toArray()));
  });

  it('maps text (chunks too), reasoning, tool calls (chunks too), the tool result, usage and done', async () => {
    const unmapped: AGUIEvent[] = [];
    const out = await lastValueFrom(fromAGUI(from(events), { onUnmapped: (e) => unmapped.push(e) }).pipe(toArray()));
    expect(out.map(({ t: _t, ...rest }) => rest)).toEqual([
      { type: 'start', provider: 'ag-ui', model: 'unknown', id: 'run-9' },
      { type: 'reasoning', text: 'User wants ' },
      { type: 'reasoning', text: 'weather.' },
      { type: 'token', text: 'Checking ', index: 0 },
      { type: 'token', text: 'the sky… ☀️', index: 1 },
      { type: 'tool-call', index: 0, id: 'call_1', name: 'weather', argsDelta: '' },
      { type: 'tool-call', index: 0, argsDelta: '{"city":' },
      { type: 'tool-call', index: 0, argsDelta: '"Paris"}' },
      { type: 'tool-result', step: 0, id: 'call_1', name: 'weather', output: '21°C and sunny', isError: false, durationMs: 0 },
      { type: 'token', text: 'It is ', index: 2 },
      { type: 'token', text: 'sunny.', index: 3 },
      { type: 'tool-call', index: 1, id: 'call_2', name: 'notify', argsDelta: '' },
      { type: 'tool-call', index: 1, argsDelta: '{"msg"' },
      { type: 'tool-call', index: 1, argsDelta: ':"hi"}' },
      { type: 'usage', usage: { inputTokens: 12, outputTokens: 7, estimated: false } },
      { type: 'done', stopReason: 'tool_use' },
    ]);
    // Nothing it could not map went missing: state, the other agent's steps, the custom event.
    expect(unmapped.map((e) => e.type)).toEqual(['STATE_SNAPSHOT', 'STEP_STARTED', 'STEP_FINISHED', 'CUSTOM']);
  });

  it('collect(), metrics() and streamWithCallbacks work on it; t counts from subscription', async () => {
    const answer = await lastValueFrom(fromAGUI(from(events), { onUnmapped: 'ignore' }).pipe(collect()));
    expect(answer.content).toBe('Checking the sky… ☀️It is sunny.');
    expect(answer.reasoning).toBe('User wants weather.');
    expect(answer.toolCalls).toEqual([
      { index: 0, id: 'call_1', name: 'weather', arguments: '{"city":"Paris"}' },
      { index: 1, id: 'call_2', name: 'notify', arguments: '{"msg":"hi"}' },
    ]);
    expect(answer.stopReason).toBe('tool_use');
    const m = await lastValueFrom(fromAGUI(from(events), { onUnmapped: 'ignore' }).pipe(metrics()));
    expect(m.tokens).toBe(4);
    const tokens: string[] = [];
    const viaCallbacks = await streamWithCallbacks(fromAGUI(from(events), { onUnmapped: 'ignore' }), { onToken: (text) => void tokens.push(text) });
    expect(tokens.join('')).toBe(viaCallbacks.content);
    const ts = (await lastValueFrom(fromAGUI(from(events), { onUnmapped: 'ignore' }).pipe(toArray()))).map((e) => e.t);
    expect(ts.every((t, i) => t >= 0 && (i === 0 || t >= ts[i - 1]!))).toBe(true);
  });

  it("by default warns once per unmapped event type (visible, not fatal); 'error' fails with ProtocolError", async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      await lastValueFrom(fromAGUI(from(events)).pipe(toArray()));
      expect(warn.mock.calls.map((c) => String(c[0]).match(/\b[A-Z_]{3,}\b/)?.[0])).toEqual(['STATE_SNAPSHOT', 'STEP_STARTED', 'STEP_FINISHED', 'CUSTOM']);
    } finally {
      warn.mockRestore();
    }
    const error = await errorOf(fromAGUI(from(events), { onUnmapped: 'error' }));
    expect(ProtocolError.isInstance(error)).toBe(true);
    expect((error as Error).message).toContain('STATE_SNAPSHOT');
  });

  it('RUN_ERROR is a RemoteStreamError with the text received', async () => {
    const error = await errorOf(fromAGUI(from(fixture('run-error.sse'))));
    expect(RemoteStreamError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ message: 'Upstream model overloaded', remoteName: 'overloaded', partialText: 'Half an ans' });
  });
});

describe('fromAGUI(): malformed and out-of-order streams are ProtocolErrors', () => {
  const started = { type: 'RUN_STARTED', threadId: 't', runId: 'r' } as AGUIEvent;
  it.each([
    ['content before RUN_STARTED', [{ type: 'TEXT_MESSAGE_START', messageId: 'm' }], 'RUN_STARTED first'],
    ['content for a message never started', [started, { type: 'TEXT_MESSAGE_CONTENT', messageId: 'm', delta: 'x' }], 'TEXT_MESSAGE_START for message m first'],
    ['args for an unknown call', [started, { type: 'TOOL_CALL_ARGS', toolCallId: 'c', delta: '{}' }], 'TOOL_CALL_START for call c first'],
    ['RUN_FINISHED with a message open', [started, { type: 'TEXT_MESSAGE_START', messageId: 'm' }, { type: 'RUN_FINISHED', threadId: 't', runId: 'r' }], 'still open: m'],
    ['a delta that is not a string', [started, { type: 'TEXT_MESSAGE_START', messageId: 'm' }, { type: 'TEXT_MESSAGE_CONTENT', messageId: 'm', delta: 5 }], 'delta must be a'],
    ['an unknown event type', [started, { type: 'TEXT_MESAGE_START' }], 'AG-UI event type'],
  ])('%s', async (_label, events, message) => {
    const error = await errorOf(fromAGUI(from(events as AGUIEvent[])));
    expect(ProtocolError.isInstance(error)).toBe(true);
    expect((error as Error).message).toContain(message);
  });

  it('an end without RUN_FINISHED carries the partial text', async () => {
    const error = await errorOf(fromAGUI(from([started, { type: 'TEXT_MESSAGE_START', messageId: 'm' }, { type: 'TEXT_MESSAGE_CONTENT', messageId: 'm', delta: 'so far' }] as AGUIEvent[])));
    expect(ProtocolError.isInstance(error)).toBe(true);
    expect((error as ProtocolError).partialText).toBe('so far');
  });

  it("the source's own error is typed and carries the partial text", async () => {
    const source = concat(from([started, { type: 'TEXT_MESSAGE_START', messageId: 'm' }, { type: 'TEXT_MESSAGE_CONTENT', messageId: 'm', delta: 'abc' }] as AGUIEvent[]), throwError(() => new Error('socket hang up')));
    const error = await errorOf(fromAGUI(source));
    expect(TokenflowError.isInstance(error)).toBe(true);
    expect((error as TokenflowError).partialText).toBe('abc');
  });

  it('bad arguments error on subscription', async () => {
    expect(InvalidArgumentError.isInstance(await errorOf(fromAGUI([] as never)))).toBe(true);
    const error = await errorOf(fromAGUI(of(), { onUnmaped: 'ignore' } as never));
    expect(error).toMatchObject({ field: 'fromAGUI() options.onUnmaped' });
  });

  it('unsubscribing unsubscribes the source', () => {
    let tornDown = false;
    const source = new Observable<AGUIEvent>((subscriber) => {
      subscriber.next(started);
      return () => (tornDown = true);
    });
    const subscription = concat(source, NEVER).pipe((s) => fromAGUI(s)).subscribe();
    subscription.unsubscribe();
    expect(tornDown).toBe(true);
  });
});

describe('round trip: toAGUI() then fromAGUI()', () => {
  it('an Agent tool loop with reasoning: text, tool calls, tool results, steps and usage come back equal', async () => {
    const script = (request: MockRequest): MockScript =>
      request.toolResults.length === 0
        ? { reasoning: 'Need weather.', text: 'Let me look.', toolCalls: [{ id: 'toolu_1', name: 'weather', arguments: ['{"city":', '"Paris"}'] }], usage: { inputTokens: 20, outputTokens: 5 } }
        : { text: ['Sunny', ' in', ' Paris.'], usage: { inputTokens: 40, outputTokens: 3 } };
    const mock = await startMockProvider({ flavor: 'anthropic', script });
    try {
      const agent = new Agent({ provider: makeProvider('anthropic', mock), model: 'test-model' });
      const weather = tool({ inputSchema: z.object({ city: z.string() }), execute: ({ city }) => ({ city, temperature: 21 }) });
      const original: TokenEvent[] = await lastValueFrom(agent.stream('Weather?', { tools: { weather } }).pipe(toArray()));
      const agui = await lastValueFrom(from(original).pipe(toAGUI({ threadId: 't', runId: 'r' }), toArray()));
      const back = await lastValueFrom(fromAGUI(from(agui)).pipe(toArray()));
      const direct = await lastValueFrom(from(original).pipe(collect()));
      const again = await lastValueFrom(from(back).pipe(collect()));
      expect(again.content).toBe(direct.content);
      expect(again.usage).toEqual(direct.usage);
      expect(again.stopReason).toBe(direct.stopReason);
      expect(again.steps?.map((s) => ({ content: s.content, toolCalls: s.toolCalls, toolResults: s.toolResults?.map(({ durationMs: _d, ...r }) => r), stopReason: s.stopReason, reasoning: s.reasoning }))).toEqual(
        direct.steps?.map((s) => ({ content: s.content, toolCalls: s.toolCalls, toolResults: s.toolResults?.map(({ durationMs: _d, ...r }) => r), stopReason: s.stopReason, reasoning: s.reasoning })),
      );
      // Signed reasoning survives as a signature (Anthropic's mock signs its thinking).
      const signatures = (events: TokenEvent[]) => events.filter((e) => e.type === 'reasoning' && e.signature !== undefined).map((e) => (e as { signature: string }).signature);
      expect(signatures(back)).toEqual(signatures(original));
    } finally {
      await mock.close();
    }
  });

  it('a reset, a redacted block, provider data, provider tools and citations come back', async () => {
    const original: TokenEvent[] = [
      { type: 'start', provider: 'p', model: 'm', t: 0 },
      { type: 'token', text: 'Gone', index: 0, t: 1 },
      { type: 'reset', reason: 'retry', t: 2 },
      { type: 'reasoning', text: '', redacted: 'opaque', t: 3 },
      { type: 'reasoning', text: 'r', t: 3 },
      { type: 'reasoning', text: '', providerData: { id: 'rs_1', encrypted_content: 'enc' }, t: 3 },
      { type: 'token', text: 'Kept', index: 0, t: 4 },
      { type: 'citation', citation: { url: 'https://example.com' }, t: 4 },
      { type: 'provider-tool', phase: 'call', id: 'srv', name: 'web_search', block: { type: 'server_tool_use' }, t: 4 },
      { type: 'usage', usage: { inputTokens: 1, outputTokens: 2, estimated: true }, t: 5 },
      { type: 'done', stopReason: 'end', t: 6 },
    ];
    const back = await lastValueFrom(fromAGUI(from(original).pipe(toAGUI({ threadId: 't', runId: 'r' }))).pipe(toArray()));
    expect(back.map(({ t: _t, ...e }) => e)).toEqual([
      { type: 'start', provider: 'p', model: 'm', id: 'r' },
      { type: 'token', text: 'Gone', index: 0 },
      { type: 'reset', reason: 'retry' },
      { type: 'reasoning', text: '', redacted: 'opaque' },
      { type: 'reasoning', text: 'r' },
      { type: 'reasoning', text: '', providerData: { id: 'rs_1', encrypted_content: 'enc' } },
      // A reset starts the answer over: its tokens count from 0 again, as in the original.
      { type: 'token', text: 'Kept', index: 0 },
      { type: 'citation', citation: { url: 'https://example.com' } },
      { type: 'provider-tool', phase: 'call', id: 'srv', name: 'web_search', block: { type: 'server_tool_use' } },
      { type: 'usage', usage: { inputTokens: 1, outputTokens: 2, estimated: true } },
      { type: 'done', stopReason: 'end' },
    ]);
    expect((await lastValueFrom(from(back).pipe(collect()))).content).toBe('Kept');
  });
});
