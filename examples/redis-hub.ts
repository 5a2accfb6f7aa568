/**
 * Many servers, one answer: two `RedisStreamHub`s (standing for two servers behind a load balancer)
 * share their channels through Redis. The answer is published on server A; a browser follows it on
 * server B, drops its connection and resumes on server A from `Last-Event-ID`; a second answer is
 * stopped by a POST to server B, which cancels the provider request running on server A.
 *
 *   REDIS_URL=redis://127.0.0.1:6379 npx tsx examples/redis-hub.ts
 *
 * Without REDIS_URL it starts a throwaway `redis-server` (persistence off) on a free port, if the
 * binary is installed. Uses OpenAI when OPENAI_API_KEY is set, otherwise the built-in mock provider.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { lastValueFrom, take, toArray } from 'rxjs';
import { RemoteStreamError, text } from 'tokenflow';
import { fromSSE } from 'tokenflow/client';
import { openai } from 'tokenflow/openai';
import { RedisStreamHub } from 'tokenflow/redis';
import { startMockProvider } from 'tokenflow/testing';

let stopRedis: (() => void) | undefined;
const redisUrl = process.env.REDIS_URL ?? (await throwawayRedis());
const mock = process.env.OPENAI_API_KEY
  ? undefined
  : await startMockProvider({ flavor: 'openai', profile: 'groq', script: { text: 'One server asks the model; every other server can follow, resume or stop the answer.' } });
console.error(mock ? 'No OPENAI_API_KEY: using the built-in mock provider.' : 'Using OpenAI.');
const llm = mock ? openai({ apiKey: 'mock', baseURL: mock.baseURL, maxRetries: 0 }) : openai();
const ask = (question: string) => llm.stream({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: question }] });

/** One "server": a hub on the shared Redis and an HTTP endpoint for it. */
async function startServer(name: string) {
  const hub = new RedisStreamHub({ redis: redisUrl, leaseMs: 5_000 });
  const follow = hub.handler();
  const server = http.createServer(async (req, res) => {
    if (req.method === 'POST' && req.url === '/ask') {
      const channel = randomUUID();
      await hub.publish(channel, ask('Say something about servers.'), { meta: { startedOn: name } });
      res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ channel }));
    } else {
      await follow(req, res); // GET /streams/<channel> follows, POST /streams/<channel>/stop stops
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { base, close: async () => (await hub.close(), server.close()) };
}

const [a, b] = [await startServer('A'), await startServer('B')];

// The answer starts on A …
const { channel } = (await (await fetch(`${a.base}/ask`, { method: 'POST' })).json()) as { channel: string };
// … a tab follows it on B for three events, loses its connection, and resumes on A.
const firstPart = await lastValueFrom(fromSSE(`${b.base}/streams/${channel}`).pipe(take(3), toArray()));
const rest = await lastValueFrom(fromSSE(`${a.base}/streams/${channel}`, { lastEventId: firstPart.length - 1 }).pipe(text()), { defaultValue: '' });
const resumed = firstPart.map((e) => (e.type === 'token' ? e.text : '')).join('') + rest;
const whole = await lastValueFrom(fromSSE(`${b.base}/streams/${channel}`).pipe(text()));
console.log(`followed on B, resumed on A: ${resumed}`);
console.log(`same as a full replay: ${resumed === whole}; provider requests: ${mock?.requests.length ?? 'n/a'}`);

// A second answer, started on A and stopped by a POST to B.
const second = (await (await fetch(`${a.base}/ask`, { method: 'POST' })).json()) as { channel: string };
const watcher = lastValueFrom(fromSSE(`${b.base}/streams/${second.channel}`).pipe(text())).catch((error: unknown) => error);
await lastValueFrom(fromSSE(`${b.base}/streams/${second.channel}`).pipe(take(3)));
await fetch(`${b.base}/streams/${second.channel}/stop`, { method: 'POST' });
const outcome = await watcher;
if (RemoteStreamError.isInstance(outcome)) console.log(`second answer: ${outcome.reason} after "${outcome.partialText}"`);

await Promise.all([a.close(), b.close()]);
await mock?.close();
stopRedis?.();

// ---- a throwaway redis-server when REDIS_URL is not set ----

async function throwawayRedis(): Promise<string> {
  const port = await new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  child.on('error', () => {
    console.error('No REDIS_URL and no redis-server binary: install Redis or set REDIS_URL.');
    process.exit(1);
  });
  stopRedis = () => child.kill();
  await new Promise((resolve) => setTimeout(resolve, 300));
  console.error(`No REDIS_URL: started a throwaway redis-server on port ${port}.`);
  return `redis://127.0.0.1:${port}`;
}
