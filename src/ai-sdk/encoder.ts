/**
 * The pure mapping from tokenflow's events to the AI SDK's UI message stream: one stateful encoder
 * per stream, fed one event at a time. The operator, the HTTP writers and (later) the hub's
 * per-follower writer all drive this one class, so every route says the same thing.
 */
import { InvalidArgumentError, ProtocolError, RemoteStreamError, StreamAbortedError } from '../errors.js';
import type { StopReason, TokenEvent, ToolCallEvent } from '../events.js';
import { PartialText } from '../internal/partial-text.js';
import { readOptions } from '../operators/internal.js';
import { isTokenEvent, serializeError } from '../sse/encode.js';
import { requireString } from '../validate.js';
import type { JSONObject, TokenflowPartMetadata, TokenflowProviderMetadata, UIFinishReason, UIMessageChunk, UIMessageMetadata } from './chunks.js';

/** Options of {@link UIMessageStreamEncoder} and of everything built on it. */
export interface UIMessageStreamEncoderOptions {
  /**
   * The assistant message's id, sent on the `start` chunk. `useChat` sends the one it expects as
   * the request's `messageId` when it regenerates; a server that stores messages gives its own.
   * @defaultValue none: the client makes one up
   */
  messageId?: string;
  /**
   * Whether to send message metadata: `{ usage }` on `message-metadata` after each `usage` event and
   * `{ stopReason, refusal? }` on `finish`. Turn it off when the client validates metadata with a
   * schema of its own (`useChat`'s `messageMetadataSchema`).
   * @defaultValue true
   */
  metadata?: boolean;
}

/** The option names, for the "did you mean" check of every entry point built on the encoder. */
export const ENCODER_OPTIONS = ['messageId', 'metadata'] as const;

/** Checks the encoder's options inside a caller's options object (already checked for unknown keys). */
export function checkEncoderOptions(o: Record<string, unknown>, fn: string): UIMessageStreamEncoderOptions {
  const checked: UIMessageStreamEncoderOptions = {};
  if (o.messageId !== undefined) checked.messageId = requireString(o.messageId, `${fn}.messageId`);
  if (o.metadata !== undefined) {
    if (typeof o.metadata !== 'boolean') throw new InvalidArgumentError(`${fn}.metadata`, `${fn}.metadata must be true or false.`);
    checked.metadata = o.metadata;
  }
  return checked;
}

/** tokenflow's stop reason in the AI SDK's words (the exact one travels in the `finish` metadata). */
const FINISH_REASONS: Readonly<Record<StopReason, UIFinishReason>> = {
  end: 'stop',
  stop_sequence: 'stop',
  max_tokens: 'length',
  tool_use: 'tool-calls',
  content_filter: 'content-filter',
  // The AI SDK's own Anthropic provider reports a refusal as a content filter.
  refusal: 'content-filter',
  pause_turn: 'other',
  other: 'other',
};

/** The one kind whose input is free text, not JSON (Responses `custom_tool_call`). */
const FREE_FORM_KIND = 'custom_tool_call';

/** What a retry leaves of a call whose input was still streaming. */
const DISCARDED = 'The call was discarded: a retry started this answer over.';

interface OpenCall {
  id: string;
  name: string;
  kind: string | undefined;
  text: string;
  providerData: Record<string, unknown> | undefined;
}

/**
 * Turns one stream's `TokenEvent`s into UI message stream chunks, one event at a time. Pure and
 * synchronous: no I/O, no timers, so a server can run one per response and a hub one per follower
 * over stored events.
 *
 * The mapping (docs/protocols.md has the table): the first event sends `start`; a tool loop's
 * `step-start`/`step-finish` send `start-step`/`finish-step`, and a single answer gets one such pair
 * around it; tokens are `text-start`/`text-delta`/`text-end` blocks; reasoning likewise, with
 * signatures, redacted blocks and provider data in `providerMetadata.tokenflow`; tool-call
 * fragments are `tool-input-start`/`-delta`, then at the end of their answer `tool-input-available`
 * (or `tool-input-error` when the arguments are not JSON); `tool-result` is
 * `tool-output-available`/`-error`; provider-run tools are tool parts with `providerExecuted`;
 * citations with a URL are `source-url`, others `data-tokenflow-citation`; `usage` is
 * `message-metadata`; `done` is `finish`. A `reset` ends the open parts and the step, sends a
 * `data-tokenflow-reset` marker and starts a new step.
 *
 * @example
 * const encoder = new UIMessageStreamEncoder({ messageId: 'msg_1' });
 * for (const event of events) for (const chunk of encoder.push(event)) send(chunk);
 * if (!encoder.finished) for (const chunk of encoder.end()) send(chunk);
 */
