import { Observable, type OperatorFunction } from 'rxjs';
import type { TokenEvent, ToolCallEvent } from '../events.js';
import { PartialJsonParser } from '../internal/partial-json.js';
import { operate } from './operate.js';

/**
 * One tool call's input as it streams in: what {@link toolInputs} emits for a call whenever its
 * parsed input (or its id, name, or completeness) changed.
 */
export interface ToolInput {
  type: 'tool-input';
  /** The tool-loop step the call belongs to; present only inside an Agent's tool loop. */
  step?: number;
  /** Which call of the answer (of the step, in a tool loop): the `index` of its `tool-call` events. */
  index: number;
  /** The provider's id for the call, once a fragment carried it. */
  id?: string;
  /** The tool's name, once a fragment carried it. */
  name?: string;
  /** The call's kind when it is not a function call (see `ToolCallEvent.kind`). */
  kind?: string;
  /**
   * The input parsed from the arguments so far: `undefined` until they hold a value. Every partial is
   * a prefix of the final input (strings grow, arrays and objects gain entries, numbers appear only
   * whole). Once `done` without `error`, it equals `JSON.parse(arguments)` (`{}` for empty
   * arguments, as `collect()` reads them). For a free-form `custom_tool_call` it is the raw text.
   */
  input: unknown;
  /** The raw arguments text so far. */
  arguments: string;
  /** The call's arguments are complete: this emission's `input` is the call's final input. */
  done: boolean;
  /**
   * Present when the complete arguments are not valid JSON (an answer cut by `max_tokens`, a
   * malformed call): why they did not parse. `input` then stays the last partial value. The stream
   * goes on: the tool loop reports such a call to the model as an error result.
   */
  error?: string;
}

/**
 * A `reset` (a mid-stream retry) discarded the calls shown so far: in a tool loop, those of `step`
 * only (earlier steps' calls ran and stay valid); otherwise every call. The retry's calls follow,
 * counted from index 0 again.
 */
export interface ToolInputsReset {
  type: 'reset';
  /** The step whose calls are discarded; present only inside a tool loop. */
  step?: number;
  /** The `reset` event's reason. */
  reason: string;
}

/** What {@link toolInputs} emits: a call's input so far, or a reset that clears what was shown. */
export type ToolInputUpdate = ToolInput | ToolInputsReset;

/** The one kind whose input is free-form text rather than JSON (the other kinds send JSON actions). */
const FREE_FORM_KIND = 'custom_tool_call';

interface CallState {
  index: number;
  id?: string;
  name?: string;
  kind?: string;
  text: string;
  input: unknown;
  /** Reads the arguments incrementally (each fragment once); the free-form kind has none. */
  parser: PartialJsonParser;
  done: boolean;
  error?: string;
}

/**
 * Emits each tool call's input parsed from the partial JSON of its arguments, as the `tool-call`
 * fragments arrive, so a UI can show a form filling in; after a `reset`, a `{ type: 'reset' }` so it
 * clears the calls it showed.
 *
 *   source:       --call(0,"{\"ci")--call(0,"ty\":\"Li")--call(0,"sbon\"}")--usage--done--|
 *   toolInputs(): --{input:{}}--------{city:"Li"}---------{city:"Lisbon"},done------------|
 *
 * A call emits when it first appears (with its `name`, `input: undefined`), then whenever its
 * parsed input changed (a fragment that only adds a key's opening quote or whitespace emits
 * nothing), then once with `done: true`.
 *
 * A call is complete as soon as its arguments hold a complete JSON object or array (a function
 * call's arguments are an object, and nothing but whitespace may follow it), or at the latest when
 * its answer ends (`usage`, `done`, `step-finish`, or the next `step-start`).
 * The next call starting does not close a call: OpenAI Chat interleaves the fragments of parallel
 * calls by `index`. Text and reasoning do not either, since a compatible server may interleave them.
 * Complete arguments that are not JSON (an answer cut by `max_tokens`, text that can never be JSON)
 * emit `done` with `error` (where the text stopped being JSON, and what was expected) and the last
 * partial input, never an error on the stream: the tool loop already reports such a call to
 * the model as an error result. If a provider sent more than whitespace after complete JSON, the
 * call emits once more, `done` with `error`. A `custom_tool_call` (free-form input) emits its raw
 * text as `input`; every other kind sends JSON and is parsed like a function call.
 *
 * Inside an Agent's tool loop a call's `index` restarts at each step, so each emission carries
 * `step`: a view keys calls by `step` and `index` (or by `id` once known).
 *
 * Each call's arguments are parsed incrementally: a fragment costs its own length, plus a shallow
 * copy of the containers from the root to the change (unchanged parts of the input keep their
 * identity from one emission to the next, so a view can compare by reference). See docs/tools.md
 * for the measured cost.
 *
 * @example
 * agent.stream('Book a table', { tools }).pipe(toolInputs()).subscribe((update) => {
 *   if (update.type === 'reset') form.clear(update.step);
 *   else form.show(`${update.step ?? 0}:${update.index}`, update.name, update.input, update.done);
 * });
 *
 * @returns an operator emitting {@link ToolInputUpdate}s
 */
