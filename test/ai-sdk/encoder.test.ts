/**
 * The UI message stream mapping, chunk kind by chunk kind. Each stream is also read by the AI SDK's
 * own client code: `DefaultChatTransport` (which checks every chunk against the AI SDK's schema)
 * fetching a `uiMessageStreamResponse()`, and `readUIMessageStream()` assembling the `UIMessage`.
 */
import { DefaultChatTransport, readUIMessageStream, type UIMessage } from 'ai';
import { concat, from, lastValueFrom, Observable, of, Subject, throwError, toArray } from 'rxjs';
import { describe, expect, it, vi } from 'vitest';
import { fromUIMessages, toUIMessageStream, uiMessageStreamResponse, UIMessageStreamEncoder, type UIMessageChunk } from '../../src/ai-sdk/index.js';
import { ProtocolError, ProviderError, StreamAbortedError } from '../../src/errors.js';
import type { StopReason, TokenEvent } from '../../src/events.js';

const start: TokenEvent = { type: 'start', provider: 'mock', model: 'm', t: 0 };
const tok = (text: string, index = 0): TokenEvent => ({ type: 'token', text, index, t: 1 });
const usage: TokenEvent = { type: 'usage', usage: { inputTokens: 3, outputTokens: 2, estimated: false }, t: 2 };
const done = (stopReason: StopReason = 'end'): TokenEvent => ({ type: 'done', stopReason, t: 3 });
const call = (index: number, argsDelta: string, first?: { id: string; name: string; kind?: string }): TokenEvent =>
  first ? { type: 'tool-call', index, argsDelta, t: 1, ...first } : { type: 'tool-call', index, argsDelta, t: 1 };
const silent = { onError: () => {} };

function chunksOf(events: TokenEvent[], options: Parameters<typeof toUIMessageStream>[0] = silent): Promise<UIMessageChunk[]> {
  return lastValueFrom(from(events).pipe(toUIMessageStream(options), toArray()));
}

/** What the AI SDK's client makes of the stream: the final message, every snapshot, and the errors it reported. */
async function assemble(events$: Observable<TokenEvent>): Promise<{ message: UIMessage; snapshots: UIMessage[]; errors: string[] }> {
  const transport = new DefaultChatTransport<UIMessage>({ api: 'http://127.0.0.1/api/chat', fetch: async () => uiMessageStreamResponse(events$, silent) });
  const stream = await transport.sendMessages({ trigger: 'submit-message', chatId: 'c1', messageId: undefined, messages: [], abortSignal: undefined });
  const errors: string[] = [];
  const snapshots: UIMessage[] = [];
  for await (const message of readUIMessageStream<UIMessage>({ stream, onError: (e) => errors.push((e as Error).message), terminateOnError: false })) {
    snapshots.push(structuredClone(message));
  }
  return { message: snapshots.at(-1)!, snapshots, errors };
}

