/**
 * Answers out to browsers as Server-Sent Events: one stream straight to one client with `pipeSSE`,
 * and a `StreamHub` channel that several tabs follow, that survives a dropped connection, and that
 * one POST stops for everyone. Then it plays the browser itself with `fromSSE` (fetch mode).
 *
 *   npx tsx examples/sse-hub.ts
 *
 * Uses OpenAI when OPENAI_API_KEY is set, otherwise the built-in mock provider (no key needed).
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { RemoteStreamError, text } from 'tokenflow';
import { fromSSE } from 'tokenflow/client';
import { openai } from 'tokenflow/openai';
import { pipeSSE, StreamHub } from 'tokenflow/sse';
import { startMockProvider } from 'tokenflow/testing';
import { lastValueFrom, take, toArray } from 'rxjs';

const mock = process.env.OPENAI_API_KEY
  ? undefined
  : await startMockProvider({ flavor: 'openai', profile: 'groq', script: { text: 'Every tab follows the same answer, and a dropped connection picks up where it left off.' } });
console.error(mock ? 'No OPENAI_API_KEY: using the built-in mock provider.' : 'Using OpenAI.');
const llm = mock ? openai({ apiKey: 'mock', baseURL: mock.baseURL, maxRetries: 0 }) : openai();
const ask = (question: string) => llm.stream({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: question }] });

// Who may follow or stop a channel: here, whoever shows the owner's token. It fails closed: no
// token, or a channel published without an owner, is refused (never `Bearer undefined` === …).
const hub = new StreamHub({
  authorize: (request, channel) => {
    const owner = channel.meta.owner;
    const auth = request.header('authorization');
    if (!auth) return { status: 401 };
    return typeof owner === 'string' && owner !== '' && auth === `Bearer ${owner}`;
  },
});
const follow = hub.handler();

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (req.method === 'GET' && url.pathname === '/once') {
    // One answer to one client; closing the tab aborts the provider request.
    await pipeSSE(ask(url.searchParams.get('q') ?? 'Hello?'), res);
  } else if (req.method === 'POST' && url.pathname === '/ask') {
    const channel = randomUUID();
    await hub.publish(channel, ask('Say something about streams.'), { meta: { owner: 'demo-token' } });
    res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ channel }));
  } else if (url.pathname.startsWith('/streams/')) {
    await follow(req, res); // GET follows (resuming after Last-Event-ID), POST …/stop stops
  } else {
    res.writeHead(404).end();
  }
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

// Start an answer on a channel, as a browser's "Ask" button would.
const { channel } = (await (await fetch(`${base}/ask`, { method: 'POST' })).json()) as { channel: string };
const auth = { headers: { authorization: 'Bearer demo-token' } };

// Two "tabs" follow it (one upstream request); the first leaves after three events and comes back.
const firstPart = await lastValueFrom(fromSSE(`${base}/streams/${channel}`, auth).pipe(take(3), toArray()));
const [tabA, tabB] = await Promise.all([
  lastValueFrom(fromSSE(`${base}/streams/${channel}`, { ...auth, lastEventId: firstPart.length - 1 }).pipe(text()), { defaultValue: '' }),
  lastValueFrom(fromSSE(`${base}/streams/${channel}`, auth).pipe(text()), { defaultValue: '' }),
]);
const resumed = firstPart.map((e) => (e.type === 'token' ? e.text : '')).join('') + tabA;
console.log(`tab A (left and resumed): ${resumed}`);
console.log(`tab B:                    ${tabB}`);
console.log(`same answer: ${resumed === tabB}; provider requests so far: ${mock?.requests.length ?? 'n/a'}`);

// A second answer, stopped for everyone by one POST once its first words are out.
const second = (await (await fetch(`${base}/ask`, { method: 'POST' })).json()) as { channel: string };
const watcher = lastValueFrom(fromSSE(`${base}/streams/${second.channel}`, auth).pipe(text())).catch((error: unknown) => error);
await lastValueFrom(fromSSE(`${base}/streams/${second.channel}`, auth).pipe(take(3)));
await fetch(`${base}/streams/${second.channel}/stop`, { method: 'POST', ...auth });
const outcome = await watcher;
if (RemoteStreamError.isInstance(outcome)) console.log(`second answer: ${outcome.reason} after "${outcome.partialText}"`);

await hub.close();
server.close();
await mock?.close();
