/**
 * Messages → Chat Completions `messages` (request direction), for OpenAI, Groq and
 * OpenAI-compatible servers. Pure.
 *
 * User parts go as content parts: `text`, `image_url` (the URL, or a base64 `data:` URL for bytes)
 * and, where the API takes PDFs, `file` (`file_data` as a `data:` URL with a file name). The
 * assistant's text goes as `content` (`null` beside tool calls without text), its tool calls as
 * `tool_calls` (`function.arguments`: the input as JSON text). Each tool result is its own
 * `{ role: 'tool', tool_call_id, content }` message of text: Chat tool messages take text only.
 * Chat APIs take no signed reasoning and no provider-run tools back: such parts are refused by name.
 *
 * The produced shapes are structural ({@link ChatWireMessage}); the body builders in
 * `openai-chat-wire.ts` assign them to each SDK's own message type, which is the type check.
 */
import { InvalidArgumentError } from '../errors.js';
import type { AssistantMessage, ChatRequest, DocumentPart, ImagePart, ToolResultPart, UserContentPart } from '../events.js';
import { argumentsText, binarySource, partPath, sourceUrl, unsupportedPart } from '../messages.js';

/** A text content part. */
export interface ChatTextPart {
  type: 'text';
  text: string;
}

/** An image content part. */
export interface ChatImagePart {
  type: 'image_url';
  image_url: { url: string };
}

/** A PDF as a content part (OpenAI): base64 `data:` URL and a file name. */
export interface ChatFilePart {
  type: 'file';
  file: { file_data: string; filename: string };
}

/** One function call of an assistant message. */
export interface ChatToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

/**
 * A message as Chat Completions takes it. `Document` is the content part a PDF becomes (`never`
 * where the API takes none); `reasoning` is set only where the API takes reasoning text back (Groq).
 */
export type ChatWireMessage<Document> =
  | { role: 'system'; content: string | ChatTextPart[] }
  | { role: 'user'; content: string | Array<ChatTextPart | ChatImagePart | Document> }
  | ChatAssistantMessage
  | { role: 'tool'; tool_call_id: string; content: string };

/** The assistant's turn: its text (`null` beside tool calls without text), its calls, and (Groq) its reasoning. */
export interface ChatAssistantMessage {
  role: 'assistant';
  content: string | null;
  tool_calls?: ChatToolCall[];
  reasoning?: string;
}

/** What one Chat Completions API takes beyond the common ground. */
export interface ChatDialect<Document> {
  /** The API's name in errors (`OpenAI Chat Completions`, `Groq`). */
  label: string;
  /** The content part for a PDF; throws where the API takes none. */
  document(part: DocumentPart, path: string): Document;
  /** Whether assistant reasoning text goes back as `reasoning` (Groq); otherwise reasoning is refused. */
  reasoningText: boolean;
}

/** OpenAI and compatible servers: PDFs as `file` parts, no reasoning back. */
export const OPENAI_CHAT_DIALECT: ChatDialect<ChatFilePart> = {
  label: 'Chat Completions',
  document: fileContentPart,
  reasoningText: false,
};

/**
 * Groq: images (vision models) but no PDFs (its `document` part is JSON data for retrieval, not a
 * file), and reasoning text back in the assistant's `reasoning` field.
 */
export const GROQ_CHAT_DIALECT: ChatDialect<never> = {
  label: 'Groq',
  document: (_part, path) => {
    throw unsupportedPart(
      path,
      'a document part: Groq takes no PDF documents',
      'Extract the text and send it as a text part, or use a provider that reads PDFs (Anthropic, OpenAI).',
    );
  },
  reasoningText: true,
};

/**
 * Maps a validated request's messages to Chat Completions messages, `request.system` first.
 *
 * @throws InvalidArgumentError naming a part this API cannot take (`request.messages[3].content[0]`)
 */
