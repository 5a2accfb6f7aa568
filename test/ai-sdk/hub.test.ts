/**
 * A `StreamHub` channel as the UI message stream (issue 19, item 4), read by the AI SDK's own
 * `DefaultChatTransport`, as `useChat` uses it: its POST starts an answer that the route publishes on
 * the hub and follows in that format; its resume (`GET {api}/{chatId}/stream`) follows the same
 * channel from the start; a stop from anywhere cancels the one upstream request.
 */
import { createServer, type IncomingMessage } from 'node:http';
import { DefaultChatTransport, readUIMessageStream, type UIMessage, type UIMessageChunk } from 'ai';
import { defer, Subject, type Observable } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { fromUIMessages, uiMessageStreamHubFormat } from '../../src/ai-sdk/index.js';
import { StreamHub } from '../../src/sse/index.js';
import type { ChatMessage, TokenEvent } from '../../src/events.js';
import { startMockProvider } from '../../src/testing/index.js';
import { answerEvents } from '../helpers/hub.js';
import { budget } from '../helpers/budget.js';
import { listenLocal } from '../helpers/http.js';
import { makeProvider } from '../helpers/mock.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!().catch(() => {});
});

async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  let text = '';
  for await (const chunk of req) text += String(chunk);
  return JSON.parse(text) as Record<string, unknown>;
}

/** The chat route of docs/protocols.md: POST answers (publish + follow), GET …/stream resumes, POST …/stop stops. */
async function chatServer(answerWith: (messages: ChatMessage[]) => Observable<TokenEvent>) {
  const hub = new StreamHub({ onError: () => {} });
  const formats = [uiMessageStreamHubFormat()];
  const answer = hub.handler({ formats, format: () => 'ui-message-stream', action: () => 'follow' });
  const resume = hub.handler({ formats, format: () => 'ui-message-stream' });
  const stop = hub.handler();
  /** chat id → the channel of its answer in progress. */
  const active = new Map<string, string>();
  let answers = 0;
  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const [, api, chat, chatId, action] = url.pathname.split('/');
      if (api !== 'api' || chat !== 'chat') return void res.writeHead(404).end();
      if (req.method === 'POST' && chatId === undefined) {
        const body = await readBody(req);
        const channel = `${String(body.id)}-${++answers}`;
        active.set(String(body.id), channel);
        await hub.publish(channel, answerWith(fromUIMessages(body.messages as never)));
        return answer(req, res, channel);
      }
      const channel = chatId === undefined ? undefined : active.get(chatId);
      // No answer in progress: 204 tells the transport there is nothing to resume.
      if (channel === undefined || (action === 'stream' && (await hub.info(channel))?.finished !== false)) return void res.writeHead(204).end();
      if (req.method === 'GET' && action === 'stream') return resume(req, res, channel);
      if (req.method === 'POST' && action === 'stop') return stop(req, res, channel);
      res.writeHead(404).end();
    })().catch(() => res.writeHead(500).end());
  });
  const local = await listenLocal(server);
  cleanups.push(() => hub.close(), () => local.close());
  return { api: `${local.origin}/api/chat`, origin: local.origin };
}

const userMessage = (text: string): UIMessage => ({ id: 'u1', role: 'user', parts: [{ type: 'text', text }] });

/** Reads a chunk stream until `stopWhen` holds for a chunk (then cancels it), or to its end. */
async function readChunks(stream: ReadableStream<UIMessageChunk>, stopWhen?: (chunk: UIMessageChunk) => boolean): Promise<UIMessageChunk[]> {
  const chunks: UIMessageChunk[] = [];
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return chunks;
    chunks.push(value);
    if (stopWhen?.(value)) {
      await reader.cancel();
      return chunks;
    }
  }
}

async function assemble(stream: ReadableStream<UIMessageChunk>): Promise<UIMessage | undefined> {
  let last: UIMessage | undefined;
  for await (const message of readUIMessageStream<UIMessage>({ stream })) last = structuredClone(message);
  return last;
}

describe('uiMessageStreamHubFormat(): useChat\'s transport through the hub', () => {
  it('a reload mid-answer resumes: the resumed stream replays the whole answer, from the one upstream', async () => {
    const words = Array.from({ length: 8 }, (_, i) => ` w${i}`);
    const events = answerEvents(words);
    const upstream = new Subject<TokenEvent>();
    let subscriptions = 0;
    const { api } = await chatServer(() => defer(() => (subscriptions++, upstream)));
    const transport = new DefaultChatTransport<UIMessage>({ api });
    const first = await transport.sendMessages({ trigger: 'submit-message', chatId: 'chat-r', messageId: undefined, messages: [userMessage('Hi')], abortSignal: undefined });
    // Half the answer, then the page goes away.
    for (const event of events.slice(0, 5)) upstream.next(event);
    const seen = await readChunks(first, (chunk) => chunk.type === 'text-delta' && chunk.delta === ' w3');
    expect(seen.some((chunk) => chunk.type === 'finish')).toBe(false);

    const resumed = await transport.reconnectToStream({ chatId: 'chat-r' });
    expect(resumed).not.toBeNull();
    for (const event of events.slice(5)) upstream.next(event);
    const message = await assemble(resumed!);
    expect(message?.parts.find((p) => p.type === 'text')).toEqual({ type: 'text', text: words.join(''), state: 'done' });
    expect(subscriptions).toBe(1);
    // Finished: nothing left to resume.
    expect(await transport.reconnectToStream({ chatId: 'chat-r' })).toBeNull();
  });

  it('a stop (the page\'s Stop posts to the hub) ends every reader with abort and closes the provider\'s socket', async () => {
    // The answer stalls after 20 words and never ends on its own: only the stop can end it.
    const words = Array.from({ length: 40 }, (_, i) => ` w${i}`);
    const mock = await startMockProvider({ flavor: 'openai', script: { text: words }, faults: { stallAfter: 20 } });
    cleanups.push(() => mock.close());
    const llm = makeProvider('openai', mock);
    const { api, origin } = await chatServer((messages) => llm.stream({ model: 'm', messages }));
    const transport = new DefaultChatTransport<UIMessage>({ api });
    const stream = await transport.sendMessages({ trigger: 'submit-message', chatId: 'chat-s', messageId: undefined, messages: [userMessage('Hi')], abortSignal: undefined });
    const reader = stream.getReader();
    const chunks: UIMessageChunk[] = [];
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      chunks.push(r.value);
      if (r.value.type === 'text-delta' && chunks.filter((c) => c.type === 'text-delta').length === 2) {
        expect((await fetch(`${origin}/api/chat/chat-s/stop`, { method: 'POST' })).status).toBe(204);
      }
    }
    expect(chunks.at(-1)).toMatchObject({ type: 'abort' });
    expect(chunks.some((c) => c.type === 'finish')).toBe(false);
    const closed = await mock.waitForClose(0, budget(10_000));
    expect(closed.closedByClient).toBe(true);
    expect(closed.finished).toBe(false);
  });
});
