/**
 * `npx tsx bench/otel.ts`: what tokenflow/otel costs, in CPU microseconds per token of a 10,000-token
 * answer from the mock server (in its own process, so its CPU is not counted), read to the end:
 *
 * - `plain`: the provider's stream, no telemetry;
 * - `traced(), no SDK`: `traced()` with the API's globals and no SDK registered (the no-op path);
 * - `traced(), SDK tracer`: a real SDK tracer (`TracerProvider`, `BatchSpanProcessor`) whose exporter
 *   drops what it is given, and the no-op meter;
 * - `traced(), SDK tracer + meter`: the same with a real `MeterProvider` (a reader that is never
 *   collected): the three per-answer histograms;
 * - `… timePerOutputChunk: true`: the same with the per-chunk
 *   `gen_ai.client.operation.time_per_output_chunk` records too (off by default);
 * - `tracedProvider(), SDK tracer`: the provider wrapper with the SDK tracer.
 *
 * The readers run side by side in alternating order, round after round, so the machine's noise hits
 * them alike; the table gives each one's median and its ratio to `plain`.
 *
 * Options: --tokens N (default 10000), --rounds N (default 15), --flavors openai,anthropic,groq
 * (default openai).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { BatchSpanProcessor, TracerProvider, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { from, type Observable } from 'rxjs';
import type { TokenEvent } from '../src/events.js';
import type { Provider } from '../src/provider.js';
import { anthropic } from '../src/providers/anthropic.js';
import { groq } from '../src/providers/groq.js';
import { openai } from '../src/providers/openai.js';
import { traced, tracedProvider } from '../src/otel/index.js';

type Flavor = 'openai' | 'anthropic' | 'groq';

const { values } = parseArgs({
  options: {
    tokens: { type: 'string', default: '10000' },
    rounds: { type: 'string', default: '15' },
    flavors: { type: 'string', default: 'openai' },
  },
});
const tokens = Number(values.tokens);
const rounds = Number(values.rounds);
const flavors = values.flavors.split(',') as Flavor[];
for (const [name, value] of [['tokens', tokens], ['rounds', rounds]] as const) {
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name}: expected a whole number from 1, got ${String(value)}`);
}

/** An exporter that drops every batch at once: the SDK's work is measured, not an export's. */
class DroppingExporter implements SpanExporter {
  export(_spans: ReadableSpan[], done: (result: { code: 0 }) => void): void {
    done({ code: 0 });
  }
  async shutdown(): Promise<void> {}
}

/** A metric reader nobody collects: the instruments aggregate, nothing is exported. */
class IdleReader extends MetricReader {
  protected async onShutdown(): Promise<void> {}
  protected async onForceFlush(): Promise<void> {}
}

const tracerProvider = new TracerProvider({ spanProcessors: [new BatchSpanProcessor({ exporter: new DroppingExporter() })] });
const sdkTracer = tracerProvider.getTracer('bench');
const meterProvider = new MeterProvider({ readers: [new IdleReader()] });
const sdkMeter = meterProvider.getMeter('bench');

const MESSAGES = [{ role: 'user' as const, content: 'Write a long answer.' }];
const request = { model: 'bench-model', messages: MESSAGES };

/** Reads a stream to the end, touching every token's text; resolves to the characters seen. */
function read(stream$: Observable<TokenEvent>): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let chars = 0;
    stream$.subscribe({
      next: (event) => {
        if (event.type === 'token') chars += event.text.length;
      },
      error: reject,
      complete: () => resolve(chars),
    });
  });
}

function readers(llm: Provider): Record<string, () => Promise<number>> {
  const withSdk = tracedProvider(llm, { tracer: sdkTracer });
  return {
    plain: () => read(llm.stream(request)),
    'traced(), no SDK': () => read(llm.stream(request).pipe(traced())),
    'traced(), SDK tracer': () => read(llm.stream(request).pipe(traced({ tracer: sdkTracer }))),
    'traced(), SDK tracer + meter': () => read(llm.stream(request).pipe(traced({ tracer: sdkTracer, meter: sdkMeter }))),
    'traced(), SDK tracer + meter, timePerOutputChunk: true': () =>
      read(llm.stream(request).pipe(traced({ tracer: sdkTracer, meter: sdkMeter, timePerOutputChunk: true }))),
    'tracedProvider(), SDK tracer': () => read(withSdk.stream(request)),
  };
}