export function toChatMessages<Document>(request: ChatRequest, dialect: ChatDialect<Document>): Array<ChatWireMessage<Document>> {
  const messages: Array<ChatWireMessage<Document>> = [];
  if (request.system !== undefined) messages.push({ role: 'system', content: request.system });
  request.messages.forEach((message, i) => {
    switch (message.role) {
      case 'system':
        messages.push({
          role: 'system',
          content: typeof message.content === 'string' ? message.content : message.content.map((p) => ({ type: 'text', text: p.text })),
        });
        return;
      case 'user':
        messages.push({
          role: 'user',
          content:
            typeof message.content === 'string'
              ? message.content
              : message.content.map((part, j) => userPart(part, partPath(i, j), dialect)),
        });
        return;
      case 'assistant':
        messages.push(assistantMessage(message, i, dialect));
        return;
      case 'tool':
        message.content.forEach((part, j) => messages.push(toolMessage(part, partPath(i, j), dialect)));
        return;
      default:
        message satisfies never;
    }
  });
  return messages;
}

function userPart<Document>(part: UserContentPart, path: string, dialect: ChatDialect<Document>): ChatTextPart | ChatImagePart | Document {
  switch (part.type) {
    case 'text':
      return { type: 'text', text: part.text };
    case 'image':
      return imagePart(part);
    case 'document':
      return dialect.document(part, path);
    default:
      part satisfies never;
      throw new InvalidArgumentError(path, `${path} has an unknown part type.`);
  }
}

function imagePart(part: ImagePart): ChatImagePart {
  return { type: 'image_url', image_url: { url: sourceUrl(binarySource(part.image, part.mediaType)) } };
}

/** A PDF as OpenAI's `file` part: its data as a base64 `data:` URL (the API takes no file URL here). */
function fileContentPart(part: DocumentPart, path: string): ChatFilePart {
  const source = binarySource(part.data, part.mediaType);
  if (source.kind === 'url') {
    throw unsupportedPart(
      `${path}.data`,
      'a document by URL: Chat Completions takes PDFs only as data',
      'Pass the bytes (or a base64 data: URL), or use the Responses API (openai({ api: "responses" })), which fetches URLs.',
    );
  }
  return { type: 'file', file: { file_data: sourceUrl(source), filename: part.title ?? 'document.pdf' } };
}

/** Text as `content` (all text parts joined), tool calls as `tool_calls`. */
function assistantMessage<Document>(message: AssistantMessage, i: number, dialect: ChatDialect<Document>): ChatAssistantMessage {
  if (typeof message.content === 'string') return { role: 'assistant', content: message.content };
  let text: string | undefined;
  let reasoning: string | undefined;
  const calls: ChatToolCall[] = [];
  message.content.forEach((part, j) => {
    const path = partPath(i, j);
    switch (part.type) {
      case 'text':
        text = (text ?? '') + part.text;
        return;
      case 'tool-call':
        calls.push({ id: part.id, type: 'function', function: { name: part.name, arguments: argumentsText(part.input) } });
        return;
      case 'reasoning':
        if (dialect.reasoningText && part.signature === undefined && part.redacted === undefined && part.providerData === undefined) {
          reasoning = (reasoning ?? '') + part.text;
          return;
        }
        throw unsupportedPart(
          path,
          dialect.reasoningText
            ? `a reasoning part with ${part.providerData !== undefined ? 'provider data' : part.signature !== undefined ? 'a signature' : 'redacted data'} from another provider: ${dialect.label} takes back only reasoning text`
            : `a reasoning part: ${dialect.label} takes no reasoning back`,
          'Drop reasoning parts from the messages for this provider.',
        );
      case 'provider-tool':
        throw unsupportedPart(
          path,
          `a provider-tool part: ${dialect.label} cannot replay a tool another provider ran`,
          'Drop provider-tool parts from the messages for this provider.',
        );
      default:
        part satisfies never;
    }
  });
  const wire: ChatAssistantMessage = { role: 'assistant', content: text ?? (calls.length > 0 ? null : '') };
  if (calls.length > 0) wire.tool_calls = calls;
  if (reasoning !== undefined) wire.reasoning = reasoning;
  return wire;
}

function toolMessage<Document>(part: ToolResultPart, path: string, dialect: ChatDialect<Document>): ChatWireMessage<Document> {
  let content: string;
  if (typeof part.output === 'string') content = part.output;
  else {
    content = '';
    part.output.forEach((p, k) => {
      if (p.type === 'image') {
        throw unsupportedPart(
          `${path}.output[${k}]`,
          `an image in a tool result: ${dialect.label} tool messages take text only`,
          'Return text from the tool, and send the image in a user message after the tool results.',
        );
      }
      content += p.text;
    });
  }
  return { role: 'tool', tool_call_id: part.toolCallId, content };
}
