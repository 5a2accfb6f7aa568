import type { BaseEvent } from '@ag-ui/core';
import { Observable, type Subscribable } from 'rxjs';
import { InvalidArgumentError, ProtocolError, REMOTE_STREAM_REASONS, RemoteStreamError, TokenflowError, type SerializedStreamError } from '../errors.js';
import type { StopReason, TokenEvent, Usage } from '../events.js';
import { PartialText } from '../internal/partial-text.js';
import { readOptions } from '../operators/internal.js';
import { isPlainObject } from '../validate.js';
import { AGUI_EVENT_TYPES, CUSTOM_NAMES, ET, META_KEY, type AGUIEvent } from './types.js';

/**
 * What to do with an AG-UI event that has no tokenflow counterpart (`STATE_*`, `MESSAGES_SNAPSHOT`,
 * `ACTIVITY_*`, `RAW`, other `CUSTOM` events, `SUBAGENT_*`, a tool call's `REASONING_ENCRYPTED_VALUE`,
 * text messages of another role): `'warn'` logs one `console.warn` per event type, `'ignore'` skips
 * them, `'error'` fails the stream with a `ProtocolError`, a function receives each one.
 */
export type UnmappedPolicy = 'warn' | 'ignore' | 'error' | ((event: AGUIEvent) => void);

/** Options of {@link fromAGUI}. */
export interface FromAGUIOptions {
  /** @defaultValue 'warn' */
  onUnmapped?: UnmappedPolicy;
}

const STOP_REASONS: ReadonlySet<string> = new Set(['end', 'max_tokens', 'stop_sequence', 'tool_use', 'content_filter', 'refusal', 'pause_turn', 'other']);
const REASONS: ReadonlySet<string> = new Set(REMOTE_STREAM_REASONS);

/**
 * Reads any AG-UI 1.0 event stream (an `HttpAgent`'s `run(input)`, `toAGUI()`'s output, events you
 * parse yourself) as a tokenflow stream, so `collect()`, `metrics()`, the timeouts and
 * `streamWithCallbacks` work on it. Cold: each subscription subscribes `events$` once; unsubscribing
 * unsubscribes it. `t` is milliseconds since subscription.
 *
 *   events$:   --RUN_STARTED--TEXT_MESSAGE_CONTENT("Hi")--RUN_FINISHED--|
 *   fromAGUI:  --start--------token("Hi")-----------------usage,done---|
 *
 * `RUN_ERROR` becomes a `RemoteStreamError` carrying the text received; a stream that breaks the
 * protocol (content for a message never started, an event before `RUN_STARTED`, an end without
 * `RUN_FINISHED`) a `ProtocolError`. See docs/protocols.md for the whole mapping.
 *
 * @example
 * const answer = await lastValueFrom(fromAGUI(agent.run(input)).pipe(collect()));
 * @param events$ - the AG-UI events of one run: any Observable, from any copy of RxJS (`@ag-ui/client`
 *   brings its own)
 * @param options - `onUnmapped`: what to do with events tokenflow has no counterpart for
 * @returns the run as `TokenEvent`s
 */
