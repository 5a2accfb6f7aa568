import type { StandardSchemaV1 } from '@standard-schema/spec';
import { Observable, type OperatorFunction } from 'rxjs';
import { InvalidArgumentError, ValidationError } from '../errors.js';
import type { TokenEvent, Usage } from '../events.js';
import { describeValue } from '../internal/describe.js';
import { PartialJsonParser } from '../internal/partial-json.js';
import { PartialText } from '../internal/partial-text.js';
import { isStandardSchema, validateWith, type JSONSchema7Like, type SchemaCheck } from '../schema.js';
import { isPlainObject } from '../validate.js';
import { readOptions } from './internal.js';
import { operate } from './operate.js';

/**
 * `T` with every property optional, all the way down: what a structured answer looks like while it
 * is still being written (arrays hold the items so far, the last one possibly partial itself).
 */
export type DeepPartial<T> = T extends (...args: never[]) => unknown
  ? T
  : T extends ReadonlyArray<infer Item>
    ? Array<DeepPartial<Item>>
    : T extends object
      ? { [Key in keyof T]?: DeepPartial<T[Key]> }
      : T;

/** Options for {@link partialObject} and `object()`. */
export interface PartialObjectOptions<Output = unknown> {
  /**
   * Validates the complete answer: a Standard Schema (zod, valibot, arktype…; its `validate`, which
   * may transform the value) or a plain JSON Schema (the built-in check of `type`, `enum`, `const`,
   * `properties`, `required`, `additionalProperties: false` and `items`). Usually the same schema as
   * `request.output.schema`. @defaultValue none: the final value is whatever `JSON.parse` gives
   */
  schema?: JSONSchema7Like | StandardSchemaV1<unknown, Output>;
}

/**
 * Emits the object of a structured answer (`request.output`) as it streams: after each token that
 * changes it, the value parsed from the answer text so far; at `done`, the complete answer parsed
 * with `JSON.parse` and validated against `options.schema`, as its last emission (always emitted,
 * so `last()` gives it; a Standard Schema may have transformed it). After a `reset` (a retry started
 * the answer over) or a tool loop's next `step-start`, emits `undefined` once, so a view clears what
 * it showed.
 *
 *   source:          --tok('{"a":')--tok('"h')--tok('i"}')--usage--done--|
 *   partialObject(): ----{}-----------{a:"h"}---{a:"hi"}------------{a:"hi"}|
 *
 * Partial values never show what the final answer will not hold: numbers appear once complete,
 * strings grow, arrays and objects gain entries. Errors with {@link ValidationError} (carrying the
 * raw `text`, `issues`, the usage) when the answer is not JSON, does not match the schema, was
 * refused (`failure: 'refusal'`) or was cut by `maxTokens` (`failure: 'max_tokens'`). A source that
 * completes without `done` completes without a final value.
 *
 * @example
 * const Recipe = z.object({ title: z.string(), steps: z.array(z.string()) });
 * llm.stream({ model, messages, output: { schema: Recipe } })
 *   .pipe(partialObject({ schema: Recipe }))
 *   .subscribe((recipe) => render(recipe ?? {}));
 *
 * @param options - `schema`, to validate the complete answer
 * @returns an operator emitting the partial object (`undefined` to clear), then the validated one
 * @throws InvalidArgumentError for options that are not `{ schema? }`
 */
export function partialObject<Output = unknown>(options?: PartialObjectOptions<Output>): OperatorFunction<TokenEvent, DeepPartial<Output> | undefined> {
  const schema = readSchemaOption(options, 'partialObject');
  return structuredAnswer(schema, true) as OperatorFunction<TokenEvent, DeepPartial<Output> | undefined>;
}

/** Reads `{ schema? }` for {@link partialObject} and `object()`. */
export function readSchemaOption(options: unknown, name: string): JSONSchema7Like | StandardSchemaV1 | undefined {
  const o = readOptions(options, name, ['schema']);
  const schema = o.schema;
  if (schema === undefined || isStandardSchema(schema) || isPlainObject(schema)) return schema;
  throw new InvalidArgumentError(`${name}() options.schema`, `${name}() options.schema must be a Standard Schema (zod, valibot, arktype) or a JSON Schema object, got ${describeValue(schema)}.`);
}

