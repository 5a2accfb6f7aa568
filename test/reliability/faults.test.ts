/**
 * The fault matrix: every adapter, through its real SDK over real HTTP against the mock provider,
 * under each fault a provider or network throws at it. Each case ends in the documented typed error
 * carrying the text the server wrote before the fault, or in a documented result: never a
 * truncated answer that looks complete. Cases that cancel the request check at the mock that the
 * client closed the socket.
 *
 * One row per fault (docs/reliability.md has the same table, in words).
 */
import { createServer } from 'node:net';
import { once } from 'node:events';
import type { Observable } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { streamWithCallbacks } from '../../src/bridge/streamWithCallbacks.js';
import {
  CallbackError,
  ConnectionError,
  ProtocolError,
  ProviderError,
  StreamAbortedError,
  StreamTimeoutError,
  type TokenflowError,
} from '../../src/errors.js';
import type { TokenEvent } from '../../src/events.js';
import { firstTokenTimeout } from '../../src/operators/firstTokenTimeout.js';
import { idleTimeout } from '../../src/operators/idleTimeout.js';
import { retryBeforeFirstToken } from '../../src/operators/retryBeforeFirstToken.js';
import { retryMidStream } from '../../src/operators/retryMidStream.js';
import { isRetryable } from '../../src/operators/retry-core.js';
import type { Provider } from '../../src/provider.js';
import { startMockProvider, type MockProvider, type MockProviderOptions } from '../../src/testing/index.js';
import { ADAPTER_LABELS, baseURLFor, flavorOf, makeAdapter, type AdapterLabel } from '../helpers/mock.js';
import { abortAfter, run, type Outcome } from '../helpers/run.js';
import { budget } from '../helpers/budget.js';
import { recordFigure, soakScale, soakTimeout } from './soak.js';

/** Six deltas, multi-byte ones among them, so partial texts cut through no character. */
const TEXT = ['Hello', ', wörld', ' 👋🏽', ' 你好', ' again', '!'];
const REQUEST = { model: 'test-model', messages: [{ role: 'user' as const, content: 'Say hello.' }] };
const ALL = ADAPTER_LABELS;
const STRICT = ALL.filter((a) => a !== 'openai-compatible');
const FAST_RETRY = { backoff: { initialMs: 1, jitter: false } } as const;
const RETRY_AFTER_MS = 200;
/**
 * The idle timeout of the stall cases. The stall never ends, so any value shows the timeout; it must
 * only be longer than the gaps before the stall on a loaded machine (200 ms once missed the first
 * token with both cores busy), so it is a hang-guard-sized budget, scaled for load.
 */
const IDLE_MS = budget(1_000);

type ErrorClass = { readonly kind: string; isInstance(value: unknown): boolean; name: string };

interface Context {
  label: AdapterLabel;
  llm: Provider;
  /** `undefined` for the closed-port case. */
  mock: MockProvider | undefined;
}

interface Row {
  /** The fault, as the docs table says it. */
  fault: string;
  adapters: readonly AdapterLabel[];
  /** The mock's script, faults and chunking (the script defaults to TEXT); `false`: no server at all. */
  mock?: ((label: AdapterLabel) => Omit<MockProviderOptions, 'flavor'>) | false;
  /** How the app consumes the stream. @defaultValue run(llm.stream(REQUEST)) */
  act?: (ctx: Context) => Promise<Outcome>;
  /** The documented end: an error class with its fields and partial text, or a completed answer. */
  expected:
    | { error: ErrorClass; fields?: Record<string, unknown>; partialText: string; cause?: unknown }
    | { result: { text: string; usageEstimated?: boolean } };
  /** Requests the mock must have received. @defaultValue 1 */
  requests?: number;
  /** Responses (by request index) that the client must have closed before the server finished. */
  closedByClient?: number[];
  /** Response whose `tokensWritten` must equal the partial text's token count (the server stops at the fault). */
  serverStopsAt?: number;
  /** Anything else the row promises. */
  also?: (outcome: Outcome, ctx: Context) => void | Promise<void>;
}

