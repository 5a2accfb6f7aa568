/**
 * tokenflow → AG-UI: the mapping per event kind, in the order AG-UI's own `verifyEvents` demands,
 * on scripted streams and on an Agent's tool loop over the mock provider; errors sanitised;
 * unsubscribing reaches the source.
 */
import { verifyEvents } from '@ag-ui/client';
import type { BaseEvent } from '@ag-ui/core';
import fc from 'fast-check';
import { concat, from, lastValueFrom, NEVER, Observable, of, throwError, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Agent } from '../../src/agent/agent.js';
import { tool } from '../../src/agent/tools.js';
import { AGUIEncoder, toAGUI, type AGUIEvent } from '../../src/ag-ui/index.js';
import { ProviderError } from '../../src/errors.js';
import type { TokenEvent, Usage } from '../../src/events.js';
import { startMockProvider, type MockRequest, type MockScript } from '../../src/testing/index.js';
import { makeProvider } from '../helpers/mock.js';

const ids = { threadId: 'thread-1', runId: 'run-1' };
const quiet = { ...ids, onError: () => {} };
const u: Usage = { inputTokens: 3, outputTokens: 2, estimated: false };
const start: TokenEvent = { type: 'start', provider: 'p', model: 'm', id: 'msg_1', t: 0 };
const usage: TokenEvent = { type: 'usage', usage: u, t: 5 };
const done: TokenEvent = { type: 'done', stopReason: 'end', t: 6 };
const tok = (text: string, index: number): TokenEvent => ({ type: 'token', text, index, t: 1 + index });

const run = (events: TokenEvent[] | Observable<TokenEvent>, options: Parameters<typeof toAGUI>[0] = quiet) =>
  lastValueFrom((Array.isArray(events) ? from(events) : events).pipe(toAGUI(options), toArray()));

/** Passes the events through @ag-ui/client's own verifier: rejects on the first one it refuses. */
const verified = (events: AGUIEvent[]) => lastValueFrom(from(verifyEvents(false)(from(events as BaseEvent[]) as never) as unknown as Observable<BaseEvent>).pipe(toArray()));

const types = (events: AGUIEvent[]) => events.map((e) => e.type);

