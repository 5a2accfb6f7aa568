/**
 * `npm run bench -- --suite anchors`: tokenflow against the libraries an application would use
 * instead, side by side against the same local mock server, in the OpenAI (Chat Completions), Groq
 * and Anthropic wire formats. Every library × measure runs in a fresh child process (run-one.ts,
 * import-one.mjs), `rounds` times, the libraries alternating in an order shuffled every round (the same orders in every run); the
 * mock servers run in their own process (server.ts). Every child loads net-guard.mjs, which records
 * and refuses any attempt to leave 127.0.0.1.
 *
 * The AI SDK has two rows, its majors 6 and 7 side by side. AI SDK 7 needs Node >= 22: when the bench
 * runs on an older Node, its rows run on a Node 22 from bench/child.ts's newerNode(), and so do copies
 * of the floor and tokenflow `stream()` rows (`floor:newer-node`, …), so that every ratio and every
 * "below the other libraries" target compares rows of one Node.
 *
 * Writes bench/out/anchors.json (every run), bench/RESULTS.md and bench/cpu-per-token.svg.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import type { FamilyId, Flavor, ReaderId } from './libraries.js';
import { AI_SDK_7_NODE_MAJOR, childEnv, newerNode, roundOrder, runJsonChild, type NewerNode } from '../child.js';
import { baseOf, NEWER_NODE, onNewerNode } from './ai-sdk.js';
import type { RunConfig } from './run-one.js';
import { writeReport, type AnchorsRun, type RunResult } from './report.js';

export interface AnchorsOptions {
  rounds: number;
  tokens: number;
  flavors: Flavor[];
  concurrency: number;
  concurrentTokens: number;
  /**
   * The measures to run (default: all of {@link MEASURES}). A subset writes its report to
   * bench/out/anchors-partial.md instead of bench/RESULTS.md, which always holds a whole run.
   */
  measures?: readonly string[];
  /**
   * The rows to run in the read, ttft and concurrent measures (default: every row). A subset writes
   * its report to bench/out/anchors-partial.md, as a subset of measures does; it must keep the floor.
   */
  readers?: readonly string[];
  /**
   * Answers read per process in the read measure, after three warm-ups; the process's figure is their
   * median. One read of a 10,000-token answer is about 50 ms of CPU and moves by a third from read to
   * read on a shared machine (a GC or a background compile lands in it or not), so five reads left a
   * process's median moving by a fifth (eight floor processes: 3.18-5.58 µs per token); with fifteen,
   * seven of eight read 3.80-4.44.
   * @defaultValue 15
   */
  reads?: number;
  /**
   * The OpenAI mock pads every chunk with `obfuscation`, as the real API does by default (every
   * chunk then differs; Groq and most compatible servers send none).
   */
  obfuscation?: boolean;
}

/** Every measure of the suite, in the order each round runs them. */
export const MEASURES = ['import', 'read', 'ttft', 'concurrent', 'cancel'] as const;

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const OUT = here('../out/');
const NET_LOG = `${OUT}anchors-net.log`;

/** The readers per wire format: the AI SDK and LangChain rows need their OpenAI/Anthropic packages. */
export function readersFor(flavor: Flavor): ReaderId[] {
  const common: ReaderId[] = [
    'bytes',
    'floor',
    'floor-again',
    'floor-async',
    'sdk',
    'tokenflow-events',
    'tokenflow-collect',
    'tokenflow-progress',
    'tokenflow-callbacks-sync',
    'tokenflow-callbacks-async',
  ];
  return flavor === 'groq' ? common : [...common, 'ai-sdk', 'ai-sdk-7', 'langchain'];
}
/**
 * `collect()` emits once, at the end: no time to first token. The async floor and the floor's second
 * copy are per-token CPU references only (their first text is the floor's).
 */
const TTFT_READERS = (flavor: Flavor) => readersFor(flavor).filter((r) => r !== 'tokenflow-collect' && r !== 'floor-async' && r !== 'floor-again');
const CONCURRENT_READERS = (flavor: Flavor) =>
  readersFor(flavor).filter((r) => ['floor', 'sdk', 'tokenflow-events', 'tokenflow-collect', 'tokenflow-callbacks-sync', 'ai-sdk', 'ai-sdk-7', 'langchain'].includes(r));
const FAMILIES = (flavor: Flavor): FamilyId[] => (flavor === 'groq' ? ['fetch', 'sdk', 'tokenflow'] : ['fetch', 'sdk', 'tokenflow', 'ai-sdk', 'ai-sdk-7', 'langchain']);
/**
 * The rows repeated on the newer Node beside the AI SDK 7 rows (when that is not the bench's own
 * Node): the floor and its second copy (the reference the ratios divide by), and tokenflow's
 * `stream()`, for the comparison with AI SDK 7.
 */
const NEWER_NODE_COPIES: ReaderId[] = ['floor', 'floor-again', 'tokenflow-events'];
/** Every set's entry points are in import-one.mjs. */
export const IMPORT_SETS = [
  'eventsource-parser',
  'openai',
  '@anthropic-ai/sdk',
  'groq-sdk',
  'tokenflow + openai',
  'tokenflow + anthropic',
  'ai 6 + @ai-sdk/openai',
  'ai 6 + @ai-sdk/anthropic',
  'ai 7 + @ai-sdk/openai',
  'ai 7 + @ai-sdk/anthropic',
  '@langchain/openai',
  '@langchain/anthropic',
];
/** The import sets repeated on the newer Node beside AI SDK 7's. */
const NEWER_NODE_IMPORT_COPIES = ['tokenflow + openai', 'tokenflow + anthropic'];

