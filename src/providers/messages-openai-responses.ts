/**
 * Messages → the Responses API's `instructions` and `input` items (request direction). Pure.
 *
 * System messages join `instructions`. A user turn is a message: its string, or `input_text`,
 * `input_image` and `input_file` (a `file_url`, or `file_data` as a base64 `data:` URL) parts. An
 * assistant turn becomes items in its own order: runs of text as an assistant message (string
 * content), tool calls as `function_call` items (`call_id`, `name`, `arguments`: the input as JSON
 * text), reasoning with provider data as `reasoning` items (`id`, `summary`, `encrypted_content`),
 * provider-tool items as they came. Tool results are `function_call_output` items (`output`: the
 * text, or `input_text` / `input_image` parts).
 */
import type {
  ResponseFunctionCallOutputItem,
  ResponseInputContent,
  ResponseInputImage,
  ResponseInputItem,
  ResponseReasoningItem,
} from 'openai/resources/responses/responses';
import { InvalidArgumentError } from '../errors.js';
import type { ChatRequest, ImagePart, ReasoningPart, TextPart, ToolResultPart, UserContentPart } from '../events.js';
import { argumentsText, binarySource, partPath, sourceUrl, unsupportedPart } from '../messages.js';
import { systemText } from './adapter.js';

/** An assistant message of text (an `EasyInputMessage`), grown while text parts follow each other. */
interface AssistantText {
  role: 'assistant';
  content: string;
}

/** The instructions and the input items, as the Responses API takes them. */
export interface ResponsesInput {
  instructions: string | undefined;
  input: ResponseInputItem[];
}

/**
 * Maps a validated request's messages (and `system`) to Responses input items.
 *
 * @throws InvalidArgumentError naming a part the Responses API cannot take (`request.messages[1].content[0]`)
 */
export function toResponsesInput(request: ChatRequest): ResponsesInput {
  const systems: string[] = [];
  const input: ResponseInputItem[] = [];
  request.messages.forEach((message, i) => {
    switch (message.role) {
      case 'system':
        systems.push(systemText(message));
        return;
      case 'user':
        input.push({
          role: 'user',
          content: typeof message.content === 'string' ? message.content : message.content.map((part, j) => userContent(part, partPath(i, j))),
        });
        return;
      case 'assistant': {
        if (typeof message.content === 'string') {
          input.push({ role: 'assistant', content: message.content });
          return;
        }
        // Consecutive text parts make one assistant message, between the items around them.
        let text: AssistantText | undefined;
        message.content.forEach((part, j) => {
          const path = partPath(i, j);
          if (part.type === 'text') {
            if (text) text.content += part.text;
            else input.push((text = { role: 'assistant', content: part.text }));
            return;
          }
          text = undefined;
          switch (part.type) {
            case 'tool-call':
              input.push({ type: 'function_call', call_id: part.id, name: part.name, arguments: argumentsText(part.input) });
              return;
            case 'reasoning':
              input.push(reasoningItem(part, path));
              return;
            case 'provider-tool':
              input.push(providerItem(part.block, part.phase, path));
              return;
            default:
              part satisfies never;
          }
        });
        return;
      }
      case 'tool':
        for (const part of message.content) input.push(functionCallOutput(part));
        return;
      default:
        message satisfies never;
    }
  });
  if (request.system !== undefined) systems.push(request.system);
  return { instructions: systems.length > 0 ? systems.join('\n\n') : undefined, input };
}

function userContent(part: UserContentPart, path: string): ResponseInputContent {
  switch (part.type) {
    case 'text':
      return { type: 'input_text', text: part.text };
    case 'image':
      return inputImage(part);
    case 'document': {
      const source = binarySource(part.data, part.mediaType);
      if (source.kind === 'url') return { type: 'input_file', file_url: source.url };
      return { type: 'input_file', file_data: sourceUrl(source), filename: part.title ?? 'document.pdf' };
    }
    default:
      part satisfies never;
      throw new InvalidArgumentError(path, `${path} has an unknown part type.`);
  }
}

function inputImage(part: ImagePart): ResponseInputImage {
  return { type: 'input_image', image_url: sourceUrl(binarySource(part.image, part.mediaType)), detail: 'auto' };
}

/**
 * A reasoning item from its provider data: the item as the stream reported it (`id`, required;
 * `summary`, `encrypted_content`, `content`), sent back unchanged, as a reasoning model needs it
 * before the calls it led to. Without a `summary` array in the data (a part written by hand), the
 * text is the summary. Anthropic's signed or redacted thinking cannot go here.
 */
function reasoningItem(part: ReasoningPart, path: string): ResponseReasoningItem {
  const data = part.providerData;
  const id = data?.id;
  if (part.signature !== undefined || part.redacted !== undefined || typeof id !== 'string' || id === '') {
    throw unsupportedPart(
      path,
      part.signature !== undefined || part.redacted !== undefined
        ? "a reasoning part with Anthropic's signature or redacted data: the Responses API takes back only its own reasoning items"
        : 'a reasoning part without providerData.id: the Responses API takes reasoning back only as its own items',
      'Drop reasoning parts that came from another provider (or were written by hand).',
    );
  }
  const summary: unknown = data?.summary;
  // The provider's own fields go back as they came: the item is opaque to tokenflow past its kind.
  return {
    ...(data as Partial<ResponseReasoningItem>),
    type: 'reasoning',
    id,
    summary: Array.isArray(summary) ? (summary as ResponseReasoningItem['summary']) : part.text === '' ? [] : [{ type: 'summary_text', text: part.text }],
  };
}

/**
 * A provider-run tool's item, replayed as it came. Anthropic's blocks (`server_tool_use`,
 * `*_tool_result`, result phases) are not Responses items and are refused.
 */
function providerItem(block: Record<string, unknown>, phase: 'call' | 'result', path: string): ResponseInputItem {
  if (phase === 'result' || !isResponsesItem(block)) {
    throw unsupportedPart(
      path,
      `a provider-tool part whose block (type ${JSON.stringify(block.type)}) is not a Responses output item`,
      'Replay provider-tool parts only to the provider that ran them: drop this part for the Responses API.',
    );
  }
  return block;
}

/**
 * Whether a block is a Responses item (not one of Anthropic's `*_tool_use` / `*_tool_result`
 * blocks). Its fields are the provider's own, replayed verbatim: the guard only vouches for its
 * kind, which is all tokenflow reads of it.
 */
function isResponsesItem(block: Record<string, unknown>): block is Record<string, unknown> & ResponseInputItem {
  return typeof block.type === 'string' && !/_tool_(use|result)$/.test(block.type);
}

function functionCallOutput(part: ToolResultPart): ResponseInputItem.FunctionCallOutput {
  return {
    type: 'function_call_output',
    call_id: part.toolCallId,
    output: typeof part.output === 'string' ? part.output : part.output.map(outputItem),
  };
}

function outputItem(part: TextPart | ImagePart): ResponseFunctionCallOutputItem {
  return part.type === 'text' ? { type: 'input_text', text: part.text } : inputImage(part);
}
