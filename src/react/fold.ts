/**
 * The state `useTokenStream()` shows, folded from a stream's events (internal). Pure and
 * framework-free: the hook owns the subscription and decides when React sees a snapshot.
 *
 * Browser-safe: imports nothing from Node, and nothing that loads the tokenizer (the core's
 * `ResponseBuilder` does, for its estimates), so the figures below are computed here from the
 * events' own `t`, the way `metrics()` computes them on the server.
 */
import { RemoteStreamError } from '../errors.js';
import type { StopReason, TokenEvent, Usage } from '../events.js';
import { PartialText } from '../internal/partial-text.js';

/**
 * Where a stream is: nothing to follow (`idle`), arriving (`streaming`), finished with `done`,
 * failed (`error`), or stopped (by `stop()`, or by anyone through the hub).
 */
export type TokenStreamStatus = 'idle' | 'streaming' | 'done' | 'error' | 'stopped';

/** One tool call of an Agent's tool loop (or of a plain answer with tools), as it happens. */
export interface ToolCallActivity {
  /** The call's id (its `tool-result` names it); `''` until a fragment carrying it arrived. */
  id: string;
  /** The tool loop's step that made the call (0 for a stream that is not a loop). */
  step: number;
  /** The tool's name; `''` until a fragment carrying it arrived. */
  name: string;
  /** The call's input as the model wrote it so far: raw JSON that fills in as fragments arrive. */
  input: string;
  /** What the tool returned, once its `tool-result` came (when `isError`, why it failed). */
  output?: unknown;
  /** The call failed (unknown tool, invalid input, the tool threw, approval denied). */
  isError?: boolean;
  /** Milliseconds from the call's dispatch to its result, as the server measured it. */
  durationMs?: number;
}

/**
 * Timing and size of the answer, from the events' own `t` (milliseconds since the stream's start
 * on the producer's clock), so every follower of a hub channel shows the figures of the server
 * that asked, whenever it joined.
 */
export interface TokenStreamMetrics {
  /** The first text token's `t`: the time to first token. Absent before it. */
  ttftMs?: number;
  /**
   * Tokens per second. While the answer streams: text tokens after the first, over the time from
   * the first token to the latest (absent before the second). Once `done` came after a `usage`
   * with an output count: the figure `metrics()` reports, the provider's output tokens over the
   * time from the first output of any kind (text, reasoning, a tool call) to `done`.
   */
  tokensPerSecond?: number;
  /** Text `token` events received (since the last `reset`, for a stream that is not a tool loop). */
  tokens: number;
  /**
   * The latest `usage` event's counts: in a tool loop each step reports its own, then the loop's
   * sum comes just before `done`.
   */
  usage?: Usage;
}

/** What the hook shows for the current stream. */
export interface TokenStreamState {
  /** The answer so far; a `reset` clears it (a `reset` of one tool-loop step, only that step's text). */
  text: string;
  status: TokenStreamStatus;
  /** Why the answer ended, from its `done` event (status `done`). */
  stopReason?: StopReason;
  metrics: TokenStreamMetrics;
  /** The tool calls so far, in the order they were made, with their results as they come. */
  toolCalls: ToolCallActivity[];
  /** The failure, with status `error` only (a stop is not a failure: status `stopped`, no error). */
  error?: Error;
}

/** The state with nothing to follow. */
export const IDLE_STATE: TokenStreamState = Object.freeze({
  text: '',
  status: 'idle',
  metrics: Object.freeze({ tokens: 0 }),
  toolCalls: Object.freeze([]) as unknown as ToolCallActivity[],
}) as TokenStreamState;

/** The state of a stream just subscribed to. */
export const STARTING_STATE: TokenStreamState = Object.freeze({ ...IDLE_STATE, status: 'streaming' }) as TokenStreamState;

/** `true` for the hub's `stopped` error: someone stopped the answer, it did not fail. */
export function isStopped(error: unknown): boolean {
  return RemoteStreamError.isInstance(error) && error.reason === 'stopped';
}

/** A finite `t`, or `undefined` (an event from a foreign source may lack one). */
function timeOf(event: { t?: unknown }): number | undefined {
  return typeof event.t === 'number' && Number.isFinite(event.t) ? event.t : undefined;
}

/**
 * Folds one stream's events into a {@link TokenStreamState}. `push` returns whether anything shown
 * changed; `snapshot()` returns the same object until something changes, so React skips renders
 * of unchanged state.
 */
