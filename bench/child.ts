/**
 * A benchmark child process: a tsx script with an IPC channel, and a queue of its messages.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';

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
 */
export async function runJsonChild<T extends { error?: string }>(args: string[], env: NodeJS.ProcessEnv, label: string, timeoutMs: number): Promise<T> {
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
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
