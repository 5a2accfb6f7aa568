/**
 * Messages → the Anthropic Messages API's `system` and `messages` (request direction). Pure.
 *
 * Text, images (`base64` or `url` source) and PDF documents go as content blocks; the assistant's
 * tool calls as `tool_use` (with their `caller`, for calls code execution made), its signed reasoning as `thinking` (with the signature) and redacted
 * reasoning as `redacted_thinking`, provider-tool blocks as they came. A `tool` message becomes a
 * `user` turn of `tool_result` blocks; a user turn next to it is merged into that turn, tool results
 * first, as the API requires (the results must open the turn that follows the `tool_use`). Other
 * consecutive turns are left as they are: the API joins them itself, and a plain string `content`
 * goes exactly as before.
 */
import type {
  Base64ImageSource,
  ContentBlockParam,
  DocumentBlockParam,
  ImageBlockParam,
  MessageParam,
  TextBlockParam,
  ToolResultBlockParam,
  ToolUseBlockParam,
} from '@anthropic-ai/sdk/resources/messages/messages';
import { InvalidArgumentError } from '../errors.js';
import type {
  AssistantContentPart,
  ChatMessage,
  ChatRequest,
  DocumentPart,
  ImagePart,
  ToolCallPart,
  ToolResultPart,
  UserContentPart,
} from '../events.js';
import { binarySource, isImageMediaType, partPath, unsupportedPart } from '../messages.js';
import { systemText } from './adapter.js';

/** The system prompt and the conversation, as the Messages API takes them. */
export interface AnthropicMessages {
  system: string | undefined;
  messages: MessageParam[];
}

/** A turn being built; `results` marks a user turn that holds tool results. */
interface Turn {
  role: 'user' | 'assistant';
  content: string | ContentBlockParam[];
  results: boolean;
}

/**
 * Maps a validated request's messages (and `system`) to the Messages API.
 *
 * @throws InvalidArgumentError naming a part Anthropic cannot take (`request.messages[2].content[0]`)
 */
export function toAnthropicMessages(request: ChatRequest): AnthropicMessages {
  const systems: string[] = [];
  const turns: Turn[] = [];
  request.messages.forEach((message: ChatMessage, i) => {
    switch (message.role) {
      case 'system':
        systems.push(systemText(message));
        return;
      case 'user':
        turns.push({
          role: 'user',
          content: typeof message.content === 'string' ? message.content : message.content.map((part, j) => userBlock(part, partPath(i, j))),
          results: false,
        });
        return;
      case 'assistant':
        turns.push({
          role: 'assistant',
          content:
            typeof message.content === 'string' ? message.content : message.content.map((part, j) => assistantBlock(part, partPath(i, j))),
          results: false,
        });
        return;
      case 'tool':
        turns.push({ role: 'user', content: message.content.map((part, j) => toolResultBlock(part, partPath(i, j))), results: true });
        return;
      default:
        message satisfies never;
    }
  });
  if (request.system !== undefined) systems.push(request.system);
  return { system: systems.length > 0 ? systems.join('\n\n') : undefined, messages: mergeResultTurns(turns) };
}

/** Joins tool-result turns with the user turns beside them, results first. */
function mergeResultTurns(turns: Turn[]): MessageParam[] {
  const merged: Turn[] = [];
  for (const turn of turns) {
    const last = merged.at(-1);
    if (last && last.role === 'user' && turn.role === 'user' && (last.results || turn.results)) {
      const blocks = [...asBlocks(last.content), ...asBlocks(turn.content)];
      // Stable: results in their order, then the rest in theirs.
      last.content = [...blocks.filter((b) => b.type === 'tool_result'), ...blocks.filter((b) => b.type !== 'tool_result')];
      last.results = true;
    } else {
      merged.push({ ...turn });
    }
  }
  return merged.map(({ role, content }) => ({ role, content }));
}

/** A turn's content as blocks (an empty string adds none: the API refuses empty text blocks). */
function asBlocks(content: string | ContentBlockParam[]): ContentBlockParam[] {
  if (typeof content !== 'string') return content;
  return content === '' ? [] : [{ type: 'text', text: content }];
}

