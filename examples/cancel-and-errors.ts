/**
 * Unsubscribing aborts the HTTP request; failures carry the partial text. Runs on the mock provider.
 *
 *   npx tsx examples/cancel-and-errors.ts
 */
import { ProviderError, TokenflowError } from 'tokenflow';
import { openai } from 'tokenflow/openai';
import { startMockProvider } from 'tokenflow/testing';

const mock = await startMockProvider({
  flavor: 'openai',
  profile: { ttftMs: 50, tokensPerSecond: 200 },
  script: { text: 'one two three four five six seven eight nine ten' },
  // The second request fails mid-stream with the provider's error event after three tokens.
  faults: (request) => (request.index === 1 ? { errorEventAfter: 3 } : undefined),
});
const llm = openai({ apiKey: 'mock', baseURL: mock.baseURL, maxRetries: 0 });
const request = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'Count to ten.' }] };

// 1. Stop after four tokens: the server sees the connection close.
await new Promise<void>((resolve) => {
  let seen = 0;
  const subscription = llm.stream(request).subscribe((event) => {
    if (event.type === 'token' && ++seen === 4) {
      subscription.unsubscribe();
      resolve();
    }
  });
});
const log = await mock.waitForClose(0);
console.log(`cancelled: the server saw the client close the connection: ${log.closedByClient}`);

// 2. An error event mid-stream: a typed error with the partial text, never a short "success".
await new Promise<void>((resolve) => {
  llm.stream(request).subscribe({
    error: (error: unknown) => {
      if (ProviderError.isInstance(error)) console.log(`provider error (retryable: ${error.retryable}) after "${error.partialText}"`);
      else if (TokenflowError.isInstance(error)) console.log(`${error.name}: ${error.message}`);
      resolve();
    },
    complete: resolve,
  });
});
await mock.close();
