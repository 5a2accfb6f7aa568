/**
 * Type-checks every TypeScript block of README.md, docs/*.md and examples/web/README.md against the
 * built package (`npm run build` first): each block becomes a module in .docs-check/ that imports
 * `tokenflow` by its own name, so the package's `exports` map and its `.d.ts` files are what resolve,
 * as in a user's app.
 *
 * A block that cannot stand alone says so in its info string: ```` ```ts fragment ```` (a piece of a
 * larger program, skipped). A block may use names it does not define (the reader's own functions,
 * like `render`) when an HTML comment right above it declares them:
 *
 *     <!-- declare: declare function render(text: string): void; -->
 *
 * Run with `npm run typecheck:docs`; errors are reported at the Markdown file and line, and the exit
 * code is 1 on any error.
 *
 *     tsx scripts/check-docs.ts [--root <package dir>] [file.md ...]
 *
 * `--root` is the package whose built types the blocks import (default: this repository); the files
 * default to README.md, docs/*.md and examples/web/README.md under the root.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** This repository: the default root, and where the TypeScript compiler is found. */
const repository = join(dirname(fileURLToPath(import.meta.url)), '..');

/** One block to check: where it came from and what it declares. */
export interface DocBlock {
  /** The Markdown file, as shown in error messages. */
  source: string;
  /** The Markdown line of the block's first code line (1-based). */
  line: number;
  language: 'ts' | 'tsx';
  /** Lines taken from a `<!-- declare: ... -->` comment right above the block. */
  preamble: string[];
  code: string[];
}

/** What one Markdown file holds: the blocks to check and how many were marked `fragment`. */
export interface ExtractedBlocks {
  blocks: DocBlock[];
  fragments: number;
}

/** The outcome of a check. */
export interface CheckResult {
  /** tsc's diagnostics, with block files mapped back to `file.md:line:column`. */
  errors: string[];
  /** Blocks checked (fragments excluded). */
  blocks: number;
  /** Markdown files read. */
  files: number;
  fragments: number;
  /** A one-line summary for people. */
  summary: string;
}

const FENCE = /^```(ts|typescript|tsx)(?:\s+(.*))?$/;
const DECLARE_START = /^<!--\s*declare:\s*/;

/** The Markdown files checked by default under `root`. */
export function defaultMarkdownFiles(root: string): string[] {
  const docsDir = join(root, 'docs');
  const docs = existsSync(docsDir)
    ? readdirSync(docsDir)
        .filter((name) => name.endsWith('.md'))
        .sort()
        .map((name) => join('docs', name))
    : [];
  return ['README.md', ...docs, join('examples', 'web', 'README.md')].filter((path) => existsSync(join(root, path)));
}

/**
 * The TypeScript blocks of one Markdown text. `source` names the file in messages.
 */
export function extractBlocks(source: string, markdown: string): ExtractedBlocks {
  const lines = markdown.split(/\r?\n/);
  const blocks: DocBlock[] = [];
  let fragments = 0;
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i]!.trim());
    if (!open) continue;
    const language = open[1] === 'tsx' ? 'tsx' : 'ts';
    const flags = (open[2] ?? '').split(/\s+/);
    const start = i + 1;
    let end = start;
    while (end < lines.length && lines[end]!.trim() !== '```') end++;
    const code = lines.slice(start, end);
    i = end;
    if (flags.includes('fragment')) {
      fragments++;
      continue;
    }
    blocks.push({ source, line: start + 1, language, preamble: declarationsAbove(lines, start - 1), code });
  }
  return { blocks, fragments };
}

/**
 * Declarations for names the block takes from the reader's app, from an HTML comment right above the
 * fence (blank lines between are allowed; the comment may span lines).
 */
function declarationsAbove(lines: readonly string[], fence: number): string[] {
  let last = fence - 1;
  while (last >= 0 && lines[last]!.trim() === '') last--;
  if (last < 0 || !lines[last]!.trim().endsWith('-->')) return [];
  let first = last;
  while (first >= 0 && !lines[first]!.includes('<!--')) first--;
  if (first < 0) return [];
  const comment = lines.slice(first, last + 1).join('\n').trim();
  if (!DECLARE_START.test(comment)) return [];
  return comment.replace(DECLARE_START, '').replace(/\s*-->$/, '').split('\n');
}

/** Every `types` file the package's `exports` (or `types`) names: all must exist before checking. */
function declaredTypeFiles(root: string): string[] {
  const manifestPath = join(root, 'package.json');
  if (!existsSync(manifestPath)) throw new Error(`check-docs: ${manifestPath} is missing: --root must be a package directory.`);
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { name?: unknown; types?: unknown; exports?: unknown };
  if (typeof manifest.name !== 'string') {
    throw new Error(`check-docs: ${manifestPath} has no "name": the blocks import the package by its name.`);
  }
  const found = new Set<string>();
  const walk = (value: unknown, key: string): void => {
    if (typeof value === 'string') {
      if (key === 'types') found.add(value);
    } else if (value !== null && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) walk(v, k);
    }
  };
  walk(manifest.exports, '');
  if (typeof manifest.types === 'string') found.add(manifest.types);
  return [...found];
}

function display(root: string, file: string): string {
  const path = relative(root, file);
  return path.startsWith('..') || isAbsolute(path) ? file : path;
}

