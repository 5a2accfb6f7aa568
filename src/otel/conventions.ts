/**
 * The OpenTelemetry GenAI semantic conventions tokenflow/otel follows (internal): attribute and
 * metric names, units, bucket advice and the value mappings, in one place.
 *
 * Names as the conventions define them (status: Development): the GenAI attribute registry, the
 * `gen_ai.inference.client`, `gen_ai.invoke_agent.internal` and `gen_ai.execute_tool.internal` spans,
 * and the GenAI client metrics, as published in @opentelemetry/semantic-conventions 1.45
 * (`ATTR_GEN_AI_*`, `METRIC_GEN_AI_CLIENT_*`) and in the open-telemetry/semantic-conventions-genai
 * repository (model/gen-ai/registry.yaml, spans.yaml, metrics.yaml, docs/gen-ai/gen-ai-metrics.md).
 * Strings, not imports: the conventions package is not a dependency of tokenflow.
 */
import type { StopReason } from '../events.js';

// ---- attributes ----
export const OPERATION_NAME = 'gen_ai.operation.name';
export const PROVIDER_NAME = 'gen_ai.provider.name';
export const REQUEST_MODEL = 'gen_ai.request.model';
export const REQUEST_MAX_TOKENS = 'gen_ai.request.max_tokens';
export const REQUEST_TEMPERATURE = 'gen_ai.request.temperature';
export const REQUEST_TOP_P = 'gen_ai.request.top_p';
export const REQUEST_TOP_K = 'gen_ai.request.top_k';
export const REQUEST_STOP_SEQUENCES = 'gen_ai.request.stop_sequences';
export const REQUEST_FREQUENCY_PENALTY = 'gen_ai.request.frequency_penalty';
export const REQUEST_PRESENCE_PENALTY = 'gen_ai.request.presence_penalty';
export const REQUEST_SEED = 'gen_ai.request.seed';
export const REQUEST_STREAM = 'gen_ai.request.stream';
export const OUTPUT_TYPE = 'gen_ai.output.type';
export const RESPONSE_MODEL = 'gen_ai.response.model';
export const RESPONSE_ID = 'gen_ai.response.id';
export const RESPONSE_FINISH_REASONS = 'gen_ai.response.finish_reasons';
export const RESPONSE_TIME_TO_FIRST_CHUNK = 'gen_ai.response.time_to_first_chunk';
export const USAGE_INPUT_TOKENS = 'gen_ai.usage.input_tokens';
export const USAGE_OUTPUT_TOKENS = 'gen_ai.usage.output_tokens';
export const CONVERSATION_ID = 'gen_ai.conversation.id';
export const AGENT_NAME = 'gen_ai.agent.name';
export const TOOL_NAME = 'gen_ai.tool.name';
export const TOOL_CALL_ID = 'gen_ai.tool.call.id';
export const TOOL_TYPE = 'gen_ai.tool.type';
export const TOOL_CALL_ARGUMENTS = 'gen_ai.tool.call.arguments';
export const TOOL_CALL_RESULT = 'gen_ai.tool.call.result';
export const TOOL_DEFINITIONS = 'gen_ai.tool.definitions';
export const SYSTEM_INSTRUCTIONS = 'gen_ai.system_instructions';
export const INPUT_MESSAGES = 'gen_ai.input.messages';
export const OUTPUT_MESSAGES = 'gen_ai.output.messages';
export const TOKEN_TYPE = 'gen_ai.token.type';
export const SERVER_ADDRESS = 'server.address';
export const SERVER_PORT = 'server.port';
export const ERROR_TYPE = 'error.type';

// ---- tokenflow's own, outside the conventions (their namespace is `tokenflow.`) ----
/** `true` on a span whose stream was unsubscribed (cancelled) before it ended. */
export const TOKENFLOW_CANCELLED = 'tokenflow.cancelled';
/** The span event recorded when the stream was unsubscribed. */
export const TOKENFLOW_CANCELLED_EVENT = 'tokenflow.cancelled';
/** `true` when the usage attributes are tokenflow's local estimate (the provider sent none). */
export const TOKENFLOW_USAGE_ESTIMATED = 'tokenflow.usage.estimated';
/** Requests sent for the answer when a retry operator sent more than one (`Usage.billed.attempts`). */
export const TOKENFLOW_ATTEMPTS = 'tokenflow.attempts';
/** The span event recorded when a retry discarded the output so far (a `reset` event). */
export const TOKENFLOW_RESET_EVENT = 'tokenflow.reset';

