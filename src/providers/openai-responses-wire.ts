/**
 * OpenAI Responses API → sink calls, streamed ({@link createResponsesMapper}) or not
 * ({@link createResponseDocumentMapper}). Pure: no I/O, state in the closure of one answer.
 *
 * Wire: typed events, each `event: <type>` with the same `type` in its JSON. An answer is a list of
 * output items (`message`, `reasoning`, `function_call`, `web_search_call`, …), each announced by
 * `response.output_item.added`, filled by deltas and finished by `response.output_item.done`; the
 * terminal event (`response.completed`, `response.incomplete`, or `response.failed` after `error`)
 * carries the whole `Response`. Servers differ in how much of that they send: some send a call's
 * arguments only in its `.done` events, some (LiteLLM's bridge) send items only inside
 * `response.completed`, and OpenAI itself may send `output: []` there. So the stream mapper
 * remembers what each output item already produced and, when an item or the answer is finished,
 * emits only what the finished form holds that the deltas did not, through the same item mapping
 * ({@link mapItem}) the non-streamed document goes through: both paths fold to the same answer.
 *
 * A Responses item holds a call and its outcome together: an item the provider runs itself
 * (`web_search_call`, `code_interpreter_call`, `mcp_call`, …) is one `provider-tool` `call` event
 * with the finished item as its block; only items the application must answer are `tool-call`s.
 */
import type {
  Response,
  ResponseCreateParams,
  ResponseCreateParamsBase,
  ResponseErrorEvent,
  ResponseOutputItem,
  ResponseStreamEvent,
  ResponseUsage,
} from 'openai/resources/responses/responses';
import { InvalidArgumentError, ProtocolError } from '../errors.js';
import type { ChatRequest, StopReason } from '../events.js';
import { mergeProviderOptions } from '../validate.js';
import { mergeNestedOption, outputFormat } from '../schema.js';
import { toResponsesInput } from './messages-openai-responses.js';
import { parseWireObject, shapeError, wireString, type WireMapper, type WireSink } from './runtime.js';
import { streamErrorEvent } from './sdk-errors.js';

/** Maps a Responses `incomplete_details.reason` to a {@link StopReason}. */
export function mapResponsesIncompleteReason(reason: string | null | undefined): StopReason {
  if (reason === 'max_output_tokens') return 'max_tokens';
  if (reason === 'content_filter') return 'content_filter';
  return 'other';
}

/**
 * The `Response` as servers send it, wider than the SDK's type: `usage` is `null` until the end,
 * and a bridge may leave out `output`.
 */
interface WireResponse extends Partial<Omit<Response, 'usage' | 'output'>> {
  usage?: ResponseUsage | null;
  output?: unknown;
}

/** OpenAI nests the error of an `error` event (`{ type: 'error', error: { code, message } }`). */
interface WireErrorEvent extends ResponseErrorEvent {
  error?: unknown;
}

/** Every stream event the SDK knows, with the `error` event as servers really send it. */
type WireEvent = Exclude<ResponseStreamEvent, ResponseErrorEvent> | WireErrorEvent;

/** What one output item has produced so far, so that its finished form adds only the rest. */
interface ItemState {
  /** Its tool-call key for the sink: its output_index, or a negative key of our own. */
  key: number;
  id: string | undefined;
  /** Characters streamed per content part: answer text or refusal (message), reasoning text (reasoning). */
  content: number[];
  /** Characters streamed per reasoning summary part. */
  summary: number[];
  /** Citations sent per content part. */
  citations: number[];
  /** The call's first fragment (with its id and name) was sent. */
  announced: boolean;
  /** A provider tool was reported for this item. */
  settled: boolean;
  /** A reasoning item's provider data was reported (once, when the item is finished). */
  reasoningData: boolean;
}

/** The answer-wide facts item mapping writes to besides the sink. */
interface Answer {
  provider: string;
  /** Refusal text (`refusal` parts): reported on `done`, never as answer text. */
  refusal: string;
  /**
   * Text came in deltas that name no output item: which item it belonged to is unknown, so a
   * finished message's text is never filled in (it could repeat what was streamed).
   */
  looseText: boolean;
}

