/**
 * Argument checks for public entry points: each failure is an `InvalidArgumentError` naming the
 * field, raised before anything is sent.
 */
import { InvalidArgumentError } from './errors.js';
import type { CallOptions, ChatMessage, ChatRequest, MessagePart } from './events.js';
import { describeValue } from './internal/describe.js';
import { IMAGE_MEDIA_TYPES, isImageMediaType, parseDataUrl } from './messages.js';
import { outputFormat } from './schema.js';

const ROLES: readonly ChatMessage['role'][] = ['system', 'user', 'assistant', 'tool'];
const REQUEST_KEYS = ['model', 'messages', 'system', 'temperature', 'maxTokens', 'stop', 'tools', 'output', 'providerOptions'];
const MESSAGE_KEYS = ['role', 'content'];
const TOOL_KEYS = ['name', 'description', 'parameters'];

/** `true` for a plain object (not an array, not null, not a class instance like Date). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

function describe(value: unknown): string {
  return describeValue(value, 40);
}

/** The known key a mistyped one most likely meant (snake_case, case slips, one or two typos). */
function suggest(key: string, known: readonly string[]): string | undefined {
  const camel = key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
  const lower = camel.toLowerCase();
  const exact = known.find((k) => k.toLowerCase() === lower);
  if (exact) return exact;
  let best: string | undefined;
  let bestDistance = 3;
  for (const k of known) {
    const d = editDistance(lower, k.toLowerCase());
    if (d < bestDistance) {
      bestDistance = d;
      best = k;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length]!;
}

/** Rejects keys outside `known`, suggesting the likely intended one. */
export function rejectUnknownKeys(value: Record<string, unknown>, known: readonly string[], path: string): void {
  for (const key of Object.keys(value)) {
    if (known.includes(key) || value[key] === undefined) continue;
    const hint = suggest(key, known);
    throw new InvalidArgumentError(
      `${path}.${key}`,
      `Unknown field ${path}.${key}${hint ? `: did you mean ${path}.${hint}?` : '.'} Known fields: ${known.join(', ')}.`,
    );
  }
}

/** Requires a plain object. */
export function requireObject(value: unknown, path: string): Record<string, unknown> {
  if (!isPlainObject(value)) throw new InvalidArgumentError(path, `${path} must be an object, got ${describe(value)}.`);
  return value;
}

/** Requires a non-empty string. */
export function requireString(value: unknown, path: string, { allowEmpty = false } = {}): string {
  if (typeof value !== 'string' || (!allowEmpty && value.trim() === '')) {
    throw new InvalidArgumentError(
      path,
      `${path} must be a ${allowEmpty ? '' : 'non-empty '}string, got ${describe(value)}.`,
    );
  }
  return value;
}

/** Requires a finite number in [min, max], optionally an integer. */
export function requireNumber(
  value: unknown,
  path: string,
  { min = -Infinity, max = Infinity, integer = false }: { min?: number; max?: number; integer?: boolean } = {},
): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || (integer && !Number.isInteger(value))) {
    throw new InvalidArgumentError(path, `${path} must be a finite ${integer ? 'integer' : 'number'}, got ${describe(value)}.`);
  }
  if (value < min || value > max) {
    const range = max === Infinity ? `at least ${min}` : `between ${min} and ${max}`;
    throw new InvalidArgumentError(path, `${path} must be ${range}, got ${value}.`);
  }
  return value;
}

/** Limits that differ between providers. */
export interface RequestLimits {
  /** Highest temperature the provider accepts (Anthropic 1, OpenAI-style 2). */
  maxTemperature: number;
}

/**
 * Checks a `ChatRequest` before any network call.
 *
 * @throws InvalidArgumentError naming the first offending field (`request.temperature`, …)
 */
