/**
 * Token estimates for providers that report no usage. A coarse rule of thumb (about four
 * characters per token for English under the common BPE vocabularies); results built from it are
 * always marked `estimated: true`.
 */

/** Characters per token assumed by {@link estimateTokens}. */
const CHARS_PER_TOKEN = 4;

/**
 * Estimates the tokens of `chars` characters of text.
 *
 * @param chars - a character count (UTF-16 code units), or the text itself
 * @returns a whole number of tokens, at least 1 for non-empty text
 */
export function estimateTokens(chars: number | string): number {
  const n = typeof chars === 'string' ? chars.length : chars;
  return n <= 0 ? 0 : Math.ceil(n / CHARS_PER_TOKEN);
}
