/**
 * OpenAI Chat Completions streaming → sink calls, shared by OpenAI, Groq and OpenAI-compatible
 * servers (Mistral, DeepSeek, xAI, Ollama, vLLM, LM Studio). Pure: no I/O, state in the closure of
 * one stream.
 *
 * Wire: `data: {chat.completion.chunk}` lines, each with `choices[0].delta` (`content`, `refusal`,
 * `tool_calls`, and on some servers `reasoning_content` / `reasoning`, Mistral's array `content`)
 * and a `finish_reason` on the last choice chunk; a usage chunk with `choices: []` when
 * `stream_options.include_usage` was asked (Groq: `x_groq.usage` on the final chunk); then
 * `data: [DONE]` (terminal). An `{"error": …}` chunk (Groq: `x_groq.error`) reports a failure
 * mid-stream.
 *
 * Every field that becomes text is checked to be a string (`wireString`): a number, object or array
 * where text belongs is a `ProtocolError` naming the field, never passed on as a token.
 */
import type {
  ChatCompletionChunk as GroqChatCompletionChunk,
  ChatCompletionCreateParams as GroqChatCompletionCreateParams,
  ChatCompletionMessageParam as GroqChatCompletionMessageParam,
} from 'groq-sdk/resources/chat/completions';
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionCreateParams,
  ChatCompletionMessageParam,
  ChatCompletionMessageToolCall,
} from 'openai/resources/chat/completions/completions';
import { ProviderError } from '../errors.js';
import type { ChatRequest, ServerTimings, StopReason } from '../events.js';
import { mergeProviderOptions } from '../validate.js';
import { outputFormat } from '../schema.js';
import { GROQ_CHAT_DIALECT, OPENAI_CHAT_DIALECT, toChatMessages } from './messages-openai-chat.js';
import { jsonStringBody, jsonStringEnd, parseWireObject, shapeError, wireString, type WireMapper, type WireSink } from './runtime.js';
import { streamErrorEvent } from './sdk-errors.js';

/**
 * Every `finish_reason` the SDKs declare (OpenAI's stream and document, Groq's), plus what
 * compatible servers add: `eos` (some local servers), Mistral's `model_length` (the context window
 * is full) and `error` (generation failed). An SDK upgrade that adds a value fails the type check of
 * {@link mapOpenAIFinishReason} until it is mapped.
 */
type WireFinishReason =
  | NonNullable<ChatCompletionChunk.Choice['finish_reason']>
  | ChatCompletion.Choice['finish_reason']
  | NonNullable<GroqChatCompletionChunk.Choice['finish_reason']>
  | 'eos'
  | 'model_length'
  | 'error';

/** Maps a Chat Completions `finish_reason` to a {@link StopReason}; unknown values are `other`. */
export function mapOpenAIFinishReason(reason: string | null | undefined): StopReason {
  if (reason === null || reason === undefined) return 'other';
  // The cast only names the values we know; anything else reaches `default` at run time.
  const known = reason as WireFinishReason;
  switch (known) {
    case 'stop':
    case 'eos':
      return 'end';
    case 'length':
    case 'model_length':
      return 'max_tokens';
    case 'tool_calls':
    case 'function_call':
      return 'tool_use';
    case 'content_filter':
      return 'content_filter';
    case 'error': // the mapper fails the stream before it gets here
      return 'other';
    default:
      known satisfies never;
      return 'other';
  }
}

/**
 * Usage as Chat Completions servers send it: OpenAI's counts, Groq's timings (seconds), xAI's
 * reasoning count that `completion_tokens` leaves out. Fields are read only if they are numbers.
 */
interface WireUsage {
  prompt_tokens?: number | null;
  completion_tokens?: number | null;
  total_tokens?: number | null;
  completion_tokens_details?: { reasoning_tokens?: number | null } | null;
  queue_time?: number | null;
  prompt_time?: number | null;
  completion_time?: number | null;
  total_time?: number | null;
}

/** A Mistral content part: `text`, `thinking` (whose `thinking` holds text parts) or `reference`. */
interface ContentPart {
  type?: string;
  text?: string | null;
  thinking?: ContentPart[] | string | null;
  [field: string]: unknown;
}

/** What a compatible server may send beside a tool call's `function`: a custom tool's free-form input. */
interface WireCustomTool {
  name?: string | null;
  input?: string | null;
}