export function validateChatRequest(request: unknown, limits: RequestLimits): ChatRequest {
  const r = requireObject(request, 'request');
  rejectUnknownKeys(r, REQUEST_KEYS, 'request');
  requireString(r.model, 'request.model');
  if (!Array.isArray(r.messages) || r.messages.length === 0) {
    throw new InvalidArgumentError(
      'request.messages',
      `request.messages must be a non-empty array of { role, content }, got ${Array.isArray(r.messages) ? 'an empty array' : describe(r.messages)}.`,
    );
  }
  // A Responses answer stored by the provider may hold the calls a tool result answers.
  const continues = isPlainObject(r.providerOptions) && r.providerOptions.previous_response_id !== undefined;
  const context: MessageContext = { toolCallIds: new Set(), checkToolResults: !continues };
  (r.messages as unknown[]).forEach((message, i) => validateMessage(message, `request.messages[${i}]`, context));
  if (r.system !== undefined) requireString(r.system, 'request.system', { allowEmpty: true });
  if (r.temperature !== undefined) requireNumber(r.temperature, 'request.temperature', { min: 0, max: limits.maxTemperature });
  if (r.maxTokens !== undefined) requireNumber(r.maxTokens, 'request.maxTokens', { min: 1, integer: true });
  if (r.stop !== undefined) {
    if (!Array.isArray(r.stop)) throw new InvalidArgumentError('request.stop', `request.stop must be an array of strings, got ${describe(r.stop)}.`);
    r.stop.forEach((s, i) => requireString(s, `request.stop[${i}]`));
  }
  if (r.tools !== undefined) {
    if (!Array.isArray(r.tools)) throw new InvalidArgumentError('request.tools', `request.tools must be an array, got ${describe(r.tools)}.`);
    r.tools.forEach((tool, i) => {
      const path = `request.tools[${i}]`;
      const t = requireObject(tool, path);
      rejectUnknownKeys(t, TOOL_KEYS, path);
      requireString(t.name, `${path}.name`);
      if (t.description !== undefined) requireString(t.description, `${path}.description`, { allowEmpty: true });
      requireObject(t.parameters, `${path}.parameters`);
    });
  }
  // Resolved here only to check it: each adapter resolves it again to build its body.
  if (r.output !== undefined) outputFormat(r.output, 'request.output');
  if (r.providerOptions !== undefined) requireObject(r.providerOptions, 'request.providerOptions');
  return r as unknown as ChatRequest;
}

/**
 * What the messages before this one established: the ids of the assistant's tool calls, which
 * later tool results must name.
 */
export interface MessageContext {
  /** Ids of the `tool-call` parts seen so far. */
  toolCallIds: Set<string>;
  /** Whether a tool result must answer one of them (not when the provider keeps the history). */
  checkToolResults: boolean;
}

/** The part types each role may hold. */
const ROLE_PARTS: Record<ChatMessage['role'], readonly MessagePart['type'][]> = {
  system: ['text'],
  user: ['text', 'image', 'document'],
  assistant: ['text', 'reasoning', 'tool-call', 'provider-tool'],
  tool: ['tool-result'],
};

/** The fields of each part type. */
const PART_KEYS: Record<MessagePart['type'], readonly string[]> = {
  text: ['type', 'text'],
  image: ['type', 'image', 'mediaType'],
  document: ['type', 'data', 'mediaType', 'title'],
  'tool-call': ['type', 'id', 'name', 'input', 'providerData'],
  'tool-result': ['type', 'toolCallId', 'name', 'output', 'isError'],
  reasoning: ['type', 'text', 'signature', 'redacted', 'providerData'],
  'provider-tool': ['type', 'phase', 'id', 'name', 'block'],
};

const PART_TYPES = Object.keys(PART_KEYS) as MessagePart['type'][];

/** Where a part that is in the wrong role belongs. */
const PART_HOME: Record<MessagePart['type'], string> = {
  text: 'any message',
  image: "a user message (or a tool result's output)",
  document: 'a user message',
  'tool-call': 'an assistant message',
  'tool-result': "a { role: 'tool' } message",
  reasoning: 'an assistant message',
  'provider-tool': 'an assistant message',
};

const quoteList = (items: readonly string[]): string => items.map((item) => `'${item}'`).join(', ');

/**
 * Checks one `{ role, content }` message: its role, and each part of an array `content` (type, role,
 * fields). With a `context` (the messages before it), a tool result must answer an earlier call.
 *
 * @throws InvalidArgumentError naming the offending field (`request.messages[3].content[0].image`)
 */
