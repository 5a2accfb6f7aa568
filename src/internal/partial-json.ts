/**
 * Reading JSON that is still being written (a tool call's arguments, a structured answer), for the
 * operators that show it as it grows (`toolInputs()`, `partialObject()`).
 *
 * An incremental parser: each `push` reads only the new text (re-parsing the whole text after every
 * fragment made a 20 KB input in 4-character fragments cost seconds). It is an explicit state
 * machine with a stack of open containers and no recursion, so a hostile `[[[[…` only grows the
 * stack array, never the call stack.
 *
 * What a partial value shows, so that every partial value is a prefix of the final one (its strings
 * are prefixes of the final strings, its arrays and objects hold a prefix of the final entries, the
 * last possibly partial itself):
 * - arrays and objects as soon as they open; an object's key once its value has started;
 * - strings from their opening quote, growing; an escape only once complete (`\u00e` is held back),
 *   and a high surrogate at the end is held back until the next code unit shows whether it is a
 *   pair (a view never renders half an emoji; a lone one is kept at the string's end, as
 *   `JSON.parse` keeps it);
 * - numbers only once complete (`1` of `12` would be a value the final answer never had): ended by
 *   `,` `]` `}` or whitespace, or by {@link PartialJsonParser.finish} for a number alone;
 * - `true`, `false`, `null` once complete (`t` of `tru}` is not `true`).
 *
 * The grammar is `JSON.parse`'s exactly (RFC 8259): only space, tab, CR and LF are whitespace, so a
 * byte order mark is an error (as in `JSON.parse`; a `TextDecoder` strips it from bytes), raw control
 * characters in strings are errors, `__proto__` becomes an own property and a repeated key's last
 * value wins.
 */

/** What {@link PartialJsonParser.finish} says: the complete value, or why the text is not JSON. */
export type JsonParseResult = { ok: true; value: unknown } | { ok: false; error: string };

const Mode = {
  /** A value must come (after `:`, after `,` in an array, at the start). */
  Value: 0,
  /** After `[`: a value or `]`. */
  ArrayFirst: 1,
  /** After `{`: a key or `}`. */
  ObjectFirst: 2,
  /** After `,` in an object: a key. */
  ObjectKey: 3,
  /** After a key: `:`. */
  Colon: 4,
  /** After a value inside a container: `,` or its closing bracket. */
  AfterValue: 5,
  String: 6,
  Escape: 7,
  Unicode: 8,
  Number: 9,
  Literal: 10,
  /** The top-level value is complete: only whitespace may follow. */
  Done: 11,
  Error: 12,
} as const;
type Mode = (typeof Mode)[keyof typeof Mode];

/** Where a number is in `-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?`. */
const Num = {
  Start: 0,
  Minus: 1,
  Zero: 2,
  Int: 3,
  Dot: 4,
  Fraction: 5,
  Exponent: 6,
  ExponentSign: 7,
  ExponentDigits: 8,
} as const;
type Num = (typeof Num)[keyof typeof Num];

interface Frame {
  readonly array: boolean;
  /** The container as last set in its parent (or as the root). */
  container: unknown[] | Record<string, unknown>;
  /**
   * The snapshot generation in which `container` was created: when it is the current one, no
   * snapshot handed out holds it yet, so it may be changed in place; otherwise it is copied first.
   */
  generation: number;
  /** In an object, the key whose value is being read. */
  key: string;
}

const LITERALS = { t: ['true', true], f: ['false', false], n: ['null', null] } as const;

/**
 * An incremental JSON parser: feed it text with {@link push}, read the partial value with
 * {@link value}, end with {@link finish}.
 *
 * Snapshots share structure: a push that changes the value copies only the containers on the path
 * from the root to the change (shallowly); every other subtree keeps its identity, and a snapshot
 * handed out is never changed afterwards (treat it as read-only). A change deep in a wide container
 * therefore costs that container's width, once per snapshot read.
 *
 * @example
 * const parser = new PartialJsonParser();
 * parser.push('{"city": "Lis');   // true
 * parser.value;                   // { city: 'Lis' }
 * parser.push('bon"}');           // true
 * parser.finish();                // { ok: true, value: { city: 'Lisbon' } }
 */
