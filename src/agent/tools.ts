/**
 * Tools an {@link Agent} runs for the model: their definition (`tool()`), the JSON Schema a provider
 * gets for each, and the check of a call's input before `execute` runs. The loop that calls them is
 * `loop.ts`.
 */
import type { StandardJSONSchemaV1, StandardSchemaV1 } from '@standard-schema/spec';
import { InvalidArgumentError, TokenflowError, type StreamErrorContext } from '../errors.js';
import type { ChatMessage, ToolDefinition } from '../events.js';
import { describeValue, errorMessage } from '../internal/describe.js';
import { isPlainObject, rejectUnknownKeys } from '../validate.js';

/**
 * A JSON Schema object, as providers take a tool's parameters (draft-07 vocabulary): an object with
 * `type: 'object'` at the top. Typed loosely: any plain object with `type: 'object'` is accepted.
 */
export interface JSONSchema7Like {
  type?: string | readonly string[];
  properties?: Record<string, unknown>;
  required?: readonly string[];
  [keyword: string]: unknown;
}

/** What a tool's `execute` receives besides its input. */
export interface ToolExecutionContext {
  /**
   * Aborts when the loop is cancelled (the subscriber unsubscribed, the caller's `signal` aborted, or
   * another call failed with `onToolError: 'throw'`). Pass it to `fetch` and the like.
   */
  signal: AbortSignal;
  /** The id of the call being answered. */
  toolCallId: string;
  /** The conversation so far, ending with the assistant turn that made this call. */
  messages: readonly ChatMessage[];
}

/**
 * A tool the model may call. The key it has in a {@link ToolSet} is its name.
 *
 * @typeParam Input - what `execute` receives: inferred from a Standard Schema's output type
 * @typeParam Output - what `execute` returns; the model gets a string as it is, anything else as JSON
 */
export interface Tool<Input = unknown, Output = unknown> {
  /** What the tool does, for the model: when to call it and what it returns. */
  description?: string;
  /**
   * The input's schema: a JSON Schema object (`{ type: 'object', properties, required }`), or a
   * Standard Schema validator (zod 4, valibot, arktype…). A Standard Schema is also what checks the
   * input (its `~standard.validate`); the provider gets its `~standard.jsonSchema`, or `jsonSchema`.
   */
  inputSchema: JSONSchema7Like | StandardSchemaV1<unknown, Input>;
  /**
   * The JSON Schema to send for a Standard Schema that cannot produce one itself (one without
   * `~standard.jsonSchema`, such as valibot without its converter). Ignored beside a plain JSON Schema.
   */
  jsonSchema?: Record<string, unknown>;
  /**
   * Runs the call with its validated input. A throw or a rejection becomes an error result the model
   * sees (or, with `onToolError: 'throw'`, ends the stream). Without `execute` the loop stops after
   * the step that called the tool and returns the call for the application to answer.
   */
  execute?: (input: Input, context: ToolExecutionContext) => Output | PromiseLike<Output>;
  /**
   * Holds the call until the `approve` hook of the loop allows it: `true`, or a function of the
   * input deciding per call. `false` never asks. @defaultValue ask when an `approve` hook is given
   */
  needsApproval?: boolean | ((input: Input, context: { toolCallId: string }) => boolean | PromiseLike<boolean>);
}

/**
 * The tools of a loop, by name: the key is the name the model calls (letters, digits, `_` and `-`,
 * up to 64 characters, as every provider takes).
 */
// `any` here is deliberate: a set mixes tools of different input types, and `Tool<unknown>` would
// refuse a tool whose `execute` takes a narrower input (parameters are contravariant).
export type ToolSet = Record<string, Tool<any, any>>;

