/**
 * Token estimates for providers that report no usage. Counts come from a real BPE tokenizer
 * (`gpt-tokenizer`, the `o200k_base` vocabulary of OpenAI's current models) when that optional peer
 * package is installed; it is loaded lazily, the first time an estimate is needed, and at run time
 * only (bundlers never see it), so importing `tokenflow` stays light, in a browser bundle too.
 * Without it (the default install: the tokenizer is 30 MB on disk, too much for a serverless
 * bundle), and until it is loaded, a light estimate counts character classes the way
 * BPE pre-tokenizers split text (words by length, digits by three, punctuation runs, CJK about a token
 * a character, emoji two): within 4% of the tokenizer on average over prose, code, wire JSON, CJK and
 * emoji, 28% at worst on short non-Latin texts (measured against `o200k_base`; the `tokenx` package
 * measured 7% and 35% on the same corpus, the four-characters rule 12% and 68%). Results built from
 * these estimates are always marked `estimated: true`: the count is close, not exact.
 *
 * The work is bounded whatever the text. The light estimate is one pass with constant work a character
 * (about 25 ms a megabyte, whatever the text: a megabyte of answer takes minutes to stream). BPE is super-linear in the length of a run the tokenizer
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

/** Characters per token assumed for a bare character count (English under common BPE vocabularies). */
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
  /**
   * At most this many windows sample a long text... More, smaller samples follow a text's structure
   * (Markdown tables, code blocks) better than fewer, larger ones: over ten corpora of this
   * repository (its docs at six revisions, its sources, tests, benches and bench reports) the
   * largest error fell from 5.0% with 64 windows to 2.2% with 128 (mean 1.7% to 0.9%), for up to
   * half again the time on CJK and base64, where each window's first characters cost the most.
   */
  windows: 128,
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

/**
 * The light estimate's weights: tokens per character or run of each class, fitted to `o200k_base`
 * counts on docs, TypeScript sources, the SSE/JSON wire fixtures, Japanese, Chinese, Korean, Russian,
 * German, Greek and emoji text, and checked on sources and texts it was not fitted on (4.2% mean
 * error there).
 */
const LIGHT = {
  /** A word (letters, split at camelCase) of up to this many characters is one token... */
  wordChars: 7,
  /** ...and a longer one a token more per this many characters past them. */
  charsPerExtraToken: 6,
  /** A camelCase boundary splits a word, but the pieces are common ones: half a token less. */
  camelCase: -0.5,
  /** Extra per accented Latin letter (`é`, `ß`): vocabularies hold fewer words with them. */
  accented: 0.6,
  /** Characters per token in a run of punctuation (`});`, `":"` are single tokens). */
  punctuationPerToken: 4,
  /** A run of two or more spaces (indentation; one space rides with the next word). */
  spaceRun: 0.5,
  /** Extra per letter of Greek, Cyrillic, Armenian, Hebrew or Arabic words. */
  alphabet: 0.15,
  /** Per Han ideograph (common two-character words are one token). */
  han: 0.6,
  /** Per kana. */
  kana: 0.75,
  /** Per Hangul syllable. */
  hangul: 0.8,
  /** Per letter of any other script (Devanagari, Thai, …). */
  otherLetter: 0.4,
  /** Per character outside the BMP (emoji: one for the shared UTF-8 prefix, one for the character). */
  astral: 2,
} as const;

// Classes of the light estimate: whitespace kinds, digits, letters by case and script, punctuation.
const SPACE = 0, NEWLINE = 1, TAB = 2, DIGIT = 3, LOWER = 4, UPPER = 5, PUNCT = 6, ACCENTED = 7;
const HAN = 8, KANA = 9, HANGUL = 10, OTHER_LETTER = 11, ASTRAL = 12, JOINER = 13, ALPHABET = 14;

