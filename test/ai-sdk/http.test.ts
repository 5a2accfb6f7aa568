/**
 * The UI message stream over real HTTP on 127.0.0.1, read by the AI SDK's own client code
 * (`DefaultChatTransport`, which POSTs what `useChat` POSTs and checks every chunk against the AI
 * SDK's schema, and `readUIMessageStream`, which assembles the `UIMessage`), with an Agent's tool loop
 * on the mock provider behind it. The request's messages go through `fromUIMessages()` on the server.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { DefaultChatTransport, readUIMessageStream, type UIMessage } from 'ai';
import { lastValueFrom } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Agent } from '../../src/agent/agent.js';
import { tool } from '../../src/agent/tools.js';
import { fromUIMessages, pipeUIMessageStream, uiMessageStreamResponse } from '../../src/ai-sdk/index.js';
import type { ChatMessage } from '../../src/events.js';
import { collect } from '../../src/operators/collect.js';
import { anthropic } from '../../src/providers/anthropic.js';
import { startMockProvider, type MockProvider, type MockRequest, type MockScript } from '../../src/testing/index.js';
import { budget } from '../helpers/budget.js';
import { listenLocal } from '../helpers/http.js';
import { makeProvider } from '../helpers/mock.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function mock(options: Parameters<typeof startMockProvider>[0]): Promise<MockProvider> {
  const m = await startMockProvider(options);
  cleanups.push(() => m.close());
  return m;
}

async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  let text = '';
  for await (const chunk of req) text += String(chunk);
  return JSON.parse(text) as Record<string, unknown>;
}

type Route = 'node' | 'web';

/** A chat route: reads useChat's body, answers with `answer(history, question)` through either writer. */
async function serve(route: Route, answer: (history: ChatMessage[], question: string) => Parameters<typeof uiMessageStreamResponse>[0]) {
  const bodies: Array<Record<string, unknown>> = [];
  const server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      bodies.push(body);
      const history = fromUIMessages(body.messages as never);
      const question = history.pop()!;
      const events$ = answer(history, question.content as string);
      const options = { messageId: String(body.messageId ?? 'msg_server'), onError: () => {} };
      if (route === 'node') await pipeUIMessageStream(res, events$, options);
      else await sendWebResponse(uiMessageStreamResponse(events$, options), res);
    })();
  });
  const local = await listenLocal(server);
  cleanups.push(() => local.close());
  return { url: `${local.origin}/api/chat`, bodies };
}

/** Writes a Web `Response` to a Node response, cancelling its body when the client goes away. */
async function sendWebResponse(response: Response, res: ServerResponse): Promise<void> {
  res.writeHead(response.status, Object.fromEntries(response.headers));
  const body = Readable.fromWeb(response.body! as never);
  res.on('close', () => body.destroy());
  body.pipe(res);
}

const userMessage = (text: string): UIMessage => ({ id: 'u1', role: 'user', parts: [{ type: 'text', text }] });

const script = (request: MockRequest): MockScript =>
  request.toolResults.length === 0
    ? { text: 'Let me look.', toolCalls: [{ id: 'call_w1', name: 'weather', arguments: ['{"city":', '"Paris"}'] }], usage: { inputTokens: 20, outputTokens: 5 } }
    : { text: ['Sunny', ' in', ' Paris', ' today.'], usage: { inputTokens: 40, outputTokens: 4 } };

