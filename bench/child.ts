/**
 * A benchmark child process: a tsx script with an IPC channel, and a queue of its messages.
 */
import { spawn, type ChildProcess } from 'node:child_process';

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
