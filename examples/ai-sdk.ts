/**
 * A tokenflow server behind the AI SDK's `useChat`: a chat route that reads useChat's request
 * (`fromUIMessages`), runs an Agent with a tool, and answers in the UI message stream
 * (`pipeUIMessageStream`). The client side here is the AI SDK's own transport and
 * `readUIMessageStream`, the code `useChat` runs in a browser, printing the message as it grows.
 *
 *   npx tsx examples/ai-sdk.ts
 *
 * Keyless: runs on the built-in mock provider. Needs the `ai` package for the client half only.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DefaultChatTransport, readUIMessageStream, type UIMessage } from 'ai';
import { Agent, tool, type ChatMessage } from 'tokenflow';
import { fromUIMessages, pipeUIMessageStream } from 'tokenflow/ai-sdk';
import { openai } from 'tokenflow/openai';
import { startMockProvider } from 'tokenflow/testing';

// Step 0: the model calls the tool. Step 1: it answers with what the tool returned.
const mock = await startMockProvider({
  flavor: 'openai',
  profile: 'openai',
  script: (request) =>
    request.toolResults.length === 0
      ? { text: 'Let me check.', toolCalls: [{ id: 'call_1', name: 'weather', arguments: ['{"ci', 'ty":"Lis', 'bon"}'] }] }
      : { text: `(mock) The tool said: ${JSON.stringify(request.toolResults[0]?.output)}.` },
});

const weather = tool({
  description: 'The current weather in a city.',
  inputSchema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  execute: (input) => ({ city: (input as { city: string }).city, celsius: 17, sky: 'clear' }),
});
const agent = new Agent({ provider: openai({ apiKey: 'mock', baseURL: mock.baseURL, maxRetries: 0 }), model: 'gpt-5-mini' });

// ---- The server: POST /api/chat, as useChat's DefaultChatTransport calls it ----
const server = createServer((req, res) => {
  let body = '';
  req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
  req.on('end', () => {
    // { id, messages, trigger, messageId }: the whole conversation, the new question last.
    const request = JSON.parse(body) as { messages: UIMessage[] };
    let history: ChatMessage[];
    try {
      history = fromUIMessages(request.messages);
    } catch (error) {
      res.writeHead(400).end((error as Error).message); // an InvalidArgumentError naming the bad part
      return;
    }
    const question = history.pop();
    if (question?.role !== 'user' || typeof question.content !== 'string') {
      res.writeHead(400).end('The last message must be the user text question.');
      return;
    }
    // The client going away (useChat's Stop) unsubscribes: the provider request and the tool stop.
    void pipeUIMessageStream(res, agent.stream(question.content, { history, tools: { weather } }), {
      onError: (error) => console.error('the answer failed:', error),
    });
  });
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const api = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/chat`;

// ---- The client: what useChat does with the response ----
const question: UIMessage = { id: 'u1', role: 'user', parts: [{ type: 'text', text: 'Should I take a jacket in Lisbon?' }] };
const stream = await new DefaultChatTransport<UIMessage>({ api }).sendMessages({
  trigger: 'submit-message',
  chatId: 'chat-1',
  messageId: undefined,
  messages: [question],
  abortSignal: undefined,
});
let last: UIMessage | undefined;
let shown = '';
for await (const message of readUIMessageStream<UIMessage>({ stream })) {
  last = message;
  const line = message.parts
    .map((part) => (part.type === 'text' ? part.text : part.type === 'step-start' ? '|' : 'state' in part ? `[${part.type} ${part.state}]` : ''))
    .join(' ');
  if (line !== shown) console.log(line);
  shown = line;
}
console.log('\nmetadata:', JSON.stringify(last?.metadata));
// What the next request's history will hold for this answer: each step's turn and its tool results.
console.log('as history:', JSON.stringify(fromUIMessages([question, last!]), null, 2));

server.close();
await mock.close();
