// Cold import time, in a fresh plain `node` process (no tsx, so no loader hooks): the wall time of
// dynamically importing a library's entry points, and the RSS afterwards. tokenflow is imported
// from its build (`dist/`, through the package's own `exports`), as an application would.
// Usage: node bench/anchors/import-one.mjs <set>; prints one JSON line.
export const sets = {
  'eventsource-parser': ['eventsource-parser'],
  openai: ['openai'],
  '@anthropic-ai/sdk': ['@anthropic-ai/sdk'],
  'groq-sdk': ['groq-sdk'],
  'tokenflow + openai': ['tokenflow', 'tokenflow/openai'],
  'tokenflow + anthropic': ['tokenflow', 'tokenflow/anthropic'],
  'ai 6 + @ai-sdk/openai': ['ai', '@ai-sdk/openai'],
  'ai 6 + @ai-sdk/anthropic': ['ai', '@ai-sdk/anthropic'],
  // AI SDK 7 under bench/package.json's npm aliases (it needs Node >= 22: anchors/index.ts runs these on one).
  'ai 7 + @ai-sdk/openai': ['ai-v7', '@ai-sdk/openai-v7'],
  'ai 7 + @ai-sdk/anthropic': ['ai-v7', '@ai-sdk/anthropic-v7'],
  '@langchain/openai': ['@langchain/openai'],
  '@langchain/anthropic': ['@langchain/anthropic'],
};

const name = process.argv[2];
if (name !== undefined) {
  const specifiers = sets[name];
  if (!specifiers) throw new Error(`import-one: unknown set ${name}`);
  const rss0 = process.memoryUsage.rss();
  const t0 = performance.now();
  for (const specifier of specifiers) await import(specifier);
  const importMs = performance.now() - t0;
  const MiB = 1024 * 1024;
  process.stdout.write(`${JSON.stringify({ library: name, measure: 'import', importMs, rssBeforeMiB: rss0 / MiB, rssAfterMiB: process.memoryUsage.rss() / MiB })}\n`);
}