/**
 * A streamed tool-call fragment as servers send it: `index` may be missing (some servers), the id
 * `null`, and a custom tool call comes as `type: 'custom'` with `custom` instead of `function`.
 */
interface WireToolCallDelta extends Omit<ChatCompletionChunk.Choice.Delta.ToolCall, 'index' | 'id' | 'type' | 'function'> {
  index?: number | null;
  id?: string | null;
  type?: ChatCompletionChunk.Choice.Delta.ToolCall['type'] | ChatCompletionMessageToolCall['type'] | null;
  function?: { name?: string | null; arguments?: string | null } | null;
  custom?: WireCustomTool | null;
}

/** The delta extended with what compatible servers add. */
interface WireDelta extends Omit<ChatCompletionChunk.Choice.Delta, 'content' | 'tool_calls' | 'function_call'> {
  /** A string, or (Mistral) an array of `text` / `thinking` parts. */
  content?: string | ContentPart[] | null;
  /** DeepSeek, vLLM, xAI. */
  reasoning_content?: string | null;
  /** Groq, vLLM, Ollama. */
  reasoning?: string | null;
  tool_calls?: WireToolCallDelta[] | null;
  function_call?: { name?: string | null; arguments?: string | null } | null;
  /** OpenAI search models (`url_citation`), Groq (`document_citation`). */
  annotations?: Array<Record<string, unknown>> | null;
}

interface WireChoice extends Omit<ChatCompletionChunk.Choice, 'delta' | 'finish_reason' | 'index'> {
  index?: number | null;
  delta?: WireDelta | null;
  finish_reason?: string | null;
}

/** Groq's extension: usage with timings on the final chunk, an error string when it stopped early. */
interface WireXGroq {
  usage?: WireUsage | null;
  error?: string | null;
}

/** A chunk as servers send it: `id` and `model` may be empty or missing on compatible servers. */
interface WireChunk extends Partial<Omit<ChatCompletionChunk, 'id' | 'model' | 'choices' | 'usage'>> {
  id?: string | null;
  model?: string | null;
  choices?: WireChoice[] | null;
  usage?: WireUsage | null;
  x_groq?: WireXGroq | null;
  error?: unknown;
}

/** Groq reports its server-side timings in seconds; tokenflow uses milliseconds. */
function groqTimings(usage: WireUsage): ServerTimings | undefined {
  const ms = (seconds: unknown): number | undefined => (typeof seconds === 'number' ? seconds * 1000 : undefined);
  const timings: ServerTimings = {};
  const queueMs = ms(usage.queue_time);
  const promptMs = ms(usage.prompt_time);
  const completionMs = ms(usage.completion_time);
  const totalMs = ms(usage.total_time);
  if (queueMs !== undefined) timings.queueMs = queueMs;
  if (promptMs !== undefined) timings.promptMs = promptMs;
  if (completionMs !== undefined) timings.completionMs = completionMs;
  if (totalMs !== undefined) timings.totalMs = totalMs;
  return Object.keys(timings).length > 0 ? timings : undefined;
}

const num = (value: unknown): number | undefined => (typeof value === 'number' ? value : undefined);

/** Reports a usage object. Runs once or twice per stream, so it may allocate. */
function reportUsage(usage: unknown, sink: WireSink): void {
  if (typeof usage !== 'object' || usage === null) return;
  const u = usage as WireUsage;
  const input = num(u.prompt_tokens);
  let output = num(u.completion_tokens);
  // xAI counts reasoning apart from completion_tokens (total = prompt + completion + reasoning);
  // OpenAI, Groq and DeepSeek count it inside (total = prompt + completion). Output includes reasoning.
  const details = u.completion_tokens_details;
  const reasoning = typeof details === 'object' && details !== null ? num(details.reasoning_tokens) : undefined;
  const total = num(u.total_tokens);
  if (output !== undefined && input !== undefined && reasoning !== undefined && reasoning > 0 && total === input + output + reasoning) {
    output += reasoning;
  }
  sink.usage(input, output, groqTimings(u));
}

/** Whether a value is a JSON object (not null, not an array). */
function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}


/**
 * The choice the answer streams in: index 0 (tokenflow asks for n = 1; with `n` > 1 in
 * `providerOptions` the other choices are ignored rather than spliced into the answer).
 */
