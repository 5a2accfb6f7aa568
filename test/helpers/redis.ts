/**
 * A real `redis-server` for the Redis hub tests and benchmarks: started on a free loopback port with
 * persistence off (no RDB snapshots, no AOF, no files written), stopped at the end.
 *
 * Without `redis-server` on the PATH the Redis suites are skipped with a loud warning, except in CI
 * (`CI=true`), where a missing server is a failure: a green run must have run them. A server that is
 * there but fails to start is never a skip: the suites start it with `setupOnce`, so each test fails.
 * `.ci/run` installs Debian's `redis-server` package when it is missing.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { Observable, Subject } from 'rxjs';
import type { TokenEvent } from '../../src/events.js';
import { budget, IN_CI } from './budget.js';

/** Whether `redis-server` can be run here. */
export function hasRedisServer(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

/**
 * Whether a Redis suite must be skipped: `true` (with a console warning) when `redis-server` is
 * missing outside CI. In CI a missing server throws, so the test file fails.
 */
export function skipWithoutRedis(suite: string): boolean {
  if (hasRedisServer()) return false;
  if (IN_CI) {
    throw new Error(
      `${suite}: redis-server is missing and CI is set, so the Redis tests cannot be skipped. ` +
        'Install it with `apt-get install -y redis-server` (.ci/run does this).',
    );
  }
  console.warn(
    `\n!!! SKIPPING the Redis tests of "${suite}": redis-server is not on the PATH.\n` +
      '!!! Install Debian\'s redis-server (apt-get install redis-server) to run them; in CI they fail instead.\n',
  );
  return true;
}

/** A running redis-server of this test run. */
export interface RedisServer {
  readonly port: number;
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  /** The server's process id (changes on restart). */
  readonly pid: number;
  /** Kills the server (SIGKILL: like a crash, nothing is saved) and starts a fresh, empty one on the same port. */
  restart(options?: { downMs?: number }): Promise<void>;
  /** Kills the server without restarting it. */
  kill(): Promise<void>;
  /** Stops the server and removes its working directory. */
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1 (the OS picks one; it is released before returning). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * Starts `redis-server` on a free loopback port with persistence off; resolves once it accepts
 * connections. Rejects when the server exits, or when it does not answer within a budget that
 * scales with the machine's load (see budget.ts).
 */
export async function startRedis(): Promise<RedisServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'tokenflow-redis-'));
  let child: ChildProcess | undefined;

  const launch = async (): Promise<void> => {
    const proc = spawn(
      'redis-server',
      [
        '--port', String(port),
        '--bind', '127.0.0.1',
        '--save', '',
        '--appendonly', 'no',
        '--dir', dir,
        '--daemonize', 'no',
        '--loglevel', 'warning',
        '--protected-mode', 'yes',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child = proc;
    let output = '';
    proc.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    proc.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const limitMs = budget(10_000);
    const deadline = Date.now() + limitMs;
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`redis-server exited with ${proc.exitCode}: ${output}`);
      if (await ping(port)) return;
      if (Date.now() > deadline) {
        proc.kill('SIGKILL');
        throw new Error(`redis-server did not accept connections on port ${port} within ${limitMs} ms: ${output}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  const kill = async (): Promise<void> => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGKILL');
    await exited;
  };

  await launch();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get pid() {
      return child?.pid ?? -1;
    },
    restart: async ({ downMs = 0 } = {}) => {
      await kill();
      if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
      await launch();
    },
    kill,
    stop: async () => {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** `PING` over a raw socket: true when the server answers `+PONG`. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let reply = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
    socket.once('connect', () => socket.write('PING\r\n'));
  });
}

/** An upstream driven by the test, recording whether the hub unsubscribed (= aborted the request). */
export function drivenUpstream(): { subject: Subject<TokenEvent>; stream$: Observable<TokenEvent>; cancelled: () => boolean } {
  const subject = new Subject<TokenEvent>();
  let cancelled = false;
  // The subject never completes, so the teardown runs only when the hub unsubscribes.
  const stream$ = new Observable<TokenEvent>((observer) => {
    const sub = subject.subscribe({ next: (e) => observer.next(e) });
    return () => {
      cancelled = true;
      sub.unsubscribe();
    };
  });
  return { subject, stream$, cancelled: () => cancelled };
}

/** A promise and its resolver. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/**
 * Waits until `check` holds, looking every 10 ms (an event-driven wait where nothing emits the
 * event); fails naming `what` after `ms`, a bound a loaded machine stays far inside.
 */
export async function until(check: () => boolean | Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise<void>((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * A fresh redis-server and an admin client on it (for `CONFIG SET`, `CLIENT KILL`, inspecting keys).
 * The admin client ignores its own connection errors: tests kill and restart the server.
 */
export async function startRedisWithAdmin(): Promise<{ server: RedisServer; admin: Redis }> {
  const server = await startRedis();
  const admin = new Redis(server.url);
  admin.on('error', () => {});
  return { server, admin };
}
