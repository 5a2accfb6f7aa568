/**
 * The reliability suite runs bounded in `npm test` and long in `npm run soak`
 * (`TOKENFLOW_SOAK=1`). Each test takes its size from `soakScale()`, and soak runs report figures
 * with `recordFigure()` for docs/reliability.md.
 */
import { appendFileSync, mkdirSync } from 'node:fs';

/** `true` under `npm run soak`. */
export const SOAK = process.env.TOKENFLOW_SOAK === '1';

/** The test's size: `bounded` in `npm test`, `soak` in `npm run soak`. */
export function soakScale(bounded: number, soak: number): number {
  return SOAK ? soak : bounded;
}

/** A test's timeout: `boundedMs` in `npm test`, an hour in `npm run soak`. */
export function soakTimeout(boundedMs: number): number {
  return SOAK ? 3_600_000 : boundedMs;
}

const FIGURES = new URL('../../bench/out/reliability.jsonl', import.meta.url);

/**
 * Appends one measured figure (JSON lines) to bench/out/reliability.jsonl, for docs/reliability.md.
 * Written in every run, so the file also shows what the bounded suite measured.
 */
export function recordFigure(suite: string, name: string, value: unknown): void {
  mkdirSync(new URL('.', FIGURES), { recursive: true });
  appendFileSync(FIGURES, `${JSON.stringify({ at: new Date().toISOString(), soak: SOAK, suite, name, value })}\n`);
}
