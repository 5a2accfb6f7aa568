/**
 * The prefix-consistency check shared by the partial-JSON tests (the parser, `toolInputs()`,
 * `partialObject()`): what a partial value may show of a final one.
 */

/**
 * `partial` could still become `final`: strings are prefixes, arrays hold a prefix of the final
 * elements (all equal but the last, which is itself prefix-consistent), objects a subset of the keys
 * with prefix-consistent values, numbers, booleans and null are equal. `undefined` is "no value yet".
 *
 * @param partial - a value shown while the JSON text was incomplete
 * @param final - the value of the complete text
 * @returns whether `partial` shows nothing `final` does not hold
 */
export function isPrefixConsistent(partial: unknown, final: unknown): boolean {
  if (partial === undefined) return true;
  if (typeof partial === 'string') return typeof final === 'string' && final.startsWith(partial);
  if (Array.isArray(partial)) {
    if (!Array.isArray(final) || partial.length > final.length) return false;
    return partial.every((element, i) =>
      i === partial.length - 1 ? isPrefixConsistent(element, final[i]) : JSON.stringify(element) === JSON.stringify(final[i]),
    );
  }
  if (partial !== null && typeof partial === 'object') {
    if (final === null || typeof final !== 'object' || Array.isArray(final)) return false;
    const whole = final as Record<string, unknown>;
    return Object.entries(partial).every(([key, value]) => Object.hasOwn(whole, key) && isPrefixConsistent(value, whole[key]));
  }
  return Object.is(partial, final);
}
