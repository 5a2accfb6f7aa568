/**
 * The one event type every provider maps its wire stream to, and the request and result shapes
 * shared by all adapters. Nothing above the adapters knows which provider produced a stream.
 *
 * @packageDocumentation
 */

/**
 * Why a stream stopped, normalised across providers.
 *
 * - `end`: the model finished its answer (Anthropic `end_turn`, OpenAI `stop`, Responses `completed`).
 * - `max_tokens`: cut by the output budget (Anthropic `max_tokens`, OpenAI `length`).
 * - `stop_sequence`: a requested stop sequence matched (Anthropic only; OpenAI reports `stop`).
 * - `tool_use`: the model wants tool results (Anthropic `tool_use`, OpenAI `tool_calls`).
 * - `content_filter`: the provider's filter cut the answer.
 * - `refusal`: the model refused; the explanation is on `done.refusal` when the provider sends it.
 * - `other`: anything else the provider reported (for example Anthropic `pause_turn`).
 */
export type StopReason =
  | 'end'
  | 'max_tokens'
  | 'stop_sequence'
  | 'tool_use'
  | 'content_filter'
  | 'refusal'
  | 'other';

/** Token counts for one answer. */
export interface Usage {
  /** Prompt tokens, cached ones included (Anthropic: input + cache creation + cache read). */
  inputTokens: number;
  /** Generated tokens, reasoning included. */
  outputTokens: number;
  /** `true` when the counts were estimated locally because the provider sent none. */
  estimated: boolean;
}

/**
 * Server-side timings a provider reports with its usage (Groq's `x_groq.usage`), in milliseconds.
 * An optional extension of the `usage` event: absent for providers that send none.
 */
export interface ServerTimings {
  queueMs?: number;
  promptMs?: number;
  completionMs?: number;
  totalMs?: number;
}

/** A stream began: the provider accepted the request. Always the first event. */
export interface StartEvent {
  type: 'start';
  provider: string;
  /** The model that answers, as the provider names it (may be more specific than the request's). */
  model: string;
  /** The provider's id for this answer (`msg_…`, `chatcmpl-…`, `resp_…`), when it sends one. */
  id?: string;
  t: number;
}

/** A non-empty text delta of the answer. */
export interface TokenStreamEvent {
  type: 'token';
  text: string;
  /** Counts `token` events from 0; the sequence id used on the wire. */
  index: number;
  t: number;
}

/** A delta of the model's reasoning ("thinking"), never mixed into the answer text. */
export interface ReasoningEvent {
  type: 'reasoning';
  text: string;
  t: number;
}

/** A fragment of a tool call. The first fragment of a call carries its `id` and `name`. */
export interface ToolCallEvent {
  type: 'tool-call';
  /** Which tool call of this answer (0-based), stable across its fragments. */
  index: number;
  id?: string;
  name?: string;
  /** The next piece of the call's JSON arguments (may be empty on the fragment that names the call). */
  argsDelta: string;
  t: number;
}

/** Token counts for the answer; sent once, before `done`. */
export interface UsageEvent {
  type: 'usage';
  usage: Usage;
  /** Timings measured by the provider, when it sends them (Groq). */
  serverTimings?: ServerTimings;
  t: number;
}

/** A retry discarded the partial output so far: a consumer drops what it has shown of this answer. */
export interface ResetEvent {
  type: 'reset';
  reason: string;
  t: number;
}

/** The stream completed normally. Always the last event of a successful stream. */
export interface DoneEvent {
  type: 'done';
  stopReason: StopReason;
  /** A refusal's explanation (OpenAI `delta.refusal`); it is not answer text. */
  refusal?: string;
  t: number;
}

/**
 * Everything a token stream can emit. `t` is milliseconds since subscription on a monotonic clock,
 * so the first `token` event's `t` is the time to first token.
 *
 * Order: one `start`; then `token`, `reasoning`, `tool-call` in wire order; one `usage`; one `done`.
 */
export type TokenEvent =
  | StartEvent
  | TokenStreamEvent
  | ReasoningEvent
  | ToolCallEvent
  | UsageEvent
  | ResetEvent
  | DoneEvent;

/** The `type` tags of {@link TokenEvent}. */
export type TokenEventType = TokenEvent['type'];

/** Every `type` tag, at run time (internal: the SSE encoder and the client check messages against it). */
export const TOKEN_EVENT_TYPES: readonly TokenEventType[] = ['start', 'token', 'reasoning', 'tool-call', 'usage', 'reset', 'done'];

/** One turn of a conversation. A `system` message is hoisted into the provider's system prompt. */
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** A tool the model may call; `parameters` is a JSON Schema object. */
export interface ToolDefinition {
  name: string;
  description?: string;
  parameters: Record<string, unknown>;
}

/** What to ask a provider. Validated before any network call; unknown fields are rejected. */
export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  /** A system prompt (joined after any `system` messages). */
  system?: string;
  /** Sampling temperature: 0 to 1 for Anthropic, 0 to 2 for OpenAI-style providers. */
  temperature?: number;
  /** The output budget. Anthropic requires one: the adapter defaults it to 4096. */
  maxTokens?: number;
  /** Stop sequences. */
  stop?: string[];
  /** Tools the model may call; their calls arrive as `tool-call` events. */
  tools?: ToolDefinition[];
  /**
   * Extra fields merged into the provider's request body as they are (for example Anthropic
   * `thinking`, OpenAI `reasoning_effort`). Fields tokenflow sets itself cannot be overridden here.
   */
  providerOptions?: Record<string, unknown>;
}

/** A complete tool call, assembled from its `tool-call` fragments. */
export interface ToolCall {
  index: number;
  id?: string;
  name?: string;
  /** The raw JSON arguments as the model wrote them (may be incomplete if the answer was cut). */
  arguments: string;
}

/** Timing and size of one answer. */
export interface StreamMetrics {
  /** Milliseconds from subscription to the first text token (or to the whole answer without streaming). */
  ttftMs: number | undefined;
  /** Milliseconds from subscription to `done`. */
  elapsedMs: number;
  /** Number of `token` events. */
  tokens: number;
  /** Output tokens per second of generation, from the first token to `done`. */
  tokensPerSecond: number | undefined;
  /** Characters (UTF-16 code units) of answer text. */
  chars: number;
  /** Gaps between consecutive `token` events, in milliseconds (absent with fewer than two tokens). */
  interTokenGaps?: InterTokenGaps;
  /** Timings the provider measured, when it sends them. */
  serverTimings?: ServerTimings;
}

/** The distribution of the gaps between consecutive tokens: how smooth the stream felt. */
export interface InterTokenGaps {
  medianMs: number;
  p90Ms: number;
  maxMs: number;
}

/** The result of one answer, the same whether it was streamed or not. */
export interface AgentResponse {
  content: string;
  reasoning?: string;
  toolCalls?: ToolCall[];
  usage: Usage;
  stopReason: StopReason;
  /** A refusal's explanation, when the provider sent one apart from the answer text. */
  refusal?: string;
  metrics: StreamMetrics;
  provider: string;
  model: string;
  /** The provider's id for the answer, when it sent one. */
  id?: string;
}

/** Per-call options for `stream()` and `complete()`. */
export interface CallOptions {
  /** Cancels the request; the stream errors with `StreamAbortedError` carrying the partial text. */
  signal?: AbortSignal;
}
