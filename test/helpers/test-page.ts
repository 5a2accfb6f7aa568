/**
 * What the Chromium tests share around their pages: building a test page with Vite (development
 * mode, so React's development checks and StrictMode run) into a temporary directory, and the
 * cleanups of one test, run in reverse order when it finishes.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'vitest';

/** A built page: its directory, and how to remove it. */
export interface BuiltPage {
  dir: string;
  remove(): Promise<void>;
}

/**
 * Builds the page in `root` (its index.html) with Vite into a fresh temporary directory.
 *
 * @param alias - module aliases (the package's own names to its sources)
 * @param ignoreWarnings - Rolldown warning codes that are expected from the page's dependencies
 */
export async function buildTestPage(root: string, options: { alias?: Array<{ find: RegExp; replacement: string }>; ignoreWarnings?: readonly string[] } = {}): Promise<BuiltPage> {
  const tmp = await mkdtemp(join(tmpdir(), 'tokenflow-page-'));
  const dir = join(tmp, 'dist');
  const ignored = new Set(options.ignoreWarnings ?? []);
  const { build } = await import('vite');
  await build({
    root,
    configFile: false,
    envDir: false,
    publicDir: false,
    logLevel: 'warn',
    mode: 'development',
    define: { 'process.env.NODE_ENV': JSON.stringify('development') },
    ...(options.alias ? { resolve: { alias: options.alias } } : {}),
    build: {
      outDir: dir,
      emptyOutDir: true,
      target: 'es2022',
      minify: false,
      reportCompressedSize: false,
      rolldownOptions: {
        onwarn(warning, warn) {
          if (warning.code === undefined || !ignored.has(warning.code)) warn(warning);
        },
      },
    },
  });
  return { dir, remove: () => rm(tmp, { recursive: true, force: true }) };
}

/**
 * The cleanups of one test: push to the returned list; when the test finishes they run in reverse
 * order (pages before the servers they hold connections to), every one of them, and the first
 * failure fails the test.
 */
export function testCleanups(onTestFinished: TestContext['onTestFinished']): Array<() => Promise<unknown>> {
  const cleanups: Array<() => Promise<unknown>> = [];
  onTestFinished(async () => {
    const failures: unknown[] = [];
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch((error: unknown) => failures.push(error));
    if (failures.length > 0) throw failures[0];
  });
  return cleanups;
}