function pickChoice<Choice extends object>(provider: string, choices: unknown, field: string): Choice | undefined {
  if (choices === undefined || choices === null) return undefined;
  if (!Array.isArray(choices)) throw shapeError(provider, field, 'an array', choices);
  for (let i = 0; i < choices.length; i++) {
    const choice: unknown = choices[i];
    if (!isObject(choice)) throw shapeError(provider, `${field}[${i}]`, 'an object', choice);
    const index = choice.index;
    if (index === undefined || index === null || index === 0) return choice as Choice;
  }
  return undefined;
}

/**
 * Sends content that is a string or (Mistral) an array of parts: `text` parts are answer text,
 * `thinking` parts reasoning, `reference` parts citations; parts of other types are skipped (a new
 * kind of part must not crash a stream). Anything else is a `ProtocolError` naming the field.
 */
function sendContent(provider: string, content: unknown, field: string, sink: WireSink): void {
  if (typeof content === 'string') {
    sink.token(content);
    return;
  }
  if (content === undefined || content === null) return;
  if (!Array.isArray(content)) {
    wireString(provider, content, field); // throws: a number or an object is not text
    return;
  }
  for (let i = 0; i < content.length; i++) {
    const part: unknown = content[i];
    if (!isObject(part) || typeof part.type !== 'string') {
      throw shapeError(provider, `${field}[${i}]`, 'a content part with a string type', part);
    }
    const p = part as ContentPart;
    switch (p.type) {
      case 'text': {
        const text = wireString(provider, p.text, `${field}[${i}].text`);
        if (text) sink.token(text);
        break;
      }
      case 'thinking':
        sendThinking(provider, p.thinking, `${field}[${i}].thinking`, sink);
        break;
      case 'reference':
        sink.citation(part);
        break;
      default:
        break; // an unknown part type: skipped, never a crash
    }
  }
}

/** A Mistral `thinking` part's content: text parts (or, leniently, a string) become reasoning. */
function sendThinking(provider: string, thinking: unknown, field: string, sink: WireSink): void {
  if (typeof thinking === 'string') {
    sink.reasoning(thinking);
    return;
  }
  if (thinking === undefined || thinking === null) return;
  if (!Array.isArray(thinking)) throw shapeError(provider, field, 'an array of parts', thinking);
  for (let i = 0; i < thinking.length; i++) {
    const part: unknown = thinking[i];
    if (!isObject(part) || typeof part.type !== 'string') {
      throw shapeError(provider, `${field}[${i}]`, 'a content part with a string type', part);
    }
    if (part.type === 'text') {
      const text = wireString(provider, part.text, `${field}[${i}].text`);
      if (text) sink.reasoning(text);
    }
  }
}

/** Sends the annotations (citations) a delta or message carries. */
function sendAnnotations(provider: string, annotations: unknown, field: string, sink: WireSink): void {
  if (annotations === undefined || annotations === null) return;
  if (!Array.isArray(annotations)) throw shapeError(provider, field, 'an array', annotations);
  for (let i = 0; i < annotations.length; i++) {
    const annotation: unknown = annotations[i];
    if (!isObject(annotation)) throw shapeError(provider, `${field}[${i}]`, 'an object', annotation);
    sink.citation(annotation);
  }
}

/**
 * The `kind` of a custom tool call: the name the Responses API gives the same thing, so a consumer
 * sees one vocabulary whichever API answered.
 */
const CUSTOM_TOOL_KIND = 'custom_tool_call';
/** The sink key of the deprecated `function_call` (one per answer); wire indexes are ≥ 0. */
const FUNCTION_CALL_KEY = Number.MIN_SAFE_INTEGER;

/** The error a Mistral `finish_reason: "error"` stands for: the generation failed server-side. */
function finishError(provider: string, body: unknown): ProviderError {
  return new ProviderError(`${provider}: the provider stopped the answer with finish_reason "error".`, {
    provider,
    type: 'error',
    retryable: true,
    body,
    inStream: true,
  });
}

/** Options for {@link createChatMapper}. */
export interface ChatMapperOptions {
  /** The provider name on errors. */
  provider: string;
  /**
   * Accept the end of the body after a `finish_reason` as the end of the answer when `[DONE]` never
   * comes (some OpenAI-compatible servers omit it). Strict (`false`) for OpenAI and Groq.
   */
  lenientEnd?: boolean;
  /**
   * Read plain text chunks by their frame (see {@link ChunkFrame}). Only tests turn it off, to check
   * that it changes nothing.
   * @defaultValue true
   */
  frames?: boolean;
}