export class TokenStreamFold {
  #text = new PartialText();
  #status: TokenStreamStatus = 'streaming';
  #stopReason: StopReason | undefined;
  #error: Error | undefined;

  // The figures, kept the way ResponseBuilder keeps them for `metrics()`, so the final ones agree.
  /** Set by the first `step-start`: a tool loop, whose figures run on across resets. */
  #loop = false;
  /** Inside a loop's step (between its `step-start` and `step-finish`). */
  #inStep = false;
  #tokens = 0;
  #firstTokenAt: number | undefined;
  #lastTokenAt: number | undefined;
  /** `t` of the first output of any kind: where generation began, for the final rate. */
  #firstOutputAt: number | undefined;
  /** The latest `usage`, shown. */
  #usage: Usage | undefined;
  /** The answer's own usage (in a loop, the loop's sum, never a step's): the final rate's count. */
  #answerUsage: Usage | undefined;
  #doneAt: number | undefined;

  /** The step `tool-call` fragments belong to (a loop's latest `step-start`). */
  #step = 0;
  #calls: ToolCallActivity[] = [];
  /** Each call's `step:index` (only a call's first fragment carries its id), in `#calls`' order. */
  #callKeys: Array<string | undefined> = [];

  #snapshot: TokenStreamState = STARTING_STATE;
  #changed = false;

  /** The status now. */
  get status(): TokenStreamStatus {
    return this.#status;
  }

