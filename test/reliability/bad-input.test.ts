/**
 * Bad input at every public entry point (issue 5): each invalid argument gets an
 * `InvalidArgumentError` naming the field, with a message that says what to do, and nothing is sent
 * (the mock providers' request logs, and a local SSE server's, stay empty). Issue 13 fixes how it
 * arrives, per row: an Observable-returning call (`stream()`, `agent.stream()`, `fromSSE()`) returns
 * an Observable that errors as it is subscribed to, a promise-returning call rejects (never a
 * synchronous throw), and constructors, adapter factories and operator factories throw at once.
 *
 * The table is keyed by import path and export name. A coverage test compares it with what each
 * entry point really exports, so a new export fails here until it has rows (or is listed as exempt:
 * error classes and constants). test/providers/bad-input.test.ts already covers missing API keys,
 * a few factory options and the request fields of `openai().stream()/complete()`; the rows here add
 * the other adapters, call options, every other module, and method-level entry points.
 */
import http from 'node:http';
import net from 'node:net';
import { isObservable, Observable } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as core from '../../src/index.js';
import * as anthropicEntry from '../../src/providers/anthropic.js';
import * as openaiEntry from '../../src/providers/openai.js';
import * as groqEntry from '../../src/providers/groq.js';
import * as compatibleEntry from '../../src/providers/openai-compatible.js';
import * as testingEntry from '../../src/testing/index.js';
import * as sseEntry from '../../src/sse/index.js';
import * as clientEntry from '../../src/client/index.js';
import * as redisEntry from '../../src/redis/index.js';
import * as reactEntry from '../../src/react/index.js';
import * as otelEntry from '../../src/otel/index.js';
import * as aguiEntry from '../../src/ag-ui/index.js';
import * as aiSdkEntry from '../../src/ai-sdk/index.js';
import { InvalidArgumentError } from '../../src/errors.js';
import type { TokenEvent } from '../../src/events.js';
import type { Provider } from '../../src/provider.js';
import type { MockFlavor, MockProvider } from '../../src/testing/index.js';
import { startSSEServer, type SSEServer } from '../helpers/sse-server.js';

/**
 * How an entry point reports bad input (issue 13): a function that returns an Observable returns
 * one that errors on subscription (`errors`), one that returns a promise rejects it (`rejects`), and
 * constructors, factories and operator factories throw at once (`throws`). None sends anything.
 */
type How = 'throws' | 'rejects' | 'errors';

/** One invalid call: the field the error must name, and the key its message must suggest. */
interface Row {
  label: string;
  call: () => unknown;
  field: string;
  /** For an unknown key: the known key the message should suggest ("did you mean …"). */
  suggests?: string;
  /** How the error arrives. @defaultValue 'throws' */
  how?: How;
}

/** An export that takes no arguments, or accepts any value by design (a predicate, a wire mapping). */
interface NoInput {
  kind: 'no-arguments' | 'total';
  why: string;
  check: () => void;
}

type Entry = Row[] | NoInput;

// ---- fixtures: mock providers (one per flavor), a local SSE server, a stream that counts subscribers ----

const mocks = {} as Record<MockFlavor, MockProvider>;
let sseServer: SSEServer;
let upstreamSubscriptions = 0;
/** A valid token stream that records whether anything subscribed to it (nothing may). */
const probe$ = new Observable<TokenEvent>(() => {
  upstreamSubscriptions++;
});
const good = { model: 'm', messages: [{ role: 'user' as const, content: 'Hi' }] };
const sseUrl = (): string => sseServer.url('/streams/c1');

beforeAll(async () => {
  for (const flavor of ['anthropic', 'openai', 'groq', 'openai-compatible'] as const) {
    mocks[flavor] = await testingEntry.startMockProvider({ flavor, script: { text: 'never sent' } });
  }
  sseServer = await startSSEServer((_request, res) => {
    res.end();
  });
});
afterAll(async () => {
  for (const mock of Object.values(mocks)) await mock.close();
  await sseServer.close();
});

const llm = {
  anthropic: (): Provider => anthropicEntry.anthropic({ apiKey: 'k', baseURL: mocks.anthropic.baseURL, maxRetries: 0 }),
  openai: (): Provider => openaiEntry.openai({ apiKey: 'k', baseURL: mocks.openai.baseURL, maxRetries: 0 }),
  responses: (): Provider => openaiEntry.openai({ api: 'responses', apiKey: 'k', baseURL: mocks.openai.baseURL, maxRetries: 0 }),
  groq: (): Provider => groqEntry.groq({ apiKey: 'k', baseURL: mocks.groq.baseURL, maxRetries: 0 }),
  compatible: (): Provider => compatibleEntry.openaiCompatible({ baseURL: mocks['openai-compatible'].baseURL, maxRetries: 0 }),
};
const agent = (): core.Agent => new core.Agent({ provider: llm.openai(), model: 'm' });
const hub = (): sseEntry.StreamHub => new sseEntry.StreamHub();
const serverResponse = (): http.ServerResponse => new http.ServerResponse(new http.IncomingMessage(new net.Socket()));
const token: TokenEvent = { type: 'token', text: 'a', index: 0, t: 0 };

/** Rows every Provider's `stream()` and `complete()` share: request fields and call options. */
function providerRows(name: string, make: () => Provider): Row[] {
  const bad: Array<[string, unknown, unknown, string, string?]> = [
    ['a request that is not an object', 'Hi', undefined, 'request'],
    ['a blank model', { ...good, model: '  ' }, undefined, 'request.model'],
    ['a message with an unknown role', { ...good, messages: [{ role: 'robot', content: 'x' }] }, undefined, 'request.messages[0].role'],
    ['a message with a misspelt key', { ...good, messages: [{ role: 'user', contnet: 'x' }] }, undefined, 'request.messages[0].contnet', 'content'],
    ['a message content that is not a string', { ...good, messages: [{ role: 'user', content: 42 }] }, undefined, 'request.messages[0].content'],
    ['an empty stop sequence', { ...good, stop: [''] }, undefined, 'request.stop[0]'],
    ['a tool without parameters', { ...good, tools: [{ name: 't' }] }, undefined, 'request.tools[0].parameters'],
    ['a negative temperature', { ...good, temperature: -0.1 }, undefined, 'request.temperature'],
    ['a fractional maxTokens', { ...good, maxTokens: 1.5 }, undefined, 'request.maxTokens'],
    ['snake_case max_tokens', { ...good, max_tokens: 5 }, undefined, 'request.max_tokens', 'maxTokens'],
    ['a signal that is not an AbortSignal', good, { signal: { aborted: false } }, 'options.signal'],
    ['a misspelt call option', good, { signl: new AbortController().signal }, 'options.signl', 'signal'],
    ['call options that are not an object', good, 'fast', 'options'],
    ['output 5', { ...good, output: 5 }, undefined, 'request.output'],
    ['output { schema: 5 }', { ...good, output: { schema: 5 } }, undefined, 'request.output.schema'],
    ["an output schema of type 'string' (providers take an object root)", { ...good, output: { schema: { type: 'string' } } }, undefined, 'request.output.schema'],
    ['an output name with a space', { ...good, output: { schema: { type: 'object' }, name: 'my output' } }, undefined, 'request.output.name'],
    ['a misspelt output key', { ...good, output: { shcema: { type: 'object' } } }, undefined, 'request.output.shcema', 'schema'],
  ];
  return bad.flatMap(([label, request, options, field, suggests]) => {
    const rows: Row[] = [
      { label: `${name}.stream(): ${label}`, call: () => make().stream(request as never, options as never), field, how: 'errors' },
      { label: `${name}.complete(): ${label}`, call: () => make().complete(request as never, options as never), field, how: 'rejects' },
    ];
    return suggests === undefined ? rows : rows.map((row) => ({ ...row, suggests }));
  });
}

