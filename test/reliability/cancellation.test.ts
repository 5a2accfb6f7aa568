/**
 * Cancellation soak: streams over openai and anthropic, each unsubscribed at a random point (once
 * the server has the request but before it answers, while waiting for the first token, or
 * mid-answer). Every one must close its socket at the server; active handles return to the
 * warmed-up baseline; the heap stays flat across the run. Latencies from unsubscribe to the
 * server's close are recorded (bench/out/reliability.jsonl), never asserted; the only clocks are
 * hang guards scaled for load, so a busy machine makes the test slower, never red.
 *
 * 500 streams in `npm test`, 10,000 in `npm run soak`.
 */
import type { Subscription } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { Provider } from '../../src/provider.js';
import { startMockProvider, type MockProvider, type MockResponseLog } from '../../src/testing/index.js';
import { createRandom } from '../../src/testing/random.js';
import { budget } from '../helpers/budget.js';
import { garbageCollector, handles, heapAfterGc, settleHandles } from '../helpers/handles.js';
import { makeAdapter } from '../helpers/mock.js';
import { recordFigure, SOAK, soakScale, soakTimeout } from './soak.js';

const STREAMS = soakScale(500, 10_000);
const BATCHES = 10;
const CONCURRENCY = 20;
const TOKENS = 12;
const SEED = Number(process.env.TOKENFLOW_SEED ?? Math.floor(Math.random() * 2 ** 31));
const TEXT = Array.from({ length: TOKENS }, (_, i) => ` w${i}`);

type Phase = 'before-response' | 'first-token' | 'mid-answer';
const PHASES: readonly Phase[] = ['before-response', 'first-token', 'mid-answer'];

/** One stream's plan, found again at the mock by the id in its message. */
interface Plan {
  id: number;
  phase: Phase;
  /** Tokens to receive before unsubscribing (mid-answer). */
  afterTokens: number;
  /** Extra milliseconds to wait after `start` (first-token). */
  delayMs: number;
  subscription?: Subscription;
  mock?: MockProvider;
  requestIndex?: number;
  unsubscribedAt?: number;
  cancelled: () => void;
  /** Resolves with the mock's log once the server saw the socket close. */
  closed?: Promise<MockResponseLog>;
  failure?: unknown;
}

function quantiles(values: number[]): Record<string, number> {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
  const round = (v: number) => Math.round(v * 1000) / 1000;
  return { count: sorted.length, p50: round(at(0.5)), p90: round(at(0.9)), p99: round(at(0.99)), max: round(sorted.at(-1) ?? Number.NaN) };
}

