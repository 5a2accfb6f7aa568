import fc from 'fast-check';
import { Subject, firstValueFrom, of, type Observable } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ValidationError } from '../../src/errors.js';
import type { TokenEvent } from '../../src/events.js';
import { object } from '../../src/operators/object.js';
import { partialObject } from '../../src/operators/partialObject.js';
import { isPrefixConsistent } from '../helpers/json-prefix.js';
import { ev, testScheduler } from '../helpers/marbles.js';

const Person = z.object({ name: z.string(), age: z.number() });
const PERSON_JSON = { type: 'object', properties: { name: { type: 'string' }, age: { type: 'number' } }, required: ['name', 'age'] };

/** A stream answering `parts` as tokens, then usage and done. */
function answer(parts: string[], done: Partial<Extract<TokenEvent, { type: 'done' }>> = {}): TokenEvent[] {
  return [
    ev.start(),
    ...parts.map((text, i) => ev.tok(text, i)),
    ev.usage(parts.length),
    { type: 'done', stopReason: 'end', t: 0, ...done } as TokenEvent,
  ];
}

/** Every value the operator emitted, and how it ended. */
function outcome<T>(events: TokenEvent[], operator: (source: Observable<TokenEvent>) => Observable<T>): Promise<{ values: T[]; error: unknown }> {
  const values: T[] = [];
  return new Promise((resolve) => {
    operator(of(...events)).subscribe({
      next: (value) => values.push(value),
      error: (error: unknown) => resolve({ values, error }),
      complete: () => resolve({ values, error: undefined }),
    });
  });
}

