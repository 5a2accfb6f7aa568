/**
 * An Agent that uses a tool: the model asks for the weather, the loop runs the tool, and the model
 * answers with its result, all as one stream of events.
 *
 *   npx tsx examples/tools.ts
 *
 * Uses Anthropic when ANTHROPIC_API_KEY is set, otherwise the built-in mock provider (no key needed),
 * scripted to call the tool first and then answer with what the tool returned.
 */
import { Agent, collect, tool, toolInputs } from 'tokenflow';
import { anthropic } from 'tokenflow/anthropic';
import { startMockProvider } from 'tokenflow/testing';
import { connectable, lastValueFrom, tap } from 'rxjs';

const mock = process.env.ANTHROPIC_API_KEY
  ? undefined
  : await startMockProvider({
      flavor: 'anthropic',
      profile: 'anthropic',
      // Step 0: call the tool. Step 1: answer with the tool result the request carried back.
      script: (request) =>
        request.index === 0
          ? { text: 'Let me check.', toolCalls: [{ id: 'toolu_1', name: 'weather', arguments: ['{"ci', 'ty":"Lis', 'bon"}'] }] }
          : { text: `(mock) The tool said: ${JSON.stringify(request.toolResults[0]?.output)}.` },
    });
console.error(mock ? 'No ANTHROPIC_API_KEY: using the built-in mock provider.' : 'Using Anthropic.');

// A plain JSON Schema; a zod, valibot or arktype schema works too (see docs/tools.md).
const weather = tool({
  description: 'The current weather in a city.',
  inputSchema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  execute: async (input, { signal }) => {
    const { city } = input as { city: string };
    signal.throwIfAborted(); // a real tool passes `signal` to fetch(), so unsubscribing cancels it
    return { city, celsius: 17, sky: 'clear' };
  },
});

const agent = new Agent({
  provider: mock ? anthropic({ apiKey: 'mock', baseURL: mock.baseURL, maxRetries: 0 }) : anthropic(),
  model: 'claude-sonnet-4-6',
  maxTokens: 300,
});

// One request, two views of it: both subscribe to the connectable stream before `connect()` sends it,
// so neither misses the first events.
const events$ = connectable(agent.stream('Should I take a jacket in Lisbon today?', { tools: { weather }, maxSteps: 3 }));

// The tool's input as the model writes it, so a page could fill in a form: {} → {"city":"Lis"} → done.
events$.pipe(toolInputs()).subscribe((update) => {
  if (update.type === 'tool-input' && update.input !== undefined) {
    console.log(`\n[${update.name} input${update.done ? '' : ' so far'}: ${JSON.stringify(update.input)}]`);
  }
});

const answer$ = lastValueFrom(
  events$.pipe(
    tap((event) => {
      if (event.type === 'step-start') console.log(`\n[step ${event.step}]`);
      else if (event.type === 'token') process.stdout.write(event.text);
      else if (event.type === 'tool-result') console.log(`\n[${event.name} → ${JSON.stringify(event.output)} in ${event.durationMs.toFixed(0)} ms]`);
    }),
    collect(),
  ),
);
events$.connect();
const answer = await answer$;
console.log(`\n\n${answer.steps?.length ?? 1} steps, ${answer.usage.inputTokens} input and ${answer.usage.outputTokens} output tokens in all.`);
await mock?.close();
