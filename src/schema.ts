/**
 * Schemas, in one place (internal, apart from the exported types): a plain JSON Schema or a Standard
 * Schema validator (zod 4, valibot, arktype…), turned into the JSON Schema a provider gets and the
 * check a value goes through. Tools (`tool().inputSchema`) and structured output
 * (`request.output.schema`, `partialObject({ schema })`) both use it, so they accept the same schemas
 * and report issues the same way.
 */
import type { StandardJSONSchemaV1, StandardSchemaV1 } from '@standard-schema/spec';
import { InvalidArgumentError } from './errors.js';
import type { OutputSpec } from './events.js';
import { describeValue, errorMessage } from './internal/describe.js';
import { isPlainObject, rejectUnknownKeys } from './validate.js';

/**
 * A JSON Schema object, as providers take a tool's parameters or a structured answer's schema
 * (draft-07 vocabulary): an object with `type: 'object'` at the top. Typed loosely: any plain object
 * with `type: 'object'` is accepted.
 */
export interface JSONSchema7Like {
  type?: string | readonly string[];
  properties?: Record<string, unknown>;
  required?: readonly string[];
  [keyword: string]: unknown;
}

/** The result of checking a value against a schema: the value to use, or the readable issues. */
export type SchemaCheck = { ok: true; value: unknown } | { ok: false; issues: string[] };

/** A schema ready for use: the JSON Schema to send and the check of a value. */
export interface ResolvedSchema {
  /** The JSON Schema to send (an object schema, without `$schema`). */
  jsonSchema: Record<string, unknown>;
  /** Checks a value: a Standard Schema's `validate` (which may transform it), or the built-in JSON Schema check. */
  validate(value: unknown): Promise<SchemaCheck>;
}

/** Names of tools and output formats: what every provider takes. */
export const SCHEMA_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

/**
 * Resolves a schema given as a plain JSON Schema or a Standard Schema (with its own
 * `~standard.jsonSchema`, or with `jsonSchema` beside it). Every failure is an
 * `InvalidArgumentError` naming `${path}.${schemaKey}` or `${path}.jsonSchema`.
 *
 * @param schema - the schema as given
 * @param jsonSchema - the explicit JSON Schema to send for a Standard Schema, if any
 * @param path - the path of the object holding the schema (`options.tools.weather`, `request.output`)
 * @param schemaKey - the schema's key in that object (`inputSchema`, `schema`)
 * @param why - why the schema must describe an object, for the error message
 */
export function resolveSchema(schema: unknown, jsonSchema: unknown, path: string, schemaKey: string, why: string): ResolvedSchema {
  const schemaPath = `${path}.${schemaKey}`;
  const standard = isStandardSchema(schema) ? schema['~standard'] : undefined;
  if (standard) {
    let json: unknown = jsonSchema;
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
    return {
      jsonSchema: objectSchema(json, jsonSchema === undefined ? schemaPath : `${path}.jsonSchema`, why),
      validate: async (value) => validateStandard(standard, value),
    };
  }
  if (!isPlainObject(schema)) {
    throw new InvalidArgumentError(schemaPath, `${schemaPath} must be a JSON Schema object or a Standard Schema (zod, valibot, arktype), got ${describeValue(schema)}.`);
  }
  const parameters = objectSchema(schema, schemaPath, why);
  return { jsonSchema: parameters, validate: (value) => Promise.resolve(checkJsonSchema(value, parameters)) };
}

/**
 * Checks a value against a schema that is either a Standard Schema (its `validate`, which may
 * transform the value) or a plain JSON Schema (the built-in check, see {@link checkJson}).
 * Synchronous whenever the validator is (a plain JSON Schema always is), so an operator can emit the
 * result in the same turn as the event that completed the value.
 */
export function validateWith(schema: JSONSchema7Like | StandardSchemaV1, value: unknown): SchemaCheck | PromiseLike<SchemaCheck> {
  if (isStandardSchema(schema)) return validateStandard(schema['~standard'], value);
  return checkJsonSchema(value, schema);
}

function validateStandard(standard: StandardSchemaV1.Props, value: unknown): SchemaCheck | PromiseLike<SchemaCheck> {
  const failed = (error: unknown): SchemaCheck => ({ ok: false, issues: [`the value could not be validated: ${errorMessage(error)}`] });
  const settle = (result: StandardSchemaV1.Result<unknown>): SchemaCheck =>
    result.issues ? { ok: false, issues: result.issues.map(formatIssue) } : { ok: true, value: result.value };
  let result: StandardSchemaV1.Result<unknown> | PromiseLike<StandardSchemaV1.Result<unknown>>;
  try {
    result = standard.validate(value);
  } catch (error) {
    return failed(error);
  }
  return isThenable(result) ? Promise.resolve(result).then(settle, failed) : settle(result);
}

function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

function checkJsonSchema(value: unknown, schema: unknown): SchemaCheck {
  const issues: string[] = [];
  checkJson(value, schema, '', issues);
  return issues.length === 0 ? { ok: true, value } : { ok: false, issues };
}

/** `true` for an object (or function) with a `~standard` property holding a `validate` function. */
export function isStandardSchema(value: unknown): value is StandardSchemaV1 {
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null) return false;
  const standard = (value as { '~standard'?: unknown })['~standard'];
  return typeof standard === 'object' && standard !== null && typeof (standard as { validate?: unknown }).validate === 'function';
}

