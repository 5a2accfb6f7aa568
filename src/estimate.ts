/**
 * Token estimates for providers that report no usage. Counts come from a real BPE tokenizer
 * (`gpt-tokenizer`, the `o200k_base` vocabulary of OpenAI's current models) once it is loaded; it is
 * loaded lazily, the first time an estimate is needed, so importing `tokenflow` stays light. Until then,
 * and for callers that pass only a character count, the estimate is about four characters per token.
 * Results built from these estimates are always marked `estimated: true`: other providers' vocabularies
 * differ, so the count is close, not exact.
 *
 * The work is bounded whatever the text. BPE is super-linear in the length of a run the tokenizer
 * cannot split (one letter repeated, CJK or base64 without spaces: 100k characters of one letter took
 * 6.5 s in one call, and a long enough answer aborted the process), so the tokenizer never receives
 * more than `ESTIMATE_LIMITS.pieceChars` characters at once, cut where its pre-tokenizer splits anyway
 * when it can, and one estimate spends at most `ESTIMATE_LIMITS.workBudget` units of work. A text
 * that fits (about 16k characters of prose) is counted exactly; a longer one is counted on windows
 * spread evenly over it, each window's tokens per character extrapolated over its stretch of the text
 * (within about 2.5% of the exact count on prose and code: bench/estimate.ts compares it with the
 * alternatives).
 */
import { InvalidArgumentError } from './errors.js';
import type { Usage } from './events.js';

/** Characters per token assumed before the tokenizer is loaded (English under common BPE vocabularies). */
const CHARS_PER_TOKEN = 4;

type CountTokens = (text: string) => number;

/**
 * The bounds of one estimate with the tokenizer; see the module comment. Exported for tests and
 * benchmarks, not from the package.
 */
export const ESTIMATE_LIMITS = {
  /** The most characters one tokenizer call receives (a longer unbroken run is cut there). */
  pieceChars: 256,
  /**
   * Work units one estimate may spend. A character costs the length of the run of its class it ends
   * (letters, digits, punctuation, whitespace: BPE is quadratic in such a run) plus an eighth of the
   * characters since the last whitespace (text without spaces, like base64 or hashes, misses the
   * tokenizer's cache of merged words). Prose costs about 4 units a character, so about 16k
   * characters of prose are counted exactly; the budget is 2 to 5 ms of work on any text (see
   * bench/estimate.ts).
   */
  workBudget: 65_536,
  /** At most this many windows sample a long text... */
  windows: 32,
  /** ...each covering at least this many characters. */
  minWindowChars: 1_024,
} as const;

/**
 * Character classes as BPE pre-tokenizers split text: whitespace, digits (runs of up to 3),
 * punctuation, letters. Everything outside ASCII counts as a letter (CJK and emoji runs are the
 * expensive ones), except CJK and full-width punctuation.
 */
function charClass(c: number): number {
  if (c < 0x80) {
    if (c === 0x20 || (c >= 0x09 && c <= 0x0d)) return 0;
    if (c >= 0x30 && c <= 0x39) return 1;
    if ((c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)) return 3;
    return 2;
  }
  return (c >= 0x3000 && c <= 0x303f) || (c >= 0xff00 && c <= 0xff0f) ? 2 : 3;
}

function isSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

/**
 * `true` where the `o200k_base` pre-tokenizer always splits: before a space that follows a
 * non-space (a line break is no such place: punctuation takes the line breaks after it).
 */
function splitsBefore(text: string, q: number): boolean {
  return text.charCodeAt(q) === 0x20 && !isSpace(text.charCodeAt(q - 1));
}

/** Moves a cut back off a surrogate pair's first half, so no piece holds half a character. */
function whole(text: string, from: number, cut: number): number {
  if (cut > from + 1) {
    const c = text.charCodeAt(cut - 1);
    if (c >= 0xd800 && c <= 0xdbff) return cut - 1;
  }
  return cut;
}