/**
 * Defines a tool: checks it (the same checks a loop makes, so a mistake fails where the tool is
 * written) and returns it unchanged, typed so that TypeScript infers `execute`'s input from a
 * Standard Schema.
 *
 * @example
 * const weather = tool({
 *   description: 'The current weather in a city.',
 *   inputSchema: z.object({ city: z.string() }),
 *   execute: async ({ city }, { signal }) => fetchWeather(city, { signal }),
 * });
 * agent.stream('Weather in Paris?', { tools: { weather } });
 *
 * @param definition - the tool
 * @returns the same object
 * @throws InvalidArgumentError naming the field (`tool().inputSchema`) for a tool that is not one
 */
export function tool<Input, Output>(definition: Tool<Input, Output>): Tool<Input, Output> {
  checkTool(definition, 'tool()');
  return definition;
}

/** Why a tool call failed (see {@link ToolExecutionError}). */
export type ToolFailure = 'unknown-tool' | 'invalid-input' | 'execute-failed';

/**
 * A tool call failed and the loop was told to stop on it (`onToolError: 'throw'`): the model called
 * an unknown tool, its input did not match the schema, or `execute` threw (its error is `cause`).
 * Carries the text and usage of the loop so far.
 */
export class ToolExecutionError extends TokenflowError {
  static override readonly kind: string = 'ToolExecutionError';
  override name = 'ToolExecutionError';
  /** The tool the model called. */
  readonly toolName: string;
  /** The call's id. */
  readonly toolCallId: string;
  /** What went wrong. */
  readonly failure: ToolFailure;

  constructor(message: string, details: { toolName: string; toolCallId: string; failure: ToolFailure } & StreamErrorContext) {
    super(message, details);
    this.toolName = details.toolName;
    this.toolCallId = details.toolCallId;
    this.failure = details.failure;
  }
}

/** A tool ready for the loop: its definition for the provider and its input check. */
export interface PreparedTool {
  name: string;
  tool: Tool;
  definition: ToolDefinition;
  /** Checks a call's input: the value to pass to `execute`, or a message listing the issues. */
  validate(input: unknown): Promise<{ ok: true; value: unknown } | { ok: false; message: string }>;
}

const TOOL_KEYS = ['description', 'inputSchema', 'jsonSchema', 'execute', 'needsApproval'];
const NAME = /^[a-zA-Z0-9_-]{1,64}$/;

/**
 * Checks a tool set and prepares each tool: every failure is an `InvalidArgumentError` naming the
 * tool (`options.tools.weather.inputSchema`).
 *
 * @param tools - what the caller passed as `tools`
 * @param path - its path for errors (`stream() options.tools`)
 */
export function prepareTools(tools: unknown, path: string): Map<string, PreparedTool> {
  if (!isPlainObject(tools)) {
    throw new InvalidArgumentError(path, `${path} must be an object of tools by name, like { weather: tool({ inputSchema, execute }) }, got ${describeValue(tools)}.`);
  }
  const prepared = new Map<string, PreparedTool>();
  for (const [name, value] of Object.entries(tools)) {
    const toolPath = `${path}.${name}`;
    if (!NAME.test(name)) {
      throw new InvalidArgumentError(toolPath, `${toolPath}: a tool's name must be 1 to 64 letters, digits, '_' or '-' (what every provider takes), got ${JSON.stringify(name)}.`);
    }
    const { tool: t, parameters, validate } = checkTool(value, toolPath);
    const definition: ToolDefinition = { name, parameters };
    if (t.description !== undefined) definition.description = t.description;
    prepared.set(name, { name, tool: t, definition, validate });
  }
  return prepared;
}

/**
 * Checks one tool object (everything but its name) and derives the JSON Schema to send and the
 * input check. Every failure is an `InvalidArgumentError` naming the field under `toolPath`.
 */