describe('partialObject()', () => {
  it('emits the object as it grows, only when it changes, then the validated value (marbles)', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const source = cold('-s-a-b-c-d-u-e|', {
        s: ev.start(),
        a: ev.tok('{"name":', 0),
        b: ev.tok('"Al', 1),
        c: ev.tok('', 2),
        d: ev.tok('ice","age":42}', 3),
        u: ev.usage(4),
        e: ev.done(),
      });
      expectObservable(source.pipe(partialObject({ schema: Person }))).toBe('---x-y---z---f|', {
        x: {},
        y: { name: 'Al' },
        z: { name: 'Alice', age: 42 },
        f: { name: 'Alice', age: 42 },
      });
    });
  });

  it('emits undefined after a reset so a view clears, then starts over (marbles)', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const source = cold('-a-r-r-b-e|', {
        a: ev.tok('{"name":"Bo', 0),
        r: ev.reset(),
        b: ev.tok('{"name":"Cy","age":1}', 0),
        e: ev.done(),
      });
      // The second reset shows nothing new: there is nothing to clear.
      expectObservable(source.pipe(partialObject())).toBe('-x-u---y-f|', {
        x: { name: 'Bo' },
        u: undefined,
        y: { name: 'Cy', age: 1 },
        f: { name: 'Cy', age: 1 },
      });
    });
  });

  it("clears at a tool loop's next step, whose answer is the object", async () => {
    const events: TokenEvent[] = [
      { type: 'step-start', step: 0, t: 0 },
      ev.tok('{"name":"draft"', 0),
      { type: 'step-start', step: 1, t: 0 },
      ev.tok('{"name":"Ann","age":3}', 0),
      ev.done(),
    ];
    const { values, error } = await outcome(events, (s) => s.pipe(partialObject({ schema: Person })));
    expect(error).toBeUndefined();
    expect(values).toEqual([{ name: 'draft' }, undefined, { name: 'Ann', age: 3 }, { name: 'Ann', age: 3 }]);
  });

  it('unsubscribing stops listening to the source (marbles)', () => {
    testScheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
      const source = hot('-a-b-c-e|', { a: ev.tok('{', 0), b: ev.tok('"name":"x', 1), c: ev.tok('y"}', 2), e: ev.done() });
      expectObservable(source.pipe(partialObject()), '^---!').toBe('-x-y', { x: {}, y: { name: 'x' } });
      expectSubscriptions(source.subscriptions).toBe('^---!');
    });
  });

  it('an unchanged part of the object is the same object in the next emission, and an emitted value never changes', async () => {
    const { values } = await outcome(answer(['{"meta": {"n": 1}, "items": ["a"', ', "b"', ']}']), (s) => s.pipe(partialObject()));
    const [first, second] = values as Array<{ meta: object; items: string[] }>;
    expect(second).toEqual({ meta: { n: 1 }, items: ['a', 'b'] });
    expect(second?.meta).toBe(first?.meta);
    expect(first).toEqual({ meta: { n: 1 }, items: ['a'] });
  });

  it('the final value is what a Standard Schema made of it (a transform)', async () => {
    const Upper = z.object({ name: z.string().transform((s) => s.toUpperCase()) });
    const { values } = await outcome(answer(['{"name":"ab"}']), (s) => s.pipe(partialObject({ schema: Upper })));
    expect(values.at(-1)).toEqual({ name: 'AB' });
    expect(values.at(-2)).toEqual({ name: 'ab' });
  });

  it('an async Standard Schema is awaited before the stream completes', async () => {
    const Slow = z.object({ n: z.number() }).refine(async (v) => v.n > 0, 'n must be positive');
    const ok = await outcome(answer(['{"n":1}']), (s) => s.pipe(object({ schema: Slow })));
    expect(ok).toEqual({ values: [{ n: 1 }], error: undefined });
    const bad = await outcome(answer(['{"n":-1}']), (s) => s.pipe(object({ schema: Slow })));
    expect(ValidationError.isInstance(bad.error)).toBe(true);
    expect((bad.error as ValidationError).issues).toEqual(['n must be positive']);
  });

  it('a schema mismatch (zod) errors with the raw text, the issues and the usage', async () => {
    const { values, error } = await outcome(answer(['{"name":"Al",', '"age":"old"}']), (s) => s.pipe(partialObject({ schema: Person })));
    expect(values.length).toBeGreaterThan(0);
    expect(ValidationError.isInstance(error)).toBe(true);
    const e = error as ValidationError;
    expect(e.failure).toBe('schema-mismatch');
    expect(e.text).toBe('{"name":"Al","age":"old"}');
    expect(e.partialText).toBe(e.text);
    expect(e.issues).toHaveLength(1);
    expect(e.issues[0]).toMatch(/^age: /);
    expect(e.message).toMatch(/^The answer does not match the output schema: age: /);
    expect(e.usage).toEqual({ inputTokens: 7, outputTokens: 2, estimated: false });
  });

  it('a schema mismatch (plain JSON Schema) names the field and the types', async () => {
    const { error } = await outcome(answer(['{"name":"Al","age":"old"}']), (s) => s.pipe(partialObject({ schema: PERSON_JSON })));
    const e = error as ValidationError;
    expect(e.failure).toBe('schema-mismatch');
    expect(e.message).toBe('The answer does not match the output schema: age: expected number, got string');
    expect(e.text).toBe('{"name":"Al","age":"old"}');
  });

  it('a plain JSON Schema that matches gives the parsed value', async () => {
    const { values, error } = await outcome(answer(['{"name":"Al","age":1}']), (s) => s.pipe(object({ schema: PERSON_JSON })));
    expect(error).toBeUndefined();
    expect(values).toEqual([{ name: 'Al', age: 1 }]);
  });

  it('text that is not JSON errors with invalid-json and the raw text', async () => {
    const { error } = await outcome(answer(['Sure! Here is ', '{"name":1}']), (s) => s.pipe(partialObject()));
    const e = error as ValidationError;
    expect(ValidationError.isInstance(e)).toBe(true);
    expect(e.failure).toBe('invalid-json');
    expect(e.text).toBe('Sure! Here is {"name":1}');
    expect(e.message).toMatch(/^The answer is not JSON/);
  });

  it('an empty answer says so', async () => {
    const { error } = await outcome(answer([]), (s) => s.pipe(object()));
    expect((error as ValidationError).issues).toEqual(['the answer is empty']);
  });

  it('a refusal errors with the refusal, not a parse error', async () => {
    const { error } = await outcome(answer([], { stopReason: 'refusal', refusal: "I can't help with that." }), (s) => s.pipe(partialObject({ schema: Person })));
    const e = error as ValidationError;
    expect(e.failure).toBe('refusal');
    expect(e.message).toBe("The model refused to answer, so there is no object to read: I can't help with that.");
  });

  it('max_tokens errors saying the answer was cut, with the partial text', async () => {
    const { values, error } = await outcome(answer(['{"name":"Al'], { stopReason: 'max_tokens' }), (s) => s.pipe(partialObject({ schema: Person })));
    expect(values).toEqual([{ name: 'Al' }]);
    const e = error as ValidationError;
    expect(e.failure).toBe('max_tokens');
    expect(e.message).toMatch(/cut by the output budget.*raise request\.maxTokens/);
    expect(e.text).toBe('{"name":"Al');
  });

  it('a source that completes without done completes without a final value', async () => {
    const { values, error } = await outcome([ev.tok('{"a":1}', 0)], (s) => s.pipe(partialObject()));
    expect(error).toBeUndefined();
    expect(values).toEqual([{ a: 1 }]);
  });

  it('unsubscribing while an async validation runs emits nothing more', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const Gated = z.object({ a: z.number() }).refine(async () => (await gate, true));
    const source = new Subject<TokenEvent>();
    const seen: unknown[] = [];
    const subscription = source.pipe(object({ schema: Gated })).subscribe({ next: (v) => seen.push(v), error: (e) => seen.push(e), complete: () => seen.push('complete') });
    source.next(ev.tok('{"a":1}', 0));
    source.next(ev.done());
    source.complete();
    subscription.unsubscribe();
    release();
    await gate;
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen).toEqual([]);
  });

  it('property: any object split into any tokens gives prefix-consistent partials, then the validated value', async () => {
    const json = fc.jsonValue({ maxDepth: 3 }).filter((v) => v !== null && typeof v === 'object' && !Array.isArray(v));
    await fc.assert(
      fc.asyncProperty(json, fc.array(fc.nat(), { maxLength: 12 }), fc.boolean(), async (value, cuts, pretty) => {
        const text = JSON.stringify(value, null, pretty ? 2 : undefined);
        const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
        const parts: string[] = [];
        let from = 0;
        for (const point of [...points, text.length]) {
          parts.push(text.slice(from, point));
          from = point;
        }
        const final = JSON.parse(text) as unknown;
        const { values, error } = await outcome(answer(parts.filter((p) => p !== '')), (s) => s.pipe(partialObject({ schema: { type: 'object' } })));
        expect(error).toBeUndefined();
        expect(values.at(-1)).toEqual(final);
        for (const partial of values) expect(isPrefixConsistent(partial, final)).toBe(true);
        // Only changes are emitted (the final value is always emitted, even when it equals the last partial).
        for (let i = 1; i < values.length - 1; i++) expect(values[i]).not.toEqual(values[i - 1]);
      }),
      { numRuns: 300 },
    );
  });
});

describe('object()', () => {
  it('emits only the validated value (marbles)', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const source = cold('-a-b-e|', { a: ev.tok('{"name":"Al",', 0), b: ev.tok('"age":2}', 1), e: ev.done() });
      expectObservable(source.pipe(object({ schema: Person }))).toBe('-----f|', { f: { name: 'Al', age: 2 } });
    });
  });

  it('bad options are an InvalidArgumentError naming the field', () => {
    expect(() => object({ schema: 5 as never })).toThrow(/object\(\) options\.schema must be a Standard Schema/);
    expect(() => partialObject({ shcema: {} } as never)).toThrow(/did you mean partialObject\(\) options\.schema/);
  });

  it('works with firstValueFrom on a plain stream', async () => {
    await expect(firstValueFrom(of(...answer(['{"name":"Z","age":0}'])).pipe(object({ schema: Person })))).resolves.toEqual({ name: 'Z', age: 0 });
  });
});
