/**
 * Helpers for message parts (internal): binary sources (URL, `data:` URL, bytes) in the forms the
 * wire formats take, the text a message holds, and the error for a part a provider cannot take.
 * Used by validation and by the per-wire mapping modules (`src/providers/messages-*.ts`).
 */
import { InvalidArgumentError } from './errors.js';
import type { ChatMessage, ImageMediaType, MessagePart } from './events.js';

/** The image formats every provider takes. */
export const IMAGE_MEDIA_TYPES: readonly ImageMediaType[] = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'];

/** `true` for one of {@link IMAGE_MEDIA_TYPES}. */
export function isImageMediaType(value: unknown): value is ImageMediaType {
  return (IMAGE_MEDIA_TYPES as readonly unknown[]).includes(value);
}

/** A `data:` URL taken apart: its media type and base64 data (`undefined` unless it is base64). */
export function parseDataUrl(url: string): { mediaType: string; data: string } | undefined {
  // data:[<media type>][;<parameter>…];base64,<data>
  const match = /^data:([^;,]*)((?:;[^;,]*)*),/i.exec(url);
  if (!match) return undefined;
  const parameters = match[2]!.split(';').map((p) => p.trim().toLowerCase());
  if (!parameters.includes('base64')) return undefined;
  return { mediaType: match[1]!.trim().toLowerCase(), data: url.slice(match[0].length) };
}

/** Base64 of bytes, in Node and in browsers alike (no `Buffer`). */
export function bytesToBase64(bytes: Uint8Array): string {
  // `String.fromCharCode` takes a bounded number of arguments: convert in slices.
  const slice = 0x8000;
  let binary = '';
  for (let i = 0; i < bytes.length; i += slice) {
    binary += String.fromCharCode(...bytes.subarray(i, i + slice));
  }
  return btoa(binary);
}

/** Where a validated image or document comes from, in the two forms the wire formats know. */
export type BinarySource = { kind: 'url'; url: string } | { kind: 'base64'; mediaType: string; data: string };

/**
 * The source of a validated image or document: an `http(s):` URL, or base64 data with its media
 * type (from a `data:` URL, or from bytes and `mediaType`).
 */
export function binarySource(value: string | URL | Uint8Array, mediaType: string | undefined): BinarySource {
  if (value instanceof Uint8Array) return { kind: 'base64', mediaType: mediaType ?? '', data: bytesToBase64(value) };
  const url = typeof value === 'string' ? value : value.href;
  const data = parseDataUrl(url);
  return data ? { kind: 'base64', mediaType: data.mediaType, data: data.data } : { kind: 'url', url };
}

/** A source as one URL: the URL itself, or a base64 `data:` URL (what OpenAI's `image_url` takes). */
export function sourceUrl(source: BinarySource): string {
  return source.kind === 'url' ? source.url : `data:${source.mediaType};base64,${source.data}`;
}

/** The request path of a message part, as errors name it: `request.messages[3].content[0]`. */
export function partPath(message: number, part: number): string {
  return `request.messages[${message}].content[${part}]`;
}

/**
 * The error for a part a provider cannot take: names the part, the provider and what to do.
 *
 * @param path - the part's path ({@link partPath})
 * @param what - what it is and why it cannot go (`'a reasoning part: Chat Completions takes no reasoning back'`)
 * @param fix - what the caller should do instead
 */
export function unsupportedPart(path: string, what: string, fix: string): InvalidArgumentError {
  return new InvalidArgumentError(path, `${path} is ${what}. ${fix}`);
}

/** A tool call's input as the arguments text the OpenAI wire formats carry. */
export function argumentsText(input: unknown): string {
  return JSON.stringify(input);
}

/**
 * The text of a message for token estimates: its text, reasoning text, tool inputs and tool output
 * text. Images and documents count nothing (their size in tokens is the provider's to know).
 */
export function messageText(message: ChatMessage): string {
  if (typeof message.content === 'string') return message.content;
  let text = '';
  for (const part of message.content as readonly MessagePart[]) text += partText(part);
  return text;
}

function partText(part: MessagePart): string {
  switch (part.type) {
    case 'text':
    case 'reasoning':
      return part.text;
    case 'tool-call':
      return `${part.name}${argumentsText(part.input)}`;
    case 'tool-result':
      return typeof part.output === 'string' ? part.output : part.output.map((p) => (p.type === 'text' ? p.text : '')).join('');
    case 'provider-tool':
      return JSON.stringify(part.block);
    case 'image':
    case 'document':
      return '';
    default:
      part satisfies never;
      return '';
  }
}

/**
 * `true` for a message no provider takes as a turn: string content that is empty or only
 * whitespace, or parts that are all blank text. A message with any other part (an image, a tool
 * call, a result) is not blank.
 */
export function isBlankMessage(message: ChatMessage): boolean {
  if (typeof message.content === 'string') return message.content.trim().length === 0;
  return (message.content as readonly MessagePart[]).every((part) => part.type === 'text' && part.text.trim().length === 0);
}
