/** How tokenflow names values and errors in its messages (internal: one home for both). */

/**
 * A short description of a value for an error message: `null`, `an array`, `the string "…"` (cut at
 * `max` characters), `the number 3`, `a function`, `an object`, `boolean true`, `undefined`.
 *
 * @param value - what the user gave
 * @param max - the longest string quoted whole (default 60)
 */
export function describeValue(value: unknown, max = 60): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > max ? `${value.slice(0, max)}…` : value)}`;
  if (typeof value === 'number') return `the number ${value}`;
  if (typeof value === 'function') return 'a function';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`;
}

/**
 * The message of an error, or the string form of anything else thrown. For logs and server-side
 * messages only: never for text sent to a browser (see the SSE error payload).
 */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
