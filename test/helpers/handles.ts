/**
 * Leak checks: active handles by kind, and the heap after a full garbage collection.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { budget } from './budget.js';

/** Active handles by kind, e.g. { TCPSocketWrap: 2, Timeout: 1 }. */
export function handles(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) counts[kind] = (counts[kind] ?? 0) + 1;
  return counts;
}

/** The kinds of handle of which there are more now than at the baseline, with their counts. */
export function grown(now: Record<string, number>, baseline: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(now).filter(([kind, n]) => n > (baseline[kind] ?? 0)));
}

/**
 * Waits for handles to fall back to the baseline; returns what is still above it. The mock drops
 * idle keep-alive connections after 1 s, so the wait is up to 5 s on an idle machine, scaled for
 * load (see budget.ts): a busy machine closes them later, and that is not a leak.
 *
 * @param baseline - the counts to return to, from {@link handles}.
 * @param timeoutMs - the wait on an idle machine. @defaultValue 5 000
 * @returns the kinds still above the baseline (`{}` when settled).
 * @example
 * expect(await settleHandles(baseline)).toEqual({});
 */
export async function settleHandles(baseline: Record<string, number>, timeoutMs = 5_000): Promise<Record<string, number>> {
  const deadline = performance.now() + budget(timeoutMs);
  // Closed sockets release their handles over the next turns of the event loop.
  while (Object.keys(grown(handles(), baseline)).length > 0 && performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
  }
  return grown(handles(), baseline);
}

/**
 * A full garbage collection: `global.gc` when node runs with --expose-gc, else one obtained by
 * turning the flag on now; `undefined` when neither works (then heap figures are only indicative).
 */
export function garbageCollector(): (() => void) | undefined {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (typeof existing === 'function') return existing;
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as unknown;
    return typeof gc === 'function' ? (gc as () => void) : undefined;
  } catch {
    return undefined;
  }
}

/** `heapUsed` in bytes after a full collection (twice, so finalizers' garbage goes too), if one is available. */
export async function heapAfterGc(gc: (() => void) | undefined): Promise<number> {
  for (let i = 0; i < 2; i++) {
    gc?.();
    await new Promise((r) => setImmediate(r));
  }
  return process.memoryUsage().heapUsed;
}
