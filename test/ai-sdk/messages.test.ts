/**
 * `fromUIMessages()` on bodies as `useChat` sends them, and on bad ones: each is an
 * `InvalidArgumentError` naming the offending message or part.
 */
import type { UIMessage } from 'ai';
import { describe, expect, it } from 'vitest';
import { fromUIMessages } from '../../src/ai-sdk/index.js';
import { InvalidArgumentError } from '../../src/errors.js';

describe('fromUIMessages', () => {
  it('reads a realistic conversation: system, user text and files, an assistant with steps, tools, sources and data parts', () => {
    const messages: UIMessage[] = [
      { id: 's', role: 'system', parts: [{ type: 'text', text: 'Be brief.' }] },
      {
        id: 'u1',
        role: 'user',
        parts: [
          { type: 'text', text: 'What is in these?' },
          { type: 'file', mediaType: 'image/png', url: 'data:image/png;base64,iVBORw0KGgo=' },
          { type: 'file', mediaType: 'application/pdf', filename: 'guide.pdf', url: 'https://example.com/guide.pdf' },
        ],
      },
      {
        id: 'a1',
        role: 'assistant',
        metadata: { usage: { inputTokens: 1, outputTokens: 1, estimated: false } },
        parts: [
          { type: 'step-start' },
          { type: 'reasoning', text: 'unsigned thoughts', state: 'done' },
          { type: 'text', text: 'Checking.', state: 'done' },
          { type: 'tool-lookup', toolCallId: 'c1', state: 'output-available', input: { q: 'x' }, output: { hits: 2 } },
          { type: 'dynamic-tool', toolName: 'search', toolCallId: 'c2', state: 'output-error', input: { q: 'y' }, errorText: 'no index' },
          { type: 'tool-lookup', toolCallId: 'c3', state: 'output-denied', input: { q: 'z' }, approval: { id: 'a', approved: false } },
          { type: 'source-url', sourceId: 's1', url: 'https://example.com' },
          { type: 'data-progress', data: { pct: 100 } },
          { type: 'step-start' },
          { type: 'text', text: 'Two hits.', state: 'done' },
        ],
      },
      { id: 'u2', role: 'user', parts: [{ type: 'text', text: 'Thanks' }] },
    ];
    expect(fromUIMessages(messages)).toEqual([
      { role: 'system', content: 'Be brief.' },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'What is in these?' },
          { type: 'image', image: 'data:image/png;base64,iVBORw0KGgo=', mediaType: 'image/png' },
          { type: 'document', data: 'https://example.com/guide.pdf', mediaType: 'application/pdf', title: 'guide.pdf' },
        ],
      },
      {
        role: 'assistant',
        content: [
          { type: 'text', text: 'Checking.' },
          { type: 'tool-call', id: 'c1', name: 'lookup', input: { q: 'x' } },
          { type: 'tool-call', id: 'c2', name: 'search', input: { q: 'y' } },
          { type: 'tool-call', id: 'c3', name: 'lookup', input: { q: 'z' } },
        ],
      },
      {
        role: 'tool',
        content: [
          { type: 'tool-result', toolCallId: 'c1', name: 'lookup', output: '{"hits":2}' },
          { type: 'tool-result', toolCallId: 'c2', name: 'search', output: 'no index', isError: true },
          { type: 'tool-result', toolCallId: 'c3', name: 'lookup', output: 'The call to tool "lookup" was denied by the user.', isError: true },
        ],
      },
      { role: 'assistant', content: 'Two hits.' },
      { role: 'user', content: 'Thanks' },
    ]);
  });

  it('leaves out a call still streaming its input (an answer stopped mid-call)', () => {
    const messages: UIMessage[] = [
      { id: 'a', role: 'assistant', parts: [{ type: 'text', text: 'Let me' }, { type: 'tool-lookup', toolCallId: 'c1', state: 'input-streaming', input: { q: 'x' } }] },
    ];
    expect(fromUIMessages(messages)).toEqual([{ role: 'assistant', content: 'Let me' }]);
  });

  const bad: Array<[string, unknown, string]> = [
    ['messages that are not an array', { messages: [] }, 'messages'],
    ['a message that is not an object', ['hi'], 'messages[0]'],
    ['an unknown role', [{ id: 'x', role: 'tool', parts: [] }], 'messages[0].role'],
    ['parts that are not an array', [{ id: 'x', role: 'user', parts: 'hi' }], 'messages[0].parts'],
    ['a part without a type', [{ id: 'x', role: 'user', parts: [{ text: 'hi' }] }], 'messages[0].parts[0].type'],
    ['a text part whose text is not a string', [{ id: 'x', role: 'user', parts: [{ type: 'text', text: 5 }] }], 'messages[0].parts[0].text'],
    ['a user message with nothing to send', [{ id: 'x', role: 'user', parts: [{ type: 'step-start' }] }], 'messages[0].parts'],
    ['a reasoning part in a user message', [{ id: 'x', role: 'user', parts: [{ type: 'reasoning', text: 'x' }] }], 'messages[0].parts[0].type'],
    ['a file part in a system message', [{ id: 'x', role: 'system', parts: [{ type: 'file', mediaType: 'image/png', url: 'https://x/y.png' }] }], 'messages[0].parts[0].type'],
    ['a file type no provider takes', [{ id: 'x', role: 'user', parts: [{ type: 'file', mediaType: 'text/csv', url: 'https://x/y.csv' }] }], 'messages[0].parts[0].mediaType'],
    ['a file URL that is neither https nor data', [{ id: 'x', role: 'user', parts: [{ type: 'file', mediaType: 'image/png', url: 'file:///etc/passwd' }] }], 'messages[0].parts[0].url'],
    ['an unknown part type', [{ id: 'x', role: 'assistant', parts: [{ type: 'thought', text: 'x' }] }], 'messages[0].parts[0].type'],
    ['a file in an assistant message', [{ id: 'x', role: 'assistant', parts: [{ type: 'file', mediaType: 'image/png', url: 'https://x/y.png' }] }], 'messages[0].parts[0].type'],
    ['a tool part without toolCallId', [{ id: 'x', role: 'assistant', parts: [{ type: 'tool-a', state: 'input-available', input: {} }] }], 'messages[0].parts[0].toolCallId'],
    ['a tool part awaiting approval', [{ id: 'x', role: 'assistant', parts: [{ type: 'tool-a', toolCallId: 'c', state: 'approval-requested', input: {}, approval: { id: 'p' } }] }], 'messages[0].parts[0].state'],
    ['a tool part in an unknown state', [{ id: 'x', role: 'assistant', parts: [{ type: 'tool-a', toolCallId: 'c', state: 'running', input: {} }] }], 'messages[0].parts[0].state'],
    ['a dynamic tool without toolName', [{ id: 'x', role: 'assistant', parts: [{ type: 'dynamic-tool', toolCallId: 'c', state: 'input-available', input: {} }] }], 'messages[0].parts[0].toolName'],
    ['a provider-run tool without its block', [{ id: 'x', role: 'assistant', parts: [{ type: 'tool-web_search', toolCallId: 'c', state: 'input-available', input: {}, providerExecuted: true }] }], 'messages[0].parts[0].callProviderMetadata'],
    ['an output-error without errorText', [{ id: 'x', role: 'assistant', parts: [{ type: 'tool-a', toolCallId: 'c', state: 'output-error', input: {} }] }], 'messages[0].parts[0].errorText'],
    ['a reset marker without data', [{ id: 'x', role: 'assistant', parts: [{ type: 'data-tokenflow-reset' }] }], 'messages[0].parts[0].data'],
  ];
  it.each(bad)('%s is an InvalidArgumentError naming %#', (_label, messages, field) => {
    let error: unknown;
    try {
      fromUIMessages(messages as never);
    } catch (e) {
      error = e;
    }
    expect(InvalidArgumentError.isInstance(error)).toBe(true);
    expect((error as InvalidArgumentError).field).toBe(field);
  });
});
