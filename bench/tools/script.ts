/**
 * The three-step tool loop the tools suite runs, known to the mock and to every contender so each
 * run can be checked: step 0 calls `sum` (its arguments a small JSON array of numbers), step 1 calls
 * `upper` (a few words), step 2 answers with a long text. The mock answers a step by the tool
 * results the request carries, and answers a wrong result with text that fails the client's check,
 * so a contender that skips a tool or sends back the wrong output cannot pass.
 */

/** The sizes of the loop's steps. */
export interface LoopShape {
  /** Text deltas of the final answer (step 2). */
  textTokens: number;
  /** Items in each tool call's arguments (numbers for `sum`, words for `upper`); each is one wire fragment. */
  argsTokens: number;
}

export const MODEL = 'bench-tools';
/** Warm-up loops whose CPU a process also reports: how it fares before its code is optimised. */
export const WARMING_LOOPS = 5;
export const PROMPT = 'Add up the numbers, shout the words, then write the long answer.';
export const SUM_ID = 'call_step0';
export const UPPER_ID = 'call_step1';

/** The answer's words: a fixed cycle with one non-ASCII word, so UTF-8 decoding is exercised. */
const WORDS = ['stream', 'token', 'river', 'signal', 'answer', 'quiet', 'model', 'élan', 'socket', 'event', 'green', 'value'];

/** `sum`'s arguments as the wire fragments the mock sends: `{"numbers":[`, `1`, `,2`, …, `]}`. */
export function sumArguments(shape: LoopShape): string[] {
  return ['{"numbers":[', ...Array.from({ length: shape.argsTokens }, (_, i) => (i === 0 ? '1' : `,${i + 1}`)), ']}'];
}

/** What `sum` returns for {@link sumArguments}. */
export function expectedSum(shape: LoopShape): number {
  return (shape.argsTokens * (shape.argsTokens + 1)) / 2;
}

/** The words `upper` is called with. */
export function upperInput(shape: LoopShape): string {
  return Array.from({ length: shape.argsTokens }, (_, i) => WORDS[i % WORDS.length]!).join(' ');
}

/** `upper`'s arguments as wire fragments: `{"text":"`, `stream`, ` token`, …, `"}`. */
export function upperArguments(shape: LoopShape): string[] {
  const words = upperInput(shape).split(' ');
  return ['{"text":"', ...words.map((w, i) => (i === 0 ? w : ` ${w}`)), '"}'];
}

/** The final answer's deltas. */
export function answerDeltas(shape: LoopShape): string[] {
  return Array.from({ length: shape.textTokens }, (_, i) => ` ${WORDS[i % WORDS.length]!}`);
}

/** The final answer's text, what every contender must end with. */
export function answerText(shape: LoopShape): string {
  return answerDeltas(shape).join('');
}

/** Content deltas on the wire over the whole loop (argument fragments and text): the per-token divisor. */
export function deltasPerLoop(shape: LoopShape): number {
  return sumArguments(shape).length + upperArguments(shape).length + shape.textTokens;
}

/** The two trivial synchronous tools, as plain functions every contender wraps its own way. */
export const run = {
  sum: (input: { numbers: number[] }): number => input.numbers.reduce((a, b) => a + b, 0),
  upper: (input: { text: string }): string => input.text.toUpperCase(),
};

/** The tools' JSON Schemas (what every contender sends as the tools' parameters). */
export const schemas = {
  sum: { type: 'object', properties: { numbers: { type: 'array', items: { type: 'number' } } }, required: ['numbers'], additionalProperties: false },
  upper: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'], additionalProperties: false },
} as const;

export const descriptions = {
  sum: 'Adds up a list of numbers.',
  upper: 'Returns the text in upper case.',
};

/**
 * What the mock answers to a request carrying these tool results (in order): a step of the loop, or
 * the reason the results are wrong. Tool output travels as text: a number as its JSON, a string as
 * it is.
 */
export function stepFor(results: ReadonlyArray<{ toolCallId: string; output: string }>, shape: LoopShape): { step: 0 | 1 | 2 } | { wrong: string } {
  if (results.length === 0) return { step: 0 };
  const [first, second] = results;
  if (first!.toolCallId !== SUM_ID || first!.output !== String(expectedSum(shape))) {
    return { wrong: `sum result ${JSON.stringify(first)}, expected ${SUM_ID} → ${expectedSum(shape)}` };
  }
  if (!second) return { step: 1 };
  const upper = upperInput(shape).toUpperCase();
  if (results.length > 2 || second.toolCallId !== UPPER_ID || second.output !== upper) {
    return { wrong: `upper result ${JSON.stringify(second).slice(0, 80)} (of ${results.length} results), expected ${UPPER_ID}` };
  }
  return { step: 2 };
}
