/**
 * The package as a new user installs it (issue 16, items 1-3): fresh ESM and CommonJS apps with
 * the built package in node_modules/tokenflow and only ONE provider SDK next to it. Checked: the
 * present SDK's entry point streams from the mock provider; an absent SDK's entry point imports
 * fine and its first request fails with a `MissingDependencyError` naming the package and
 * `npm install <pkg>`; `tokenflow demo` streams with no key and whichever one SDK is there; and
 * `tsc` resolves every entry point's types under node10 (`"module": "commonjs"`) and node16.
 *
 * The package is built once, into a temporary directory (never the repository's dist/, which other
 * tests read), and copied (not linked) into each app: Node resolves a symlink to its real path, and
 * the optional SDKs must be looked up from the app's node_modules as they are in a real install.
 * Its dependencies, rxjs and the one SDK are linked from the repository's node_modules; nothing is
 * downloaded, and the mock provider listens on 127.0.0.1. Nothing here measures time.
 */
import { execFile, execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
const ANSWER_START = 'Streaming shows the first words';

type Sdk = '@anthropic-ai/sdk' | 'openai' | 'groq-sdk';
type Kind = 'module' | 'commonjs';

let work: string;
let built: string;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], cwd: string, extraEnv: Record<string, string> = {}): Promise<Run> {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(
      ([key]) => !key.endsWith('_API_KEY') && !key.startsWith('TOKENFLOW_') && key !== 'DEBUG' && !key.startsWith('NODE_') && !key.startsWith('VITEST'),
    ),
  );
  return new Promise((done) => {
    execFile(file, args, { cwd, env: { ...env, TOKENFLOW_DEMO_PROFILE: 'instant', ...extraEnv } }, (error, stdout, stderr) => {
      done({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

function link(app: string, name: string): void {
  const target = join(app, 'node_modules', name);
  mkdirSync(dirname(target), { recursive: true });
  symlinkSync(join(root, 'node_modules', name), target, 'dir');
}

/** A fresh app: the built package copied in, its dependencies, rxjs and `sdks` linked. */
function makeApp(name: string, kind: Kind, sdks: readonly string[]): string {
  const app = join(work, name);
  mkdirSync(join(app, 'node_modules'), { recursive: true });
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name, private: true, type: kind }));
  cpSync(built, join(app, 'node_modules', 'tokenflow'), { recursive: true });
  for (const dep of [...Object.keys(pkg.dependencies), 'rxjs', ...sdks]) link(app, dep);
  return app;
}

/**
 * The script each app runs: streams through the present SDK's adapter, then tries every other
 * entry point. `load` is `import()` in the ESM app and `require()` in the CommonJS one, so each
 * resolves the package's `import` or `require` conditions.
 */
const SCRIPT_BODY = `
async function main(load) {
  const { startMockProvider } = await load('tokenflow/testing');
  const { collect, MissingDependencyError } = await load('tokenflow');
  const { firstValueFrom } = await load('rxjs');
  const request = { model: 'm', messages: [{ role: 'user', content: 'Hi' }] };
  const flavor = process.argv[2];
  const mock = await startMockProvider({ flavor, script: { text: 'Hello from the mock' } });
  const adapters = {
    'tokenflow/anthropic': async () => (await load('tokenflow/anthropic')).anthropic({ apiKey: 'k', baseURL: mock.baseURL, maxRetries: 0 }),
    'tokenflow/openai': async () => (await load('tokenflow/openai')).openai({ apiKey: 'k', baseURL: mock.baseURL, maxRetries: 0 }),
    'tokenflow/groq': async () => (await load('tokenflow/groq')).groq({ apiKey: 'k', baseURL: mock.baseURL, maxRetries: 0 }),
    'tokenflow/openai-compatible': async () => (await load('tokenflow/openai-compatible')).openaiCompatible({ baseURL: mock.baseURL, maxRetries: 0 }),
  };
  const results = {};
  for (const [entry, make] of Object.entries(adapters)) {
    try {
      const provider = await make();
      const answer = await firstValueFrom(provider.stream(request).pipe(collect()));
      results[entry] = { text: answer.content };
    } catch (error) {
      results[entry] = { error: error.name, message: error.message, missing: MissingDependencyError.isInstance(error) ? error.packageName : undefined };
    }
  }
  try {
    const { RedisStreamHub } = await load('tokenflow/redis');
    new RedisStreamHub({ redis: 'redis://127.0.0.1:1' });
    results['tokenflow/redis'] = { text: 'constructed' };
  } catch (error) {
    results['tokenflow/redis'] = { error: error.name, message: error.message, missing: MissingDependencyError.isInstance(error) ? error.packageName : undefined };
  }
  // The protocol subpaths map a stream with no protocol package installed (AG-UI's encoder is
  // loaded only to serve a response; the AI SDK is never loaded).
  const { toArray } = await load('rxjs');
  const provider = await adapters[\`tokenflow/\${flavor === 'anthropic' ? 'anthropic' : 'openai'}\`]();
  for (const [entry, pipe] of [
    ['tokenflow/ag-ui', async () => (await load('tokenflow/ag-ui')).toAGUI({ threadId: 't', runId: 'r' })],
    ['tokenflow/ai-sdk', async () => (await load('tokenflow/ai-sdk')).toUIMessageStream()],
  ]) {
    try {
      const out = await firstValueFrom(provider.stream(request).pipe(await pipe(), toArray()));
      results[entry] = { types: out.map((event) => event.type) };
    } catch (error) {
      results[entry] = { error: error.name, message: error.message };
    }
  }
  await mock.close();
  process.stdout.write(JSON.stringify(results));
}
`;

const SCRIPTS: Record<Kind, string> = {
  module: `${SCRIPT_BODY}\nawait main((id) => import(id));\n`,
  commonjs: `${SCRIPT_BODY}\nmain(async (id) => require(id)).catch((error) => { console.error(error); process.exit(1); });\n`,
};

/** Each SDK's entry points, and the mock flavor its adapter speaks. */
const ENTRIES: Record<Sdk, { entries: string[]; flavor: string }> = {
  '@anthropic-ai/sdk': { entries: ['tokenflow/anthropic'], flavor: 'anthropic' },
  openai: { entries: ['tokenflow/openai', 'tokenflow/openai-compatible'], flavor: 'openai' },
  'groq-sdk': { entries: ['tokenflow/groq'], flavor: 'groq' },
};

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'tokenflow-package-'));
  built = join(work, 'tokenflow');
  mkdirSync(built);
  // One build per run, into the temporary package directory; a failing build fails every test.
  execFileSync(process.execPath, [join(root, 'node_modules/tsup/dist/cli-default.js'), '--out-dir', join(built, 'dist')], {
    cwd: root,
    stdio: 'pipe',
  });
  cpSync(join(root, 'package.json'), join(built, 'package.json'));
  // The apps must not find an SDK above the temporary directory.
  for (let dir = work; dir !== dirname(dir); dir = dirname(dir)) expect(existsSync(join(dir, 'node_modules'))).toBe(false);
}, 600_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe.each([
  ['module', 'openai'],
  ['commonjs', 'openai'],
  ['module', '@anthropic-ai/sdk'],
  ['commonjs', '@anthropic-ai/sdk'],
] as Array<[Kind, Sdk]>)('a %s app with only %s installed', (kind, sdk) => {
  it('streams through that SDK; every other SDK entry point names its package and npm install', async () => {
    const app = makeApp(`${kind}-${sdk.replace(/\W/g, '')}`, kind, [sdk]);
    writeFileSync(join(app, 'main.js'), SCRIPTS[kind]);
    const { code, stdout, stderr } = await run(process.execPath, ['main.js', ENTRIES[sdk].flavor], app);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const results = JSON.parse(stdout) as Record<string, { text?: string; error?: string; message?: string; missing?: string }>;
    for (const [other, { entries }] of Object.entries(ENTRIES) as Array<[Sdk, { entries: string[] }]>) {
      for (const entry of entries) {
        if (other === sdk) {
          // openai-compatible streams from the openai-flavored mock too.
          expect(results[entry], entry).toEqual({ text: 'Hello from the mock' });
        } else {
          expect(results[entry]?.error, entry).toBe('MissingDependencyError');
          expect(results[entry]?.missing, entry).toBe(other);
          expect(results[entry]?.message, entry).toContain(entry);
          expect(results[entry]?.message, entry).toContain(`npm install ${other}`);
        }
      }
    }
    expect(results['tokenflow/redis']?.error).toBe('MissingDependencyError');
    expect(results['tokenflow/redis']?.message).toContain('npm install ioredis');
    const types = (entry: string) => (results[entry] as { types?: string[] } | undefined)?.types;
    expect([...new Set(types('tokenflow/ag-ui'))]).toEqual(['RUN_STARTED', 'TEXT_MESSAGE_START', 'TEXT_MESSAGE_CONTENT', 'TEXT_MESSAGE_END', 'RUN_FINISHED']);
    expect(types('tokenflow/ai-sdk')?.[0]).toBe('start');
    expect(types('tokenflow/ai-sdk')).toContain('text-delta');
    expect(types('tokenflow/ai-sdk')?.at(-1)).toBe('finish');
  }, 120_000);

  it('`tokenflow demo` streams the mock answer with no API key', async () => {
    const app = makeApp(`demo-${kind}-${sdk.replace(/\W/g, '')}`, kind, [sdk]);
    const { code, stdout, stderr } = await run(process.execPath, ['node_modules/tokenflow/dist/cli.js', 'demo'], app);
    expect(stderr).toContain(`through ${sdk}`);
    expect(code).toBe(0);
    expect(stdout.startsWith(ANSWER_START)).toBe(true);
    expect(stdout).toContain('aborts the request at the socket.');
  }, 120_000);
});

