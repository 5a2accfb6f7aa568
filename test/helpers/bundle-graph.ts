/**
 * Reads a built bundle's module graph, for the tests that check what a browser entry may import
 * (test/client/bundle.test.ts, test/browser/react.test.ts).
 */
import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, resolve } from 'node:path';

/** Node's built-in modules, by full name and by first segment (`fs`, `fs/promises`, `node:fs` is checked by prefix). */
export const NODE_BUILTINS: ReadonlySet<string> = new Set(builtinModules.flatMap((name) => [name, name.split('/')[0]!]));

/** Every module specifier in an ESM or CJS file: static and dynamic imports, re-exports, require(). */
export function specifiers(code: string): string[] {
  const found: string[] = [];
  const patterns = [
    /\bimport\s*(?:[\w*{}\s,$]+\s*from\s*)?["']([^"']+)["']/g,
    /\bexport\s*(?:\*|\{[^}]*\})\s*from\s*["']([^"']+)["']/g,
    /\bimport\s*\(\s*["']([^"']+)["']\s*\)/g,
    /\brequire\s*\(\s*["']([^"']+)["']\s*\)/g,
  ];
  for (const pattern of patterns) for (const match of code.matchAll(pattern)) found.push(match[1]!);
  return found;
}

/** The entry and every relative module it reaches, with the bare specifiers each imports. */
export function closure(entry: string): Map<string, string[]> {
  const seen = new Map<string, string[]>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    const all = specifiers(readFileSync(file, 'utf8'));
    seen.set(file, all.filter((s) => !s.startsWith('.')));
    for (const relative of all.filter((s) => s.startsWith('.'))) visit(resolve(dirname(file), relative));
  };
  visit(entry);
  return seen;
}
