/**
 * Prompt and answer content in the GenAI conventions' JSON forms (internal), for the opt-in
 * attributes `gen_ai.system_instructions`, `gen_ai.input.messages`, `gen_ai.output.messages`,
 * `gen_ai.tool.definitions`, `gen_ai.tool.call.arguments` and `gen_ai.tool.call.result`.
 *
 * The shapes follow the conventions' JSON schemas (model/gen-ai/gen-ai-input-messages.json,
 * gen-ai-output-messages.json, gen-ai-system-instructions.json): a message is `{ role, parts }`; a
 * part is `text` (`content`), `reasoning` (`content`), `tool_call` (`id`, `name`, `arguments`),
 * `tool_call_response` (`id`, `response`), `uri` or `blob` (`modality`, `mime_type`, `uri` or base64
 * `content`), `server_tool_call` / `server_tool_call_response` for tools the provider ran. Spans
 * carry them as JSON strings, which the conventions allow where attributes are not structured.
 */
import type {
  AgentResponse,
  AssistantContentPart,
  ChatMessage,
  ChatRequest,
  DocumentPart,
  ImagePart,
  TextPart,
  ToolResultPart,
  UserContentPart,
} from '../events.js';
import { binarySource } from '../messages.js';

type Part = Record<string, unknown>;
interface Message {
  role: string;
  parts: Part[];
  finish_reason?: string;
}

/** `JSON.stringify`, never throwing: a value that cannot be serialized (a cycle, a bigint) as its string form. */
export function toJson(value: unknown): string {
  try {
    const json = JSON.stringify(value) as string | undefined;
    return json ?? String(value);
  } catch {
    return String(value);
  }
}

/** `gen_ai.system_instructions`: the request's `system` text (system messages stay in the input messages). */
export function systemInstructions(request: ChatRequest): string | undefined {
  if (request.system === undefined || request.system === '') return undefined;
  return toJson([{ type: 'text', content: request.system }]);
}

/** `gen_ai.input.messages`: the request's messages, in order. */
export function inputMessages(request: ChatRequest): string {
  return toJson(request.messages.map(inputMessage));
}

/** `gen_ai.tool.definitions`: the request's tools, or `undefined` without any. */
export function toolDefinitions(request: ChatRequest): string | undefined {
  if (!request.tools || request.tools.length === 0) return undefined;
  return toJson(
    request.tools.map((tool) => ({
      type: 'function',
      name: tool.name,
      ...(tool.description !== undefined ? { description: tool.description } : {}),
      parameters: tool.parameters,
    })),
  );
}

/**
 * `gen_ai.output.messages`: the answer as one assistant message, its parts in the order they came,
 * with the finish reason. Reasoning the answer's `message` leaves out (unsigned) goes first.
 */
export function outputMessages(response: AgentResponse, finishReason: string): string {
  const parts: Part[] = [];
  const content = response.message.content;
  if (typeof content === 'string') {
    if (response.reasoning) parts.push({ type: 'reasoning', content: response.reasoning });
    if (content !== '') parts.push({ type: 'text', content });
  } else {
    if (response.reasoning && !content.some((part) => part.type === 'reasoning' && part.text !== '')) {
      parts.push({ type: 'reasoning', content: response.reasoning });
    }
    for (const part of content) parts.push(assistantPart(part));
  }
  // Calls the message cannot hold (arguments that are not JSON, a call that is not a function call).
  const sent = new Set(typeof content === 'string' ? [] : content.flatMap((part) => (part.type === 'tool-call' ? [part.id] : [])));
  for (const call of response.toolCalls ?? []) {
    if (call.id !== undefined && sent.has(call.id)) continue;
    parts.push({ type: 'tool_call', id: call.id ?? null, name: call.name ?? call.kind ?? '', arguments: call.arguments });
  }
  const message: Message = { role: 'assistant', parts, finish_reason: finishReason };
  return toJson([message]);
}

function inputMessage(message: ChatMessage): Message {
  switch (message.role) {
    case 'system':
      return { role: 'system', parts: textParts(message.content) };
    case 'user':
      return {
        role: 'user',
        parts: typeof message.content === 'string' ? [{ type: 'text', content: message.content }] : message.content.map(userPart),
      };
    case 'assistant':
      return {
        role: 'assistant',
        parts: typeof message.content === 'string' ? [{ type: 'text', content: message.content }] : message.content.map(assistantPart),
      };
    case 'tool':
      return { role: 'tool', parts: message.content.map(toolResultPart) };
  }
}

function textParts(content: string | TextPart[]): Part[] {
  return typeof content === 'string' ? [{ type: 'text', content }] : content.map((part) => ({ type: 'text', content: part.text }));
}

function userPart(part: UserContentPart): Part {
  switch (part.type) {
    case 'text':
      return { type: 'text', content: part.text };
    case 'image':
      return binaryPart(part, 'image');
    case 'document':
      return binaryPart(part, 'document');
  }
}

function binaryPart(part: ImagePart | DocumentPart, modality: 'image' | 'document'): Part {
  const value = part.type === 'image' ? part.image : part.data;
  const source = binarySource(value, part.mediaType);
  if (source.kind === 'url') {
    return { type: 'uri', modality, uri: source.url, ...(part.mediaType !== undefined ? { mime_type: part.mediaType } : {}) };
  }
  return { type: 'blob', modality, mime_type: source.mediaType || null, content: source.data };
}

function assistantPart(part: AssistantContentPart): Part {
  switch (part.type) {
    case 'text':
      return { type: 'text', content: part.text };
    case 'reasoning':
      return { type: 'reasoning', content: part.text };
    case 'tool-call':
      return { type: 'tool_call', id: part.id, name: part.name, arguments: part.input };
    case 'provider-tool':
      return part.phase === 'call'
        ? { type: 'server_tool_call', id: part.id, name: part.name, server_tool_call: { ...part.block, type: part.name } }
        : { type: 'server_tool_call_response', id: part.id, server_tool_call_response: { ...part.block, type: part.name } };
  }
}

function toolResultPart(part: ToolResultPart): Part {
  const response =
    typeof part.output === 'string'
      ? part.output
      : part.output.map((item) => (item.type === 'text' ? { type: 'text', content: item.text } : binaryPart(item, 'image')));
  return { type: 'tool_call_response', id: part.toolCallId, response };
}
