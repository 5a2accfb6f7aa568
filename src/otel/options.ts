/**
 * The options of `traced()` and `tracedProvider()`, and their checks (internal: the option types are
 * re-exported from tokenflow/otel).
 */
import type { Meter, Tracer } from '@opentelemetry/api';
import { InvalidArgumentError } from '../errors.js';
import type { ChatRequest } from '../events.js';
import { describeValue } from '../internal/describe.js';
import { rejectUnknownKeys, requireNumber, requireObject, requireString } from '../validate.js';

/** Options shared by {@link traced} and {@link tracedProvider}. */
export interface TelemetryOptions {
  /**
   * The tracer spans are started with.
   * @defaultValue the global tracer: `trace.getTracer('tokenflow')` (a no-op until an SDK is registered)
   */
  tracer?: Tracer;
  /**
   * The meter the GenAI client histograms are recorded with.
   * @defaultValue the global meter at subscription: `metrics.getMeter('tokenflow')` (a no-op until an SDK is registered)
   */
  meter?: Meter;
  /**
   * Record prompt and answer content: `gen_ai.system_instructions`, `gen_ai.input.messages`,
   * `gen_ai.output.messages`, `gen_ai.tool.definitions`, and a tool call's arguments and result.
   * They are likely to hold personal data: see docs/observability.md before turning this on.
   * @defaultValue false
   */
  captureContent?: boolean;
  /**
   * `gen_ai.provider.name`, when the provider's own name is not the one to report (an
   * `openaiCompatible()` server that is a well-known provider, such as `deepseek`).
   * @defaultValue the provider's name, mapped to the conventions' well-known value where one applies
   */
  providerName?: string;
  /** `gen_ai.conversation.id`: the conversation (thread, session) the answer belongs to. */
  conversationId?: string;
  /**
   * Record `gen_ai.client.operation.time_per_output_chunk`, one value per chunk after the first. Off
   * by default: with an SDK meter each value is one histogram record with its attributes, about 3 µs,
   * which almost doubles a token's CPU (measured: see docs/observability.md). The other three
   * histograms are recorded once per answer either way.
   * @defaultValue false
   */
  timePerOutputChunk?: boolean;
}

/** Options for {@link traced}. */
export interface TracedOptions extends TelemetryOptions {
  /**
   * `gen_ai.agent.name`, and the name of the `invoke_agent {name}` span. Says the stream is an
   * agent's: its `invoke_agent` span then starts at subscription and the loop's requests run inside
   * it (so an SDK's or an HTTP instrumentation's spans for them nest under it). A stream that turns
   * out to be a single answer is the agent's one model call: a `chat` span under `invoke_agent`.
   */
  agentName?: string;
  /**
   * The request the stream answers, when it is at hand: it names the span (`chat {model}`), sets
   * `gen_ai.request.*` (model, max tokens, temperature, stop sequences, and `top_p`, `top_k`,
   * `frequency_penalty`, `presence_penalty`, `seed` from `providerOptions`) and, with
   * `captureContent`, the input messages. Without it the span is named after the model the `start`
   * event reports.
   */
  request?: ChatRequest;
  /** `server.address`: the host the stream's provider was called on. */
  serverAddress?: string;
  /** `server.port`, with `serverAddress`. @defaultValue unset */
  serverPort?: number;
}

/** Options for {@link tracedProvider}: the provider knows the request and the server itself. */
export type TracedProviderOptions = TelemetryOptions;

const TELEMETRY_KEYS = ['tracer', 'meter', 'captureContent', 'providerName', 'conversationId', 'timePerOutputChunk'] as const;
const TRACED_KEYS = [...TELEMETRY_KEYS, 'agentName', 'request', 'serverAddress', 'serverPort'] as const;

/** Checked options, with nothing defaulted yet (the globals are read at subscription). */
export interface CheckedOptions {
  tracer: Tracer | undefined;
  meter: Meter | undefined;
  captureContent: boolean;
  providerName: string | undefined;
  agentName: string | undefined;
  conversationId: string | undefined;
  timePerOutputChunk: boolean;
  request: ChatRequest | undefined;
  server: { address: string; port: number | undefined } | undefined;
}