function providerFor(flavor: Flavor, baseURL: string): Provider {
  const options = { apiKey: 'bench', baseURL, maxRetries: 0 };
  return flavor === 'anthropic' ? anthropic(options) : flavor === 'groq' ? groq(options) : openai(options);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const server = spawn(process.execPath, ['--import', 'tsx', new URL('./server.ts', import.meta.url).pathname, String(tokens)], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
const [line] = (await once(server.stdout, 'data')) as [Buffer];
const urls = JSON.parse(line.toString()) as Record<Flavor, string>;

const rows: string[] = [];
try {
  for (const flavor of flavors) {
    const set = readers(providerFor(flavor, urls[flavor]));
    const names = Object.keys(set);
    const cpu: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
    // Warm-up: JIT, connection pools, the SDK's first spans.
    for (const name of names) for (let i = 0; i < 3; i++) await set[name]!();
    for (let round = 0; round < rounds; round++) {
      // Rotate the order each round so no reader always runs first or after the same one.
      const order = names.map((_, i) => names[(i + round) % names.length]!);
      for (const name of order) {
        const before = process.cpuUsage();
        const chars = await set[name]!();
        const used = process.cpuUsage(before);
        if (chars === 0) throw new Error(`${flavor}/${name} read no text`);
        cpu[name]!.push((used.user + used.system) / tokens);
      }
    }
    const plain = median(cpu.plain!);
    for (const name of names) {
      const perToken = median(cpu[name]!);
      const ratio = perToken / plain;
      rows.push(`| ${flavor} | ${name} | ${perToken.toFixed(3)} | ${ratio.toFixed(3)} | ${((ratio - 1) * 100).toFixed(1)}% |`);
    }
  }
} finally {
  server.kill();
}

console.log(`\n${tokens}-token answers over HTTP, ${rounds} alternating rounds, Node ${process.version}\n`);
console.log(['| format | reader | CPU µs/token (median) | × plain | more CPU |', '| --- | --- | ---: | ---: | ---: |', ...rows].join('\n'));

// The operator alone: the same answer's events replayed in memory (no HTTP, no parsing), so what
// remains is the cost tokenflow/otel adds to each event, in nanoseconds, with far less noise.
const events: TokenEvent[] = [{ type: 'start', provider: 'openai', model: 'bench-model', id: 'chatcmpl-1', t: 0.5 }];
for (let i = 0; i < tokens; i++) events.push({ type: 'token', text: ' word', index: i, t: 1 + i * 0.01 });
events.push({ type: 'usage', usage: { inputTokens: 10, outputTokens: tokens, estimated: false }, t: 2 + tokens * 0.01 });
events.push({ type: 'done', stopReason: 'end', t: 2 + tokens * 0.01 });
const replays: Record<string, (stream$: Observable<TokenEvent>) => Observable<TokenEvent>> = {
  plain: (stream$) => stream$,
  'traced(), no SDK': (stream$) => stream$.pipe(traced()),
  'traced(), SDK tracer': (stream$) => stream$.pipe(traced({ tracer: sdkTracer })),
  'traced(), SDK tracer + meter': (stream$) => stream$.pipe(traced({ tracer: sdkTracer, meter: sdkMeter })),
  'traced(), SDK tracer + meter, timePerOutputChunk: true': (stream$) => stream$.pipe(traced({ tracer: sdkTracer, meter: sdkMeter, timePerOutputChunk: true })),
};
const replayNames = Object.keys(replays);
const replayCpu: Record<string, number[]> = Object.fromEntries(replayNames.map((n) => [n, []]));
const replay = async (name: string): Promise<number> => read(replays[name]!(from(events)));
for (const name of replayNames) for (let i = 0; i < 5; i++) await replay(name);
for (let round = 0; round < rounds * 4; round++) {
  for (const name of replayNames.map((_, i) => replayNames[(i + round) % replayNames.length]!)) {
    const before = process.cpuUsage();
    await replay(name);
    const used = process.cpuUsage(before);
    replayCpu[name]!.push(((used.user + used.system) * 1000) / events.length);
  }
}
const replayPlain = median(replayCpu.plain!);
console.log(`\nThe same ${events.length} events replayed in memory, ${rounds * 4} alternating rounds: what the operator adds per event\n`);
console.log(
  [
    '| reader | CPU ns/event (median) | added ns/event |',
    '| --- | ---: | ---: |',
    ...replayNames.map((name) => {
      const perEvent = median(replayCpu[name]!);
      return `| ${name} | ${perEvent.toFixed(0)} | ${(perEvent - replayPlain).toFixed(0)} |`;
    }),
  ].join('\n'),
);
await tracerProvider.shutdown();
await meterProvider.shutdown();