/**
 * A plain text chunk's frame: its data before the content's string and after it. Servers repeat
 * the same chunk around each token (id, model, created, fingerprint), so the next chunk that is the
 * same frame around another string is that chunk with another text: its text is read from the data
 * without parsing it. Made only from a chunk that {@link plainTextDelta} read in full, and only when
 * it is unambiguous: the data has exactly one `"content"` (a key, right before `:"`), its string is
 * the text the parse gave, and neither side holds a backslash (so no key is spelled with escapes).
 * Then any string in its place is that chunk's `delta.content` and nothing else changes.
 */
interface ChunkFrame {
  head: string;
  tail: string;
}

const CONTENT_KEY = '"content"';
/** Plain chunks in a row a frame may fail to fit before the mapper stops framing (see `createChatMapper`). */
const MAX_UNFRAMED = 3;

/** The frame of `data`, a chunk whose plain text `content` the full reading gave; `undefined` when ambiguous. */
function frameOf(data: string, content: string): ChunkFrame | undefined {
  const at = data.indexOf(CONTENT_KEY);
  if (at < 0 || data.indexOf(CONTENT_KEY, at + 1) >= 0) return undefined;
  const start = at + CONTENT_KEY.length + 2;
  if (data.charCodeAt(start - 2) !== 0x3a || data.charCodeAt(start - 1) !== 0x22) return undefined; // `:"`
  const end = jsonStringEnd(data, start);
  if (end < 0 || jsonStringBody(data, start, end) !== content) return undefined;
  const head = data.slice(0, start);
  const tail = data.slice(end);
  if (head.includes('\\') || tail.includes('\\')) return undefined;
  return { head, tail };
}

/**
 * The text of a chunk that is `frame` around a non-empty JSON string, or `undefined`. The frame is
 * compared by equality of slices, not `startsWith` / `endsWith`: on the data the SSE parser hands
 * over (a slice of the decoded body), those cost about five times as much as the two slices and
 * `===` (measured on Node 20, a 180-character head), more than the rest of the chunk's reading.
 */
function textInFrame(data: string, frame: ChunkFrame): string | undefined {
  const { head, tail } = frame;
  const end = data.length - tail.length;
  if (end <= head.length || data.slice(0, head.length) !== head || data.slice(end) !== tail) return undefined;
  // The string must end exactly where the tail begins (its quote not escaped, none before it).
  if (jsonStringEnd(data, head.length) !== end) return undefined;
  return jsonStringBody(data, head.length, end);
}

/** One tool call of the answer: the sink key it goes under and the wire id that names it. */
interface CallSlot {
  key: number;
  id: string | undefined;
}

/** Creates the mapper for one Chat Completions stream. */
/**
 * The text of the chunk nearly every token comes in (one choice whose delta is only non-empty
 * `content`, no finish, usage or extension), or `undefined` for any other chunk, which the full
 * reading below takes. Small on purpose: the engine optimizes it within a stream's first tokens and
 * at little cost, which matters most to a short-lived process; the full reading stays the
 * reference (for such a chunk it would send the same one token).
 */
function plainTextDelta(chunk: WireChunk): string | undefined {
  if (chunk.error !== undefined || chunk.usage != null || chunk.x_groq != null) return undefined;
  const choices = chunk.choices;
  if (!Array.isArray(choices) || choices.length !== 1) return undefined;
  const choice: unknown = choices[0];
  if (!isObject(choice)) return undefined;
  const c = choice as WireChoice;
  if ((c.index != null && c.index !== 0) || c.finish_reason != null) return undefined;
  const delta: unknown = c.delta;
  if (!isObject(delta)) return undefined;
  const d = delta as WireDelta;
  const content = d.content;
  if (typeof content !== 'string' || content === '') return undefined;
  if (d.reasoning_content != null || d.reasoning != null || d.refusal != null) return undefined;
  if (d.tool_calls != null || d.function_call != null || d.annotations != null) return undefined;
  return content;
}