/** Rows every SDK-backed factory shares (options checked before a client is built). */
function factoryRows(name: string, make: (options: unknown) => unknown): Row[] {
  return [
    { label: `${name}(): options that are not an object`, call: () => make('key'), field: 'options' },
    { label: `${name}(): an empty apiKey`, call: () => make({ apiKey: '' }), field: 'options.apiKey' },
    { label: `${name}(): apikey in the wrong case`, call: () => make({ apikey: 'k' }), field: 'options.apikey', suggests: 'apiKey' },
    { label: `${name}(): a timeout of 0`, call: () => make({ apiKey: 'k', timeout: 0 }), field: 'options.timeout' },
    { label: `${name}(): a fractional maxRetries`, call: () => make({ apiKey: 'k', maxRetries: 0.5 }), field: 'options.maxRetries' },
    { label: `${name}(): a header value that is not a string`, call: () => make({ apiKey: 'k', defaultHeaders: { 'x-a': 5 } }), field: 'options.defaultHeaders.x-a' },
    { label: `${name}(): a fetch that is not a function`, call: () => make({ apiKey: 'k', fetch: 'fetch' }), field: 'options.fetch' },
    { label: `${name}(): clientOptions that are not an object`, call: () => make({ apiKey: 'k', clientOptions: [] }), field: 'options.clientOptions' },
  ];
}

const noArguments = (fn: (...args: never[]) => unknown, why: string): NoInput => ({
  kind: 'no-arguments',
  why,
  check: () => expect(fn.length).toBe(0),
});

