/**
 * An AG-UI endpoint in front of a tokenflow Agent, and an AG-UI client on it: the server reads the
 * client's `RunAgentInput`, runs the Agent's tool loop and answers with `aguiResponse()`; the client
 * is `@ag-ui/client`'s own `HttpAgent` (what CopilotKit and other AG-UI front ends use), and
 * `fromAGUI()` reads the same endpoint back as a tokenflow stream.
 *
 *   npx tsx examples/ag-ui.ts
 *
 * Keyless: it runs on the built-in mock provider. Needs `@ag-ui/client` and `@ag-ui/encoder`.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpAgent } from '@ag-ui/client';
import { lastValueFrom } from 'rxjs';
import { Agent, collect, tool } from 'tokenflow';
import { aguiResponse, fromAGUI, readRunAgentInput } from 'tokenflow/ag-ui';
import { openai } from 'tokenflow/openai';
import { startMockProvider, type MockRequest, type MockScript } from 'tokenflow/testing';
import { z } from 'zod';

// The model: asks for the weather first, then answers with the tool's result.
const mock = await startMockProvider({
  flavor: 'openai',
  script: (request: MockRequest): MockScript =>
    request.toolResults.length === 0
      ? { text: 'Let me check.', toolCalls: [{ id: 'call_1', name: 'weather', arguments: '{"city":"Lisbon"}' }] }
      : { text: 'It is 21°C and sunny in Lisbon: no jacket needed.' },
});
const agent = new Agent({ provider: openai({ apiKey: 'mock', baseURL: mock.baseURL }), model: 'gpt-4o-mini' });
const weather = tool({
  description: 'The current weather in a city.',
  inputSchema: z.object({ city: z.string() }),
  execute: ({ city }) => ({ city, celsius: 21, sky: 'sunny' }),
});

// The AG-UI endpoint: POST a RunAgentInput, get the run as SSE (or protobuf, if the client asks).
const server = createServer((req, res) => {
  void (async () => {
    let body = '';
    for await (const chunk of req) body += String(chunk);
    const run = readRunAgentInput(JSON.parse(body));
    const last = run.messages.at(-1);
    const question = last?.role === 'user' && typeof last.content === 'string' ? last.content : '';
    const tokens$ = agent.stream(question, { tools: { weather }, history: run.messages.slice(0, -1) });
    const response = await aguiResponse(tokens$, { threadId: run.threadId, runId: run.runId, accept: req.headers.accept ?? null });
    res.writeHead(response.status, Object.fromEntries(response.headers));
    const reader = response.body!.getReader();
    res.on('close', () => void reader.cancel()); // a client that leaves cancels the model request
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) res.write(chunk.value);
    res.end();
  })().catch((error: unknown) => res.writeHead(400).end(String(error)));
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/agent`;

// An AG-UI front end's client: it verifies the run and assembles the messages.
const client = new HttpAgent({ url, initialMessages: [{ id: 'u1', role: 'user', content: 'Should I take a jacket in Lisbon?' }] });
const { newMessages } = await client.runAgent({}, { onTextMessageContentEvent: ({ event }) => void process.stdout.write(event.delta) });
console.log('\n\nMessages the AG-UI client assembled:');
for (const message of newMessages) console.log(`  ${message.role}: ${JSON.stringify('content' in message && message.content ? message.content : message)}`);

// The same endpoint, read as a tokenflow stream.
const answer = await lastValueFrom(
  fromAGUI(client.run({ threadId: 't2', runId: 'r2', messages: [{ id: 'u2', role: 'user', content: 'And tomorrow?' }], tools: [], context: [] })).pipe(collect()),
);
console.log(`\nfromAGUI() + collect(): "${answer.content}" in ${answer.steps?.length ?? 1} steps, ${answer.usage.inputTokens + answer.usage.outputTokens} tokens`);

server.close();
await mock.close();