/**
 * Extracts the blocks of `files` (paths relative to `root`, or absolute) into `root/.docs-check/` and
 * type-checks them with tsc against the package at `root`, as a user's strict ESM app would.
 *
 * @throws Error when the package's built types are missing: a check against nothing must not pass.
 */
export function checkDocs(options: { root?: string; files?: readonly string[] } = {}): CheckResult {
  const root = resolve(options.root ?? repository);
  const missing = declaredTypeFiles(root).filter((file) => !existsSync(join(root, file)));
  if (missing.length > 0) {
    throw new Error(
      `check-docs: the built types are missing (${missing.join(', ')}): run \`npm run build\` first (the blocks are checked against the built package).`,
    );
  }
  const files = (options.files ?? defaultMarkdownFiles(root)).map((file) => resolve(root, file));
  const out = join(root, '.docs-check');
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });

  const byFile = new Map<string, DocBlock>();
  let fragments = 0;
  for (const file of files) {
    const source = display(root, file);
    const found = extractBlocks(source, readFileSync(file, 'utf8'));
    fragments += found.fragments;
    for (const block of found.blocks) {
      const name = `${source.replace(/[^A-Za-z0-9]+/g, '_')}_L${block.line}.${block.language}`;
      // `export {}` makes each block a module: top-level await works and names do not clash across blocks.
      writeFileSync(join(out, name), [...block.preamble, ...block.code, 'export {};', ''].join('\n'));
      byFile.set(name, block);
    }
  }
  writeFileSync(join(out, 'tsconfig.json'), JSON.stringify(tsconfig(), null, 2));

  // A block file is ESM under nodenext because the package's package.json says "type": "module".
  const tsc = createRequire(join(repository, 'package.json')).resolve('typescript/bin/tsc');
  let output = '';
  let failed = false;
  try {
    execFileSync(process.execPath, [tsc, '-p', join(out, 'tsconfig.json'), '--pretty', 'false'], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (error) {
    const result = error as { stdout?: string; stderr?: string; message?: string };
    failed = true;
    output = `${result.stdout ?? ''}${result.stderr ?? ''}` || String(result.message);
  }
  const prefix = `${relative(root, out).split('\\').join('/')}/`;
  const lines = output.split('\n').filter((line) => line.trim() !== '');
  const errors = lines.map((line) => {
    const match = /^(.+?)\((\d+),(\d+)\): (.*)$/.exec(line);
    const name = match?.[1]?.startsWith(prefix) ? match[1].slice(prefix.length) : undefined;
    const block = name === undefined ? undefined : byFile.get(name);
    if (!match || !block) return line;
    const codeLine = Number(match[2]) - block.preamble.length;
    // An error inside the declare comment points at the comment, not into the block.
    const markdownLine = codeLine >= 1 ? block.line + codeLine - 1 : block.line - 1;
    return `${block.source}:${markdownLine}:${match[3]}: ${match[4]}`;
  });
  // tsc failing with nothing to show (a crash) is still a failure.
  if (failed && errors.length === 0) errors.push('check-docs: tsc failed without diagnostics.');
  const sources = new Set(files).size;
  const count = lines.filter((line) => / error TS\d+:/.test(line)).length || errors.length;
  const checked = `${byFile.size} TypeScript blocks from ${sources} files (${fragments} marked fragment, skipped)`;
  const summary =
    errors.length > 0
      ? `check-docs: ${count} error${count === 1 ? '' : 's'} in ${checked}; each is at its Markdown file and line.`
      : `check-docs: ${checked} type-check against the built package.`;
  return { errors, blocks: byFile.size, files: sources, fragments, summary };
}

/** A user's strict ESM app, importing the package by its name. */
function tsconfig(): object {
  return {
    compilerOptions: {
      target: 'es2022',
      module: 'nodenext',
      moduleResolution: 'nodenext',
      lib: ['es2023', 'dom', 'dom.iterable'],
      types: ['node'],
      jsx: 'react-jsx',
      strict: true,
      noUncheckedIndexedAccess: true,
      exactOptionalPropertyTypes: true,
      skipLibCheck: true,
      noEmit: true,
      // Blocks show a call and let its value go unused; that is not what this check is for.
      noUnusedLocals: false,
    },
    include: ['*.ts', '*.tsx'],
  };
}

/** `[--root <dir>] [file.md ...]`; relative paths are taken from the working directory. */
export function parseArguments(argv: readonly string[]): { root?: string; files?: string[] } {
  const files: string[] = [];
  let root: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--root') {
      const value = argv[++i];
      if (value === undefined) throw new Error('check-docs: --root needs a directory.');
      root = resolve(value);
    } else if (arg.startsWith('--')) {
      throw new Error(`check-docs: unknown option ${arg}; usage: check-docs [--root <dir>] [file.md ...]`);
    } else {
      files.push(resolve(arg));
    }
  }
  return { ...(root === undefined ? {} : { root }), ...(files.length > 0 ? { files } : {}) };
}

function main(): number {
  try {
    const result = checkDocs(parseArguments(process.argv.slice(2)));
    if (result.errors.length > 0) {
      console.error(result.errors.join('\n'));
      console.error(`\n${result.summary}`);
      return 1;
    }
    console.log(result.summary);
    return 0;
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    return 1;
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = main();
}
