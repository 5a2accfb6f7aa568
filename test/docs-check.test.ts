/**
 * scripts/check-docs.ts, the CI check that every TypeScript block of the docs compiles against the
 * built package. It runs here on a small fixture package of its own (a hand-written `.d.ts` stands
 * for dist/), so `npm test` does not depend on a build: the checker's behaviour is what is tested.
 * The repository's own docs are checked by `npm run typecheck:docs` in CI, after `npm run build`;
 * without dist/ that command fails (tested below on the fixture), it never passes by skipping.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkDocs, extractBlocks } from '../scripts/check-docs.js';

const repository = fileURLToPath(new URL('..', import.meta.url));
const script = join(repository, 'scripts', 'check-docs.ts');
// tsc runs in these tests: a hang guard, not a speed check.
const TSC_BUDGET = 180_000;

const GUIDE = [
  '# Guide', //                                                    1
  '', //                                                           2
  '```ts', //                                                      3
  "import { greet } from 'docfixture';", //                        4
  '', //                                                           5
  'const n: number = greet(42);', //                               6: two errors (argument, result)
  '```', //                                                        7
  '', //                                                           8
  '```ts fragment', //                                             9
  'greet(name: string): string // a signature, not a program', // 10
  '```', //                                                        11
  '', //                                                           12
  '<!-- declare: declare const visitor: string; -->', //           13
  '```ts', //                                                      14
  "import { greet } from 'docfixture';", //                        15
  'console.log(greet(visitor));', //                               16
  '```', //                                                        17
  '', //                                                           18
  '```ts', //                                                      19
  "import { greet } from 'docfixture';", //                        20
  "const text: string = greet('Ada');", //                         21
  '```', //                                                        22
  '',
].join('\n');

const GOOD = ['```ts', "import { greet } from 'docfixture';", "greet('Ada');", '```', ''].join('\n');

describe('extractBlocks', () => {
  it('skips a fragment, keeps the declarations above a block, and knows each block’s first line', () => {
    const { blocks, fragments } = extractBlocks('guide.md', GUIDE);
    expect(fragments).toBe(1);
    expect(blocks.map((b) => b.line)).toEqual([4, 15, 20]);
    expect(blocks.map((b) => b.preamble)).toEqual([[], ['declare const visitor: string;'], []]);
  });

  it('reads a declare comment over several lines, and ignores any other comment', () => {
    const markdown = ['<!-- declare: declare const a: string;', '  declare const b: number; -->', '```ts', 'a + b;', '```', '<!-- a note -->', '```tsx', 'a;', '```'].join('\n');
    const { blocks } = extractBlocks('x.md', markdown);
    expect(blocks[0]!.preamble).toEqual(['declare const a: string;', '  declare const b: number;']);
    expect(blocks[1]!.preamble).toEqual([]);
    expect(blocks[1]!.language).toBe('tsx');
  });
});

describe('checkDocs on a fixture package', () => {
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'docs-check-'));
    writeFileSync(
      join(root, 'package.json'),
      JSON.stringify({ name: 'docfixture', type: 'module', exports: { '.': { types: './dist/index.d.ts', default: './dist/index.js' } } }),
    );
    mkdirSync(join(root, 'dist'));
    writeFileSync(join(root, 'dist', 'index.d.ts'), 'export declare function greet(name: string): string;\n');
    // @types/node, which the blocks' tsconfig names, comes from the repository's install.
    symlinkSync(join(repository, 'node_modules'), join(root, 'node_modules'), 'dir');
    writeFileSync(join(root, 'guide.md'), GUIDE);
    writeFileSync(join(root, 'good.md'), GOOD);
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it(
    'reports a wrong block at its Markdown file and line, skips the fragment, honours declare:, passes the correct block',
    () => {
      const result = checkDocs({ root, files: ['guide.md'] });
      expect(result.blocks).toBe(3);
      expect(result.fragments).toBe(1);
      const diagnostics = result.errors.filter((line) => / error TS/.test(line));
      // Both errors of line 6, and nothing from the fragment (line 10), the declared `visitor` (16) or line 21.
      expect(diagnostics).toHaveLength(2);
      for (const line of diagnostics) expect(line).toMatch(/^guide\.md:6:\d+: error TS\d+: /);
      expect(diagnostics.join('\n')).toContain("Argument of type 'number' is not assignable to parameter of type 'string'");
      expect(result.summary).toMatch(/^check-docs: 2 errors in 3 TypeScript blocks from 1 files \(1 marked fragment, skipped\)/);
    },
    TSC_BUDGET,
  );

  it(
    'the command exits 1 with the errors and a summary, and 0 when every block compiles',
    async () => {
      const bad = await command(['--root', root, join(root, 'guide.md')]);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toMatch(/^guide\.md:6:\d+: error TS2345/m);
      expect(bad.stderr).toContain('check-docs: 2 errors in 3 TypeScript blocks');
      const good = await command(['--root', root, join(root, 'good.md')]);
      expect(good.stderr).toBe('');
      expect(good.code).toBe(0);
      expect(good.stdout).toContain('check-docs: 1 TypeScript blocks from 1 files (0 marked fragment, skipped) type-check');
    },
    TSC_BUDGET,
  );

  it('fails loudly when the package is not built', async () => {
    const unbuilt = mkdtempSync(join(tmpdir(), 'docs-check-unbuilt-'));
    try {
      writeFileSync(join(unbuilt, 'package.json'), JSON.stringify({ name: 'docfixture', exports: { '.': { types: './dist/index.d.ts' } } }));
      writeFileSync(join(unbuilt, 'good.md'), GOOD);
      expect(() => checkDocs({ root: unbuilt, files: ['good.md'] })).toThrow(/built types are missing \(\.\/dist\/index\.d\.ts\): run `npm run build` first/);
      const run = await command(['--root', unbuilt, join(unbuilt, 'good.md')]);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain('npm run build');
    } finally {
      rmSync(unbuilt, { recursive: true, force: true });
    }
  });
});

/** Runs the script as CI does (`tsx scripts/check-docs.ts …`). */
function command(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const tsx = join(repository, 'node_modules', 'tsx', 'dist', 'cli.mjs');
  return new Promise((resolve) => {
    execFile(process.execPath, [tsx, script, ...args], { cwd: repository, encoding: 'utf8' }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr });
    });
  });
}
