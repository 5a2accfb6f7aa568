/**
 * tokenflow events → AG-UI 1.0 events: a pure, stateful mapper for one stream (one AG-UI run), so
 * the `toAGUI()` operator, the HTTP helper and a hub follower replaying stored events all share it.
 */
import type { TokenUsage } from '@ag-ui/core';
import { InvalidArgumentError, ProtocolError } from '../errors.js';
import type { TokenEvent, Usage } from '../events.js';
import { PartialText } from '../internal/partial-text.js';
import { isTokenEvent, serializeError } from '../sse/encode.js';
import { rejectUnknownKeys, requireObject, requireString } from '../validate.js';
import { CUSTOM_NAMES, ET, META_KEY, type AGUIEvent } from './types.js';

/** What every AG-UI run of tokenflow's needs: the ids the client sent in its `RunAgentInput`. */
export interface AGUIEncoderOptions {
  /** The conversation's id (`RunAgentInput.threadId`), echoed in `RUN_STARTED` and `RUN_FINISHED`. */
  threadId: string;
  /** This run's id (`RunAgentInput.runId`), echoed in `RUN_STARTED` and `RUN_FINISHED`. */
  runId: string;
  /**
   * Makes the id of each new message (assistant text, reasoning, tool result) and of a tool call
   * the provider sent without one. Ids must be unique in the thread: the client keys its messages by
   * them.
   * @defaultValue `${runId}-${n}` with n counting from 1
   */
  messageId?: () => string;
}

const ENCODER_KEYS = ['threadId', 'runId', 'messageId'];

/** (internal) Checks the options shared by the encoder, `toAGUI()` and `aguiResponse()`. */
export function checkEncoderOptions(value: Record<string, unknown>, fn: string): AGUIEncoderOptions {
  const threadId = requireString(value.threadId, 'options.threadId');
  const runId = requireString(value.runId, 'options.runId');
  if (value.messageId !== undefined && typeof value.messageId !== 'function') {
    throw new InvalidArgumentError('options.messageId', `${fn}(): options.messageId must be a function () => string that makes a new message id.`);
  }
  const out: AGUIEncoderOptions = { threadId, runId };
  if (value.messageId !== undefined) out.messageId = value.messageId as () => string;
  return out;
}

/** The reasoning message being streamed, and whether any text went into it. */
interface OpenReasoning {
  id: string;
  hasText: boolean;
}

/**
 * Maps one tokenflow stream to the events of one AG-UI run, event by event. Feed it every event in
 * order with {@link AGUIEncoder.push}; a failure of the stream goes to {@link AGUIEncoder.fail}.
 * Both return the AG-UI events to send (0 or more), in the order AG-UI's own `verifyEvents` demands:
 * `RUN_STARTED` first; steps, text messages, reasoning and tool calls opened and closed in pairs;
 * `RUN_FINISHED` (after `done`) or `RUN_ERROR` (after a failure) last.
 *
 * It holds no timers and does no I/O, so a server can run one per client over stored events.
 *
 * @example
 * const encoder = new AGUIEncoder({ threadId: input.threadId, runId: input.runId });
 * tokens$.subscribe({
 *   next: (event) => encoder.push(event).forEach(send),
 *   error: (error) => encoder.fail(error).forEach(send),
 * });
 */
export class AGUIEncoder {
  readonly #threadId: string;
  readonly #runId: string;
  readonly #makeId: () => string;
  readonly #text = new PartialText();
  #counter = 0;
  #started = false;
  #ended = false;
  /** The open `STEP_STARTED`'s step. */
  #step: number | undefined;
  /** The assistant message of the answer under way (its text and the parent of its tool calls). */
  #messageId: string | undefined;
  #textOpen = false;
  #reasoning: OpenReasoning | undefined;
  /** tokenflow's tool-call `index` → the call's AG-UI id, for the answer under way. */
  #calls = new Map<number, string>();
  #openCalls = new Set<string>();
  /** What a reset of the current step, and of the whole run, discards. */
  #stepIds: { messages: string[]; toolCalls: string[] } = { messages: [], toolCalls: [] };
  #runIds: { messages: string[]; toolCalls: string[] } = { messages: [], toolCalls: [] };
  #provider: string | undefined;
  #model: string | undefined;
  #usage: Usage | undefined;

