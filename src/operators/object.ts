import type { OperatorFunction } from 'rxjs';
import type { TokenEvent } from '../events.js';
import { readSchemaOption, structuredAnswer, type PartialObjectOptions } from './partialObject.js';

/**
 * Emits the structured answer (`request.output`) once, complete: at `done`, the answer text parsed
 * with `JSON.parse` and validated against `options.schema` (a Standard Schema may transform it).
 * {@link partialObject} is the same with the partial values before it; this is its last emission,
 * typed as the schema's output rather than as a partial.
 *
 *   source:   --tok('{"a":')--tok('1}')--usage--done--|
 *   object(): ------------------------------{a:1}-----|
 *
 * Errors with `ValidationError` (the raw `text`, `issues`, `failure`, the usage) when the answer is
 * not JSON, does not match the schema, was refused or was cut by `maxTokens`.
 *
 * @example
 * const Person = z.object({ name: z.string(), age: z.number() });
 * const person = await lastValueFrom(
 *   llm.stream({ model, messages, output: { schema: Person } }).pipe(object({ schema: Person })),
 * );
 *
 * @param options - `schema`, to validate the answer
 * @returns an operator emitting the validated value once
 * @throws InvalidArgumentError for options that are not `{ schema? }`
 */
export function object<Output = unknown>(options?: PartialObjectOptions<Output>): OperatorFunction<TokenEvent, Output> {
  const schema = readSchemaOption(options, 'object');
  return structuredAnswer(schema, false) as OperatorFunction<TokenEvent, Output>;
}
