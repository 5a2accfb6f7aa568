/**
 * The answers the anchors mock serves, known to both sides so every reader can be checked: the
 * request's model names the number of tokens (`bench-500`), and the deltas are a fixed cycle of
 * words (one non-ASCII, so UTF-8 decoding is exercised).
 */
const WORDS = [' stream', ' token', ' river', ' signal', ' answer', ' quiet', ' model', ' élan', ' socket', ' event', ' green', ' value'];

/** The model id that asks the anchors mock for an answer of `tokens` deltas. */
export function modelFor(tokens: number): string {
  return `bench-${tokens}`;
}

/** How many deltas a model id asks for (see {@link modelFor}). */
export function tokensOf(model: unknown): number {
  const match = typeof model === 'string' ? /^bench-(\d+)$/.exec(model) : null;
  return match ? Number(match[1]) : 20;
}

/** The answer's deltas. */
export function answerDeltas(tokens: number): string[] {
  return Array.from({ length: tokens }, (_, i) => WORDS[i % WORDS.length]!);
}

/** The answer's length in UTF-16 code units (what `string.length` counts). */
export function answerChars(tokens: number): number {
  let chars = 0;
  for (let i = 0; i < tokens; i++) chars += WORDS[i % WORDS.length]!.length;
  return chars;
}