export function validateMessage(message: unknown, path: string, context?: MessageContext): ChatMessage {
  const m = requireObject(message, path);
  rejectUnknownKeys(m, MESSAGE_KEYS, path);
  if (typeof m.role !== 'string' || !(ROLES as readonly string[]).includes(m.role)) {
    throw new InvalidArgumentError(`${path}.role`, `${path}.role must be 'system', 'user', 'assistant' or 'tool', got ${describe(m.role)}.`);
  }
  const role = m.role as ChatMessage['role'];
  const contentPath = `${path}.content`;
  if (typeof m.content === 'string' && role !== 'tool') return m as unknown as ChatMessage;
  if (!Array.isArray(m.content) || m.content.length === 0) {
    const expected =
      role === 'tool'
        ? "a non-empty array of { type: 'tool-result', toolCallId, name, output } parts"
        : "a string or a non-empty array of parts ({ type: 'text', text }, …)";
    const got = Array.isArray(m.content) ? 'an empty array' : describe(m.content);
    throw new InvalidArgumentError(contentPath, `${contentPath} must be ${expected}, got ${got}.`);
  }
  m.content.forEach((part: unknown, j) => validatePart(part, `${contentPath}[${j}]`, role, context));
  return m as unknown as ChatMessage;
}

/** Checks one part of a message with this role. */
function validatePart(part: unknown, path: string, role: ChatMessage['role'], context: MessageContext | undefined): void {
  const p = requireObject(part, path);
  const partType = requirePartType(p.type, path);
  const allowed = ROLE_PARTS[role];
  if (!allowed.includes(partType)) {
    throw new InvalidArgumentError(
      path,
      `${path}: a '${partType}' part cannot be in ${role === 'assistant' ? 'an' : 'a'} ${role} message (it takes ${quoteList(allowed)}); it belongs in ${PART_HOME[partType]}.`,
    );
  }
  rejectUnknownKeys(p, PART_KEYS[partType], path);
  switch (partType) {
    case 'text':
      requireString(p.text, `${path}.text`, { allowEmpty: true });
      return;
    case 'image':
      validateImage(p, path);
      return;
    case 'document':
      if (p.mediaType !== 'application/pdf') {
        throw new InvalidArgumentError(`${path}.mediaType`, `${path}.mediaType must be 'application/pdf' (documents are PDFs), got ${describe(p.mediaType)}.`);
      }
      validateBinary(p.data, `${path}.data`, ['application/pdf']);
      if (p.title !== undefined) requireString(p.title, `${path}.title`);
      return;
    case 'tool-call': {
      const id = requireString(p.id, `${path}.id`);
      requireString(p.name, `${path}.name`);
      if (p.input === undefined) {
        throw new InvalidArgumentError(`${path}.input`, `${path}.input must be the call's input as a JSON value ({} for a tool without input), got undefined.`);
      }
      requireJson(p.input, `${path}.input`);
      if (p.providerData !== undefined) {
        requireObject(p.providerData, `${path}.providerData`);
        requireJson(p.providerData, `${path}.providerData`);
      }
      context?.toolCallIds.add(id);
      return;
    }
    case 'tool-result': {
      const id = requireString(p.toolCallId, `${path}.toolCallId`);
      requireString(p.name, `${path}.name`);
      validateToolOutput(p.output, `${path}.output`);
      if (p.isError !== undefined && typeof p.isError !== 'boolean') {
        throw new InvalidArgumentError(`${path}.isError`, `${path}.isError must be a boolean, got ${describe(p.isError)}.`);
      }
      if (context?.checkToolResults && !context.toolCallIds.has(id)) {
        throw new InvalidArgumentError(
          `${path}.toolCallId`,
          `${path}.toolCallId: a tool result for an unknown call id ${JSON.stringify(id)}: no earlier assistant message in request.messages has a tool-call part with that id. Append the answer's \`message\` (it holds the calls) before its tool results.`,
        );
      }
      return;
    }
    case 'reasoning':
      requireString(p.text, `${path}.text`, { allowEmpty: true });
      if (p.signature !== undefined) requireString(p.signature, `${path}.signature`);
      if (p.redacted !== undefined) requireString(p.redacted, `${path}.redacted`);
      if (p.signature !== undefined && p.redacted !== undefined) {
        throw new InvalidArgumentError(path, `${path} has both a signature and redacted data: a reasoning part is either signed thinking or a redacted block.`);
      }
      if (p.providerData !== undefined) {
        requireObject(p.providerData, `${path}.providerData`);
        requireJson(p.providerData, `${path}.providerData`);
      }
      return;
    case 'provider-tool': {
      if (p.phase !== 'call' && p.phase !== 'result') {
        throw new InvalidArgumentError(`${path}.phase`, `${path}.phase must be 'call' or 'result', got ${describe(p.phase)}.`);
      }
      requireString(p.id, `${path}.id`);
      requireString(p.name, `${path}.name`);
      const block = requireObject(p.block, `${path}.block`);
      requireString(block.type, `${path}.block.type`);
      requireJson(block, `${path}.block`);
      return;
    }
    default:
      partType satisfies never;
  }
}