function checkTool(value: unknown, toolPath: string): { tool: Tool; parameters: Record<string, unknown>; validate: PreparedTool['validate'] } {
  if (!isPlainObject(value)) {
    throw new InvalidArgumentError(toolPath, `${toolPath} must be a tool object { description?, inputSchema, execute? }, got ${describeValue(value)}.`);
  }
  rejectUnknownKeys(value, TOOL_KEYS, toolPath);
  if (value.description !== undefined && typeof value.description !== 'string') {
    throw new InvalidArgumentError(`${toolPath}.description`, `${toolPath}.description must be a string, got ${describeValue(value.description)}.`);
  }
  if (value.execute !== undefined && typeof value.execute !== 'function') {
    throw new InvalidArgumentError(`${toolPath}.execute`, `${toolPath}.execute must be a function (input, { signal, toolCallId, messages }) => output, got ${describeValue(value.execute)}.`);
  }
  const approval = value.needsApproval;
  if (approval !== undefined && typeof approval !== 'boolean' && typeof approval !== 'function') {
    throw new InvalidArgumentError(`${toolPath}.needsApproval`, `${toolPath}.needsApproval must be a boolean or a function (input, { toolCallId }) => boolean, got ${describeValue(approval)}.`);
  }
  const t = value as unknown as Tool;
  return { tool: t, ...schemaOf(t, toolPath) };
}

/** The JSON Schema to send and the input check, for a plain JSON Schema or a Standard Schema. */
function schemaOf(t: Tool, path: string): { parameters: Record<string, unknown>; validate: PreparedTool['validate'] } {
  const schema: unknown = t.inputSchema;
  const schemaPath = `${path}.inputSchema`;
  if (schema === undefined) {
    throw new InvalidArgumentError(schemaPath, `${path} has no inputSchema: give a JSON Schema ({ type: 'object', properties }) or a Standard Schema (zod, valibot, arktype); use { type: 'object', properties: {} } for a tool without input.`);
  }
  const standard = isStandardSchema(schema) ? schema['~standard'] : undefined;
  if (standard) {
    let json: unknown = t.jsonSchema;
    if (json === undefined) {
      const converter = (standard as Partial<StandardJSONSchemaV1.Props>).jsonSchema;
      if (typeof converter?.input !== 'function') {
        throw new InvalidArgumentError(
          `${path}.jsonSchema`,
          `${path}: its ${standard.vendor} schema cannot produce a JSON Schema itself (no ~standard.jsonSchema): pass the JSON Schema to send as ${path}.jsonSchema (for valibot, from @valibot/to-json-schema).`,
        );
      }
      try {
        json = converter.input({ target: 'draft-07' });
      } catch (error) {
        throw new InvalidArgumentError(`${path}.jsonSchema`, `${path}: its ${standard.vendor} schema could not be converted to JSON Schema (${errorMessage(error)}); pass the JSON Schema to send as ${path}.jsonSchema.`, { cause: error });
      }
    }
    const parameters = objectSchema(json, t.jsonSchema === undefined ? schemaPath : `${path}.jsonSchema`);
    return {
      parameters,
      validate: async (input) => {
        let result: StandardSchemaV1.Result<unknown>;
        try {
          result = await standard.validate(input);
        } catch (error) {
          return { ok: false, message: `the input could not be validated: ${errorMessage(error)}` };
        }
        if (result.issues) return { ok: false, message: result.issues.map(formatIssue).join('; ') };
        return { ok: true, value: result.value };
      },
    };
  }
  if (!isPlainObject(schema)) {
    throw new InvalidArgumentError(schemaPath, `${schemaPath} must be a JSON Schema object or a Standard Schema (zod, valibot, arktype), got ${describeValue(schema)}.`);
  }
  const parameters = objectSchema(schema, schemaPath);
  return {
    parameters,
    validate: (input) => {
      const issues: string[] = [];
      checkJson(input, parameters, '', issues);
      return Promise.resolve(issues.length === 0 ? { ok: true, value: input } : { ok: false, message: issues.join('; ') });
    },
  };
}

function isStandardSchema(value: unknown): value is StandardSchemaV1 {
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null) return false;
  const standard = (value as { '~standard'?: unknown })['~standard'];
  return typeof standard === 'object' && standard !== null && typeof (standard as { validate?: unknown }).validate === 'function';
}

