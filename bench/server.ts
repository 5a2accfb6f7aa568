/**
 * The benchmark's mock servers, in their own process so their CPU is not counted against the
 * client being measured. Prints `{ flavor: baseURL }` as one JSON line, then serves until killed.
 */
import { startMockProvider, type MockFlavor } from '../src/testing/index.js';

const tokens = Number(process.argv[2] ?? 10_000);
const flavors: MockFlavor[] = ['openai', 'anthropic', 'groq'];
const urls: Record<string, string> = {};
for (const flavor of flavors) {
  const mock = await startMockProvider({ flavor, script: { tokens }, profile: 'instant' });
  urls[flavor] = mock.baseURL;
}
process.stdout.write(`${JSON.stringify(urls)}\n`);
// Keep the request logs from growing without bound over many runs.
setInterval(() => undefined, 1 << 30);
