/**
 * Anthropic Messages streaming (and the non-streamed `Message`) → sink calls. Pure: no I/O, state
 * in the closure of one stream.
 *
 * Wire: `message_start` (id, model, input usage; rarely the whole message) · per content block
 * `content_block_start`, `content_block_delta` (`text_delta`, `thinking_delta`, `signature_delta`,
 * `input_json_delta`, `citations_delta`, `compaction_delta`), `content_block_stop` · `message_delta`
 * (stop reason, cumulative usage) · `message_stop` (terminal) · `ping` · `error`.
 *
 * Typed on the SDK's Beta types (the superset of the stable ones) with exhaustive switches, so an
 * SDK upgrade that adds an event, block, delta or stop reason fails `npm run typecheck` here. At run
 * time an unknown type is ignored, except a block type ending in `_tool_use` / `_tool_result`: a
 * tool the provider runs itself, reported as such and never as a call the application must answer.
 */
import type {
  BetaContentBlock,
  BetaMessage,
  BetaRawContentBlockDelta,
  BetaRawMessageStreamEvent,
  BetaStopReason,
} from '@anthropic-ai/sdk/resources/beta/messages/messages';
import { ProtocolError } from '../errors.js';
import type { StopReason } from '../events.js';
import { parseWireObject, shapeError, wireString, type WireMapper, type WireSink } from './runtime.js';
import { streamErrorEvent } from './sdk-errors.js';

/**
 * Anthropic's stop reasons in tokenflow's terms. A `Record` over the SDK's union, so a stop reason
 * the SDK adds fails the type check until it is mapped here.
 */
const STOP_REASONS: Record<BetaStopReason, StopReason> = {
  end_turn: 'end',
  max_tokens: 'max_tokens',
  // The answer was cut by the context window: for the caller the same as the output budget.
  model_context_window_exceeded: 'max_tokens',
  stop_sequence: 'stop_sequence',
  tool_use: 'tool_use',
  // The server paused a long turn of its own tools: send the answer back as it is to continue.
  pause_turn: 'pause_turn',
  // The answer is a compaction block, nothing the caller reads as an answer.
  compaction: 'other',
  refusal: 'refusal',
};

/** Maps Anthropic's `stop_reason` to a {@link StopReason} (`other` for one this code does not know). */
export function mapAnthropicStopReason(reason: string | null | undefined): StopReason {
  return typeof reason === 'string' && Object.hasOwn(STOP_REASONS, reason) ? STOP_REASONS[reason as BetaStopReason] : 'other';
}

/** Usage as real servers send it: any field may be missing or `null` (proxies, older API versions). */
interface AnthropicUsage {
  input_tokens?: number | null;
  output_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
  cache_read_input_tokens?: number | null;
}

/** Prompt tokens including the cached ones, so the count means what OpenAI's `prompt_tokens` means. */
export function anthropicInputTokens(usage: AnthropicUsage | null | undefined): number | undefined {
  if (!usage || typeof usage.input_tokens !== 'number') return undefined;
  return usage.input_tokens + (usage.cache_creation_input_tokens ?? 0) + (usage.cache_read_input_tokens ?? 0);
}

/** Events the SDK's stream union leaves out but the wire carries. */
interface PingEvent {
  type: 'ping';
}
interface ErrorEvent {
  type: 'error';
  error: unknown;
}

/** One wire event as the mapper reads it. */
type AnthropicWireEvent = BetaRawMessageStreamEvent | PingEvent | ErrorEvent;

/**
 * A parsed wire object viewed as the SDK type it claims to be (its `type` is a string). The switch
 * over `type` narrows it; fields the SDK does not declare stay readable through the record.
 */
type Wire<T> = Record<string, unknown> & T;

/** `true` when `value` is an object with a string `type`: the only shape the mapper switches on. */
function isTyped<T>(value: unknown): value is Wire<T> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && typeof (value as { type?: unknown }).type === 'string';
}

/**
 * A `text_delta` event exactly as the Messages API sends it, its text's JSON string body captured:
 * `{"type":"content_block_delta","index":N,"delta":{"type":"text_delta","text":"…"}}`, with JSON
 * whitespace allowed after the text (the API pads some events there). The body is any run of
 * characters JSON allows unescaped in a string, or a backslash and the character after it (the
 * escape is checked when the body is decoded). `$` without the `m` flag is the end of the data.
 */