describe(`cancellation soak: ${STREAMS} streams cancelled at random points (seed ${SEED})`, () => {
  it(
    'every socket closes at the server, handles return to baseline, the heap stays flat',
    async () => {
      const random = createRandom(SEED);
      const plans = new Map<number, Plan>();
      const planOf = (body: { messages?: Array<{ content?: unknown }> }) => plans.get(Number(body?.messages?.[0]?.content));
      const startMock = (flavor: 'openai' | 'anthropic') =>
        startMockProvider({
          flavor,
          // Called when the request arrives, before the response head is written.
          script: (request) => {
            const plan = planOf(request.body);
            if (plan) {
              plan.requestIndex = request.index;
              plan.mock = flavor === 'openai' ? mocks[0] : mocks[1];
              if (plan.phase === 'before-response') cancel(plan);
            }
            return { text: TEXT };
          },
          // The server never finishes on its own: every close must be the client's.
          faults: (request) => ({ stallAfter: planOf(request.body)?.phase === 'first-token' ? 0 : TOKENS - 1 }),
        });
      const mocks: [MockProvider, MockProvider] = [await startMock('openai'), await startMock('anthropic')];
      const llms: [Provider, Provider] = [makeAdapter('openai', mocks[0].baseURL), makeAdapter('anthropic', mocks[1].baseURL)];

      function cancel(plan: Plan): void {
        if (plan.unsubscribedAt !== undefined) return;
        plan.unsubscribedAt = performance.now();
        plan.subscription!.unsubscribe();
        plan.closed = plan.mock!.waitForClose(plan.requestIndex!, budget(10_000));
        plan.cancelled();
      }

      let nextId = 0;
      /** Runs `count` streams, `CONCURRENCY` at a time; resolves once every socket closed. */
      async function cancelMany(count: number): Promise<Plan[]> {
        const done: Plan[] = [];
        const worker = async () => {
          while (done.length < count) {
            const id = nextId++;
            const phase = PHASES[Math.floor(random() * PHASES.length)]!;
            const plan: Plan = {
              id,
              phase,
              afterTokens: 1 + Math.floor(random() * (TOKENS - 2)),
              delayMs: random() < 0.5 ? 0 : random() * 5,
              cancelled: () => undefined,
            };
            done.push(plan);
            plans.set(id, plan);
            const cancelled = new Promise<void>((resolve) => (plan.cancelled = resolve));
            let tokens = 0;
            plan.subscription = llms[id % 2]!.stream({ model: 'm', messages: [{ role: 'user', content: String(id) }] }).subscribe({
              next: (event) => {
                if (phase === 'first-token' && event.type === 'start') {
                  if (plan.delayMs === 0) queueMicrotask(() => cancel(plan));
                  else setTimeout(() => cancel(plan), plan.delayMs);
                } else if (phase === 'mid-answer' && event.type === 'token' && ++tokens === plan.afterTokens) {
                  queueMicrotask(() => cancel(plan));
                }
              },
              error: (error: unknown) => {
                plan.failure = error;
                plan.cancelled();
              },
              complete: () => {
                plan.failure = new Error('completed: the stream should have been cancelled first');
                plan.cancelled();
              },
            });
            await cancelled;
          }
        };
        await Promise.all(Array.from({ length: CONCURRENCY }, worker));
        await Promise.all(done.map((plan) => plan.closed));
        for (const plan of done) plans.delete(plan.id);
        return done;
      }

      const latencies: Record<Phase | 'all', number[]> = { 'before-response': [], 'first-token': [], 'mid-answer': [], all: [] };
      const notClosed: string[] = [];
      const failures: string[] = [];
      /** Checks a batch at the mocks, keeps its latencies, and forgets the mocks' logs. */
      function account(batch: Plan[]): void {
        for (const plan of batch) {
          if (plan.failure !== undefined) {
            failures.push(`stream ${plan.id} (${plan.phase}): ${String(plan.failure)}`);
            continue;
          }
          const log = plan.mock!.responses[plan.requestIndex!]!;
          if (!log.closedByClient || log.finished) notClosed.push(`stream ${plan.id} (${plan.phase}): ${JSON.stringify(log)}`);
          const latency = log.closedAt! - plan.unsubscribedAt!;
          latencies[plan.phase].push(latency);
          latencies.all.push(latency);
        }
        const requests = mocks[0].requests.length + mocks[1].requests.length;
        expect(requests, 'one request per stream, no retries behind our back').toBe(batch.length);
        for (const mock of mocks) mock.reset();
      }

      const gc = garbageCollector();
      try {
        // Warm up at full concurrency: undici keeps an idle connection per concurrent stream in its
        // pool, so the baseline holds those. What must not happen is growth with the number of streams.
        await cancelMany(4 * CONCURRENCY);
        for (const mock of mocks) mock.reset();
        await new Promise((r) => setTimeout(r, 200));
        const baseline = handles();

        const batch = Math.ceil(STREAMS / BATCHES);
        /** heapUsed after each tenth of the run: a leak shows as a steady climb. */
        const heapByTenth: number[] = [];
        let elapsedMs = 0;
        for (let ran = 0; ran < STREAMS; ran += batch) {
          const started = performance.now();
          account(await cancelMany(Math.min(batch, STREAMS - ran)));
          elapsedMs += performance.now() - started;
          heapByTenth.push(await heapAfterGc(gc));
        }
        const heapAfterFirstTenth = heapByTenth[0]!;
        const heapAtEnd = heapByTenth.at(-1)!;
        const leftover = await settleHandles(baseline);

        const mb = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;
        const mbString = (bytes: number) => mb(bytes).toFixed(1);
        recordFigure('cancellation', 'run', { seed: SEED, streams: STREAMS, concurrency: CONCURRENCY, elapsedMs: Math.round(elapsedMs) });
        recordFigure('cancellation', 'latencyMs', Object.fromEntries(Object.entries(latencies).map(([k, v]) => [k, quantiles(v)])));
        recordFigure('cancellation', 'heapMB', {
          afterFirstTenth: mb(heapAfterFirstTenth),
          atEnd: mb(heapAtEnd),
          byTenth: heapByTenth.map(mb),
          gc: gc !== undefined,
        });
        recordFigure('cancellation', 'handlesAboveBaseline', leftover);

        expect(failures).toEqual([]);
        expect(notClosed).toEqual([]);
        expect(latencies.all).toHaveLength(STREAMS);
        expect(leftover).toEqual({});
        // Flat: generous, since the first tenth's figure already includes warmed-up pools and code.
        // Without a collector the figures are noisy, so the bound is wider.
        const bound = gc ? heapAfterFirstTenth * 1.25 + 8 * 2 ** 20 : heapAfterFirstTenth * 2 + 32 * 2 ** 20;
        expect(heapAtEnd, `heap by tenth of the run (MB): ${heapByTenth.map(mbString).join(', ')}`).toBeLessThan(bound);
        if (SOAK) expect(gc, 'the soak measures the heap after full collections').toBeDefined();
      } finally {
        await Promise.all(mocks.map((m) => m.close()));
      }
    },
    // A hang guard, not a speed check: scaled for a loaded machine (see helpers/budget.ts).
    soakTimeout(budget(60_000)),
  );
});