  /**
   * @param options - the run's `threadId` and `runId` (required), and an optional id generator
   * @throws InvalidArgumentError for missing ids or an unknown option
   */
  constructor(options: AGUIEncoderOptions) {
    const o = requireObject(options, 'new AGUIEncoder() options');
    rejectUnknownKeys(o, ENCODER_KEYS, 'new AGUIEncoder() options');
    const checked = checkEncoderOptions(o, 'new AGUIEncoder');
    this.#threadId = checked.threadId;
    this.#runId = checked.runId;
    this.#makeId = checked.messageId ?? (() => `${this.#runId}-${++this.#counter}`);
  }

  /** The answer text so far (a `reset` cuts it back): the partial text of a failure. */
  get text(): string {
    return this.#text.text;
  }

  /** `true` once `RUN_FINISHED` or `RUN_ERROR` was returned: the run is over. */
  get ended(): boolean {
    return this.#ended;
  }

  /**
   * Maps one event of the stream.
   *
   * @param event - the stream's next `TokenEvent`
   * @returns the AG-UI events it becomes, in order (possibly none)
   * @throws InvalidArgumentError for something that is not a `TokenEvent`; ProtocolError for an
   *   event after the run ended
   */
  push(event: TokenEvent): AGUIEvent[] {
    if (!isTokenEvent(event)) {
      throw new InvalidArgumentError('event', 'AGUIEncoder.push(): event must be a TokenEvent (an object whose type is start, token, reasoning, …, done).');
    }
    if (this.#ended) {
      throw new ProtocolError(`A "${event.type}" event came after the stream's done: a tokenflow stream ends at done.`, undefined, { partialText: this.text });
    }
    const out: AGUIEvent[] = [];
    if (!this.#started) {
      this.#started = true;
      const started: AGUIEvent = { type: ET.RUN_STARTED, threadId: this.#threadId, runId: this.#runId };
      // The provider and model are known here only for a plain answer (a loop begins with step-start).
      if (event.type === 'start') started.metadata = { [META_KEY]: { provider: event.provider, model: event.model, ...(event.id === undefined ? {} : { id: event.id }) } };
      out.push(started);
    }
    this.#text.add(event);
    switch (event.type) {
      case 'start':
        this.#provider = event.provider;
        this.#model = event.model;
        break;
      case 'step-start':
        this.#closeAnswer(out);
        if (this.#step !== undefined) out.push({ type: ET.STEP_FINISHED, stepName: stepName(this.#step) });
        this.#step = event.step;
        this.#stepIds = { messages: [], toolCalls: [] };
        out.push({ type: ET.STEP_STARTED, stepName: stepName(event.step) });
        break;
      case 'token':
        // A token's text is never empty by contract; an empty one carries nothing to send.
        if (event.text === '') break;
        this.#closeReasoning(out);
        if (!this.#textOpen) {
          this.#textOpen = true;
          out.push({ type: ET.TEXT_MESSAGE_START, messageId: this.#answerMessage(), role: 'assistant' });
        }
        out.push({ type: ET.TEXT_MESSAGE_CONTENT, messageId: this.#answerMessage(), delta: event.text });
        break;
      case 'reasoning':
        this.#reason(event, out);
        break;
      case 'tool-call': {
        this.#closeReasoning(out);
        let id = this.#calls.get(event.index);
        if (id === undefined) {
          id = event.id ?? this.#newId();
          this.#calls.set(event.index, id);
          this.#openCalls.add(id);
          this.#note('toolCalls', id);
          const extra: Record<string, unknown> = {};
          if (event.kind !== undefined) extra.kind = event.kind;
          if (event.providerData !== undefined) extra.providerData = event.providerData;
          out.push({
            type: ET.TOOL_CALL_START,
            toolCallId: id,
            toolCallName: event.name ?? '',
            parentMessageId: this.#answerMessage(),
            ...(Object.keys(extra).length > 0 ? { metadata: { [META_KEY]: extra } } : {}),
          });
        }
        if (event.argsDelta !== '' && this.#openCalls.has(id)) out.push({ type: ET.TOOL_CALL_ARGS, toolCallId: id, delta: event.argsDelta });
        break;
      }
      case 'provider-tool': {
        this.#closeReasoning(out);
        const value: Record<string, unknown> = { phase: event.phase, id: event.id, name: event.name, block: event.block };
        if (event.input !== undefined) value.input = event.input;
        out.push({ type: ET.CUSTOM, name: CUSTOM_NAMES.providerTool, value });
        break;
      }
      case 'citation':
        out.push({
          type: ET.CUSTOM,
          name: CUSTOM_NAMES.citation,
          value: { citation: event.citation, ...(this.#messageId === undefined ? {} : { messageId: this.#messageId }) },
        });
        break;
      case 'usage':
        // Sent with STEP_FINISHED (a step's) and RUN_FINISHED (the answer's or the loop's sum).
        this.#usage = event.usage;
        break;
      case 'reset': {
        const stepOnly = event.step !== undefined && event.step === this.#step;
        const discarded = stepOnly ? this.#stepIds : this.#runIds;
        this.#closeAnswer(out);
        // A reset of the whole answer starts the loop over at step 0: the open step ends here.
        if (!stepOnly && this.#step !== undefined) {
          out.push({ type: ET.STEP_FINISHED, stepName: stepName(this.#step) });
          this.#step = undefined;
        }
        const value: Record<string, unknown> = { reason: event.reason, discardedMessageIds: [...discarded.messages], discardedToolCallIds: [...discarded.toolCalls] };
        if (event.step !== undefined) value.step = event.step;
        out.push({ type: ET.CUSTOM, name: CUSTOM_NAMES.reset, value });
        if (stepOnly) this.#stepIds = { messages: [], toolCalls: [] };
        else {
          this.#runIds = { messages: [], toolCalls: [] };
          this.#stepIds = { messages: [], toolCalls: [] };
        }
        break;
      }
      case 'tool-result': {
        if (this.#openCalls.delete(event.id)) out.push({ type: ET.TOOL_CALL_END, toolCallId: event.id });
        const json = typeof event.output !== 'string';
        const content = json ? jsonText(event.output, this.text) : (event.output as string);
        const messageId = this.#newId();
        this.#note('messages', messageId);
        out.push({
          type: ET.TOOL_CALL_RESULT,
          messageId,
          toolCallId: event.id,
          content,
          role: 'tool',
          metadata: { [META_KEY]: { name: event.name, step: event.step, isError: event.isError, durationMs: event.durationMs, json } },
        });
        break;
      }
      case 'step-finish':
        this.#closeAnswer(out);
        out.push({
          type: ET.STEP_FINISHED,
          stepName: stepName(event.step),
          metadata: { [META_KEY]: { usage: event.usage, stopReason: event.stopReason } },
        });
        if (this.#step === event.step) this.#step = undefined;
        break;
      case 'done': {
        this.#closeAnswer(out);
        if (this.#step !== undefined) out.push({ type: ET.STEP_FINISHED, stepName: stepName(this.#step) });
        this.#step = undefined;
        const finished: AGUIEvent = {
          type: ET.RUN_FINISHED,
          threadId: this.#threadId,
          runId: this.#runId,
          outcome: { type: 'success' },
          result: { stopReason: event.stopReason, ...(event.refusal === undefined ? {} : { refusal: event.refusal }) },
        };
        const usage = this.#tokenUsage();
        if (usage) {
          finished.usage = [usage];
          if (this.#usage?.estimated) finished.metadata = { [META_KEY]: { usageEstimated: true } };
        }
        out.push(finished);
        this.#ended = true;
        break;
      }
      default:
        event satisfies never;
    }
    return out;
  }

  /**
   * Ends the run with `RUN_ERROR`: the error as tokenflow's SSE relay sanitises it (a fixed message
   * per error class, never upstream text), its class or reason as `code`, and the whole sanitised
   * record, partial text included, under `metadata.tokenflow`.
   *
   * @param error - why the stream failed
   * @returns the events to send (`RUN_STARTED` first if nothing was sent yet); none once the run ended
   */
  fail(error: unknown): AGUIEvent[] {
    if (this.#ended) return [];
    const out: AGUIEvent[] = [];
    if (!this.#started) {
      this.#started = true;
      out.push({ type: ET.RUN_STARTED, threadId: this.#threadId, runId: this.#runId });
    }
    const sent = serializeError(error, this.text);
    const failed: AGUIEvent = { type: ET.RUN_ERROR, message: sent.message, code: sent.reason ?? sent.name, metadata: { [META_KEY]: sent } };
    const usage = this.#tokenUsage();
    if (usage) failed.usage = [usage];
    out.push(failed);
    this.#ended = true;
    return out;
  }

  #reason(event: Extract<TokenEvent, { type: 'reasoning' }>, out: AGUIEvent[]): void {
    if (event.text !== '') {
      const open = this.#openReasoning(out);
      open.hasText = true;
      out.push({ type: ET.REASONING_MESSAGE_CONTENT, messageId: open.id, delta: event.text });
    }
    // A signature or a Responses item's data closes the block under way; a redacted block is whole.
    if (event.redacted !== undefined) {
      this.#closeReasoning(out);
      const open = this.#openReasoning(out);
      out.push(encrypted(open.id, event.redacted, { kind: 'redacted' }));
      this.#closeReasoning(out);
    }
    if (event.signature !== undefined || event.providerData !== undefined) {
      const open = this.#openReasoning(out);
      if (event.signature !== undefined) out.push(encrypted(open.id, event.signature, { kind: 'signature' }));
      if (event.providerData !== undefined) {
        const secret = event.providerData.encrypted_content;
        out.push(encrypted(open.id, typeof secret === 'string' ? secret : '', { kind: 'providerData', providerData: event.providerData }));
      }
      this.#closeReasoning(out);
    }
  }

  #openReasoning(out: AGUIEvent[]): OpenReasoning {
    if (this.#reasoning) return this.#reasoning;
    const id = this.#newId();
    this.#note('messages', id);
    this.#reasoning = { id, hasText: false };
    out.push({ type: ET.REASONING_START, messageId: id }, { type: ET.REASONING_MESSAGE_START, messageId: id, role: 'reasoning' });
    return this.#reasoning;
  }

  #closeReasoning(out: AGUIEvent[]): void {
    const open = this.#reasoning;
    if (!open) return;
    this.#reasoning = undefined;
    out.push({ type: ET.REASONING_MESSAGE_END, messageId: open.id }, { type: ET.REASONING_END, messageId: open.id });
  }

  /** Closes everything the answer under way has open: its reasoning, its tool calls, its text. */
  #closeAnswer(out: AGUIEvent[]): void {
    this.#closeReasoning(out);
    for (const id of this.#openCalls) out.push({ type: ET.TOOL_CALL_END, toolCallId: id });
    this.#openCalls.clear();
    this.#calls.clear();
    if (this.#textOpen && this.#messageId !== undefined) out.push({ type: ET.TEXT_MESSAGE_END, messageId: this.#messageId });
    this.#textOpen = false;
    // The next answer (a step, or the answer again after a reset) is a new assistant message.
    this.#messageId = undefined;
  }

  #answerMessage(): string {
    if (this.#messageId === undefined) {
      this.#messageId = this.#newId();
      this.#note('messages', this.#messageId);
    }
    return this.#messageId;
  }

  #note(kind: 'messages' | 'toolCalls', id: string): void {
    this.#stepIds[kind].push(id);
    this.#runIds[kind].push(id);
  }

  #newId(): string {
    const id = this.#makeId();
    if (typeof id !== 'string' || id === '') {
      throw new InvalidArgumentError('options.messageId', `options.messageId must return a non-empty string, got ${typeof id === 'string' ? "''" : typeof id}.`, {
        partialText: this.text,
      });
    }
    return id;
  }

  #tokenUsage(): TokenUsage | undefined {
    const u = this.#usage;
    if (!u) return undefined;
    const usage: TokenUsage = { inputTokens: u.inputTokens, outputTokens: u.outputTokens, totalTokens: u.inputTokens + u.outputTokens };
    if (this.#provider !== undefined) usage.provider = this.#provider;
    if (this.#model !== undefined) usage.model = this.#model;
    return usage;
  }
}

/** The AG-UI step name of a tool-loop step: `step-0`, `step-1`, … (`fromAGUI()` reads it back). */
export function stepName(step: number): string {
  return `step-${step}`;
}

function encrypted(entityId: string, value: string, meta: Record<string, unknown>): AGUIEvent {
  return { type: ET.REASONING_ENCRYPTED_VALUE, subtype: 'message', entityId, encryptedValue: value, metadata: { [META_KEY]: meta } };
}

/** A tool's output as TOOL_CALL_RESULT's `content` string (tokenflow outputs are JSON-serializable). */
function jsonText(output: unknown, partialText: string): string {
  try {
    return JSON.stringify(output) ?? 'null';
  } catch (cause) {
    throw new ProtocolError('A tool-result output is not JSON-serializable, so it cannot be sent as TOOL_CALL_RESULT content.', undefined, { partialText, cause });
  }
}