export class UIMessageStreamEncoder {
  readonly #messageId: string | undefined;
  readonly #metadata: boolean;
  readonly #partial = new PartialText();
  #started = false;
  #finished = false;
  #inStep = false;
  #text: string | undefined;
  #reasoning: string | undefined;
  #blocks = 0;
  #sources = 0;
  /** The current answer's calls whose input is still streaming, by their `index`. */
  #calls = new Map<number, OpenCall>();
  /** Calls the client knows (their ids), so a result can only name one of them. */
  readonly #known = new Set<string>();

  /**
   * @param options - the message id, and whether to send metadata
   * @throws InvalidArgumentError for an unknown option or a bad value
   */
  constructor(options: UIMessageStreamEncoderOptions = {}) {
    const o = readOptions(options, 'UIMessageStreamEncoder', ENCODER_OPTIONS);
    const checked = checkEncoderOptions(o, 'options');
    this.#messageId = checked.messageId;
    this.#metadata = checked.metadata ?? true;
  }

  /** `true` once `finish`, `error` or `abort` was sent: nothing more belongs in this message. */
  get finished(): boolean {
    return this.#finished;
  }

  /** The answer's text so far (a `reset` takes back what it discards), for an error's report. */
  get partialText(): string {
    return this.#partial.text;
  }

