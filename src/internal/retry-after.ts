/** `Retry-After` parsing, shared by the provider adapters and the SSE client (internal). */

/**
 * A `Retry-After` header value in milliseconds: delay-seconds (`"3"`, `"1.5"`) or an HTTP date.
 *
 * @param value - the header's value, `null` or `undefined` when absent
 * @param now - the current time (for a date), default `Date.now()`
 * @returns the wait in milliseconds (never negative), or `undefined` when absent or unreadable
 */
export function retryAfterMs(value: string | null | undefined, now: number = Date.now()): number | undefined {
  if (value === null || value === undefined) return undefined;
  const trimmed = value.trim();
  if (trimmed === '') return undefined;
  const seconds = Number(trimmed);
  if (Number.isFinite(seconds)) return seconds >= 0 ? seconds * 1_000 : undefined;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
