/**
 * The anchors suite's mock servers, in their own process so their CPU is not counted against the
 * library being measured. Per wire format: an `instant` mock (no delay; answer length from the
 * model id, see answer.ts) and a `slow` one (100 tokens/s, for cancellation), plus a control
 * endpoint: `GET /closed?flavor=openai&marker=…` waits up to `timeout` ms for the slow response
 * whose request carried `marker` to close, and says how. With `--obfuscation`, the OpenAI mocks pad
 * every chunk with `obfuscation`, as the real API does unless a request turns it off.
 *
 * Prints `{ control, mocks: { flavor: { instant, slow } } }` (base URLs) as one JSON line.
 */
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startMockProvider, type MockFlavor, type MockProvider } from '../../src/testing/index.js';
import { answerDeltas, tokensOf } from './answer.js';

const flavors: MockFlavor[] = ['openai', 'anthropic', 'groq'];
/** `--obfuscation`: the OpenAI mocks pad every chunk as the real API does by default. */
const obfuscation = process.argv.includes('--obfuscation');
/** Deltas by length: the 10,000-token answer is built once, not per request. */
const cache = new Map<number, string[]>();
const script = (request: { body: any }) => {
  const tokens = tokensOf(request.body?.model);
  let text = cache.get(tokens);
  if (!text) cache.set(tokens, (text = answerDeltas(tokens)));
  return { text };
};

const mocks: Record<string, { instant: MockProvider; slow: MockProvider }> = {};
for (const flavor of flavors) {
  mocks[flavor] = {
    instant: await startMockProvider({ flavor, script, profile: 'instant', obfuscation: obfuscation && flavor === 'openai' }),
    slow: await startMockProvider({ flavor, script, profile: { ttftMs: 0, tokensPerSecond: 100 }, obfuscation: obfuscation && flavor === 'openai' }),
  };
}

const control = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const mock = mocks[url.searchParams.get('flavor') ?? '']?.slow;
  const marker = url.searchParams.get('marker') ?? '';
  const timeoutMs = Number(url.searchParams.get('timeout') ?? 2000);
  const reply = (status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  if (!mock || !marker) return reply(400, { error: 'flavor and marker required' });
  const request = mock.requests.find((r) => JSON.stringify(r.body).includes(marker));
  if (!request) return reply(404, { error: `no request carried ${marker}` });
  mock.waitForClose(request.index, timeoutMs).then(
    (log) =>
      reply(200, {
        closed: true,
        closedByClient: log.closedByClient,
        closedAtEpochMs: performance.timeOrigin + log.closedAt!,
        tokensWritten: log.tokensWritten,
      }),
    () => reply(200, { closed: false, tokensWritten: mock.responses[request.index]?.tokensWritten ?? 0 }),
  );
});
control.listen(0, '127.0.0.1');
await once(control, 'listening');
const urls = Object.fromEntries(flavors.map((f) => [f, { instant: mocks[f]!.instant.baseURL, slow: mocks[f]!.slow.baseURL }]));
process.stdout.write(`${JSON.stringify({ control: `http://127.0.0.1:${(control.address() as AddressInfo).port}`, mocks: urls })}\n`);
// Keep serving until the parent kills this process.
setInterval(() => undefined, 1 << 30);