export function toolInputs(): OperatorFunction<TokenEvent, ToolInputUpdate> {
  return (source) =>
    new Observable<ToolInputUpdate>((subscriber) => {
      let step: number | undefined;
      let calls = new Map<number, CallState>();

      const emit = (call: CallState): void => {
        const update: ToolInput = { type: 'tool-input', index: call.index, input: call.input, arguments: call.text, done: call.done };
        if (step !== undefined) update.step = step;
        if (call.id !== undefined) update.id = call.id;
        if (call.name !== undefined) update.name = call.name;
        if (call.kind !== undefined) update.kind = call.kind;
        if (call.error !== undefined) update.error = call.error;
        subscriber.next(update);
      };

      const closeAll = (): void => {
        for (const call of calls.values()) {
          if (call.done) continue;
          finish(call);
          emit(call);
        }
      };

      const fragment = (event: ToolCallEvent): void => {
        let call = calls.get(event.index);
        let changed = false;
        if (!call) {
          call = { index: event.index, text: '', input: undefined, parser: new PartialJsonParser(), done: false };
          calls.set(event.index, call);
          changed = true;
        }
        if (event.id !== undefined && event.id !== call.id) {
          call.id = event.id;
          changed = true;
        }
        if (event.name !== undefined && event.name !== call.name) {
          call.name = event.name;
          changed = true;
        }
        if (event.kind !== undefined && event.kind !== call.kind) {
          call.kind = event.kind;
          changed = true;
        }
        if (event.argsDelta !== '') {
          call.text += event.argsDelta;
          if (call.done) {
            // Whitespace after complete JSON changes nothing; anything else makes it malformed.
            if (call.error === undefined && call.kind !== FREE_FORM_KIND) {
              const parser = call.parser;
              // Closed by its answer's end, the parser takes no more text: judge the fragment here.
              if (!parser.finished) parser.push(event.argsDelta);
              const error = parser.finished ? (event.argsDelta.trim() === '' ? undefined : 'more text came after the answer ended') : parser.error;
              if (error !== undefined) {
                call.error = describeFailure(error);
                changed = true;
              }
            }
          } else if (call.kind === FREE_FORM_KIND) {
            call.input = call.text;
            changed = true;
          } else if (advance(call, event.argsDelta)) {
            changed = true;
          }
        }
        if (changed) emit(call);
      };

      operate(source, subscriber, {
        next: (event) => {
          switch (event.type) {
            case 'tool-call':
              fragment(event);
              return;
            case 'reset': {
              calls = new Map();
              const update: ToolInputsReset = { type: 'reset', reason: event.reason };
              // The reset says what it discards: its step's calls, or (no step: a retry of the whole
              // loop, which starts over at step 0) every call shown so far.
              if (event.step !== undefined) update.step = event.step;
              else step = undefined;
              subscriber.next(update);
              return;
            }
            case 'step-start':
              closeAll();
              calls = new Map();
              step = event.step;
              return;
            case 'usage':
            case 'done':
            case 'step-finish':
              closeAll();
              return;
            default:
              return;
          }
        },
      });
    });
}

/**
 * Reads a fragment of a function call's arguments; `true` when what a view shows changed (the
 * parser reports changes, so a fragment that only opens a key or adds whitespace emits nothing).
 * Text that can never be JSON leaves the last partial input shown; the call ends `done` with
 * `error` when its answer ends.
 */
function advance(call: CallState, fragment: string): boolean {
  const parser = call.parser;
  const changed = parser.push(fragment);
  if (changed) call.input = parser.value;
  const value = call.input;
  // A function call's arguments are an object (an array, for some kinds): once it closes, it is
  // complete, before the answer ends. A lone string or number waits for the end of the answer.
  if (parser.done && value !== null && typeof value === 'object') {
    call.done = true;
    return true;
  }
  return changed;
}

/** The call's answer ended: its arguments are whatever came. */
function finish(call: CallState): void {
  call.done = true;
  if (call.kind === FREE_FORM_KIND) {
    call.input = call.text;
    return;
  }
  // Empty arguments are a tool without input, as `collect()` and the tool loop read them.
  if (call.text.trim() === '') {
    call.input = {};
    return;
  }
  const result = call.parser.finish();
  if (result.ok) call.input = result.value;
  else call.error = describeFailure(result.error);
}

/** Why complete arguments are not JSON, in words a log reader can act on. */
function describeFailure(detail: string): string {
  return `the tool call's arguments are not valid JSON (${detail}); an answer cut by max_tokens ends mid-arguments`;
}
