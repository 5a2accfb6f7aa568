/**
 * The tools suite's contenders: each runs the same three-step loop (script.ts) against the mock, with
 * the same two synchronous tools, and resolves to the final answer's text. Each takes the `fetch` to
 * use, so the dispatch measure can time every request and body the same way. Libraries are imported
 * only when asked for, so a child process loads nothing but the one it measures; every client has
 * retries off.
 */
import { descriptions, MODEL, PROMPT, run, schemas } from './script.js';

export type Flavor = 'openai' | 'anthropic';
export type ContenderId = 'floor' | 'floor-again' | 'sdk-floor' | 'sdk' | 'tokenflow-events' | 'tokenflow-collect' | 'ai-sdk' | 'ai-sdk-7';
/** `ai-sdk` is the AI SDK's major 6, `ai-sdk-7` its major 7 (which needs Node >= 22: see tools/index.ts). */
export const CONTENDERS: ContenderId[] = ['floor', 'floor-again', 'sdk-floor', 'sdk', 'tokenflow-events', 'tokenflow-collect', 'ai-sdk', 'ai-sdk-7'];

/** One contender, ready to run loops. */
export interface Loop {
  /** Runs the whole loop once; resolves to the final answer's text. */
  run(): Promise<string>;
}

const API_KEY = 'mock';
/** The most model requests any contender makes: the loop needs three; more means it never finished. */
const MAX_STEPS = 5;

/** tokenflow as users run it: its build (the suite builds it first), as in the anchors suite. */
function fromBuild(file: string): string {
  return new URL(`../../dist/${file}`, import.meta.url).href;
}

/** Runs a tool by name on its JSON arguments; the result as the text the model is sent. */
function runTool(name: string, input: unknown): string {
  const output = name === 'sum' ? run.sum(input as { numbers: number[] }) : name === 'upper' ? run.upper(input as { text: string }) : undefined;
  if (output === undefined) throw new Error(`the model called an unknown tool ${name}`);
  return typeof output === 'string' ? output : JSON.stringify(output);
}

const openaiTools = (['sum', 'upper'] as const).map((name) => ({
  type: 'function' as const,
  function: { name, description: descriptions[name], parameters: schemas[name] as unknown as Record<string, unknown> },
}));
const anthropicTools = (['sum', 'upper'] as const).map((name) => ({
  name,
  description: descriptions[name],
  input_schema: schemas[name] as unknown as { type: 'object'; [key: string]: unknown },
}));

/** A call being assembled from deltas. */
interface Call {
  id: string;
  name: string;
  arguments: string;
}

/**
 * Accumulates one Chat Completions step from its chunks (the floor's parsed JSON or the SDK's typed
 * chunks: the same shape). Returns nothing; the caller reads `text`, `calls`.
 */
class ChatStep {
  text = '';
  calls: Call[] = [];
  push(chunk: any): void {
    const choice = chunk.choices?.[0];
    if (!choice) return;
    const delta = choice.delta;
    if (delta?.content) this.text += delta.content;
    if (delta?.tool_calls) {
      for (const tc of delta.tool_calls) {
        const call = (this.calls[tc.index] ??= { id: '', name: '', arguments: '' });
        if (tc.id) call.id = tc.id;
        if (tc.function?.name) call.name = tc.function.name;
        if (tc.function?.arguments) call.arguments += tc.function.arguments;
      }
    }
  }
  /** Appends the assistant turn and the tool results to `messages`; false when the step was the answer. */
  followUp(messages: any[]): boolean {
    if (this.calls.length === 0) return false;
    messages.push({
      role: 'assistant',
      content: this.text || null,
      tool_calls: this.calls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } })),
    });
    for (const c of this.calls) messages.push({ role: 'tool', tool_call_id: c.id, content: runTool(c.name, JSON.parse(c.arguments || '{}')) });
    return true;
  }
}