/**
 * Where a piece starting at `from` ends, at most at `limit`: at the last place the pre-tokenizer
 * splits anyway (so the pieces count as the whole text would), else a hard cut at `limit`.
 */
function pieceEnd(text: string, from: number, limit: number): number {
  for (let q = limit; q > from + 1; q--) {
    if (splitsBefore(text, q)) return q;
  }
  return whole(text, from, limit);
}

/** Where the window boundary near `at` falls: the next place the pre-tokenizer splits, within a piece, else `at`. */
function windowBoundary(text: string, at: number, max: number): number {
  const limit = Math.min(max, at + ESTIMATE_LIMITS.pieceChars);
  for (let q = at; q < limit; q++) {
    if (splitsBefore(text, q)) return q;
  }
  return whole(text, 0, at);
}

/**
 * Counts tokens with `count` within the bounds of {@link ESTIMATE_LIMITS}: exactly when the whole text
 * fits the work budget, otherwise on evenly spread windows, each extrapolated over its stretch.
 * Exported for tests and benchmarks, which pass a counter that records what it is handed.
 *
 * @param text - a non-empty text
 * @param count - the tokenizer's count of one piece
 * @returns a whole number of tokens, at least 1
 */
export function countTokensBounded(text: string, count: CountTokens): number {
  const n = text.length;
  const { pieceChars, workBudget, windows: maxWindows, minWindowChars } = ESTIMATE_LIMITS;
  const windows = Math.min(maxWindows, Math.max(1, Math.floor(n / minWindowChars)));
  let budget = workBudget;
  let total = 0;
  let start = 0;
  for (let w = 0; w < windows; w++) {
    const end = w === windows - 1 ? n : Math.max(start, windowBoundary(text, Math.floor(((w + 1) * n) / windows), n));
    // A window spends at most its share of what is left, so a cheap one leaves more for the rest.
    const share = budget / (windows - w);
    let pos = start;
    let work = 0;
    let tokens = 0;
    let spent = false;
    while (pos < end && !spent) {
      const limit = Math.min(end, pos + pieceChars);
      const cut = limit < end ? pieceEnd(text, pos, limit) : limit;
      // The work of this piece, character by character (see ESTIMATE_LIMITS.workBudget), up to the window's share.
      let stop = cut;
      let run = 0;
      let sinceSpace = 0;
      let previous = -1;
      for (let i = pos; i < cut; i++) {
        const cls = charClass(text.charCodeAt(i));
        run = cls === previous && !(cls === 1 && run === 3) ? run + 1 : 1;
        sinceSpace = cls === 0 ? 0 : sinceSpace + 1;
        previous = cls;
        const cost = run + (sinceSpace >> 3);
        if (work + cost > share) {
          stop = whole(text, pos, i);
          spent = true;
          break;
        }
        work += cost;
      }
      if (stop > pos) tokens += count(text.slice(pos, stop));
      pos = spent ? stop : cut;
    }
    budget -= work;
    const counted = pos - start;
    // Tokens per character of the part counted, over the whole window (exact when it all fitted).
    total += counted === end - start ? tokens : counted > 0 ? (tokens * (end - start)) / counted : (end - start) / CHARS_PER_TOKEN;
    start = end;
  }
  return Math.max(1, Math.round(total));
}

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
 * Estimates the tokens of a text, or of a number of characters. The work is bounded whatever the text
 * (a few milliseconds at most): a text of up to about 16k characters of prose is counted exactly, a
 * longer or harder one on evenly spread samples (see the module comment), so treat the result as an
 * estimate, as the `estimated: true` it feeds says.
 *
 * @example
 * await loadTokenizer();
 * estimateTokens('Hello, world'); // 3 with the o200k_base vocabulary
 * estimateTokens(400); // 100: a character count always uses the 4-characters rule
 *
 * @param text - the text (counted with the tokenizer once loaded, within the work bound), or a character count
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
    if (counter) return countTokensBounded(text, counter);
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
