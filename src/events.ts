/**
 * The one event type every provider maps its wire stream to, and the request and result shapes
 * shared by all adapters. Nothing above the adapters knows which provider produced a stream.
 *
 * @packageDocumentation
 */
import type { StandardSchemaV1 } from '@standard-schema/spec';
import type { JSONSchema7Like } from './schema.js';

/**
 * Why a stream stopped, normalised across providers.
 *
 * - `end`: the model finished its answer (Anthropic `end_turn`, OpenAI `stop`, Responses `completed`).
 * - `max_tokens`: cut by the output budget (Anthropic `max_tokens`, OpenAI `length`).
 * - `stop_sequence`: a requested stop sequence matched (Anthropic only; OpenAI reports `stop`).
 * - `tool_use`: the model wants tool results (Anthropic `tool_use`, OpenAI `tool_calls`).
 * - `content_filter`: the provider's filter cut the answer.
 * - `refusal`: the model refused; the explanation is on `done.refusal` when the provider sends it.
 * - `pause_turn`: the provider paused a long turn of its own tools (Anthropic `pause_turn`); send the
 *   answer back as it is to let it continue.
 * - `other`: anything else the provider reported.
 *
 * Whenever an answer holds tool calls the application must answer, the stop reason is `tool_use`,
 * whatever the wire said beside them (some compatible servers send `stop` with tool calls), unless
 * the answer was cut (`max_tokens`) or filtered.
 */
export type StopReason =
  | 'end'
  | 'max_tokens'
  | 'stop_sequence'
  | 'tool_use'
  | 'content_filter'
  | 'refusal'
  | 'pause_turn'
  | 'other';