  /**
   * Maps one event.
   *
   * @param event - the stream's next event
   * @returns the chunks to send for it, in order (often one, sometimes none)
   * @throws InvalidArgumentError for something that is not a `TokenEvent`; ProtocolError for a
   *   tool result that answers no call this stream made. Either way, pass the error to `fail()`.
   */
  push(event: TokenEvent): UIMessageChunk[] {
    if (!isTokenEvent(event)) {
      throw new InvalidArgumentError('event', 'UIMessageStreamEncoder.push(): the event must be a TokenEvent (pipe operators that change the type after the encoder, not before).');
    }
    if (this.#finished) return [];
    this.#partial.add(event);
    const out: UIMessageChunk[] = [];
    if (!this.#started) {
      this.#started = true;
      out.push(this.#messageId === undefined ? { type: 'start' } : { type: 'start', messageId: this.#messageId });
    }
    switch (event.type) {
      case 'start':
        this.#ensureStep(out);
        break;
      case 'step-start':
        this.#closeParts(out);
        if (this.#inStep) out.push({ type: 'finish-step' });
        out.push({ type: 'start-step' });
        this.#inStep = true;
        this.#calls = new Map();
        break;
      case 'token':
        if (event.text === '') break;
        this.#ensureStep(out);
        this.#closeReasoning(out);
        if (this.#text === undefined) {
          this.#text = `text-${this.#blocks++}`;
          out.push({ type: 'text-start', id: this.#text });
        }
        out.push({ type: 'text-delta', id: this.#text, delta: event.text });
        break;
      case 'reasoning':
        this.#reasoningEvent(event, out);
        break;
      case 'tool-call':
        this.#toolCall(event, out);
        break;
      case 'provider-tool': {
        this.#ensureStep(out);
        this.#closeText(out);
        this.#closeReasoning(out);
        if (event.phase === 'call') {
          this.#known.add(event.id);
          const chunk: UIMessageChunk = {
            type: 'tool-input-available',
            toolCallId: event.id,
            toolName: event.name,
            input: event.input,
            providerExecuted: true,
            providerMetadata: meta({ block: event.block as JSONObject }),
          };
          out.push(chunk);
        } else {
          if (!this.#known.has(event.id)) throw this.#unknownCall(event.id, 'provider tool result');
          out.push({ type: 'tool-output-available', toolCallId: event.id, output: event.block, providerExecuted: true, providerMetadata: meta({ name: event.name }) });
        }
        break;
      }
      case 'citation': {
        this.#ensureStep(out);
        const citation = event.citation;
        const url = citation.url;
        if (typeof url === 'string' && url !== '') {
          const chunk: UIMessageChunk = { type: 'source-url', sourceId: `source-${this.#sources++}`, url, providerMetadata: meta({ citation: citation as JSONObject }) };
          if (typeof citation.title === 'string') chunk.title = citation.title;
          out.push(chunk);
        } else {
          out.push({ type: 'data-tokenflow-citation', data: citation as JSONObject });
        }
        break;
      }
      case 'usage':
        // The answer ended: its calls' arguments are complete.
        this.#closeCalls(out);
        if (this.#metadata) out.push({ type: 'message-metadata', messageMetadata: { usage: event.usage } });
        break;
      case 'reset': {
        this.#closeText(out);
        this.#closeReasoning(out);
        for (const call of this.#calls.values()) {
          this.#known.add(call.id);
          out.push({ type: 'tool-input-error', toolCallId: call.id, toolName: call.name, input: call.text, errorText: DISCARDED });
        }
        this.#calls = new Map();
        if (this.#inStep) out.push({ type: 'finish-step' });
        this.#inStep = false;
        out.push({ type: 'data-tokenflow-reset', data: event.step === undefined ? { reason: event.reason } : { reason: event.reason, step: event.step } });
        // The retry's first output opens a step of its own (#ensureStep), so the client never folds
        // it into a part of the discarded attempt (a call retried under the same id would update
        // the old part). A whole tool loop retried starts again with its own `step-start`.
        break;
      }
      case 'tool-result': {
        if (!this.#known.has(event.id)) throw this.#unknownCall(event.id, 'tool result');
        if (event.isError) out.push({ type: 'tool-output-error', toolCallId: event.id, errorText: outputText(event.output) });
        else out.push({ type: 'tool-output-available', toolCallId: event.id, output: event.output });
        break;
      }
      case 'step-finish':
        this.#closeParts(out);
        if (this.#inStep) out.push({ type: 'finish-step' });
        this.#inStep = false;
        break;
      case 'done': {
        this.#closeParts(out);
        if (this.#inStep) out.push({ type: 'finish-step' });
        this.#inStep = false;
        const finish: UIMessageChunk = { type: 'finish', finishReason: FINISH_REASONS[event.stopReason] ?? 'other' };
        if (this.#metadata) {
          const metadata: UIMessageMetadata = { stopReason: event.stopReason };
          if (event.refusal !== undefined) metadata.refusal = event.refusal;
          finish.messageMetadata = metadata;
        }
        out.push(finish);
        this.#finished = true;
        break;
      }
      default:
        // Exhaustive: a new event type fails the type check here.
        event satisfies never;
    }
    return out;
  }

  /**
   * The chunks that end a failed stream: `abort` when it was stopped (an aborted signal, a hub's
   * stop), otherwise `error` with the sanitised message of `serializeError()` (never the upstream's
   * own text, which may quote a key). Nothing after it.
   *
   * @param error - why the stream failed
   * @returns the closing chunks (none when the message already finished)
   */
  fail(error: unknown): UIMessageChunk[] {
    if (this.#finished) return [];
    this.#finished = true;
    const sent = serializeError(error, this.#partial.text);
    const out: UIMessageChunk[] = [];
    if (!this.#started) {
      this.#started = true;
      out.push(this.#messageId === undefined ? { type: 'start' } : { type: 'start', messageId: this.#messageId });
    }
    const stopped = StreamAbortedError.isInstance(error) || (RemoteStreamError.isInstance(error) && error.reason === 'stopped');
    out.push(stopped ? { type: 'abort', reason: sent.message } : { type: 'error', errorText: sent.message });
    return out;
  }

  /**
   * The source completed. A stream that ends without `done` did not finish its answer: that is an
   * error, never a quiet end.
   *
   * @returns the closing chunks (none after `done`)
   */
  end(): UIMessageChunk[] {
    if (this.#finished) return [];
    return this.fail(this.incompleteError());
  }

  /** The error `end()` reports for a stream without `done`, with the partial text. */
  incompleteError(): ProtocolError {
    return new ProtocolError('The stream completed without a `done` event: the answer is incomplete.', undefined, { partialText: this.#partial.text });
  }

  #ensureStep(out: UIMessageChunk[]): void {
    if (this.#inStep) return;
    out.push({ type: 'start-step' });
    this.#inStep = true;
  }

  #closeText(out: UIMessageChunk[]): void {
    if (this.#text === undefined) return;
    out.push({ type: 'text-end', id: this.#text });
    this.#text = undefined;
  }

  #closeReasoning(out: UIMessageChunk[], metadata?: TokenflowProviderMetadata): void {
    if (this.#reasoning === undefined) return;
    out.push(metadata === undefined ? { type: 'reasoning-end', id: this.#reasoning } : { type: 'reasoning-end', id: this.#reasoning, providerMetadata: metadata });
    this.#reasoning = undefined;
  }

  #closeParts(out: UIMessageChunk[]): void {
    this.#closeText(out);
    this.#closeReasoning(out);
    this.#closeCalls(out);
  }

  #openReasoning(out: UIMessageChunk[], metadata?: TokenflowProviderMetadata): string {
    const id = `reasoning-${this.#blocks++}`;
    out.push(metadata === undefined ? { type: 'reasoning-start', id } : { type: 'reasoning-start', id, providerMetadata: metadata });
    this.#reasoning = id;
    return id;
  }

  #reasoningEvent(event: Extract<TokenEvent, { type: 'reasoning' }>, out: UIMessageChunk[]): void {
    this.#ensureStep(out);
    this.#closeText(out);
    if (event.redacted !== undefined) {
      // A redacted block is a block of its own, with nothing to show.
      this.#closeReasoning(out);
      this.#openReasoning(out, meta({ redacted: event.redacted }));
      this.#closeReasoning(out);
    }
    if (event.text !== '') {
      const id = this.#reasoning ?? this.#openReasoning(out);
      out.push({ type: 'reasoning-delta', id, delta: event.text });
    }
    if (event.signature !== undefined || event.providerData !== undefined) {
      // A signature or the provider's data closes the block (an empty one when none is open: a
      // Responses item without a summary still has to go back).
      if (this.#reasoning === undefined) this.#openReasoning(out);
      const fields: TokenflowPartMetadata = {};
      if (event.signature !== undefined) fields.signature = event.signature;
      if (event.providerData !== undefined) fields.providerData = event.providerData as JSONObject;
      this.#closeReasoning(out, meta(fields));
    }
  }

  #toolCall(event: ToolCallEvent, out: UIMessageChunk[]): void {
    this.#ensureStep(out);
    this.#closeText(out);
    this.#closeReasoning(out);
    let call = this.#calls.get(event.index);
    if (call === undefined) {
      call = {
        // The first fragment names the call; a server that sent none still gets a stable id.
        id: event.id ?? `call-${event.index}-${this.#blocks++}`,
        name: event.name ?? '',
        kind: event.kind,
        text: '',
        providerData: event.providerData,
      };
      this.#calls.set(event.index, call);
      const start: UIMessageChunk = { type: 'tool-input-start', toolCallId: call.id, toolName: call.name };
      if (call.kind === FREE_FORM_KIND) start.inputEncoding = 'text';
      const fields = callFields(call);
      if (fields) start.providerMetadata = meta(fields);
      out.push(start);
    }
    if (event.argsDelta !== '') {
      call.text += event.argsDelta;
      out.push({ type: 'tool-input-delta', toolCallId: call.id, inputTextDelta: event.argsDelta });
    }
  }

  /** The answer ended: each call's arguments are all there. */
  #closeCalls(out: UIMessageChunk[]): void {
    for (const call of this.#calls.values()) {
      this.#known.add(call.id);
      const fields = callFields(call);
      const parsed = parseInput(call);
      if (parsed.ok) {
        const chunk: UIMessageChunk = { type: 'tool-input-available', toolCallId: call.id, toolName: call.name, input: parsed.value };
        if (fields) chunk.providerMetadata = meta(fields);
        out.push(chunk);
      } else {
        const chunk: UIMessageChunk = { type: 'tool-input-error', toolCallId: call.id, toolName: call.name, input: call.text, errorText: parsed.error };
        if (fields) chunk.providerMetadata = meta(fields);
        out.push(chunk);
      }
    }
    this.#calls = new Map();
  }

  #unknownCall(id: string, what: string): ProtocolError {
    return new ProtocolError(`UIMessageStreamEncoder: a ${what} names call ${JSON.stringify(id)}, which this stream never made.`, undefined, {
      partialText: this.#partial.text,
    });
  }
}

function meta(fields: TokenflowPartMetadata): TokenflowProviderMetadata {
  return { tokenflow: fields };
}

/** The call's fields a later turn needs, when it has any. */
function callFields(call: OpenCall): TokenflowPartMetadata | undefined {
  if (call.kind === undefined && call.providerData === undefined) return undefined;
  const fields: TokenflowPartMetadata = {};
  if (call.kind !== undefined) fields.kind = call.kind;
  if (call.providerData !== undefined) fields.providerData = call.providerData as JSONObject;
  return fields;
}

/** A call's complete arguments as its input: `{}` when empty, as `collect()` and the tool loop read them. */
function parseInput(call: OpenCall): { ok: true; value: unknown } | { ok: false; error: string } {
  if (call.kind === FREE_FORM_KIND) return { ok: true, value: call.text };
  if (call.text.trim() === '') return { ok: true, value: {} };
  try {
    return { ok: true, value: JSON.parse(call.text) as unknown };
  } catch {
    return { ok: false, error: "The tool call's arguments are not valid JSON (an answer cut by max_tokens ends mid-arguments)." };
  }
}

/** A failed call's message as text (the loop's own messages are strings). */
function outputText(output: unknown): string {
  if (typeof output === 'string') return output;
  try {
    return JSON.stringify(output) ?? String(output);
  } catch {
    return String(output);
  }
}