export class PartialJsonParser {
  #mode: Mode = Mode.Value;
  #stack: Frame[] = [];
  #root: unknown = undefined;
  #generation = 0;
  /** Something changed since the last snapshot was read. */
  #dirty = false;
  /** Something changed during the current push. */
  #changed = false;
  #error: string | undefined;
  #result: JsonParseResult | undefined;

  /** Characters read before the current chunk, and where the current line starts (for messages). */
  #offset = 0;
  #line = 1;
  #lineStart = 0;

  // The token being read.
  #inKey = false;
  #key = '';
  #string = '';
  /** A high surrogate at the end of a value string, held back until the next code unit. */
  #held = '';
  /** The value string grew beyond what the value shows. */
  #stringPending = false;
  #unicodeDigits = 0;
  #unicodeCode = 0;
  #numberState: Num = Num.Start;
  #numberText = '';
  #literal = '';
  #literalValue: boolean | null = null;
  #literalMatched = 0;

  /**
   * Reads the next piece of the text. Never throws for bad JSON: text that can never be JSON puts
   * the parser in an error state ({@link error}) in which it ignores the rest.
   *
   * @param chunk - the next characters of the JSON text
   * @returns `true` when the partial value changed
   * @throws Error when called after {@link finish}
   */
  push(chunk: string): boolean {
    if (typeof chunk !== 'string') throw new TypeError(`PartialJsonParser.push(chunk): chunk must be a string, got ${typeof chunk}.`);
    if (this.#result) throw new Error('PartialJsonParser.push() after finish(): create a new parser for a new text.');
    this.#changed = false;
    const n = chunk.length;
    let i = 0;
    /** Where the number being read starts in this chunk. */
    let numberStart = 0;
    while (i < n) {
      switch (this.#mode) {
        case Mode.String: {
          const start = i;
          let c = 0;
          while (i < n) {
            c = chunk.charCodeAt(i);
            if (c === 34 || c === 92 || c < 32) break;
            i++;
          }
          if (i > start) this.#appendText(chunk.slice(start, i));
          if (i === n) break;
          if (c === 34) {
            i++;
            this.#endString();
          } else if (c === 92) {
            i++;
            this.#mode = Mode.Escape;
          } else {
            this.#fail(i, `a raw control character (U+${c.toString(16).padStart(4, '0').toUpperCase()}) inside a string; JSON needs it escaped`);
          }
          break;
        }
        case Mode.Escape: {
          const c = chunk[i++];
          const text = c === '"' || c === '\\' || c === '/' ? c : c === 'b' ? '\b' : c === 'f' ? '\f' : c === 'n' ? '\n' : c === 'r' ? '\r' : c === 't' ? '\t' : undefined;
          if (c === 'u') {
            this.#unicodeDigits = 0;
            this.#unicodeCode = 0;
            this.#mode = Mode.Unicode;
          } else if (text === undefined) {
            this.#fail(i - 1, `an invalid escape '\\${c ?? ''}': expected one of \\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX`);
          } else {
            this.#appendText(text);
            this.#mode = Mode.String;
          }
          break;
        }
        case Mode.Unicode: {
          const digit = hexValue(chunk.charCodeAt(i));
          if (digit < 0) {
            this.#fail(i, `${show(chunk[i])} in a \\u escape: expected 4 hex digits`);
            break;
          }
          i++;
          this.#unicodeCode = this.#unicodeCode * 16 + digit;
          if (++this.#unicodeDigits === 4) {
            this.#appendText(String.fromCharCode(this.#unicodeCode));
            this.#mode = Mode.String;
          }
          break;
        }
        case Mode.Number: {
          let state = this.#numberState;
          let ended = false;
          while (i < n && !ended) {
            const c = chunk.charCodeAt(i);
            const isDigit = c >= 48 && c <= 57;
            switch (state) {
              case Num.Start:
                if (c === 45) state = Num.Minus;
                else if (c === 48) state = Num.Zero;
                else if (isDigit) state = Num.Int;
                else ended = true;
                break;
              case Num.Minus:
                if (c === 48) state = Num.Zero;
                else if (isDigit) state = Num.Int;
                else ended = true;
                break;
              case Num.Zero:
                if (c === 46) state = Num.Dot;
                else if (c === 101 || c === 69) state = Num.Exponent;
                else ended = true;
                break;
              case Num.Int:
                if (isDigit) break;
                if (c === 46) state = Num.Dot;
                else if (c === 101 || c === 69) state = Num.Exponent;
                else ended = true;
                break;
              case Num.Dot:
                if (isDigit) state = Num.Fraction;
                else ended = true;
                break;
              case Num.Fraction:
                if (isDigit) break;
                if (c === 101 || c === 69) state = Num.Exponent;
                else ended = true;
                break;
              case Num.Exponent:
                if (c === 43 || c === 45) state = Num.ExponentSign;
                else if (isDigit) state = Num.ExponentDigits;
                else ended = true;
                break;
              case Num.ExponentSign:
                if (isDigit) state = Num.ExponentDigits;
                else ended = true;
                break;
              case Num.ExponentDigits:
                if (!isDigit) ended = true;
                break;
            }
            if (!ended) i++;
          }
          this.#numberState = state;
          if (!ended) {
            this.#numberText += chunk.slice(numberStart, n);
            break;
          }
          // The character at `i` is not part of the number: it ends it, and is read again below.
          if (!numberComplete(state)) {
            this.#fail(i, `${show(chunk[i])} in a number: expected ${numberExpectation(state)}`);
            break;
          }
          const text = this.#numberText + chunk.slice(numberStart, i);
          this.#numberText = '';
          this.#setChild(Number(text), false);
          this.#afterValue();
          break;
        }
        case Mode.Literal: {
          const c = chunk[i];
          if (c !== this.#literal[this.#literalMatched]) {
            this.#fail(i, `${show(c)}: expected '${this.#literal}'`);
            break;
          }
          i++;
          if (++this.#literalMatched === this.#literal.length) {
            this.#setChild(this.#literalValue, false);
            this.#afterValue();
          }
          break;
        }
        case Mode.Error:
          i = n;
          break;
        default: {
          const c = chunk.charCodeAt(i);
          if (c === 32 || c === 9 || c === 13) {
            i++;
            break;
          }
          if (c === 10) {
            i++;
            this.#line++;
            this.#lineStart = this.#offset + i;
            break;
          }
          const next = this.#structural(c, chunk, i);
          if (next < 0) {
            i = n;
            break;
          }
          if ((this.#mode as Mode) === Mode.Number) numberStart = i;
          i = next;
        }
      }
    }
    this.#offset += n;
    if (this.#stringPending) {
      this.#stringPending = false;
      // After an error the value stays as it was: what follows the error is not JSON.
      if (this.#mode !== Mode.Error) this.#setChild(this.#string, true);
    }
    return this.#changed;
  }

  /**
   * The value read so far: `undefined` until a value has started (or while a lone top-level number
   * is still open). The same object as last time when nothing changed; after a change, a new root
   * sharing every unchanged subtree with the previous one.
   */
  get value(): unknown {
    if (this.#dirty) {
      // What was handed out is now shared: the next change copies before it writes.
      this.#generation++;
      this.#dirty = false;
    }
    return this.#root;
  }

  /** The complete top-level value has been read (its closing bracket or quote; a number needs {@link finish}). */
  get done(): boolean {
    return this.#mode === Mode.Done;
  }

  /** {@link finish} was called: no more text may be pushed. */
  get finished(): boolean {
    return this.#result !== undefined;
  }

  /** Why the text so far can never be JSON (position and what was expected), or `undefined`. */
  get error(): string | undefined {
    return this.#error;
  }

  /**
   * The text is complete: the final value, equal to `JSON.parse` of the whole text, or why it is not
   * JSON. May be called again (same answer); no push may follow.
   *
   * @returns `{ ok: true, value }` or `{ ok: false, error }`
   */
  finish(): JsonParseResult {
    if (this.#result) return this.#result;
    if (this.#mode === Mode.Number && numberComplete(this.#numberState) && this.#stack.length === 0) {
      this.#setChild(Number(this.#numberText), false);
      this.#numberText = '';
      this.#mode = Mode.Done;
    }
    if (this.#mode === Mode.Done) {
      this.#result = { ok: true, value: this.value };
    } else {
      if (this.#error === undefined) {
        const where = `at position ${this.#offset} (line ${this.#line}, column ${this.#offset - this.#lineStart + 1})`;
        this.#error =
          this.#root === undefined && this.#mode === Mode.Value
            ? `the text ends ${where} before any JSON value`
            : `the text ends early ${where}: ${this.#pending()}`;
        this.#mode = Mode.Error;
      }
      this.#result = { ok: false, error: this.#error };
    }
    return this.#result;
  }

  /** Reads a character outside strings, numbers and literals; returns the next index, or -1 on error. */
  #structural(c: number, chunk: string, i: number): number {
    const mode = this.#mode;
    if (mode === Mode.Done) return this.#fail(i, `${show(chunk[i])} after the complete JSON value: only whitespace may follow it`);
    if (mode === Mode.Colon) {
      if (c === 58) {
        this.#mode = Mode.Value;
        return i + 1;
      }
      return this.#fail(i, `${show(chunk[i])}: expected ':' after the key "${truncate(this.#key)}"`);
    }
    if (mode === Mode.AfterValue) {
      const top = this.#stack[this.#stack.length - 1];
      if (top === undefined) return this.#fail(i, 'an internal state with no open container');
      if (c === 44) {
        this.#mode = top.array ? Mode.Value : Mode.ObjectKey;
        return i + 1;
      }
      if ((c === 93 && top.array) || (c === 125 && !top.array)) {
        this.#close();
        return i + 1;
      }
      return this.#fail(i, `${show(chunk[i])}: expected ',' or '${top.array ? ']' : '}'}' after ${top.array ? 'an array element' : 'an object member'}`);
    }
    if (mode === Mode.ObjectFirst || mode === Mode.ObjectKey) {
      if (c === 34) {
        this.#inKey = true;
        this.#key = '';
        this.#mode = Mode.String;
        return i + 1;
      }
      if (c === 125 && mode === Mode.ObjectFirst) {
        this.#close();
        return i + 1;
      }
      const hint = mode === Mode.ObjectFirst ? " or '}'" : c === 125 ? ' (JSON allows no trailing comma)' : '';
      return this.#fail(i, `${show(chunk[i])}: expected a string key${hint}`);
    }
    // Mode.Value or Mode.ArrayFirst: a value starts.
    if (c === 93 && mode === Mode.ArrayFirst) {
      this.#close();
      return i + 1;
    }
    if (c === 34) {
      this.#inKey = false;
      this.#string = '';
      this.#held = '';
      this.#setChild('', false);
      this.#mode = Mode.String;
      return i + 1;
    }
    if (c === 123 || c === 91) {
      this.#open(c === 91);
      return i + 1;
    }
    if (c === 45 || (c >= 48 && c <= 57)) {
      this.#mode = Mode.Number;
      this.#numberState = Num.Start;
      this.#numberText = '';
      // The number state reads it from its first character.
      return i;
    }
    const literal = c === 116 ? LITERALS.t : c === 102 ? LITERALS.f : c === 110 ? LITERALS.n : undefined;
    if (literal) {
      this.#mode = Mode.Literal;
      this.#literal = literal[0];
      this.#literalValue = literal[1];
      this.#literalMatched = 1;
      // A one-letter literal does not exist: the next character decides.
      return i + 1;
    }
    const trailingComma = c === 93 && mode === Mode.Value && this.#stack[this.#stack.length - 1]?.array === true;
    return this.#fail(i, `${show(chunk[i])}: expected a JSON value (an object, array, string, number, true, false or null)${trailingComma ? ' (JSON allows no trailing comma)' : ''}`);
  }

  /** Adds text to the key or value string being read. */
  #appendText(text: string): void {
    if (this.#inKey) {
      this.#key += text;
      return;
    }
    let visible = this.#held === '' ? text : this.#held + text;
    this.#held = '';
    const last = visible.charCodeAt(visible.length - 1);
    if (last >= 0xd800 && last <= 0xdbff) {
      this.#held = visible.slice(-1);
      visible = visible.slice(0, -1);
    }
    if (visible !== '') {
      this.#string += visible;
      this.#stringPending = true;
    }
  }

  #endString(): void {
    if (this.#inKey) {
      this.#inKey = false;
      const top = this.#stack[this.#stack.length - 1];
      if (top) top.key = this.#key;
      this.#mode = Mode.Colon;
      return;
    }
    if (this.#held !== '') {
      // A lone high surrogate at the end: JSON.parse keeps it, so does the final value.
      this.#string += this.#held;
      this.#held = '';
    }
    this.#stringPending = false;
    this.#setChild(this.#string, true);
    this.#string = '';
    this.#afterValue();
  }

  #open(array: boolean): void {
    const parent = this.#stack[this.#stack.length - 1];
    if (parent && !parent.array && Object.hasOwn(parent.container, parent.key)) {
      // A repeated key whose last value is already an empty container of this kind: keep it, so
      // the snapshot does not change (and the push does not report a change) for an equal value.
      const previous = (parent.container as Record<string, unknown>)[parent.key];
      if (array ? Array.isArray(previous) && previous.length === 0 : isEmptyPlainObject(previous)) {
        this.#stack.push({ array, container: previous as unknown[] | Record<string, unknown>, generation: -1, key: '' });
        this.#mode = array ? Mode.ArrayFirst : Mode.ObjectFirst;
        return;
      }
    }
    const container: unknown[] | Record<string, unknown> = array ? [] : {};
    this.#setChild(container, false);
    this.#stack.push({ array, container, generation: this.#generation, key: '' });
    this.#mode = array ? Mode.ArrayFirst : Mode.ObjectFirst;
  }

  #close(): void {
    this.#stack.pop();
    this.#afterValue();
  }

