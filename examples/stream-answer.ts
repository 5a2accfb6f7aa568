/**
 * Streams one answer to the terminal, then prints what happened.
 *
 *   npx tsx examples/stream-answer.ts
 *
 * Uses Anthropic when ANTHROPIC_API_KEY is set, otherwise the built-in mock provider (no key needed).
 */
import { firstValueFrom, tap } from 'rxjs';
import { collect, type Provider } from 'tokenflow';
import { anthropic } from 'tokenflow/anthropic';
import { startMockProvider } from 'tokenflow/testing';

const mock = process.env.ANTHROPIC_API_KEY
  ? undefined
  : await startMockProvider({ flavor: 'anthropic', profile: 'anthropic', script: { text: 'Rivers carve the stone, patient as the moon is slow; the sea keeps their names.' } });
const llm: Provider = mock ? anthropic({ apiKey: 'mock', baseURL: mock.baseURL }) : anthropic();
console.error(mock ? 'No ANTHROPIC_API_KEY: using the built-in mock provider.' : 'Using Anthropic.');

const answer = await firstValueFrom(
  llm
    .stream({ model: 'claude-sonnet-4-6', maxTokens: 200, messages: [{ role: 'user', content: 'A haiku about rivers.' }] })
    .pipe(
      tap((event) => {
        if (event.type === 'token') process.stdout.write(event.text);
      }),
      collect(),
    ),
);
console.log(`\n\n${answer.usage.outputTokens} tokens${answer.usage.estimated ? ' (estimated)' : ''}, first after ${answer.metrics.ttftMs?.toFixed(0)} ms, stop: ${answer.stopReason}`);
await mock?.close();