/** The same for one Anthropic Messages step, from its raw stream events. */
class MessagesStep {
  text = '';
  blocks: Array<Call | undefined> = [];
  done = false;
  push(event: any): void {
    switch (event.type) {
      case 'content_block_start':
        if (event.content_block?.type === 'tool_use') this.blocks[event.index] = { id: event.content_block.id, name: event.content_block.name, arguments: '' };
        break;
      case 'content_block_delta':
        if (event.delta?.type === 'text_delta') this.text += event.delta.text;
        else if (event.delta?.type === 'input_json_delta') this.blocks[event.index]!.arguments += event.delta.partial_json;
        break;
      case 'message_stop':
        this.done = true;
        break;
      case 'error':
        throw new Error(`stream error: ${JSON.stringify(event.error)}`);
    }
  }
  followUp(messages: any[]): boolean {
    const calls = this.blocks.filter((b): b is Call => b !== undefined);
    if (calls.length === 0) return false;
    const inputs = calls.map((c) => JSON.parse(c.arguments || '{}') as unknown);
    messages.push({
      role: 'assistant',
      content: [...(this.text ? [{ type: 'text', text: this.text }] : []), ...calls.map((c, i) => ({ type: 'tool_use', id: c.id, name: c.name, input: inputs[i] }))],
    });
    messages.push({ role: 'user', content: calls.map((c, i) => ({ type: 'tool_result', tool_use_id: c.id, content: runTool(c.name, inputs[i]) })) });
    return true;
  }
}

/** Loads a contender for a wire format, its client built on `fetchImpl`. */
export async function loadLoop(id: ContenderId, flavor: Flavor, baseURL: string, fetchImpl: typeof fetch): Promise<Loop> {
  switch (id) {
    case 'floor':
    case 'floor-again':
      // The same code in its own processes: its distance from the floor is the suite's noise.
      return loadFloor(flavor, baseURL, fetchImpl);
    case 'sdk-floor':
      return loadSdkFloor(flavor, baseURL, fetchImpl);
    case 'sdk':
      return loadSdk(flavor, baseURL, fetchImpl);
    case 'tokenflow-events':
    case 'tokenflow-collect':
      return loadTokenflow(id, flavor, baseURL, fetchImpl);
    case 'ai-sdk':
      return loadAiSdk(flavor, baseURL, fetchImpl, 6);
    case 'ai-sdk-7':
      return loadAiSdk(flavor, baseURL, fetchImpl, 7);
  }
}

/** Opens one step's streamed response for a request body (the floors' one difference). */
type OpenBody = (body: Record<string, unknown>) => Promise<Response>;

/** `fetch` + `eventsource-parser` + one `JSON.parse` per event, tool calls assembled by hand. */
async function loadFloor(flavor: Flavor, baseURL: string, fetchImpl: typeof fetch): Promise<Loop> {
  const anthropic = flavor === 'anthropic';
  const url = anthropic ? `${baseURL}/v1/messages` : `${baseURL}/chat/completions`;
  const headers = anthropic
    ? { 'content-type': 'application/json', 'x-api-key': API_KEY, 'anthropic-version': '2023-06-01' }
    : { 'content-type': 'application/json', authorization: `Bearer ${API_KEY}` };
  return parserLoop('floor', flavor, (body) => fetchImpl(url, { method: 'POST', headers, body: JSON.stringify(body) }));
}

/**
 * The floor with each request opened through the provider's SDK (`create(…).asResponse()`: its
 * headers, retry wrapper, timeout and tracing), the body read by the same parser. What tokenflow's
 * adapters do before their own code runs, so the gap between the two floors is the SDK's request
 * path and the gap above this one is tokenflow's.
 */
async function loadSdkFloor(flavor: Flavor, baseURL: string, fetchImpl: typeof fetch): Promise<Loop> {
  if (flavor === 'anthropic') {
    const { default: Anthropic } = await import('@anthropic-ai/sdk');
    const client = new Anthropic({ apiKey: API_KEY, baseURL, maxRetries: 0, fetch: fetchImpl });
    return parserLoop('sdk-floor', flavor, (body) => client.messages.create(body as any).asResponse());
  }
  const { default: OpenAI } = await import('openai');
  const client = new OpenAI({ apiKey: API_KEY, baseURL, maxRetries: 0, fetch: fetchImpl });
  return parserLoop('sdk-floor', flavor, (body) => client.chat.completions.create(body as any).asResponse());
}