describe('toAGUI(): tokenflow events as an AG-UI run', () => {
  it('a text answer: RUN_STARTED, one assistant text message, RUN_FINISHED with the usage and stop reason', async () => {
    const out = await run([start, tok('Hel', 0), tok('lo', 1), usage, done]);
    expect(out).toEqual([
      { type: 'RUN_STARTED', threadId: 'thread-1', runId: 'run-1', metadata: { tokenflow: { provider: 'p', model: 'm', id: 'msg_1' } } },
      { type: 'TEXT_MESSAGE_START', messageId: 'run-1-1', role: 'assistant' },
      { type: 'TEXT_MESSAGE_CONTENT', messageId: 'run-1-1', delta: 'Hel' },
      { type: 'TEXT_MESSAGE_CONTENT', messageId: 'run-1-1', delta: 'lo' },
      { type: 'TEXT_MESSAGE_END', messageId: 'run-1-1' },
      {
        type: 'RUN_FINISHED',
        threadId: 'thread-1',
        runId: 'run-1',
        outcome: { type: 'success' },
        result: { stopReason: 'end' },
        usage: [{ provider: 'p', model: 'm', inputTokens: 3, outputTokens: 2, totalTokens: 5 }],
      },
    ]);
    await verified(out);
  });

  it('never sends an empty delta, and uses the messageId generator', async () => {
    let n = 0;
    const out = await run([start, tok('', 0), tok('a', 1), usage, done], { ...quiet, messageId: () => `m${++n}` });
    expect(out.filter((e) => e.type === 'TEXT_MESSAGE_CONTENT')).toEqual([{ type: 'TEXT_MESSAGE_CONTENT', messageId: 'm1', delta: 'a' }]);
  });

  it('reasoning: REASONING_* around the text; a signature, a redacted block and provider data as REASONING_ENCRYPTED_VALUE', async () => {
    const out = await run([
      start,
      { type: 'reasoning', text: 'Think', t: 1 },
      { type: 'reasoning', text: '', signature: 'sig-1', t: 1 },
      { type: 'reasoning', text: '', redacted: 'opaque', t: 1 },
      { type: 'reasoning', text: 'More', t: 1 },
      tok('Answer', 0),
      { type: 'reasoning', text: '', providerData: { id: 'rs_1', encrypted_content: 'enc' }, t: 1 },
      usage,
      done,
    ]);
    await verified(out);
    expect(types(out)).toEqual([
      'RUN_STARTED',
      'REASONING_START', 'REASONING_MESSAGE_START', 'REASONING_MESSAGE_CONTENT', 'REASONING_ENCRYPTED_VALUE', 'REASONING_MESSAGE_END', 'REASONING_END',
      'REASONING_START', 'REASONING_MESSAGE_START', 'REASONING_ENCRYPTED_VALUE', 'REASONING_MESSAGE_END', 'REASONING_END',
      'REASONING_START', 'REASONING_MESSAGE_START', 'REASONING_MESSAGE_CONTENT', 'REASONING_MESSAGE_END', 'REASONING_END',
      'TEXT_MESSAGE_START', 'TEXT_MESSAGE_CONTENT',
      'REASONING_START', 'REASONING_MESSAGE_START', 'REASONING_ENCRYPTED_VALUE', 'REASONING_MESSAGE_END', 'REASONING_END',
      'TEXT_MESSAGE_END', 'RUN_FINISHED',
    ]);
    const values = out.filter((e) => e.type === 'REASONING_ENCRYPTED_VALUE');
    expect(values).toMatchObject([
      { subtype: 'message', entityId: 'run-1-1', encryptedValue: 'sig-1', metadata: { tokenflow: { kind: 'signature' } } },
      { subtype: 'message', entityId: 'run-1-2', encryptedValue: 'opaque', metadata: { tokenflow: { kind: 'redacted' } } },
      { encryptedValue: 'enc', metadata: { tokenflow: { kind: 'providerData', providerData: { id: 'rs_1', encrypted_content: 'enc' } } } },
    ]);
  });

  it('tool calls: TOOL_CALL_START under the answer message, ARGS per fragment, END before RUN_FINISHED; provider tools and citations as CUSTOM', async () => {
    const out = await run([
      start,
      tok('Checking.', 0),
      { type: 'citation', citation: { url: 'https://example.com' }, t: 1 },
      { type: 'provider-tool', phase: 'call', id: 'srv_1', name: 'web_search', input: { q: 'x' }, block: { type: 'server_tool_use' }, t: 1 },
      { type: 'tool-call', index: 0, id: 'call_1', name: 'weather', argsDelta: '{"city":', t: 2 },
      { type: 'tool-call', index: 1, id: 'call_2', name: 'time', argsDelta: '', kind: 'custom_tool_call', t: 2 },
      { type: 'tool-call', index: 0, argsDelta: '"Paris"}', t: 3 },
      usage,
      { type: 'done', stopReason: 'tool_use', t: 6 },
    ]);
    await verified(out);
    expect(out.filter((e) => e.type.startsWith('TOOL_CALL') || e.type === 'CUSTOM')).toEqual([
      { type: 'CUSTOM', name: 'tokenflow.citation', value: { citation: { url: 'https://example.com' }, messageId: 'run-1-1' } },
      { type: 'CUSTOM', name: 'tokenflow.provider-tool', value: { phase: 'call', id: 'srv_1', name: 'web_search', input: { q: 'x' }, block: { type: 'server_tool_use' } } },
      { type: 'TOOL_CALL_START', toolCallId: 'call_1', toolCallName: 'weather', parentMessageId: 'run-1-1' },
      { type: 'TOOL_CALL_ARGS', toolCallId: 'call_1', delta: '{"city":' },
      { type: 'TOOL_CALL_START', toolCallId: 'call_2', toolCallName: 'time', parentMessageId: 'run-1-1', metadata: { tokenflow: { kind: 'custom_tool_call' } } },
      { type: 'TOOL_CALL_ARGS', toolCallId: 'call_1', delta: '"Paris"}' },
      { type: 'TOOL_CALL_END', toolCallId: 'call_1' },
      { type: 'TOOL_CALL_END', toolCallId: 'call_2' },
    ]);
    expect(out.at(-1)).toMatchObject({ type: 'RUN_FINISHED', result: { stopReason: 'tool_use' } });
  });

  it("a reset ends the open message, names what is discarded in a CUSTOM tokenflow.reset, and the retry's text is a new message", async () => {
    const out = await run([
      start,
      tok('Wrong', 0),
      { type: 'tool-call', index: 0, id: 'call_1', name: 'weather', argsDelta: '{}', t: 2 },
      { type: 'reset', reason: 'retried', t: 3 },
      start,
      tok('Right', 0),
      usage,
      done,
    ]);
    await verified(out);
    expect(types(out)).toEqual([
      'RUN_STARTED', 'TEXT_MESSAGE_START', 'TEXT_MESSAGE_CONTENT', 'TOOL_CALL_START', 'TOOL_CALL_ARGS',
      'TOOL_CALL_END', 'TEXT_MESSAGE_END', 'CUSTOM',
      'TEXT_MESSAGE_START', 'TEXT_MESSAGE_CONTENT', 'TEXT_MESSAGE_END', 'RUN_FINISHED',
    ]);
    expect(out.find((e) => e.type === 'CUSTOM')).toEqual({
      type: 'CUSTOM',
      name: 'tokenflow.reset',
      value: { reason: 'retried', discardedMessageIds: ['run-1-1'], discardedToolCallIds: ['call_1'] },
    });
    expect(out.filter((e) => e.type === 'TEXT_MESSAGE_START').map((e) => (e as { messageId: string }).messageId)).toEqual(['run-1-1', 'run-1-2']);
  });

  it("a step's reset discards only that step's messages; a whole-answer reset ends the open step", async () => {
    const step = (n: number): TokenEvent[] => [{ type: 'step-start', step: n, t: 0 }, start];
    const finish = (n: number, stopReason: 'tool_use' | 'end' = 'tool_use'): TokenEvent => ({ type: 'step-finish', step: n, usage: u, stopReason, t: 1 });
    const out = await run([
      ...step(0), tok('A', 0), finish(0),
      ...step(1), tok('B', 1), { type: 'reset', reason: 'step retried', step: 1, t: 2 }, tok('C', 1),
      { type: 'reset', reason: 'loop retried', t: 3 },
      ...step(0), tok('D', 0), finish(0, 'end'), usage, done,
    ]);
    await verified(out);
    const resets = out.filter((e) => e.type === 'CUSTOM').map((e) => (e as { value: unknown }).value);
    expect(resets).toEqual([
      { reason: 'step retried', step: 1, discardedMessageIds: ['run-1-2'], discardedToolCallIds: [] },
      { reason: 'loop retried', discardedMessageIds: ['run-1-1', 'run-1-2', 'run-1-3'], discardedToolCallIds: [] },
    ]);
    // The loop's restart at step 0 is a new STEP_STARTED after the old step-1 was finished.
    expect(out.filter((e) => e.type.startsWith('STEP_')).map((e) => `${e.type} ${(e as { stepName: string }).stepName}`)).toEqual([
      'STEP_STARTED step-0', 'STEP_FINISHED step-0', 'STEP_STARTED step-1', 'STEP_FINISHED step-1', 'STEP_STARTED step-0', 'STEP_FINISHED step-0',
    ]);
  });

  it('a failure is RUN_ERROR with the sanitised message, a code and the partial text, and no RUN_FINISHED', async () => {
    const secret = 'sk-live-SECRET123';
    const error = new ProviderError(`upstream said: invalid key ${secret}`, { status: 401, retryable: false, body: { key: secret } });
    const reported: unknown[] = [];
    const out = await run(concat(of(start, tok('Part', 0)), throwError(() => error)), { ...ids, onError: (e) => void reported.push(e) });
    await verified(out);
    expect(types(out)).toEqual(['RUN_STARTED', 'TEXT_MESSAGE_START', 'TEXT_MESSAGE_CONTENT', 'RUN_ERROR']);
    expect(out.at(-1)).toMatchObject({
      type: 'RUN_ERROR',
      message: "The server's provider credentials were refused.",
      code: 'ProviderError',
      metadata: { tokenflow: { name: 'ProviderError', partialText: 'Part', status: 401, retryable: false } },
    });
    expect(JSON.stringify(out)).not.toContain(secret);
    expect(reported).toEqual([error]);
  });

  it('an upstream error from the mock provider never reaches the AG-UI output in words', async () => {
    const secret = 'sk-proj-LEAKED987';
    const mock = await startMockProvider({
      flavor: 'openai',
      script: { text: ['One', ' two', ' three'] },
      faults: { errorEventAfter: 2, error: { type: 'server_error', message: `database password ${secret}` } },
    });
    try {
      const out = await run(makeProvider('openai', mock).stream({ model: 'm', messages: [{ role: 'user', content: 'Hi' }] }));
      await verified(out);
      expect(out.at(-1)).toMatchObject({ type: 'RUN_ERROR', metadata: { tokenflow: { partialText: 'One two' } } });
      expect(JSON.stringify(out)).not.toContain(secret);
    } finally {
      await mock.close();
    }
  });

  it('a stream that completes without done is a RUN_ERROR (ProtocolError), not a success', async () => {
    const out = await run([start, tok('Cut', 0)]);
    expect(out.at(-1)).toMatchObject({ type: 'RUN_ERROR', code: 'ProtocolError', metadata: { tokenflow: { partialText: 'Cut' } } });
    expect(types(out)).not.toContain('RUN_FINISHED');
  });

  it('something that is not a TokenEvent ends the run with RUN_ERROR', async () => {
    const out = await run(of(start, { type: 'nonsense' } as never));
    expect(out.at(-1)).toMatchObject({ type: 'RUN_ERROR', code: 'InvalidArgumentError' });
  });

  it('unsubscribing unsubscribes the source', async () => {
    let tornDown = false;
    const source = new Observable<TokenEvent>((subscriber) => {
      subscriber.next(start);
      subscriber.next(tok('a', 0));
      return () => (tornDown = true);
    });
    const seen: AGUIEvent[] = [];
    const subscription = concat(source, NEVER).pipe(toAGUI(quiet)).subscribe((e) => seen.push(e));
    expect(types(seen)).toEqual(['RUN_STARTED', 'TEXT_MESSAGE_START', 'TEXT_MESSAGE_CONTENT']);
    subscription.unsubscribe();
    expect(tornDown).toBe(true);
  });

  it('AGUIEncoder refuses an event after done, and its fail() after the end sends nothing', () => {
    const encoder = new AGUIEncoder(ids);
    encoder.push(start);
    encoder.push(done);
    expect(() => encoder.push(tok('late', 0))).toThrow(/after the stream's done/);
    expect(encoder.fail(new Error('x'))).toEqual([]);
  });
});

describe('an Agent tool loop on the mock provider, as AG-UI', () => {
  const script = (request: MockRequest): MockScript =>
    request.toolResults.length === 0
      ? { text: 'Let me look.', toolCalls: [{ id: 'call_w1', name: 'weather', arguments: ['{"city":', '"Paris"}'] }], usage: { inputTokens: 20, outputTokens: 5 } }
      : { reasoning: 'It is sunny.', text: ['Sunny', ' in', ' Paris.'], usage: { inputTokens: 40, outputTokens: 3 } };

  it('steps, per-step messages, the call under its message, the tool result, and the summed usage', async () => {
    const mock = await startMockProvider({ flavor: 'anthropic', script });
    try {
      const agent = new Agent({ provider: makeProvider('anthropic', mock), model: 'test-model' });
      const weather = tool({ inputSchema: z.object({ city: z.string() }), execute: ({ city }) => ({ city, temperature: 21 }) });
      const out = await run(agent.stream('Weather?', { tools: { weather } }));
      await verified(out);
      const steps = out.filter((e) => e.type === 'STEP_STARTED' || e.type === 'STEP_FINISHED');
      expect(steps.map((e) => `${e.type} ${(e as { stepName: string }).stepName}`)).toEqual(['STEP_STARTED step-0', 'STEP_FINISHED step-0', 'STEP_STARTED step-1', 'STEP_FINISHED step-1']);
      expect(steps[1]).toMatchObject({ metadata: { tokenflow: { stopReason: 'tool_use', usage: { inputTokens: 20, outputTokens: 5 } } } });
      const starts = out.filter((e) => e.type === 'TEXT_MESSAGE_START').map((e) => (e as { messageId: string }).messageId);
      expect(new Set(starts).size).toBe(2);
      expect(out.find((e) => e.type === 'TOOL_CALL_START')).toMatchObject({ toolCallId: 'call_w1', toolCallName: 'weather', parentMessageId: starts[0] });
      const args = out.filter((e) => e.type === 'TOOL_CALL_ARGS').map((e) => (e as { delta: string }).delta).join('');
      expect(JSON.parse(args)).toEqual({ city: 'Paris' });
      const result = out.find((e) => e.type === 'TOOL_CALL_RESULT');
      expect(result).toMatchObject({ toolCallId: 'call_w1', role: 'tool', content: '{"city":"Paris","temperature":21}', metadata: { tokenflow: { name: 'weather', isError: false, json: true } } });
      // The result comes after its step finished and before the next one starts.
      expect(out.indexOf(result!)).toBeGreaterThan(out.indexOf(steps[1]!));
      expect(out.indexOf(result!)).toBeLessThan(out.indexOf(steps[2]!));
      expect(types(out)).toContain('REASONING_MESSAGE_CONTENT');
      expect(out.at(-1)).toMatchObject({ type: 'RUN_FINISHED', usage: [{ inputTokens: 60, outputTokens: 8 }], result: { stopReason: 'end' } });
    } finally {
      await mock.close();
    }
  });
});

describe('property: every valid tokenflow stream becomes a run verifyEvents accepts', () => {
  /** One answer's events in wire order (text, reasoning, tool calls, provider tools, citations). */
  const answerEvents = fc
    .array(
      fc.oneof(
        fc.string({ minLength: 1, maxLength: 4 }).map((text) => ({ kind: 'token' as const, text })),
        fc.string({ minLength: 1, maxLength: 4 }).map((text) => ({ kind: 'reasoning' as const, text })),
        fc.constantFrom('signature', 'redacted', 'providerData').map((extra) => ({ kind: 'reasoning-extra' as const, extra })),
        fc.record({ call: fc.nat(2), args: fc.string({ maxLength: 4 }) }).map((c) => ({ kind: 'tool-call' as const, ...c })),
        fc.constant({ kind: 'provider-tool' as const }),
        fc.constant({ kind: 'citation' as const }),
        fc.constant({ kind: 'reset' as const }),
      ),
      { maxLength: 12 },
    );

  function answer(items: Array<{ kind: string; [k: string]: unknown }>, step: number | undefined, index: { token: number }): TokenEvent[] {
    const out: TokenEvent[] = [{ type: 'start', provider: 'p', model: 'm', t: 0 }];
    const named = new Set<number>();
    for (const item of items) {
      switch (item.kind) {
        case 'token':
          out.push({ type: 'token', text: item.text as string, index: index.token++, t: 1 });
          break;
        case 'reasoning':
          out.push({ type: 'reasoning', text: item.text as string, t: 1 });
          break;
        case 'reasoning-extra':
          if (item.extra === 'signature') out.push({ type: 'reasoning', text: '', signature: 's', t: 1 });
          else if (item.extra === 'redacted') out.push({ type: 'reasoning', text: '', redacted: 'r', t: 1 });
          else out.push({ type: 'reasoning', text: '', providerData: { id: 'rs' }, t: 1 });
          break;
        case 'tool-call': {
          const i = item.call as number;
          const first = !named.has(i);
          named.add(i);
          out.push({ type: 'tool-call', index: i, ...(first ? { id: `c${step ?? 'x'}-${i}-${out.length}`, name: 'f' } : {}), argsDelta: item.args as string, t: 1 });
          break;
        }
        case 'provider-tool':
          out.push({ type: 'provider-tool', phase: 'call', id: 'srv', name: 'web_search', block: {}, t: 1 });
          break;
        case 'citation':
          out.push({ type: 'citation', citation: { n: 1 }, t: 1 });
          break;
        case 'reset':
          out.push({ type: 'reset', reason: 'retry', ...(step === undefined ? {} : { step }), t: 1 });
          named.clear();
          break;
      }
    }
    return out;
  }

  it('plain answers and tool loops', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(answerEvents, { minLength: 1, maxLength: 3 }), fc.boolean(), async (answers, loop) => {
        const index = { token: 0 };
        const events: TokenEvent[] = [];
        if (!loop) events.push(...answer(answers[0]!, undefined, index), { type: 'usage', usage: u, t: 2 }, { type: 'done', stopReason: 'end', t: 3 });
        else {
          answers.forEach((items, step) => {
            events.push({ type: 'step-start', step, t: 0 }, ...answer(items, step, index), { type: 'usage', usage: u, t: 1 });
            events.push({ type: 'step-finish', step, usage: u, stopReason: 'tool_use', t: 1 });
            for (const e of events.slice()) if (e.type === 'tool-call' && e.id !== undefined && e.id.startsWith(`c${step}-`)) {
              events.push({ type: 'tool-result', step, id: e.id, name: 'f', output: { ok: true }, isError: false, durationMs: 1, t: 1 });
            }
          });
          events.push({ type: 'usage', usage: u, t: 2 }, { type: 'done', stopReason: 'end', t: 3 });
        }
        const out = await run(events);
        await verified(out);
        expect(out.at(-1)?.type).toBe('RUN_FINISHED');
        expect(out.some((e) => 'delta' in e && e.delta === '')).toBe(false);
      }),
      { numRuns: 150 },
    );
  });
});
