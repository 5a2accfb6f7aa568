/**
 * One contender in a fresh process: `node --import tsx bench/tools/run-one.ts <contender> <flavor>
 * '<RunConfig json>'`. Prints one JSON line with its figures (or `{ "error" }`).
 *
 * Two phases, each with its own client:
 * - **CPU**: `warmups` loops, then `loops` measured loops: `process.cpuUsage()` (user + system) of one
 *   whole loop divided by its wire deltas (argument fragments and text), and its wall time; medians.
 *   The first {@link WARMING_LOOPS} warm-ups are timed too: a fresh process before its code is optimised.
 * - **dispatch**: the client built on a timing `fetch` that notes when each request is made and when
 *   each response body chunk is handed to the client. At every step boundary: from the last chunk of
 *   step n reaching the client to the `fetch` call of step n + 1 (the client parsing the step's end,
 *   running the tools, building and sending the next request); the median over the loops. Kept out of
 *   the CPU phase, since the timing wrapper costs CPU of its own.
 */
import { loadLoop, type ContenderId, type Flavor } from './contenders.js';
import { answerText, deltasPerLoop, WARMING_LOOPS, type LoopShape } from './script.js';

export interface RunConfig {
  baseURL: string;
  shape: LoopShape;
  warmups: number;
  loops: number;
}

const [contender, flavor, configJson] = process.argv.slice(2) as [ContenderId, Flavor, string];
const config = JSON.parse(configJson) as RunConfig;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const expected = answerText(config.shape);
function check(text: string): void {
  if (text !== expected) {
    throw new Error(`${contender}/${flavor}: the final text (${text.length} chars, "${text.slice(0, 80)}…") is not the expected answer (${expected.length} chars)`);
  }
}

/** A `fetch` that records each call's time and when the last body chunk of each response reached the reader. */
function timingFetch() {
  const calls: number[] = [];
  const lastChunks: number[] = [];
  const timed = async (input: Parameters<typeof fetch>[0], init?: Parameters<typeof fetch>[1]): Promise<Response> => {
    const i = calls.push(performance.now()) - 1;
    const response = await fetch(input, init);
    if (!response.body) return response;
    const reader = response.body.getReader();
    // highWaterMark 0: a chunk is pulled only when the client reads, so its time is the client's.
    const body = new ReadableStream<Uint8Array>(
      {
        async pull(controller) {
          const { done, value } = await reader.read();
          if (done) {
            controller.close();
            return;
          }
          lastChunks[i] = performance.now();
          controller.enqueue(value);
        },
        cancel: (reason) => reader.cancel(reason),
      },
      { highWaterMark: 0 },
    );
    return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
  };
  return {
    fetch: timed as typeof fetch,
    /** The step boundaries' gaps since the last reset, in ms. */
    take(): number[] {
      const gaps: number[] = [];
      for (let i = 0; i + 1 < calls.length; i++) gaps.push(calls[i + 1]! - lastChunks[i]!);
      calls.length = 0;
      lastChunks.length = 0;
      return gaps;
    },
  };
}

async function main(): Promise<Record<string, unknown>> {
  const deltas = deltasPerLoop(config.shape);
  const loop = await loadLoop(contender, flavor, config.baseURL, fetch);
  // process.cpuUsage() counts every thread (GC, background compilation): the warm-ups let the JIT
  // settle, then the median loop is this process's figure.
  // The warm-up loops are timed too: their median (of the first five) is how a fresh process fares
  // before its code is optimised, reported beside the settled figure.
  const warming: number[] = [];
  for (let i = 0; i < config.warmups; i++) {
    const before = process.cpuUsage();
    const text = await loop.run();
    const used = process.cpuUsage(before);
    check(text);
    if (i < WARMING_LOOPS) warming.push((used.user + used.system) / deltas);
  }
  const cpu: number[] = [];
  const wall: number[] = [];
  for (let i = 0; i < config.loops; i++) {
    const before = process.cpuUsage();
    const t0 = performance.now();
    const text = await loop.run();
    wall.push(performance.now() - t0);
    const used = process.cpuUsage(before);
    check(text);
    cpu.push((used.user + used.system) / deltas);
  }

  const timing = timingFetch();
  const timed = await loadLoop(contender, flavor, config.baseURL, timing.fetch);
  for (let i = 0; i < Math.min(2, config.warmups); i++) check(await timed.run());
  timing.take();
  const gaps: number[] = [];
  const byStep: number[][] = [[], []];
  for (let i = 0; i < config.loops; i++) {
    check(await timed.run());
    const loopGaps = timing.take();
    if (loopGaps.length !== 2) throw new Error(`${contender}/${flavor}: made ${loopGaps.length + 1} requests for a three-step loop`);
    loopGaps.forEach((gap, step) => byStep[step]!.push(gap));
    gaps.push(...loopGaps);
  }
  return {
    cpuUsPerToken: median(cpu),
    warmingCpuUsPerToken: warming.length > 0 ? median(warming) : undefined,
    wallMs: median(wall),
    dispatchMs: median(gaps),
    dispatchAfterStep0Ms: median(byStep[0]!),
    dispatchAfterStep1Ms: median(byStep[1]!),
  };
}

main().then(
  (result) => {
    process.stdout.write(`${JSON.stringify({ contender, flavor, ...result })}\n`);
    process.exit(0);
  },
  (error: unknown) => {
    process.stdout.write(`${JSON.stringify({ contender, flavor, error: String((error as Error)?.stack ?? error) })}\n`);
    process.exit(1);
  },
);