it('`tokenflow demo` without any provider SDK says what to install, in one line', async () => {
  const app = makeApp('demo-none', 'module', []);
  const { code, stdout, stderr } = await run(process.execPath, ['node_modules/tokenflow/dist/cli.js', 'demo'], app);
  expect(code).toBe(2);
  expect(stdout).toBe('');
  expect(stderr.trim().split('\n')).toHaveLength(1);
  expect(stderr).toContain('npm install @anthropic-ai/sdk');
  expect(stderr).not.toContain('--provider');
}, 120_000);

it('`tokenflow demo` with a key whose SDK is missing names the variable and the install command', async () => {
  const app = makeApp('demo-key-without-sdk', 'module', ['@anthropic-ai/sdk']);
  const { code, stdout, stderr } = await run(process.execPath, ['node_modules/tokenflow/dist/cli.js', 'demo'], app, { OPENAI_API_KEY: 'sk-test' });
  expect(code).toBe(2);
  expect(stdout).toBe('');
  expect(stderr.trim().split('\n')).toHaveLength(1);
  expect(stderr).toContain('OPENAI_API_KEY is set');
  expect(stderr).toContain('npm install openai');
}, 120_000);

const TYPES_SOURCE = `import { collect, type Provider } from 'tokenflow';
import { anthropic } from 'tokenflow/anthropic';
import { openai } from 'tokenflow/openai';
import { groq } from 'tokenflow/groq';
import { openaiCompatible } from 'tokenflow/openai-compatible';
import { startMockProvider } from 'tokenflow/testing';
import { toSSE } from 'tokenflow/sse';
import { fromSSE } from 'tokenflow/client';
import { RedisStreamHub } from 'tokenflow/redis';
import { useTokenStream } from 'tokenflow/react';
import { traced } from 'tokenflow/otel';
import { toAGUI } from 'tokenflow/ag-ui';
import { toUIMessageStream } from 'tokenflow/ai-sdk';

export const providers: Provider[] = [anthropic(), openai(), groq(), openaiCompatible({ baseURL: 'http://127.0.0.1:1/v1' })];
export const used = [collect, startMockProvider, toSSE, fromSSE, RedisStreamHub, useTokenStream, traced, toAGUI, toUIMessageStream];
// @ts-expect-error the types are real, not \`any\`: openai() takes an options object
openai(42);
`;

describe('types of every entry point', () => {
  it.each([
    ['node10 ("module": "commonjs", no moduleResolution)', { module: 'commonjs' }, ['index.ts']],
    ['node16 (CommonJS and ESM files)', { module: 'node16' }, ['index.ts', 'index.mts']],
  ] as Array<[string, Record<string, string>, string[]]>)('resolve under %s', async (label, options, files) => {
    const app = makeApp(`types-${options.module}`, 'commonjs', ['@anthropic-ai/sdk', 'openai', 'groq-sdk', 'ioredis', 'react', '@types/react']);
    for (const file of files) writeFileSync(join(app, file), TYPES_SOURCE);
    const compilerOptions = { ...options, target: 'ES2022', lib: ['ES2022', 'DOM'], strict: true, skipLibCheck: true, noEmit: true, types: [] };
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({ compilerOptions, files }));
    const { code, stdout } = await run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], app);
    expect(stdout, label).toBe('');
    expect(code).toBe(0);
  }, 120_000);
});