describe('UIMessageStreamEncoder', () => {
  it('a single answer: start, one step, a text block, metadata, finish', async () => {
    const events = [start, tok('Hello'), tok(' world', 1), usage, done()];
    expect(await chunksOf(events, { messageId: 'msg_1', onError: () => {} })).toEqual([
      { type: 'start', messageId: 'msg_1' },
      { type: 'start-step' },
      { type: 'text-start', id: 'text-0' },
      { type: 'text-delta', id: 'text-0', delta: 'Hello' },
      { type: 'text-delta', id: 'text-0', delta: ' world' },
      { type: 'message-metadata', messageMetadata: { usage: { inputTokens: 3, outputTokens: 2, estimated: false } } },
      { type: 'text-end', id: 'text-0' },
      { type: 'finish-step' },
      { type: 'finish', finishReason: 'stop', messageMetadata: { stopReason: 'end' } },
    ]);
    const { message, snapshots, errors } = await assemble(from(events));
    expect(errors).toEqual([]);
    expect(message.parts).toEqual([{ type: 'step-start' }, { type: 'text', text: 'Hello world', state: 'done' }]);
    expect(message.metadata).toEqual({ usage: { inputTokens: 3, outputTokens: 2, estimated: false }, stopReason: 'end' });
    expect(snapshots.map((m) => m.parts.find((p) => p.type === 'text')).filter(Boolean).map((p) => (p as { text: string }).text)).toContain('Hello');
  });

  it('metadata: false sends none', async () => {
    const chunks = await chunksOf([start, tok('a'), usage, done()], { metadata: false, onError: () => {} });
    expect(chunks.some((c) => c.type === 'message-metadata')).toBe(false);
    expect(chunks.at(-1)).toEqual({ type: 'finish', finishReason: 'stop' });
  });

  it.each<[StopReason, string]>([
    ['end', 'stop'],
    ['stop_sequence', 'stop'],
    ['max_tokens', 'length'],
    ['tool_use', 'tool-calls'],
    ['content_filter', 'content-filter'],
    ['refusal', 'content-filter'],
    ['pause_turn', 'other'],
    ['other', 'other'],
  ])('stop reason %s finishes with %s, the exact reason in the metadata', async (reason, finishReason) => {
    const chunks = await chunksOf([start, usage, { type: 'done', stopReason: reason, refusal: reason === 'refusal' ? 'I cannot.' : undefined, t: 3 } as TokenEvent]);
    const finish = chunks.at(-1);
    expect(finish).toMatchObject({ type: 'finish', finishReason, messageMetadata: { stopReason: reason } });
    if (reason === 'refusal') expect(finish).toMatchObject({ messageMetadata: { refusal: 'I cannot.' } });
  });

  it('reasoning: blocks with deltas; a signature, a redacted block and Responses provider data travel in providerMetadata.tokenflow', async () => {
    const events: TokenEvent[] = [
      start,
      { type: 'reasoning', text: 'Think', t: 1 },
      { type: 'reasoning', text: 'ing.', t: 1 },
      { type: 'reasoning', text: '', signature: 'sig-1', t: 1 },
      { type: 'reasoning', text: '', redacted: 'opaque', t: 1 },
      { type: 'reasoning', text: '', providerData: { id: 'rs_1', encrypted_content: 'enc' }, t: 1 },
      tok('Answer.'),
      usage,
      done(),
    ];
    const chunks = await chunksOf(events);
    expect(chunks.filter((c) => c.type.startsWith('reasoning'))).toEqual([
      { type: 'reasoning-start', id: 'reasoning-0' },
      { type: 'reasoning-delta', id: 'reasoning-0', delta: 'Think' },
      { type: 'reasoning-delta', id: 'reasoning-0', delta: 'ing.' },
      { type: 'reasoning-end', id: 'reasoning-0', providerMetadata: { tokenflow: { signature: 'sig-1' } } },
      { type: 'reasoning-start', id: 'reasoning-1', providerMetadata: { tokenflow: { redacted: 'opaque' } } },
      { type: 'reasoning-end', id: 'reasoning-1' },
      { type: 'reasoning-start', id: 'reasoning-2' },
      { type: 'reasoning-end', id: 'reasoning-2', providerMetadata: { tokenflow: { providerData: { id: 'rs_1', encrypted_content: 'enc' } } } },
    ]);
    const { message } = await assemble(from(events));
    expect(message.parts.filter((p) => p.type === 'reasoning')).toEqual([
      { type: 'reasoning', id: 'reasoning-0', text: 'Thinking.', state: 'done', providerMetadata: { tokenflow: { signature: 'sig-1' } } },
      { type: 'reasoning', id: 'reasoning-1', text: '', state: 'done', providerMetadata: { tokenflow: { redacted: 'opaque' } } },
      { type: 'reasoning', id: 'reasoning-2', text: '', state: 'done', providerMetadata: { tokenflow: { providerData: { id: 'rs_1', encrypted_content: 'enc' } } } },
    ]);
    // Back into history: the blocks a provider needs, in order, as collect() would keep them.
    expect(fromUIMessages([message])).toEqual([
      {
        role: 'assistant',
        content: [
          { type: 'reasoning', text: 'Thinking.', signature: 'sig-1' },
          { type: 'reasoning', text: '', redacted: 'opaque' },
          { type: 'reasoning', text: '', providerData: { id: 'rs_1', encrypted_content: 'enc' } },
          { type: 'text', text: 'Answer.' },
        ],
      },
    ]);
  });

  it('tool calls: input-start and deltas as fragments come, input-available at the answer end; not JSON is tool-input-error; free-form is text', async () => {
    const events: TokenEvent[] = [
      start,
      tok('Let me check.'),
      call(0, '{"city":', { id: 'call_1', name: 'weather' }),
      call(1, '', { id: 'call_2', name: 'clock' }),
      call(0, '"Paris"}'),
      call(2, '{"cut": "ha', { id: 'call_3', name: 'weather' }),
      call(3, 'raw text', { id: 'call_4', name: 'patch', kind: 'custom_tool_call' }),
      usage,
      done('tool_use'),
    ];
    const chunks = await chunksOf(events);
    expect(chunks.filter((c) => c.type.startsWith('tool-') || c.type === 'text-end')).toEqual([
      { type: 'text-end', id: 'text-0' },
      { type: 'tool-input-start', toolCallId: 'call_1', toolName: 'weather' },
      { type: 'tool-input-delta', toolCallId: 'call_1', inputTextDelta: '{"city":' },
      { type: 'tool-input-start', toolCallId: 'call_2', toolName: 'clock' },
      { type: 'tool-input-delta', toolCallId: 'call_1', inputTextDelta: '"Paris"}' },
      { type: 'tool-input-start', toolCallId: 'call_3', toolName: 'weather' },
      { type: 'tool-input-delta', toolCallId: 'call_3', inputTextDelta: '{"cut": "ha' },
      { type: 'tool-input-start', toolCallId: 'call_4', toolName: 'patch', inputEncoding: 'text', providerMetadata: { tokenflow: { kind: 'custom_tool_call' } } },
      { type: 'tool-input-delta', toolCallId: 'call_4', inputTextDelta: 'raw text' },
      { type: 'tool-input-available', toolCallId: 'call_1', toolName: 'weather', input: { city: 'Paris' } },
      { type: 'tool-input-available', toolCallId: 'call_2', toolName: 'clock', input: {} },
      expect.objectContaining({ type: 'tool-input-error', toolCallId: 'call_3', toolName: 'weather', input: '{"cut": "ha' }),
      { type: 'tool-input-available', toolCallId: 'call_4', toolName: 'patch', input: 'raw text', providerMetadata: { tokenflow: { kind: 'custom_tool_call' } } },
    ]);
    expect(chunks.at(-1)).toMatchObject({ type: 'finish', finishReason: 'tool-calls' });
    const { message, snapshots } = await assemble(from(events));
    const states = snapshots.map((m) => (m.parts.find((p) => 'toolCallId' in p && p.toolCallId === 'call_1') as { state?: string } | undefined)?.state);
    expect(states).toContain('input-streaming');
    expect(message.parts.filter((p) => p.type.startsWith('tool-'))).toMatchObject([
      { type: 'tool-weather', toolCallId: 'call_1', state: 'input-available', input: { city: 'Paris' } },
      { type: 'tool-clock', toolCallId: 'call_2', state: 'input-available', input: {} },
      { type: 'tool-weather', toolCallId: 'call_3', state: 'output-error', rawInput: '{"cut": "ha' },
      { type: 'tool-patch', toolCallId: 'call_4', state: 'input-available', input: 'raw text' },
    ]);
    // The history keeps the function calls with JSON input, as AgentResponse.message does.
    expect(fromUIMessages([message])).toEqual([
      {
        role: 'assistant',
        content: [
          { type: 'text', text: 'Let me check.' },
          { type: 'tool-call', id: 'call_1', name: 'weather', input: { city: 'Paris' } },
          { type: 'tool-call', id: 'call_2', name: 'clock', input: {} },
        ],
      },
    ]);
  });

  it('tool results: tool-output-available, or tool-output-error with the message the model got', async () => {
    const events: TokenEvent[] = [
      { type: 'step-start', step: 0, t: 0 },
      start,
      call(0, '{"city":"Paris"}', { id: 'call_1', name: 'weather' }),
      call(1, '{}', { id: 'call_2', name: 'clock' }),
      usage,
      { type: 'step-finish', step: 0, usage: { inputTokens: 3, outputTokens: 2, estimated: false }, stopReason: 'tool_use', t: 2 },
      { type: 'tool-result', step: 0, id: 'call_2', name: 'clock', output: 'Tool "clock" failed: no clock', isError: true, durationMs: 1, t: 3 },
      { type: 'tool-result', step: 0, id: 'call_1', name: 'weather', output: { temperature: 21 }, isError: false, durationMs: 1, t: 3 },
      { type: 'step-start', step: 1, t: 4 },
      start,
      tok('Sunny.'),
      usage,
      { type: 'step-finish', step: 1, usage: { inputTokens: 3, outputTokens: 2, estimated: false }, stopReason: 'end', t: 5 },
      usage,
      done(),
    ];
    const chunks = await chunksOf(events);
    expect(chunks.filter((c) => c.type.startsWith('tool-output'))).toEqual([
      { type: 'tool-output-error', toolCallId: 'call_2', errorText: 'Tool "clock" failed: no clock' },
      { type: 'tool-output-available', toolCallId: 'call_1', output: { temperature: 21 } },
    ]);
    expect(chunks.filter((c) => c.type === 'start-step' || c.type === 'finish-step').map((c) => c.type)).toEqual(['start-step', 'finish-step', 'start-step', 'finish-step']);
    const { message } = await assemble(from(events));
    expect(message.parts.map((p) => p.type)).toEqual(['step-start', 'tool-weather', 'tool-clock', 'step-start', 'text']);
    expect(message.parts[2]).toMatchObject({ state: 'output-error', errorText: 'Tool "clock" failed: no clock', input: {} });
    expect(message.parts[1]).toMatchObject({ state: 'output-available', output: { temperature: 21 } });
  });

  it('a provider-run tool is a tool part with providerExecuted, its blocks kept for the next turn', async () => {
    const callBlock = { type: 'server_tool_use', id: 'srvtoolu_1', name: 'web_search', input: { query: 'tiles' } };
    const resultBlock = { type: 'web_search_tool_result', tool_use_id: 'srvtoolu_1', content: [] };
    const events: TokenEvent[] = [
      start,
      { type: 'provider-tool', phase: 'call', id: 'srvtoolu_1', name: 'web_search', input: { query: 'tiles' }, block: callBlock, t: 1 },
      { type: 'provider-tool', phase: 'result', id: 'srvtoolu_1', name: 'web_search_tool_result', block: resultBlock, t: 1 },
      tok('Found.'),
      usage,
      done(),
    ];
    const chunks = await chunksOf(events);
    expect(chunks.filter((c) => c.type.startsWith('tool-'))).toEqual([
      { type: 'tool-input-available', toolCallId: 'srvtoolu_1', toolName: 'web_search', input: { query: 'tiles' }, providerExecuted: true, providerMetadata: { tokenflow: { block: callBlock } } },
      { type: 'tool-output-available', toolCallId: 'srvtoolu_1', output: resultBlock, providerExecuted: true, providerMetadata: { tokenflow: { name: 'web_search_tool_result' } } },
    ]);
    const { message } = await assemble(from(events));
    expect(message.parts[1]).toMatchObject({ type: 'tool-web_search', state: 'output-available', providerExecuted: true, output: resultBlock });
    expect(fromUIMessages([message])).toEqual([
      {
        role: 'assistant',
        content: [
          { type: 'provider-tool', phase: 'call', id: 'srvtoolu_1', name: 'web_search', block: callBlock },
          { type: 'provider-tool', phase: 'result', id: 'srvtoolu_1', name: 'web_search_tool_result', block: resultBlock },
          { type: 'text', text: 'Found.' },
        ],
      },
    ]);
  });

  it('citations: with a URL a source-url part, otherwise a data-tokenflow-citation part', async () => {
    const web = { type: 'url_citation', url: 'https://example.com/tiles', title: 'Tiles', start_index: 0, end_index: 5 };
    const doc = { type: 'char_location', document_index: 0, document_title: 'Guide', cited_text: 'Azulejos' };
    const events: TokenEvent[] = [start, tok('Tiles'), { type: 'citation', citation: web, t: 1 }, { type: 'citation', citation: doc, t: 1 }, usage, done()];
    const chunks = await chunksOf(events);
    expect(chunks.filter((c) => c.type === 'source-url' || c.type.startsWith('data-'))).toEqual([
      { type: 'source-url', sourceId: 'source-0', url: 'https://example.com/tiles', title: 'Tiles', providerMetadata: { tokenflow: { citation: web } } },
      { type: 'data-tokenflow-citation', data: doc },
    ]);
    const { message } = await assemble(from(events));
    expect(message.parts.map((p) => p.type)).toEqual(['step-start', 'text', 'source-url', 'data-tokenflow-citation']);
    expect(fromUIMessages([message])).toEqual([{ role: 'assistant', content: 'Tiles' }]);
  });

  it('a reset ends the open parts and the step, marks what was discarded and starts a new step; fromUIMessages drops the discarded part', async () => {
    const events: TokenEvent[] = [
      start,
      tok('Half an ans'),
      call(0, '{"ci', { id: 'call_1', name: 'weather' }),
      { type: 'reset', reason: 'retry', t: 2 },
      tok('A whole answer.'),
      usage,
      done(),
    ];
    const chunks = await chunksOf(events);
    const at = chunks.findIndex((c) => c.type === 'data-tokenflow-reset');
    expect(chunks.slice(at - 2, at + 3)).toEqual([
      expect.objectContaining({ type: 'tool-input-error', toolCallId: 'call_1' }),
      { type: 'finish-step' },
      { type: 'data-tokenflow-reset', data: { reason: 'retry' } },
      { type: 'start-step' },
      { type: 'text-start', id: 'text-1' },
    ]);
    const { message } = await assemble(from(events));
    expect(message.parts.map((p) => p.type)).toEqual(['step-start', 'text', 'tool-weather', 'data-tokenflow-reset', 'step-start', 'text']);
    expect(fromUIMessages([message])).toEqual([{ role: 'assistant', content: 'A whole answer.' }]);
  });

  it("a tool loop's step reset discards only that step: earlier steps stand", async () => {
    const stepUsage = { inputTokens: 1, outputTokens: 1, estimated: false };
    const events: TokenEvent[] = [
      { type: 'step-start', step: 0, t: 0 },
      start,
      call(0, '{}', { id: 'call_1', name: 'clock' }),
      usage,
      { type: 'step-finish', step: 0, usage: stepUsage, stopReason: 'tool_use', t: 1 },
      { type: 'tool-result', step: 0, id: 'call_1', name: 'clock', output: '12:00', isError: false, durationMs: 1, t: 1 },
      { type: 'step-start', step: 1, t: 2 },
      start,
      tok('It is twel'),
      { type: 'reset', reason: 'retry', step: 1, t: 3 },
      tok('It is noon.'),
      usage,
      { type: 'step-finish', step: 1, usage: stepUsage, stopReason: 'end', t: 4 },
      usage,
      done(),
    ];
    const { message, errors } = await assemble(from(events));
    expect(errors).toEqual([]);
    expect(message.parts.map((p) => p.type)).toEqual(['step-start', 'tool-clock', 'step-start', 'text', 'data-tokenflow-reset', 'step-start', 'text']);
    expect(fromUIMessages([message])).toEqual([
      { role: 'assistant', content: [{ type: 'tool-call', id: 'call_1', name: 'clock', input: {} }] },
      { role: 'tool', content: [{ type: 'tool-result', toolCallId: 'call_1', name: 'clock', output: '12:00' }] },
      { role: 'assistant', content: 'It is noon.' },
    ]);
  });

  it('an error ends with one error chunk carrying the sanitised message, never the upstream text; onError gets the full error', async () => {
    const secret = 'sk-ant-api03-SECRET-abcdefghijklmnop';
    const failure = new ProviderError(`Overloaded; key ${secret}`, { status: 529, retryable: true, inStream: true, partialText: 'Hel' });
    const onError = vi.fn();
    const chunks = await lastValueFrom(concat(of(start, tok('Hel')), throwError(() => failure)).pipe(toUIMessageStream({ onError }), toArray()));
    expect(chunks.at(-1)).toEqual({ type: 'error', errorText: 'The provider failed or is overloaded.' });
    expect(JSON.stringify(chunks)).not.toContain('SECRET');
    expect(chunks.some((c) => c.type === 'finish')).toBe(false);
    expect(onError).toHaveBeenCalledTimes(1);
    expect(onError.mock.calls[0]![0]).toBe(failure);
    expect(onError.mock.calls[0]![1]).toMatchObject({ partialText: 'Hel', sent: { name: 'ProviderError' } });
    const { errors } = await assemble(concat(of(start, tok('Hel')), throwError(() => failure)));
    expect(errors).toEqual(['The provider failed or is overloaded.']);
  });

  it('a stopped stream ends with abort, not error', async () => {
    const chunks = await lastValueFrom(concat(of(start, tok('Hel')), throwError(() => new StreamAbortedError('aborted by signal'))).pipe(toUIMessageStream(silent), toArray()));
    expect(chunks.at(-1)).toEqual({ type: 'abort', reason: 'The stream was aborted on the server.' });
  });

  it('a stream that completes without done is an error, never a finish', async () => {
    const onError = vi.fn();
    const chunks = await lastValueFrom(of(start, tok('Hel')).pipe(toUIMessageStream({ onError }), toArray()));
    expect(chunks.at(-1)).toEqual({ type: 'error', errorText: 'The provider sent a response tokenflow could not read.' });
    expect(ProtocolError.isInstance(onError.mock.calls[0]![0])).toBe(true);
    expect((onError.mock.calls[0]![0] as ProtocolError).partialText).toBe('Hel');
  });

  it('a tool result for a call the stream never made is an error (the client would throw on it)', async () => {
    const chunks = await chunksOf([start, { type: 'tool-result', step: 0, id: 'nope', name: 'x', output: 1, isError: false, durationMs: 1, t: 1 }, done()]);
    expect(chunks.at(-1)).toMatchObject({ type: 'error' });
  });

  it('something that is not a TokenEvent is an error and unsubscribes the source', async () => {
    let unsubscribed = false;
    const source = new Observable<TokenEvent>((subscriber) => {
      subscriber.next(start);
      subscriber.next({ type: 'bogus' } as never);
      return () => (unsubscribed = true);
    });
    const chunks = await lastValueFrom(source.pipe(toUIMessageStream(silent), toArray()));
    expect(chunks.at(-1)).toMatchObject({ type: 'error', errorText: 'The server set up the stream with an invalid argument.' });
    expect(unsubscribed).toBe(true);
  });

  it('unsubscribing downstream unsubscribes the source', () => {
    const source = new Subject<TokenEvent>();
    const seen: UIMessageChunk[] = [];
    const subscription = source.pipe(toUIMessageStream(silent)).subscribe((c) => seen.push(c));
    source.next(start);
    source.next(tok('a'));
    expect(source.observed).toBe(true);
    subscription.unsubscribe();
    expect(source.observed).toBe(false);
    expect(seen.map((c) => c.type)).toEqual(['start', 'start-step', 'text-start', 'text-delta']);
  });

  it('the encoder is usable on its own: push, then end() for a stream that stopped short', () => {
    const encoder = new UIMessageStreamEncoder();
    expect(encoder.push(start)).toEqual([{ type: 'start' }, { type: 'start-step' }]);
    expect(encoder.push(tok('x'))).toHaveLength(2);
    expect(encoder.finished).toBe(false);
    expect(encoder.end()).toEqual([{ type: 'error', errorText: 'The provider sent a response tokenflow could not read.' }]);
    expect(encoder.finished).toBe(true);
    expect(encoder.push(done())).toEqual([]);
  });
});