const TABLE: Record<string, Record<string, Entry>> = {
  tokenflow: {
    collect: noArguments(core.collect, 'an operator without options'),
    deltas: noArguments(core.deltas, 'an operator without options'),
    text: noArguments(core.text, 'an operator without options'),
    usage: noArguments(core.usage, 'an operator without options'),
    metrics: noArguments(core.metrics, 'an operator without options'),
    progress: noArguments(core.progress, 'an operator without options'),
    timeToFirstToken: noArguments(core.timeToFirstToken, 'an operator without options'),
    toolInputs: noArguments(core.toolInputs, 'an operator without options'),
    loadTokenizer: noArguments(core.loadTokenizer, 'loads the tokenizer; takes nothing'),
    isRetryable: {
      kind: 'total',
      why: 'a predicate over any thrown value',
      check: () => {
        for (const value of [undefined, null, 42, 'x', {}, new Error('x')]) expect(core.isRetryable(value)).toBe(false);
      },
    },
    estimateTokens: [
      { label: 'estimateTokens(NaN)', call: () => core.estimateTokens(Number.NaN), field: 'text' },
      { label: 'estimateTokens(undefined)', call: () => core.estimateTokens(undefined as never), field: 'text' },
      { label: 'estimateTokens(an object)', call: () => core.estimateTokens({} as never), field: 'text' },
      { label: 'estimateTokens(Infinity)', call: () => core.estimateTokens(Number.POSITIVE_INFINITY), field: 'text' },
    ],
    firstTokenTimeout: [
      { label: 'firstTokenTimeout(0)', call: () => core.firstTokenTimeout(0), field: 'firstTokenTimeout(ms)' },
      { label: "firstTokenTimeout('5000')", call: () => core.firstTokenTimeout('5000' as never), field: 'firstTokenTimeout(ms)' },
      { label: 'firstTokenTimeout(5, { schedular })', call: () => core.firstTokenTimeout(5, { schedular: {} } as never), field: 'firstTokenTimeout() options.schedular', suggests: 'scheduler' },
      { label: 'firstTokenTimeout(5, { scheduler: {} })', call: () => core.firstTokenTimeout(5, { scheduler: {} as never }), field: 'firstTokenTimeout.scheduler' },
    ],
    idleTimeout: [
      { label: 'idleTimeout(-1)', call: () => core.idleTimeout(-1), field: 'idleTimeout(ms)' },
      { label: 'idleTimeout(NaN)', call: () => core.idleTimeout(Number.NaN), field: 'idleTimeout(ms)' },
      { label: 'idleTimeout(Infinity)', call: () => core.idleTimeout(Number.POSITIVE_INFINITY), field: 'idleTimeout(ms)' },
      { label: "idleTimeout(5, 'fast')", call: () => core.idleTimeout(5, 'fast' as never), field: 'idleTimeout() options' },
    ],
    retryBeforeFirstToken: [
      { label: 'retryBeforeFirstToken(3)', call: () => core.retryBeforeFirstToken(3 as never), field: 'retryBeforeFirstToken() options' },
      { label: '{ maxRetrys }', call: () => core.retryBeforeFirstToken({ maxRetrys: 1 } as never), field: 'retryBeforeFirstToken() options.maxRetrys', suggests: 'maxRetries' },
      { label: '{ maxRetries: 1.5 }', call: () => core.retryBeforeFirstToken({ maxRetries: 1.5 }), field: 'retryBeforeFirstToken.maxRetries' },
      { label: '{ shouldRetry: true }', call: () => core.retryBeforeFirstToken({ shouldRetry: true as never }), field: 'retryBeforeFirstToken.shouldRetry' },
      { label: "{ signal: 'x' }", call: () => core.retryBeforeFirstToken({ signal: 'x' as never }), field: 'retryBeforeFirstToken.signal' },
      { label: '{ backoff: { factor: 0.5 } }', call: () => core.retryBeforeFirstToken({ backoff: { factor: 0.5 } }), field: 'retryBeforeFirstToken.backoff.factor' },
      { label: "{ backoff: { jitter: 'yes' } }", call: () => core.retryBeforeFirstToken({ backoff: { jitter: 'yes' as never } }), field: 'retryBeforeFirstToken.backoff.jitter' },
    ],
    retryMidStream: [
      { label: '{ maxRetries: -1 }', call: () => core.retryMidStream({ maxRetries: -1 }), field: 'retryMidStream.maxRetries' },
      { label: '{ maxRetryAfterMs: NaN }', call: () => core.retryMidStream({ maxRetryAfterMs: Number.NaN }), field: 'retryMidStream.maxRetryAfterMs' },
      { label: '{ backoff: { initialMs: -1 } }', call: () => core.retryMidStream({ backoff: { initialMs: -1 } }), field: 'retryMidStream.backoff.initialMs' },
      { label: '{ backof }', call: () => core.retryMidStream({ backof: {} } as never), field: 'retryMidStream() options.backof', suggests: 'backoff' },
    ],
    smooth: [
      { label: "smooth({ chunking: 'char' })", call: () => core.smooth({ chunking: 'char' as never }), field: 'smooth.chunking' },
      { label: 'smooth({ delayMs: -1 })', call: () => core.smooth({ delayMs: -1 }), field: 'smooth.delayMs' },
      { label: 'smooth({ delay })', call: () => core.smooth({ delay: 5 } as never), field: 'smooth() options.delay', suggests: 'delayMs' },
      { label: "smooth('word')", call: () => core.smooth('word' as never), field: 'smooth() options' },
    ],
    streamWithCallbacks: [
      { label: 'a promise instead of a stream', call: () => core.streamWithCallbacks(Promise.resolve() as never), field: 'tokens$', how: 'rejects' },
      { label: 'callbacks that are not an object', call: () => core.streamWithCallbacks(probe$, (() => {}) as never), field: 'callbacks', how: 'rejects' },
      { label: '{ onTokn }', call: () => core.streamWithCallbacks(probe$, { onTokn: () => {} } as never), field: 'callbacks.onTokn', suggests: 'onToken', how: 'rejects' },
      { label: 'onToken that is not a function', call: () => core.streamWithCallbacks(probe$, { onToken: 'print' as never }), field: 'callbacks.onToken', how: 'rejects' },
      { label: 'a signal that is not an AbortSignal', call: () => core.streamWithCallbacks(probe$, { signal: {} as never }), field: 'callbacks.signal', how: 'rejects' },
      { label: 'maxQueue 0', call: () => core.streamWithCallbacks(probe$, { maxQueue: 0 }), field: 'streamWithCallbacks.maxQueue', how: 'rejects' },
    ],
    partialObject: [
      { label: 'partialObject({ schema: 5 })', call: () => core.partialObject({ schema: 5 as never }), field: 'partialObject() options.schema' },
      { label: 'partialObject({ shcema })', call: () => core.partialObject({ shcema: {} } as never), field: 'partialObject() options.shcema', suggests: 'schema' },
      { label: "partialObject('x')", call: () => core.partialObject('x' as never), field: 'partialObject() options' },
    ],
    object: [
      { label: "object({ schema: 'zod' })", call: () => core.object({ schema: 'zod' as never }), field: 'object() options.schema' },
      { label: 'object([])', call: () => core.object([] as never), field: 'object() options' },
    ],
    toAsyncIterable: [
      { label: 'null instead of a stream', call: () => core.toAsyncIterable(null as never), field: 'tokens$' },
      { label: 'an array instead of a stream', call: () => core.toAsyncIterable([token] as never), field: 'tokens$' },
      { label: '{ maxQueu }', call: () => core.toAsyncIterable(probe$, { maxQueu: 1 } as never), field: 'options.maxQueu', suggests: 'maxQueue' },
      { label: 'maxQueue 0', call: () => core.toAsyncIterable(probe$, { maxQueue: 0 }), field: 'toAsyncIterable.maxQueue' },
    ],
    Agent: [
      { label: 'new Agent() without options', call: () => new core.Agent(undefined as never), field: 'Agent options' },
      { label: 'a provider that is not one', call: () => new core.Agent({ provider: {} as never, model: 'm' }), field: 'Agent options.provider' },
      { label: 'an empty model', call: () => new core.Agent({ provider: llm.openai(), model: '' }), field: 'Agent options.model' },
      { label: 'temperature 3', call: () => new core.Agent({ provider: llm.openai(), model: 'm', temperature: 3 }), field: 'Agent options.temperature' },
      { label: '{ sytemPrompt }', call: () => new core.Agent({ provider: llm.openai(), model: 'm', sytemPrompt: 'x' } as never), field: 'Agent options.sytemPrompt', suggests: 'systemPrompt' },
      { label: 'formatContext that is not a function', call: () => new core.Agent({ provider: llm.openai(), model: 'm', formatContext: 'tagged' as never }), field: 'Agent options.formatContext' },
      { label: 'agent.stream(42)', call: () => agent().stream(42 as never), field: 'stream(message)', how: 'errors' },
      { label: 'agent.stream() with history of a bad message', call: () => agent().stream('Hi', { history: [{ role: 'bot', content: 'x' }] as never }), field: 'stream() options.history[0].role', how: 'errors' },
      { label: 'agent.processMessage() with a bad signal', call: () => agent().processMessage('Hi', { signal: 'stop' as never }), field: 'processMessage() options.signal', how: 'rejects' },
      { label: 'agent.processMessage() with context 42', call: () => agent().processMessage('Hi', { context: 42 as never }), field: 'processMessage() options.context', how: 'rejects' },
      { label: "agent.processMessage() with history 'none'", call: () => agent().processMessage('Hi', { history: 'none' as never }), field: 'processMessage() options.history', how: 'rejects' },
      { label: 'agent.processMessageStreaming() with { onTokn }', call: () => agent().processMessageStreaming('Hi', { onTokn: () => {} } as never), field: 'processMessageStreaming() options.onTokn', suggests: 'onToken', how: 'rejects' },
      { label: "agent.processMessageStreaming('')", call: () => agent().processMessageStreaming(''), field: 'processMessageStreaming(message)', how: 'rejects' },
      { label: 'agent.stream() with output { schema: 5 }', call: () => agent().stream('Hi', { output: { schema: 5 as never } }), field: 'request.output.schema', how: 'errors' },
      { label: 'agent.stream() with tools 5', call: () => agent().stream('Hi', { tools: 5 as never }), field: 'stream() options.tools', how: 'errors' },
      { label: 'agent.processMessage() with maxSteps 0', call: () => agent().processMessage('Hi', { tools: {}, maxSteps: 0 }), field: 'processMessage() options.maxSteps', how: 'rejects' },
    ],
    tool: [
      { label: 'tool() without a definition', call: () => core.tool(undefined as never), field: 'tool()' },
      { label: 'tool() with a string schema', call: () => core.tool({ inputSchema: 'city: string' as never }), field: 'tool().inputSchema' },
      { label: 'tool() with execute 5', call: () => core.tool({ inputSchema: { type: 'object' }, execute: 5 as never }), field: 'tool().execute' },
      { label: '{ inputSchem }', call: () => core.tool({ inputSchem: { type: 'object' } } as never), field: 'tool().inputSchem', suggests: 'inputSchema' },
    ],
    Conversation: [
      { label: 'new Conversation(5)', call: () => new core.Conversation(5 as never), field: 'Conversation options' },
      { label: '{ maxTurn }', call: () => new core.Conversation({ maxTurn: 3 } as never), field: 'Conversation options.maxTurn', suggests: 'maxTurns' },
      { label: 'maxTurns -1', call: () => new core.Conversation({ maxTurns: -1 }), field: 'Conversation options.maxTurns' },
      { label: 'an empty id', call: () => new core.Conversation({ id: '' }), field: 'Conversation options.id' },
      { label: 'a store that is not one', call: () => new core.Conversation({ store: { load() {} } as never }), field: 'Conversation options.store' },
      { label: 'conversation.record(42, answer)', call: () => new core.Conversation().record(42 as never, { content: 'a' }), field: 'question', how: 'rejects' },
      { label: 'conversation.record(question, { content: 5 })', call: () => new core.Conversation().record('q', { content: 5 as never }), field: 'answer.content', how: 'rejects' },
    ],
    InMemoryHistoryStore: [
      { label: "store.append(id, 'not messages')", call: () => new core.InMemoryHistoryStore().append('c', 'not messages' as never), field: 'messages', how: 'rejects' },
      { label: 'store.append(id, [a message with a bad role])', call: () => new core.InMemoryHistoryStore().append('c', [{ role: 'bot', content: 'x' }] as never), field: 'messages[0].role', how: 'rejects' },
    ],
  },
  'tokenflow/anthropic': {
    anthropic: [...factoryRows('anthropic', (o) => anthropicEntry.anthropic(o as never)), ...providerRows('anthropic()', llm.anthropic)],
  },
  'tokenflow/openai': {
    openai: [
      ...factoryRows('openai', (o) => openaiEntry.openai(o as never)),
      { label: "openai({ api: 'response' })", call: () => openaiEntry.openai({ apiKey: 'k', api: 'response' as never }), field: 'options.api' },
      ...providerRows('openai()', llm.openai),
      { label: "openai({ api: 'responses' }).stream() with stop sequences", call: () => llm.responses().stream({ ...good, stop: ['END'] }), field: 'request.stop', how: 'errors' },
      { label: "openai({ api: 'responses' }).stream() with a bad signal", call: () => llm.responses().stream(good, { signal: 1 as never }), field: 'options.signal', how: 'errors' },
    ],
  },
  'tokenflow/groq': {
    groq: [...factoryRows('groq', (o) => groqEntry.groq(o as never)), ...providerRows('groq()', llm.groq)],
  },
  'tokenflow/openai-compatible': {
    openaiCompatible: [
      { label: 'openaiCompatible() without options', call: () => compatibleEntry.openaiCompatible(undefined as never), field: 'options' },
      { label: 'an empty baseURL', call: () => compatibleEntry.openaiCompatible({ baseURL: '' }), field: 'options.baseURL' },
      { label: 'a relative baseURL', call: () => compatibleEntry.openaiCompatible({ baseURL: '/v1' }), field: 'options.baseURL' },
      // The missing baseURL is reported before the unknown key: the message names the right one.
      { label: '{ baseUrl }', call: () => compatibleEntry.openaiCompatible({ baseUrl: 'http://127.0.0.1:1/v1' } as never), field: 'options.baseURL' },
      { label: 'an empty name', call: () => compatibleEntry.openaiCompatible({ baseURL: 'http://127.0.0.1:1/v1', name: '' }), field: 'options.name' },
      { label: "includeUsage 'yes'", call: () => compatibleEntry.openaiCompatible({ baseURL: 'http://127.0.0.1:1/v1', includeUsage: 'yes' as never }), field: 'options.includeUsage' },
      { label: "maxTokensField 'max'", call: () => compatibleEntry.openaiCompatible({ baseURL: 'http://127.0.0.1:1/v1', maxTokensField: 'max' as never }), field: 'options.maxTokensField' },
      ...providerRows('openaiCompatible()', llm.compatible),
    ],
  },
  'tokenflow/testing': {
    startMockProvider: [
      { label: 'startMockProvider() without options', call: () => testingEntry.startMockProvider(undefined as never), field: 'options', how: 'rejects' },
      { label: "an unknown flavor 'gemini'", call: () => testingEntry.startMockProvider({ flavor: 'gemini' as never }), field: 'options.flavor', how: 'rejects' },
      { label: "an unknown profile 'slow'", call: () => testingEntry.startMockProvider({ flavor: 'openai', profile: 'slow' as never }), field: 'options.profile', how: 'rejects' },
      { label: '{ profle }', call: () => testingEntry.startMockProvider({ flavor: 'openai', profle: 'groq' } as never), field: 'options.profle', suggests: 'profile', how: 'rejects' },
      { label: "chunking 'bytes'", call: () => testingEntry.startMockProvider({ flavor: 'openai', chunking: 'bytes' as never }), field: 'options.chunking', how: 'rejects' },
      { label: 'a negative time to first token', call: () => testingEntry.startMockProvider({ flavor: 'openai', profile: { ttftMs: -1, tokensPerSecond: 10 } }), field: 'options.profile.ttftMs', how: 'rejects' },
    ],
  },
  'tokenflow/sse': {
    StreamHub: [
      { label: 'new StreamHub(5)', call: () => new sseEntry.StreamHub(5 as never), field: 'new StreamHub() options' },
      { label: '{ maxBufferedByte }', call: () => new sseEntry.StreamHub({ maxBufferedByte: 1 } as never), field: 'new StreamHub() options.maxBufferedByte', suggests: 'maxBufferedBytes' },
      { label: 'maxBufferedBytes 0', call: () => new sseEntry.StreamHub({ maxBufferedBytes: 0 }), field: 'options.maxBufferedBytes' },
      { label: 'graceMs -1', call: () => new sseEntry.StreamHub({ graceMs: -1 }), field: 'options.graceMs' },
      { label: 'telemetry without follow()', call: () => new sseEntry.StreamHub({ telemetry: { publish: () => undefined } as never }), field: 'options.telemetry' },
      { label: 'retryMs 1.5', call: () => new sseEntry.StreamHub({ retryMs: 1.5 }), field: 'options.retryMs' },
      { label: 'batchMs -1', call: () => new sseEntry.StreamHub({ batchMs: -1 }), field: 'options.batchMs' },
      { label: 'a log that is not a ChannelLog', call: () => new sseEntry.StreamHub({ log: new Map() as never }), field: 'options.log' },
      { label: 'onDrop that is not a function', call: () => new sseEntry.StreamHub({ onDrop: 'log' as never }), field: 'options.onDrop' },
      { label: 'hub.publish() with a bad channel id', call: () => hub().publish('no spaces allowed', probe$), field: 'channel', how: 'rejects' },
      { label: 'hub.publish() with a promise for a stream', call: () => hub().publish('c1', Promise.resolve() as never), field: 'tokens$', how: 'rejects' },
      { label: 'hub.publish() with meta an array', call: () => hub().publish('c1', probe$, { meta: [] as never }), field: 'options.meta', how: 'rejects' },
      { label: 'hub.publish() with { mta }', call: () => hub().publish('c1', probe$, { mta: {} } as never), field: 'hub.publish() options.mta', suggests: 'meta', how: 'rejects' },
      { label: 'hub.publish() with legacy { agentID }', call: () => hub().publish('c1', probe$, { legacy: { agentID: 1 } as never }), field: 'hub.publish() options.legacy.agentID', suggests: 'agentId', how: 'rejects' },
      { label: 'hub.subscribe(5)', call: () => hub().subscribe(5 as never), field: 'channel', how: 'errors' },
      { label: 'hub.subscribe() with lastEventId -2', call: () => hub().subscribe('c1', { lastEventId: -2 }), field: 'options.lastEventId', how: 'errors' },
      { label: 'hub.subscribe() with { lastEventID }', call: () => hub().subscribe('c1', { lastEventID: 1 } as never), field: 'hub.subscribe() options.lastEventID', suggests: 'lastEventId', how: 'errors' },
      { label: "hub.stop('')", call: () => hub().stop(''), field: 'channel', how: 'rejects' },
      { label: 'hub.info(null)', call: () => hub().info(null as never), field: 'channel', how: 'rejects' },
      { label: 'hub.followerCount(5)', call: () => hub().followerCount(5 as never), field: 'channel' },
      { label: 'hub.handler({ chanel })', call: () => hub().handler({ chanel: () => 'c1' } as never), field: 'hub.handler() options.chanel', suggests: 'channel' },
      { label: "hub.handler({ channel: 'c1' })", call: () => hub().handler({ channel: 'c1' as never }), field: 'options.channel' },
      { label: 'hub.handler({ formats: a format, not an array })', call: () => hub().handler({ formats: {} as never }), field: 'options.formats' },
      { label: 'hub.handler({ formats: [a format without open()] })', call: () => hub().handler({ formats: [{ name: 'x', headers: {} } as never] }), field: 'options.formats[0]' },
      { label: "hub.handler({ format: 'ag-ui' })", call: () => hub().handler({ format: 'ag-ui' as never }), field: 'options.format' },
      { label: "hub.handler({ action: 'follow' })", call: () => hub().handler({ action: 'follow' as never }), field: 'options.action' },
      { label: 'hub.fetch() with a URL string instead of a Request', call: () => hub().fetch('http://127.0.0.1/streams/c1' as never), field: 'request', how: 'rejects' },
      { label: 'hub.fetch() with channel 5', call: () => hub().fetch(new Request('http://127.0.0.1/streams/c1'), { channel: 5 as never }), field: 'options.channel', how: 'rejects' },
    ],
    InMemoryChannelLog: [
      { label: 'new InMemoryChannelLog(5)', call: () => new sseEntry.InMemoryChannelLog(5 as never), field: 'new InMemoryChannelLog() options' },
      { label: 'replayLimit -1', call: () => new sseEntry.InMemoryChannelLog({ replayLimit: -1 }), field: 'options.replayLimit' },
      { label: '{ replayLimt }', call: () => new sseEntry.InMemoryChannelLog({ replayLimt: 10 } as never), field: 'new InMemoryChannelLog() options.replayLimt', suggests: 'replayLimit' },
    ],
    encodeEvent: [
      { label: 'encodeEvent(null, 0)', call: () => sseEntry.encodeEvent(null as never, 0), field: 'event' },
      { label: 'encodeEvent(event, -1)', call: () => sseEntry.encodeEvent(token, -1), field: 'id' },
      { label: "encodeEvent(event, '1\\nevent: done')", call: () => sseEntry.encodeEvent(token, '1\nevent: done' as never), field: 'id' },
    ],
    encodeLegacy: [
      { label: 'encodeLegacy(5, …)', call: () => sseEntry.encodeLegacy(5 as never, 'a', {}), field: 'token' },
      { label: 'encodeLegacy(…, { agentID })', call: () => sseEntry.encodeLegacy('a', 'a', { agentID: 1 } as never), field: 'encodeLegacy() options.agentID', suggests: 'agentId' },
    ],
    formatSSE: [
      { label: 'formatSSE(null)', call: () => sseEntry.formatSSE(null as never), field: 'message' },
      { label: 'formatSSE({ data: 5 })', call: () => sseEntry.formatSSE({ data: 5 as never }), field: 'message.data' },
      { label: 'formatSSE({ evnt })', call: () => sseEntry.formatSSE({ data: 'x', evnt: 'note' } as never), field: 'message.evnt', suggests: 'event' },
      { label: 'formatSSE({ retry: -1 })', call: () => sseEntry.formatSSE({ data: 'x', retry: -1 }), field: 'message.retry' },
      { label: 'formatSSE({ event with a line break })', call: () => sseEntry.formatSSE({ data: 'x', event: 'a\nb' }), field: 'message.event' },
      { label: 'formatSSE({ id with a line break })', call: () => sseEntry.formatSSE({ data: 'x', id: '1\r2' }), field: 'message.id' },
    ],
    serializeError: [
      { label: 'serializeError(error, 42)', call: () => sseEntry.serializeError(new Error('x'), 42 as never), field: 'partialText' },
      { label: "serializeError(error, '', 'bogus')", call: () => sseEntry.serializeError(new Error('x'), '', 'bogus' as never), field: 'reason' },
    ],
    pipeSSE: [
      { label: 'pipeSSE(42, res)', call: () => sseEntry.pipeSSE(42 as never, serverResponse()), field: 'tokens$', how: 'rejects' },
      { label: 'pipeSSE(stream, {})', call: () => sseEntry.pipeSSE(probe$, {} as never), field: 'res', how: 'rejects' },
      { label: 'pipeSSE(stream, res, { retryMs: 1.5 })', call: () => sseEntry.pipeSSE(probe$, serverResponse(), { retryMs: 1.5 }), field: 'options.retryMs', how: 'rejects' },
    ],
    toSSE: [
      { label: 'toSSE(undefined)', call: () => sseEntry.toSSE(undefined as never), field: 'tokens$' },
      { label: 'toSSE(stream, { hearbeatMs })', call: () => sseEntry.toSSE(probe$, { hearbeatMs: 1 } as never), field: 'toSSE() options.hearbeatMs', suggests: 'heartbeatMs' },
      { label: 'toSSE(stream, { heartbeatMs: -1 })', call: () => sseEntry.toSSE(probe$, { heartbeatMs: -1 }), field: 'options.heartbeatMs' },
      { label: 'toSSE(stream, { signal: {} })', call: () => sseEntry.toSSE(probe$, { signal: {} as never }), field: 'options.signal' },
    ],
    sseResponse: [
      { label: "sseResponse('text')", call: () => sseEntry.sseResponse('text' as never), field: 'tokens$' },
      { label: 'sseResponse(stream, { headers: 5 })', call: () => sseEntry.sseResponse(probe$, { headers: 5 as never }), field: 'options.headers' },
      { label: 'sseResponse(stream, { header })', call: () => sseEntry.sseResponse(probe$, { header: {} } as never), field: 'sseResponse() options.header', suggests: 'headers' },
    ],
    forExpress: [{ label: 'forExpress({})', call: () => sseEntry.forExpress({} as never), field: 'hub' }],
    forFastify: [{ label: 'forFastify(undefined)', call: () => sseEntry.forFastify(undefined as never), field: 'hub' }],
    forHono: [{ label: 'forHono(a handler)', call: () => sseEntry.forHono(hub().handler() as never), field: 'hub' }],
  },
  'tokenflow/client': {
    fromSSE: [
      { label: "fromSSE('')", call: () => clientEntry.fromSSE(''), field: 'url', how: 'errors' },
      { label: 'fromSSE(42)', call: () => clientEntry.fromSSE(42 as never), field: 'url', how: 'errors' },
      { label: 'a relative URL with no page', call: () => clientEntry.fromSSE('/streams/c1'), field: 'url', how: 'errors' },
      { label: 'a ws: URL', call: () => clientEntry.fromSSE('ws://127.0.0.1/streams/c1'), field: 'url', how: 'errors' },
      { label: 'options that are not an object', call: () => clientEntry.fromSSE(sseUrl(), 'fetch' as never), field: 'options', how: 'errors' },
      { label: '{ reconect }', call: () => clientEntry.fromSSE(sseUrl(), { reconect: false } as never), field: 'options.reconect', suggests: 'reconnect', how: 'errors' },
      { label: 'a signal that is not an AbortSignal', call: () => clientEntry.fromSSE(sseUrl(), { mode: 'fetch', signal: { aborted: false } as never }), field: 'options.signal', how: 'errors' },
      { label: 'lastEventId -1', call: () => clientEntry.fromSSE(sseUrl(), { mode: 'fetch', lastEventId: -1 }), field: 'options.lastEventId', how: 'errors' },
      { label: 'lastEventId with a line break', call: () => clientEntry.fromSSE(sseUrl(), { mode: 'fetch', lastEventId: '1\n2' }), field: 'options.lastEventId', how: 'errors' },
      { label: "reconnect 'yes'", call: () => clientEntry.fromSSE(sseUrl(), { mode: 'fetch', reconnect: 'yes' as never }), field: 'options.reconnect', how: 'errors' },
      { label: 'reconnect { maxRetrys }', call: () => clientEntry.fromSSE(sseUrl(), { mode: 'fetch', reconnect: { maxRetrys: 1 } as never }), field: 'options.reconnect.maxRetrys', suggests: 'maxRetries', how: 'errors' },
      { label: 'reconnect { delayMs: -5 }', call: () => clientEntry.fromSSE(sseUrl(), { mode: 'fetch', reconnect: { delayMs: -5 } }), field: 'options.reconnect.delayMs', how: 'errors' },
      { label: "mode 'websocket'", call: () => clientEntry.fromSSE(sseUrl(), { mode: 'websocket' as never }), field: 'options.mode', how: 'errors' },
      { label: 'a Last-Event-ID header', call: () => clientEntry.fromSSE(sseUrl(), { headers: { 'Last-Event-ID': '3' } }), field: 'options.headers.Last-Event-ID', how: 'errors' },
      { label: 'a header name with a space', call: () => clientEntry.fromSSE(sseUrl(), { headers: { 'x token': 'a' } }), field: 'options.headers.x token', how: 'errors' },
      { label: 'a header value with a line break', call: () => clientEntry.fromSSE(sseUrl(), { headers: { 'x-token': 'a\r\nx-evil: 1' } }), field: 'options.headers.x-token', how: 'errors' },
      { label: 'a method that is not a token', call: () => clientEntry.fromSSE(sseUrl(), { method: 'GE T' }), field: 'options.method', how: 'errors' },
      { label: 'a body on a GET', call: () => clientEntry.fromSSE(sseUrl(), { body: '{}' }), field: 'options.body', how: 'errors' },
      { label: 'a ReadableStream body', call: () => clientEntry.fromSSE(sseUrl(), { method: 'POST', body: new ReadableStream() }), field: 'options.body', how: 'errors' },
      { label: 'fetch that is not a function', call: () => clientEntry.fromSSE(sseUrl(), { fetch: 'fetch' as never }), field: 'options.fetch', how: 'errors' },
      { label: 'an EventSource in fetch mode', call: () => clientEntry.fromSSE(sseUrl(), { mode: 'fetch', EventSource: class {} as never }), field: 'options.EventSource', how: 'errors' },
      { label: "withCredentials 'true'", call: () => clientEntry.fromSSE(sseUrl(), { mode: 'fetch', withCredentials: 'true' as never }), field: 'options.withCredentials', how: 'errors' },
      { label: 'eventsource mode where there is no EventSource', call: () => clientEntry.fromSSE(sseUrl(), { mode: 'eventsource' }), field: 'options.EventSource', how: 'errors' },
    ],
  },
  // A hook: bad input throws during render, before any hook runs, so a call outside a component
  // shows it too. (test/browser/react.test.ts checks it in a component, under an error boundary.)
  'tokenflow/react': {
    useTokenStream: [
      { label: 'useTokenStream(42)', call: () => reactEntry.useTokenStream(42 as never), field: 'source' },
      { label: 'useTokenStream({ url })', call: () => reactEntry.useTokenStream({ url: '/streams/c1' } as never), field: 'source' },
      { label: 'useTokenStream(a Promise)', call: () => reactEntry.useTokenStream(Promise.resolve('/streams/c1') as never), field: 'source' },
      { label: "useTokenStream(url, 'fetch')", call: () => reactEntry.useTokenStream('/streams/c1', 'fetch' as never), field: 'options' },
      { label: 'useTokenStream(url, { sees })', call: () => reactEntry.useTokenStream('/streams/c1', { sees: {} } as never), field: 'options.sees', suggests: 'sse' },
      { label: 'useTokenStream(url, { sse: true })', call: () => reactEntry.useTokenStream('/streams/c1', { sse: true as never }), field: 'options.sse' },
    ],
  },
  'tokenflow/redis': {
    // Every row fails before a connection is opened (the options are checked first).
    RedisStreamHub: [
      { label: 'new RedisStreamHub() without options', call: () => new redisEntry.RedisStreamHub(undefined as never), field: 'options' },
      { label: 'new RedisStreamHub({}) without redis', call: () => new redisEntry.RedisStreamHub({} as never), field: 'options.redis' },
      { label: "redis 'localhost:6379' (not a URL)", call: () => new redisEntry.RedisStreamHub({ redis: 'localhost:6379' }), field: 'options.redis' },
      { label: 'redis a plain object, not an ioredis client', call: () => new redisEntry.RedisStreamHub({ redis: { host: '127.0.0.1' } as never }), field: 'options.redis' },
      { label: '{ leaseMS }', call: () => new redisEntry.RedisStreamHub({ redis: 'redis://127.0.0.1:1', leaseMS: 1000 } as never), field: 'new RedisStreamHub() options.leaseMS', suggests: 'leaseMs' },
      { label: 'leaseMs 10', call: () => new redisEntry.RedisStreamHub({ redis: 'redis://127.0.0.1:1', leaseMs: 10 }), field: 'options.leaseMs' },
      { label: 'maxLen 0', call: () => new redisEntry.RedisStreamHub({ redis: 'redis://127.0.0.1:1', maxLen: 0 }), field: 'options.maxLen' },
      { label: 'graceMs -1', call: () => new redisEntry.RedisStreamHub({ redis: 'redis://127.0.0.1:1', graceMs: -1 }), field: 'options.graceMs' },
      { label: "batchMs '20'", call: () => new redisEntry.RedisStreamHub({ redis: 'redis://127.0.0.1:1', batchMs: '20' as never }), field: 'options.batchMs' },
      { label: 'a log of its own', call: () => new redisEntry.RedisStreamHub({ redis: 'redis://127.0.0.1:1', log: {} } as never), field: 'options.log' },
      { label: 'idleTtlMs below leaseMs', call: () => new redisEntry.RedisStreamHub({ redis: 'redis://127.0.0.1:1', leaseMs: 5000, idleTtlMs: 1000 }), field: 'options.idleTtlMs' },
    ],
    RedisChannelLog: [
      { label: 'new RedisChannelLog(5)', call: () => new redisEntry.RedisChannelLog(5 as never), field: 'new RedisChannelLog() options' },
      { label: 'new RedisChannelLog({}) without redis', call: () => new redisEntry.RedisChannelLog({} as never), field: 'options.redis' },
      { label: '{ prefx }', call: () => new redisEntry.RedisChannelLog({ redis: 'redis://127.0.0.1:1', prefx: 'x:' } as never), field: 'new RedisChannelLog() options.prefx', suggests: 'prefix' },
      { label: "prefix ''", call: () => new redisEntry.RedisChannelLog({ redis: 'redis://127.0.0.1:1', prefix: '' }), field: 'options.prefix' },
      { label: 'ttlMs -1', call: () => new redisEntry.RedisChannelLog({ redis: 'redis://127.0.0.1:1', ttlMs: -1 }), field: 'options.ttlMs' },
    ],
  },
  'tokenflow/otel': {
    traced: [
      { label: "traced('on')", call: () => otelEntry.traced('on' as never), field: 'traced() options' },
      { label: '{ tracr }', call: () => otelEntry.traced({ tracr: {} } as never), field: 'traced() options.tracr', suggests: 'tracer' },
      { label: 'a tracer without startSpan()', call: () => otelEntry.traced({ tracer: {} as never }), field: 'traced.tracer' },
      { label: 'a meter that is a number', call: () => otelEntry.traced({ meter: 5 as never }), field: 'traced.meter' },
      { label: "captureContent 'yes'", call: () => otelEntry.traced({ captureContent: 'yes' as never }), field: 'traced.captureContent' },
      { label: 'timePerOutputChunk 1', call: () => otelEntry.traced({ timePerOutputChunk: 1 as never }), field: 'traced.timePerOutputChunk' },
      { label: "agentName ''", call: () => otelEntry.traced({ agentName: '' }), field: 'traced.agentName' },
      { label: 'a request without a model', call: () => otelEntry.traced({ request: { messages: [] } as never }), field: 'traced.request.model' },
      { label: 'serverPort without serverAddress', call: () => otelEntry.traced({ serverPort: 443 }), field: 'traced.serverPort' },
      { label: 'serverPort 0', call: () => otelEntry.traced({ serverAddress: 'api.example.com', serverPort: 0 }), field: 'traced.serverPort' },
    ],
    tracedProvider: [
      { label: 'an object that is not a provider', call: () => otelEntry.tracedProvider({} as never), field: 'provider' },
      { label: 'options that are not an object', call: () => otelEntry.tracedProvider(llm.openai(), 'on' as never), field: 'tracedProvider() options' },
      { label: '{ captureContnet }', call: () => otelEntry.tracedProvider(llm.openai(), { captureContnet: true } as never), field: 'tracedProvider() options.captureContnet', suggests: 'captureContent' },
      { label: 'a request (the provider knows it)', call: () => otelEntry.tracedProvider(llm.openai(), { request: good } as never), field: 'tracedProvider() options.request' },
      { label: "a tracer 'otel'", call: () => otelEntry.tracedProvider(llm.openai(), { tracer: 'otel' as never }), field: 'tracedProvider.tracer' },
    ],
    hubTelemetry: [
      { label: "hubTelemetry('on')", call: () => otelEntry.hubTelemetry('on' as never), field: 'hubTelemetry() options' },
      { label: '{ tracr }', call: () => otelEntry.hubTelemetry({ tracr: {} } as never), field: 'hubTelemetry() options.tracr', suggests: 'tracer' },
      { label: 'a tracer without startSpan()', call: () => otelEntry.hubTelemetry({ tracer: {} as never }), field: 'hubTelemetry.tracer' },
      { label: 'a propagator without extract()', call: () => otelEntry.hubTelemetry({ propagator: { inject: () => {} } as never }), field: 'hubTelemetry.propagator' },
    ],
  },
  'tokenflow/ag-ui': {
    aguiHubFormat: [
      { label: "aguiHubFormat('x')", call: () => aguiEntry.aguiHubFormat('x' as never), field: 'aguiHubFormat() options' },
      { label: '{ threadID }', call: () => aguiEntry.aguiHubFormat({ threadID: () => 't' } as never), field: 'aguiHubFormat() options.threadID', suggests: 'threadId' },
      { label: "runId 'r'", call: () => aguiEntry.aguiHubFormat({ runId: 'r' as never }), field: 'aguiHubFormat.runId' },
    ],
    toAGUI: [
      { label: 'toAGUI() without options', call: () => aguiEntry.toAGUI(undefined as never), field: 'options.threadId' },
      { label: "toAGUI({ threadId: '' })", call: () => aguiEntry.toAGUI({ threadId: '', runId: 'r' }), field: 'options.threadId' },
      { label: 'toAGUI() without runId', call: () => aguiEntry.toAGUI({ threadId: 't' } as never), field: 'options.runId' },
      { label: '{ runID }', call: () => aguiEntry.toAGUI({ threadId: 't', runID: 'r' } as never), field: 'toAGUI() options.runID', suggests: 'runId' },
      { label: "messageId 'm1'", call: () => aguiEntry.toAGUI({ threadId: 't', runId: 'r', messageId: 'm1' as never }), field: 'options.messageId' },
      { label: "onError 'log'", call: () => aguiEntry.toAGUI({ threadId: 't', runId: 'r', onError: 'log' as never }), field: 'options.onError' },
    ],
    AGUIEncoder: [
      { label: 'new AGUIEncoder(5)', call: () => new aguiEntry.AGUIEncoder(5 as never), field: 'new AGUIEncoder() options' },
      { label: 'new AGUIEncoder({ threadId })', call: () => new aguiEntry.AGUIEncoder({ threadId: 't' } as never), field: 'options.runId' },
      { label: '{ thread_id }', call: () => new aguiEntry.AGUIEncoder({ thread_id: 't', runId: 'r' } as never), field: 'new AGUIEncoder() options.thread_id', suggests: 'threadId' },
      { label: 'encoder.push(a string)', call: () => new aguiEntry.AGUIEncoder({ threadId: 't', runId: 'r' }).push('token' as never), field: 'event' },
    ],
    fromAGUI: [
      { label: 'fromAGUI(an array)', call: () => aguiEntry.fromAGUI([] as never), field: 'events$', how: 'errors' },
      { label: '{ onUnmaped }', call: () => aguiEntry.fromAGUI(probe$ as never, { onUnmaped: 'ignore' } as never), field: 'fromAGUI() options.onUnmaped', suggests: 'onUnmapped', how: 'errors' },
      { label: "onUnmapped 'drop'", call: () => aguiEntry.fromAGUI(probe$ as never, { onUnmapped: 'drop' as never }), field: 'options.onUnmapped', how: 'errors' },
    ],
    aguiResponse: [
      { label: 'aguiResponse(a promise)', call: () => aguiEntry.aguiResponse(Promise.resolve() as never, { threadId: 't', runId: 'r' }), field: 'tokens$', how: 'rejects' },
      { label: 'aguiResponse() without ids', call: () => aguiEntry.aguiResponse(probe$, {} as never), field: 'options.threadId', how: 'rejects' },
      { label: '{ acept }', call: () => aguiEntry.aguiResponse(probe$, { threadId: 't', runId: 'r', acept: 'x' } as never), field: 'aguiResponse() options.acept', suggests: 'accept', how: 'rejects' },
      { label: 'maxBufferedBytes 0', call: () => aguiEntry.aguiResponse(probe$, { threadId: 't', runId: 'r', maxBufferedBytes: 0 }), field: 'options.maxBufferedBytes', how: 'rejects' },
      { label: 'accept 5', call: () => aguiEntry.aguiResponse(probe$, { threadId: 't', runId: 'r', accept: 5 as never }), field: 'options.accept', how: 'rejects' },
      { label: 'headers with a number', call: () => aguiEntry.aguiResponse(probe$, { threadId: 't', runId: 'r', headers: { 'x-a': 1 } as never }), field: 'options.headers', how: 'rejects' },
    ],
    readRunAgentInput: [
      { label: 'readRunAgentInput(a string)', call: () => aguiEntry.readRunAgentInput('{}'), field: 'input' },
      { label: 'no threadId', call: () => aguiEntry.readRunAgentInput({ runId: 'r', messages: [] }), field: 'input.threadId' },
      { label: 'tools not an array', call: () => aguiEntry.readRunAgentInput({ threadId: 't', runId: 'r', messages: [], tools: {} }), field: 'input.tools' },
      { label: 'a context entry without value', call: () => aguiEntry.readRunAgentInput({ threadId: 't', runId: 'r', messages: [], context: [{ description: 'd' }] }), field: 'input.context[0].value' },
    ],
    fromAGUIMessages: [
      { label: 'fromAGUIMessages(an object)', call: () => aguiEntry.fromAGUIMessages({} as never), field: 'messages' },
      { label: 'a message of an unknown role', call: () => aguiEntry.fromAGUIMessages([{ id: '1', role: 'robot', content: 'x' } as never]), field: 'messages[0].role' },
      { label: 'a user message without content', call: () => aguiEntry.fromAGUIMessages([{ id: '1', role: 'user' } as never]), field: 'messages[0].content' },
    ],
  },
  'tokenflow/ai-sdk': {
    uiMessageStreamHubFormat: [
      { label: 'uiMessageStreamHubFormat(1)', call: () => aiSdkEntry.uiMessageStreamHubFormat(1 as never), field: 'uiMessageStreamHubFormat() options' },
      { label: '{ metadta }', call: () => aiSdkEntry.uiMessageStreamHubFormat({ metadta: true } as never), field: 'uiMessageStreamHubFormat() options.metadta', suggests: 'metadata' },
      { label: "messageId 'm'", call: () => aiSdkEntry.uiMessageStreamHubFormat({ messageId: 'm' as never }), field: 'uiMessageStreamHubFormat.messageId' },
      { label: "metadata 'yes'", call: () => aiSdkEntry.uiMessageStreamHubFormat({ metadata: 'yes' as never }), field: 'uiMessageStreamHubFormat.metadata' },
    ],
    UIMessageStreamEncoder: [
      { label: "new UIMessageStreamEncoder('msg')", call: () => new aiSdkEntry.UIMessageStreamEncoder('msg' as never), field: 'UIMessageStreamEncoder() options' },
      { label: '{ mesageId }', call: () => new aiSdkEntry.UIMessageStreamEncoder({ mesageId: 'm' } as never), field: 'UIMessageStreamEncoder() options.mesageId', suggests: 'messageId' },
      { label: "messageId ''", call: () => new aiSdkEntry.UIMessageStreamEncoder({ messageId: '' }), field: 'options.messageId' },
    ],
    toUIMessageStream: [
      { label: "toUIMessageStream('msg')", call: () => aiSdkEntry.toUIMessageStream('msg' as never), field: 'toUIMessageStream() options' },
      { label: '{ metdata }', call: () => aiSdkEntry.toUIMessageStream({ metdata: false } as never), field: 'toUIMessageStream() options.metdata', suggests: 'metadata' },
      { label: "metadata 'no'", call: () => aiSdkEntry.toUIMessageStream({ metadata: 'no' as never }), field: 'options.metadata' },
      { label: 'onError that is not a function', call: () => aiSdkEntry.toUIMessageStream({ onError: 'log' as never }), field: 'options.onError' },
    ],
    uiMessageStreamResponse: [
      { label: 'uiMessageStreamResponse(42)', call: () => aiSdkEntry.uiMessageStreamResponse(42 as never), field: 'tokens$' },
      { label: '{ maxBufferedBytes: 0 }', call: () => aiSdkEntry.uiMessageStreamResponse(probe$, { maxBufferedBytes: 0 }), field: 'options.maxBufferedBytes' },
      { label: "headers 'x'", call: () => aiSdkEntry.uiMessageStreamResponse(probe$, { headers: 'x' as never }), field: 'options.headers' },
      { label: '{ hedaers }', call: () => aiSdkEntry.uiMessageStreamResponse(probe$, { hedaers: {} } as never), field: 'uiMessageStreamResponse() options.hedaers', suggests: 'headers' },
    ],
    pipeUIMessageStream: [
      { label: 'pipeUIMessageStream({}, stream)', call: () => aiSdkEntry.pipeUIMessageStream({} as never, probe$), field: 'res', how: 'rejects' },
      { label: 'pipeUIMessageStream(res, 42)', call: () => aiSdkEntry.pipeUIMessageStream(serverResponse(), 42 as never), field: 'tokens$', how: 'rejects' },
      { label: "pipeUIMessageStream(res, stream, { messageId: 5 })", call: () => aiSdkEntry.pipeUIMessageStream(serverResponse(), probe$, { messageId: 5 as never }), field: 'options.messageId', how: 'rejects' },
    ],
    fromUIMessages: [
      { label: 'fromUIMessages(a body)', call: () => aiSdkEntry.fromUIMessages({ messages: [] } as never), field: 'messages' },
      { label: 'a message with an unknown role', call: () => aiSdkEntry.fromUIMessages([{ id: 'x', role: 'tool', parts: [] } as never]), field: 'messages[0].role' },
      { label: 'an unknown part type', call: () => aiSdkEntry.fromUIMessages([{ id: 'x', role: 'assistant', parts: [{ type: 'thought' }] }]), field: 'messages[0].parts[0].type' },
    ],
  },
};