// ---- operation names and values ----
export const OPERATION_CHAT = 'chat';
export const OPERATION_INVOKE_AGENT = 'invoke_agent';
export const OPERATION_EXECUTE_TOOL = 'execute_tool';
/** The `error.type` of a tool call that failed (its `tool-result` has `isError`). */
export const TOOL_ERROR_TYPE = 'tool_error';
/** The conventions' fallback `error.type`, for a thrown value that is not an `Error`. */
export const OTHER_ERROR_TYPE = '_OTHER';

// ---- metrics ----
export const METRIC_TOKEN_USAGE = 'gen_ai.client.token.usage';
export const METRIC_OPERATION_DURATION = 'gen_ai.client.operation.duration';
export const METRIC_TIME_TO_FIRST_CHUNK = 'gen_ai.client.operation.time_to_first_chunk';
export const METRIC_TIME_PER_OUTPUT_CHUNK = 'gen_ai.client.operation.time_per_output_chunk';

/** Explicit bucket boundaries the conventions advise for `gen_ai.client.token.usage` ({token}). */
export const TOKEN_BUCKETS: readonly number[] = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864];
/** Explicit bucket boundaries the conventions advise for the three time histograms (s). */
export const SECONDS_BUCKETS: readonly number[] = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];

/**
 * `gen_ai.provider.name` for a tokenflow provider name: the conventions' well-known value when one
 * applies (they MUST be used), the name itself otherwise (a custom value MAY be used). tokenflow's
 * own adapters are named `anthropic`, `openai` and `groq`, which are well-known values already;
 * `openaiCompatible({ name })` takes any name, so the usual spellings of other well-known providers
 * are mapped too.
 */
export function providerNameFor(name: string): string {
  const key = name.trim().toLowerCase();
  return PROVIDER_ALIASES[key] ?? name;
}

const PROVIDER_ALIASES: Record<string, string> = {
  mistral: 'mistral_ai',
  'mistral-ai': 'mistral_ai',
  xai: 'x_ai',
  'x-ai': 'x_ai',
  moonshot: 'moonshot_ai',
  'moonshot-ai': 'moonshot_ai',
};

/**
 * A `gen_ai.response.finish_reasons` entry for tokenflow's normalised stop reason: the values of
 * the conventions' output-message `FinishReason` (`stop`, `length`, `content_filter`, `tool_call`)
 * where one applies, tokenflow's own name otherwise (`refusal`, `pause_turn`, `other`).
 */
export function finishReasonFor(stopReason: StopReason): string {
  switch (stopReason) {
    case 'end':
    case 'stop_sequence':
      return 'stop';
    case 'max_tokens':
      return 'length';
    case 'tool_use':
      return 'tool_call';
    case 'content_filter':
      return 'content_filter';
    case 'refusal':
    case 'pause_turn':
    case 'other':
      return stopReason;
  }
}

/**
 * The finish reason of an answer that ended without one (an error, a cancellation): the conventions
 * ask for `error` in that position rather than leaving it out.
 */
export const FINISH_REASON_ERROR = 'error';

/**
 * `error.type` for what a stream errored with: a tokenflow error's class name (`ProviderError`,
 * `StreamTimeoutError`, …, `RemoteStreamError` for a failure relayed over SSE), another `Error`'s
 * name (`TypeError`), or `_OTHER` for a thrown value that is not an `Error`.
 */
export function errorTypeFor(error: unknown): string {
  if (error instanceof Error || (typeof error === 'object' && error !== null && typeof (error as { name?: unknown }).name === 'string')) {
    const name = (error as { name: string }).name;
    if (name && name !== 'Error') return name;
    const constructorName = (error as { constructor?: { name?: unknown } }).constructor?.name;
    return typeof constructorName === 'string' && constructorName !== '' ? constructorName : 'Error';
  }
  return OTHER_ERROR_TYPE;
}
