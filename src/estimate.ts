/**
 * Token estimates for providers that report no usage. Counts come from a real BPE tokenizer
 * (`gpt-tokenizer`, the `o200k_base` vocabulary of OpenAI's current models) once it is loaded; it is
 * loaded lazily, the first time an estimate is needed, so importing `tokenflow` stays light. Until then,
 * and for callers that pass only a character count, the estimate is about four characters per token.
 * Results built from these estimates are always marked `estimated: true`: other providers' vocabularies
 * differ, so the count is close, not exact.
 */
import { InvalidArgumentError } from './errors.js';
import type { Usage } from './events.js';

/** Characters per token assumed before the tokenizer is loaded (English under common BPE vocabularies). */
const CHARS_PER_TOKEN = 4;

type CountTokens = (text: string) => number;

let counter: CountTokens | undefined;
let loading: Promise<void> | undefined;
let settled = false;

/**
 * Loads the tokenizer used by {@link estimateTokens} (about 150 ms and 2.4 MB, once per process). Stream
 * runs call it themselves before they report an estimated count; call it up front to take the cost
 * at start-up instead of at the end of the first answer without provider usage.
 *
 * @returns a promise that resolves once estimates use the tokenizer (it never rejects: if the module
 *   cannot be loaded, estimates stay character-based)
 */
export function loadTokenizer(): Promise<void> {
  loading ??= import('gpt-tokenizer/encoding/o200k_base').then(
    (module) => {
      counter = module.countTokens as CountTokens;
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  return loading;
}

/** `true` once {@link loadTokenizer} has finished (successfully or not). */
export function tokenizerSettled(): boolean {
  return settled;
}

/**
 * Estimates the tokens of a text, or of a number of characters.
 *
 * @example
 * await loadTokenizer();
 * estimateTokens('Hello, world'); // 3 with the o200k_base vocabulary
 * estimateTokens(400); // 100: a character count always uses the 4-characters rule
 *
 * @param text - the text (counted with the tokenizer once loaded), or a character count
 * @returns a whole number of tokens, at least 1 for non-empty text
 * @throws InvalidArgumentError for anything but a string or a finite number
 */
export function estimateTokens(text: number | string): number {
  if (typeof text !== 'string' && (typeof text !== 'number' || !Number.isFinite(text))) {
    throw new InvalidArgumentError(
      'text',
      `estimateTokens() takes a text or a finite character count, got ${typeof text === 'number' ? String(text) : typeof text}.`,
    );
  }
  if (typeof text === 'string') {
    if (text.length === 0) return 0;
    if (counter) return counter(text);
    return Math.ceil(text.length / CHARS_PER_TOKEN);
  }
  return text <= 0 ? 0 : Math.ceil(text / CHARS_PER_TOKEN);
}

/**
 * The usage known part-way through a stream, for errors raised above the adapter (timeouts, the
 * callback bridge): the provider's counts when its `usage` event already arrived, otherwise the
 * output estimated from the text so far (input unknown there: 0), marked `estimated: true`.
 */
export function usageSoFar(partialText: string, reported: Usage | undefined): Usage {
  return reported ?? { inputTokens: 0, outputTokens: estimateTokens(partialText), estimated: true };
}