/** The floors' loop: `eventsource-parser` + one `JSON.parse` per event on each step's response. */
async function parserLoop(name: string, flavor: Flavor, open: OpenBody): Promise<Loop> {
  const { createParser } = await import('eventsource-parser');
  const anthropic = flavor === 'anthropic';
  return {
    async run() {
      const messages: any[] = [{ role: 'user', content: PROMPT }];
      for (let step = 0; step < MAX_STEPS; step++) {
        const body = anthropic
          ? { model: MODEL, max_tokens: 100_000, messages, tools: anthropicTools, stream: true }
          : { model: MODEL, messages, tools: openaiTools, stream: true, stream_options: { include_usage: true } };
        const response = await open(body);
        if (!response.ok || !response.body) throw new Error(`${name}: HTTP ${response.status}`);
        const state = anthropic ? new MessagesStep() : new ChatStep();
        let terminal = false;
        const parser = createParser({
          onEvent(message) {
            if (message.data === '[DONE]') terminal = true;
            else state.push(JSON.parse(message.data));
          },
        });
        const decoder = new TextDecoder();
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) parser.feed(decoder.decode(chunk, { stream: true }));
        if (!(anthropic ? (state as MessagesStep).done : terminal)) throw new Error(`${name}: the stream ended without its terminal event`);
        if (!state.followUp(messages)) return state.text;
      }
      throw new Error(`${name}: no answer within ${MAX_STEPS} steps`);
    },
  };
}

/** The provider's SDK, streamed with for-await, the loop written by hand. */
async function loadSdk(flavor: Flavor, baseURL: string, fetchImpl: typeof fetch): Promise<Loop> {
  if (flavor === 'anthropic') {
    const { default: Anthropic } = await import('@anthropic-ai/sdk');
    const client = new Anthropic({ apiKey: API_KEY, baseURL, maxRetries: 0, fetch: fetchImpl });
    return {
      async run() {
        const messages: any[] = [{ role: 'user', content: PROMPT }];
        for (let step = 0; step < MAX_STEPS; step++) {
          const stream = await client.messages.create({ model: MODEL, max_tokens: 100_000, messages, tools: anthropicTools, stream: true });
          const state = new MessagesStep();
          for await (const event of stream) state.push(event);
          if (!state.followUp(messages)) return state.text;
        }
        throw new Error(`sdk: no answer within ${MAX_STEPS} steps`);
      },
    };
  }
  const { default: OpenAI } = await import('openai');
  const client = new OpenAI({ apiKey: API_KEY, baseURL, maxRetries: 0, fetch: fetchImpl });
  return {
    async run() {
      const messages: any[] = [{ role: 'user', content: PROMPT }];
      for (let step = 0; step < MAX_STEPS; step++) {
        const stream = await client.chat.completions.create({ model: MODEL, messages, tools: openaiTools, stream: true, stream_options: { include_usage: true } });
        const state = new ChatStep();
        for await (const chunk of stream) state.push(chunk);
        if (!state.followUp(messages)) return state.text;
      }
      throw new Error(`sdk: no answer within ${MAX_STEPS} steps`);
    },
  };
}

