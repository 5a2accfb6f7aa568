/**
 * OpenAI Chat Completions streaming → sink calls, shared by OpenAI, Groq and OpenAI-compatible
 * servers (Ollama, vLLM, LM Studio). Pure: no I/O, state in the closure of one stream.
 *
 * Wire: `data: {chat.completion.chunk}` lines, each with `choices[0].delta` (`content`,
 * `refusal`, `tool_calls`, and on some servers `reasoning_content` / `reasoning`) and a
 * `finish_reason` on the last choice chunk; a usage chunk with `choices: []` when
 * `stream_options.include_usage` was asked (Groq: `x_groq.usage` on the final chunk); then
 * `data: [DONE]` (terminal). An `{"error": …}` chunk reports a failure mid-stream.
 */
import type { ChatRequest, ServerTimings, StopReason } from '../events.js';
import { mergeProviderOptions } from '../validate.js';
import type { WireMapper, WireSink } from './runtime.js';
import { streamErrorEvent } from './sdk-errors.js';

/** Maps a Chat Completions `finish_reason` to a {@link StopReason}. */
export function mapOpenAIFinishReason(reason: string | null | undefined): StopReason {
  switch (reason) {
    case 'stop':
    case 'eos': // some OpenAI-compatible servers
      return 'end';
    case 'length':
      return 'max_tokens';
    case 'tool_calls':
    case 'function_call':
      return 'tool_use';
    case 'content_filter':
      return 'content_filter';
    default:
      return 'other';
  }
}

interface ChatUsage {
  prompt_tokens?: number | null;
  completion_tokens?: number | null;
  queue_time?: number | null;
  prompt_time?: number | null;
  completion_time?: number | null;
  total_time?: number | null;
}

interface ChatToolCallDelta {
  index?: number;
  id?: string | null;
  function?: { name?: string | null; arguments?: string | null } | null;
}

interface ChatChunk {
  id?: string;
  model?: string;
  choices?: Array<{
    index?: number;
    delta?: {
      content?: string | null;
      refusal?: string | null;
      reasoning_content?: string | null;
      reasoning?: string | null;
      tool_calls?: ChatToolCallDelta[] | null;
    } | null;
    finish_reason?: string | null;
  }>;
  usage?: ChatUsage | null;
  x_groq?: { usage?: ChatUsage | null } | null;
  error?: unknown;
}

/** Groq reports its server-side timings in seconds; tokenflow uses milliseconds. */
function groqTimings(usage: ChatUsage): ServerTimings | undefined {
  const ms = (seconds: number | null | undefined): number | undefined =>
    typeof seconds === 'number' ? seconds * 1000 : undefined;
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

export interface ChatMapperOptions {
  provider: string;
  /**
   * Accept the end of the body after a `finish_reason` as the end of the answer when `[DONE]` never
   * comes (some OpenAI-compatible servers omit it). Strict (`false`) for OpenAI and Groq.
   */
  lenientEnd?: boolean;
}

/** Creates the mapper for one Chat Completions stream. */
export function createChatMapper(options: ChatMapperOptions): WireMapper {
  const { provider, lenientEnd = false } = options;
  let started = false;
  let finishReason: string | null | undefined;
  let refusal = '';

  const finish = (sink: WireSink): void => {
    if (refusal) sink.done('refusal', refusal);
    else sink.done(mapOpenAIFinishReason(finishReason));
  };

  return {
    event(_name: string | undefined, data: string, sink: WireSink): void {
      if (data === '[DONE]') {
        finish(sink);
        return;
      }
      const chunk = JSON.parse(data) as ChatChunk;
      if (chunk.error) {
        sink.fail(streamErrorEvent(provider, chunk));
        return;
      }
      if (!started) {
        started = true;
        sink.start(chunk.model, chunk.id);
      }
      // Only the first choice is streamed (tokenflow requests n = 1).
      const choice = chunk.choices?.[0];
      if (choice) {
        const delta = choice.delta;
        if (delta) {
          if (delta.content) sink.token(delta.content);
          if (delta.reasoning_content) sink.reasoning(delta.reasoning_content);
          else if (delta.reasoning) sink.reasoning(delta.reasoning);
          if (delta.refusal) refusal += delta.refusal;
          const calls = delta.tool_calls;
          if (calls) {
            for (let i = 0; i < calls.length; i++) {
              const call = calls[i]!;
              sink.toolCall(
                call.index ?? i,
                call.id ?? undefined,
                call.function?.name ?? undefined,
                call.function?.arguments ?? '',
              );
            }
          }
        }
        if (choice.finish_reason) finishReason = choice.finish_reason;
      }
      const usage = chunk.x_groq?.usage ?? chunk.usage;
      if (usage) {
        sink.usage(usage.prompt_tokens ?? undefined, usage.completion_tokens ?? undefined, groqTimings(usage));
      }
    },
    end(sink: WireSink): void {
      if (lenientEnd && finishReason) finish(sink);
    },
  };
}

interface ChatCompletion {
  id?: string;
  model?: string;
  choices?: Array<{
    message?: {
      content?: string | null;
      refusal?: string | null;
      reasoning_content?: string | null;
      reasoning?: string | null;
      tool_calls?: Array<{ id?: string; function?: { name?: string; arguments?: string } }> | null;
    };
    finish_reason?: string | null;
  }>;
  usage?: ChatUsage | null;
  x_groq?: { usage?: ChatUsage | null } | null;
  error?: unknown;
}

/** Maps a non-streamed `ChatCompletion` through the same sink as the stream. */
export function createChatCompletionMapper(provider: string): WireMapper {
  return {
    event(_name, data, sink) {
      const completion = JSON.parse(data) as ChatCompletion;
      if (completion.error) {
        sink.fail(streamErrorEvent(provider, completion));
        return;
      }
      sink.start(completion.model, completion.id);
      const choice = completion.choices?.[0];
      const message = choice?.message;
      const reasoning = message?.reasoning_content ?? message?.reasoning;
      if (reasoning) sink.reasoning(reasoning);
      if (message?.content) sink.token(message.content);
      message?.tool_calls?.forEach((call, i) =>
        sink.toolCall(i, call.id, call.function?.name, call.function?.arguments ?? ''),
      );
      const usage = completion.x_groq?.usage ?? completion.usage;
      if (usage) sink.usage(usage.prompt_tokens ?? undefined, usage.completion_tokens ?? undefined, groqTimings(usage));
      if (message?.refusal) sink.done('refusal', message.refusal);
      else sink.done(mapOpenAIFinishReason(choice?.finish_reason));
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

/** Builds a Chat Completions body for a request. */
export function toChatBody(request: ChatRequest, stream: boolean, options: ChatBodyOptions): Record<string, unknown> {
  const messages: Array<{ role: string; content: string }> = [];
  if (request.system !== undefined) messages.push({ role: 'system', content: request.system });
  for (const m of request.messages) messages.push({ role: m.role, content: m.content });
  const body: Record<string, unknown> = { model: request.model, messages, stream };
  if (stream && options.includeUsage) body.stream_options = { include_usage: true };
  if (request.temperature !== undefined) body.temperature = request.temperature;
  if (request.maxTokens !== undefined) body[options.maxTokensField] = request.maxTokens;
  if (request.stop !== undefined) body.stop = request.stop;
  if (request.tools !== undefined) {
    body.tools = request.tools.map((t) => ({
      type: 'function',
      function: {
        name: t.name,
        ...(t.description !== undefined ? { description: t.description } : {}),
        parameters: t.parameters,
      },
    }));
  }
  return mergeProviderOptions(body, request.providerOptions);
}
