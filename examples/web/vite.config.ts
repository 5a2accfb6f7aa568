/**
 * Vite config for the web example. `tokenflow/client` and `tokenflow/react` point at the library's
 * source, so the page reads like an app that installed tokenflow and picks up library edits without
 * a build.
 */
import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = fileURLToPath(new URL('.', import.meta.url));
const repo = fileURLToPath(new URL('../..', import.meta.url));

export default defineConfig({
  root: here,
  // Vite would otherwise look for a .env and a public/ dir next to the page; there are none.
  envDir: false,
  publicDir: false,
  plugins: [react()],
  resolve: {
    alias: {
      'tokenflow/client': `${repo}src/client/index.ts`,
      'tokenflow/react': `${repo}src/react/index.ts`,
    },
  },
  server: {
    // The aliased library source lives outside the page's root.
    fs: { allow: [repo] },
  },
  build: {
    target: 'es2022',
    // Minified (a fifth of the size, so the page starts quickly); the source map keeps it readable.
    sourcemap: true,
    reportCompressedSize: false,
  },
});