/** Exports that are not entry points to call: error classes (constructed by tokenflow) and constants. */
const EXEMPT: Record<string, readonly string[]> = {
  tokenflow: [
    'CallbackError',
    'ChannelNotFoundError',
    'ConnectionError',
    'InvalidArgumentError',
    'MissingApiKeyError',
    'MissingDependencyError',
    'ProtocolError',
    'ProviderError',
    'QueueOverflowError',
    'RemoteStreamError',
    'SSEResponseError',
    'StreamAbortedError',
    'StreamTimeoutError',
    'TokenflowError',
    'ToolExecutionError',
    'ValidationError',
  ],
  'tokenflow/anthropic': ['ANTHROPIC_DEFAULT_MAX_TOKENS'],
  'tokenflow/openai': [],
  'tokenflow/groq': [],
  'tokenflow/openai-compatible': [],
  'tokenflow/testing': ['profiles'],
  'tokenflow/sse': ['HEARTBEAT', 'SSE_HEADERS'],
  'tokenflow/redis': [],
  'tokenflow/client': ['ConnectionError', 'ProtocolError', 'RemoteStreamError', 'SSEResponseError', 'StreamAbortedError', 'TokenflowError'],
  'tokenflow/react': [],
  'tokenflow/otel': [],
  'tokenflow/ag-ui': [],
  'tokenflow/ai-sdk': ['UI_MESSAGE_STREAM_HEADERS'],
};

