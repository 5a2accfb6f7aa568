/**
 * An Agent in a two-turn conversation: context for one message, streamed tokens, and history that
 * carries the first answer into the follow-up.
 *
 *   npx tsx examples/agent.ts
 *
 * Uses Anthropic when ANTHROPIC_API_KEY is set, otherwise the built-in mock provider (no key needed),
 * which answers by quoting what it was sent so the history is visible.
 */
import { Agent, Conversation } from 'tokenflow';
import { anthropic } from 'tokenflow/anthropic';
import { startMockProvider } from 'tokenflow/testing';

const mock = process.env.ANTHROPIC_API_KEY
  ? undefined
  : await startMockProvider({
      flavor: 'anthropic',
      profile: 'anthropic',
      script: (request) => ({ text: `(mock) I was sent ${request.body.messages.length} message(s); the system prompt has ${String(request.body.system).length} characters.` }),
    });
console.error(mock ? 'No ANTHROPIC_API_KEY: using the built-in mock provider.' : 'Using Anthropic.');

const agent = new Agent({
  provider: mock ? anthropic({ apiKey: 'mock', baseURL: mock.baseURL, maxRetries: 0 }) : anthropic(),
  model: 'claude-sonnet-4-6',
  systemPrompt: 'You are a concise travel assistant.',
  maxTokens: 300,
});
const conversation = new Conversation({ maxTurns: 10 });

const first = await agent.processMessageStreaming('Suggest one museum to visit.', {
  history: conversation,
  context: { city: 'Lisbon', date: '2026-11-25', interests: ['tiles', 'history'] },
  onToken: (token) => process.stdout.write(token),
});
console.log(`\n[${first.metrics.ttftMs?.toFixed(0)} ms to first token]\n`);

// The follow-up sends the first question and answer too.
const second = await agent.processMessage('How long should I plan for it?', { history: conversation });
console.log(second.content);
console.log(`\nhistory now holds ${(await conversation.all()).length} messages`);
await mock?.close();
