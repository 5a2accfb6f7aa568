/**
 * `tokenflow/testing`: a local mock provider. A real HTTP server on 127.0.0.1 that speaks the exact
 * streaming wire format of Anthropic, OpenAI (Chat Completions and Responses), Groq or an
 * OpenAI-compatible server, from a script or a latency profile, with faults on demand and a log of
 * what it received and when each connection closed. Test your app without keys or network.
 *
 * @packageDocumentation
 */
import { EventEmitter, once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { InvalidArgumentError } from '../errors.js';
import { isPlainObject, rejectUnknownKeys, requireNumber, requireObject } from '../validate.js';
import { createRandom, draw, splitBytes } from './random.js';
import {
  apiFor,
  encodeDocument,
  encodeStream,
  errorBody,
  errorFrames,
  malformedFrame,
  outputSchemaOf,
  toolResultsOf,
  type Frame,
  type MockFlavor,
  type MockStopReason,
  type ResolvedAnswer,
} from './wire.js';

export type { MockFlavor, MockStopReason, MockToolResult } from './wire.js';
import type { MockToolResult } from './wire.js';

/** What the mock answers. Anything left out gets a sensible default. */
export interface MockScript {
  /**
   * The answer text. A string is split into word-sized deltas with their leading whitespace
   * (`"Hello world"` → `"Hello"`, `" world"`); an array is taken as the exact deltas.
   */
  text?: string | string[];
  /** Without `text`: this many deterministic filler tokens (for benchmarks and load tests). */
  tokens?: number;
  /** Reasoning deltas: Anthropic thinking, `reasoning_content` (compatible), `reasoning` (Groq), Responses summaries. */
  reasoning?: string | string[];
  /** Tool calls; `arguments` as an array gives the exact fragments. */
  toolCalls?: Array<{ id?: string; name: string; arguments: string | string[] }>;
  /** Refusal deltas (OpenAI `delta.refusal`, Responses `response.refusal.delta`). */
  refusal?: string | string[];
  /** Why the answer stops, in tokenflow's terms; mapped to the provider's own name. @defaultValue 'end' (or 'tool_use' with tool calls) */
  stopReason?: MockStopReason;
  /** Usage to report, or `false` for none. @defaultValue estimated from the request and the deltas */
  usage?: { inputTokens: number; outputTokens: number } | false;
  /** @defaultValue the request's model */
  model?: string;
  /** @defaultValue a provider-style id (`msg_…`, `chatcmpl-…`, `resp_…`) */
  id?: string;
}

/** Replays a recorded response byte for byte (test fixtures). */
export interface RawScript {
  raw: string | Uint8Array;
  /** @defaultValue 200 */
  status?: number;
  /** @defaultValue `content-type: text/event-stream` */
  headers?: Record<string, string>;
}

/** How fast the mock answers: time to first token, then tokens per second. A range is drawn per request. */
export interface LatencyProfile {
  ttftMs: number | readonly [min: number, max: number];
  tokensPerSecond: number | readonly [min: number, max: number];
}

/** Latency profiles modelled on the providers. */
export const profiles = {
  /** OpenAI: about 0.5–2 s to the first token, 15–25 tokens/s. */
  openai: { ttftMs: [500, 2000], tokensPerSecond: [15, 25] },
  /** Claude: about 1–2 s to the first token, 20–30 tokens/s. */
  anthropic: { ttftMs: [1000, 2000], tokensPerSecond: [20, 30] },
  /** Groq: about 0.2–0.5 s to the first token, 100–200 tokens/s. */
  groq: { ttftMs: [200, 500], tokensPerSecond: [100, 200] },
  /** No delay at all (the default). */
  instant: { ttftMs: 0, tokensPerSecond: Number.POSITIVE_INFINITY },
} as const satisfies Record<string, LatencyProfile>;

/** Failures to inject. Token counts refer to text deltas written. */
export interface MockFault {
  /** Answer with this HTTP status instead (body defaults to the provider's error JSON). */
  http?: { status: number; body?: unknown; headers?: Record<string, string> };
  /** After this many tokens, send the provider's in-stream error event and end the response. */
  errorEventAfter?: number;
  /** The in-stream error to send. @defaultValue overloaded_error (Anthropic), server_error (others) */
  error?: { type: string; message: string; code?: string };
  /** After this many tokens, destroy the socket (a connection reset). */
  resetAfter?: number;
  /** After this many tokens, stop writing but keep the connection open until someone closes it. */
  stallAfter?: number;
  /** After this many tokens, write a data line with truncated JSON, then go on. */
  malformedAfter?: number;
  /**
   * After `tokens` tokens, write `text` to the body as it is, then go on: hostile or unusual wire
   * input (`data: null`, unknown SSE fields, an oversized line) in the middle of a real answer.
   */
  rawAfter?: { tokens: number; text: string };
  /** End the response cleanly without the provider's terminal event. */
  noTerminal?: boolean;
  /** Answer 400 when the request has `stream_options` (as some OpenAI-compatible servers do). */
  rejectStreamOptions?: boolean;
}

/** How the body is cut into writes. */
export type MockChunking = 'event' | 'whole' | 'byte' | { random: { maxBytes?: number } };

/** Options for {@link startMockProvider}. */
export interface MockProviderOptions {
  flavor: MockFlavor;
  /** What to answer: a script, a raw transcript, or a function of the request. */
  script?: MockScript | RawScript | ((request: MockRequest) => MockScript | RawScript);
  /** @defaultValue 'instant' */
  profile?: LatencyProfile | keyof typeof profiles;
  /** Failures, for every request or per request (`request.index` counts from 0). */
  faults?: MockFault | ((request: MockRequest) => MockFault | undefined);
  /** @defaultValue 'event' (one write per SSE event) */
  chunking?: MockChunking;
  /** Seed for chunking, profiles and filler. @defaultValue 1 */
  seed?: number;
  /** @defaultValue 0 (a free port) */
  port?: number;
  /**
   * Pad every Chat Completions chunk and every Responses delta event with an `obfuscation` field of
   * 1 to 16 random letters and digits, as OpenAI does by default (a side-channel mitigation that
   * makes every chunk differ), unless the request sends `stream_options.include_obfuscation: false`.
   * Only for the `openai` flavor. Off by default: the frames stay the same bytes for the same
   * answer, as tests that compare them expect.
   * @defaultValue false
   */
  obfuscation?: boolean;
}

/** A request the mock received. */
export interface MockRequest {
  index: number;
  method: string;
  path: string;
  /** Lower-case header names. */
  headers: Record<string, string>;
  /** The parsed JSON body (the raw text if it was not JSON). */
  body: any;
  /** `performance.now()` at arrival. */
  receivedAt: number;
  /**
   * The tool results the request sent back, read from its wire format (Anthropic `tool_result`
   * blocks, Chat `role: 'tool'` messages, Responses `function_call_output` items), in order: what a
   * tool loop's follow-up request answered. A script function can answer by them.
   */
  toolResults: MockToolResult[];
  /**
   * The JSON Schema the request asked the answer to follow (structured output: Anthropic
   * `output_config.format`, Chat `response_format`, Responses `text.format`), or `undefined`. A
   * script answers it with JSON `text` as usual.
   */
  output?: unknown;
}

/** What happened to one response. */
export interface MockResponseLog {
  requestIndex: number;
  path: string;
  status: number;
  stream: boolean;
  startedAt: number;
  /** `performance.now()` when the response or its connection closed. */
  closedAt?: number;
  /** The server wrote the whole response. */
  finished: boolean;
  /** The client closed the connection before the server finished: cancellation reached the socket. */
  closedByClient: boolean;
  /** Text tokens written before the close. */
  tokensWritten: number;
  /** The drawn time to first token and rate, in ms and tokens/s. */
  ttftMs: number;
  tokensPerSecond: number;
}

/** A running mock provider. */
export interface MockProvider {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  /** What to give the SDK or adapter as `baseURL` (Anthropic and Groq: `url`; OpenAI and compatible: `url/v1`). */
  readonly baseURL: string;
  readonly requests: readonly MockRequest[];
  readonly responses: readonly MockResponseLog[];
  /**
   * Resolves once the response to request `requestIndex` has closed, either way; rejects after
   * `timeoutMs` (a hang catcher, generous so a busy machine never trips it). @defaultValue 20_000
   */
  waitForClose(requestIndex: number, timeoutMs?: number): Promise<MockResponseLog>;
  /** Forgets the logs; request indices start again at 0. */
  reset(): void;
  /** Stops the server and destroys open connections, stalled ones too. */
  close(): Promise<void>;
}

const PADDING = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const FILLER = ['stream', 'token', 'river', 'signal', 'answer', 'quiet', 'model', 'light', 'socket', 'event', 'green', 'value'];

function isRaw(script: MockScript | RawScript): script is RawScript {
  return 'raw' in script;
}

function asDeltas(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  if (Array.isArray(value)) return value;
  return value.match(/\s*\S+|\s+$/g) ?? [];
}

function resolveAnswer(script: MockScript, request: MockRequest, flavor: MockFlavor, api: string, random: () => number): ResolvedAnswer {
  let text = asDeltas(script.text);
  if (script.text === undefined && script.tokens !== undefined) {
    text = Array.from({ length: script.tokens }, () => ` ${FILLER[Math.floor(random() * FILLER.length)]}`);
  }
  const toolCalls = (script.toolCalls ?? []).map((call, i) => ({
    id: call.id ?? (flavor === 'anthropic' ? `toolu_mock${i}` : `call_mock${i}`),
    name: call.name,
    arguments: Array.isArray(call.arguments) ? call.arguments : [call.arguments],
  }));
  const hex = Math.floor(random() * 2 ** 48).toString(16).padStart(12, '0');
  const id = script.id ?? (api === 'messages' ? `msg_mock${hex}` : api === 'responses' ? `resp_mock${hex}` : `chatcmpl-mock${hex}`);
  const promptChars = JSON.stringify(request.body?.messages ?? request.body?.input ?? '').length;
  const deltas = text.length + asDeltas(script.reasoning).length + toolCalls.reduce((n, c) => n + c.arguments.length, 0);
  return {
    model: script.model ?? (typeof request.body?.model === 'string' ? request.body.model : 'mock-model'),
    id,
    text,
    reasoning: asDeltas(script.reasoning),
    refusal: asDeltas(script.refusal),
    toolCalls,
    stopReason: script.stopReason ?? (script.refusal ? 'refusal' : toolCalls.length > 0 ? 'tool_use' : 'end'),
    usage: script.usage === false ? false : (script.usage ?? { inputTokens: Math.max(1, Math.ceil(promptChars / 4)), outputTokens: deltas }),
  };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Resolves after `ms`, or at once when `signal` aborts; never leaves a timer behind. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * Starts a mock provider on a free loopback port.
 *
 * @example
 * const mock = await startMockProvider({ flavor: 'openai', script: { text: 'Hello there' } });
 * const llm = openai({ apiKey: 'test', baseURL: mock.baseURL });
 * // … llm.stream(…) …
 * await mock.close();
 */
export async function startMockProvider(options: MockProviderOptions): Promise<MockProvider> {
  checkMockOptions(options);
  const { flavor, chunking = 'event', seed = 1 } = options;
  const profile: LatencyProfile =
    typeof options.profile === 'string' ? profiles[options.profile] : (options.profile ?? profiles.instant);
  const random = createRandom(seed);
  /** OpenAI's padding: 1-16 letters and digits, different in every chunk. */
  const obfuscation = () => {
    let padding = '';
    for (let i = 1 + Math.floor(random() * 16); i > 0; i--) padding += PADDING[Math.floor(random() * PADDING.length)];
    return padding;
  };
  const requests: MockRequest[] = [];
  const responses: MockResponseLog[] = [];
  const events = new EventEmitter();
  events.setMaxListeners(0);
  let shuttingDown = false;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    req.socket.setNoDelay(true);
    const text = await readBody(req);
    let body: any = text;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      // Keep the raw text: a test may want to see what was sent.
    }
    const path = (req.url ?? '/').split('?')[0]!;
    const requestApi = apiFor(flavor, path);
    const request: MockRequest = {
      index: requests.length,
      method: req.method ?? 'GET',
      path,
      headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : (v ?? '')])),
      body,
      receivedAt: performance.now(),
      toolResults: requestApi === undefined ? [] : toolResultsOf(requestApi, body),
    };
    const output = requestApi === undefined ? undefined : outputSchemaOf(requestApi, body);
    if (output !== undefined) request.output = output;
    requests.push(request);
    const stream = body?.stream === true;
    const log: MockResponseLog = {
      requestIndex: request.index,
      path,
      status: 200,
      stream,
      startedAt: request.receivedAt,
      finished: false,
      closedByClient: false,
      tokensWritten: 0,
      ttftMs: draw(profile.ttftMs, random),
      tokensPerSecond: draw(profile.tokensPerSecond, random),
    };
    responses.push(log);
    const closed = new AbortController();
    let destroyedByUs = false;
    res.on('close', () => {
      log.closedAt = performance.now();
      log.finished = res.writableFinished;
      log.closedByClient = !res.writableFinished && !destroyedByUs && !shuttingDown;
      closed.abort();
      // A response cut short never writes again: drop its half-open socket now.
      if (!res.writableFinished) res.destroy();
      events.emit('closed', log);
    });

    const api = requestApi;
    const sendJson = (status: number, json: unknown, headers: Record<string, string> = {}) => {
      log.status = status;
      res.writeHead(status, { 'content-type': 'application/json', ...requestIdHeader(request.index), ...headers });
      res.end(JSON.stringify(json));
    };
    if (req.method !== 'POST' || api === undefined) {
      sendJson(404, errorBody(flavor, 404, `No route for ${req.method} ${path} on the ${flavor} mock.`));
      return;
    }
    const fault = typeof options.faults === 'function' ? options.faults(request) : options.faults;
    if (fault?.http) {
      sendJson(fault.http.status, fault.http.body ?? errorBody(flavor, fault.http.status), fault.http.headers);
      return;
    }
    if (fault?.rejectStreamOptions && body?.stream_options !== undefined) {
      sendJson(400, {
        error: { message: 'Unrecognized request argument supplied: stream_options', type: 'invalid_request_error', param: 'stream_options', code: null },
      });
      return;
    }
    const script = typeof options.script === 'function' ? options.script(request) : (options.script ?? { text: 'Hello from the mock provider.' });
    if (isRaw(script)) {
      log.status = script.status ?? 200;
      res.writeHead(log.status, { 'content-type': 'text/event-stream; charset=utf-8', ...requestIdHeader(request.index), ...script.headers });
      const bytes = typeof script.raw === 'string' ? new TextEncoder().encode(script.raw) : script.raw;
      await write(res, split(bytes), closed.signal);
      if (!closed.signal.aborted) res.end();
      return;
    }
    const answer = resolveAnswer(script, request, flavor, api, random);
    if (!stream) {
      await sleep(log.ttftMs + (answer.text.length * 1000) / log.tokensPerSecond, closed.signal);
      if (!closed.signal.aborted) sendJson(200, encodeDocument(flavor, api, answer));
      return;
    }
    const obfuscate = options.obfuscation === true && body?.stream_options?.include_obfuscation !== false ? obfuscation : undefined;
    let frames = encodeStream(flavor, api, answer, body?.stream_options?.include_usage === true, obfuscate);
    if (fault?.noTerminal) frames = frames.filter((f) => !f.terminal);
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      ...requestIdHeader(request.index),
    });
    res.flushHeaders();

    const encoder = new TextEncoder();
    const piecesOf = (frame: Frame): Uint8Array[] => split(encoder.encode(frame.text));
    const gapMs = Number.isFinite(log.tokensPerSecond) && log.tokensPerSecond > 0 ? 1000 / log.tokensPerSecond : 0;
    let pending: Uint8Array[] = [];
    let sentFirst = false;
    for (const frame of frames) {
      if (closed.signal.aborted) return;
      const tokens = log.tokensWritten;
      if (frame.token) {
        if (fault?.errorEventAfter === tokens) {
          pending.push(...errorFrames(flavor, api, fault.error).flatMap(piecesOf));
          await write(res, pending, closed.signal);
          res.end();
          return;
        }
        if (fault?.resetAfter === tokens) {
          await write(res, pending, closed.signal);
          destroyedByUs = true;
          res.socket?.resetAndDestroy();
          return;
        }
        if (fault?.stallAfter === tokens) {
          await write(res, pending, closed.signal);
          await once(closed.signal, 'abort');
          return;
        }
        if (fault?.malformedAfter === tokens) pending.push(...piecesOf(malformedFrame(api)));
        if (fault?.rawAfter?.tokens === tokens) pending.push(...piecesOf({ text: fault.rawAfter.text }));
        // Pacing: the first token after the time to first token, the rest at the profile's rate.
        const delay = sentFirst ? gapMs : log.ttftMs;
        if (delay > 0 && chunking !== 'whole') {
          await write(res, pending, closed.signal);
          pending = [];
          await sleep(delay, closed.signal);
          if (closed.signal.aborted) return;
        }
        sentFirst = true;
        log.tokensWritten++;
      }
      pending.push(...piecesOf(frame));
      if (chunking !== 'whole' && pending.length >= 64) {
        await write(res, pending, closed.signal);
        pending = [];
      }
    }
    if (closed.signal.aborted) return;
    await write(res, pending, closed.signal);
    res.end();
  }

  /**
   * Writes the pieces, each its own `write()`, honouring backpressure. Byte and random pieces get a
   * turn of the event loop each, so they leave as separate packets; whole-event writes yield once
   * per batch, so a long instant answer never starves the loop.
   */
  async function write(res: ServerResponse, pieces: Uint8Array[], signal: AbortSignal): Promise<void> {
    if (chunking === 'whole' && pieces.length > 1) pieces = [Buffer.concat(pieces)];
    const separate = chunking === 'byte' || typeof chunking === 'object';
    for (const piece of pieces) {
      if (signal.aborted) return;
      if (piece.length === 0) continue;
      if (!res.write(piece)) {
        // Until the socket drains or the client goes. `once` with the signal takes both of its
        // listeners off whichever way it ends: a race of two `once`s left one behind per wait.
        try {
          await once(res, 'drain', { signal });
        } catch (error) {
          if (signal.aborted) return;
          throw error;
        }
      }
      if (separate) await new Promise((resolve) => setImmediate(resolve));
    }
    if (!separate) await new Promise((resolve) => setImmediate(resolve));
  }

  function split(bytes: Uint8Array): Uint8Array[] {
    if (chunking === 'byte') return splitBytes(bytes, 1, random);
    if (typeof chunking === 'object') return splitBytes(bytes, chunking.random.maxBytes ?? 64, random);
    return [bytes];
  }

  function requestIdHeader(index: number): Record<string, string> {
    const id = `req_mock${String(index).padStart(6, '0')}`;
    return flavor === 'anthropic' ? { 'request-id': id } : { 'x-request-id': id };
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: `mock provider failure: ${String(error)}`, type: 'server_error' } }));
    });
  });
  // Idle keep-alive sockets are retired by the client first (undici: 4 s), never by the mock: a mock
  // that closed them after 1 s raced a client reusing one on a busy machine (ECONNRESET on the next
  // request). close() ends every connection itself.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.listen(options.port ?? 0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;

  return {
    url,
    baseURL: flavor === 'anthropic' || flavor === 'groq' ? url : `${url}/v1`,
    requests,
    responses,
    waitForClose(requestIndex, timeoutMs = 20_000) {
      return new Promise<MockResponseLog>((resolve, reject) => {
        const done = (log: MockResponseLog) => {
          if (log.requestIndex !== requestIndex || log.closedAt === undefined || responses[requestIndex] !== log) return;
          clearTimeout(timer);
          events.off('closed', done);
          resolve(log);
        };
        const timer = setTimeout(() => {
          events.off('closed', done);
          reject(new Error(`mock provider: the response to request ${requestIndex} did not close within ${timeoutMs} ms`));
        }, timeoutMs);
        events.on('closed', done);
        const existing = responses[requestIndex];
        if (existing) done(existing);
      });
    },
    reset() {
      requests.length = 0;
      responses.length = 0;
    },
    async close() {
      shuttingDown = true;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const MOCK_OPTIONS = ['flavor', 'script', 'profile', 'faults', 'chunking', 'seed', 'port', 'obfuscation'];
const FLAVORS = ['anthropic', 'openai', 'groq', 'openai-compatible'];

/** The options' shape, checked before a port is opened (each failure names its field). */
function checkMockOptions(options: unknown): asserts options is MockProviderOptions {
  const o = requireObject(options, 'options');
  rejectUnknownKeys(o, MOCK_OPTIONS, 'options');
  if (typeof o.flavor !== 'string' || !FLAVORS.includes(o.flavor)) {
    throw new InvalidArgumentError('options.flavor', `startMockProvider(): options.flavor must be one of ${FLAVORS.join(', ')}, got ${JSON.stringify(o.flavor)}.`);
  }
  if (typeof o.profile === 'string') {
    if (!Object.hasOwn(profiles, o.profile)) {
      throw new InvalidArgumentError('options.profile', `startMockProvider(): unknown profile ${JSON.stringify(o.profile)}; use ${Object.keys(profiles).join(', ')} or { ttftMs, tokensPerSecond }.`);
    }
  } else if (o.profile !== undefined) {
    const profile = requireObject(o.profile, 'options.profile');
    rejectUnknownKeys(profile, ['ttftMs', 'tokensPerSecond'], 'options.profile');
    for (const key of ['ttftMs', 'tokensPerSecond'] as const) {
      const value = profile[key];
      const path = `options.profile.${key}`;
      if (Array.isArray(value) && value.length === 2) value.forEach((v: unknown) => requireNumber(v, path, { min: 0, max: key === 'ttftMs' ? 3_600_000 : Infinity }));
      else if (!(key === 'tokensPerSecond' && value === Number.POSITIVE_INFINITY)) requireNumber(value, path, { min: key === 'ttftMs' ? 0 : Number.MIN_VALUE });
    }
  }
  const chunking = o.chunking;
  if (chunking !== undefined && chunking !== 'event' && chunking !== 'whole' && chunking !== 'byte') {
    const random = isPlainObject(chunking) ? (chunking.random as unknown) : undefined;
    if (!isPlainObject(random)) {
      throw new InvalidArgumentError('options.chunking', `startMockProvider(): options.chunking must be 'event', 'whole', 'byte' or { random: { maxBytes } }, got ${JSON.stringify(chunking)}.`);
    }
    if (random.maxBytes !== undefined) requireNumber(random.maxBytes, 'options.chunking.random.maxBytes', { min: 1, integer: true });
  }
  if (o.seed !== undefined) requireNumber(o.seed, 'options.seed', { integer: true });
  if (o.obfuscation !== undefined && typeof o.obfuscation !== 'boolean') {
    throw new InvalidArgumentError('options.obfuscation', `startMockProvider(): options.obfuscation must be true or false, got ${JSON.stringify(o.obfuscation)}.`);
  }
  if (o.obfuscation === true && o.flavor !== 'openai') {
    throw new InvalidArgumentError('options.obfuscation', `startMockProvider(): options.obfuscation is OpenAI's padding; the ${String(o.flavor)} flavor does not send it. Use flavor 'openai', or leave obfuscation out.`);
  }
  if (o.port !== undefined) requireNumber(o.port, 'options.port', { min: 0, max: 65_535, integer: true });
  if (o.script !== undefined && typeof o.script !== 'function') requireObject(o.script, 'options.script');
  if (o.faults !== undefined && typeof o.faults !== 'function') requireObject(o.faults, 'options.faults');
}