/** A JSON Schema that describes an object (what providers take as parameters), without `$schema`. */
function objectSchema(value: unknown, path: string): Record<string, unknown> {
  if (!isPlainObject(value)) {
    throw new InvalidArgumentError(path, `${path} must be a JSON Schema object, got ${describeValue(value)}.`);
  }
  if (value.type !== 'object') {
    throw new InvalidArgumentError(
      path,
      `${path} must describe an object ({ type: 'object', properties: { … } }): providers take a tool's input as named arguments, got type ${JSON.stringify(value.type)}.`,
    );
  }
  if (value.properties !== undefined && !isPlainObject(value.properties)) {
    throw new InvalidArgumentError(`${path}.properties`, `${path}.properties must be an object of property schemas, got ${describeValue(value.properties)}.`);
  }
  if (value.required !== undefined && (!Array.isArray(value.required) || !value.required.every((k) => typeof k === 'string'))) {
    throw new InvalidArgumentError(`${path}.required`, `${path}.required must be an array of property names, got ${describeValue(value.required)}.`);
  }
  // `$schema` names the draft, which some providers refuse to see in parameters.
  const { $schema: _draft, ...parameters } = value;
  return parameters;
}

/** `city: Expected string` from a Standard Schema issue. */
function formatIssue(issue: StandardSchemaV1.Issue): string {
  const path = (issue.path ?? []).map((segment) => String(typeof segment === 'object' ? segment.key : segment)).join('.');
  return path ? `${path}: ${issue.message}` : issue.message;
}

/**
 * The built-in check for a plain JSON Schema: `type` (one or a list; `integer` included), `enum`,
 * `const`, object `properties` (recursively), `required`, `additionalProperties: false`, and array
 * `items` (one schema). Other keywords (`minLength`, `pattern`, `oneOf`, `$ref`…) are not checked:
 * use a Standard Schema validator for those.
 */
function checkJson(value: unknown, schema: unknown, path: string, issues: string[]): void {
  if (!isPlainObject(schema)) return;
  const at = path || 'input';
  const type = schema.type;
  if (type !== undefined) {
    const types = Array.isArray(type) ? type : [type];
    if (!types.some((t) => matchesType(value, t))) {
      issues.push(`${at}: expected ${types.join(' or ')}, got ${jsonType(value)}`);
      return;
    }
  }
  if (Array.isArray(schema.enum) && !schema.enum.some((option) => sameJson(option, value))) {
    issues.push(`${at}: expected one of ${schema.enum.map((o) => JSON.stringify(o)).join(', ')}`);
  }
  if ('const' in schema && !sameJson(schema.const, value)) issues.push(`${at}: expected ${JSON.stringify(schema.const)}`);
  if (isPlainObject(value)) {
    const properties = isPlainObject(schema.properties) ? schema.properties : {};
    if (Array.isArray(schema.required)) {
      for (const key of schema.required) {
        if (typeof key === 'string' && !(key in value)) issues.push(`${path ? `${path}.` : ''}${key}: required`);
      }
    }
    for (const [key, item] of Object.entries(value)) {
      const itemPath = path ? `${path}.${key}` : key;
      if (key in properties) checkJson(item, properties[key], itemPath, issues);
      else if (schema.additionalProperties === false) issues.push(`${itemPath}: not an allowed property`);
    }
  }
  if (Array.isArray(value) && isPlainObject(schema.items)) {
    value.forEach((item: unknown, i) => checkJson(item, schema.items, `${path}[${i}]`, issues));
  }
}

function matchesType(value: unknown, type: unknown): boolean {
  switch (type) {
    case 'object':
      return isPlainObject(value);
    case 'array':
      return Array.isArray(value);
    case 'string':
      return typeof value === 'string';
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'integer':
      return Number.isInteger(value);
    case 'boolean':
      return typeof value === 'boolean';
    case 'null':
      return value === null;
    default:
      return true; // an unknown type keyword is not ours to refuse
  }
}

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (Number.isInteger(value)) return 'integer';
  return typeof value;
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
