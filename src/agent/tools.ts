/**
 * Tools an {@link Agent} runs for the model: their definition (`tool()`), the JSON Schema a provider
 * gets for each, and the check of a call's input before `execute` runs. The loop that calls them is
 * `loop.ts`.
 */
import type { StandardSchemaV1 } from '@standard-schema/spec';
import { InvalidArgumentError } from '../errors.js';
import type { ChatMessage, ToolDefinition } from '../events.js';
import { describeValue } from '../internal/describe.js';
import { resolveSchema, SCHEMA_NAME, type JSONSchema7Like } from '../schema.js';
import { isPlainObject, rejectUnknownKeys } from '../validate.js';

// Re-exported from their new homes so every import path that worked keeps working.
export type { JSONSchema7Like } from '../schema.js';
export { ToolExecutionError, type ToolFailure } from '../errors.js';

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

/** A tool ready for the loop: its definition for the provider and its input check. */
export interface PreparedTool {
  name: string;
  tool: Tool;
  definition: ToolDefinition;
  /** Checks a call's input: the value to pass to `execute`, or a message listing the issues. */
  validate(input: unknown): Promise<{ ok: true; value: unknown } | { ok: false; message: string }>;
}

const TOOL_KEYS = ['description', 'inputSchema', 'jsonSchema', 'execute', 'needsApproval'];

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
    if (!SCHEMA_NAME.test(name)) {
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
  if (t.inputSchema === undefined) {
    throw new InvalidArgumentError(`${path}.inputSchema`, `${path} has no inputSchema: give a JSON Schema ({ type: 'object', properties }) or a Standard Schema (zod, valibot, arktype); use { type: 'object', properties: {} } for a tool without input.`);
  }
  const resolved = resolveSchema(t.inputSchema, t.jsonSchema, path, 'inputSchema', "providers take a tool's input as named arguments");
  return {
    parameters: resolved.jsonSchema,
    validate: async (input) => {
      const check = await resolved.validate(input);
      return check.ok ? check : { ok: false, message: check.issues.join('; ') };
    },
  };
}
