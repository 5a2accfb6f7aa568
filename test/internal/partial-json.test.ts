/**
 * PartialJsonParser, the incremental parser behind toolInputs() and partialObject(): properties over
 * any JSON value written any way (random whitespace, escapes, number forms) and split any way, random
 * corruptions that JSON.parse refuses, hostile nesting, and the pinned details of what a partial
 * value shows.
 */
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PartialJsonParser, type JsonParseResult } from '../../src/internal/partial-json.js';
import { isPrefixConsistent } from '../helpers/json-prefix.js';

/** A small seeded generator, so one fast-check seed decides every choice of a serialization. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SPACES = ['', '', '', ' ', '\n', '\t', '\r\n', '  \n  '];
const SHORT_ESCAPES: Record<string, string> = { '"': '\\"', '\\': '\\\\', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * Writes `value` as JSON the way any writer might: random whitespace between tokens, characters
 * randomly written as `\uXXXX` (each half of a surrogate pair on its own, hex in either case) or
 * `\/`, numbers in exponent form with `e`/`E`. Recursive: the generated values are shallow.
 */
function write(value: unknown, next: () => number): string {
  const pick = <T,>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
  const space = (): string => pick(SPACES);
  const string = (s: string): string => {
    let out = '"';
    for (let i = 0; i < s.length; i++) {
      const c = s[i] as string;
      const code = s.charCodeAt(i);
      const short = SHORT_ESCAPES[c];
      if (short !== undefined && next() < 0.8) out += short;
      else if (code < 0x20 || c === '"' || c === '\\' || next() < 0.15) {
        const hex = code.toString(16).padStart(4, '0');
        out += `\\u${next() < 0.5 ? hex : hex.toUpperCase()}`;
      } else if (c === '/' && next() < 0.5) out += '\\/';
      else out += c;
    }
    return `${out}"`;
  };
  const number = (n: number): string => {
    if (next() < 0.3 && Number.isFinite(n) && !Object.is(n, -0)) {
      const exponent = n.toExponential();
      return next() < 0.5 ? exponent.replace('e', 'E') : exponent.replace('e+', 'e');
    }
    return JSON.stringify(n);
  };
  if (value === null || typeof value === 'boolean') return String(value);
  if (typeof value === 'number') return number(value);
  if (typeof value === 'string') return string(value);
  if (Array.isArray(value)) {
    if (value.length === 0) return `[${space()}]`;
    return `[${value.map((item) => `${space()}${write(item, next)}${space()}`).join(',')}]`;
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 0) return `{${space()}}`;
  return `{${entries.map(([key, item]) => `${space()}${string(key)}${space()}:${space()}${write(item, next)}${space()}`).join(',')}}`;
}