const first = (n: number) => TEXT.slice(0, n).join('');
const recordedAbortWait = new Set<AdapterLabel>();

/** The in-stream error a 5xx stands for on each wire (Anthropic `api_error` is 500). */
const serverError = (label: AdapterLabel) =>
  label === 'anthropic' ? { type: 'api_error', message: 'Internal server error' } : { type: 'server_error', message: 'The server had an error' };

const boom = new Error('onToken exploded');

const ROWS: Row[] = [
  {
    fault: 'connection reset after 3 tokens',
    adapters: ALL,
    mock: () => ({ faults: { resetAfter: 3 } }),
    expected: { error: ConnectionError, fields: { retryable: true }, partialText: first(3) },
    serverStopsAt: 0,
  },
  {
    fault: `stall after 3 tokens, idleTimeout(${IDLE_MS})`,
    adapters: ALL,
    mock: () => ({ faults: { stallAfter: 3 } }),
    act: ({ llm }) => run(llm.stream(REQUEST).pipe(idleTimeout(IDLE_MS))),
    expected: { error: StreamTimeoutError, fields: { kind: 'idle', timeoutMs: IDLE_MS }, partialText: first(3) },
    closedByClient: [0],
    serverStopsAt: 0,
  },
  {
    fault: 'body ends without the terminal event',
    adapters: STRICT,
    mock: () => ({ faults: { noTerminal: true } }),
    expected: { error: ProtocolError, fields: { line: undefined }, partialText: first(6) },
  },
  {
    fault: 'body ends after finish_reason without [DONE] (lenient by design)',
    adapters: ['openai-compatible'],
    mock: () => ({ faults: { noTerminal: true } }),
    expected: { result: { text: first(6) } },
  },
  {
    fault: 'body ends cleanly mid-answer, before any finish_reason',
    adapters: ['openai-compatible'],
    mock: () => ({ script: { raw: chatChunks(TEXT.slice(0, 3)) } }),
    expected: { error: ProtocolError, partialText: first(3) },
  },
  {
    fault: 'malformed JSON line after 3 tokens',
    adapters: ALL,
    mock: () => ({ faults: { malformedAfter: 3 } }),
    expected: { error: ProtocolError, partialText: first(3) },
    also: (outcome) => expect((outcome.error as ProtocolError).line).toMatch(/^\{.*[^}]$/),
  },
  {
    fault: '`data: null` after 3 tokens',
    adapters: ALL,
    mock: () => ({ faults: { rawAfter: { tokens: 3, text: 'data: null\n\n' } } }),
    act: ({ llm }) => run(llm.stream(REQUEST).pipe(retryBeforeFirstToken(FAST_RETRY))),
    // Not retryable: the server speaks something else; a retry would not mend it.
    expected: { error: ProtocolError, fields: { line: 'null' }, partialText: first(3) },
    also: (outcome) => expect(isRetryable(outcome.error)).toBe(false),
  },
  {
    fault: 'a JSON number where a chunk should be, before the first token',
    adapters: ALL,
    mock: () => ({ faults: { rawAfter: { tokens: 0, text: 'data: 42\n\n' } } }),
    act: ({ llm }) => run(llm.stream(REQUEST).pipe(retryBeforeFirstToken(FAST_RETRY))),
    expected: { error: ProtocolError, fields: { line: '42' }, partialText: '' },
    requests: 1,
  },
  {
    fault: 'unknown SSE fields, a bare keep-alive line and comments after 3 tokens',
    adapters: ALL,
    mock: () => ({ faults: { rawAfter: { tokens: 3, text: 'keep-alive\nfoo: bar\n: ping\nretry: soon\n\n' } } }),
    expected: { result: { text: first(6) } },
  },
  {
    fault: 'one data line larger than 8 MiB after 3 tokens',
    adapters: ALL,
    mock: () => ({ faults: { rawAfter: { tokens: 3, text: `data: "${'x'.repeat(8 * 1024 * 1024 + 16)}"\n\n` } } }),
    expected: { error: ProtocolError, partialText: first(3) },
    also: (outcome) => expect((outcome.error as Error).message).toMatch(/larger than 8388608 characters/),
  },
  {
    fault: 'error event after 3 tokens',
    adapters: ALL,
    mock: () => ({ faults: { errorEventAfter: 3 } }),
    expected: { error: ProviderError, fields: { inStream: true, retryable: true }, partialText: first(3) },
    serverStopsAt: 0,
  },
  {
    fault: `429 with retry-after, retryBeforeFirstToken`,
    adapters: ALL,
    mock: () => ({
      faults: (request) =>
        request.index === 0 ? { http: { status: 429, headers: { 'retry-after-ms': String(RETRY_AFTER_MS) } } } : undefined,
    }),
    act: ({ llm }) => run(llm.stream(REQUEST).pipe(retryBeforeFirstToken(FAST_RETRY))),
    expected: { result: { text: first(6) } },
    requests: 2,
    also: (outcome, { mock }) => {
      // Retried once, and not before the provider's delay (a lower bound; 2 ms for timer rounding).
      const [a, b] = mock!.requests;
      expect(b!.receivedAt - a!.receivedAt).toBeGreaterThanOrEqual(RETRY_AFTER_MS - 2);
      expect(outcome.events.filter((e) => e.type === 'reset')).toEqual([]);
    },
  },
  {
    fault: 'connection reset before the first token, retryBeforeFirstToken',
    adapters: ALL,
    mock: () => ({ faults: (request) => (request.index === 0 ? { resetAfter: 0 } : undefined) }),
    act: ({ llm }) => run(llm.stream(REQUEST).pipe(retryBeforeFirstToken(FAST_RETRY))),
    expected: { result: { text: first(6) } },
    requests: 2,
  },
  {
    fault: 'error event before the first token, retryBeforeFirstToken',
    adapters: ALL,
    mock: () => ({ faults: (request) => (request.index === 0 ? { errorEventAfter: 0 } : undefined) }),
    act: ({ llm }) => run(llm.stream(REQUEST).pipe(retryBeforeFirstToken(FAST_RETRY))),
    expected: { result: { text: first(6) } },
    requests: 2,
  },
  {
    fault: `stall before the first token, firstTokenTimeout(${IDLE_MS})`,
    adapters: ALL,
    mock: () => ({ faults: { stallAfter: 0 } }),
    act: ({ llm }) => run(llm.stream(REQUEST).pipe(firstTokenTimeout(IDLE_MS))),
    expected: { error: StreamTimeoutError, fields: { kind: 'first-token', timeoutMs: IDLE_MS }, partialText: '' },
    closedByClient: [0],
    serverStopsAt: 0,
  },
  {
    fault: '429 asking for longer than maxRetryAfterMs, retryBeforeFirstToken',
    adapters: ['openai', 'anthropic'],
    mock: () => ({ faults: { http: { status: 429, headers: { 'retry-after': '120' } } } }),
    act: ({ llm }) => run(llm.stream(REQUEST).pipe(retryBeforeFirstToken(FAST_RETRY))),
    expected: { error: ProviderError, fields: { status: 429, retryable: true, retryAfterMs: 120_000 }, partialText: '' },
  },
  {
    fault: '429 with retry-after, no retry operator',
    adapters: ['openai', 'anthropic'],
    mock: () => ({ faults: { http: { status: 429, headers: { 'retry-after': '3' } } } }),
    expected: { error: ProviderError, fields: { status: 429, retryable: true, retryAfterMs: 3000, inStream: false }, partialText: '' },
  },
  {
    fault: '503 before the first token, retryBeforeFirstToken',
    adapters: ALL,
    mock: () => ({ faults: (request) => (request.index === 0 ? { http: { status: 503 } } : undefined) }),
    act: ({ llm }) => run(llm.stream(REQUEST).pipe(retryBeforeFirstToken(FAST_RETRY))),
    expected: { result: { text: first(6) } },
    requests: 2,
  },
  {
    fault: '5xx error event after 2 tokens, retryBeforeFirstToken',
    adapters: ALL,
    mock: (label) => ({ faults: { errorEventAfter: 2, error: serverError(label) } }),
    act: ({ llm }) => run(llm.stream(REQUEST).pipe(retryBeforeFirstToken(FAST_RETRY))),
    expected: { error: ProviderError, fields: { inStream: true, retryable: true }, partialText: first(2) },
    serverStopsAt: 0,
  },
  {
    fault: '5xx error event after 2 tokens, retryMidStream',
    adapters: ALL,
    mock: (label) => ({ faults: (request) => (request.index === 0 ? { errorEventAfter: 2, error: serverError(label) } : undefined) }),
    act: ({ llm }) => run(llm.stream(REQUEST).pipe(retryMidStream(FAST_RETRY))),
    expected: { result: { text: first(6) } },
    requests: 2,
    also: (outcome) => {
      const types = outcome.events.map((e) => e.type);
      expect(types.filter((t) => t === 'reset')).toHaveLength(1);
      expect(types.filter((t) => t === 'start')).toHaveLength(1);
      const before = outcome.events.slice(0, types.indexOf('reset'));
      expect(before.map((e) => (e.type === 'token' ? e.text : '')).join('')).toBe(first(2));
    },
  },
  {
    fault: '5xx error event after 2 tokens on every attempt, retryMidStream gives up',
    adapters: ALL,
    mock: (label) => ({ faults: { errorEventAfter: 2, error: serverError(label) } }),
    act: ({ llm }) => run(llm.stream(REQUEST).pipe(retryMidStream({ ...FAST_RETRY, maxRetries: 2 }))),
    // The partial text is the last attempt's: what the app shows after the last `reset`.
    expected: { error: ProviderError, fields: { inStream: true, retryable: true }, partialText: first(2) },
    requests: 3,
    also: (outcome) => {
      const types = outcome.events.map((e) => e.type);
      expect(types.filter((t) => t === 'reset')).toHaveLength(2);
      const afterReset = outcome.events.slice(types.lastIndexOf('reset') + 1);
      expect(afterReset.map((e) => (e.type === 'token' ? e.text : '')).join('')).toBe(first(2));
    },
  },
  {
    fault: `stall after 3 tokens on the first attempt, idleTimeout(${IDLE_MS}) + retryMidStream`,
    adapters: ALL,
    mock: () => ({ faults: (request) => (request.index === 0 ? { stallAfter: 3 } : undefined) }),
    act: ({ llm }) => run(llm.stream(REQUEST).pipe(idleTimeout(IDLE_MS), retryMidStream(FAST_RETRY))),
    expected: { result: { text: first(6) } },
    requests: 2,
    closedByClient: [0],
    also: (outcome) => expect(outcome.events.filter((e) => e.type === 'reset')).toHaveLength(1),
  },
  {
    fault: 'usage sent on every other request',
    adapters: ALL,
    mock: () => ({ script: (request) => ({ text: TEXT, usage: request.index % 2 === 0 ? { inputTokens: 7, outputTokens: 6 } : false }) }),
    act: async ({ llm }) => {
      const outcomes: Outcome[] = [];
      for (let i = 0; i < 4; i++) outcomes.push(await run(llm.stream(REQUEST)));
      const usages = outcomes.map((o) => {
        expect(o.error).toBeUndefined(); // shows the error, if any, before `completed` fails
        expect(o.completed).toBe(true);
        const usage = o.events.find((e) => e.type === 'usage');
        return usage?.type === 'usage' ? usage.usage : undefined;
      });
      expect(usages.map((u) => u?.estimated)).toEqual([false, true, false, true]);
      expect(usages[0]).toEqual({ inputTokens: 7, outputTokens: 6, estimated: false });
      for (const u of [usages[1]!, usages[3]!]) {
        expect(u.inputTokens).toBeGreaterThan(0);
        expect(u.outputTokens).toBeGreaterThan(0);
      }
      return outcomes[3]!;
    },
    expected: { result: { text: first(6), usageEstimated: true } },
    requests: 4,
  },
  {
    fault: 'server rejects stream_options (HTTP 400)',
    adapters: ['openai-compatible'],
    mock: () => ({ faults: { rejectStreamOptions: true } }),
    act: async ({ llm }) => {
      const outcome = await run(llm.stream(REQUEST));
      const again = await run(llm.stream(REQUEST));
      expect(again.text).toBe(first(6));
      return outcome;
    },
    expected: { result: { text: first(6), usageEstimated: true } },
    requests: 3,
    also: (_outcome, { mock }) => {
      // Asked with stream_options, asked again without, and remembered.
      expect(mock!.requests.map((r) => r.body.stream_options !== undefined)).toEqual([true, false, false]);
    },
  },
  {
    fault: 'server rejects stream_options (HTTP 400)',
    adapters: ['openai'],
    mock: () => ({ faults: { rejectStreamOptions: true } }),
    expected: { error: ProviderError, fields: { status: 400, retryable: false }, partialText: '' },
  },
  {
    fault: 'onToken throws on the 3rd token (streamWithCallbacks)',
    adapters: ALL,
    mock: () => ({ faults: { stallAfter: 5 } }),
    act: ({ llm }) => {
      let calls = 0;
      return settle(llm.stream(REQUEST), (stream$, onEvent) =>
        streamWithCallbacks(stream$, {
          onEvent,
          onToken: () => {
            if (++calls === 3) throw boom;
          },
        }),
      );
    },
    expected: { error: CallbackError, partialText: first(3), cause: boom },
    closedByClient: [0],
  },
  {
    fault: 'AbortSignal aborted after 3 tokens',
    adapters: ALL,
    mock: () => ({ faults: { stallAfter: 5 } }),
    act: ({ llm }) => abortAfter((signal) => llm.stream(REQUEST, { signal }), 3),
    expected: { error: StreamAbortedError, partialText: first(3) },
    closedByClient: [0],
  },
  {
    fault: 'AbortSignal aborted before the call',
    adapters: ['openai', 'anthropic'],
    act: ({ llm }) => run(llm.stream(REQUEST, { signal: AbortSignal.abort() })),
    expected: { error: StreamAbortedError, partialText: '' },
    requests: 0,
  },
  {
    fault: 'AbortSignal aborted after 3 tokens (streamWithCallbacks)',
    adapters: ['openai', 'anthropic'],
    mock: () => ({ faults: { stallAfter: 5 } }),
    act: ({ llm }) => {
      const controller = new AbortController();
      let tokens = 0;
      return settle(llm.stream(REQUEST), (stream$, onEvent) =>
        streamWithCallbacks(stream$, {
          onEvent,
          signal: controller.signal,
          onToken: () => {
            if (++tokens === 3) controller.abort();
          },
        }),
      );
    },
    expected: { error: StreamAbortedError, partialText: first(3) },
    closedByClient: [0],
  },
  {
    fault: 'AbortSignal aborted while retryBeforeFirstToken waits out a retry-after',
    adapters: ['openai', 'anthropic'],
    mock: () => ({ faults: { http: { status: 429, headers: { 'retry-after-ms': String(RETRY_AFTER_MS) } } } }),
    act: async ({ llm, mock, label }) => {
      const controller = new AbortController();
      const outcome = run(llm.stream(REQUEST, { signal: controller.signal }).pipe(retryBeforeFirstToken(FAST_RETRY)));
      // Abort once the 429 has been answered (if the client had not read it yet, the outcome is the same).
      await mock!.waitForClose(0);
      await new Promise((r) => setTimeout(r, 20));
      const abortedAt = performance.now();
      controller.abort();
      const result = await outcome;
      // Recorded (once per adapter), not asserted: how long the abort waited for the retry delay to end.
      if (!recordedAbortWait.has(label)) {
        recordedAbortWait.add(label);
        recordFigure('faults', 'abortDuringRetryWaitMs', { adapter: label, retryAfterMs: RETRY_AFTER_MS, errorAfterAbortMs: Math.round(performance.now() - abortedAt) });
      }
      return result;
    },
    expected: { error: StreamAbortedError, partialText: '' },
    requests: 1,
  },
  {
    fault: 'AbortSignal aborted while retryBeforeFirstToken waits out a retry-after (streamWithCallbacks)',
    adapters: ['openai', 'anthropic'],
    mock: () => ({ faults: { http: { status: 429, headers: { 'retry-after-ms': '30000' } } } }),
    act: ({ llm, mock }) => {
      const controller = new AbortController();
      void mock!.waitForClose(0).then(() => setTimeout(() => controller.abort(), 20));
      return settle(llm.stream(REQUEST).pipe(retryBeforeFirstToken(FAST_RETRY)), (stream$, onEvent) =>
        streamWithCallbacks(stream$, { onEvent, signal: controller.signal }),
      );
    },
    expected: { error: StreamAbortedError, partialText: '' },
    requests: 1,
  },
  {
    fault: 'AbortSignal aborted while retryBeforeFirstToken({ signal }) waits out a 60 s retry-after',
    adapters: ['openai', 'anthropic'],
    mock: () => ({ faults: { http: { status: 429, headers: { 'retry-after-ms': '60000' } } } }),
    act: async ({ llm, mock }) => {
      const controller = new AbortController();
      // Given the signal, the operator ends the wait at once (else this test would run into its timeout).
      const outcome = run(
        llm.stream(REQUEST, { signal: controller.signal }).pipe(retryBeforeFirstToken({ ...FAST_RETRY, signal: controller.signal })),
      );
      await mock!.waitForClose(0);
      await new Promise((r) => setTimeout(r, 20));
      controller.abort();
      return outcome;
    },
    expected: { error: StreamAbortedError, partialText: '' },
    requests: 1,
  },
  {
    fault: 'connection refused (a closed port on 127.0.0.1)',
    adapters: ALL,
    mock: false,
    expected: { error: ConnectionError, fields: { retryable: true }, partialText: '' },
  },
  {
    fault: 'connection refused, retryBeforeFirstToken gives up',
    adapters: ['openai', 'anthropic'],
    mock: false,
    act: ({ llm }) => run(llm.stream(REQUEST).pipe(retryBeforeFirstToken({ ...FAST_RETRY, maxRetries: 2 }))),
    expected: { error: ConnectionError, fields: { retryable: true }, partialText: '' },
  },
];