export function fromAGUI(events$: Subscribable<AGUIEvent | BaseEvent>, options?: FromAGUIOptions): Observable<TokenEvent> {
  return new Observable<TokenEvent>((subscriber) => {
    let checked: { onUnmapped: UnmappedPolicy };
    try {
      if (typeof (events$ as { subscribe?: unknown } | null)?.subscribe !== 'function') throw new InvalidArgumentError('events$', 'fromAGUI(): events$ must be an Observable of AG-UI events (an HttpAgent run(input), say).');
      const o = readOptions(options, 'fromAGUI', ['onUnmapped']);
      const policy = o.onUnmapped ?? 'warn';
      if (typeof policy !== 'function' && policy !== 'warn' && policy !== 'ignore' && policy !== 'error') {
        throw new InvalidArgumentError('options.onUnmapped', "fromAGUI(): options.onUnmapped must be 'warn', 'ignore', 'error' or a function (event) => void.");
      }
      checked = { onUnmapped: policy as UnmappedPolicy };
    } catch (error) {
      subscriber.error(error);
      return;
    }
    const reader = new AGUIReader(checked.onUnmapped, performance.now());
    const subscription = events$.subscribe({
      next: (event: unknown) => {
        if (subscriber.closed) return;
        try {
          for (const e of reader.read(event)) subscriber.next(e);
        } catch (error) {
          subscriber.error(error);
          return;
        }
        if (reader.finished) subscriber.complete();
      },
      error: (error: unknown) => {
        const partialText = reader.text;
        if (TokenflowError.isInstance(error)) subscriber.error((error as TokenflowError).withContext({ partialText }));
        else subscriber.error(new TokenflowError(`The AG-UI event stream failed: ${error instanceof Error ? error.message : String(error)}`, { partialText, cause: error }));
      },
      complete: () => {
        if (!reader.finished) subscriber.error(new ProtocolError('The AG-UI stream ended without RUN_FINISHED or RUN_ERROR.', undefined, { partialText: reader.text }));
      },
    });
    return () => subscription.unsubscribe();
  });
}

/** The state of one run being read: which messages, reasoning and calls are open. */
class AGUIReader {
  readonly #text = new PartialText();
  #started = false;
  finished = false;
  #tokens = 0;
  #toolIndex = 0;
  /** Assistant text messages open, and those of other roles (whose content is not the answer). */
  #textOpen = new Set<string>();
  #otherText = new Set<string>();
  /** The message a field-less TEXT_MESSAGE_CHUNK continues. */
  #lastChunk: { id: string; other: boolean } | undefined;
  #reasoningOpen = new Set<string>();
  #reasoningText = new Set<string>();
  /** Tool calls: id → tokenflow index and name; open ones; the call a field-less chunk continues. */
  #calls = new Map<string, { index: number; name: string }>();
  /** The token index each step of a tool loop began at (a reset of that step counts from there again). */
  #stepTokens = new Map<number, number>();
  #openCalls = new Set<string>();
  #lastCallChunk: string | undefined;
  /** Calls without a TOOL_CALL_RESULT yet. */
  #unanswered = new Set<string>();
  #step: number | undefined;
  #warned = new Set<string>();

  constructor(
    private readonly onUnmapped: UnmappedPolicy,
    private readonly origin: number,
  ) {}

  get text(): string {
    return this.#text.text;
  }