/** Cuts `text` at the given points (or at every character). */
function split(text: string, cuts: number[], byChar: boolean): string[] {
  const points = byChar ? Array.from({ length: Math.max(0, text.length - 1) }, (_, i) => i + 1) : [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
  const chunks: string[] = [];
  let at = 0;
  for (const p of [...points, text.length]) {
    chunks.push(text.slice(at, p));
    at = p;
  }
  return chunks;
}

const isContainer = (v: unknown): v is object => v !== null && typeof v === 'object';

/**
 * Structural sharing: every container of `next` that equals (deeply) the one at the same place in
 * `previous` is that very object. Returns the path of the first one that was copied needlessly.
 */
function needlessCopy(previous: unknown, next: unknown, path = '$'): string | undefined {
  if (!isContainer(previous) || !isContainer(next) || Array.isArray(previous) !== Array.isArray(next)) return undefined;
  if (isDeepStrictEqual(previous, next)) return previous === next ? undefined : path;
  for (const key of Object.keys(previous)) {
    if (!Object.hasOwn(next, key)) continue;
    const found = needlessCopy((previous as Record<string, unknown>)[key], (next as Record<string, unknown>)[key], `${path}.${key}`);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** Fails with `message` (plain checks in the per-chunk loop: `expect` there dominates the run time). */
function check(ok: boolean, message: () => string): void {
  if (!ok) throw new Error(message());
}

/** Feeds `chunks` and checks every snapshot against the final value and the one before it. */
function checkRun(text: string, chunks: string[]): void {
  const final = JSON.parse(text) as unknown;
  const parser = new PartialJsonParser();
  let previous: unknown = parser.value;
  /** Each snapshot read, with its JSON at the time: a later push must not change it. */
  const kept: Array<[unknown, string | undefined]> = [];
  const where = (chunk: string): string => `push(${JSON.stringify(chunk)}) of ${JSON.stringify(text)}`;
  for (const chunk of chunks) {
    const changed = parser.push(chunk);
    const value = parser.value;
    check(changed === !isDeepStrictEqual(previous, value), () => `${where(chunk)} returned ${changed}: ${JSON.stringify(previous)} -> ${JSON.stringify(value)}`);
    check(changed || value === previous, () => `${where(chunk)} changed nothing but gave a new snapshot`);
    check(isPrefixConsistent(value, final), () => `${where(chunk)}: ${JSON.stringify(value)} is not a prefix of the final value`);
    const copied = needlessCopy(previous, value);
    check(copied === undefined, () => `${where(chunk)} copied the unchanged ${copied ?? ''}`);
    check(parser.error === undefined, () => `${where(chunk)}: ${parser.error ?? ''}`);
    kept.push([value, JSON.stringify(value)]);
    previous = value;
  }
  const result = parser.finish();
  expect(result.ok).toBe(true);
  expect(isDeepStrictEqual((result as { value: unknown }).value, final), `${JSON.stringify(result)} vs ${text}`).toBe(true);
  expect(needlessCopy(previous, (result as { value: unknown }).value)).toBeUndefined();
  for (const [value, json] of kept) check(JSON.stringify(value) === json, () => `a kept snapshot changed: ${json} -> ${JSON.stringify(value)}`);
}

/** Runs a whole text through a parser in `chunks`; returns the result, and fails if a push threw. */
function parseAll(chunks: string[]): JsonParseResult {
  const parser = new PartialJsonParser();
  for (const chunk of chunks) parser.push(chunk);
  return parser.finish();
}

const anyJson = fc.jsonValue({ stringUnit: 'binary', maxDepth: 4 });
const unicodeText = fc.string({ unit: fc.constantFrom('a', 'é', '😀', '\ud83d', '\ude00', '"', '\\', '/', '\n', '\u0000', '\u2028', '𝄞', ' ') });

describe('PartialJsonParser: properties', () => {
  it('any JSON value, written any way and split any way: prefix-consistent snapshots, exact change reports, shared structure, final equals JSON.parse', () => {
    const value = fc.oneof(anyJson, unicodeText, fc.array(fc.oneof(unicodeText, fc.double(), fc.integer())), fc.dictionary(unicodeText, anyJson));
    fc.assert(
      fc.property(value, fc.integer(), fc.array(fc.nat(), { maxLength: 40 }), fc.boolean(), (v, seed, cuts, byChar) => {
        const next = random(seed);
        const text = `${SPACES[seed & 7] ?? ''}${write(v, next)}${SPACES[(seed >> 3) & 7] ?? ''}`;
        checkRun(text, split(text, cuts, byChar));
      }),
      { numRuns: 400 },
    );
  });

  it('text JSON.parse refuses (random corruptions of valid JSON): finish() reports an error, push never throws; text it accepts parses equal', () => {
    const insertable = ['{', '}', '[', ']', '"', ',', ':', '0', '1', '-', '.', 'e', '+', 't', 'n', 'f', '\\', 'u', 'x', ' ', '\n', '\ufeff', '\u0001', '\ud83d'];
    const mutation = fc.record({ kind: fc.constantFrom('delete', 'insert', 'replace', 'truncate', 'duplicate'), at: fc.nat(), char: fc.constantFrom(...insertable) });
    fc.assert(
      fc.property(anyJson, fc.integer(), fc.array(mutation, { minLength: 1, maxLength: 3 }), fc.array(fc.nat(), { maxLength: 20 }), fc.boolean(), (v, seed, mutations, cuts, byChar) => {
        let text = write(v, random(seed));
        for (const { kind, at, char } of mutations) {
          const p = at % (text.length + 1);
          if (kind === 'delete') text = text.slice(0, p) + text.slice(p + 1);
          else if (kind === 'insert') text = text.slice(0, p) + char + text.slice(p);
          else if (kind === 'replace') text = text.slice(0, p) + char + text.slice(p + 1);
          else if (kind === 'truncate') text = text.slice(0, p);
          else text = text.slice(0, p) + text.slice(p, p + 3) + text.slice(p);
        }
        let expected: { ok: true; value: unknown } | { ok: false };
        try {
          expected = { ok: true, value: JSON.parse(text) as unknown };
        } catch {
          expected = { ok: false };
        }
        const result = parseAll(split(text, cuts, byChar));
        expect(result.ok, `${JSON.stringify(text)}: ${JSON.stringify(result)}`).toBe(expected.ok);
        if (result.ok && expected.ok) expect(isDeepStrictEqual(result.value, expected.value)).toBe(true);
        if (!result.ok) expect(result.error).toMatch(/position \d+ \(line \d+, column \d+\)/);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('PartialJsonParser: what a partial value shows', () => {
  /** The snapshots after each chunk (only those that changed). */
  const snapshots = (...chunks: string[]): unknown[] => {
    const parser = new PartialJsonParser();
    const seen: unknown[] = [];
    for (const chunk of chunks) if (parser.push(chunk)) seen.push(parser.value);
    return seen;
  };

  it('containers as soon as they open; a key once its value starts', () => {
    expect(snapshots('{', '"ke', 'y"', ':', ' ', '[', '"', 'v')).toEqual([{}, { key: [] }, { key: [''] }, { key: ['v'] }]);
  });

  it('numbers only once complete: ended by a delimiter or whitespace, a lone number by finish()', () => {
    expect(snapshots('[1', '2', '.', '5', 'e', '-', '3', ',', '-', '0', ']')).toEqual([[], [12.5e-3], [12.5e-3, -0]]);
    const lone = new PartialJsonParser();
    expect(lone.push('42')).toBe(false);
    expect(lone.value).toBeUndefined();
    expect(lone.finish()).toEqual({ ok: true, value: 42 });
    expect(snapshots('42', ' ')).toEqual([42]);
  });

  it('true, false and null once complete', () => {
    expect(snapshots('[t', 'ru', 'e', ',n', 'ull,', 'fals', 'e]')).toEqual([[], [true], [true, null], [true, null, false]]);
  });

  it('holds back an incomplete escape, and a high surrogate until its pair (or the closing quote) comes', () => {
    expect(snapshots('"a\\', 'u00', 'e9', '\\ud83d', '\\ude00', '\ud83d', '\ude00"')).toEqual(['a', 'aé', 'aé😀', 'aé😀😀']);
    // A lone high surrogate is kept at the end, as JSON.parse keeps it.
    const lone = new PartialJsonParser();
    lone.push('"x\\ud83d');
    expect(lone.value).toBe('x');
    lone.push('"');
    expect(lone.value).toBe('x\ud83d');
    expect(lone.finish()).toEqual({ ok: true, value: JSON.parse('"x\\ud83d"') });
  });

  it('__proto__ is an own property, as JSON.parse makes it; a repeated key keeps its place and its last value', () => {
    const parser = new PartialJsonParser();
    parser.push('{"__proto__": {"polluted": true}, "a": 1, "b": 2, "a": [');
    const partial = parser.value as Record<string, unknown>;
    expect(Object.getPrototypeOf(partial)).toBe(Object.prototype);
    expect(Object.hasOwn(partial, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.keys(partial)).toEqual(['__proto__', 'a', 'b']);
    expect(partial.a).toEqual([]);
    parser.push('3]}');
    const text = '{"__proto__": {"polluted": true}, "a": 1, "b": 2, "a": [3]}';
    const result = parser.finish();
    expect(isDeepStrictEqual(result, { ok: true, value: JSON.parse(text) })).toBe(true);
    // A repeated key given an equal value is no change.
    const same = new PartialJsonParser();
    same.push('{"a": [], "b": 1, "a": ');
    expect(same.push('[')).toBe(false);
    expect(same.push('], "b": 1}')).toBe(false);
    expect(same.finish()).toEqual({ ok: true, value: { a: [], b: 1 } });
  });

  it('keeps a snapshot it handed out unchanged, and an unchanged sibling by reference', () => {
    const parser = new PartialJsonParser();
    parser.push('{"done": {"x": [1, 2]}, "list": ["a"');
    const first = parser.value as { done: object; list: string[] };
    parser.push(', "b');
    const second = parser.value as { done: object; list: string[] };
    expect(first).toEqual({ done: { x: [1, 2] }, list: ['a'] });
    expect(second).toEqual({ done: { x: [1, 2] }, list: ['a', 'b'] });
    expect(second).not.toBe(first);
    expect(second.done).toBe(first.done);
    // Unread changes are made in place: no copy per push when nobody looks.
    parser.push('c');
    parser.push('d');
    const third = parser.value as { list: string[] };
    expect(third.list).toEqual(['a', 'bcd']);
    expect(second.list).toEqual(['a', 'b']);
  });

  it('reports text that can never be JSON from push (position and what was expected), keeps the last value, and never throws', () => {
    const parser = new PartialJsonParser();
    parser.push('{"a": "x"');
    const before = parser.value;
    expect(parser.push(',\n  "b": tru]')).toBe(false);
    expect(parser.error).toBe("not valid JSON at position 21 (line 2, column 11): ']': expected 'true'");
    expect(parser.push('}')).toBe(false);
    expect(parser.value).toBe(before);
    expect(parser.finish()).toEqual({ ok: false, error: parser.error });
  });

  it('names the problem of common mistakes', () => {
    const errorOf = (text: string): string => {
      const result = parseAll([text]);
      return result.ok ? 'ok' : result.error;
    };
    expect(errorOf('')).toBe('the text ends at position 0 (line 1, column 1) before any JSON value');
    expect(errorOf('{"a": 1,}')).toMatch(/position 8 .*expected a string key \(JSON allows no trailing comma\)/);
    expect(errorOf('[1,]')).toMatch(/position 3 .*expected a JSON value .*\(JSON allows no trailing comma\)/);
    expect(errorOf('{"a": }')).toMatch(/position 6 .*'}': expected a JSON value \(an object, array, string, number, true, false or null\)$/);
    expect(errorOf('[1, 2')).toMatch(/ends early at position 5 .*1 unclosed array or object/);
    expect(errorOf('{"a": "b')).toMatch(/inside a string, expected its closing '"'/);
    expect(errorOf('\ufeff{}')).toMatch(/position 0 .*U\+FEFF \(a byte order mark\)/);
    expect(errorOf('"a\tb"')).toMatch(/raw control character \(U\+0009\) inside a string/);
    expect(errorOf('01')).toMatch(/position 1 .*after the complete JSON value/);
    expect(errorOf('-')).toMatch(/inside a number, expected a digit after the minus sign/);
    expect(errorOf('"\\x"')).toMatch(/invalid escape '\\x'/);
    expect(errorOf('{"a" 1}')).toMatch(/expected ':' after the key "a"/);
  });

  it('refuses a push after finish(), and a chunk that is not a string', () => {
    const parser = new PartialJsonParser();
    expect(() => parser.push(5 as never)).toThrow(/chunk must be a string, got number/);
    parser.push('{}');
    expect(parser.done).toBe(true);
    parser.finish();
    expect(parser.finished).toBe(true);
    expect(() => parser.push(' ')).toThrow(/after finish\(\)/);
  });
});

describe('PartialJsonParser: hostile input', () => {
  const DEPTH = 100_000;

  it(`reads ${DEPTH.toLocaleString('en')} nested arrays without recursion`, () => {
    const parser = new PartialJsonParser();
    for (let i = 0; i < DEPTH; i += 1000) parser.push('['.repeat(1000));
    parser.value;
    for (let i = 0; i < DEPTH; i += 1000) parser.push(']'.repeat(1000));
    const result = parser.finish();
    expect(result.ok).toBe(true);
    let depth = 0;
    for (let v = (result as { value: unknown }).value; Array.isArray(v); v = v[0] as unknown) depth++;
    expect(depth).toBe(DEPTH);
  });

  it('reports deep unclosed nesting as an error, not a RangeError', () => {
    const result = parseAll(['{"a":'.repeat(DEPTH), '[']);
    expect(result).toEqual({ ok: false, error: expect.stringContaining(`${DEPTH + 1} unclosed arrays or objects`) as unknown });
  });
});
