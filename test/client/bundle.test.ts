/**
 * `tokenflow/client` must load in a browser: the BUILT entry (dist/client.js, dist/client.cjs) and
 * every chunk it imports, followed transitively, may import nothing from Node. Checking the bundle
 * rather than the sources catches a shared chunk that tsup's code splitting pulled Node code into.
 *
 * CI runs `npm run build` before the tests; when dist/client.js is missing, the test builds once.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { closure, NODE_BUILTINS, specifiers } from '../helpers/bundle-graph.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const dist = join(root, 'dist');
/** Bare packages the client may import (it bundles nothing else: eventsource-parser is a dependency). */
const ALLOWED_PACKAGES: ReadonlySet<string> = new Set(['rxjs', 'eventsource-parser']);

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
