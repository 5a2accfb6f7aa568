/**
 * The Redis hub across servers: three (and, for the grace test, four) `RedisStreamHub` processes
 * (test/redis/hub-process.ts) on one real redis-server, followed over real HTTP. The upstream runs
 * where `publish` was called; every other server follows, resumes, stops, and notices a dead owner
 * or a Redis that lost everything. Every wait is for an event (a process's `ready` or exit, an SSE
 * message, a socket's close); the only clocks are budgets that scale with the machine's load
 * (helpers/budget.ts), so a busy machine makes the suite slower, never red. A hub that fails to
 * start fails every test (never skips it).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startMockProvider, type MockFault, type MockProvider } from '../../src/testing/index.js';
import { budget } from '../helpers/budget.js';
import { skipWithoutRedis, startRedis, type RedisServer } from '../helpers/redis.js';
import { setupOnce } from '../helpers/setup.js';
import { openSSE, tokenText, type ParsedMessage, type SSEConnection } from '../helpers/sse-reader.js';

const SCRIPT = fileURLToPath(new URL('./hub-process.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/**
 * Scaled for load like every budget: a lease is a wall-clock window the owner must renew within, and
 * an unscaled 1 s one lapsed under a loaded full run (load 8 on 2 cores, renewals starved), ending
 * healthy answers with "lost".
 */
const LEASE_MS = budget(1_000);
/** Long enough that only the grace test's own server (D) ever abandons an answer. */
const GRACE_MS = 10_000;
const TOKENS = 80;
/** 80 tokens at 40/s: about 2 s per answer, slow enough to act mid-answer. */
const PROFILE = { ttftMs: 50, tokensPerSecond: 40 };
/**
 * D's grace period: the window in which the grace test's follower must reach B after the publish
 * on D. Scaled for load (a busy machine takes longer to open the follow), and the kept answer
 * lasts at least twice as long, so it is kept past the grace period by the follower alone.
 */
const D_GRACE_MS = budget(1_000);
/** The upstream stops writing after 20 tokens and stays open: only a cancel or a crash closes it. */
const MID_ANSWER: MockFault = { stallAfter: 20 };
const KEPT_TOKENS = Math.max(TOKENS, Math.ceil((2 * D_GRACE_MS * PROFILE.tokensPerSecond) / 1_000));

interface ErrorData {
  name: string;
  message: string;
  /** Left out when the server cannot know the text (Redis lost the channel): clients use their own. */
  partialText?: string;
  reason: string;
}

/** One hub server in its own process. */
class HubProcess {
  readonly #pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  #nextId = 0;
  #ready: Promise<number>;
  port = 0;
  stderr = '';
  readonly exited: Promise<void>;
  readonly proc: ChildProcess;

  constructor(
    readonly name: string,
    args: { url: string; leaseMs: number; graceMs: number },
  ) {
    this.proc = spawn(process.execPath, ['--import', 'tsx', SCRIPT, JSON.stringify(args)], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    this.proc.stdout?.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.proc.stderr?.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.exited = new Promise((resolve) => this.proc.once('exit', () => resolve()));
    // Ready is an event, and so is its failure (the process exits); how long it takes to load on a
    // busy machine is the setup's scaled budget's business, not a clock of its own here.
    this.#ready = new Promise<number>((resolve, reject) => {
      void this.exited.then(() => reject(new Error(`hub ${name} exited before it was ready: ${this.stderr}`)));
      this.proc.on('message', (m: { type: string; port?: number; id?: number; ok?: boolean; result?: unknown; error?: string }) => {
        if (m.type === 'ready') {
          resolve(m.port!);
        } else if (m.type === 'reply') {
          const waiter = this.#pending.get(m.id!);
          this.#pending.delete(m.id!);
          if (m.ok) waiter?.resolve(m.result);
          else waiter?.reject(new Error(`hub ${name}: ${m.error}`));
        }
      });
    });
    void this.exited.then(() => {
      for (const waiter of this.#pending.values()) waiter.reject(new Error(`hub ${name} exited`));
      this.#pending.clear();
    });
  }

  async ready(): Promise<this> {
    this.port = await this.#ready;
    return this;
  }

  get alive(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  request(command: Record<string, unknown>, timeoutMs = budget(10_000)): Promise<unknown> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`hub ${this.name}: no reply to ${JSON.stringify(command)} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, {
        resolve: (value) => (clearTimeout(timer), resolve(value)),
        reject: (error) => (clearTimeout(timer), reject(error)),
      });
      this.proc.send({ id, ...command });
    });
  }

  publish(channel: string, mock: MockProvider): Promise<unknown> {
    return this.request({ cmd: 'publish', channel, mockBaseURL: mock.baseURL });
  }

  url(channel: string, suffix = ''): string {
    return `http://127.0.0.1:${this.port}/streams/${channel}${suffix}`;
  }

