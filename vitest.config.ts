import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { budget } from './test/helpers/budget.js';

// The package's own import names (`tokenflow/sse`, …) resolve to the sources, as tsconfig's `paths`
// say, so examples loaded by tests read like user code.
const { compilerOptions } = JSON.parse(readFileSync(new URL('./tsconfig.json', import.meta.url), 'utf8')) as {
  compilerOptions: { paths: Record<string, [string]> };
};
const alias = Object.entries(compilerOptions.paths).map(([name, [target]]) => ({
  find: new RegExp(`^${name.replace('/', '\\/')}$`),
  replacement: fileURLToPath(new URL(target, import.meta.url)),
}));

export default defineConfig({
  resolve: { alias },
  test: {
    include: ['test/**/*.test.ts'],
    typecheck: { enabled: true, include: ['test/**/*.test-d.ts'], tsconfig: './tsconfig.test.json' },
    // Hang guards, never speed checks: 30 s on an idle machine, longer on a loaded one (the factor
    // comes from the load average when the run starts, or TOKENFLOW_TEST_TIME_SCALE).
    testTimeout: budget(30_000),
    hookTimeout: budget(30_000),
    // Two cores: keep the worker count small so socket-level tests are not starved.
    maxWorkers: 2,
  },
});