/** An OpenAI-compatible body that stops after these deltas: no finish_reason, no [DONE]. */
function chatChunks(deltas: string[]): string {
  return deltas
    .map((content, i) => `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', model: 'm', choices: [{ index: 0, delta: i === 0 ? { role: 'assistant', content } : { content }, finish_reason: null }] })}\n\n`)
    .join('');
}

/** Runs a promise-returning consumer, collecting its events, into the shape `run()` gives. */
async function settle(
  stream$: Observable<TokenEvent>,
  consume: (stream$: Observable<TokenEvent>, onEvent: (event: TokenEvent) => void) => Promise<unknown>,
): Promise<Outcome> {
  const events: TokenEvent[] = [];
  let error: unknown;
  let completed = false;
  try {
    await consume(stream$, (event) => void events.push(event));
    completed = true;
  } catch (e) {
    error = e;
  }
  return { events, error, completed, text: events.map((e) => (e.type === 'token' ? e.text : '')).join('') };
}

/** A port on 127.0.0.1 that was just free and is now closed: connecting to it is refused. */
async function closedPort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const CASES = ROWS.flatMap((row) => row.adapters.map((label) => [`${row.fault} [${label}]`, row, label] as const));
/**
 * How often each case runs: once in `npm test`; in `npm run soak` 20 times, every run after the
 * first with the body cut into random pieces of 1 to 16 bytes (another seed each time).
 */