  read(raw: unknown): TokenEvent[] {
    if (!isPlainObject(raw) || typeof raw.type !== 'string' || !AGUI_EVENT_TYPES.has(raw.type)) {
      throw this.#bad(raw, 'an object with an AG-UI event type');
    }
    const event = raw as unknown as AGUIEvent;
    const t = performance.now() - this.origin;
    const out: TokenEvent[] = [];
    const emit = (e: TokenEvent) => {
      this.#text.add(e);
      out.push(e);
    };
    if (!this.#started && event.type !== ET.RUN_STARTED && event.type !== ET.RUN_ERROR) throw this.#bad(event, 'RUN_STARTED first');
    const meta = tokenflowMeta(event);
    switch (event.type) {
      case ET.RUN_STARTED: {
        if (this.#started) throw this.#bad(event, 'one RUN_STARTED per run');
        this.#started = true;
        emit({
          type: 'start',
          provider: typeof meta?.provider === 'string' ? meta.provider : 'ag-ui',
          model: typeof meta?.model === 'string' ? meta.model : 'unknown',
          ...(typeof meta?.id === 'string' ? { id: meta.id } : { id: str(event.runId, event, 'runId') }),
          t,
        });
        break;
      }
      case ET.TEXT_MESSAGE_START: {
        const id = str(event.messageId, event, 'messageId');
        if (this.#textOpen.has(id) || this.#otherText.has(id)) throw this.#bad(event, `message ${id} not already open`);
        if (event.role === undefined || event.role === 'assistant') this.#textOpen.add(id);
        else {
          this.#otherText.add(id);
          this.#unmapped(event);
        }
        break;
      }
      case ET.TEXT_MESSAGE_CONTENT: {
        const id = str(event.messageId, event, 'messageId');
        const delta = str(event.delta, event, 'delta', true);
        if (this.#otherText.has(id)) this.#unmapped(event);
        else if (!this.#textOpen.has(id)) throw this.#bad(event, `TEXT_MESSAGE_START for message ${id} first`);
        else if (delta !== '') emit({ type: 'token', text: delta, index: this.#tokens++, t });
        break;
      }
      case ET.TEXT_MESSAGE_END: {
        const id = str(event.messageId, event, 'messageId');
        if (this.#otherText.delete(id)) this.#unmapped(event);
        else if (!this.#textOpen.delete(id)) throw this.#bad(event, `TEXT_MESSAGE_START for message ${id} first`);
        break;
      }
      case ET.TEXT_MESSAGE_CHUNK: {
        const id = event.messageId === undefined ? this.#lastChunk?.id : str(event.messageId, event, 'messageId');
        if (id === undefined) throw this.#bad(event, 'a messageId on the first TEXT_MESSAGE_CHUNK');
        if (this.#lastChunk?.id !== id) this.#lastChunk = { id, other: event.role !== undefined && event.role !== 'assistant' };
        const delta = event.delta === undefined ? '' : str(event.delta, event, 'delta', true);
        if (this.#lastChunk.other) this.#unmapped(event);
        else if (delta !== '') emit({ type: 'token', text: delta, index: this.#tokens++, t });
        break;
      }
      case ET.REASONING_START:
      case ET.REASONING_END:
        str(event.messageId, event, 'messageId');
        break;
      case ET.REASONING_MESSAGE_START: {
        const id = str(event.messageId, event, 'messageId');
        if (this.#reasoningOpen.has(id)) throw this.#bad(event, `reasoning message ${id} not already open`);
        this.#reasoningOpen.add(id);
        break;
      }
      case ET.REASONING_MESSAGE_CONTENT: {
        const id = str(event.messageId, event, 'messageId');
        const delta = str(event.delta, event, 'delta', true);
        if (!this.#reasoningOpen.has(id)) throw this.#bad(event, `REASONING_MESSAGE_START for message ${id} first`);
        if (delta !== '') {
          this.#reasoningText.add(id);
          emit({ type: 'reasoning', text: delta, t });
        }
        break;
      }
      case ET.REASONING_MESSAGE_END: {
        const id = str(event.messageId, event, 'messageId');
        if (!this.#reasoningOpen.delete(id)) throw this.#bad(event, `REASONING_MESSAGE_START for message ${id} first`);
        break;
      }
      case ET.REASONING_MESSAGE_CHUNK: {
        const delta = event.delta === undefined ? '' : str(event.delta, event, 'delta', true);
        if (delta !== '') emit({ type: 'reasoning', text: delta, t });
        break;
      }
      case ET.REASONING_ENCRYPTED_VALUE: {
        const entity = str(event.entityId, event, 'entityId');
        const value = str(event.encryptedValue, event, 'encryptedValue', true);
        if (event.subtype !== 'message') {
          this.#unmapped(event);
          break;
        }
        const kind = meta?.kind ?? (this.#reasoningText.has(entity) ? 'signature' : 'redacted');
        if (kind === 'providerData') {
          const providerData = isPlainObject(meta?.providerData) ? meta.providerData : { encrypted_content: value };
          emit({ type: 'reasoning', text: '', providerData, t });
        } else if (kind === 'redacted') emit({ type: 'reasoning', text: '', redacted: value, t });
        else emit({ type: 'reasoning', text: '', signature: value, t });
        break;
      }
      case ET.TOOL_CALL_START: {
        const id = str(event.toolCallId, event, 'toolCallId');
        const name = str(event.toolCallName, event, 'toolCallName', true);
        if (this.#openCalls.has(id)) throw this.#bad(event, `tool call ${id} not already open`);
        this.#openCalls.add(id);
        emit(this.#startCall(id, name, meta, t));
        break;
      }
      case ET.TOOL_CALL_ARGS: {
        const id = str(event.toolCallId, event, 'toolCallId');
        const delta = str(event.delta, event, 'delta', true);
        const call = this.#calls.get(id);
        if (!call || !this.#openCalls.has(id)) throw this.#bad(event, `TOOL_CALL_START for call ${id} first`);
        if (delta !== '') emit({ type: 'tool-call', index: call.index, argsDelta: delta, t });
        break;
      }
      case ET.TOOL_CALL_END: {
        const id = str(event.toolCallId, event, 'toolCallId');
        if (!this.#openCalls.delete(id)) throw this.#bad(event, `TOOL_CALL_START for call ${id} first`);
        break;
      }
      case ET.TOOL_CALL_CHUNK: {
        const id = event.toolCallId === undefined ? this.#lastCallChunk : str(event.toolCallId, event, 'toolCallId');
        if (id === undefined) throw this.#bad(event, 'a toolCallId on the first TOOL_CALL_CHUNK');
        this.#lastCallChunk = id;
        if (!this.#calls.has(id)) {
          const name = event.toolCallName === undefined ? undefined : str(event.toolCallName, event, 'toolCallName', true);
          if (name === undefined) throw this.#bad(event, `a toolCallName on the first chunk of call ${id}`);
          emit(this.#startCall(id, name, meta, t));
        }
        const delta = event.delta === undefined ? '' : str(event.delta, event, 'delta', true);
        if (delta !== '') emit({ type: 'tool-call', index: this.#calls.get(id)!.index, argsDelta: delta, t });
        break;
      }
      case ET.TOOL_CALL_RESULT: {
        const id = str(event.toolCallId, event, 'toolCallId');
        this.#unanswered.delete(id);
        const content: unknown = event.content;
        let output: unknown = content;
        if (typeof content === 'string' && meta?.json === true) {
          try {
            output = JSON.parse(content);
          } catch {
            output = content;
          }
        } else if (typeof content !== 'string' && !Array.isArray(content)) throw this.#bad(event, 'content as a string or an array of parts');
        emit({
          type: 'tool-result',
          step: typeof meta?.step === 'number' ? meta.step : (this.#step ?? 0),
          id,
          name: typeof meta?.name === 'string' ? meta.name : (this.#calls.get(id)?.name ?? ''),
          output,
          isError: meta?.isError === true,
          durationMs: typeof meta?.durationMs === 'number' ? meta.durationMs : 0,
          t,
        });
        break;
      }
      case ET.STEP_STARTED: {
        const step = stepNumber(event.stepName);
        // Steps named by other agents ("planning") are not a tool loop's: reported, not mapped.
        if (step === undefined || this.#step !== undefined) {
          this.#unmapped(event);
          break;
        }
        this.#step = step;
        this.#toolIndex = 0;
        this.#stepTokens.set(step, this.#tokens);
        emit({ type: 'step-start', step, t });
        break;
      }
      case ET.STEP_FINISHED: {
        const step = stepNumber(event.stepName);
        if (step === undefined || step !== this.#step) {
          this.#unmapped(event);
          break;
        }
        this.#step = undefined;
        emit({ type: 'step-finish', step, usage: readUsage(meta?.usage), stopReason: readStop(meta?.stopReason, 'other'), t });
        break;
      }
      case ET.RUN_FINISHED: {
        const open = [...this.#textOpen, ...this.#reasoningOpen, ...this.#openCalls];
        if (open.length > 0) throw this.#bad(event, `every message and tool call ended before RUN_FINISHED (still open: ${open.join(', ')})`);
        if (this.#step !== undefined) emit({ type: 'step-finish', step: this.#step, usage: readUsage(undefined), stopReason: 'other', t });
        const usage = sumUsage(event.usage, tokenflowMeta(event)?.usageEstimated === true);
        emit({ type: 'usage', usage, t });
        const result = isPlainObject(event.result) ? event.result : {};
        const pending = event.outcome?.type === 'success' && (event.outcome.pendingToolCallIds?.length ?? 0) > 0;
        // Without tokenflow's own stop reason: calls nobody answered mean the client must run tools.
        const stopReason = readStop(result.stopReason, pending || this.#unanswered.size > 0 ? 'tool_use' : 'end');
        emit({ type: 'done', stopReason, ...(typeof result.refusal === 'string' ? { refusal: result.refusal } : {}), t });
        this.finished = true;
        break;
      }
      case ET.RUN_ERROR: {
        const message = str(event.message, event, 'message', true);
        const data: SerializedStreamError = { type: 'error', name: 'RunError', message: message || 'The AG-UI run failed.' };
        if (meta) {
          if (typeof meta.name === 'string') data.name = meta.name;
          if (typeof meta.reason === 'string' && REASONS.has(meta.reason)) data.reason = meta.reason as SerializedStreamError['reason'] & string;
          if (Number.isInteger(meta.status)) data.status = meta.status as number;
          if (typeof meta.retryable === 'boolean') data.retryable = meta.retryable;
          if (typeof meta.retryAfterMs === 'number') data.retryAfterMs = meta.retryAfterMs;
          if (typeof meta.requestId === 'string') data.requestId = meta.requestId;
        } else if (typeof event.code === 'string' && event.code !== '') data.name = event.code;
        this.finished = true;
        throw new RemoteStreamError(data, { partialText: this.text });
      }
      case ET.CUSTOM: {
        const value: unknown = event.value;
        if (event.name === CUSTOM_NAMES.providerTool && isPlainObject(value) && isPlainObject(value.block) && typeof value.id === 'string' && typeof value.name === 'string' && (value.phase === 'call' || value.phase === 'result')) {
          emit({ type: 'provider-tool', phase: value.phase, id: value.id, name: value.name, block: value.block, ...(value.input === undefined ? {} : { input: value.input }), t });
        } else if (event.name === CUSTOM_NAMES.citation && isPlainObject(value) && isPlainObject(value.citation)) {
          emit({ type: 'citation', citation: value.citation, t });
        } else if (event.name === CUSTOM_NAMES.reset && isPlainObject(value) && typeof value.reason === 'string') {
          const step = Number.isInteger(value.step) ? (value.step as number) : undefined;
          emit({ type: 'reset', reason: value.reason, ...(step === undefined ? {} : { step }), t });
          // The answer (or the step) starts over: its calls are counted from 0 again, its tokens from
          // where the discarded output began (events.ts, ResetEvent), and the open calls are void.
          this.#tokens = step === undefined ? 0 : (this.#stepTokens.get(step) ?? 0);
          this.#toolIndex = 0;
          this.#calls.clear();
          this.#unanswered.clear();
          if (step === undefined) this.#step = undefined;
        } else this.#unmapped(event);
        break;
      }
      case ET.STATE_SNAPSHOT:
      case ET.STATE_DELTA:
      case ET.MESSAGES_SNAPSHOT:
      case ET.ACTIVITY_SNAPSHOT:
      case ET.ACTIVITY_DELTA:
      case ET.RAW:
      case ET.SUBAGENT_STARTED:
      case ET.SUBAGENT_FINISHED:
      case ET.SUBAGENT_ERROR:
        this.#unmapped(event);
        break;
      default:
        event satisfies never;
    }
    return out;
  }

  #startCall(id: string, name: string, meta: Record<string, unknown> | undefined, t: number): TokenEvent {
    const known = this.#calls.get(id);
    const index = known?.index ?? this.#toolIndex++;
    if (!known) this.#calls.set(id, { index, name });
    this.#unanswered.add(id);
    return {
      type: 'tool-call',
      index,
      id,
      name,
      argsDelta: '',
      ...(typeof meta?.kind === 'string' ? { kind: meta.kind } : {}),
      ...(isPlainObject(meta?.providerData) ? { providerData: meta.providerData } : {}),
      t,
    };
  }

  #unmapped(event: AGUIEvent): void {
    const policy = this.onUnmapped;
    if (policy === 'ignore') return;
    if (policy === 'error') throw new ProtocolError(`fromAGUI(): ${event.type} has no tokenflow counterpart (pass onUnmapped to handle such events).`, JSON.stringify(event), { partialText: this.text });
    if (typeof policy === 'function') {
      policy(event);
      return;
    }
    if (this.#warned.has(event.type)) return;
    this.#warned.add(event.type);
    console.warn(`tokenflow fromAGUI(): ${event.type} events have no tokenflow counterpart and are not in the token stream; pass onUnmapped to handle them (or 'ignore').`);
  }

  #bad(event: unknown, expected: string): ProtocolError {
    let line: string;
    try {
      line = JSON.stringify(event) ?? String(event);
    } catch {
      line = String(event);
    }
    const type = isPlainObject(event) && typeof event.type === 'string' ? event.type : 'an event';
    return new ProtocolError(`The AG-UI stream is out of order or malformed at ${type}: expected ${expected}.`, line.slice(0, 500), { partialText: this.text });
  }
}

/** A required string field of an event, or a ProtocolError naming it. */
function str(value: unknown, event: unknown, field: string, allowEmpty = false): string {
  if (typeof value === 'string' && (allowEmpty || value !== '')) return value;
  const type = isPlainObject(event) ? String(event.type) : 'event';
  throw new ProtocolError(`The AG-UI ${type} event's ${field} must be a ${allowEmpty ? '' : 'non-empty '}string.`, safeJson(event));
}

function safeJson(value: unknown): string | undefined {
  try {
    return JSON.stringify(value)?.slice(0, 500);
  } catch {
    return undefined;
  }
}

function tokenflowMeta(event: AGUIEvent): Record<string, unknown> | undefined {
  const meta: unknown = (event as { metadata?: unknown }).metadata;
  if (!isPlainObject(meta)) return undefined;
  const own = meta[META_KEY];
  return isPlainObject(own) ? own : undefined;
}

function stepNumber(name: unknown): number | undefined {
  if (typeof name !== 'string') return undefined;
  const match = /^step-(\d{1,6})$/.exec(name);
  return match ? Number(match[1]) : undefined;
}

function readStop(value: unknown, fallback: StopReason): StopReason {
  return typeof value === 'string' && STOP_REASONS.has(value) ? (value as StopReason) : fallback;
}

function readUsage(value: unknown): Usage {
  if (isPlainObject(value) && typeof value.inputTokens === 'number' && typeof value.outputTokens === 'number') {
    return { inputTokens: value.inputTokens, outputTokens: value.outputTokens, estimated: value.estimated === true };
  }
  return { inputTokens: 0, outputTokens: 0, estimated: true };
}

/** RUN_FINISHED's per-model usage, summed; without any, zeros marked estimated. */
function sumUsage(entries: unknown, estimated: boolean): Usage {
  if (!Array.isArray(entries) || entries.length === 0) return { inputTokens: 0, outputTokens: 0, estimated: true };
  let inputTokens = 0;
  let outputTokens = 0;
  let missing = false;
  for (const entry of entries) {
    const e = isPlainObject(entry) ? entry : {};
    if (typeof e.inputTokens === 'number') inputTokens += e.inputTokens;
    else missing = true;
    if (typeof e.outputTokens === 'number') outputTokens += e.outputTokens;
    else missing = true;
  }
  return { inputTokens, outputTokens, estimated: estimated || missing };
}