  /**
   * Folds one event in; ignored once the stream ended. Unknown event types are ignored.
   *
   * @returns `true` when what the state shows changed
   */
  push(event: TokenEvent): boolean {
    if (this.#status !== 'streaming' || typeof event !== 'object' || event === null) return false;
    const t = timeOf(event);
    switch (event.type) {
      case 'token': {
        if (!this.#text.add(event)) return false;
        if (t !== undefined) {
          this.#firstTokenAt ??= t;
          this.#firstOutputAt ??= t;
          this.#lastTokenAt = t;
        }
        this.#tokens++;
        return this.#touch();
      }
      case 'reasoning':
      case 'provider-tool':
        if (t !== undefined) this.#firstOutputAt ??= t;
        return false;
      case 'tool-call':
        if (t !== undefined) this.#firstOutputAt ??= t;
        return this.#toolCall(event);
      case 'tool-result':
        return this.#toolResult(event);
      case 'step-start':
        this.#loop = true;
        this.#inStep = true;
        if (Number.isInteger(event.step) && event.step >= 0) this.#step = event.step;
        this.#text.add(event);
        return false;
      case 'step-finish':
        this.#inStep = false;
        return false;
      case 'usage':
        this.#usage = event.usage;
        if (!(this.#loop && this.#inStep)) this.#answerUsage = event.usage;
        return this.#touch();
      case 'reset':
        this.#reset(event.step);
        return this.#touch();
      case 'done':
        this.#status = 'done';
        this.#stopReason = event.stopReason;
        this.#doneAt = t;
        return this.#touch();
      default:
        return false;
    }
  }

  /** The stream completed. Without a `done` (a source that just completes) the status is `done` all the same. */
  complete(): boolean {
    if (this.#status !== 'streaming') return false;
    this.#status = 'done';
    return this.#touch();
  }

  /** The stream failed: status `error`, or `stopped` for the hub's stop. The text is kept. */
  fail(error: unknown): boolean {
    if (this.#status !== 'streaming') return false;
    if (isStopped(error)) {
      this.#status = 'stopped';
    } else {
      this.#status = 'error';
      this.#error = error instanceof Error ? error : new Error(`the stream failed with ${String(error)}`, { cause: error });
    }
    return this.#touch();
  }

  /** This page stopped following: status `stopped`, the text kept. Does nothing once the stream ended. */
  stop(): boolean {
    if (this.#status !== 'streaming') return false;
    this.#status = 'stopped';
    return this.#touch();
  }

  /** The state now: the same object as last time when nothing changed since. */
  snapshot(): TokenStreamState {
    if (!this.#changed) return this.#snapshot;
    this.#changed = false;
    const state: TokenStreamState = {
      text: this.#text.text,
      status: this.#status,
      metrics: this.#metrics(),
      toolCalls: this.#calls,
    };
    if (this.#stopReason !== undefined) state.stopReason = this.#stopReason;
    if (this.#error !== undefined) state.error = this.#error;
    this.#snapshot = state;
    return state;
  }

  #touch(): true {
    this.#changed = true;
    return true;
  }

  #metrics(): TokenStreamMetrics {
    const metrics: TokenStreamMetrics = { tokens: this.#tokens };
    if (this.#firstTokenAt !== undefined) metrics.ttftMs = this.#firstTokenAt;
    if (this.#usage !== undefined) metrics.usage = this.#usage;
    const rate = this.#finalRate() ?? this.#liveRate();
    if (rate !== undefined) metrics.tokensPerSecond = rate;
    return metrics;
  }

  /** Text tokens after the first, over the time from the first token to the latest. */
  #liveRate(): number | undefined {
    const first = this.#firstTokenAt;
    const last = this.#lastTokenAt;
    if (first === undefined || last === undefined || last <= first || this.#tokens < 2) return undefined;
    return ((this.#tokens - 1) * 1000) / (last - first);
  }

  /** After `done`: `metrics()`'s figure (ResponseBuilder.metrics()), when the provider counted the output. */
  #finalRate(): number | undefined {
    const doneAt = this.#doneAt;
    const outputTokens = this.#answerUsage?.outputTokens;
    if (doneAt === undefined || outputTokens === undefined || !(outputTokens > 0)) return undefined;
    const first = this.#firstOutputAt;
    // A one-chunk answer counts from the start, as metrics() does.
    const span = first !== undefined && doneAt > first ? doneAt - first : doneAt;
    return span > 0 ? (outputTokens * 1000) / span : undefined;
  }

  /**
   * A `reset`: the text as PartialText cuts it; the tool calls of the reset step and later (all of
   * them for a reset without a step); the figures as ResponseBuilder resets them (a loop's run on).
   */
  #reset(step: number | undefined): void {
    this.#text.add({ type: 'reset', step });
    const fromStep = this.#loop && typeof step === 'number' && Number.isInteger(step) && step >= 0 ? step : undefined;
    const keep = fromStep === undefined ? 0 : this.#calls.findIndex((call) => call.step >= fromStep);
    // Calls come in step order, so what is cut is a tail.
    if (keep !== -1 && keep < this.#calls.length) {
      this.#calls = this.#calls.slice(0, keep);
      this.#callKeys = this.#callKeys.slice(0, keep);
    }
    if (this.#loop) return;
    this.#tokens = 0;
    this.#firstTokenAt = undefined;
    this.#lastTokenAt = undefined;
    this.#firstOutputAt = undefined;
    this.#usage = undefined;
    this.#answerUsage = undefined;
  }

  #toolCall(event: { index: number; id?: string; name?: string; argsDelta: string }): boolean {
    const key = `${this.#step}:${event.index}`;
    const at = this.#callKeys.lastIndexOf(key);
    const delta = typeof event.argsDelta === 'string' ? event.argsDelta : '';
    if (at === -1) {
      this.#append({ id: event.id ?? '', step: this.#step, name: event.name ?? '', input: delta }, key);
      return this.#touch();
    }
    const call = this.#calls[at]!;
    const id = call.id === '' && event.id !== undefined ? event.id : call.id;
    const name = call.name === '' && event.name !== undefined ? event.name : call.name;
    if (delta === '' && id === call.id && name === call.name) return false;
    this.#replaceCall(at, { ...call, id, name, input: call.input + delta });
    return this.#touch();
  }

  #toolResult(event: { step: number; id: string; name: string; output: unknown; isError: boolean; durationMs: number }): boolean {
    const result = { output: event.output, isError: event.isError, durationMs: event.durationMs };
    let at = -1;
    for (let i = this.#calls.length - 1; i >= 0; i--) {
      if (this.#calls[i]!.id === event.id) {
        at = i;
        break;
      }
    }
    if (at === -1) {
      // A follower that resumed after the call's fragments still shows the result.
      this.#append({ id: event.id, step: event.step, name: event.name, input: '', ...result }, undefined);
    } else {
      this.#replaceCall(at, { ...this.#calls[at]!, ...result });
    }
    return this.#touch();
  }

  /** Copy on write: a snapshot handed to React never changes under it. */
  #replaceCall(at: number, call: ToolCallActivity): void {
    const calls = [...this.#calls];
    calls[at] = call;
    this.#calls = calls;
  }

  #append(call: ToolCallActivity, key: string | undefined): void {
    this.#calls = [...this.#calls, call];
    this.#callKeys.push(key);
  }
}
