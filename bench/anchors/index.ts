/**
 * `npm run bench -- --suite anchors`: tokenflow against the libraries an application would use
 * instead, side by side against the same local mock server, in the OpenAI (Chat Completions), Groq
 * and Anthropic wire formats. Every library × measure runs in a fresh child process (run-one.ts,
 * import-one.mjs), `rounds` times, the libraries alternating in an order rotated every round; the
 * mock servers run in their own process (server.ts). Every child loads net-guard.mjs, which records
 * and refuses any attempt to leave 127.0.0.1.
 *
 * Writes bench/out/anchors.json (every run), bench/RESULTS.md and bench/cpu-per-token.svg.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import type { FamilyId, Flavor, ReaderId } from './libraries.js';
import { childEnv, runJsonChild } from '../child.js';
import type { RunConfig } from './run-one.js';
import { writeReport, type AnchorsRun, type RunResult } from './report.js';

export interface AnchorsOptions {
  rounds: number;
  tokens: number;
  flavors: Flavor[];
  concurrency: number;
  concurrentTokens: number;
}

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const OUT = here('../out/');
const NET_LOG = `${OUT}anchors-net.log`;

/** The readers per wire format: the AI SDK and LangChain rows need their OpenAI/Anthropic packages. */
export function readersFor(flavor: Flavor): ReaderId[] {
  const common: ReaderId[] = [
    'bytes',
    'floor',
    'sdk',
    'tokenflow-events',
    'tokenflow-collect',
    'tokenflow-progress',
    'tokenflow-callbacks-sync',
    'tokenflow-callbacks-async',
  ];
  return flavor === 'groq' ? common : [...common, 'ai-sdk', 'langchain'];
}
/** `collect()` emits once, at the end: no time to first token. */
const TTFT_READERS = (flavor: Flavor) => readersFor(flavor).filter((r) => r !== 'tokenflow-collect');
const CONCURRENT_READERS = (flavor: Flavor) =>
  readersFor(flavor).filter((r) => ['floor', 'sdk', 'tokenflow-events', 'tokenflow-collect', 'tokenflow-callbacks-sync', 'ai-sdk', 'langchain'].includes(r));
const FAMILIES = (flavor: Flavor): FamilyId[] => (flavor === 'groq' ? ['fetch', 'sdk', 'tokenflow'] : ['fetch', 'sdk', 'tokenflow', 'ai-sdk', 'langchain']);
export const IMPORT_SETS = [
  'eventsource-parser',
  'openai',
  '@anthropic-ai/sdk',
  'groq-sdk',
  'tokenflow + openai',
  'tokenflow + anthropic',
  'ai + @ai-sdk/openai',
  'ai + @ai-sdk/anthropic',
  '@langchain/openai',
  '@langchain/anthropic',
];

/** Runs one child to completion; resolves to its JSON line. */
function runChild(args: string[], who: string, timeoutMs = 90_000): Promise<RunResult> {
  return runJsonChild<RunResult>(args, childEnv(who, NET_LOG), `anchors: ${who}`, timeoutMs);
}

function rotate<T>(items: T[], by: number): T[] {
  return items.map((_, i) => items[(i + by) % items.length]!);
}

export async function runAnchors(options: AnchorsOptions): Promise<void> {
  // tokenflow is measured from its build, as users load it: build it from the current sources first.
  const build = spawn('npx', ['--no-install', 'tsup', '--silent'], { stdio: ['ignore', 'ignore', 'inherit'] });
  const [code] = (await once(build, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`anchors: building tokenflow failed (exit ${code})`);
  mkdirSync(OUT, { recursive: true });
  rmSync(NET_LOG, { force: true });
  const startedAt = new Date();
  const server = spawn(process.execPath, ['--import', 'tsx', here('./server.ts')], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(server.stdout, 'data')) as [Buffer];
  const { control, mocks } = JSON.parse(line.toString()) as { control: string; mocks: Record<Flavor, { instant: string; slow: string }> };
  const config = (flavor: Flavor): RunConfig => ({
    control,
    endpoints: mocks[flavor],
    tokens: options.tokens,
    ttftTokens: 50,
    samples: 40,
    concurrency: options.concurrency,
    concurrentTokens: options.concurrentTokens,
    cancelAfter: 3,
  });
  const runOne = (library: string, measure: string, flavor: Flavor) =>
    runChild(['--import', 'tsx', '--import', here('./net-guard.mjs'), here('./run-one.ts'), library, measure, flavor, JSON.stringify(config(flavor))], `${library} ${measure} ${flavor}`);
  const importOne = (set: string) => runChild(['--import', here('./net-guard.mjs'), here('./import-one.mjs'), set], `${set} import`);

  const jobs = (readers: (flavor: Flavor) => string[]) => options.flavors.flatMap((flavor) => readers(flavor).map((library) => ({ library, flavor })));
  const plan: Array<{ measure: string; jobs: Array<{ library: string; flavor: Flavor }>; rounds: number }> = [
    { measure: 'import', jobs: IMPORT_SETS.map((library) => ({ library, flavor: 'openai' as Flavor })), rounds: options.rounds },
    { measure: 'read', jobs: jobs(readersFor), rounds: options.rounds },
    { measure: 'ttft', jobs: jobs(TTFT_READERS), rounds: options.rounds },
    { measure: 'concurrent', jobs: jobs(CONCURRENT_READERS), rounds: options.rounds },
    // Yes/no and a latency: three rounds are plenty.
    { measure: 'cancel', jobs: jobs(FAMILIES), rounds: Math.min(3, options.rounds) },
  ];
  const total = plan.reduce((n, p) => n + p.jobs.length * p.rounds, 0);
  const results: RunResult[] = [];
  let done = 0;
  const t0 = performance.now();
  try {
    for (let round = 0; round < options.rounds; round++) {
      for (const { measure, jobs: list, rounds } of plan) {
        if (round >= rounds) continue;
        for (const { library, flavor } of rotate(list, round * 3)) {
          const result = measure === 'import' ? await importOne(library) : await runOne(library, measure, flavor);
          results.push({ ...result, library, measure, flavor, round });
          done++;
        }
        const elapsed = (performance.now() - t0) / 1000;
        process.stdout.write(`anchors: round ${round + 1}/${options.rounds}, ${measure} done (${done}/${total} runs, ${elapsed.toFixed(0)} s)\n`);
      }
    }
  } finally {
    server.kill();
  }
  const network = existsSync(NET_LOG)
    ? readFileSync(NET_LOG, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { kind: string; host: string; who: string })
    : [];
  const run: AnchorsRun = { startedAt: startedAt.toISOString(), durationS: (performance.now() - t0) / 1000, options, results, network, loadAverage: os.loadavg() };
  writeFileSync(`${OUT}anchors.json`, JSON.stringify(run, null, 2));
  const summary = writeReport(run);
  process.stdout.write(`\n${summary}\n`);
}