describe.each<Route>(['node', 'web'])('the UI message stream over HTTP (%s writer)', (route) => {
  it("an Agent's tool loop reaches useChat's client: text grows, the tool part goes input-available → output-available, and fromUIMessages gives the loop's history", async () => {
    const m = await mock({ flavor: 'openai', script });
    const weather = tool({ inputSchema: z.object({ city: z.string() }), execute: ({ city }) => ({ city, temperature: 21 }) });
    const agent = new Agent({ provider: makeProvider('openai', m), model: 'test-model' });
    const { url, bodies } = await serve(route, (history, question) => agent.stream(question, { history, tools: { weather } }));

    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ messages: [userMessage('Weather?')] }) });
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    expect(response.headers.get('x-vercel-ai-ui-message-stream')).toBe('v1');
    const text = await response.text();
    expect(text.startsWith('data: {"type":"start","messageId":"msg_server"}\n\n')).toBe(true);
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);

    const transport = new DefaultChatTransport<UIMessage>({ api: url });
    const stream = await transport.sendMessages({ trigger: 'submit-message', chatId: 'chat-1', messageId: undefined, messages: [userMessage('Weather?')], abortSignal: undefined });
    const snapshots: UIMessage[] = [];
    const errors: unknown[] = [];
    for await (const message of readUIMessageStream<UIMessage>({ stream, onError: (e) => errors.push(e) })) snapshots.push(structuredClone(message));
    expect(errors).toEqual([]);
    expect(bodies.at(-1)).toMatchObject({ id: 'chat-1', trigger: 'submit-message' });

    const final = snapshots.at(-1)!;
    expect(final.id).toBe('msg_server');
    expect(final.parts.map((p) => p.type)).toEqual(['step-start', 'text', 'tool-weather', 'step-start', 'text']);
    expect(final.parts[4]).toEqual({ type: 'text', text: 'Sunny in Paris today.', state: 'done' });
    // The text grows over several snapshots; the tool part passes through each state in order.
    const lastText = snapshots.map((s) => (s.parts[4] as { text?: string } | undefined)?.text).filter((t): t is string => t !== undefined);
    expect(new Set(lastText).size).toBeGreaterThan(2);
    const toolStates = snapshots.map((s) => (s.parts[2] as { state?: string } | undefined)?.state).filter((x, i, all) => x !== undefined && x !== all[i - 1]);
    expect(toolStates).toEqual(['input-streaming', 'input-available', 'output-available']);
    expect(final.parts[2]).toMatchObject({ toolCallId: 'call_w1', input: { city: 'Paris' }, output: { city: 'Paris', temperature: 21 } });
    expect(final.metadata).toMatchObject({ usage: { inputTokens: 60, outputTokens: 9 }, stopReason: 'end' });

    // Round trip: the assembled message read back is what the loop itself records.
    const recorded = await lastValueFrom(agent.stream('Weather?', { tools: { weather } }).pipe(collect()));
    expect(fromUIMessages([userMessage('Weather?'), final])).toEqual([{ role: 'user', content: 'Weather?' }, ...recorded.messages!]);
  });

  it('an upstream error reaches the client as a sanitised error chunk: the secret never is in the body', async () => {
    const secret = 'sk-ant-api03-SECRET-abcdefghijklmnop';
    const m = await mock({
      flavor: 'anthropic',
      script: { text: 'Hello there friend' },
      faults: { errorEventAfter: 1, error: { type: 'overloaded_error', message: `Overloaded; request signed with ${secret}` } },
    });
    const llm = anthropic({ apiKey: 'test', baseURL: m.baseURL, maxRetries: 0 });
    const { url } = await serve(route, (history, question) => llm.stream({ model: 'm', messages: [...history, { role: 'user', content: question }] }));
    const body = await (await fetch(url, { method: 'POST', body: JSON.stringify({ messages: [userMessage('Hi')] }) })).text();
    expect(body).not.toContain('SECRET');
    expect(body).not.toContain('sk-');
    expect(body).toContain('data: {"type":"error","errorText":"The provider failed or is overloaded."}\n\n');
    expect(body.endsWith('data: [DONE]\n\n')).toBe(true);
    expect(body).not.toContain('"type":"finish"');

    const stream = await new DefaultChatTransport<UIMessage>({ api: url }).sendMessages({
      trigger: 'submit-message',
      chatId: 'c',
      messageId: undefined,
      messages: [userMessage('Hi')],
      abortSignal: undefined,
    });
    const errors: string[] = [];
    let last: UIMessage | undefined;
    for await (const message of readUIMessageStream<UIMessage>({ stream, onError: (e) => errors.push((e as Error).message) })) last = message;
    expect(errors).toEqual(['The provider failed or is overloaded.']);
    expect(last?.parts.find((p) => p.type === 'text')).toMatchObject({ text: 'Hello' });
  });

  it("the client aborting its request (useChat's Stop) closes the provider's socket", async () => {
    const words = Array.from({ length: 80 }, (_, i) => ` w${i}`);
    const m = await mock({ flavor: 'openai', script: { text: words }, profile: { ttftMs: 0, tokensPerSecond: 25 } });
    const llm = makeProvider('openai', m);
    const { url } = await serve(route, (history, question) => llm.stream({ model: 'm', messages: [...history, { role: 'user', content: question }] }));
    const controller = new AbortController();
    const stream = await new DefaultChatTransport<UIMessage>({ api: url }).sendMessages({
      trigger: 'submit-message',
      chatId: 'c',
      messageId: undefined,
      messages: [userMessage('Hi')],
      abortSignal: controller.signal,
    });
    const reader = stream.getReader();
    let deltas = 0;
    while (deltas < 3) {
      const { value, done } = await reader.read();
      if (done) throw new Error('the stream ended before the abort');
      if (value.type === 'text-delta') deltas++;
    }
    controller.abort();
    await reader.read().catch(() => undefined);
    const log = await m.waitForClose(0, budget(10_000));
    expect(log.closedByClient).toBe(true);
    expect(log.finished).toBe(false);
    expect(log.tokensWritten).toBeLessThan(words.length);
  });
});
