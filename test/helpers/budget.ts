/**
 * Wall-clock budgets for a loaded machine. A budget is never what a test checks: behaviour that is
 * about time runs on virtual time (TestScheduler, fake timers), and everything else waits for an
 * event. A budget only turns a hang into a failure with a message, so it must be long enough that
 * a busy machine (two cores, other work running) never reaches it while the code is progressing.
 *
 * Budgets scale with the machine's load when the run starts (the one-minute load average per core,
 * plus one, capped at 5), or with `TOKENFLOW_TEST_TIME_SCALE` when set (a number ≥ 1).
 */
import { availableParallelism, loadavg } from 'node:os';

/**
 * The factor every budget is multiplied by.
 *
 * @param env - where to read `TOKENFLOW_TEST_TIME_SCALE` from.
 * @returns a number between 1 and 5 (or the variable's value, when it is a number ≥ 1).
 * @defaultValue `1 + load average per core`, capped at 5
 * @example
 * timeScale({ TOKENFLOW_TEST_TIME_SCALE: '3' }); // 3
 */
export function timeScale(env: NodeJS.ProcessEnv = process.env): number {
  const fromEnv = Number(env.TOKENFLOW_TEST_TIME_SCALE);
  if (env.TOKENFLOW_TEST_TIME_SCALE !== undefined && Number.isFinite(fromEnv) && fromEnv >= 1) return fromEnv;
  const perCore = (loadavg()[0] ?? 0) / Math.max(1, availableParallelism());
  return Math.min(5, 1 + Math.max(0, perCore));
}

/** The factor of this run, read once when this module is loaded. */
export const TIME_SCALE = timeScale();

/**
 * A wall-clock budget: `ms` on an idle machine, more on a loaded one.
 *
 * @param ms - what the wait takes at most on an idle machine, with a generous margin.
 * @returns `ms` times {@link TIME_SCALE}, rounded.
 * @example
 * it('runs 500 streams', async () => { … }, budget(30_000));
 */
export function budget(ms: number): number {
  return Math.round(ms * TIME_SCALE);
}

/** `true` when the run is CI (`CI` set to anything but `''`, `0` or `false`): a missing dependency then fails. */
export const IN_CI = ((value) => value !== undefined && value !== '' && value !== '0' && value.toLowerCase() !== 'false')(process.env.CI);