const TEXT_DELTA = /^\{"type":"content_block_delta","index":(?:0|[1-9][0-9]*),"delta":\{"type":"text_delta","text":"((?:[^"\\\x00-\x1f]|\\[^])*)"[ \t\n\r]*\}[ \t\n\r]*\}[ \t\n\r]*$/;

/**
 * The text of a `text_delta` event, read without building the event object, or `undefined` when
 * `data` is not exactly the shape the Messages API sends for one (see {@link TEXT_DELTA}). Nearly
 * every event of an answer is one, and this reads it for about a seventh of a `JSON.parse` of the
 * event: the regular expression runs as the engine's compiled matcher over the data in place, where
 * a loop of `charCodeAt` over the slice of the body that the SSE parser hands over cost four times as
 * much (measured on Node 20).
 *
 * Whatever it returns is what `JSON.parse(data).delta.text` is: anything else (other keys, another
 * order, whitespace before the text, a leading zero, a raw control character, a bad escape) returns
 * `undefined`, and the caller parses the event in full, which also reports malformed JSON as it
 * always does. A text with escapes is decoded by `JSON.parse` of its string literal alone.
 */
export function textDeltaOf(data: string): string | undefined {
  const match = TEXT_DELTA.exec(data);
  if (match === null) return undefined;
  const body = match[1]!;
  if (!body.includes('\\')) return body;
  try {
    return JSON.parse(`"${body}"`) as string;
  } catch {
    return undefined;
  }
}

/** What a content block is to tokenflow, whatever its wire type. */
type BlockKind = 'text' | 'thinking' | 'redacted' | 'client-call' | 'provider-call' | 'provider-result' | 'ignored';

/**
 * Classifies a content block. Exhaustive over the SDK's block types; at run time a type it does not
 * know is a provider tool when it ends in `_tool_use` / `_tool_result` (every server tool so far is
 * named so), and ignored otherwise.
 */
function blockKind(block: BetaContentBlock): BlockKind {
  switch (block.type) {
    case 'text':
      return 'text';
    case 'thinking':
      return 'thinking';
    case 'redacted_thinking':
      return 'redacted';
    case 'tool_use':
      // A call the application answers, also when `caller` says code execution made it
      // (programmatic tool calling): the application still runs it, and its `caller` goes back with it.
      return 'client-call';
    case 'server_tool_use':
    case 'mcp_tool_use':
      return 'provider-call';
    case 'web_search_tool_result':
    case 'web_fetch_tool_result':
    case 'advisor_tool_result':
    case 'code_execution_tool_result':
    case 'bash_code_execution_tool_result':
    case 'text_editor_code_execution_tool_result':
    case 'tool_search_tool_result':
    case 'mcp_tool_result':
      return 'provider-result';
    // A file the server put in the code execution container: nothing to show or answer.
    case 'container_upload':
    // A summary of earlier turns (context management): not answer text; sent back by the caller's own means.
    case 'compaction':
    // The server switched models after a refusal: metadata, the answer follows in other blocks.
    case 'fallback':
    // The tools an MCP server offers: metadata of the MCP connector, not a call.
    case 'mcp_tool_listing':
      return 'ignored';
    default: {
      block satisfies never;
      const type = (block as { type: string }).type;
      if (type.endsWith('_tool_use')) return 'provider-call';
      if (type.endsWith('_tool_result')) return 'provider-result';
      return 'ignored';
    }
  }
}

/** `true` when a prefilled input holds something: `{}` is the placeholder every streamed call starts with. */
function hasInput(input: unknown): boolean {
  if (input === undefined || input === null) return false;
  if (typeof input !== 'object' || Array.isArray(input)) return true;
  for (const _ in input) return true;
  return false;
}

/** A wire value that must be an object (a citation, a block); anything else is a `ProtocolError`. */
function wireRecord(provider: string, value: unknown, field: string): Record<string, unknown> {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  throw shapeError(provider, field, 'an object', value);
}

/**
 * What a `tool_use` block must carry back besides its id, name and input: its `caller` when code
 * execution made the call (programmatic tool calling), so the replayed block still belongs to the
 * code that is waiting for its result. A `direct` caller (or none) is the default and adds nothing.
 */
function callProviderData(provider: string, block: Record<string, unknown>): Record<string, unknown> | undefined {
  if (block.caller === undefined || block.caller === null) return undefined;
  const caller = wireRecord(provider, block.caller, 'tool_use.caller');
  return caller.type === 'direct' ? undefined : { caller };
}