function requirePartType(value: unknown, path: string): MessagePart['type'] {
  if (typeof value === 'string' && (PART_TYPES as readonly string[]).includes(value)) return value as MessagePart['type'];
  throw new InvalidArgumentError(
    `${path}.type`,
    `${path}.type: an unknown part type (${describe(value)}); a part's type is one of ${quoteList(PART_TYPES)}.`,
  );
}

function validateImage(p: Record<string, unknown>, path: string): void {
  if (p.mediaType !== undefined && !isImageMediaType(p.mediaType)) {
    throw new InvalidArgumentError(`${path}.mediaType`, `${path}.mediaType must be one of ${quoteList(IMAGE_MEDIA_TYPES)}, got ${describe(p.mediaType)}.`);
  }
  if (p.image instanceof Uint8Array && p.mediaType === undefined) {
    throw new InvalidArgumentError(
      `${path}.mediaType`,
      `${path}.mediaType is required with image bytes: give the image's format (${quoteList(IMAGE_MEDIA_TYPES)}).`,
    );
  }
  const dataType = validateBinary(p.image, `${path}.image`, IMAGE_MEDIA_TYPES);
  if (dataType !== undefined && p.mediaType !== undefined && dataType !== p.mediaType) {
    throw new InvalidArgumentError(
      `${path}.mediaType`,
      `${path}.mediaType is ${JSON.stringify(p.mediaType)} but the data: URL says ${JSON.stringify(dataType)}: leave mediaType out or make them agree.`,
    );
  }
}

/**
 * Checks an image's or document's data: an `http(s):` URL (string or `URL`), a base64 `data:` URL
 * of one of `mediaTypes`, or non-empty bytes.
 *
 * @returns the media type of a `data:` URL, if it is one
 */
function validateBinary(value: unknown, path: string, mediaTypes: readonly string[]): string | undefined {
  const forms = `an https: or http: URL, a base64 data: URL, or the bytes as a Uint8Array`;
  if (value instanceof Uint8Array) {
    if (value.length === 0) throw new InvalidArgumentError(path, `${path} is empty: give ${forms}.`);
    return undefined;
  }
  const text = typeof value === 'string' ? value : value instanceof URL ? value.href : undefined;
  if (text === undefined) throw new InvalidArgumentError(path, `${path} must be ${forms}, got ${describe(value)}.`);
  if (/^data:/i.test(text)) {
    const data = parseDataUrl(text);
    if (!data) throw new InvalidArgumentError(path, `${path} is a data: URL without base64 data: encode it as data:<media type>;base64,<data>, or pass the bytes.`);
    if (!mediaTypes.includes(data.mediaType)) {
      throw new InvalidArgumentError(path, `${path} is a data: URL of ${JSON.stringify(data.mediaType)}; it must be one of ${quoteList(mediaTypes)}.`);
    }
    if (data.data.length === 0) throw new InvalidArgumentError(path, `${path} is a data: URL without data.`);
    return data.mediaType;
  }
  const url = URL.canParse(text) ? new URL(text) : undefined;
  if (url?.protocol !== 'https:' && url?.protocol !== 'http:') {
    throw new InvalidArgumentError(path, `${path} must be ${forms}, got ${describe(text)}.`);
  }
  return undefined;
}