export function createChatMapper(options: ChatMapperOptions): WireMapper {
  const { provider, lenientEnd = false, frames = true } = options;
  let started = false;
  /** The last plain chunk's frame, while chunks keep it. */
  let frame: ChunkFrame | undefined;
  /**
   * Plain chunks read in full since a frame last fitted one. After {@link MAX_UNFRAMED} in a row (a
   * server that changes every chunk around its text) the mapper stops framing and parses them all.
   */
  let unframed = frames ? 0 : Infinity;
  let id: string | undefined;
  let model: string | undefined;
  let finishReason: string | undefined;
  let refusal = '';
  /** The current call at each wire index. */
  const slots = new Map<number, CallSlot>();
  /** The call the last fragment went to (an index-less fragment without id continues it). */
  let last: CallSlot | undefined;
  /** Keys for calls the wire index cannot tell apart: negative, so never a wire index. */
  let nextSynthetic = -1;

  /** `start` before the first output, with the first non-empty id and model seen so far. */
  const begin = (sink: WireSink): void => {
    if (started) return;
    started = true;
    sink.start(model, id);
  };

  const finish = (sink: WireSink): void => {
    begin(sink);
    if (refusal) sink.done('refusal', refusal);
    else sink.done(mapOpenAIFinishReason(finishReason));
  };

  /**
   * The sink key of a tool-call fragment. The wire index is the key while it names one call; a
   * fragment whose id differs from the call at its index (Mistral, Gemini: every whole call at
   * index 0) starts a new call; without an index, a new id starts a call and no id continues the
   * last one.
   */
  const callKey = (index: unknown, callId: string | undefined, i: number): number => {
    if (index === undefined || index === null) {
      if (last === undefined || (callId !== undefined && last.id !== undefined && callId !== last.id)) {
        last = { key: nextSynthetic--, id: callId };
      } else if (callId !== undefined) {
        last.id = callId;
      }
      return last.key;
    }
    if (typeof index !== 'number' || !Number.isInteger(index) || index < 0) {
      throw shapeError(provider, `choices[0].delta.tool_calls[${i}].index`, 'a non-negative integer', index);
    }
    let slot = slots.get(index);
    if (slot === undefined) {
      slot = { key: index, id: callId };
      slots.set(index, slot);
    } else if (callId !== undefined && slot.id !== undefined && callId !== slot.id) {
      slot.key = nextSynthetic--;
      slot.id = callId;
    } else if (callId !== undefined) {
      slot.id = callId;
    }
    last = slot;
    return slot.key;
  };

  const toolCalls = (calls: unknown, sink: WireSink): void => {
    if (!Array.isArray(calls)) throw shapeError(provider, 'choices[0].delta.tool_calls', 'an array', calls);
    for (let i = 0; i < calls.length; i++) {
      const raw: unknown = calls[i];
      if (!isObject(raw)) throw shapeError(provider, `choices[0].delta.tool_calls[${i}]`, 'an object', raw);
      const call = raw as WireToolCallDelta;
      const callId = wireString(provider, call.id, `choices[0].delta.tool_calls[${i}].id`) || undefined;
      const callType = call.type ?? (call.custom ? 'custom' : 'function'); // compatible servers omit `type`
      switch (callType) {
        case 'function': {
          const fn: unknown = call.function;
          if (fn !== undefined && fn !== null && !isObject(fn)) {
            throw shapeError(provider, `choices[0].delta.tool_calls[${i}].function`, 'an object', fn);
          }
          const f = call.function;
          const name = wireString(provider, f?.name, `choices[0].delta.tool_calls[${i}].function.name`) || undefined;
          const args = f?.arguments;
          const argsDelta =
            typeof args === 'string' ? args : (wireString(provider, args, `choices[0].delta.tool_calls[${i}].function.arguments`) ?? '');
          const key = callKey(call.index, callId, i);
          begin(sink);
          sink.toolCall(key, callId, name, argsDelta);
          break;
        }
        case 'custom': {
          const custom: unknown = call.custom;
          if (custom !== undefined && custom !== null && !isObject(custom)) {
            throw shapeError(provider, `choices[0].delta.tool_calls[${i}].custom`, 'an object', custom);
          }
          const c = call.custom;
          const name = wireString(provider, c?.name, `choices[0].delta.tool_calls[${i}].custom.name`) || undefined;
          const input = wireString(provider, c?.input, `choices[0].delta.tool_calls[${i}].custom.input`) ?? '';
          const key = callKey(call.index, callId, i);
          begin(sink);
          sink.toolCall(key, callId, name, input, CUSTOM_TOOL_KIND);
          break;
        }
        default:
          callType satisfies never;
          break; // an unknown kind of call: skipped, never passed as a function call
      }
    }
  };

  return {
    event(_name: string | undefined, data: string, sink: WireSink): void {
      if (data === '[DONE]') {
        finish(sink);
        return;
      }
      if (frame !== undefined) {
        const text = textInFrame(data, frame);
        if (text !== undefined) {
          unframed = 0;
          sink.token(text);
          return;
        }
      }
      const chunk = parseWireObject(provider, data) as WireChunk;
      if (started) {
        const text = plainTextDelta(chunk);
        if (text !== undefined) {
          // Frame the next chunks on this one, unless chunks keep changing around their text
          // (OpenAI's `obfuscation` padding differs in every chunk): then every chunk is parsed.
          if (unframed < MAX_UNFRAMED) {
            unframed++;
            frame = frameOf(data, text);
          } else frame = undefined;
          sink.token(text);
          return;
        }
      }
      if (chunk.error) {
        sink.fail(streamErrorEvent(provider, chunk));
        return;
      }
      if (!started) {
        // The first non-empty id and model win: a first chunk with `""` must not.
        if (id === undefined) id = wireString(provider, chunk.id, 'id') || undefined;
        if (model === undefined) model = wireString(provider, chunk.model, 'model') || undefined;
        if (id !== undefined && model !== undefined) begin(sink);
      }
      const choice = pickChoice<WireChoice>(provider, chunk.choices, 'choices');
      if (choice) {
        const delta: unknown = choice.delta;
        if (delta !== undefined && delta !== null) {
          if (!isObject(delta)) throw shapeError(provider, 'choices[0].delta', 'an object', delta);
          const d = delta as WireDelta;
          const reasoning =
            wireString(provider, d.reasoning_content, 'choices[0].delta.reasoning_content') ||
            wireString(provider, d.reasoning, 'choices[0].delta.reasoning');
          if (reasoning) {
            begin(sink);
            sink.reasoning(reasoning);
          }
          const content = d.content;
          if (content !== undefined && content !== null && content !== '') {
            begin(sink);
            sendContent(provider, content, 'choices[0].delta.content', sink);
          }
          const refusalDelta = wireString(provider, d.refusal, 'choices[0].delta.refusal');
          if (refusalDelta) refusal += refusalDelta;
          if (d.tool_calls !== undefined && d.tool_calls !== null) toolCalls(d.tool_calls, sink);
          const legacy: unknown = d.function_call;
          if (legacy !== undefined && legacy !== null) {
            if (!isObject(legacy)) throw shapeError(provider, 'choices[0].delta.function_call', 'an object', legacy);
            const name = wireString(provider, legacy.name, 'choices[0].delta.function_call.name') || undefined;
            const args = wireString(provider, legacy.arguments, 'choices[0].delta.function_call.arguments') ?? '';
            begin(sink);
            sink.toolCall(FUNCTION_CALL_KEY, undefined, name, args);
          }
          if (d.annotations !== undefined && d.annotations !== null) {
            begin(sink);
            sendAnnotations(provider, d.annotations, 'choices[0].delta.annotations', sink);
          }
        }
        const reason = wireString(provider, choice.finish_reason, 'choices[0].finish_reason');
        if (reason) {
          if (reason === 'error') {
            sink.fail(finishError(provider, chunk));
            return;
          }
          finishReason = reason;
        }
      }
      const xGroq: unknown = chunk.x_groq;
      if (isObject(xGroq)) {
        const groqError = wireString(provider, xGroq.error, 'x_groq.error');
        if (groqError) {
          sink.fail(streamErrorEvent(provider, { error: { message: groqError } }));
          return;
        }
        if (isObject(xGroq.usage)) {
          reportUsage(xGroq.usage, sink);
          return;
        }
      }
      if (chunk.usage !== undefined && chunk.usage !== null) reportUsage(chunk.usage, sink);
    },
    end(sink: WireSink): void {
      if (lenientEnd && finishReason) finish(sink);
    },
  };
}