const ENTRY_POINTS: Record<string, () => Promise<Record<string, unknown>>> = {
  tokenflow: () => import('tokenflow'),
  'tokenflow/anthropic': () => import('tokenflow/anthropic'),
  'tokenflow/openai': () => import('tokenflow/openai'),
  'tokenflow/groq': () => import('tokenflow/groq'),
  'tokenflow/openai-compatible': () => import('tokenflow/openai-compatible'),
  'tokenflow/testing': () => import('tokenflow/testing'),
  'tokenflow/sse': () => import('tokenflow/sse'),
  'tokenflow/client': () => import('tokenflow/client'),
  'tokenflow/redis': () => import('tokenflow/redis'),
  'tokenflow/react': () => import('tokenflow/react'),
  'tokenflow/otel': () => import('tokenflow/otel'),
  'tokenflow/ag-ui': () => import('tokenflow/ag-ui'),
  'tokenflow/ai-sdk': () => import('tokenflow/ai-sdk'),
};

/** Requests that reached any server the table could have sent to. */
function requestsSent(): number {
  return Object.values(mocks).reduce((sum, mock) => sum + mock.requests.length, 0) + sseServer.requests.length;
}

/**
 * What a call did: threw, returned a promise that rejected, returned an Observable that errored as it
 * was subscribed to, or returned (then whatever it returned is released).
 */
