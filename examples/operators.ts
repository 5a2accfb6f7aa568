/**
 * The operators on one answer: live text and tokens/s, a first-token timeout with retries, and the
 * final metrics.
 *
 *   npx tsx examples/operators.ts
 *
 * Uses OpenAI when OPENAI_API_KEY is set, otherwise the built-in mock provider (no key needed), which
 * here fails the first request with a 529 to show the retry.
 */
import { lastValueFrom, share, throttleTime } from 'rxjs';
import { deltas, firstTokenTimeout, idleTimeout, metrics, progress, retryBeforeFirstToken, smooth } from 'tokenflow';
import { openai } from 'tokenflow/openai';
import { startMockProvider } from 'tokenflow/testing';

const mock = process.env.OPENAI_API_KEY
  ? undefined
  : await startMockProvider({
      flavor: 'openai',
      profile: 'openai',
      script: { text: 'Operators compose: time out, retry, smooth the text, and measure it, all on one stream.' },
      faults: (request) => (request.index === 0 ? { http: { status: 529 } } : undefined),
    });
console.error(mock ? 'No OPENAI_API_KEY: using the built-in mock provider.' : 'Using OpenAI.');
const llm = mock ? openai({ apiKey: 'mock', baseURL: mock.baseURL, maxRetries: 0 }) : openai();

const answer$ = llm
  .stream({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Explain RxJS operators in one sentence.' }] })
  .pipe(
    firstTokenTimeout(10_000),
    idleTimeout(20_000),
    retryBeforeFirstToken({ maxRetries: 2, backoff: { initialMs: 250 } }),
    smooth({ chunking: 'word', delayMs: 20 }),
    share(),
  );

answer$.pipe(deltas()).subscribe((piece) => process.stdout.write(piece));
// Live figures, at most twice a second (a UI would put them in a status bar).
answer$.pipe(progress(), throttleTime(500)).subscribe((m) => {
  process.stderr.write(` [${m.tokens} tokens, ${m.tokensPerSecond?.toFixed(0) ?? '…'} tokens/s] `);
});
const final = await lastValueFrom(answer$.pipe(metrics()));
console.log(
  `\n\nfirst token after ${final.ttftMs?.toFixed(0)} ms (retries included), ${final.tokensPerSecond?.toFixed(1)} tokens/s, ` +
    `gaps median ${final.interTokenGaps?.medianMs.toFixed(0)} ms / max ${final.interTokenGaps?.maxMs.toFixed(0)} ms`,
);
await mock?.close();
