/**
 * OpenAI Responses API streaming → sink calls. Pure: no I/O, state in the closure of one stream.
 *
 * Wire: typed events, each `event: <type>` with the same `type` in its JSON: `response.created`,
 * `response.output_item.added`, `response.output_text.delta`, `response.refusal.delta`,
 * `response.reasoning_summary_text.delta` / `response.reasoning_text.delta`,
 * `response.function_call_arguments.delta`, … and one terminal event: `response.completed`,
 * `response.incomplete`, or `response.failed` (after an `error` event).
 */
import { InvalidArgumentError } from '../errors.js';
import type { ChatRequest, StopReason } from '../events.js';
import { mergeProviderOptions } from '../validate.js';
import { splitSystem } from './adapter.js';
import type { WireMapper, WireSink } from './runtime.js';
import { streamErrorEvent } from './sdk-errors.js';

/** Maps a Responses `incomplete_details.reason` to a {@link StopReason}. */
export function mapResponsesIncompleteReason(reason: string | null | undefined): StopReason {
  if (reason === 'max_output_tokens') return 'max_tokens';
  if (reason === 'content_filter') return 'content_filter';
  return 'other';
}

interface ResponsesUsage {
  input_tokens?: number;
  output_tokens?: number;
}

interface ResponseObject {
  id?: string;
  model?: string;
  usage?: ResponsesUsage | null;
  error?: unknown;
  incomplete_details?: { reason?: string | null } | null;
}

interface ResponsesWireEvent {
  type: string;
  delta?: string;
  output_index?: number;
  item?: { type?: string; call_id?: string; name?: string; arguments?: string };
  response?: ResponseObject;
  error?: unknown;
  code?: string | null;
  message?: string;
}

/** Creates the mapper for one Responses API stream. */
export function createResponsesMapper(provider = 'openai'): WireMapper {
  /** Output item index → tool-call index (tool calls are numbered in order, from 0). */
  const toolOfItem = new Map<number, number>();
  let refusal = '';
  let failed = false;

  const finish = (sink: WireSink, response: ResponseObject | undefined, stopReason: StopReason): void => {
    const usage = response?.usage;
    if (usage) sink.usage(usage.input_tokens, usage.output_tokens);
    if (refusal) sink.done('refusal', refusal);
    else sink.done(stopReason);
  };

  return {
    event(_name: string | undefined, data: string, sink: WireSink): void {
      const event = JSON.parse(data) as ResponsesWireEvent;
      switch (event.type) {
        case 'response.output_text.delta':
          sink.token(event.delta ?? '');
          return;
        case 'response.reasoning_summary_text.delta':
        case 'response.reasoning_text.delta':
          sink.reasoning(event.delta ?? '');
          return;
        case 'response.function_call_arguments.delta': {
          const tool = toolOfItem.get(event.output_index ?? -1);
          if (tool !== undefined) sink.toolCall(tool, undefined, undefined, event.delta ?? '');
          return;
        }
        case 'response.refusal.delta':
          refusal += event.delta ?? '';
          return;
        case 'response.created':
          sink.start(event.response?.model, event.response?.id);
          return;
        case 'response.output_item.added': {
          const item = event.item;
          if (item?.type === 'function_call') {
            const tool = toolOfItem.size;
            toolOfItem.set(event.output_index ?? tool, tool);
            sink.toolCall(tool, item.call_id, item.name, item.arguments ?? '');
          }
          return;
        }
        case 'response.completed':
          finish(sink, event.response, toolOfItem.size > 0 ? 'tool_use' : 'end');
          return;
        case 'response.incomplete':
          finish(sink, event.response, mapResponsesIncompleteReason(event.response?.incomplete_details?.reason));
          return;
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
            sink.fail(streamErrorEvent(provider, { error: event.response?.error ?? { message: 'response failed' } }));
          }
          return;
        default:
          return;
      }
    },
  };
}

interface ResponseDocument extends ResponseObject {
  status?: string;
  output?: Array<{
    type?: string;
    content?: Array<{ type?: string; text?: string; refusal?: string }>;
    summary?: Array<{ text?: string }>;
    call_id?: string;
    name?: string;
    arguments?: string;
  }>;
}

/** Maps a non-streamed `Response` through the same sink as the stream. */
export function createResponseDocumentMapper(provider = 'openai'): WireMapper {
  return {
    event(_name, data, sink) {
      const response = JSON.parse(data) as ResponseDocument;
      if (response.status === 'failed' || (response.error && !response.output)) {
        sink.fail(streamErrorEvent(provider, { error: response.error ?? { message: 'response failed' } }));
        return;
      }
      sink.start(response.model, response.id);
      let tools = 0;
      let refusal = '';
      for (const item of response.output ?? []) {
        if (item.type === 'message') {
          for (const part of item.content ?? []) {
            if (part.type === 'output_text') sink.token(part.text ?? '');
            else if (part.type === 'refusal') refusal += part.refusal ?? '';
          }
        } else if (item.type === 'reasoning') {
          for (const part of item.summary ?? []) sink.reasoning(part.text ?? '');
        } else if (item.type === 'function_call') {
          sink.toolCall(tools++, item.call_id, item.name, item.arguments ?? '');
        }
      }
      const usage = response.usage;
      if (usage) sink.usage(usage.input_tokens, usage.output_tokens);
      if (refusal) sink.done('refusal', refusal);
      else if (response.status === 'incomplete') sink.done(mapResponsesIncompleteReason(response.incomplete_details?.reason));
      else sink.done(tools > 0 ? 'tool_use' : 'end');
    },
  };
}

/** Builds a Responses API body for a request. */
export function toResponsesBody(request: ChatRequest, stream: boolean): Record<string, unknown> {
  if (request.stop !== undefined) {
    throw new InvalidArgumentError(
      'request.stop',
      'request.stop: the OpenAI Responses API has no stop sequences; use the Chat Completions API (openai({ api: "chat" })).',
    );
  }
  const { system, messages } = splitSystem(request);
  const body: Record<string, unknown> = {
    model: request.model,
    input: messages.map((m) => ({ role: m.role, content: m.content })),
    stream,
  };
  if (system !== undefined) body.instructions = system;
  if (request.temperature !== undefined) body.temperature = request.temperature;
  if (request.maxTokens !== undefined) body.max_output_tokens = request.maxTokens;
  if (request.tools !== undefined) {
    body.tools = request.tools.map((t) => ({
      type: 'function',
      name: t.name,
      ...(t.description !== undefined ? { description: t.description } : {}),
      parameters: t.parameters,
      strict: false,
    }));
  }
  return mergeProviderOptions(body, request.providerOptions);
}
