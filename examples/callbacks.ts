/**
 * The callback bridge for handler-style code: an async `onToken` (a slow sink), strictly in order,
 * with a deadline; then the same answer through `for await`.
 *
 *   npx tsx examples/callbacks.ts
 *
 * Uses Groq when GROQ_API_KEY is set, otherwise the built-in mock provider (no key needed).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { CallbackError, StreamAbortedError, streamWithCallbacks, toAsyncIterable } from 'tokenflow';
import { groq } from 'tokenflow/groq';
import { startMockProvider } from 'tokenflow/testing';

const mock = process.env.GROQ_API_KEY
  ? undefined
  : await startMockProvider({ flavor: 'groq', profile: 'groq', script: { text: 'Callbacks run one at a time, in order, however slow they are.' } });
console.error(mock ? 'No GROQ_API_KEY: using the built-in mock provider.' : 'Using Groq.');
const llm = mock ? groq({ apiKey: 'mock', baseURL: mock.baseURL, maxRetries: 0 }) : groq();
const request = { model: 'llama-3.3-70b-versatile', messages: [{ role: 'user' as const, content: 'Say something about callbacks.' }] };

try {
  const answer = await streamWithCallbacks(llm.stream(request), {
    // A slow sink (a websocket, a database): the next token waits for this one; the HTTP stream does not.
    onToken: async (token) => {
      await sleep(15);
      process.stdout.write(token);
    },
    signal: AbortSignal.timeout(30_000),
  });
  console.log(`\n${answer.usage.outputTokens} tokens (${answer.usage.estimated ? 'estimated' : 'exact'}), stop: ${answer.stopReason}`);
} catch (error) {
  if (CallbackError.isInstance(error)) console.error(`the handler failed: ${String(error.cause)}; had "${error.partialText}"`);
  else if (StreamAbortedError.isInstance(error)) console.error(`too slow; had "${error.partialText}"`);
  else throw error;
}

// The same stream for `for await` code: breaking out cancels the request.
let words = 0;
for await (const event of toAsyncIterable(llm.stream(request))) {
  if (event.type === 'token' && ++words === 3) break;
}
console.log(`stopped after ${words} tokens; the request was cancelled`);
await mock?.close();