const REPEATS = soakScale(1, 20);

describe('fault matrix', () => {
  const missingUsage: string[] = [];
  it.each(CASES)('%s', async (_name, row, label) => {
    for (let repeat = 0; repeat < REPEATS; repeat++) await runCase(row, label, repeat);
  }, soakTimeout(30_000));

  async function runCase(row: Row, label: AdapterLabel, repeat: number): Promise<void> {
    const chunking = repeat === 0 ? {} : { chunking: { random: { maxBytes: 16 } }, seed: repeat };
    const mock =
      row.mock === false
        ? undefined
        : await startMockProvider({ flavor: flavorOf(label), script: { text: TEXT }, ...chunking, ...row.mock?.(label) });
    try {
      const url = mock?.url ?? `http://127.0.0.1:${await closedPort()}`;
      const ctx: Context = { label, mock, llm: makeAdapter(label, baseURLFor(label, url)) };
      const outcome = await (row.act ?? (({ llm }) => run(llm.stream(REQUEST))))(ctx);
      const types = outcome.events.map((e) => e.type);

      if ('error' in row.expected) {
        const want = row.expected;
        const error = outcome.error as TokenflowError;
        // Never a truncated success: the stream errored, and no `done` was emitted.
        expect(outcome.completed).toBe(false);
        expect(types).not.toContain('done');
        expect(error, `expected a ${want.error.name}`).toBeDefined();
        expect(want.error.isInstance(error), `${error?.name}: ${error?.message}`).toBe(true);
        expect(error.partialText).toBe(want.partialText);
        // What the app was shown before the error is exactly the partial text.
        if (!types.includes('reset')) expect(outcome.text).toBe(want.partialText);
        if (want.fields) expect(error).toMatchObject(want.fields);
        if (want.cause !== undefined) expect(error.cause).toBe(want.cause);
        // Errors from the adapter and the operators name it; the callback bridge never saw which it was.
        if (!row.fault.includes('streamWithCallbacks')) expect(error.provider).toBe(ctx.llm.name);
      } else {
        const want = row.expected.result;
        expect(outcome.error).toBeUndefined();
        expect(outcome.completed).toBe(true);
        expect(types.at(-1)).toBe('done');
        const afterReset = outcome.events.slice(types.lastIndexOf('reset') + 1);
        expect(afterReset.map((e) => (e.type === 'token' ? e.text : '')).join('')).toBe(want.text);
        if (want.usageEstimated !== undefined) {
          const usage = outcome.events.find((e) => e.type === 'usage');
          expect(usage?.type === 'usage' && usage.usage.estimated).toBe(want.usageEstimated);
        }
      }

      if (mock) {
        expect(mock.requests).toHaveLength(row.requests ?? 1);
        for (const index of row.closedByClient ?? []) {
          const log = await mock.waitForClose(index, 5_000);
          expect(log.closedByClient, `response ${index} closed by the client`).toBe(true);
          expect(log.finished).toBe(false);
        }
        if (row.serverStopsAt !== undefined && 'error' in row.expected) {
          // The partial text is exactly what the server wrote before its fault.
          const written = mock.responses[row.serverStopsAt]!.tokensWritten;
          expect(row.expected.partialText).toBe(first(written));
        }
      }
      await row.also?.(outcome, ctx);
      if ('error' in row.expected && types.includes('start')) {
        // Checked once for the whole matrix below, so a missing usage never hides a row's checks.
        const error = outcome.error as TokenflowError;
        if (!error.usage && repeat === 0) missingUsage.push(`${error.name} from "${row.fault}" [${label}]`);
      }
    } finally {
      await mock?.close();
    }
  }

  it('every error raised after the stream began carries the usage so far', () => {
    // src/errors.ts: "Errors raised after a stream began carry the partial text and the usage so
    // far"; docs/providers.md says the same. Collected over every row above.
    expect(missingUsage).toEqual([]);
  });

  it('records the matrix it ran', () => {
    recordFigure('faults', 'matrix', {
      rows: ROWS.length,
      cases: CASES.length,
      repeatsPerCase: REPEATS,
      outcomes: ROWS.map((r) => ({
        fault: r.fault,
        adapters: r.adapters,
        outcome: 'error' in r.expected ? r.expected.error.name : 'result',
      })),
    });
    expect(CASES.length).toBeGreaterThan(60);
  });
});
