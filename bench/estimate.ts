/**
 * `npx tsx bench/estimate.ts`: what a token estimate costs without provider usage, before (the whole
 * text handed to `gpt-tokenizer`'s `o200k_base` `countTokens`, as tokenflow did) and after (the bounded
 * `estimateTokens`), side by side in one run, for 10k, 100k and 1M characters of prose, one letter, CJK
 * without punctuation and random base64. Then how close the bounded estimate is to the exact count on
 * real text, next to the other ways of staying within the same work: the head of the text only, and
 * characters / 4 past the exact part.
 *
 * Both start with the tokenizer's cache of merged chunks empty. Each "before" runs in a worker thread that is stopped after --cap-ms (default 15000): on hostile text
 * the whole-text count takes seconds to minutes (and aborts the process on a long enough answer).
 * Options: --cap-ms N, --rounds N (default 3, each round on fresh text so the tokenizer's cache of
 * merged chunks does not flatter a repeat). "After" shows the fastest round: its work is a few ms, so
 * on a busy machine the slower rounds measure the other processes; "before" shows the median.
 */
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { clearMergeCache, countTokens } from 'gpt-tokenizer/encoding/o200k_base';
import { countTokensBounded, ESTIMATE_LIMITS } from '../src/estimate.js';

const { values } = parseArgs({
  options: { 'cap-ms': { type: 'string', default: '15000' }, rounds: { type: 'string', default: '3' } },
});
const capMs = Number(values['cap-ms']);
const rounds = Number(values.rounds);
const root = join(import.meta.dirname, '..');

let seed = 7;
const random = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
const prose = readdirSync(join(root, 'docs'))
  .filter((f) => f.endsWith('.md'))
  .map((f) => readFileSync(join(root, 'docs', f), 'utf8'))
  .join('\n');
const code = readdirSync(join(root, 'src', 'providers'))
  .filter((f) => f.endsWith('.ts'))
  .map((f) => readFileSync(join(root, 'src', 'providers', f), 'utf8'))
  .join('\n');

/** Text of a kind, `n` characters, different on every call (`round` varies it). */
const kinds: Record<string, (n: number, round: number) => string> = {
  prose: (n, round) => {
    // Rotate the docs so every round starts elsewhere; numbered so no two rounds repeat exactly.
    const start = (round * 7919) % prose.length;
    let text = `${round} `;
    while (text.length < n) text += prose.slice(start) + prose.slice(0, start);
    return text.slice(0, n);
  },
  'one letter': (n, round) => String.fromCharCode(0x61 + (round % 26)).repeat(n - 1) + 'b',
  'CJK, no punctuation': (n) => {
    const codes = new Array<number>(n);
    for (let i = 0; i < n; i++) codes[i] = 0x4e00 + (random() % 20000);
    let text = '';
    for (let i = 0; i < n; i += 8192) text += String.fromCharCode(...codes.slice(i, i + 8192));
    return text;
  },
  base64: (n) => randomBytes(Math.ceil((n * 3) / 4)).toString('base64').slice(0, n),
};

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fastest = (xs: number[]): number => Math.min(...xs);

/** The whole-text count in a worker, stopped after `capMs`; milliseconds, or undefined when stopped. */
async function before(text: string): Promise<number | undefined> {
  const worker = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
     const { countTokens } = require(workerData.module);
     countTokens('warm up');
     const t0 = performance.now();
     countTokens(workerData.text);
     parentPort.postMessage(performance.now() - t0);`,
    { eval: true, workerData: { text, module: createRequire(import.meta.url).resolve('gpt-tokenizer/encoding/o200k_base') } },
  );
  const timer = setTimeout(() => void worker.terminate(), capMs);
  try {
    return await new Promise<number | undefined>((resolve, reject) => {
      worker.once('message', (ms: number) => resolve(ms));
      worker.once('error', reject);
      worker.once('exit', () => resolve(undefined));
    });
  } finally {
    clearTimeout(timer);
    await worker.terminate();
  }
}

/** The bounded estimate here; milliseconds and characters handed to the tokenizer. */
function after(text: string): { ms: number; chars: number } {
  let chars = 0;
  // As cold as the worker's tokenizer in `before`: nothing merged yet.
  clearMergeCache();
  const t0 = performance.now();
  countTokensBounded(text, (piece) => {
    chars += piece.length;
    return countTokens(piece);
  });
  return { ms: performance.now() - t0, chars };
}

// Warm up this thread's tokenizer and JIT on text no measured round uses.
for (const make of Object.values(kinds)) after(make(50_000, 999));

console.log(`Limits: ${JSON.stringify(ESTIMATE_LIMITS)}; ${rounds} rounds; before capped at ${capMs} ms\n`);
console.log('| text | chars | before (ms, median) | after (ms, fastest) | chars tokenized after |');
console.log('| --- | ---: | ---: | ---: | ---: |');
for (const [kind, make] of Object.entries(kinds)) {
  for (const n of [10_000, 100_000, 1_000_000]) {
    const beforeMs: number[] = [];
    const afterMs: number[] = [];
    let chars = 0;
    let stopped = false;
    for (let round = 0; round < rounds; round++) {
      const text = make(n, round);
      const result = after(text);
      afterMs.push(result.ms);
      chars = result.chars;
      // One capped run says enough; the others would each wait out the cap again.
      if (!stopped) {
        const ms = await before(text);
        if (ms === undefined) stopped = true;
        else beforeMs.push(ms);
      }
    }
    const shownBefore = stopped ? `> ${capMs} (stopped)` : median(beforeMs).toFixed(1);
    console.log(`| ${kind} | ${n.toLocaleString('en')} | ${shownBefore} | ${fastest(afterMs).toFixed(2)} | ${chars} |`);
  }
}

// ---- accuracy at the same work bound ----
/** The head of the text only, as many characters as the bounded estimate tokenized, extrapolated. */
function headOnly(text: string, chars: number): number {
  const head = text.slice(0, chars);
  return Math.round((countTokensBounded(head, countTokens) * text.length) / head.length);
}
/** Exact up to the characters the bounded estimate tokenized, then characters / 4. */
function charsPastLimit(text: string, chars: number): number {
  return countTokensBounded(text.slice(0, chars), countTokens) + Math.ceil((text.length - chars) / 4);
}

const japanese = '東京タワーは、東京都港区芝公園にある総合電波塔である。正式名称は日本電波塔。';
const samples: Array<[string, string]> = [
  ['docs, 30k', prose.slice(10_000, 40_000)],
  ['docs, all', prose],
  ['source code', code],
  ['prose + code', prose.slice(0, 60_000) + code.slice(0, 60_000)],
  ['one Japanese sentence x 2000', japanese.repeat(2000)],
];
console.log('\n| text | chars | exact tokens | bounded (error) | head only (error) | chars/4 past the limit (error) |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
const percent = (estimate: number, exact: number): string => `${estimate} (${(((estimate - exact) / exact) * 100).toFixed(2)}%)`;
for (const [label, text] of samples) {
  const exact = countTokens(text);
  const { chars } = after(text);
  const bounded = countTokensBounded(text, countTokens);
  console.log(
    `| ${label} | ${text.length} | ${exact} | ${percent(bounded, exact)} | ${percent(headOnly(text, chars), exact)} | ${percent(charsPastLimit(text, chars), exact)} |`,
  );
}