/**
 * Checks `traced()` options.
 *
 * @throws InvalidArgumentError naming the offending option (`traced.tracer`, `traced() options.tracr`)
 */
export function checkTracedOptions(value: unknown): CheckedOptions {
  const options = readObject(value, 'traced', TRACED_KEYS);
  const checked = checkTelemetry(options, 'traced');
  if (options.request !== undefined) {
    const request = requireObject(options.request, 'traced.request');
    requireString(request.model, 'traced.request.model');
    if (!Array.isArray(request.messages)) {
      throw new InvalidArgumentError('traced.request.messages', `traced.request.messages must be the request's array of messages, got ${describeValue(request.messages)}.`);
    }
    checked.request = request as unknown as ChatRequest;
  }
  if (options.serverPort !== undefined && options.serverAddress === undefined) {
    throw new InvalidArgumentError('traced.serverPort', 'traced.serverPort needs traced.serverAddress: give the host the provider was called on as well.');
  }
  if (options.serverAddress !== undefined) {
    const address = requireString(options.serverAddress, 'traced.serverAddress');
    const port = options.serverPort === undefined ? undefined : requireNumber(options.serverPort, 'traced.serverPort', { min: 1, max: 65535, integer: true });
    checked.server = { address, port };
  }
  return checked;
}

/**
 * Checks `tracedProvider()` options.
 *
 * @throws InvalidArgumentError naming the offending option
 */
export function checkProviderOptions(value: unknown): CheckedOptions {
  return checkTelemetry(readObject(value, 'tracedProvider', TELEMETRY_KEYS), 'tracedProvider');
}

function readObject(value: unknown, name: string, known: readonly string[]): Record<string, unknown> {
  if (value === undefined) return {};
  const options = requireObject(value, `${name}() options`);
  rejectUnknownKeys(options, known, `${name}() options`);
  return options;
}

function checkTelemetry(options: Record<string, unknown>, name: string): CheckedOptions {
  const { tracer, meter, captureContent, timePerOutputChunk } = options;
  if (tracer !== undefined && typeof (tracer as Partial<Tracer> | null)?.startSpan !== 'function') {
    throw new InvalidArgumentError(
      `${name}.tracer`,
      `${name}.tracer must be an OpenTelemetry Tracer (with startSpan()), such as trace.getTracer('my-app'), got ${describeValue(tracer)}.`,
    );
  }
  if (meter !== undefined && typeof (meter as Partial<Meter> | null)?.createHistogram !== 'function') {
    throw new InvalidArgumentError(
      `${name}.meter`,
      `${name}.meter must be an OpenTelemetry Meter (with createHistogram()), such as metrics.getMeter('my-app'), got ${describeValue(meter)}.`,
    );
  }
  for (const [key, value] of [['captureContent', captureContent], ['timePerOutputChunk', timePerOutputChunk]] as const) {
    if (value !== undefined && typeof value !== 'boolean') {
      throw new InvalidArgumentError(`${name}.${key}`, `${name}.${key} must be true or false, got ${describeValue(value)}.`);
    }
  }
  const text = (key: string): string | undefined => (options[key] === undefined ? undefined : requireString(options[key], `${name}.${key}`));
  return {
    tracer: tracer as Tracer | undefined,
    meter: meter as Meter | undefined,
    captureContent: captureContent === true,
    providerName: text('providerName'),
    agentName: text('agentName'),
    conversationId: text('conversationId'),
    timePerOutputChunk: timePerOutputChunk === true,
    request: undefined,
    server: undefined,
  };
}

/** `true` when `value` looks like a tokenflow {@link Provider} (what `tracedProvider()` wraps). */
export function isProviderLike(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const p = value as Record<string, unknown>;
  return typeof p.name === 'string' && typeof p.stream === 'function' && typeof p.complete === 'function';
}