  /** Closes the hub politely, or kills the process if it does not answer in time. */
  async shutdown(): Promise<void> {
    if (!this.alive) return;
    await this.request({ cmd: 'close' }, 3_000).catch(() => {});
    const exited = await Promise.race([this.exited.then(() => true), sleep(1_000).then(() => false)]);
    if (!exited && this.alive) {
      this.proc.kill('SIGKILL');
      await this.exited;
    }
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A deterministic answer of `n` words (some multi-byte), the mock's script. */
function words(n: number): string {
  const vocabulary = ['river', ' token', ' stream', ' 東京', ' model', ' 🙂', ' value', ' socket'];
  return Array.from({ length: n }, (_, i) => (i === 0 ? 'Start' : vocabulary[i % vocabulary.length]!)).join('');
}


const tokensOf = (messages: readonly ParsedMessage[]): number => messages.filter((m) => m.event === 'token').length;

function expectDenseIds(messages: readonly ParsedMessage[]): void {
  expect(messages.map((m) => m.id)).toEqual(messages.map((_, i) => String(i)));
}

function lastError(connection: SSEConnection): ErrorData {
  const last = connection.messages[connection.messages.length - 1]!;
  expect(last.event).toBe('error');
  return JSON.parse(last.data) as ErrorData;
}

describe.skipIf(skipWithoutRedis('RedisStreamHub across processes'))('RedisStreamHub across processes', () => {
  let redis: RedisServer | undefined;
  let A: HubProcess;
  let B: HubProcess;
  let C: HubProcess;
  /** A, but with graceMs D_GRACE_MS: the grace test's owner. */
  let D: HubProcess;
  const hubs: HubProcess[] = [];
  const cleanups: Array<() => Promise<void>> = [];

  // Four node processes loading the hub on a machine that may be busy: a budget per process.
  setupOnce(async () => {
    redis = await startRedis();
    const args = { url: redis.url, leaseMs: LEASE_MS, graceMs: GRACE_MS };
    A = new HubProcess('A', args);
    B = new HubProcess('B', args);
    C = new HubProcess('C', args);
    D = new HubProcess('D', { ...args, graceMs: D_GRACE_MS });
    hubs.push(A, B, C, D);
    await Promise.all(hubs.map((hub) => hub.ready()));
  }, 4 * 15_000);

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  afterAll(async () => {
    await Promise.all(hubs.map((hub) => hub.shutdown().catch(() => hub.proc.kill('SIGKILL'))));
    await redis?.stop();
  }, budget(20_000));

  async function newMock(tokens = TOKENS, faults?: MockFault): Promise<{ mock: MockProvider; answer: string }> {
    const answer = words(tokens);
    const mock = await startMockProvider({ flavor: 'openai', script: { text: answer }, profile: PROFILE, ...(faults ? { faults } : {}) });
    cleanups.push(() => mock.close());
    return { mock, answer };
  }

  async function follow(hub: HubProcess, channel: string, lastEventId?: string): Promise<SSEConnection> {
    const connection = await openSSE(hub.url(channel), lastEventId === undefined ? {} : { headers: { 'last-event-id': lastEventId } });
    cleanups.push(() => connection.close());
    expect(connection.status).toBe(200);
    return connection;
  }

  it('a. published on A, followed over SSE on B: the whole answer, ids 0..n, one upstream request', async () => {
    const { mock, answer } = await newMock();
    const channel = randomUUID();
    await A.publish(channel, mock);
    const b = await follow(B, channel);
    expect(await b.ended).toBe('end');
    expectDenseIds(b.messages);
    expect(b.messages[0]!.event).toBe('start');
    expect(b.messages[b.messages.length - 1]!.event).toBe('done');
    expect(tokenText(b.messages)).toBe(answer);
    const response = await mock.waitForClose(0, budget(10_000));
    expect(mock.requests).toHaveLength(1);
    expect(response.finished).toBe(true);
    expect(response.closedByClient).toBe(false);
  });

  it('b. cut on B mid-answer, resumed on C with Last-Event-ID: the same text, no id twice, one upstream request', async () => {
    const { mock, answer } = await newMock();
    const channel = randomUUID();
    await A.publish(channel, mock);
    const b = await follow(B, channel);
    await b.waitFor((m) => tokensOf(m) >= 12);
    await b.close();
    const first = [...b.messages];
    expect(first.some((m) => m.event === 'done')).toBe(false);
    const lastId = first[first.length - 1]!.id!;
    const c = await follow(C, channel, lastId);
    expect(await c.ended).toBe('end');
    expect(Number(c.messages[0]!.id)).toBe(Number(lastId) + 1);
    const all = [...first, ...c.messages];
    expectDenseIds(all);
    expect(new Set(all.map((m) => m.id)).size).toBe(all.length);
    expect(all[all.length - 1]!.event).toBe('done');
    expect(tokenText(all)).toBe(answer);
    expect((await mock.waitForClose(0, budget(10_000))).finished).toBe(true);
    expect(mock.requests).toHaveLength(1);
  });

  it('c. POST stop on B for a channel published on A: 204, the provider socket closes, followers on B and C get "stopped"', async () => {
    // Stalls mid-answer and never ends on its own: the answer is still running when the test acts.
    const { mock, answer } = await newMock(TOKENS, MID_ANSWER);
    const channel = randomUUID();
    await A.publish(channel, mock);
    const followers = [await follow(B, channel), await follow(C, channel)];
    await Promise.all(followers.map((f) => f.waitFor((m) => tokensOf(m) >= 5)));
    const stop = await fetch(B.url(channel, '/stop'), { method: 'POST' });
    expect(stop.status).toBe(204);
    const response = await mock.waitForClose(0, budget(10_000));
    expect(response.closedByClient).toBe(true);
    expect(response.finished).toBe(false);
    const errors: Array<{ id: string | undefined; data: string }> = [];
    for (const f of followers) {
      expect(await f.ended).toBe('end');
      expectDenseIds(f.messages);
      const error = lastError(f);
      expect(error.reason).toBe('stopped');
      expect(error.partialText).toBe(tokenText(f.messages));
      expect(answer.startsWith(error.partialText!)).toBe(true);
      expect(error.partialText!.length).toBeLessThan(answer.length);
      expect(tokensOf(f.messages)).toBeGreaterThanOrEqual(5);
      const last = f.messages[f.messages.length - 1]!;
      errors.push({ id: last.id, data: last.data });
    }
    // Both servers read the same entry from Redis.
    expect(errors[1]).toEqual(errors[0]);
    expect(mock.requests).toHaveLength(1);
    // The channel is finished: stopping it again (from any server) is false, and POST still answers 204.
    expect(await C.request({ cmd: 'stop', channel })).toBe(false);
    expect((await fetch(C.url(channel, '/stop'), { method: 'POST' })).status).toBe(204);
    expect((await fetch(B.url(randomUUID(), '/stop'), { method: 'POST' })).status).toBe(404);
  });

  it('f. CLIENT KILL of every hub connection mid-answer: ioredis reconnects, the follower on B still gets the exact answer', async () => {
    const { mock, answer } = await newMock();
    const channel = randomUUID();
    await A.publish(channel, mock);
    const b = await follow(B, channel);
    await b.waitFor((m) => tokensOf(m) >= 10);
    const admin = new Redis(redis!.url);
    cleanups.push(async () => void admin.disconnect());
    const killed = (await admin.call('CLIENT', 'KILL', 'TYPE', 'normal')) as number;
    // Four hubs with a command and a reader connection each.
    expect(killed).toBeGreaterThanOrEqual(8);
    expect(await b.ended).toBe('end');
    expectDenseIds(b.messages);
    expect(b.messages[b.messages.length - 1]!.event).toBe('done');
    expect(tokenText(b.messages)).toBe(answer);
    expect((await mock.waitForClose(0, budget(10_000))).finished).toBe(true);
    expect(mock.requests).toHaveLength(1);
    // A late follower on C replays the same, complete channel.
    const c = await follow(C, channel);
    expect(await c.ended).toBe('end');
    expect(c.messages).toEqual(b.messages);
  });

  it('g. grace across servers: a follower only on B keeps D\'s upstream past graceMs; with nobody following it is abandoned', async () => {
    // Followed on B only: the answer (twice D's grace period) completes.
    const kept = await newMock(KEPT_TOKENS);
    const channel = randomUUID();
    await D.publish(channel, kept.mock);
    const b = await follow(B, channel);
    expect(await b.ended).toBe('end');
    expect(b.messages[b.messages.length - 1]!.event).toBe('done');
    expect(tokenText(b.messages)).toBe(kept.answer);
    const keptResponse = await kept.mock.waitForClose(0, budget(10_000));
    expect(keptResponse.finished).toBe(true);
    expect(keptResponse.closedByClient).toBe(false);

    // Followed nowhere: abandoned after the grace period. The answer stalls after 10 tokens and
    // never ends on its own, so however slow the machine, only the abandonment can close it.
    const dropped = await newMock(TOKENS, { stallAfter: 10 });
    const lonely = randomUUID();
    await D.publish(lonely, dropped.mock);
    const response = await dropped.mock.waitForClose(0, budget(10_000));
    expect(response.closedByClient).toBe(true);
    expect(response.finished).toBe(false);
    expect(response.tokensWritten).toBeLessThan(TOKENS);
    // Any server replays what was recorded, ending with reason "abandoned".
    const replay = await follow(B, lonely);
    expect(await replay.ended).toBe('end');
    const error = lastError(replay);
    expect(error.reason).toBe('abandoned');
    expect(error.partialText).toBe(tokenText(replay.messages));
    expect(dropped.answer.startsWith(error.partialText!)).toBe(true);
    expectDenseIds(replay.messages);
  });

  it('d. SIGKILL of the owner mid-answer: followers on B and C get "lost" with the text they saw, within a few leases', async () => {
    // Stalls mid-answer and never ends on its own: the answer is still running when the test acts.
    const { mock, answer } = await newMock(TOKENS, MID_ANSWER);
    const channel = randomUUID();
    await A.publish(channel, mock);
    const followers = [await follow(B, channel), await follow(C, channel)];
    await Promise.all(followers.map((f) => f.waitFor((m) => tokensOf(m) >= 8)));
    const killedAt = performance.now();
    process.kill(A.proc.pid!, 'SIGKILL');
    await A.exited;
    // The killed process's socket to the provider is closed by the kernel.
    expect((await mock.waitForClose(0, budget(10_000))).finished).toBe(false);
    const delays: number[] = [];
    for (const f of followers) {
      expect(await f.ended).toBe('end');
      delays.push(Math.round(performance.now() - killedAt));
    }
    console.info(`[cluster d] lost after ${delays.join(' / ')} ms (leaseMs ${LEASE_MS})`);
    const entries: Array<{ id: string | undefined; data: string }> = [];
    for (const f of followers) {
      expectDenseIds(f.messages);
      const error = lastError(f);
      expect(error.reason).toBe('lost');
      expect(error.partialText).toBe(tokenText(f.messages));
      expect(answer.startsWith(error.partialText!)).toBe(true);
      expect(error.partialText!.length).toBeLessThan(answer.length);
      const last = f.messages[f.messages.length - 1]!;
      entries.push({ id: last.id, data: last.data });
    }
    // One error entry, written once to Redis, seen by both servers.
    expect(entries[1]).toEqual(entries[0]);
    // Liveness, not speed: a few leases (LEASE_MS is scaled for load; the figure is logged above).
    expect(Math.max(...delays)).toBeLessThan(4 * LEASE_MS);
    // A late follower gets the same replay.
    const late = await follow(C, channel);
    expect(await late.ended).toBe('end');
    expect(late.messages).toEqual(followers[0]!.messages);
    expect(mock.requests).toHaveLength(1);
  });

  it('e. redis-server restarts (all data gone) mid-answer: the owner cancels the upstream, followers get "lost", then 404', async () => {
    // Stalls mid-answer and never ends on its own: the answer is still running when the test acts.
    const { mock, answer } = await newMock(TOKENS, MID_ANSWER);
    const channel = randomUUID();
    await C.publish(channel, mock);
    const onOwner = await follow(C, channel);
    const b = await follow(B, channel);
    await Promise.all([onOwner, b].map((f) => f.waitFor((m) => tokensOf(m) >= 8)));
    const restartedAt = performance.now();
    await redis!.restart();
    const response = await mock.waitForClose(0, budget(10_000));
    const cancelMs = Math.round(performance.now() - restartedAt);
    expect(response.closedByClient).toBe(true);
    expect(response.finished).toBe(false);
    const delays: number[] = [];
    for (const f of [onOwner, b]) {
      expect(await f.ended).toBe('end');
      delays.push(Math.round(performance.now() - restartedAt));
      const error = lastError(f);
      expect(error.reason).toBe('lost');
      // Redis lost the channel: no server knows what this follower saw, so the field is left out and
      // the browser's fromSSE reports the text it received.
      expect(error.partialText).toBeUndefined();
      expect(tokenText(f.messages)).toBe(answer.slice(0, tokenText(f.messages).length));
      expect(f.messages.slice(0, -1).every((m) => m.id !== undefined)).toBe(true);
      const ids = f.messages.filter((m) => m.id !== undefined);
      expectDenseIds(ids);
    }
    console.info(`[cluster e] upstream cancelled ${cancelMs} ms after the restart; followers (C owner / B) lost after ${delays.join(' / ')} ms`);
    // Liveness, not speed: a few leases (LEASE_MS is scaled for load; the figure is logged above).
    expect(Math.max(...delays)).toBeLessThan(4 * LEASE_MS);
    for (const hub of [B, C]) {
      const res = await fetch(hub.url(channel));
      expect(res.status).toBe(404);
      await res.body?.cancel();
    }
    expect(mock.requests).toHaveLength(1);
  });
});