function lightClass(c: number): number {
  if (c < 0x80) {
    if (c === 0x20) return SPACE;
    if (c === 0x0a || c === 0x0d) return NEWLINE;
    if (c === 0x09 || c === 0x0b || c === 0x0c) return TAB;
    if (c >= 0x30 && c <= 0x39) return DIGIT;
    if (c >= 0x61 && c <= 0x7a) return LOWER;
    if (c >= 0x41 && c <= 0x5a) return UPPER;
    return PUNCT;
  }
  if (c <= 0x24f) return c === 0xa0 ? SPACE : c >= 0xc0 && c !== 0xd7 && c !== 0xf7 ? ACCENTED : PUNCT;
  if (c >= 0x370 && c <= 0x6ff) return ALPHABET;
  if ((c >= 0x4e00 && c <= 0x9fff) || (c >= 0x3400 && c <= 0x4dbf) || (c >= 0xf900 && c <= 0xfaff)) return HAN;
  if (c >= 0x3040 && c <= 0x30ff) return KANA;
  if ((c >= 0xac00 && c <= 0xd7af) || (c >= 0x1100 && c <= 0x11ff) || (c >= 0x3130 && c <= 0x318f)) return HANGUL;
  if (c >= 0xd800 && c <= 0xdfff) return ASTRAL;
  if (c === 0x200d || (c >= 0xfe00 && c <= 0xfe0f)) return JOINER;
  if ((c >= 0x2000 && c <= 0x2bff) || (c >= 0x3000 && c <= 0x303f) || (c >= 0xff00 && c <= 0xff0f)) return PUNCT;
  return OTHER_LETTER;
}

const isWordClass = (k: number): boolean => k === LOWER || k === UPPER || k === ACCENTED || k === ALPHABET;
const wordTokens = (length: number): number =>
  length === 0 ? 0 : length <= LIGHT.wordChars ? 1 : 1 + (length - LIGHT.wordChars) / LIGHT.charsPerExtraToken;

/**
 * The light estimate, used when `gpt-tokenizer` is not installed (see the module comment): one pass
 * over the text with constant work a character, so a megabyte of one letter costs what a megabyte of
 * prose does. Exported for tests and benchmarks, not from the package.
 *
 * @param text - a non-empty text
 * @returns a whole number of tokens, at least 1
 */
export function estimateTokensLight(text: string): number {
  let tokens = 0;
  let word = 0;
  let punctuation = 0;
  let spaces = 0;
  let digits = 0;
  let previous = -1;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const k = lightClass(c);
    if (word > 0 && !isWordClass(k)) {
      tokens += wordTokens(word);
      word = 0;
    }
    if (punctuation > 0 && k !== PUNCT) {
      tokens += Math.ceil(punctuation / LIGHT.punctuationPerToken);
      punctuation = 0;
    }
    if (k !== SPACE) {
      if (spaces > 1) tokens += LIGHT.spaceRun;
      spaces = 0;
    }
    if (k !== DIGIT) digits = 0;
    switch (k) {
      case SPACE:
        spaces++;
        break;
      // A run of line breaks is one token, none after punctuation (the pre-tokenizer joins them to it).
      case NEWLINE:
        if (previous !== NEWLINE && previous !== PUNCT) tokens += 1;
        break;
      case TAB:
        if (previous !== TAB) tokens += 1;
        break;
      // Digits go in groups of up to three.
      case DIGIT:
        if (digits++ % 3 === 0) tokens += 1;
        break;
      case UPPER:
        if (previous === LOWER) {
          tokens += wordTokens(word) + LIGHT.camelCase;
          word = 0;
        }
        word++;
        break;
      case LOWER:
        word++;
        break;
      case ACCENTED:
        word++;
        tokens += LIGHT.accented;
        break;
      case ALPHABET:
        word++;
        tokens += LIGHT.alphabet;
        break;
      case PUNCT:
        punctuation++;
        break;
      case HAN:
        tokens += LIGHT.han;
        break;
      case KANA:
        tokens += LIGHT.kana;
        break;
      case HANGUL:
        tokens += LIGHT.hangul;
        break;
      case OTHER_LETTER:
        tokens += LIGHT.otherLetter;
        break;
      // Counted once per pair, on its first half.
      case ASTRAL:
        if (c <= 0xdbff) tokens += LIGHT.astral;
        break;
      default:
        tokens += 1;
    }
    previous = k;
  }
  tokens += wordTokens(word) + Math.ceil(punctuation / LIGHT.punctuationPerToken) + (spaces > 1 ? LIGHT.spaceRun : 0);
  return Math.max(1, Math.round(tokens));
}

