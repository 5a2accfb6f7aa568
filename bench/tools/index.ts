/**
 * `npm run bench -- --suite tools`: a three-step tool loop (tool call, tool call, long answer) run by
 * the least a correct client does (the floor), the raw SDK with a hand-written loop, tokenflow's
 * Agent and, when installed, the AI SDK's `streamText`, against the same mock, with the same tools.
 * Every contender runs in a fresh child process (run-one.ts), `rounds` times, in an order shuffled
 * every round (the same orders in every run); the mocks run in their own process (server.ts). Every child loads the anchors suite's
 * net-guard.mjs (loopback only).
 *
 * The AI SDK has two rows, its majors 6 and 7. AI SDK 7 needs Node >= 22: when the bench runs on an
 * older Node, its rows run on a Node 22 from bench/child.ts's newerNode(), and so do copies of the
 * floor, raw SDK and tokenflow `events` rows (`floor:newer-node`, …), so that the ratios to the floor
 * and the differences from the raw SDK loop compare rows of one Node.
 *
 * Writes bench/out/tools.json (every run) and bench/tools/RESULTS.md.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { baseOf, NEWER_NODE, onNewerNode } from '../anchors/ai-sdk.js';
import { AI_SDK_7_NODE_MAJOR, childEnv, newerNode, roundOrder, runJsonChild } from '../child.js';
import { CONTENDERS, type ContenderId, type Flavor } from './contenders.js';
import { writeToolsReport, type ToolsRun, type ToolsResult } from './report.js';
import type { RunConfig } from './run-one.js';
import type { LoopShape } from './script.js';

export interface ToolsOptions {
  rounds: number;
  flavors: Flavor[];
  shape: LoopShape;
  /** Unmeasured loops per process before the measured ones. */
  warmups: number;
  /** Measured loops per process (each phase). */
  loops: number;
  /**
   * The contenders to run (default: every one installed). Leaving out the AI SDK rows, whose
   * processes take most of a round, buys more rounds of the rest in the same time.
   */
  contenders?: readonly ContenderId[];
}

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const OUT = here('../out/');
const NET_LOG = `${OUT}tools-net.log`;

/** Runs one child to completion on `node`; resolves to its JSON line. */
function runChild(args: string[], who: string, node: string, timeoutMs = 120_000): Promise<Omit<ToolsResult, 'round'>> {
  return runJsonChild<Omit<ToolsResult, 'round'>>(args, childEnv(who, NET_LOG), `tools: ${who}`, timeoutMs, node);
}

/**
 * The contenders this install can run: each AI SDK row only when its `ai` and provider package are
 * there (major 7 under bench/package.json's npm aliases).
 */
function available(flavor: Flavor): ContenderId[] {
  const installed = (name: string) => existsSync(here(`../node_modules/${name}/package.json`)) || existsSync(here(`../../node_modules/${name}/package.json`));
  const provider = flavor === 'anthropic' ? '@ai-sdk/anthropic' : '@ai-sdk/openai';
  const needs: Partial<Record<ContenderId, string[]>> = { 'ai-sdk': ['ai', provider], 'ai-sdk-7': ['ai-v7', `${provider}-v7`] };
  return CONTENDERS.filter((c) => (needs[c] ?? []).every(installed));
}

/**
 * The rows repeated on the newer Node beside AI SDK 7 (when that is not the bench's own Node): the
 * floor, for the ratio; the raw SDK loop, for the dispatch difference; tokenflow's Agent, for the
 * comparison with AI SDK 7.
 */
const NEWER_NODE_COPIES: ContenderId[] = ['floor', 'sdk', 'tokenflow-events'];

/** Whether dist/ is missing or older than any file under src/ (or package.json). */
function buildIsStale(): boolean {
  const built = here('../../dist/index.js');
  if (!existsSync(built)) return true;
  const builtAt = statSync(built).mtimeMs;
  const newer = (path: string): boolean =>
    statSync(path).isDirectory() ? readdirSync(path).some((name) => newer(join(path, name))) : statSync(path).mtimeMs > builtAt;
  return newer(here('../../src')) || newer(here('../../package.json'));
}