/**
 * A JSON Schema that describes an object (what providers take as parameters and as a structured
 * answer's root), without `$schema`.
 */
export function objectSchema(value: unknown, path: string, why: string): Record<string, unknown> {
  if (!isPlainObject(value)) {
    throw new InvalidArgumentError(path, `${path} must be a JSON Schema object, got ${describeValue(value)}.`);
  }
  if (value.type !== 'object') {
    throw new InvalidArgumentError(path, `${path} must describe an object ({ type: 'object', properties: { … } }): ${why}, got type ${JSON.stringify(value.type)}.`);
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
export function formatIssue(issue: StandardSchemaV1.Issue): string {
  const path = (issue.path ?? []).map((segment) => String(typeof segment === 'object' ? segment.key : segment)).join('.');
  return path ? `${path}: ${issue.message}` : issue.message;
}

/**
 * The built-in check for a plain JSON Schema: `type` (one or a list; `integer` included), `enum`,
 * `const`, object `properties` (recursively), `required`, `additionalProperties: false`, and array
 * `items` (one schema). Other keywords (`minLength`, `pattern`, `oneOf`, `$ref`…) are not checked:
 * use a Standard Schema validator for those.
 */
export function checkJson(value: unknown, schema: unknown, path: string, issues: string[]): void {
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

/** What a provider adapter sends for `request.output`: the format's name, its JSON Schema and options. */
export interface OutputFormat {
  name: string;
  schema: Record<string, unknown>;
  description?: string;
  strict?: boolean;
}

const OUTPUT_KEYS = ['schema', 'jsonSchema', 'name', 'description', 'strict'];
const OUTPUT_WHY = 'OpenAI and Anthropic take a structured answer whose root is an object';

/** The output format's name when `request.output.name` is not given. */
export const DEFAULT_OUTPUT_NAME = 'output';

/**
 * Checks `request.output` and resolves it to what the adapters send. Every failure is an
 * `InvalidArgumentError` naming the field (`request.output.schema`).
 *
 * @param value - `request.output` as given
 * @param path - its path for errors
 * @returns the format to send
 */
export function outputFormat(value: unknown, path = 'request.output'): OutputFormat {
  if (!isPlainObject(value)) {
    throw new InvalidArgumentError(path, `${path} must be an object { schema, name?, description?, strict? } (schema: a JSON Schema object or a Standard Schema such as zod), got ${describeValue(value)}.`);
  }
  rejectUnknownKeys(value, OUTPUT_KEYS, path);
  if (value.schema === undefined) {
    throw new InvalidArgumentError(`${path}.schema`, `${path}.schema is required: give a JSON Schema ({ type: 'object', properties }) or a Standard Schema (zod, valibot, arktype).`);
  }
  const spec = value as unknown as OutputSpec;
  const name = spec.name ?? DEFAULT_OUTPUT_NAME;
  if (typeof name !== 'string' || !SCHEMA_NAME.test(name)) {
    throw new InvalidArgumentError(`${path}.name`, `${path}.name must be 1 to 64 letters, digits, '_' or '-' (what every provider takes), got ${describeValue(name)}.`);
  }
  if (spec.description !== undefined && typeof spec.description !== 'string') {
    throw new InvalidArgumentError(`${path}.description`, `${path}.description must be a string, got ${describeValue(spec.description)}.`);
  }
  if (spec.strict !== undefined && typeof spec.strict !== 'boolean') {
    throw new InvalidArgumentError(`${path}.strict`, `${path}.strict must be a boolean, got ${describeValue(spec.strict)}.`);
  }
  const { jsonSchema } = resolveSchema(spec.schema, spec.jsonSchema, path, 'schema', OUTPUT_WHY);
  const format: OutputFormat = { name, schema: jsonSchema };
  if (spec.description !== undefined) format.description = spec.description;
  if (spec.strict !== undefined) format.strict = spec.strict;
  return format;
}

/**
 * Puts the fields tokenflow sets from `request.output` into an object-valued body field the caller
 * may also fill through `providerOptions` (Anthropic `output_config`, whose `effort` sits beside
 * `format`; Responses `text`, whose `verbosity` sits beside `format`): the two are merged rather than
 * one clobbering the other, and the option is taken out of `providerOptions` so the usual merge does
 * not refuse it.
 *
 * @param providerOptions - `request.providerOptions`
 * @param key - the body field (`output_config`, `text`)
 * @param fields - what tokenflow sets in it (`{ format }`)
 * @returns the merged field and the remaining provider options
 * @throws InvalidArgumentError when the option is not an object, or sets one of `fields` itself
 */
export function mergeNestedOption<T extends Record<string, unknown>>(
  providerOptions: Record<string, unknown> | undefined,
  key: string,
  fields: T,
): { value: T; providerOptions: Record<string, unknown> | undefined } {
  const given = providerOptions?.[key];
  if (providerOptions === undefined || given === undefined) return { value: fields, providerOptions };
  const path = `request.providerOptions.${key}`;
  if (!isPlainObject(given)) throw new InvalidArgumentError(path, `${path} must be an object, got ${describeValue(given)}.`);
  for (const field of Object.keys(fields)) {
    if (given[field] !== undefined) {
      throw new InvalidArgumentError(`${path}.${field}`, `${path}.${field} would override what request.output sets: give the schema through request.output only.`);
    }
  }
  const { [key]: _taken, ...rest } = providerOptions;
  return { value: { ...given, ...fields }, providerOptions: rest };
}