/** A tool's output: a string, or a non-empty array of text and image parts. */
function validateToolOutput(value: unknown, path: string): void {
  if (typeof value === 'string') return;
  if (!Array.isArray(value) || value.length === 0) {
    throw new InvalidArgumentError(
      path,
      `${path} must be a string or a non-empty array of { type: 'text' } and { type: 'image' } parts, got ${Array.isArray(value) ? 'an empty array' : describe(value)}.`,
    );
  }
  value.forEach((part: unknown, k) => {
    const partPath = `${path}[${k}]`;
    const p = requireObject(part, partPath);
    const type = requirePartType(p.type, partPath);
    if (type !== 'text' && type !== 'image') {
      throw new InvalidArgumentError(partPath, `${partPath}: a tool's output holds 'text' and 'image' parts, not '${type}'.`);
    }
    rejectUnknownKeys(p, PART_KEYS[type], partPath);
    if (type === 'text') requireString(p.text, `${partPath}.text`, { allowEmpty: true });
    else validateImage(p, partPath);
  });
}

/**
 * Requires a value `JSON.stringify` keeps as it is: plain objects, arrays, strings, finite numbers,
 * booleans and `null`. A function, a class instance (a `Date`, a `Map`), `NaN`, a `bigint` or a
 * cycle would be dropped, changed or thrown on when the request is sent.
 */
export function requireJson(value: unknown, path: string, seen: unknown[] = []): void {
  const fail = (what: string): never => {
    throw new InvalidArgumentError(path, `${path} must be JSON-serializable (plain objects, arrays, strings, finite numbers, booleans, null), but ${what}.`);
  };
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) fail(`it is ${value}`);
    return;
  }
  if (typeof value !== 'object') return void fail(`it is ${describe(value)}`);
  if (seen.includes(value)) fail('it refers to itself (a cycle)');
  seen.push(value);
  if (Array.isArray(value)) {
    value.forEach((item: unknown, i) => {
      if (item === undefined) fail(`[${i}] is undefined (JSON turns it into null)`);
      requireJson(item, `${path}[${i}]`, seen);
    });
  } else if (isPlainObject(value)) {
    for (const [key, item] of Object.entries(value)) {
      // An undefined field is left out by JSON, as it is left out of a request.
      if (item !== undefined) requireJson(item, `${path}.${key}`, seen);
    }
  } else {
    fail(`it is an instance of ${(value as object).constructor?.name ?? 'a class'}: convert it to plain data`);
  }
  seen.pop();
}

/** Throws unless `value` is an `AbortSignal` (or `undefined`). */
export function requireSignal(value: unknown, path: string): AbortSignal | undefined {
  if (value === undefined || value instanceof AbortSignal) return value;
  throw new InvalidArgumentError(path, `${path} must be an AbortSignal (from an AbortController), got ${describe(value)}.`);
}

/** Checks per-call options (`{ signal }`). */
export function validateCallOptions(options: unknown): CallOptions {
  if (options === undefined) return {};
  const o = requireObject(options, 'options');
  rejectUnknownKeys(o, ['signal'], 'options');
  requireSignal(o.signal, 'options.signal');
  return o as CallOptions;
}

/**
 * Merges `providerOptions` under the fields tokenflow sets, refusing to let it override them
 * (a silent override would make the request differ from what the caller's fields say).
 */
export function mergeProviderOptions<T extends object>(
  body: T,
  providerOptions: Record<string, unknown> | undefined,
): T {
  if (!providerOptions) return body;
  for (const key of Object.keys(providerOptions)) {
    if (key in body) {
      throw new InvalidArgumentError(
        `request.providerOptions.${key}`,
        `request.providerOptions.${key} would override a field tokenflow sets from the request; set it through the request's own field instead.`,
      );
    }
  }
  return { ...providerOptions, ...body };
}