/** Reports a provider tool's call with its complete input, the block carrying that input as it is sent back. */
function providerCall(provider: string, block: Record<string, unknown>, input: unknown, sink: WireSink): void {
  const id = wireString(provider, block.id, `${String(block.type)}.id`) ?? '';
  const name = wireString(provider, block.name, `${String(block.type)}.name`) ?? '';
  sink.providerTool('call', id, name, input, { ...block, input });
}

/** Reports a provider tool's result block, keyed by the call it answers. */
function providerResult(provider: string, block: Record<string, unknown>, sink: WireSink): void {
  const id = wireString(provider, block.tool_use_id, `${String(block.type)}.tool_use_id`) ?? '';
  sink.providerTool('result', id, String(block.type), undefined, block);
}

/** Reports each citation of a text block given whole. */
function blockCitations(provider: string, citations: unknown, sink: WireSink): void {
  if (!Array.isArray(citations)) return;
  for (const citation of citations) sink.citation(wireRecord(provider, citation, 'text.citations[]'));
}

/**
 * Maps one content block given whole (in `message_start.message.content` or a non-streamed
 * `Message`): the one path both read, so a streamed and a non-streamed answer agree. `key` is the
 * tool-call key a client call gets.
 */
function mapWholeBlock(provider: string, value: unknown, key: number, sink: WireSink): void {
  if (!isTyped<BetaContentBlock>(value)) return;
  const block = value;
  switch (blockKind(block)) {
    case 'text':
      sink.token(wireString(provider, block.text, 'text.text') ?? '');
      blockCitations(provider, block.citations, sink);
      return;
    case 'thinking':
      sink.reasoning(wireString(provider, block.thinking, 'thinking.thinking') ?? '');
      sink.reasoningSignature(wireString(provider, block.signature, 'thinking.signature') ?? '');
      return;
    case 'redacted':
      sink.redactedReasoning(wireString(provider, block.data, 'redacted_thinking.data') ?? '');
      return;
    case 'client-call':
      sink.toolCall(
        key,
        wireString(provider, block.id, 'tool_use.id'),
        wireString(provider, block.name, 'tool_use.name'),
        JSON.stringify(block.input ?? {}),
        undefined,
        callProviderData(provider, block),
      );
      return;
    case 'provider-call':
      providerCall(provider, block, block.input ?? {}, sink);
      return;
    case 'provider-result':
      providerResult(provider, block, sink);
      return;
    case 'ignored':
      return;
  }
}

/** A message given whole: its blocks, in order, with tool-call keys from 0. Returns how many blocks it held. */
function mapWholeContent(provider: string, content: unknown, sink: WireSink): number {
  if (!Array.isArray(content)) return 0;
  for (let i = 0; i < content.length; i++) mapWholeBlock(provider, content[i], i, sink);
  return content.length;
}

/** What the mapper remembers about one open content block, by its wire index. */
type OpenBlock =
  | { kind: 'thinking'; signature: string; signed: boolean }
  /** A client call: its sink key and the input `content_block_start` gave (used when no delta comes). */
  | { kind: 'client-call'; key: number; input: unknown }
  /** A provider tool call: its start block and the input JSON accumulated from its deltas. */
  | { kind: 'provider-call'; block: Record<string, unknown>; json: string };

