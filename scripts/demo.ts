/**
 * `npm run demo`: streams one answer token by token to the terminal.
 *
 * With ANTHROPIC_API_KEY, OPENAI_API_KEY or GROQ_API_KEY set it asks the real provider; without
 * a key it starts the built-in mock provider (tokenflow/testing) with a realistic latency profile.
 */
import type { Provider } from '../src/index.js';
import { collect } from '../src/index.js';
import { finalize, tap } from 'rxjs';

const PROMPT = 'In three short paragraphs, explain why streaming tokens makes a chat UI feel faster.';

interface Choice {
  provider: Provider;
  model: string;
  label: string;
  close?: () => Promise<void>;
}

async function choose(): Promise<Choice> {
  if (process.env.ANTHROPIC_API_KEY) {
    const { anthropic } = await import('../src/providers/anthropic.js');
    return { provider: anthropic(), model: 'claude-sonnet-4-5', label: 'Anthropic (ANTHROPIC_API_KEY is set)' };
  }
  if (process.env.OPENAI_API_KEY) {
    const { openai } = await import('../src/providers/openai.js');
    return { provider: openai(), model: 'gpt-4o-mini', label: 'OpenAI (OPENAI_API_KEY is set)' };
  }
  if (process.env.GROQ_API_KEY) {
    const { groq } = await import('../src/providers/groq.js');
    return { provider: groq(), model: 'llama-3.3-70b-versatile', label: 'Groq (GROQ_API_KEY is set)' };
  }
  const { startMockProvider } = await import('../src/testing/index.js');
  const { openai } = await import('../src/providers/openai.js');
  const mock = await startMockProvider({ flavor: 'openai', profile: 'openai', script: { text: MOCK_ANSWER } });
  return {
    provider: openai({ apiKey: 'mock', baseURL: mock.baseURL, maxRetries: 0 }),
    model: 'gpt-4o-mini',
    label: 'the built-in mock provider (no API key set: set ANTHROPIC_API_KEY, OPENAI_API_KEY or GROQ_API_KEY for a real one)',
    close: () => mock.close(),
  };
}

const MOCK_ANSWER =
  'Streaming shows the first words within a second, while the rest of the answer is still being written. ' +
  'People judge speed by the first sign of life, not by the last word.\n\n' +
  'A chat that waits for the whole answer feels frozen for the full generation time; a streamed one feels ' +
  'like someone typing, so the same total time reads as responsive.\n\n' +
  'Streaming also lets a user stop an answer that is going the wrong way, which saves time and tokens: ' +
  'with tokenflow, unsubscribing aborts the request at the socket.';

const choice = await choose();
process.stderr.write(`Streaming from ${choice.label}.\n\n`);
const subscription = choice.provider
  .stream({ model: choice.model, messages: [{ role: 'user', content: PROMPT }] })
  .pipe(
    tap((event) => {
      if (event.type === 'token') process.stdout.write(event.text);
    }),
    collect(),
    finalize(() => void choice.close?.()),
  )
  .subscribe({
    next: (answer) => {
      const m = answer.metrics;
      const usage = answer.usage;
      process.stderr.write(
        `\n\n${answer.content.length} chars, ${usage.outputTokens} tokens (${usage.estimated ? 'estimated' : 'exact'}), ` +
          `first token after ${Math.round(m.ttftMs ?? 0)} ms, ${(m.elapsedMs / 1000).toFixed(2)} s in all` +
          (m.tokensPerSecond ? `, ${m.tokensPerSecond.toFixed(1)} tokens/s` : '') +
          `, stop: ${answer.stopReason}.\n`,
      );
    },
    error: (error: unknown) => {
      process.stderr.write(`\nError: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  });
process.once('SIGINT', () => {
  subscription.unsubscribe(); // aborts the HTTP request; finalize closes the mock
  process.stderr.write('\nCancelled.\n');
  process.exitCode = 130;
});
