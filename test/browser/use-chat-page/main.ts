/**
 * The useChat test page: `useChat` from `@ai-sdk/react` with `DefaultChatTransport` on a tokenflow
 * `StreamHub` (the routes of docs/protocols.md, "useChat on the hub"), driven by
 * test/browser/use-chat.test.ts through the DOM and `window.chatHarness` (./harness.ts). Plain
 * `createElement`, no JSX, so the repository's own type-check covers this file as it is.
 */
import { useChat } from '@ai-sdk/react';
import { DefaultChatTransport, getToolName, isToolUIPart, type UIMessage } from 'ai';
import { createElement as h, useLayoutEffect, useState, type ReactNode } from 'react';
import { createRoot } from 'react-dom/client';
import type { ChatHarness, RenderRecord } from './harness.js';

// The chat id lives in the URL so that a reload asks to resume the same chat.
const chatId = new URLSearchParams(location.search).get('chat') ?? 'chat';
const api = '/api/chat';
const chatPath = `${api}/${encodeURIComponent(chatId)}`;
const renders: RenderRecord[] = [];
const harness: ChatHarness = { chatId, resume: 'pending', renders };
window.chatHarness = harness;

function settleResume(outcome: 'none' | 'resumed'): void {
  harness.resume = outcome;
  document.body.dataset.resume = outcome;
}

/**
 * `fetch` for the transport, noting when `useChat`'s resume on load has answered. On a 204 the
 * chat settles in microtasks after this resolves (the transport returns `null`, the chat sets
 * `ready`); a message sent before that would have its `submitted` status overwritten by that
 * `ready`. So `none` is set in the next task, once those microtasks have run.
 */
const trackedFetch: typeof fetch = async (input, init) => {
  const response = await fetch(input, init);
  const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url, location.href);
  if (harness.resume === 'pending' && (init?.method ?? 'GET') === 'GET' && url.pathname === `${chatPath}/stream`) {
    if (response.status === 204) setTimeout(() => settleResume('none'));
    else settleResume('resumed');
  }
  return response;
};

const transport = new DefaultChatTransport<UIMessage>({ api, fetch: trackedFetch });

/** The answer's text as a reader sees it: the text parts of the message, in order. */
function textOf(message: UIMessage | undefined): string {
  return (message?.parts ?? []).map((part) => (part.type === 'text' ? part.text : '')).join('');
}

function json(value: unknown): string {
  return value === undefined ? '' : JSON.stringify(value);
}

function Part({ part }: { part: UIMessage['parts'][number] }): ReactNode {
  if (part.type === 'text') return h('p', { 'data-part': 'text', 'data-state': part.state ?? '' }, part.text);
  if (part.type === 'reasoning') return h('p', { 'data-part': 'reasoning', 'data-state': part.state ?? '' }, part.text);
  if (part.type === 'step-start') return h('hr', { 'data-part': 'step-start' });
  if (isToolUIPart(part)) {
    return h(
      'div',
      { 'data-part': 'tool', 'data-tool': getToolName(part), 'data-call-id': part.toolCallId, 'data-state': part.state },
      h('pre', { 'data-field': 'input' }, json(part.input)),
      h('pre', { 'data-field': 'output' }, part.state === 'output-available' ? json(part.output) : ''),
      h('pre', { 'data-field': 'error' }, part.state === 'output-error' ? part.errorText : ''),
    );
  }
  // Anything else is shown by its type, so a test notices a part it did not expect.
  return h('span', { 'data-part': part.type });
}

function Message({ message }: { message: UIMessage }): ReactNode {
  return h(
    'li',
    { 'data-testid': 'message', 'data-role': message.role, 'data-id': message.id },
    message.parts.map((part, i) => h(Part, { key: i, part })),
  );
}

function Chat({ initial }: { initial: UIMessage[] }): ReactNode {
  const { messages, sendMessage, stop, status, error } = useChat({ id: chatId, messages: initial, transport, resume: true });
  const [draft, setDraft] = useState('');
  const answer = [...messages].reverse().find((message) => message.role === 'assistant');
  useLayoutEffect(() => {
    renders.push({ status, text: textOf(answer) });
  });

  const send = (event: { preventDefault(): void }): void => {
    event.preventDefault();
    const text = draft.trim();
    if (text === '') return;
    setDraft('');
    void sendMessage({ text });
  };
  // useChat's stop() only aborts this page's request, which the hub takes as a follower leaving
  // (the answer goes on for a reload to resume): the POST stops the answer itself, for everyone.
  const stopAnswer = (): void => {
    void (async () => {
      await stop();
      const response = await fetch(`${chatPath}/stop`, { method: 'POST' });
      if (!response.ok) throw new Error(`the stop answered ${response.status}`);
    })().catch((e: unknown) => console.error('Stop failed:', e));
  };

  return h(
    'main',
    { 'data-testid': 'chat', 'data-status': status },
    h('ol', { 'data-testid': 'messages' }, messages.map((message) => h(Message, { key: message.id, message }))),
    h('p', { 'data-testid': 'answer' }, textOf(answer)),
    h('p', { 'data-testid': 'error' }, error ? error.message : ''),
    h(
      'form',
      { onSubmit: send },
      h('input', { 'data-testid': 'draft', value: draft, onChange: (event: { target: { value: string } }) => setDraft(event.target.value) }),
      h('button', { type: 'submit', 'data-testid': 'send', disabled: status !== 'ready' }, 'Send'),
    ),
    h('button', { type: 'button', 'data-testid': 'stop', onClick: stopAnswer }, 'Stop'),
  );
}

/** Restores the chat's messages from the server (a reload starts with none), then shows the chat. */
async function main(): Promise<void> {
  const response = await fetch(`${chatPath}/messages`);
  if (!response.ok) throw new Error(`GET ${chatPath}/messages answered ${response.status}`);
  const initial = (await response.json()) as UIMessage[];
  createRoot(document.getElementById('root')!).render(h(Chat, { initial }));
  document.body.dataset.ready = 'true';
}

main().catch((e: unknown) => console.error('The page failed to start:', e));