/** A non-streamed tool call as servers send it: `type` may be missing on compatible servers. */
interface WireMessageToolCall {
  id?: string | null;
  type?: ChatCompletionMessageToolCall['type'] | null;
  function?: { name?: string | null; arguments?: string | null } | null;
  custom?: WireCustomTool | null;
}

/** The message extended with what compatible servers add (see {@link WireDelta}). */
interface WireMessage
  extends Omit<ChatCompletion.Choice['message'], 'content' | 'refusal' | 'tool_calls' | 'function_call' | 'annotations' | 'role'> {
  content?: string | ContentPart[] | null;
  refusal?: string | null;
  reasoning_content?: string | null;
  reasoning?: string | null;
  tool_calls?: WireMessageToolCall[] | null;
  function_call?: { name?: string | null; arguments?: string | null } | null;
  annotations?: Array<Record<string, unknown>> | null;
}

/** A non-streamed choice; `finish_reason` is read as any string (unknown ones are `other`). */
interface WireCompletionChoice extends Partial<Omit<ChatCompletion.Choice, 'message' | 'finish_reason' | 'index'>> {
  index?: number | null;
  message?: WireMessage | null;
  finish_reason?: string | null;
}

/** A non-streamed completion as servers send it (see {@link WireChunk}). */
interface WireCompletion extends Partial<Omit<ChatCompletion, 'id' | 'model' | 'choices' | 'usage'>> {
  id?: string | null;
  model?: string | null;
  choices?: WireCompletionChoice[] | null;
  usage?: WireUsage | null;
  x_groq?: WireXGroq | null;
  error?: unknown;
}

