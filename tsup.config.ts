import { defineConfig } from 'tsup';

// Peer dependencies are never bundled: users bring their own SDK instances.
const external = ['rxjs', '@anthropic-ai/sdk', 'openai', 'groq-sdk', 'ioredis', 'react', '@opentelemetry/api', /^@ag-ui\//];

export default defineConfig([
  {
    entry: {
      index: 'src/index.ts',
      anthropic: 'src/providers/anthropic.ts',
      openai: 'src/providers/openai.ts',
      groq: 'src/providers/groq.ts',
      'openai-compatible': 'src/providers/openai-compatible.ts',
      testing: 'src/testing/index.ts',
      sse: 'src/sse/index.ts',
      client: 'src/client/index.ts',
      redis: 'src/redis/index.ts',
      react: 'src/react/index.ts',
      otel: 'src/otel/index.ts',
      'ag-ui': 'src/ag-ui/index.ts',
      'ai-sdk': 'src/ai-sdk/index.ts',
    },
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    // Both builds run at once: leave the CLI's files (below) to the CLI build.
    clean: ['!cli.js', '!cli.js.map', '!cli/**'],
    target: 'node20',
    splitting: true,
    treeshake: true,
    external,
  },
  {
    // The `tokenflow` command (package.json `bin`): ESM only, with a shebang, and its own chunks in
    // dist/cli/ so each provider module loads only when chosen.
    entry: { cli: 'src/cli/main.ts' },
    format: ['esm'],
    sourcemap: true,
    // Remove only this build's files (cli.js, cli.js.map, cli/): the ignore pattern keeps every
    // other top-level name, which belongs to the library build running at the same time.
    clean: ['!!(cli|cli.js|cli.js.map)'],
    target: 'node20',
    splitting: true,
    treeshake: true,
    external,
    banner: { js: '#!/usr/bin/env node' },
    esbuildOptions(options) {
      options.chunkNames = 'cli/[name]-[hash]';
    },
  },
]);