function userBlock(part: UserContentPart, path: string): TextBlockParam | ImageBlockParam | DocumentBlockParam {
  switch (part.type) {
    case 'text':
      return { type: 'text', text: part.text };
    case 'image':
      return imageBlock(part, path);
    case 'document':
      return documentBlock(part);
    default:
      part satisfies never;
      throw new InvalidArgumentError(path, `${path} has an unknown part type.`);
  }
}

function assistantBlock(part: AssistantContentPart, path: string): ContentBlockParam {
  switch (part.type) {
    case 'text':
      return { type: 'text', text: part.text };
    case 'tool-call':
      return toolUseBlock(part);
    case 'reasoning':
      if (part.redacted !== undefined) return { type: 'redacted_thinking', data: part.redacted };
      if (part.signature !== undefined) return { type: 'thinking', thinking: part.text, signature: part.signature };
      throw unsupportedPart(
        path,
        'a reasoning part without a signature or redacted data',
        "Anthropic takes thinking back only as it sent it (signed, or redacted): drop reasoning parts that came from another provider.",
      );
    case 'provider-tool':
      if (!isAnthropicBlock(part.block)) {
        throw unsupportedPart(
          path,
          `a provider-tool part whose block (type ${JSON.stringify(part.block.type)}) is not an Anthropic server tool block`,
          'Replay provider-tool parts only to the provider that ran them: drop this part for Anthropic.',
        );
      }
      return part.block;
    default:
      part satisfies never;
      throw new InvalidArgumentError(path, `${path} has an unknown part type.`);
  }
}

/**
 * A call as `tool_use`, with its `caller` from the provider data when code execution made it
 * (programmatic tool calling): the API pairs the result with the code that waits for it. Other
 * providers' data (none so far) stays behind.
 */
function toolUseBlock(part: ToolCallPart): ToolUseBlockParam {
  const block: ToolUseBlockParam = { type: 'tool_use', id: part.id, name: part.name, input: part.input };
  const caller = part.providerData?.caller;
  // The caller is the provider's own record, replayed as it came: only its kind is looked at.
  if (typeof caller === 'object' && caller !== null && !Array.isArray(caller)) block.caller = caller as NonNullable<ToolUseBlockParam['caller']>;
  return block;
}

/**
 * Whether a provider-tool block is one of Anthropic's (`server_tool_use`, `mcp_tool_use`, any
 * `*_tool_result`), so it goes back as it came. Its fields are the provider's own, replayed
 * verbatim: the guard only vouches for its kind, which is all tokenflow reads of it.
 */
function isAnthropicBlock(block: Record<string, unknown>): block is Record<string, unknown> & ContentBlockParam {
  return typeof block.type === 'string' && /_tool_(use|result)$/.test(block.type);
}

function toolResultBlock(part: ToolResultPart, path: string): ToolResultBlockParam {
  const block: ToolResultBlockParam = {
    type: 'tool_result',
    tool_use_id: part.toolCallId,
    content:
      typeof part.output === 'string'
        ? part.output
        : part.output.map((p, k) => (p.type === 'text' ? { type: 'text' as const, text: p.text } : imageBlock(p, `${path}.output[${k}]`))),
  };
  if (part.isError) block.is_error = true;
  return block;
}

function imageBlock(part: ImagePart, path: string): ImageBlockParam {
  const source = binarySource(part.image, part.mediaType);
  if (source.kind === 'url') return { type: 'image', source: { type: 'url', url: source.url } };
  return { type: 'image', source: { type: 'base64', media_type: imageMediaType(source.mediaType, path), data: source.data } };
}

function imageMediaType(mediaType: string, path: string): Base64ImageSource['media_type'] {
  // Validation admits only these; the check keeps the type honest.
  if (!isImageMediaType(mediaType)) throw new InvalidArgumentError(path, `${path} is an image of type ${JSON.stringify(mediaType)}.`);
  return mediaType;
}

function documentBlock(part: DocumentPart): DocumentBlockParam {
  const source = binarySource(part.data, part.mediaType);
  const block: DocumentBlockParam = {
    type: 'document',
    source: source.kind === 'url' ? { type: 'url', url: source.url } : { type: 'base64', media_type: 'application/pdf', data: source.data },
  };
  if (part.title !== undefined) block.title = part.title;
  return block;
}
