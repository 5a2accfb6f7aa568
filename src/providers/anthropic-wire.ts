/**
 * Anthropic Messages streaming → sink calls. Pure: no I/O, state in the closure of one stream.
 *
 * Wire: `message_start` (id, model, input usage) · per content block `content_block_start`,
 * `content_block_delta` (`text_delta`, `thinking_delta`, `signature_delta`, `input_json_delta`),
 * `content_block_stop` · `message_delta` (stop reason, cumulative usage) · `message_stop`
 * (terminal) · `ping` · `error`.
 */
import type { StopReason } from '../events.js';
import type { WireMapper, WireSink } from './runtime.js';
import { streamErrorEvent } from './sdk-errors.js';

/** Maps Anthropic's `stop_reason` to a {@link StopReason}. */
export function mapAnthropicStopReason(reason: string | null | undefined): StopReason {
  switch (reason) {
    case 'end_turn':
      return 'end';
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'max_tokens';
    case 'stop_sequence':
      return 'stop_sequence';
    case 'tool_use':
      return 'tool_use';
    case 'refusal':
      return 'refusal';
    default:
      return 'other';
  }
}

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

interface AnthropicWireEvent {
  type: string;
  index?: number;
  message?: { id?: string; model?: string; usage?: AnthropicUsage };
  content_block?: { type: string; id?: string; name?: string; text?: string; thinking?: string };
  delta?: {
    type?: string;
    text?: string;
    thinking?: string;
    partial_json?: string;
    stop_reason?: string | null;
  };
  usage?: AnthropicUsage;
  error?: unknown;
}

/** Creates the mapper for one Anthropic stream. */
export function createAnthropicMapper(provider = 'anthropic'): WireMapper {
  /** Content block index → tool-call index (tool calls are numbered in order, from 0). */
  const toolOfBlock = new Map<number, number>();
  let stopReason: string | null | undefined;
  return {
    event(_name: string | undefined, data: string, sink: WireSink): void {
      const event = JSON.parse(data) as AnthropicWireEvent;
      switch (event.type) {
        case 'content_block_delta': {
          const delta = event.delta;
          if (!delta) return;
          if (delta.type === 'text_delta') sink.token(delta.text ?? '');
          else if (delta.type === 'thinking_delta') sink.reasoning(delta.thinking ?? '');
          else if (delta.type === 'input_json_delta') {
            const tool = toolOfBlock.get(event.index ?? -1);
            if (tool !== undefined) sink.toolCall(tool, undefined, undefined, delta.partial_json ?? '');
          }
          return;
        }
        case 'message_start': {
          const message = event.message ?? {};
          sink.start(message.model, message.id);
          sink.usage(anthropicInputTokens(message.usage), undefined);
          return;
        }
        case 'content_block_start': {
          const block = event.content_block;
          if (!block) return;
          if (block.type === 'text') sink.token(block.text ?? '');
          else if (block.type === 'thinking') sink.reasoning(block.thinking ?? '');
          else if (block.type === 'tool_use' || block.type === 'server_tool_use') {
            const tool = toolOfBlock.size;
            toolOfBlock.set(event.index ?? tool, tool);
            sink.toolCall(tool, block.id, block.name, '');
          }
          return;
        }
        case 'message_delta':
          if (event.delta?.stop_reason !== undefined) stopReason = event.delta.stop_reason;
          // `usage` here is cumulative: its output_tokens is the answer's total so far.
          sink.usage(anthropicInputTokens(event.usage), event.usage?.output_tokens ?? undefined);
          return;
        case 'message_stop':
          sink.done(mapAnthropicStopReason(stopReason));
          return;
        case 'error':
          sink.fail(streamErrorEvent(provider, event));
          return;
        default:
          // ping, content_block_stop, and event types added after this was written.
          return;
      }
    },
  };
}
