/**
 * `tokenflow/client` must load in a browser: the BUILT entry (dist/client.js, dist/client.cjs) and
 * every chunk it imports, followed transitively, may import nothing from Node. Checking the bundle
 * rather than the sources catches a shared chunk that tsup's code splitting pulled Node code into.
 *
 * CI runs `npm run build` before the tests; when dist/client.js is missing, the test builds once.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const dist = join(root, 'dist');
const NODE_BUILTINS: ReadonlySet<string> = new Set(builtinModules.flatMap((name) => [name, name.split('/')[0]!]));
/** Bare packages the client may import (it bundles nothing else: eventsource-parser is a dependency). */
const ALLOWED_PACKAGES: ReadonlySet<string> = new Set(['rxjs', 'eventsource-parser']);

/** Every module specifier in an ESM or CJS file: static and dynamic imports, re-exports, require(). */
function specifiers(code: string): string[] {
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
function closure(entry: string): Map<string, string[]> {
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

describe('the built tokenflow/client bundle', () => {
  beforeAll(() => {
    if (!existsSync(join(dist, 'client.js')) || !existsSync(join(dist, 'client.cjs'))) {
      execFileSync('npx', ['tsup'], { cwd: root, stdio: 'pipe' });
    }
  }, 180_000);

  it('finds import statements the way the check below relies on', () => {
    const sample = `import{a as b}from"./chunk-X.js";import "node:fs";export*from'./y.js';const z=require("http");await import("net")`;
    expect(specifiers(sample).sort()).toEqual(['./chunk-X.js', './y.js', 'http', 'net', 'node:fs'].sort());
  });

  it.each(['client.js', 'client.cjs'])('%s and the chunks it imports use no Node module', (entry) => {
    const modules = closure(join(dist, entry));
    // The client shares the error classes with the core through a chunk: the walk must reach it.
    expect(modules.size).toBeGreaterThan(1);
    const offending: string[] = [];
    for (const [file, bare] of modules) {
      for (const specifier of bare) {
        const isNode = specifier.startsWith('node:') || NODE_BUILTINS.has(specifier) || NODE_BUILTINS.has(specifier.split('/')[0]!);
        const packageName = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!;
        if (isNode || !ALLOWED_PACKAGES.has(packageName)) offending.push(`${file.slice(dist.length + 1)} imports ${specifier}`);
      }
      expect(readFileSync(file, 'utf8')).not.toMatch(/["']node:[a-z_/]+["']/);
    }
    expect(offending).toEqual([]);
    // Sanity: the entry really is the client (it exports fromSSE) and the walk reached something.
    expect(readFileSync(join(dist, entry), 'utf8')).toMatch(/fromSSE/);
  });
});