/** Runs one child to completion on `node`; resolves to its JSON line. */
function runChild(args: string[], who: string, node: string, timeoutMs = 90_000): Promise<RunResult> {
  return runJsonChild<RunResult>(args, childEnv(who, NET_LOG), `anchors: ${who}`, timeoutMs, node);
}

export async function runAnchors(options: AnchorsOptions): Promise<void> {
  // tokenflow is measured from its build, as users load it: build it from the current sources first.
  const build = spawn('npx', ['--no-install', 'tsup', '--silent'], { stdio: ['ignore', 'ignore', 'inherit'] });
  const [code] = (await once(build, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`anchors: building tokenflow failed (exit ${code})`);
  mkdirSync(OUT, { recursive: true });
  rmSync(NET_LOG, { force: true });
  const startedAt = new Date();
  const server = spawn(process.execPath, ['--import', 'tsx', here('./server.ts'), ...(options.obfuscation ? ['--obfuscation'] : [])], { stdio: ['ignore', 'pipe', 'inherit'] });
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
    reads: options.reads ?? 15,
  });
  // The Node the AI SDK 7 rows run on: this one if it is recent enough, else a second one (installed
  // on first use), which also runs the copies. Without one, those rows are reported as not run.
  const newer: NewerNode = newerNode();
  const second = 'error' in newer || newer.same ? undefined : newer;
  const copies = second ? NEWER_NODE_COPIES : [];
  const importCopies = second ? NEWER_NODE_IMPORT_COPIES : [];
  /** The Node a row runs on; undefined when it needs a newer one and there is none. */
  const nodeFor = (row: string): { path: string; version: string } | undefined =>
    !onNewerNode(row) ? { path: process.execPath, version: process.version } : 'error' in newer ? undefined : newer;
  const notRun = `not run: needs Node >= ${AI_SDK_7_NODE_MAJOR}${'error' in newer ? ` (${newer.error})` : ''}`;
  const who = (row: string, rest: string) => `${row} ${rest}${second && onNewerNode(row) ? ` (Node ${second.version})` : ''}`;
  const runOne = (row: string, measure: string, flavor: Flavor, node: string) =>
    runChild(
      ['--import', 'tsx', '--import', here('./net-guard.mjs'), here('./run-one.ts'), baseOf(row), measure, flavor, JSON.stringify(config(flavor))],
      who(row, `${measure} ${flavor}`),
      node,
    );
  const importOne = (row: string, node: string) => runChild(['--import', here('./net-guard.mjs'), here('./import-one.mjs'), baseOf(row)], who(row, 'import'), node);

  // The newer Node's copies only beside an AI SDK 7 row (not for Groq, which has none).
  const withCopies = (rows: string[]) => (rows.includes('ai-sdk-7') ? [...rows, ...copies.filter((r) => rows.includes(r)).map((r) => `${r}${NEWER_NODE}`)] : rows);
  const chosen = (rows: string[]) => (options.readers ? rows.filter((row) => options.readers!.includes(baseOf(row))) : rows);
  const jobs = (readers: (flavor: Flavor) => string[]) => options.flavors.flatMap((flavor) => chosen(withCopies(readers(flavor))).map((library) => ({ library, flavor })));
  const measures = options.measures ?? MEASURES;
  const plan: Array<{ measure: string; jobs: Array<{ library: string; flavor: Flavor }>; rounds: number }> = [
    { measure: 'import', jobs: [...IMPORT_SETS, ...importCopies.map((set) => `${set}${NEWER_NODE}`)].map((library) => ({ library, flavor: 'openai' as Flavor })), rounds: options.rounds },
    { measure: 'read', jobs: jobs(readersFor), rounds: options.rounds },
    { measure: 'ttft', jobs: jobs(TTFT_READERS), rounds: options.rounds },
    { measure: 'concurrent', jobs: jobs(CONCURRENT_READERS), rounds: options.rounds },
    // Yes/no and a latency: three rounds are plenty.
    { measure: 'cancel', jobs: jobs(FAMILIES), rounds: Math.min(3, options.rounds) },
  ].filter((p) => measures.includes(p.measure));
  const total = plan.reduce((n, p) => n + p.jobs.length * p.rounds, 0);
  const results: RunResult[] = [];
  let done = 0;
  const t0 = performance.now();
  try {
    for (let round = 0; round < options.rounds; round++) {
      for (const { measure, jobs: list, rounds } of plan) {
        if (round >= rounds) continue;
        for (const { library, flavor } of roundOrder(list, round)) {
          const node = nodeFor(library);
          const result: RunResult =
            node === undefined
              ? { library, measure, flavor, error: notRun }
              : measure === 'import'
                ? await importOne(library, node.path)
                : await runOne(library, measure, flavor, node.path);
          results.push({ ...result, library, measure, flavor, round, ...(node ? { node: node.version } : {}) });
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
  const run: AnchorsRun = { startedAt: startedAt.toISOString(), durationS: (performance.now() - t0) / 1000, options, results, network, loadAverage: os.loadavg(), node: process.version, newerNode: newer };
  writeFileSync(`${OUT}anchors.json`, JSON.stringify(run, null, 2));
  const summary = writeReport(run, MEASURES.every((m) => measures.includes(m)) && options.readers === undefined);
  process.stdout.write(`\n${summary}\n`);
}
