/**
 * Shared setup whose failure fails the tests. In vitest a throwing `beforeAll` reports the tests of
 * its block as skipped, which reads like "nothing to run here"; a failing setup must read as what
 * it is. `setupOnce` runs the setup in `beforeAll`, keeps its error, and rethrows it in each test's
 * `beforeEach`, so every test of the block fails with the setup's message.
 */
import { beforeAll, beforeEach } from 'vitest';
import { budget } from './budget.js';

/** The value a {@link setupOnce} produced. */
export interface Setup<T> {
  /** The setup's value (throws if the setup failed or has not run). */
  (): T;
}

/**
 * Runs `setup` once for the enclosing `describe` block (or file); a failure fails every test of it.
 *
 * @param setup - starts what the tests share (servers, browsers, processes).
 * @param timeoutMs - the setup's budget on an idle machine, scaled with {@link budget}.
 * @returns a function giving the setup's value inside the tests.
 * @defaultValue timeoutMs: 30 000
 * @example
 * const redis = setupOnce(() => startRedis());
 * it('…', async () => { const url = redis().url; … });
 */
export function setupOnce<T>(setup: () => Promise<T> | T, timeoutMs = 30_000): Setup<T> {
  let state: { ok: true; value: T } | { ok: false; error: unknown } | undefined;
  const limitMs = budget(timeoutMs);
  beforeAll(async () => {
    // Our own limit, inside the hook's: a hook that times out would skip the tests again.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const limit = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the setup did not finish within ${limitMs} ms (budget ${timeoutMs} ms, scaled for load)`)), limitMs);
    });
    try {
      state = { ok: true, value: await Promise.race([Promise.resolve().then(setup), limit]) };
    } catch (error) {
      state = { ok: false, error };
    } finally {
      clearTimeout(timer);
    }
  }, limitMs + 10_000);
  beforeEach(() => {
    if (!state) throw new Error('setupOnce(): the setup did not run');
    if (!state.ok) throw state.error;
  });
  return () => {
    if (!state?.ok) throw new Error('setupOnce(): the setup failed or has not run');
    return state.value;
  };
}