/** Maps a non-streamed `ChatCompletion` through the same sink, and the same checks, as the stream. */
export function createChatCompletionMapper(provider: string): WireMapper {
  return {
    event(_name, data, sink) {
      const completion = parseWireObject(provider, data) as WireCompletion;
      if (completion.error) {
        sink.fail(streamErrorEvent(provider, completion));
        return;
      }
      const choice = pickChoice<WireCompletionChoice>(provider, completion.choices, 'choices');
      const reason = wireString(provider, choice?.finish_reason, 'choices[0].finish_reason');
      if (reason === 'error') {
        sink.fail(finishError(provider, completion));
        return;
      }
      sink.start(
        wireString(provider, completion.model, 'model') || undefined,
        wireString(provider, completion.id, 'id') || undefined,
      );
      const message: unknown = choice?.message;
      let refusal: string | undefined;
      if (message !== undefined && message !== null) {
        if (!isObject(message)) throw shapeError(provider, 'choices[0].message', 'an object', message);
        const m = message as WireMessage;
        const reasoning =
          wireString(provider, m.reasoning_content, 'choices[0].message.reasoning_content') ||
          wireString(provider, m.reasoning, 'choices[0].message.reasoning');
        if (reasoning) sink.reasoning(reasoning);
        sendContent(provider, m.content, 'choices[0].message.content', sink);
        refusal = wireString(provider, m.refusal, 'choices[0].message.refusal');
        const calls: unknown = m.tool_calls;
        if (calls !== undefined && calls !== null) {
          if (!Array.isArray(calls)) throw shapeError(provider, 'choices[0].message.tool_calls', 'an array', calls);
          for (let i = 0; i < calls.length; i++) {
            const raw: unknown = calls[i];
            if (!isObject(raw)) throw shapeError(provider, `choices[0].message.tool_calls[${i}]`, 'an object', raw);
            const call = raw as WireMessageToolCall;
            const callId = wireString(provider, call.id, `choices[0].message.tool_calls[${i}].id`) || undefined;
            const callType = call.type ?? (call.custom ? 'custom' : 'function');
            switch (callType) {
              case 'function': {
                const fn: unknown = call.function;
                if (fn !== undefined && fn !== null && !isObject(fn)) {
                  throw shapeError(provider, `choices[0].message.tool_calls[${i}].function`, 'an object', fn);
                }
                const name = wireString(provider, call.function?.name, `choices[0].message.tool_calls[${i}].function.name`) || undefined;
                const args = wireString(provider, call.function?.arguments, `choices[0].message.tool_calls[${i}].function.arguments`) ?? '';
                sink.toolCall(i, callId, name, args);
                break;
              }
              case 'custom': {
                const custom: unknown = call.custom;
                if (custom !== undefined && custom !== null && !isObject(custom)) {
                  throw shapeError(provider, `choices[0].message.tool_calls[${i}].custom`, 'an object', custom);
                }
                const name = wireString(provider, call.custom?.name, `choices[0].message.tool_calls[${i}].custom.name`) || undefined;
                const input = wireString(provider, call.custom?.input, `choices[0].message.tool_calls[${i}].custom.input`) ?? '';
                sink.toolCall(i, callId, name, input, CUSTOM_TOOL_KIND);
                break;
              }
              default:
                callType satisfies never;
                break; // an unknown kind of call: skipped, never passed as a function call
            }
          }
        }
        const legacy: unknown = m.function_call;
        if (legacy !== undefined && legacy !== null) {
          if (!isObject(legacy)) throw shapeError(provider, 'choices[0].message.function_call', 'an object', legacy);
          const name = wireString(provider, legacy.name, 'choices[0].message.function_call.name') || undefined;
          const args = wireString(provider, legacy.arguments, 'choices[0].message.function_call.arguments') ?? '';
          sink.toolCall(FUNCTION_CALL_KEY, undefined, name, args);
        }
        sendAnnotations(provider, m.annotations, 'choices[0].message.annotations', sink);
      }
      const xGroq: unknown = completion.x_groq;
      reportUsage(isObject(xGroq) && isObject(xGroq.usage) ? xGroq.usage : completion.usage, sink);
      if (refusal) sink.done('refusal', refusal);
      else sink.done(mapOpenAIFinishReason(reason));
    },
  };
}

