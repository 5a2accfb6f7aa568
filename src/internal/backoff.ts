/** Exponential backoff with jitter, shared by the retry operators and the SSE client (internal). */

/** An exponential backoff: `initialMs * factor ** attempt`, capped at `maxMs`. */
export interface BackoffPolicy {
  initialMs: number;
  factor: number;
  maxMs: number;
  /**
   * Spread the waits so clients that failed together do not retry together: with `true` each wait
   * is drawn uniformly from the upper half of the exponential delay ("equal jitter").
   */
  jitter: boolean;
}

/**
 * The wait before retry `attempt` (0 for the first retry).
 *
 * @param policy - the backoff
 * @param attempt - how many retries came before this one
 * @param random - a source of numbers in [0, 1) (default `Math.random`, replaceable in tests)
 */
export function backoffDelay(policy: BackoffPolicy, attempt: number, random: () => number = Math.random): number {
  const ms = Math.min(policy.maxMs, policy.initialMs * policy.factor ** attempt);
  return policy.jitter ? ms / 2 + random() * (ms / 2) : ms;
}