/** tokenflow's Agent: `agent.stream(message, { tools, maxSteps })`, its events, or folded by `collect()`. */
async function loadTokenflow(id: 'tokenflow-events' | 'tokenflow-collect', flavor: Flavor, baseURL: string, fetchImpl: typeof fetch): Promise<Loop> {
  const options = { apiKey: API_KEY, baseURL, maxRetries: 0, fetch: fetchImpl };
  const provider =
    flavor === 'anthropic'
      ? ((await import(fromBuild('anthropic.js'))) as typeof import('../../src/providers/anthropic.js')).anthropic(options)
      : ((await import(fromBuild('openai.js'))) as typeof import('../../src/providers/openai.js')).openai(options);
  const { Agent, collect, tool } = (await import(fromBuild('index.js'))) as typeof import('../../src/index.js');
  const agent = new Agent({ provider, model: MODEL });
  const tools = {
    sum: tool({ description: descriptions.sum, inputSchema: schemas.sum, execute: run.sum }),
    upper: tool({ description: descriptions.upper, inputSchema: schemas.upper, execute: run.upper }),
  };
  const stream = () => agent.stream(PROMPT, { tools, maxSteps: MAX_STEPS });
  if (id === 'tokenflow-collect') {
    return {
      run: () =>
        new Promise<string>((resolve, reject) => {
          stream().pipe(collect()).subscribe({ next: (answer) => resolve(answer.content), error: reject });
        }),
    };
  }
  return {
    run: () =>
      new Promise<string>((resolve, reject) => {
        // The answer is the last step's text: each `step-start` begins a new one.
        let text = '';
        stream().subscribe({
          next: (event) => {
            if (event.type === 'token') text += event.text;
            else if (event.type === 'step-start') text = '';
          },
          error: reject,
          complete: () => resolve(text),
        });
      }),
  };
}

/**
 * The AI SDK's `streamText` with the same tools and `stopWhen: stepCountIs(3)`, its `textStream` read;
 * from its major 6 (`ai`, `@ai-sdk/openai` / `@ai-sdk/anthropic` 3) or 7 (bench/package.json's npm
 * aliases `ai-v7`, `@ai-sdk/openai-v7`, `@ai-sdk/anthropic-v7`: the providers' major 4). The two are
 * typed separately, so either major's API change fails the type check. `@ai-sdk/openai`'s default
 * `openai(id)` calls the Responses API; `.chat(id)` is Chat Completions.
 */
async function loadAiSdk(flavor: Flavor, baseURL: string, fetchImpl: typeof fetch, major: 6 | 7): Promise<Loop> {
  const settings = { baseURL: flavor === 'anthropic' ? `${baseURL}/v1` : baseURL, apiKey: API_KEY, fetch: fetchImpl };
  const options = { prompt: PROMPT, maxRetries: 0, maxOutputTokens: 100_000 };
  let start: (onError: (error: unknown) => void) => AsyncIterable<string>;
  if (major === 7) {
    const { streamText, tool, jsonSchema, stepCountIs } = await import('ai-v7');
    const model =
      flavor === 'anthropic'
        ? (await import('@ai-sdk/anthropic-v7')).createAnthropic(settings)(MODEL)
        : (await import('@ai-sdk/openai-v7')).createOpenAI(settings).chat(MODEL);
    const tools = {
      sum: tool({ description: descriptions.sum, inputSchema: jsonSchema<{ numbers: number[] }>(schemas.sum as any), execute: run.sum }),
      upper: tool({ description: descriptions.upper, inputSchema: jsonSchema<{ text: string }>(schemas.upper as any), execute: run.upper }),
    };
    start = (onError) => streamText({ model, tools, stopWhen: stepCountIs(3), ...options, onError: ({ error }) => onError(error) }).textStream;
  } else {
    const { streamText, tool, jsonSchema, stepCountIs } = await import('ai');
    const model =
      flavor === 'anthropic'
        ? (await import('@ai-sdk/anthropic')).createAnthropic(settings)(MODEL)
        : (await import('@ai-sdk/openai')).createOpenAI(settings).chat(MODEL);
    const tools = {
      sum: tool({ description: descriptions.sum, inputSchema: jsonSchema<{ numbers: number[] }>(schemas.sum as any), execute: run.sum }),
      upper: tool({ description: descriptions.upper, inputSchema: jsonSchema<{ text: string }>(schemas.upper as any), execute: run.upper }),
    };
    start = (onError) => streamText({ model, tools, stopWhen: stepCountIs(3), ...options, onError: ({ error }) => onError(error) }).textStream;
  }
  return {
    async run() {
      let failure: unknown;
      // Every step's text: the first two steps have none.
      let text = '';
      for await (const delta of start((error) => (failure = error))) text += delta;
      if (failure !== undefined) throw failure;
      return text;
    },
  };
}