/** The key of text deltas that name no output item. */
const LOOSE_KEY = -1;

function newState(key: number, id: string | undefined): ItemState {
  return { key, id, content: [], summary: [], citations: [], announced: false, settled: false, reasoningData: false };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * `true` for an object with a string `type`, the one field the mapper switches on; it is then read
 * through the SDK's type `T`, each other field checked where it is used.
 */
function isTyped<T>(value: unknown): value is Record<string, unknown> & T {
  return isObject(value) && typeof value.type === 'string';
}

/** `''` is no value: an empty model or id falls back to the request's. */
function nonEmpty(provider: string, value: unknown, field: string): string | undefined {
  return wireString(provider, value, field) || undefined;
}

/** An output item must be an object: anything else is not a Responses answer (an item without a known `type` is skipped later). */
function wireItem(provider: string, value: unknown, where: string): Record<string, unknown> {
  if (isObject(value)) return value;
  throw shapeError(provider, where, 'an output item object', value);
}

/** The JSON text a non-function call's input is sent as (its action, operation or arguments). */
function jsonText(value: unknown): string {
  return value === undefined ? '' : JSON.stringify(value);
}

/** Two JSON texts that differ only in spacing (a server that re-serialises its final arguments). */
function sameJson(a: string, b: string): boolean {
  try {
    return JSON.stringify(JSON.parse(a)) === JSON.stringify(JSON.parse(b));
  } catch {
    return false;
  }
}

/**
 * Sends what a call's finished arguments hold that its fragments did not: the whole call the first
 * time it is seen, then the remainder when the fragments so far are a prefix of the final text, and
 * nothing when they are equal (or, for JSON, equal once parsed). Fragments that disagree with the
 * final arguments cannot be taken back: that is a `ProtocolError`, never a wrong call.
 */
function completeCall(
  answer: Answer,
  sink: WireSink,
  state: ItemState,
  id: string | undefined,
  name: string | undefined,
  args: string,
  kind: string | undefined,
  json: boolean,
): void {
  if (!state.announced) {
    state.announced = true;
    sink.toolCall(state.key, id, name, args, kind);
    return;
  }
  if (args.length === 0) return; // a finished form without arguments adds nothing
  const sent = sink.toolArguments(state.key);
  if (args === sent) return;
  if (args.startsWith(sent)) {
    sink.toolCall(state.key, undefined, undefined, args.slice(sent.length));
    return;
  }
  if (json && sameJson(sent, args)) return;
  throw new ProtocolError(
    `${answer.provider}: the streamed input of tool call ${id ?? state.id ?? state.key} differs from its final input.`,
    args.slice(0, 1000),
  );
}

/** Answer text of a message's `output_text` part, unless its deltas already brought it. */
function fillText(answer: Answer, sink: WireSink, state: ItemState, part: number, text: unknown): void {
  const value = wireString(answer.provider, text, 'output_text text');
  if (!value || answer.looseText || (state.content[part] ?? 0) > 0) return;
  state.content[part] = value.length;
  sink.token(value);
}

/** The citations of a message's `output_text` part that were not sent yet. */
function fillCitations(sink: WireSink, state: ItemState, part: number, annotations: unknown): void {
  if (!Array.isArray(annotations)) return;
  for (let k = state.citations[part] ?? 0; k < annotations.length; k++) {
    const annotation: unknown = annotations[k];
    if (isObject(annotation)) sink.citation(annotation);
  }
  state.citations[part] = Math.max(state.citations[part] ?? 0, annotations.length);
}

/** A refusal part's text, unless its deltas already brought it. */
function fillRefusal(answer: Answer, state: ItemState, part: number, text: unknown): void {
  const value = wireString(answer.provider, text, 'refusal');
  if (!value || (state.content[part] ?? 0) > 0) return;
  state.content[part] = value.length;
  answer.refusal += value;
}

/** Reasoning text of a summary part (`summary`) or a reasoning content part, unless streamed. */
function fillReasoning(answer: Answer, sink: WireSink, parts: number[], part: number, text: unknown): void {
  const value = wireString(answer.provider, text, 'reasoning text');
  if (!value || (parts[part] ?? 0) > 0) return;
  parts[part] = value.length;
  sink.reasoning(value);
}

/** One content part of a message (`output_text` or `refusal`) or of a reasoning item (`reasoning_text`). */
function fillPart(answer: Answer, sink: WireSink, state: ItemState, part: number, value: unknown): void {
  if (!isObject(value)) return;
  if (value.type === 'output_text') {
    fillText(answer, sink, state, part, value.text);
    fillCitations(sink, state, part, value.annotations);
  } else if (value.type === 'refusal') {
    fillRefusal(answer, state, part, value.refusal);
  } else if (value.type === 'reasoning_text') {
    fillReasoning(answer, sink, state.content, part, value.text);
  }
}

/**
 * Closes a finished reasoning item with the item itself (all but its `type`): a reasoning model's
 * next turn without `previous_response_id` must send it back unchanged before the calls it led to,
 * `encrypted_content` included when the request asked for it. Once per item; an item without an
 * `id` cannot be sent back, so it has none.
 */
function reasoningData(answer: Answer, sink: WireSink, state: ItemState, raw: Record<string, unknown>): void {
  if (state.reasoningData || !nonEmpty(answer.provider, raw.id, 'reasoning id')) return;
  state.reasoningData = true;
  const data: Record<string, unknown> = { ...raw };
  delete data.type;
  sink.reasoningData(data);
}

/** A tool the provider ran: reported once per item, with the item as sent. */
function providerTool(
  answer: Answer,
  sink: WireSink,
  state: ItemState,
  raw: Record<string, unknown>,
  name: string,
  input: unknown,
): void {
  if (state.settled) return;
  state.settled = true;
  sink.providerTool('call', wireString(answer.provider, raw.id, 'item id') ?? '', name, input, raw);
}

/**
 * Maps one finished output item, adding only what `state` says the stream did not bring yet: the
 * one item mapping shared by the stream (at `response.output_item.done` and the terminal event)
 * and the non-streamed document (with a fresh state per item).
 */
function mapItem(answer: Answer, sink: WireSink, state: ItemState, raw: Record<string, unknown>): void {
  if (!isTyped<ResponseOutputItem>(raw)) return;
  const item = raw;
  const p = answer.provider;
  /** A call the application answers, keyed by this item, named by its `call_id` (or `id`). */
  const call = (name: string | undefined, args: string, kind: string | undefined, json = true): void =>
    completeCall(answer, sink, state, callId(p, raw), name, args, kind, json);
  switch (item.type) {
    case 'message': {
      const content: unknown = item.content;
      if (Array.isArray(content)) content.forEach((part: unknown, j) => fillPart(answer, sink, state, j, part));
      return;
    }
    case 'reasoning': {
      const content: unknown = item.content;
      if (Array.isArray(content)) content.forEach((part: unknown, j) => fillPart(answer, sink, state, j, part));
      const summary: unknown = item.summary;
      if (Array.isArray(summary)) {
        summary.forEach((part: unknown, j) => {
          if (isObject(part)) fillReasoning(answer, sink, state.summary, j, part.text);
        });
      }
      reasoningData(answer, sink, state, raw);
      return;
    }
    // Calls the application must answer: `tool-call`s, keyed by the item.
    case 'function_call':
      call(wireString(p, item.name, 'function_call name'), wireString(p, item.arguments, 'function_call arguments') ?? '', undefined);
      return;
    case 'custom_tool_call':
      // Free-form input: plain text, not JSON.
      call(wireString(p, item.name, 'custom_tool_call name'), wireString(p, item.input, 'custom_tool_call input') ?? '', item.type, false);
      return;
    case 'local_shell_call':
    case 'shell_call':
      call(undefined, jsonText(item.action), item.type);
      return;
    case 'computer_call':
      // One action, or (newer models) a batch of them.
      call(undefined, jsonText(item.action ?? item.actions), item.type);
      return;
    case 'apply_patch_call':
      call(undefined, jsonText(item.operation), item.type);
      return;
    case 'mcp_approval_request':
      // The application approves or denies the MCP call: it answers with this item's id.
      call(wireString(p, item.name, 'mcp_approval_request name'), wireString(p, item.arguments, 'mcp_approval_request arguments') ?? '', item.type);
      return;
    case 'tool_search_call':
      if (item.execution === 'client') call(undefined, jsonText(item.arguments), item.type);
      else providerTool(answer, sink, state, raw, 'tool_search', item.arguments);
      return;
    // Tools the provider ran: one `provider-tool` call holding the outcome too.
    case 'web_search_call':
      providerTool(answer, sink, state, raw, 'web_search', item.action);
      return;
    case 'file_search_call':
      providerTool(answer, sink, state, raw, 'file_search', { queries: item.queries });
      return;
    case 'code_interpreter_call':
      providerTool(answer, sink, state, raw, 'code_interpreter', { code: item.code });
      return;
    case 'image_generation_call':
      providerTool(answer, sink, state, raw, 'image_generation', undefined);
      return;
    case 'mcp_call':
      providerTool(answer, sink, state, raw, wireString(p, item.name, 'mcp_call name') || 'mcp_call', mcpInput(p, item.arguments));
      return;
    case 'mcp_list_tools':
      providerTool(answer, sink, state, raw, 'mcp_list_tools', undefined);
      return;
    case 'program':
      // Programmatic tool calling: the provider runs this code; the calls it makes arrive as calls.
      providerTool(answer, sink, state, raw, 'program', { code: item.code });
      return;
    // Outputs answer earlier calls (the application's or the provider's): never calls themselves.
    case 'function_call_output':
    case 'computer_call_output':
    case 'local_shell_call_output':
    case 'shell_call_output':
    case 'apply_patch_call_output':
    case 'custom_tool_call_output':
    case 'tool_search_output':
    case 'program_output':
    case 'mcp_approval_response':
    // Context the provider keeps for itself: nothing to show or answer.
    case 'additional_tools':
    case 'compaction':
      return;
    default:
      // An item type this SDK does not know: ignored at run time; a compile error when the SDK adds one.
      item satisfies never;
      return;
  }
}

/** A call's id: its `call_id` (what the application answers with), or its `id` where it has none. */
function callId(provider: string, raw: Record<string, unknown>): string | undefined {
  return nonEmpty(provider, raw.call_id, 'call_id') ?? nonEmpty(provider, raw.id, 'item id');
}

/** An MCP call's arguments, parsed when they are JSON (they should be), else the text as sent. */
function mcpInput(provider: string, args: unknown): unknown {
  const text = wireString(provider, args, 'mcp_call arguments');
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** Usage and the terminal `done` of a finished `Response`. */
function finish(answer: Answer, sink: WireSink, response: WireResponse | undefined, stopReason: StopReason): void {
  const usage = response?.usage;
  if (isObject(usage)) sink.usage(usage.input_tokens, usage.output_tokens);
  if (answer.refusal) sink.done('refusal', answer.refusal);
  else sink.done(stopReason);
}

/** The stop reason of a finished `Response` (the engine makes it `tool_use` when calls must be answered). */
function stopOf(response: WireResponse | undefined, incomplete: boolean): StopReason {
  if (!incomplete) return 'end';
  const details: unknown = response?.incomplete_details;
  return mapResponsesIncompleteReason(isObject(details) && typeof details.reason === 'string' ? details.reason : undefined);
}

/** Creates the mapper for one Responses API stream. */
export function createResponsesMapper(provider = 'openai'): WireMapper {
  const answer: Answer = { provider, refusal: '', looseText: false };
  /** Each output item's state by its output_index, and by its id. */
  const byIndex = new Map<number, ItemState>();
  const byId = new Map<string, ItemState>();
  let loose: ItemState | undefined;
  /** Keys for items known only by id: negative, so they never meet an output_index. */
  let nextKey = LOOSE_KEY - 1;
  let failed = false;
  /** `start` may still be called: no event other than the response's own lifecycle came yet. */
  let startable = true;

  /** Names the answer from the `Response` of a lifecycle event, once, before anything else. */
  const begin = (sink: WireSink, response: unknown): void => {
    if (!startable || !isObject(response)) return;
    startable = false;
    sink.start(nonEmpty(provider, response.model, 'response.model'), nonEmpty(provider, response.id, 'response.id'));
  };

  /** The state of the item an event names by output_index (or, lacking that, by item id). */
  const stateOf = (outputIndex: unknown, itemId: unknown): ItemState => {
    const id = typeof itemId === 'string' && itemId ? itemId : undefined;
    // A negative or fractional index is no output index (and must not meet our own negative keys).
    if (typeof outputIndex === 'number' && Number.isInteger(outputIndex) && outputIndex >= 0) {
      let state = byIndex.get(outputIndex);
      if (!state) {
        state = newState(outputIndex, id);
        byIndex.set(outputIndex, state);
      }
      if (id && state.id === undefined) state.id = id;
      if (id && !byId.has(id)) byId.set(id, state);
      return state;
    }
    if (id) {
      let state = byId.get(id);
      if (!state) {
        state = newState(nextKey--, id);
        byId.set(id, state);
      }
      return state;
    }
    return (loose ??= newState(LOOSE_KEY, undefined));
  };

  /** Index of a content, summary or annotation part (0 when the server leaves it out). */
  const at = (value: unknown): number => (typeof value === 'number' && value >= 0 ? value : 0);

  /**
   * The terminal event: the final `Response` is the truth. Each of its items adds what the stream
   * did not bring: an item matched by id (else by position, if its id does not contradict) adds
   * its missing part; an item never seen is mapped whole.
   */
  const settle = (sink: WireSink, response: WireResponse): void => {
    const output = response.output;
    if (!Array.isArray(output)) return;
    output.forEach((value: unknown, position) => {
      const raw = wireItem(provider, value, 'response.output[]');
      const id = typeof raw.id === 'string' && raw.id ? raw.id : undefined;
      let state = id === undefined ? undefined : byId.get(id);
      if (!state) {
        const atPosition = byIndex.get(position);
        if (atPosition && (atPosition.id === undefined || id === undefined || atPosition.id === id)) state = atPosition;
      }
      // An item never seen takes its position as key, as in the document, unless that key is taken.
      mapItem(answer, sink, state ?? newState(byIndex.has(position) ? nextKey-- : position, id), raw);
    });
  };

  return {
    event(_name: string | undefined, data: string, sink: WireSink): void {
      const event = parseWireObject(provider, data);
      if (!isTyped<WireEvent>(event)) return;
      const type = event.type;
      if (startable && type !== 'response.created' && type !== 'response.queued' && type !== 'response.in_progress') {
        // Past the lifecycle events the engine has started (or will) on its own; a terminal
        // `Response` still names an answer that nothing preceded.
        if (type === 'response.completed' || type === 'response.incomplete') begin(sink, event.response);
        startable = false;
      }
      switch (event.type) {
        case 'response.output_text.delta': {
          const state = stateOf(event.output_index, event.item_id);
          if (state.key === LOOSE_KEY) answer.looseText = true;
          const text = wireString(provider, event.delta, 'response.output_text.delta delta');
          if (!text) return;
          const part = at(event.content_index);
          state.content[part] = (state.content[part] ?? 0) + text.length;
          sink.token(text);
          return;
        }
        case 'response.reasoning_summary_text.delta': {
          const state = stateOf(event.output_index, event.item_id);
          const text = wireString(provider, event.delta, 'response.reasoning_summary_text.delta delta');
          if (!text) return;
          const part = at(event.summary_index);
          state.summary[part] = (state.summary[part] ?? 0) + text.length;
          sink.reasoning(text);
          return;
        }
        case 'response.reasoning_text.delta': {
          const state = stateOf(event.output_index, event.item_id);
          const text = wireString(provider, event.delta, 'response.reasoning_text.delta delta');
          if (!text) return;
          const part = at(event.content_index);
          state.content[part] = (state.content[part] ?? 0) + text.length;
          sink.reasoning(text);
          return;
        }
        case 'response.function_call_arguments.delta':
        case 'response.custom_tool_call_input.delta': {
          const state = stateOf(event.output_index, event.item_id);
          const text = wireString(provider, event.delta, `${event.type} delta`);
          // Fragments of a call never announced (no id, no name) wait for its finished form.
          if (text && state.announced) sink.toolCall(state.key, undefined, undefined, text);
          return;
        }
        case 'response.refusal.delta': {
          const state = stateOf(event.output_index, event.item_id);
          const text = wireString(provider, event.delta, 'response.refusal.delta delta');
          if (!text) return;
          const part = at(event.content_index);
          state.content[part] = (state.content[part] ?? 0) + text.length;
          answer.refusal += text;
          return;
        }
        case 'response.output_text.annotation.added': {
          const state = stateOf(event.output_index, event.item_id);
          const part = at(event.content_index);
          state.citations[part] = (state.citations[part] ?? 0) + 1;
          const annotation: unknown = event.annotation;
          if (isObject(annotation)) sink.citation(annotation);
          return;
        }
        // The `.done` events repeat a part whole: they fill in a part whose deltas never came.
        case 'response.output_text.done': {
          const state = stateOf(event.output_index, event.item_id);
          fillText(answer, sink, state, at(event.content_index), event.text);
          return;
        }
        case 'response.refusal.done': {
          const state = stateOf(event.output_index, event.item_id);
          fillRefusal(answer, state, at(event.content_index), event.refusal);
          return;
        }
        case 'response.reasoning_text.done': {
          const state = stateOf(event.output_index, event.item_id);
          fillReasoning(answer, sink, state.content, at(event.content_index), event.text);
          return;
        }
        case 'response.reasoning_summary_text.done': {
          const state = stateOf(event.output_index, event.item_id);
          fillReasoning(answer, sink, state.summary, at(event.summary_index), event.text);
          return;
        }
        case 'response.reasoning_summary_part.done': {
          const state = stateOf(event.output_index, event.item_id);
          const part: unknown = event.part;
          if (isObject(part)) fillReasoning(answer, sink, state.summary, at(event.summary_index), part.text);
          return;
        }
        case 'response.content_part.done': {
          const state = stateOf(event.output_index, event.item_id);
          fillPart(answer, sink, state, at(event.content_index), event.part);
          return;
        }
        case 'response.function_call_arguments.done':
        case 'response.custom_tool_call_input.done': {
          const state = stateOf(event.output_index, event.item_id);
          // Without the item's call_id the call cannot be named yet: its finished item will.
          if (!state.announced) return;
          const fn = event.type === 'response.function_call_arguments.done';
          const args = wireString(provider, fn ? event.arguments : event.input, fn ? `${event.type} arguments` : `${event.type} input`);
          completeCall(answer, sink, state, undefined, undefined, args ?? '', undefined, fn);
          return;
        }
        case 'response.output_item.added': {
          const raw = wireItem(provider, event.item, 'response.output_item.added item');
          const state = stateOf(event.output_index, raw.id);
          // Calls with streamed input are named here; every other item is mapped once finished.
          if (raw.type === 'function_call' || raw.type === 'custom_tool_call') mapItem(answer, sink, state, raw);
          return;
        }
        case 'response.output_item.done': {
          const raw = wireItem(provider, event.item, 'response.output_item.done item');
          mapItem(answer, sink, stateOf(event.output_index, raw.id), raw);
          return;
        }
        case 'response.created':
        case 'response.queued':
        case 'response.in_progress':
          begin(sink, event.response);
          return;
        case 'response.completed':
        case 'response.incomplete': {
          const value: unknown = event.response;
          const response = isObject(value) ? (value as WireResponse) : undefined;
          if (response) settle(sink, response);
          finish(answer, sink, response, stopOf(response, event.type === 'response.incomplete'));
          return;
        }
        case 'error':
          // An `error` event comes first, `response.failed` repeats it: report the first one.
          if (!failed) {
            failed = true;
            sink.fail(streamErrorEvent(provider, event.error ? event : { error: event }));
          }
          return;
        case 'response.failed':
          if (!failed) {
            failed = true;
            const response: unknown = event.response;
            const error = isObject(response) ? response.error : undefined;
            sink.fail(streamErrorEvent(provider, { error: error ?? { message: 'response failed' } }));
          }
          return;
        // Progress of items that are reported whole once done, and parts whose text comes in deltas.
        case 'response.content_part.added':
        case 'response.reasoning_summary_part.added':
        case 'response.audio.delta':
        case 'response.audio.done':
        case 'response.audio.transcript.delta':
        case 'response.audio.transcript.done':
        case 'response.code_interpreter_call_code.delta':
        case 'response.code_interpreter_call_code.done':
        case 'response.code_interpreter_call.completed':
        case 'response.code_interpreter_call.in_progress':
        case 'response.code_interpreter_call.interpreting':
        case 'response.file_search_call.completed':
        case 'response.file_search_call.in_progress':
        case 'response.file_search_call.searching':
        case 'response.web_search_call.completed':
        case 'response.web_search_call.in_progress':
        case 'response.web_search_call.searching':
        case 'response.image_generation_call.completed':
        case 'response.image_generation_call.generating':
        case 'response.image_generation_call.in_progress':
        case 'response.image_generation_call.partial_image':
        case 'response.mcp_call_arguments.delta':
        case 'response.mcp_call_arguments.done':
        case 'response.mcp_call.completed':
        case 'response.mcp_call.failed':
        case 'response.mcp_call.in_progress':
        case 'response.mcp_list_tools.completed':
        case 'response.mcp_list_tools.failed':
        case 'response.mcp_list_tools.in_progress':
          return;
        default:
          // An event type this SDK does not know: ignored at run time; a compile error when the SDK adds one.
          event satisfies never;
          return;
      }
    },
  };
}

/** Maps a non-streamed `Response` through the same sink, and the same item mapping, as the stream. */
export function createResponseDocumentMapper(provider = 'openai'): WireMapper {
  return {
    event(_name, data, sink) {
      const response = parseWireObject(provider, data) as WireResponse;
      if (response.status === 'failed' || (response.error && !response.output)) {
        sink.fail(streamErrorEvent(provider, { error: response.error ?? { message: 'response failed' } }));
        return;
      }
      sink.start(nonEmpty(provider, response.model, 'response.model'), nonEmpty(provider, response.id, 'response.id'));
      const answer: Answer = { provider, refusal: '', looseText: false };
      const output = response.output;
      if (Array.isArray(output)) {
        // Keyed by position, as the stream keys items by output_index: calls are numbered alike.
        output.forEach((value: unknown, position) => {
          const raw = wireItem(provider, value, 'response.output[]');
          mapItem(answer, sink, newState(position, undefined), raw);
        });
      }
      finish(answer, sink, response, stopOf(response, response.status === 'incomplete'));
    },
  };
}

/**
 * Builds a Responses API body for a request, typed by the `openai` SDK's own parameter types.
 *
 * @throws InvalidArgumentError for stop sequences (the API has none), a message part it cannot take,
 *   or a `providerOptions` field tokenflow sets
 */
export function toResponsesBody(request: ChatRequest, stream: boolean): ResponseCreateParams {
  if (request.stop !== undefined) {
    throw new InvalidArgumentError(
      'request.stop',
      'request.stop: the OpenAI Responses API has no stop sequences; use the Chat Completions API (openai({ api: "chat" })).',
    );
  }
  const { instructions, input } = toResponsesInput(request);
  const base: ResponseCreateParamsBase = { model: request.model, input };
  if (instructions !== undefined) base.instructions = instructions;
  if (request.temperature !== undefined) base.temperature = request.temperature;
  if (request.maxTokens !== undefined) base.max_output_tokens = request.maxTokens;
  if (request.tools !== undefined) {
    base.tools = request.tools.map((t) => ({
      type: 'function',
      name: t.name,
      ...(t.description !== undefined ? { description: t.description } : {}),
      parameters: t.parameters,
      strict: false,
    }));
  }
  let providerOptions = request.providerOptions;
  if (request.output !== undefined) {
    const { name, schema, description, strict } = outputFormat(request.output);
    // `text` also carries `verbosity`, which a caller sets through providerOptions: merged.
    const merged = mergeNestedOption(providerOptions, 'text', {
      format: {
        type: 'json_schema' as const,
        name,
        schema,
        ...(description !== undefined ? { description } : {}),
        ...(strict !== undefined ? { strict } : {}),
      },
    });
    base.text = merged.value;
    providerOptions = merged.providerOptions;
  }
  const body: ResponseCreateParams = stream ? { ...base, stream: true } : { ...base, stream: false };
  return mergeProviderOptions(body, providerOptions);
}
