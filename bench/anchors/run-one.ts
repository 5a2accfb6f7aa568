/**
 * One measurement in a fresh process: `node --import tsx bench/anchors/run-one.ts <reader|family>
 * <measure> <flavor> '<config json>'`. Prints one JSON line with the figures (or `{ "error" }`).
 *
 * Measures:
 * - `read`: three warm-up answers, then CPU (`process.cpuUsage`, user + system) and wall time of
 *   `reads` answers of `tokens`, the median; RSS after the imports and the process's peak RSS
 *   (`maxRSS`, over all the answers, of the same size);
 * - `ttft`: ten warm-up answers, then `samples` sequential short answers, time from the call to
 *   the first text delta; the median;
 * - `concurrent`: one warm-up, then `concurrency` answers of `concurrentTokens` started at once:
 *   total CPU, wall time, peak RSS, and the p50/p90 of each stream's time to first text;
 * - `cancel` (argument: a library family): for each of its ways of cancelling, after one unmeasured
 *   round of every way, a slow answer cancelled after a few text deltas; asks the mock whether the
 *   response was closed by the client within 2 s, and when.
 */
import { answerChars } from './answer.js';
import { epochMs, loadCancels, loadReader, type FamilyId, type Flavor, type ReaderId } from './libraries.js';

export interface RunConfig {
  control: string;
  endpoints: { instant: string; slow: string };
  tokens: number;
  ttftTokens: number;
  samples: number;
  concurrency: number;
  concurrentTokens: number;
  cancelAfter: number;
  /** Answers read per process in the read measure (after three warm-ups). */
  reads: number;
}

const [library, measure, flavor, configJson] = process.argv.slice(2) as [string, string, Flavor, string];
const config = JSON.parse(configJson) as RunConfig;
const MiB = 1024 * 1024;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}
function check(chars: number, tokens: number): void {
  const expected = answerChars(tokens);
  if (chars !== expected) throw new Error(`${library}/${flavor}: read ${chars} characters, expected ${expected}`);
}
const peakRssMiB = () => (process.resourceUsage().maxRSS * 1024) / MiB;

async function main(): Promise<Record<string, unknown>> {
  if (measure === 'cancel') {
    const cancels = await loadCancels(library as FamilyId, flavor, config.endpoints);
    const ways: Record<string, unknown> = {};
    // One unmeasured cancel per way first: the first abort in a process pays for lazy setup
    // (10-20 ms in undici and the SDKs), which would otherwise land on whichever way runs first.
    for (const cancel of Object.values(cancels)) await cancel(`warm${process.pid}x${Math.random().toString(36).slice(2)}`, config.cancelAfter);
    for (const [way, cancel] of Object.entries(cancels)) {
      const marker = `m${process.pid}x${Math.random().toString(36).slice(2)}`;
      const cancelledAt = await cancel(marker, config.cancelAfter);
      const url = `${config.control}/closed?flavor=${flavor}&marker=${marker}&timeout=2000`;
      const log = (await (await fetch(url)).json()) as { closed: boolean; closedByClient?: boolean; closedAtEpochMs?: number; tokensWritten: number };
      ways[way] = {
        cancelled: cancelledAt > 0,
        closedByClient: log.closed && log.closedByClient === true,
        latencyMs: log.closed && cancelledAt > 0 ? log.closedAtEpochMs! - cancelledAt : null,
        tokensWritten: log.tokensWritten,
      };
    }
    return { ways };
  }

  const reader = await loadReader(library as ReaderId, flavor, config.endpoints);
  const rssAfterImportsMiB = process.memoryUsage.rss() / MiB;

  if (measure === 'read') {
    // process.cpuUsage() counts every thread (GC, background compilation): three warm-ups let the
    // JIT settle, then the median of `reads` reads is this process's figure.
    for (let i = 0; i < 3; i++) check(await reader.read(config.tokens), config.tokens);
    const cpu: number[] = [];
    const wall: number[] = [];
    for (let i = 0; i < config.reads; i++) {
      const before = process.cpuUsage();
      const t0 = performance.now();
      const chars = await reader.read(config.tokens);
      wall.push(performance.now() - t0);
      const used = process.cpuUsage(before);
      check(chars, config.tokens);
      cpu.push((used.user + used.system) / config.tokens);
    }
    return { cpuUsPerToken: median(cpu), wallMs: median(wall), rssAfterImportsMiB, peakRssMiB: peakRssMiB() };
  }

  if (measure === 'ttft') {
    for (let i = 0; i < 10; i++) check(await reader.read(config.ttftTokens), config.ttftTokens);
    const samples: number[] = [];
    for (let i = 0; i < config.samples; i++) {
      let first = Number.NaN;
      const t0 = performance.now();
      check(await reader.read(config.ttftTokens, () => (first = performance.now() - t0)), config.ttftTokens);
      samples.push(first);
    }
    return { ttftMs: median(samples) };
  }

  if (measure === 'concurrent') {
    const n = config.concurrentTokens;
    check(await reader.read(n), n);
    const rssBeforeMiB = process.memoryUsage.rss() / MiB;
    const firsts: number[] = [];
    const before = process.cpuUsage();
    const t0 = performance.now();
    const all = await Promise.all(
      Array.from({ length: config.concurrency }, () => {
        const start = performance.now();
        return reader.read(n, () => firsts.push(performance.now() - start));
      }),
    );
    const wallMs = performance.now() - t0;
    const used = process.cpuUsage(before);
    for (const chars of all) check(chars, n);
    return {
      cpuMs: (used.user + used.system) / 1000,
      wallMs,
      rssBeforeMiB,
      peakRssMiB: peakRssMiB(),
      ttftP50Ms: firsts.length ? median(firsts) : null,
      ttftP90Ms: firsts.length ? quantile(firsts, 0.9) : null,
    };
  }
  throw new Error(`unknown measure ${measure}`);
}

main().then(
  (result) => {
    process.stdout.write(`${JSON.stringify({ library, measure, flavor, startedAt: epochMs(), ...result })}\n`);
    // A cancellation that did not close its request leaves a socket open: do not wait for it.
    process.exit(0);
  },
  (error: unknown) => {
    process.stdout.write(`${JSON.stringify({ library, measure, flavor, error: String((error as Error)?.stack ?? error) })}\n`);
    process.exit(1);
  },
);
