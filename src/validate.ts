/**
 * Argument checks for public entry points: each failure is an `InvalidArgumentError` naming the
 * field, raised before anything is sent.
 */
import { InvalidArgumentError } from './errors.js';
import type { CallOptions, ChatMessage, ChatRequest } from './events.js';
import { describeValue } from './internal/describe.js';

const ROLES: ReadonlySet<string> = new Set(['system', 'user', 'assistant']);
const REQUEST_KEYS = ['model', 'messages', 'system', 'temperature', 'maxTokens', 'stop', 'tools', 'providerOptions'];
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
  (r.messages as unknown[]).forEach((message, i) => validateMessage(message, `request.messages[${i}]`));
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
  if (r.providerOptions !== undefined) requireObject(r.providerOptions, 'request.providerOptions');
  return r as unknown as ChatRequest;
}

/** Checks one `{ role, content }` message. */
export function validateMessage(message: unknown, path: string): ChatMessage {
  const m = requireObject(message, path);
  rejectUnknownKeys(m, MESSAGE_KEYS, path);
  if (typeof m.role !== 'string' || !ROLES.has(m.role)) {
    throw new InvalidArgumentError(`${path}.role`, `${path}.role must be 'system', 'user' or 'assistant', got ${describe(m.role)}.`);
  }
  requireString(m.content, `${path}.content`, { allowEmpty: true });
  return m as unknown as ChatMessage;
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
export function mergeProviderOptions<T extends Record<string, unknown>>(
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