  #afterValue(): void {
    this.#mode = this.#stack.length === 0 ? Mode.Done : Mode.AfterValue;
  }

  /**
   * Sets the value being read: the root, the open array element, or the current key's value (the
   * key appears with it). Copies the path to it first when a snapshot holds it.
   */
  #setChild(value: unknown, replace: boolean): void {
    const top = this.#stack[this.#stack.length - 1];
    if (top === undefined) {
      if (Object.is(this.#root, value)) return;
      this.#root = value;
    } else if (top.array) {
      if (!replace) (this.#own() as unknown[]).push(value);
      else {
        const array = top.container as unknown[];
        if (Object.is(array[array.length - 1], value)) return;
        const owned = this.#own() as unknown[];
        owned[owned.length - 1] = value;
      }
    } else {
      const object = top.container as Record<string, unknown>;
      // A repeated key may get an equal value: no change then.
      if (Object.hasOwn(object, top.key) && Object.is(object[top.key], value)) return;
      defineEntry(this.#own() as Record<string, unknown>, top.key, value);
    }
    this.#changed = true;
    this.#dirty = true;
  }

  /**
   * The innermost open container, safe to change in place: the containers on the path that a
   * snapshot holds are copied (shallowly), outermost first, each set into its copied parent.
   */
  #own(): unknown[] | Record<string, unknown> {
    const stack = this.#stack;
    let j = stack.length - 1;
    const top = stack[j] as Frame;
    if (top.generation === this.#generation) return top.container;
    while (j >= 0 && (stack[j] as Frame).generation !== this.#generation) j--;
    for (let k = j + 1; k < stack.length; k++) {
      const frame = stack[k] as Frame;
      frame.container = frame.array ? (frame.container as unknown[]).slice() : { ...frame.container };
      frame.generation = this.#generation;
      const parent = stack[k - 1];
      if (parent === undefined) this.#root = frame.container;
      else if (parent.array) {
        const array = parent.container as unknown[];
        array[array.length - 1] = frame.container;
      } else defineEntry(parent.container as Record<string, unknown>, parent.key, frame.container);
    }
    return top.container;
  }

  /** What the unfinished text still needs, for the error of a text that ends early. */
  #pending(): string {
    const open = this.#stack.length;
    const containers = open === 0 ? '' : `; ${open} unclosed ${open === 1 ? 'array or object' : 'arrays or objects'}`;
    switch (this.#mode) {
      case Mode.String:
      case Mode.Escape:
      case Mode.Unicode:
        return `inside ${this.#inKey ? 'a key' : 'a string'}, expected its closing '"'${containers}`;
      case Mode.Number:
        return numberComplete(this.#numberState) ? `expected ',' or a closing bracket after the number${containers}` : `inside a number, expected ${numberExpectation(this.#numberState)}`;
      case Mode.Literal:
        return `inside '${this.#literal}'`;
      case Mode.Colon:
        return `expected ':' after the key "${truncate(this.#key)}"${containers}`;
      case Mode.ObjectFirst:
      case Mode.ObjectKey:
        return `expected a key${containers}`;
      case Mode.AfterValue:
        return `expected ',' or a closing bracket${containers}`;
      default:
        return `expected a value${containers}`;
    }
  }

  /** Enters the error state; returns -1 so the caller stops reading. */
  #fail(i: number, what: string): number {
    const offset = this.#offset + i;
    this.#error = `not valid JSON at position ${offset} (line ${this.#line}, column ${offset - this.#lineStart + 1}): ${what}`;
    this.#mode = Mode.Error;
    return -1;
  }
}

/** Sets `object[key]` as `JSON.parse` does: `__proto__` is an own property, not the prototype. */
function defineEntry(object: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(object, key, { value, writable: true, enumerable: true, configurable: true });
  else object[key] = value;
}

function isEmptyPlainObject(value: unknown): boolean {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  for (const key in value) if (Object.hasOwn(value, key)) return false;
  return true;
}

function numberComplete(state: Num): boolean {
  return state === Num.Zero || state === Num.Int || state === Num.Fraction || state === Num.ExponentDigits;
}

function numberExpectation(state: Num): string {
  switch (state) {
    case Num.Minus:
      return 'a digit after the minus sign';
    case Num.Dot:
      return 'a digit after the decimal point';
    case Num.Exponent:
      return "a digit or a sign after the exponent's 'e'";
    default:
      return 'a digit';
  }
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

function truncate(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

/** A character for a message: quoted, or as its code point when it would not show. */
function show(c: string | undefined): string {
  if (c === undefined) return 'the end';
  const code = c.charCodeAt(0);
  const invisible = code < 0x20 || (code >= 0x7f && code <= 0xa0) || code === 0xfeff || (code >= 0xd800 && code <= 0xdfff) || (code >= 0x2000 && code <= 0x200f) || code === 0x2028 || code === 0x2029;
  return invisible ? `U+${code.toString(16).toUpperCase().padStart(4, '0')}${code === 0xfeff ? ' (a byte order mark)' : ''}` : `'${c}'`;
}
