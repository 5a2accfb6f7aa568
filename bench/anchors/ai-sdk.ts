/**
 * The AI SDK's two majors side by side, for the anchors and tools suites: major 6 under its own
 * names, major 7 under npm aliases (bench/package.json: `ai-v7`, `@ai-sdk/openai-v7`,
 * `@ai-sdk/anthropic-v7`). An aliased package still imports its dependencies by their real names, so
 * the reports also say which `@ai-sdk/provider-utils` each package loads: it must be its own major's
 * (7: 5.x, nested under the alias), not the other major's top-level copy.
 *
 * AI SDK 7 needs Node >= 22. When the bench runs on an older Node, the AI SDK 7 rows run on a newer
 * one (bench/child.ts newerNode()), and so do copies of a few rows, named with the
 * {@link NEWER_NODE} suffix, so that ratios and comparisons stay within one Node.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NewerNode } from '../child.js';

const BENCH = fileURLToPath(new URL('..', import.meta.url));

/** The suffix of a row that repeats another row on the newer Node (`floor:newer-node`). */
export const NEWER_NODE = ':newer-node';

/**
 * Whether a row (a reader, contender, cancellation family or import set, possibly with the
 * {@link NEWER_NODE} suffix) runs on the newer Node: every AI SDK 7 row, and the copies.
 */
export function onNewerNode(row: string): boolean {
  return row.endsWith(NEWER_NODE) || row === 'ai-sdk-7' || row.startsWith('ai 7 ');
}

/** The reader, contender, family or import set a row runs (without the {@link NEWER_NODE} suffix). */
export function baseOf(row: string): string {
  return row.endsWith(NEWER_NODE) ? row.slice(0, -NEWER_NODE.length) : row;
}

/** The AI SDK packages per major: the name the bench imports, and the package it is. */
export const AI_SDK_PACKAGES: Array<{ major: 6 | 7; name: string; is: string }> = [
  { major: 6, name: 'ai', is: 'ai' },
  { major: 6, name: '@ai-sdk/openai', is: '@ai-sdk/openai' },
  { major: 6, name: '@ai-sdk/anthropic', is: '@ai-sdk/anthropic' },
  { major: 7, name: 'ai-v7', is: 'ai' },
  { major: 7, name: '@ai-sdk/openai-v7', is: '@ai-sdk/openai' },
  { major: 7, name: '@ai-sdk/anthropic-v7', is: '@ai-sdk/anthropic' },
];

/**
 * The directory of package `name` as Node resolves it from `from` (a directory): the first
 * node_modules/<name> walking up, the lookup Node does for a bare specifier; undefined if none.
 */
function packageDir(name: string, from: string): string | undefined {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}

const manifestAt = (dir: string) =>
  JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string; dependencies?: Record<string, string> };
const majorOf = (range: string) => /(\d+)\./.exec(range)?.[1];

/**
 * One row per AI SDK package: its name (`ai (AI SDK 7, as ai-v7)`) and its version with the
 * `@ai-sdk/provider-utils` it loads, flagged when that is not the major the package depends on; or
 * "not installed".
 */
export function aiSdkVersions(): Array<[string, string]> {
  return AI_SDK_PACKAGES.map(({ major, name, is }): [string, string] => {
    const label = name === is ? `${is} (AI SDK ${major})` : `${is} (AI SDK ${major}, as ${name})`;
    const dir = packageDir(name, BENCH);
    if (dir === undefined) return [label, 'not installed'];
    const manifest = manifestAt(dir);
    const utilsDir = packageDir('@ai-sdk/provider-utils', dir);
    const utils = utilsDir === undefined ? undefined : manifestAt(utilsDir).version;
    const wanted = manifest.dependencies?.['@ai-sdk/provider-utils'];
    const wrong = wanted !== undefined && (utils === undefined || majorOf(utils) !== majorOf(wanted)) ? `: **not the ${wanted} it depends on**` : '';
    return [label, `${manifest.version} (loads @ai-sdk/provider-utils ${utils ?? 'none'}${wrong})`];
  });
}

/** A report's Node line: the bench's Node, and the newer one the AI SDK 7 rows ran on if another. */
export function nodeLine(node: string | undefined, newer: NewerNode | undefined): string {
  const main = `Node ${node ?? process.version}`;
  if (newer === undefined || 'error' in newer || newer.same) return main;
  return `${main}; Node ${newer.version} for the AI SDK 7 rows and the rows beside them (${newer.source})`;
}

/**
 * A report's sentences on which Node the AI SDK 7 rows ran on and, when it was not the bench's own,
 * which rows ran beside them there (`copies`, in words) and why.
 */
export function newerNodeNote(node: string | undefined, newer: NewerNode | undefined, copies: string): string {
  if (newer === undefined) return '';
  if ('error' in newer) return `AI SDK 7 needs Node >= 22 and this run had none (${newer.error}): its rows say "not run".`;
  if (newer.same) return `Every row ran on Node ${newer.version}, which AI SDK 7 (Node >= 22) runs on.`;
  return `AI SDK 7 needs Node >= 22 and the bench ran on Node ${node ?? process.version}, so the AI SDK 7 rows ran on Node
${newer.version} (${newer.source}), and so did ${copies}: every ratio and difference is against the row of
the same Node, and the Node column says which Node each row ran on (the Node version is itself a variable).`;
}