/**
 * The operator behind {@link partialObject} (`partials: true`) and `object()` (`partials: false`):
 * folds the answer text, and at `done` reads, validates and emits the final value.
 */
export function structuredAnswer(schema: JSONSchema7Like | StandardSchemaV1 | undefined, partials: boolean): OperatorFunction<TokenEvent, unknown> {
  return (source) =>
    new Observable<unknown>((subscriber) => {
      const answer = new PartialText();
      /** Reads the answer incrementally (each token once); a new answer gets a new one. */
      let parser = new PartialJsonParser();
      /** A partial value has been emitted since the answer (re)started. */
      let shown = false;
      let usage: Usage | undefined;
      /** Set once `done` came and its value is being validated asynchronously. */
      let pending: Promise<void> | undefined;
      const clear = (): void => {
        answer.clear();
        parser = new PartialJsonParser();
        if (partials && shown) {
          shown = false;
          subscriber.next(undefined);
        }
      };
      operate(source, subscriber, {
        next: (event) => {
          switch (event.type) {
            case 'token': {
              // A token after `done` breaks the stream's contract; the answer was read already.
              if (parser.finished || !answer.add(event)) return;
              // The parser says whether the value changed: no re-parse, no comparison of the whole value.
              if (!parser.push(event.text) || !partials) return;
              const value = parser.value;
              if (value === undefined) return;
              shown = true;
              subscriber.next(value);
              return;
            }
            case 'reset':
            case 'step-start':
              // A retry starts the answer over; a tool loop's next step writes a new answer.
              clear();
              return;
            case 'usage':
              usage = event.usage;
              return;
            case 'done': {
              const context = { text: answer.text, partialText: answer.text, ...(usage ? { usage } : {}) };
              const check = finalValue(answer.text, parser, event.stopReason, event.refusal, schema, context);
              if (!isThenable(check)) {
                subscriber.next(settle(check, context));
                return;
              }
              pending = Promise.resolve(check)
                .then((result) => settle(result, context))
                .then(
                  (value) => subscriber.next(value),
                  (error: unknown) => subscriber.error(error),
                );
              return;
            }
            default:
              return;
          }
        },
        complete: () => {
          if (!pending) subscriber.complete();
          else void pending.then(() => subscriber.complete());
        },
      });
    });
}

/** What the failed checks hold for the error. */
interface AnswerContext {
  text: string;
  partialText: string;
  usage?: Usage;
}

/** Reads the complete answer: throws for a refusal, a cut or non-JSON text; the schema's check otherwise. */
function finalValue(
  text: string,
  parser: PartialJsonParser,
  stopReason: string,
  refusal: string | undefined,
  schema: JSONSchema7Like | StandardSchemaV1 | undefined,
  context: AnswerContext,
): SchemaCheck | PromiseLike<SchemaCheck> {
  if (stopReason === 'refusal' || refusal !== undefined) {
    const why = refusal ?? 'the provider sent no explanation';
    throw new ValidationError(`The model refused to answer, so there is no object to read: ${why}`, { ...context, issues: [why], failure: 'refusal' });
  }
  if (stopReason === 'max_tokens') {
    throw new ValidationError(
      `The structured answer was cut by the output budget (stopReason 'max_tokens') after ${text.length} characters, before its JSON was complete: raise request.maxTokens (or ask for less).`,
      { ...context, issues: [`the answer was cut after ${text.length} characters`], failure: 'max_tokens' },
    );
  }
  // The parser's final value equals JSON.parse of the text; its error says where and what was expected.
  const parsed = parser.finish();
  if (!parsed.ok) {
    const issue = text.trim() === '' ? 'the answer is empty' : parsed.error;
    throw new ValidationError(
      `The answer is not JSON (${issue}): ask for it with request.output so the provider constrains it; the raw text is on error.text.`,
      { ...context, issues: [issue], failure: 'invalid-json' },
    );
  }
  if (schema === undefined) return { ok: true, value: parsed.value };
  return validateWith(schema, parsed.value);
}

/** The validated value, or the mismatch as a {@link ValidationError}. */
function settle(check: SchemaCheck, context: AnswerContext): unknown {
  if (check.ok) return check.value;
  throw new ValidationError(`The answer does not match the output schema: ${check.issues.join('; ')}`, {
    ...context,
    issues: check.issues,
    failure: 'schema-mismatch',
  });
}

function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}