async function outcomeOf(call: () => unknown): Promise<{ error: unknown; how: How } | { returned: string }> {
  let value: unknown;
  try {
    value = call();
  } catch (error) {
    return { error, how: 'throws' };
  }
  if (value instanceof Promise) {
    try {
      value = await value;
    } catch (error) {
      return { error, how: 'rejects' };
    }
  }
  if (isObservable(value)) {
    // The error must arrive during subscribe(), before anything could have been sent.
    let failure: { error: unknown } | undefined;
    value.subscribe({ error: (error: unknown) => (failure = { error }) }).unsubscribe();
    if (failure) return { ...failure, how: 'errors' };
  }
  const closable = value as { close?: () => unknown } | null;
  if (typeof closable?.close === 'function') await closable.close();
  const shown = typeof value === 'string' ? JSON.stringify(value) : value === undefined ? 'undefined' : String(value);
  return { returned: shown.slice(0, 120) };
}

function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}${'field' in error ? ` (field ${String(error.field)})` : ''}: ${error.message}`;
  return String(error);
}

describe('bad input at every public entry point', () => {
  it('the table covers every export of every entry point (errors and constants listed as exempt)', async () => {
    for (const [entry, load] of Object.entries(ENTRY_POINTS)) {
      const exported = Object.keys(await load()).sort();
      const exempt = EXEMPT[entry] ?? [];
      const covered = Object.keys(TABLE[entry] ?? {});
      expect(exported.filter((name) => !exempt.includes(name) && !covered.includes(name)), `${entry}: exports without rows`).toEqual([]);
      expect([...exempt, ...covered].filter((name) => !exported.includes(name)), `${entry}: rows for names it does not export`).toEqual([]);
      for (const name of exempt) {
        const value = (await load())[name];
        // Exempt only what is not an entry point: error classes and constants.
        const isErrorClass = typeof value === 'function' && (value as { prototype?: unknown }).prototype instanceof Error;
        expect(isErrorClass || typeof value !== 'function', `${entry}: ${name} is exempt but callable`).toBe(true);
      }
    }
  });

  const rows: Array<[string, string, Row]> = [];
  const others: Array<[string, string, NoInput]> = [];
  for (const [entry, exports] of Object.entries(TABLE)) {
    for (const [name, spec] of Object.entries(exports)) {
      if (Array.isArray(spec)) for (const row of spec) rows.push([`${entry} ${name}: ${row.label}`, name, row]);
      else others.push([`${entry} ${name} (${spec.kind}: ${spec.why})`, name, spec]);
    }
  }

  it.each(rows)('%s', async (_title, _name, row) => {
    const before = requestsSent();
    const outcome = await outcomeOf(row.call);
    if (!('error' in outcome)) {
      throw new Error(`expected an InvalidArgumentError naming ${row.field}; the call returned ${outcome.returned} without an error`);
    }
    const { error } = outcome;
    expect(outcome.how, `how ${row.label} reports bad input`).toBe(row.how ?? 'throws');
    if (!InvalidArgumentError.isInstance(error)) {
      throw new Error(`expected an InvalidArgumentError naming ${row.field}; got ${describeError(error)}`);
    }
    expect(error.field).toBe(row.field);
    // Actionable: the message names what is wrong (the field's last segment) in a sentence.
    // (A stream argument is named by what it must be.)
    const leaf = row.field === 'tokens$' ? 'Observable' : row.field.split(/[.\s]/).pop()!.replace(/\(.*\)|\[\d+\]/g, '');
    expect(error.message.length).toBeGreaterThan(20);
    expect(error.message.toLowerCase()).toContain(leaf.toLowerCase());
    if (row.suggests !== undefined) expect(error.message).toMatch(new RegExp(`did you mean [^?]*\\b${row.suggests}\\?`));
    expect(requestsSent() - before, 'requests sent').toBe(0);
    expect(upstreamSubscriptions, 'subscriptions to the upstream stream').toBe(0);
  });

  it.each(others)('%s', (_title, _name, spec) => {
    spec.check();
  });

  it('no row sent a request to a mock provider or the SSE server, nor subscribed to a stream', () => {
    for (const mock of Object.values(mocks)) expect(mock.requests).toEqual([]);
    expect(sseServer.requests).toEqual([]);
    expect(upstreamSubscriptions).toBe(0);
  });
});
