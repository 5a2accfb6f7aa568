/**
 * The tools suite's mock providers, in their own process so their CPU is not counted against the
 * client being measured: one instant `startMockProvider` per wire format, scripted by the request's
 * tool results (see script.ts). `node --import tsx bench/tools/server.ts '<LoopShape json>'`.
 *
 * Prints `{ flavor: baseURL }` as one JSON line, then serves until killed.
 */
import { startMockProvider, type MockFlavor, type MockRequest, type MockScript } from '../../src/testing/index.js';
import { answerDeltas, stepFor, sumArguments, SUM_ID, upperArguments, UPPER_ID, type LoopShape } from './script.js';

const shape = JSON.parse(process.argv[2] ?? '{}') as LoopShape;
const flavors: MockFlavor[] = ['openai', 'anthropic'];
// Built once: the answers are the same for every request.
const steps: MockScript[] = [
  { toolCalls: [{ id: SUM_ID, name: 'sum', arguments: sumArguments(shape) }] },
  { toolCalls: [{ id: UPPER_ID, name: 'upper', arguments: upperArguments(shape) }] },
  { text: answerDeltas(shape) },
];
const script = (request: MockRequest): MockScript => {
  const next = stepFor(request.toolResults, shape);
  return 'wrong' in next ? { text: `wrong tool results: ${next.wrong}` } : steps[next.step]!;
};

const urls: Record<string, string> = {};
for (const flavor of flavors) {
  const mock = await startMockProvider({ flavor, script, profile: 'instant' });
  urls[flavor] = mock.baseURL;
  // The request log is not read here: keep it from growing over the run.
  setInterval(() => mock.reset(), 5_000).unref();
}
process.stdout.write(`${JSON.stringify(urls)}\n`);
// Keep serving until the parent kills this process.
setInterval(() => undefined, 1 << 30);