/** Token counts for one answer. */
export interface Usage {
  /** Prompt tokens, cached ones included (Anthropic: input + cache creation + cache read). */
  inputTokens: number;
  /** Generated tokens, reasoning included. */
  outputTokens: number;
  /** `true` when the counts were estimated locally because the provider sent none. */
  estimated: boolean;
  /**
   * Present only when a retry operator (`retryBeforeFirstToken()`, `retryMidStream()`) sent the
   * request more than once: what all the attempts together cost. The counts above are the successful
   * attempt's alone; these add every discarded attempt's usage (read from its error) to them. An
   * attempt the provider refused with an HTTP error status (a 429, a 529 before the stream began)
   * generated nothing and counts 0. On the error of a retried stream that finally failed, the same
   * record sums the attempts that failed.
   */
  billed?: {
    /** Prompt tokens of every attempt. */
    inputTokens: number;
    /** Generated tokens of every attempt, discarded output included. */
    outputTokens: number;
    /** `true` when any attempt's counts were estimated (or unknown: an error that carried none). */
    estimated: boolean;
    /** Requests sent for this answer, the successful one included. */
    attempts: number;
    /**
     * The provider's id for the attempt that produced the answer, when it sent one. After a
     * mid-stream retry the stream's one `start` belongs to the first attempt; `collect()` reports
     * this id as `AgentResponse.id`.
     */
    answerId?: string;
  };
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

/**
 * A delta of the model's reasoning ("thinking"), never mixed into the answer text.
 *
 * Anthropic signs each thinking block and may send a block redacted: the signature comes as a
 * `reasoning` event with `text: ''` and `signature` at the end of its block, a redacted block as one
 * with `text: ''` and `redacted` (its opaque data). The OpenAI Responses API closes each reasoning
 * item with one `reasoning` event with `text: ''` and `providerData` (the item's `id`, `summary`
 * and, when asked for, `encrypted_content`). All of these must be sent back unchanged when a
 * conversation with reasoning and tools continues; `collect()` keeps them in
 * `AgentResponse.reasoningBlocks` and `AgentResponse.message`. Every other `reasoning` event has
 * non-empty `text`.
 */
export interface ReasoningEvent {
  type: 'reasoning';
  text: string;
  /** The signature that closes the current thinking block (Anthropic `signature_delta`). */
  signature?: string;
  /** A whole redacted thinking block's opaque data (Anthropic `redacted_thinking`). */
  redacted?: string;
  /**
   * The provider's own fields of the reasoning block that just ended, sent back with it on the next
   * turn (Responses: the reasoning item's `id`, `summary`, `encrypted_content`, `content`).
   */
  providerData?: Record<string, unknown>;
  t: number;
}

/**
 * A fragment of a tool call the application must answer. The first fragment of a call carries its
 * `id` and `name`; the fragments' `argsDelta`s join to the call's complete input.
 *
 * Calls the provider runs itself (Anthropic server tools, MCP connector calls, Responses
 * `web_search_call`…) are never `tool-call` events: they are {@link ProviderToolEvent}s.
 */
export interface ToolCallEvent {
  type: 'tool-call';
  /** Which tool call of this answer, counted from 0 in order of appearance, stable across fragments. */
  index: number;
  id?: string;
  name?: string;
  /**
   * What kind of call this is when it is not a plain function call: the wire item type (Responses
   * `custom_tool_call`, `local_shell_call`, `shell_call`, `apply_patch_call`, `computer_call`,
   * `mcp_approval_request`, `tool_search_call`). Absent for function calls. Given on the first fragment.
   */
  kind?: string;
  /**
   * The next piece of the call's input. For a function call the pieces join to complete JSON
   * (`{}` when the tool takes no input); for a `custom_tool_call` to its free-form input; for the
   * other kinds to the JSON of the item's action or operation. May be empty on the naming fragment.
   */
  argsDelta: string;
  /**
   * Provider fields of the call that must go back with it on the next turn, given on the first
   * fragment: Anthropic `caller` (a call made by code execution, programmatic tool calling).
   */
  providerData?: Record<string, unknown>;
  t: number;
}

/**
 * A tool the provider runs itself (Anthropic `server_tool_use` such as web search, web fetch or code
 * execution, `mcp_tool_use`; Responses `web_search_call`, `file_search_call`, `code_interpreter_call`,
 * `image_generation_call`, `mcp_call`…). Nothing for the application to answer: it is reported so a
 * UI can show it and so a later turn can send the blocks back unchanged.
 *
 * Anthropic sends a call (`phase: 'call'`, once its input is complete) and later its result block
 * (`phase: 'result'`, same `id`). A Responses item holds call and outcome in one: one `call` event
 * with the finished item as `block`.
 */
export interface ProviderToolEvent {
  type: 'provider-tool';
  phase: 'call' | 'result';
  /** The call's id (a result carries the id of the call it answers). */
  id: string;
  /** The tool (`web_search`, `code_execution`, an MCP tool's name); on a result, the result block's type. */
  name: string;
  /** The call's input, when the wire gives one. */
  input?: unknown;
  /** The complete wire block or item, as the provider sent it (input filled in). */
  block: Record<string, unknown>;
  t: number;
}

/**
 * A citation attached to the answer text that precedes it (Anthropic `citations_delta`, Responses
 * `response.output_text.annotation.added`), as the provider sent it.
 */
export interface CitationEvent {
  type: 'citation';
  citation: Record<string, unknown>;
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

/**
 * The partial output so far is discarded: a consumer drops what it has shown of this answer. Sent by
 * the retry operators, and by an adapter when one response body holds a second attempt (a proxy that
 * retried upstream and spliced the two).
 *
 * In an Agent's tool loop, a reset from inside one step (its model request was retried) carries that
 * `step`: only the output of step `step` so far is discarded; earlier steps ran, their tools too,
 * and they stand. A reset without `step` discards everything (a retry of the whole loop starts over
 * at step 0). `text()`, `collect()`, errors' `partialText`, the SSE relay and the client all honour it.
 */
export interface ResetEvent {
  type: 'reset';
  reason: string;
  /**
   * Set by the tool loop: the step whose output so far is discarded (the step's text, reasoning and
   * tool calls; its token `index`es start again where the step's began).
   * @defaultValue absent: the whole answer is discarded
   */
  step?: number;
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
 * A step of an Agent's tool loop begins: the model is asked again (step 0 is the first request).
 * The step's own events follow: its `start`, text, tool calls, its `usage`, then `step-finish`.
 */
export interface StepStartEvent {
  type: 'step-start';
  /** Counts the loop's model requests from 0. */
  step: number;
  t: number;
}

/**
 * A tool the application runs answered a call of step `step` (after that step's `step-finish`).
 * Results arrive as the tools finish; the model gets them in call order.
 */
export interface ToolResultEvent {
  type: 'tool-result';
  /** The step whose call this answers. */
  step: number;
  /** The call's id (the `id` of its `tool-call` events). */
  id: string;
  /** The tool's name. */
  name: string;
  /**
   * What the tool returned (JSON-serializable); when `isError`, the message the model got (why the
   * input was invalid, what the tool threw, that the user denied the call).
   */
  output: unknown;
  /** The call failed: unknown tool, invalid input, a throwing `execute`, or denied approval. */
  isError: boolean;
  /** Milliseconds from the call's dispatch to its result (approval wait and validation included). */
  durationMs: number;
  t: number;
}

/**
 * A step of the tool loop ended: what the step's own `done` said, with its usage and metrics. The
 * loop's one `done` comes after the last step (and its tool results, if the loop stopped there).
 */
export interface StepFinishEvent {
  type: 'step-finish';
  step: number;
  /** The step's usage (also sent as the step's `usage` event). */
  usage: Usage;
  stopReason: StopReason;
  /** The step's metrics, timed from the step's own request (`ttftMs` is the step's time to first token). */
  metrics?: StreamMetrics;
  t: number;
}

/**
 * Everything a token stream can emit. `t` is milliseconds since subscription on a monotonic clock,
 * so the first `token` event's `t` is the time to first token.
 *
 * Order: one `start`; then `token`, `reasoning`, `tool-call`, `provider-tool`, `citation` in wire
 * order; one `usage`; one `done`.
 *
 * An Agent's tool loop (`agent.stream(message, { tools })`) wraps each model request in a step:
 * `step-start`, the step's events as above but with `step-finish` in place of its `done`, then the
 * `tool-result`s of its calls; after the last step one summed `usage` and one `done`. Its `t` counts
 * from the loop's start and a token's `index` counts across the whole loop.
 */
export type TokenEvent =
  | StartEvent
  | TokenStreamEvent
  | ReasoningEvent
  | ToolCallEvent
  | ProviderToolEvent
  | CitationEvent
  | UsageEvent
  | ResetEvent
  | StepStartEvent
  | ToolResultEvent
  | StepFinishEvent
  | DoneEvent;

/** The `type` tags of {@link TokenEvent}. */
export type TokenEventType = TokenEvent['type'];

/** Every `type` tag, at run time (internal: the SSE encoder and the client check messages against it). */
export const TOKEN_EVENT_TYPES: readonly TokenEventType[] = [
  'start',
  'token',
  'reasoning',
  'tool-call',
  'provider-tool',
  'citation',
  'usage',
  'reset',
  'step-start',
  'tool-result',
  'step-finish',
  'done',
];

/** A piece of text in a message. */
export interface TextPart {
  type: 'text';
  text: string;
}

/** The image formats every provider takes. */
export type ImageMediaType = 'image/png' | 'image/jpeg' | 'image/gif' | 'image/webp';

/**
 * An image in a user message or a tool result.
 *
 * `image` is an `https:` / `http:` URL (a string or a `URL`) the provider fetches itself, a `data:`
 * URL with base64 data (`data:image/png;base64,…`), or the bytes themselves, which need `mediaType`.
 */
export interface ImagePart {
  type: 'image';
  image: string | URL | Uint8Array;
  /** The image's format: required with bytes; with a `data:` URL it must match the URL's own. */
  mediaType?: ImageMediaType;
}

/**
 * A PDF document in a user message. `data` is an `https:` / `http:` URL, a base64 `data:` URL
 * (`data:application/pdf;base64,…`), or the bytes.
 */
export interface DocumentPart {
  type: 'document';
  data: string | URL | Uint8Array;
  mediaType: 'application/pdf';
  /** A title the provider may show the model (Anthropic `title`; the file name on OpenAI). */
  title?: string;
}

/**
 * A call the model made to one of the application's tools, as an assistant turn sends it back.
 * `input` is the parsed JSON of the call's arguments (`{}` for a tool without input).
 */
export interface ToolCallPart {
  type: 'tool-call';
  /** The provider's id for the call (Anthropic `toolu_…`, OpenAI `call_…`): its result names it. */
  id: string;
  name: string;
  /** The call's input: any JSON value (checked to be JSON-serializable). */
  input: unknown;
  /**
   * Provider fields sent back with the call (Anthropic: `caller`, when code execution made the
   * call). Providers with no such field ignore it: the call itself is the same.
   */
  providerData?: Record<string, unknown>;
}

/**
 * The application's answer to a tool call, in a `tool` message. `toolCallId` names a
 * {@link ToolCallPart} of an earlier assistant message in the same request.
 */
export interface ToolResultPart {
  type: 'tool-result';
  toolCallId: string;
  /** The tool's name (the call's `name`). */
  name: string;
  /** What the tool returned: text, or text and images (images only where the provider takes them). */
  output: string | Array<TextPart | ImagePart>;
  /**
   * The tool failed and `output` says why. Sent as Anthropic's `is_error`; Chat Completions and
   * Responses have no such flag, so there the output text itself must say that the call failed.
   */
  isError?: boolean;
}

/**
 * The model's reasoning, as an assistant turn must send it back: Anthropic `thinking` with its
 * `signature`, or a `redacted_thinking` block (`redacted`, its opaque data, with `text: ''`); an
 * OpenAI Responses `reasoning` item, whose `id` and `encrypted_content` travel in `providerData`.
 * Providers that take no reasoning back (Chat Completions) refuse it with an `InvalidArgumentError`.
 */
export interface ReasoningPart {
  type: 'reasoning';
  text: string;
  /** Anthropic's signature of a thinking block. */
  signature?: string;
  /** A redacted thinking block's opaque data (Anthropic). */
  redacted?: string;
  /** Provider fields sent back with the reasoning (Responses: `id`, `encrypted_content`). */
  providerData?: Record<string, unknown>;
}

/**
 * A tool the provider ran itself (see {@link ProviderToolEvent}), replayed unchanged: `block` is the
 * wire block or item exactly as the provider sent it (Anthropic `server_tool_use`,
 * `web_search_tool_result`…; a Responses `web_search_call` item…).
 */
export interface ProviderToolPart {
  type: 'provider-tool';
  phase: 'call' | 'result';
  /** The call's id (a result carries the id of the call it answers). */
  id: string;
  name: string;
  /** The wire block or item, as received. */
  block: Record<string, unknown>;
}

/** What a user message may hold. */
export type UserContentPart = TextPart | ImagePart | DocumentPart;

/** What an assistant message may hold. */
export type AssistantContentPart = TextPart | ReasoningPart | ToolCallPart | ProviderToolPart;

/** Every kind of message part. */
export type MessagePart = TextPart | ImagePart | DocumentPart | ToolCallPart | ToolResultPart | ReasoningPart | ProviderToolPart;

/** Instructions; hoisted into the provider's system prompt where the API takes it apart. */
export interface SystemMessage {
  role: 'system';
  content: string | TextPart[];
}

/** The user's turn: text, or text, images and documents. */
export interface UserMessage {
  role: 'user';
  content: string | UserContentPart[];
}

/**
 * The model's turn, as it is sent back in a later request: its text, and the reasoning, tool
 * calls and provider tools of the answer, in the order it produced them. `AgentResponse.message` is
 * one, ready to append to the history.
 */
export interface AssistantMessage {
  role: 'assistant';
  content: string | AssistantContentPart[];
}

/** The application's results for the tool calls of the assistant turn before it. */
export interface ToolMessage {
  role: 'tool';
  content: ToolResultPart[];
}

/**
 * One turn of a conversation. `content` is a string (as always) or an array of parts; which parts a
 * role may hold is checked before anything is sent, and a part the provider cannot take is an
 * `InvalidArgumentError` naming it (`request.messages[3].content[0]`).
 */
export type ChatMessage = SystemMessage | UserMessage | AssistantMessage | ToolMessage;

/** A tool the model may call; `parameters` is a JSON Schema object. */
export interface ToolDefinition {
  name: string;
  description?: string;
  parameters: Record<string, unknown>;
}

/**
 * What `request.output` asks for: an answer that is JSON following `schema`.
 *
 * @typeParam Output - the validated value's type, inferred from a Standard Schema
 */
export interface OutputSpec<Output = unknown> {
  /**
   * The answer's schema, whose root must be an object (OpenAI and Anthropic require it): a JSON
   * Schema object (`{ type: 'object', properties, required }`), or a Standard Schema validator
   * (zod 4, valibot, arktype…), whose `~standard.jsonSchema` (or `jsonSchema`) is what is sent.
   */
  schema: JSONSchema7Like | StandardSchemaV1<unknown, Output>;
  /** The JSON Schema to send for a Standard Schema that cannot produce one itself (valibot without its converter). */
  jsonSchema?: Record<string, unknown>;
  /**
   * The format's name (OpenAI requires one; Anthropic takes none): 1 to 64 letters, digits, `_` or `-`.
   * @defaultValue 'output'
   */
  name?: string;
  /** What the answer is for, for the model (OpenAI only; Anthropic takes none). */
  description?: string;
  /**
   * OpenAI's `strict` (Chat Completions and Responses): the model then follows the schema exactly,
   * but OpenAI refuses (400) a schema where an object lacks `additionalProperties: false` or a
   * property is not in `required`. Not sent when left out (OpenAI's default is non-strict);
   * Anthropic takes no such flag and it is not sent there.
   */
  strict?: boolean;
}

/** What to ask a provider. Validated before any network call; unknown fields are rejected. */
export interface ChatRequest {
  model: string;
  /**
   * The conversation, oldest first. A `tool` message's results must answer tool calls of an earlier
   * assistant message in this list (unless `providerOptions.previous_response_id` continues a stored
   * Responses answer that holds the calls).
   */
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
   * Asks for the answer as JSON following a schema (structured output): Anthropic
   * `output_config.format`, Chat Completions `response_format`, Responses `text.format`. The answer
   * still streams as `token` events; `partialObject()` and `object()` read them. See
   * docs/structured-output.md.
   */
  output?: OutputSpec;
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
  /** The call's kind when it is not a function call (see {@link ToolCallEvent.kind}). */
  kind?: string;
  /** Provider fields of the call (see {@link ToolCallEvent.providerData}). */
  providerData?: Record<string, unknown>;
  /**
   * The arguments as the model wrote them: complete JSON for a function call (`{}` for none); may be
   * incomplete only when the answer was cut (`max_tokens`).
   */
  arguments: string;
}

/** A tool the provider ran itself, with its result when one came (see {@link ProviderToolEvent}). */
export interface ProviderToolCall {
  id: string;
  name: string;
  input?: unknown;
  /** The call's wire block (Anthropic) or the whole item (Responses), as sent. */
  call: Record<string, unknown>;
  /** The result block, as sent (Anthropic). */
  result?: Record<string, unknown>;
}

/**
 * One block of reasoning as the provider must see it again: signed text (or text with the
 * provider's data, a Responses reasoning item), or redacted data.
 */
export type ReasoningBlock = { text: string; signature?: string; providerData?: Record<string, unknown> } | { redacted: string };

/** Timing and size of one answer. */
export interface StreamMetrics {
  /**
   * Milliseconds from subscription to the first text `token` (or to the whole answer without
   * streaming): what a reader waits for. Reasoning and tool calls before it do not count here (they
   * do for `tokensPerSecond`). `undefined` for an answer without text.
   */
  ttftMs: number | undefined;
  /** Milliseconds from subscription to `done`. */
  elapsedMs: number;
  /** Number of `token` events. */
  tokens: number;
  /**
   * Output tokens per second of generation: the output tokens (reasoning and tool-call arguments
   * included, as providers count them) divided by the time from the first output of any kind
   * (`token`, `reasoning`, `tool-call`, `provider-tool`) to `done`, so a reasoning model's thinking
   * time is part of the span. While streaming (`progress()`), estimated from the characters of that
   * output. `undefined` before any output, or without an output count.
   */
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
  /**
   * The answer as an assistant turn to append to the history: its parts in the order the answer
   * produced them (signed or redacted reasoning, text, provider tools, tool calls with their parsed
   * input), or a plain string `content` when the answer is only text. Reasoning without a signature
   * or provider data (Chat Completions `reasoning_content`) is left out: no API takes it back; it
   * stays in `reasoning`. So are calls whose arguments are not JSON (an answer cut by `max_tokens`)
   * and calls that are not function calls (a `kind`): both stay in `toolCalls`.
   */
  message: AssistantMessage;
  reasoning?: string;
  /**
   * The reasoning split into its blocks with their signatures and redacted blocks, present when the
   * provider signs or redacts reasoning (Anthropic) or sends it as items with data of their own
   * (Responses `reasoning` items): what a later turn with tools must send back.
   */
  reasoningBlocks?: ReasoningBlock[];
  /** Calls the application must answer (never a call the provider ran itself). */
  toolCalls?: ToolCall[];
  /** Tools the provider ran itself, in order, with their results. */
  providerTools?: ProviderToolCall[];
  /** Citations of the answer text, as the provider sent them. */
  citations?: Record<string, unknown>[];
  usage: Usage;
  stopReason: StopReason;
  /** A refusal's explanation, when the provider sent one apart from the answer text. */
  refusal?: string;
  metrics: StreamMetrics;
  provider: string;
  model: string;
  /** The provider's id for the answer, when it sent one. */
  id?: string;
  /**
   * Present on the result of an Agent's tool loop: each step's own answer (its text, message, tool
   * calls, usage, stop reason and metrics timed from the step's request), with the results of its
   * tool calls in `toolResults`. The loop's result itself follows the AI SDK's `generateText`: its
   * `content`, `message`, `reasoning` and `toolCalls` are the last step's; `usage` sums every step;
   * `metrics` span the whole loop (`ttftMs` is the loop's first token).
   */
  steps?: AgentResponse[];
  /** On a step of a tool loop: the results of this step's tool calls, in call order. */
  toolResults?: ToolResult[];
  /**
   * On the result of a tool loop: every message the loop added after the user's, in order (each
   * step's assistant turn and the tool turn answering it), ready to append to a history.
   */
  messages?: ChatMessage[];
}

/** A tool call's result as the loop reported it (see {@link ToolResultEvent}). */
export interface ToolResult {
  /** The call's id. */
  id: string;
  name: string;
  /** The tool's return value, or the error message the model got when `isError`. */
  output: unknown;
  isError: boolean;
  durationMs: number;
}

/** Per-call options for `stream()` and `complete()`. */
export interface CallOptions {
  /** Cancels the request; the stream errors with `StreamAbortedError` carrying the partial text. */
  signal?: AbortSignal;
}