export async function runTools(options: ToolsOptions): Promise<void> {
  // Before the build: what else was running on the machine.
  const loadAtStart = os.loadavg();
  // tokenflow is measured from its build, as users load it: rebuilt when a source is newer (the
  // build, types included, takes longer than the rest of the suite on this machine).
  if (buildIsStale()) {
    const build = spawn('npx', ['--no-install', 'tsup', '--silent'], { stdio: ['ignore', 'ignore', 'inherit'] });
    const [code] = (await once(build, 'exit')) as [number | null];
    if (code !== 0) throw new Error(`tools: building tokenflow failed (exit ${code})`);
  }
  mkdirSync(OUT, { recursive: true });
  rmSync(NET_LOG, { force: true });
  const startedAt = new Date();
  const server = spawn(process.execPath, ['--import', 'tsx', here('./server.ts'), JSON.stringify(options.shape)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(server.stdout, 'data')) as [Buffer];
  const urls = JSON.parse(line.toString()) as Record<Flavor, string>;
  // The Node the AI SDK 7 rows run on: this one if it is recent enough, else a second one (installed
  // on first use), which also runs the copies. Without one, those rows are reported as not run.
  const newer = newerNode();
  const second = 'error' in newer || newer.same ? undefined : newer;
  /** The Node a row runs on; undefined when it needs a newer one and there is none. */
  const nodeFor = (row: string): { path: string; version: string } | undefined =>
    !onNewerNode(row) ? { path: process.execPath, version: process.version } : 'error' in newer ? undefined : newer;
  const notRun = `not run: needs Node >= ${AI_SDK_7_NODE_MAJOR}${'error' in newer ? ` (${newer.error})` : ''}`;
  const rowsFor = (flavor: Flavor): string[] => {
    const rows: string[] = available(flavor).filter((c) => !options.contenders || options.contenders.includes(c));
    return second && rows.includes('ai-sdk-7') ? [...rows, ...NEWER_NODE_COPIES.filter((c) => rows.includes(c)).map((c) => `${c}${NEWER_NODE}`)] : rows;
  };
  const jobs = options.flavors.flatMap((flavor) => rowsFor(flavor).map((contender) => ({ contender, flavor })));
  const results: ToolsResult[] = [];
  const t0 = performance.now();
  try {
    for (let round = 0; round < options.rounds; round++) {
      // Shuffled every round, so no contender always runs first or after the same one.
      for (const { contender, flavor } of roundOrder(jobs, round)) {
        const config: RunConfig = { baseURL: urls[flavor], shape: options.shape, warmups: options.warmups, loops: options.loops };
        const node = nodeFor(contender);
        if (node === undefined) {
          results.push({ contender, flavor, round, error: notRun });
          continue;
        }
        const who = `${contender} ${flavor}${second && onNewerNode(contender) ? ` (Node ${second.version})` : ''}`;
        const args = ['--import', 'tsx', '--import', here('../anchors/net-guard.mjs'), here('./run-one.ts'), baseOf(contender), flavor, JSON.stringify(config)];
        results.push({ ...(await runChild(args, who, node.path)), contender, flavor, round, node: node.version });
      }
      process.stdout.write(`tools: round ${round + 1}/${options.rounds} done (${((performance.now() - t0) / 1000).toFixed(0)} s)\n`);
    }
  } finally {
    server.kill();
  }
  const network = existsSync(NET_LOG) ? [...new Set(readFileSync(NET_LOG, 'utf8').trim().split('\n').filter(Boolean))] : [];
  const run: ToolsRun = {
    startedAt: startedAt.toISOString(),
    durationS: (performance.now() - t0) / 1000,
    options,
    results,
    network,
    loadAtStart,
    loadAtEnd: os.loadavg(),
    node: process.version,
    newerNode: newer,
  };
  writeFileSync(`${OUT}tools.json`, JSON.stringify(run, null, 2));
  process.stdout.write(`\n${writeToolsReport(run)}\n`);
}