type TokenizerModule = { countTokens: (text: string) => number };

/**
 * Imports a module when the code runs, by a specifier no bundler follows: it is a parameter, not a
 * literal (esbuild, Rollup and Rolldown leave such an `import()` as it is), and the comments tell Vite
 * not to warn and webpack to keep it a native `import()`.
 */
const importAtRunTime = (specifier: string): Promise<unknown> => import(/* @vite-ignore */ /* webpackIgnore: true */ specifier);

/**
 * The tokenizer, imported where it runs and never bundled. A literal `import()` here made every bundle
 * of `tokenflow` (a browser app importing `text`, an edge function) either carry the 2.8 MB vocabulary
 * or fail to build where the optional peer is not installed. Node (ESM or CommonJS) resolves it from
 * node_modules at run time; a browser cannot resolve the bare name, so the import fails there and
 * estimates use the light estimate.
 */
const importTokenizer = (): Promise<TokenizerModule> => importAtRunTime('gpt-tokenizer/encoding/o200k_base') as Promise<TokenizerModule>;

let load: () => Promise<TokenizerModule> = importTokenizer;
let counter: CountTokens | undefined;
let loading: Promise<boolean> | undefined;
let settled = false;

/**
 * Forgets the loaded tokenizer and loads it with `loader` next time: the seam tests use to simulate a
 * missing `gpt-tokenizer` without uninstalling it. Not exported from the package.
 *
 * @param loader - what {@link loadTokenizer} imports; the real `gpt-tokenizer` when omitted
 */
export function resetTokenizer(loader: () => Promise<TokenizerModule> = importTokenizer): void {
  load = loader;
  counter = undefined;
  loading = undefined;
  settled = false;
}

/**
 * Loads the tokenizer used by {@link estimateTokens} (about 150 ms and 2.4 MB, once per process), if
 * the optional peer package `gpt-tokenizer` is installed (`npm install gpt-tokenizer`). Stream runs
 * call it themselves before they report an estimated count; call it up front to take the cost at
 * start-up instead of at the end of the first answer without provider usage, or to learn whether
 * estimates will be tokenizer counts.
 *
 * The tokenizer is imported when this runs, never bundled: a browser or edge bundle of `tokenflow`
 * carries none of it (this resolves to `false` there), and a bundled Node server uses it only when
 * `gpt-tokenizer` is in a node_modules it can resolve at run time.
 *
 * @example
 * if (!(await loadTokenizer())) console.warn('token estimates are approximate: npm install gpt-tokenizer');
 *
 * @returns a promise of `true` once estimates use the tokenizer, or `false` when `gpt-tokenizer`
 *   cannot be loaded (not installed): estimates then use the light character-class estimate. It
 *   never rejects, so a missing tokenizer never fails a stream.
 */
export function loadTokenizer(): Promise<boolean> {
  loading ??= load().then(
    (module) => {
      counter = module.countTokens;
      settled = true;
      return true;
    },
    () => {
      settled = true;
      return false;
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
 * (a few milliseconds at most): with `gpt-tokenizer` loaded, a text of up to about 16k characters of
 * prose is counted exactly, a longer or harder one on evenly spread samples; without it, the light
 * estimate (within a few percent on average, see the module comment). Treat the result as an
 * estimate, as the `estimated: true` it feeds says.
 *
 * @example
 * await loadTokenizer();
 * estimateTokens('Hello, world'); // 3 with the o200k_base vocabulary (and with the light estimate)
 * estimateTokens(400); // 100: a character count always uses the 4-characters rule
 *
 * @param text - the text (counted with the tokenizer once loaded, within the work bound, else with
 *   the light estimate), or a character count
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
    return counter ? countTokensBounded(text, counter) : estimateTokensLight(text);
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
