import { defineConfig } from 'tsup';

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    anthropic: 'src/providers/anthropic.ts',
    openai: 'src/providers/openai.ts',
    groq: 'src/providers/groq.ts',
    'openai-compatible': 'src/providers/openai-compatible.ts',
    testing: 'src/testing/index.ts',
  },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  splitting: true,
  treeshake: true,
  // Peer dependencies are never bundled: users bring their own SDK instances.
  external: ['rxjs', '@anthropic-ai/sdk', 'openai', 'groq-sdk'],
});