/** How a Chat Completions server wants its body. */
export interface ChatBodyOptions {
  /** `max_completion_tokens` (OpenAI, Groq) or the older `max_tokens` (most compatible servers). */
  maxTokensField: 'max_completion_tokens' | 'max_tokens';
  /** Ask for a usage chunk at the end of the stream (`stream_options.include_usage`). */
  includeUsage: boolean;
}

/** The fields every Chat Completions API shares, around the messages a dialect built. */
function chatBodyFields<Message>(request: ChatRequest, stream: boolean, options: ChatBodyOptions, messages: Message[]) {
  const maxTokens = request.maxTokens;
  return {
    model: request.model,
    messages,
    ...(stream && options.includeUsage ? { stream_options: { include_usage: true } } : {}),
    ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
    ...(maxTokens === undefined ? {} : options.maxTokensField === 'max_tokens' ? { max_tokens: maxTokens } : { max_completion_tokens: maxTokens }),
    ...(request.stop !== undefined ? { stop: request.stop } : {}),
    ...(request.tools !== undefined
      ? {
          tools: request.tools.map((t) => ({
            type: 'function' as const,
            function: {
              name: t.name,
              ...(t.description !== undefined ? { description: t.description } : {}),
              parameters: t.parameters,
            },
          })),
        }
      : {}),
    ...(request.output !== undefined ? { response_format: chatResponseFormat(request) } : {}),
  };
}

/** `response_format` for `request.output` (the same shape in `openai` and `groq-sdk`). */
function chatResponseFormat(request: ChatRequest) {
  const { name, schema, description, strict } = outputFormat(request.output);
  return {
    type: 'json_schema' as const,
    json_schema: { name, schema, ...(description !== undefined ? { description } : {}), ...(strict !== undefined ? { strict } : {}) },
  };
}

/**
 * Builds a Chat Completions body for a request (OpenAI and compatible servers), typed by the
 * `openai` SDK's own parameter types.
 *
 * @throws InvalidArgumentError for a message part the API cannot take, or a `providerOptions` field tokenflow sets
 */
export function toChatBody(request: ChatRequest, stream: boolean, options: ChatBodyOptions): ChatCompletionCreateParams {
  const messages: ChatCompletionMessageParam[] = toChatMessages(request, OPENAI_CHAT_DIALECT);
  const fields = chatBodyFields(request, stream, options, messages);
  const body: ChatCompletionCreateParams = stream ? { ...fields, stream: true } : { ...fields, stream: false };
  return mergeProviderOptions(body, request.providerOptions);
}

/**
 * Builds a Groq Chat Completions body, typed by `groq-sdk`'s own parameter types: no PDFs, and
 * reasoning text back as the assistant's `reasoning`. Groq sends usage unasked (`x_groq.usage`).
 *
 * @throws InvalidArgumentError for a message part Groq cannot take, or a `providerOptions` field tokenflow sets
 */
export function toGroqChatBody(request: ChatRequest, stream: boolean): GroqChatCompletionCreateParams {
  const messages: GroqChatCompletionMessageParam[] = toChatMessages(request, GROQ_CHAT_DIALECT);
  const fields = chatBodyFields(request, stream, { maxTokensField: 'max_completion_tokens', includeUsage: false }, messages);
  const body: GroqChatCompletionCreateParams = stream ? { ...fields, stream: true } : { ...fields, stream: false };
  return mergeProviderOptions(body, request.providerOptions);
}