/** Creates the mapper for one Anthropic stream. */
export function createAnthropicMapper(provider = 'anthropic'): WireMapper {
  // ---- per attempt: a second `message_start` (a spliced retry) clears all of it ----
  let attempt = 0;
  /** Open blocks by content block index (text blocks need no state). */
  let blocks = new Map<number, OpenBlock>();
  /** Sink keys of streamed client calls start after the blocks `message_start` gave whole. */
  let keyBase = 0;
  let stopReason: string | null | undefined;
  /** The usage parts, kept apart so a `message_delta` that carries only some of them updates only those. */
  let inputTokens: number | undefined;
  let cacheCreation = 0;
  let cacheRead = 0;

  const reportInput = (sink: WireSink): void => {
    // Passed through even when 0: the engine decides that a 0 prompt is unknown (a proxy's placeholder).
    if (inputTokens !== undefined) sink.usage(inputTokens + cacheCreation + cacheRead, undefined);
  };

  const messageStart = (message: Record<string, unknown>, sink: WireSink): void => {
    if (attempt++ > 0) {
      sink.reset(`${provider}: the response body holds a second message_start (a proxy retried and joined two attempts); only the last attempt counts.`);
      blocks = new Map();
      keyBase = 0;
      stopReason = undefined;
      inputTokens = undefined;
      cacheCreation = 0;
      cacheRead = 0;
    }
    // An empty model or id (some proxies) must not replace the request's model with ''.
    sink.start(wireString(provider, message.model, 'message.model') || undefined, wireString(provider, message.id, 'message.id') || undefined);
    keyBase = mapWholeContent(provider, message.content, sink);
    const usage = (message.usage ?? undefined) as AnthropicUsage | undefined;
    if (usage) {
      inputTokens = typeof usage.input_tokens === 'number' ? usage.input_tokens : undefined;
      cacheCreation = usage.cache_creation_input_tokens ?? 0;
      cacheRead = usage.cache_read_input_tokens ?? 0;
      reportInput(sink);
    }
    const reason = message.stop_reason;
    if (typeof reason === 'string') {
      // Already complete (a gateway that buffered the answer): its output count is final. A live
      // message_start's output_tokens is only the first token's count, so it is not reported.
      stopReason = reason;
      if (typeof usage?.output_tokens === 'number') sink.usage(undefined, usage.output_tokens);
    }
  };

  const blockStart = (index: number, value: unknown, sink: WireSink): void => {
    if (!isTyped<BetaContentBlock>(value)) return;
    const block = value;
    switch (blockKind(block)) {
      case 'text':
      case 'redacted':
        // Complete at their start (deltas may add text): read as a block given whole.
        mapWholeBlock(provider, block, 0, sink);
        return;
      case 'thinking':
        sink.reasoning(wireString(provider, block.thinking, 'thinking.thinking') ?? '');
        // A signature given at start closes the block at its stop, unless a signature_delta comes.
        blocks.set(index, { kind: 'thinking', signature: wireString(provider, block.signature, 'thinking.signature') ?? '', signed: false });
        return;
      case 'client-call': {
        const key = keyBase + index;
        blocks.set(index, { kind: 'client-call', key, input: block.input });
        sink.toolCall(
          key,
          wireString(provider, block.id, 'tool_use.id'),
          wireString(provider, block.name, 'tool_use.name'),
          '',
          undefined,
          callProviderData(provider, block),
        );
        return;
      }
      case 'provider-call':
        blocks.set(index, { kind: 'provider-call', block, json: '' });
        return;
      case 'provider-result':
        // A result block arrives whole in its content_block_start (no delta ever adds to it), so it is
        // reported at once: a UI shows it as soon as it exists, and a body cut before its stop still
        // reports what the server ran.
        providerResult(provider, block, sink);
        return;
      case 'ignored':
        return;
    }
  };

  const blockDelta = (index: number, value: unknown, sink: WireSink): void => {
    if (!isTyped<BetaRawContentBlockDelta>(value)) return;
    const delta = value;
    switch (delta.type) {
      case 'text_delta':
        sink.token(wireString(provider, delta.text, 'text_delta.text') ?? '');
        return;
      case 'thinking_delta':
        sink.reasoning(wireString(provider, delta.thinking, 'thinking_delta.thinking') ?? '');
        return;
      case 'signature_delta': {
        const open = blocks.get(index);
        if (open?.kind === 'thinking') open.signed = true;
        sink.reasoningSignature(wireString(provider, delta.signature, 'signature_delta.signature') ?? '');
        return;
      }
      case 'input_json_delta': {
        const open = blocks.get(index);
        const json = wireString(provider, delta.partial_json, 'input_json_delta.partial_json') ?? '';
        if (open?.kind === 'client-call') sink.toolCall(open.key, undefined, undefined, json);
        else if (open?.kind === 'provider-call') open.json += json;
        return;
      }
      case 'citations_delta':
        sink.citation(wireRecord(provider, delta.citation, 'citations_delta.citation'));
        return;
      case 'compaction_delta':
        // The summary of a compaction block: not answer text (the block itself is ignored).
        return;
      default:
        delta satisfies never;
        return;
    }
  };

  const blockStop = (index: number, sink: WireSink): void => {
    const open = blocks.get(index);
    if (!open) return;
    blocks.delete(index);
    switch (open.kind) {
      case 'thinking':
        if (!open.signed) sink.reasoningSignature(open.signature);
        return;
      case 'client-call':
        // No delta came: the input was given whole at start (programmatic tool calling), and the block
        // is complete, so it is the call's input (`{}` for none).
        if (sink.toolArguments(open.key) === '') sink.toolCall(open.key, undefined, undefined, JSON.stringify(open.input ?? {}));
        return;
      case 'provider-call': {
        let input: unknown = open.block.input ?? {};
        if (open.json.trim() !== '') {
          try {
            input = JSON.parse(open.json);
          } catch {
            throw new ProtocolError(
              `${provider}: the input of ${String(open.block.type)} block ${index} is not valid JSON.`,
              open.json.slice(0, 1000),
            );
          }
        }
        providerCall(provider, open.block, input, sink);
        return;
      }
    }
  };

  const messageStop = (sink: WireSink): void => {
    // A client call whose block never stopped but whose whole input came at start still has it;
    // a bare `{}` placeholder is not an input (the call may have been cut before its deltas).
    for (const open of blocks.values()) {
      if (open.kind === 'client-call' && sink.toolArguments(open.key) === '' && hasInput(open.input)) {
        sink.toolCall(open.key, undefined, undefined, JSON.stringify(open.input));
      }
    }
    sink.done(mapAnthropicStopReason(stopReason));
  };

  return {
    event(_name: string | undefined, data: string, sink: WireSink): void {
      // Nearly every event is a text delta: its text is read straight from the data when the event
      // has exactly the API's shape (the same string a full parse gives), else parsed in full.
      const text = textDeltaOf(data);
      if (text !== undefined) {
        sink.token(text);
        return;
      }
      const raw = parseWireObject(provider, data);
      if (!isTyped<AnthropicWireEvent>(raw)) return;
      const event = raw;
      switch (event.type) {
        case 'content_block_delta':
          blockDelta(event.index, event.delta, sink);
          return;
        case 'content_block_start':
          blockStart(event.index, event.content_block, sink);
          return;
        case 'content_block_stop':
          blockStop(event.index, sink);
          return;
        case 'message_start':
          messageStart(wireRecord(provider, event.message, 'message_start.message'), sink);
          return;
        case 'message_delta': {
          const reason = (event.delta as { stop_reason?: unknown } | null | undefined)?.stop_reason;
          if (typeof reason === 'string') stopReason = reason;
          const usage = (event.usage ?? undefined) as AnthropicUsage | undefined;
          if (usage) {
            // Newer API versions repeat the prompt counts here, final: take those that are given.
            if (typeof usage.input_tokens === 'number' && usage.input_tokens > 0) inputTokens = usage.input_tokens;
            if (typeof usage.cache_creation_input_tokens === 'number' && usage.cache_creation_input_tokens > 0) {
              cacheCreation = usage.cache_creation_input_tokens;
            }
            if (typeof usage.cache_read_input_tokens === 'number' && usage.cache_read_input_tokens > 0) {
              cacheRead = usage.cache_read_input_tokens;
            }
            reportInput(sink);
            // Cumulative: the answer's total so far.
            if (typeof usage.output_tokens === 'number') sink.usage(undefined, usage.output_tokens);
          }
          return;
        }
        case 'message_stop':
          messageStop(sink);
          return;
        case 'ping':
          return;
        case 'error':
          sink.fail(streamErrorEvent(provider, event));
          return;
        default:
          // Event types added after this was written are ignored at run time; the SDK's own new
          // types fail the type check here first.
          event satisfies never;
          return;
      }
    },
  };
}

/**
 * Maps a non-streamed `Message` through the same sink, and the same block mapping, as the stream's
 * `message_start` that carries a whole message.
 */
export function createAnthropicMessageMapper(provider = 'anthropic'): WireMapper {
  return {
    event(_name: string | undefined, data: string, sink: WireSink): void {
      const message = parseWireObject(provider, data) as Partial<Wire<BetaMessage>>;
      sink.start(wireString(provider, message.model, 'message.model') || undefined, wireString(provider, message.id, 'message.id') || undefined);
      mapWholeContent(provider, message.content, sink);
      const usage = (message.usage ?? undefined) as AnthropicUsage | undefined;
      sink.usage(anthropicInputTokens(usage), usage?.output_tokens ?? undefined);
      sink.done(mapAnthropicStopReason(message.stop_reason));
    },
  };
}
