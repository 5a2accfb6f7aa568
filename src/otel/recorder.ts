/**
 * Turns one token stream into spans and metrics (internal; `traced()` and `tracedProvider()` feed it).
 *
 * Everything is derived from the events, so it works on any stream: a provider's, a retried one, an
 * Agent's tool loop, one read back from SSE. A single answer is one `chat {model}` span (kind CLIENT);
 * a tool loop (its first event is `step-start`) is one `invoke_agent` span (INTERNAL) with a
 * `chat {model}` child per step and an `execute_tool {name}` child per tool call, each timed by the
 * events' own `t` (milliseconds since subscription), so the tree shows when each step and tool ran
 * even for a stream that was relayed.
 *
 * Telemetry never breaks the stream: every call into the tracer, the meter or the exporter behind
 * them is guarded, and after a failure the recorder reports it once (through the API's `diag`
 * logger) and stands aside for the rest of the stream.
 */
import { context, diag, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Histogram, type Span, type Tracer } from '@opentelemetry/api';
import { TokenflowError } from '../errors.js';
import type { AgentResponse, ChatRequest, StopReason, TokenEvent, ToolResultEvent, Usage } from '../events.js';
import { isOutput } from '../operators/internal.js';
import { ResponseBuilder } from '../response-builder.js';
import { isPlainObject } from '../validate.js';
import { inputMessages, outputMessages, systemInstructions, toJson, toolDefinitions } from './content.js';
import {
  AGENT_NAME,
  CONVERSATION_ID,
  ERROR_TYPE,
  errorTypeFor,
  FINISH_REASON_ERROR,
  finishReasonFor,
  INPUT_MESSAGES,
  OPERATION_CHAT,
  OPERATION_EXECUTE_TOOL,
  OPERATION_INVOKE_AGENT,
  OPERATION_NAME,
  OUTPUT_MESSAGES,
  OUTPUT_TYPE,
  PROVIDER_NAME,
  providerNameFor,
  REQUEST_FREQUENCY_PENALTY,
  REQUEST_MAX_TOKENS,
  REQUEST_MODEL,
  REQUEST_PRESENCE_PENALTY,
  REQUEST_SEED,
  REQUEST_STOP_SEQUENCES,
  REQUEST_STREAM,
  REQUEST_TEMPERATURE,
  REQUEST_TOP_K,
  REQUEST_TOP_P,
  RESPONSE_FINISH_REASONS,
  RESPONSE_ID,
  RESPONSE_MODEL,
  RESPONSE_TIME_TO_FIRST_CHUNK,
  SERVER_ADDRESS,
  SERVER_PORT,
  SYSTEM_INSTRUCTIONS,
  TOKEN_TYPE,
  TOKENFLOW_ATTEMPTS,
  TOKENFLOW_CANCELLED,
  TOKENFLOW_CANCELLED_EVENT,
  TOKENFLOW_RESET_EVENT,
  TOKENFLOW_USAGE_ESTIMATED,
  TOOL_CALL_ARGUMENTS,
  TOOL_CALL_ID,
  TOOL_CALL_RESULT,
  TOOL_DEFINITIONS,
  TOOL_ERROR_TYPE,
  TOOL_NAME,
  TOOL_TYPE,
  USAGE_INPUT_TOKENS,
  USAGE_OUTPUT_TOKENS,
} from './conventions.js';
import type { Instruments } from './instruments.js';

/** The host and port a provider was called on. */
export interface ServerInfo {
  address: string;
  port: number | undefined;
}

/** What one recorder works with, resolved at subscription. */
export interface RecorderSetup {
  tracer: Tracer;
  /** `undefined` when the meter is the API's no-op meter. */
  instruments: Instruments | undefined;
  captureContent: boolean;
  /** The `gen_ai.provider.name` to report instead of the stream's own provider. */
  providerName: string | undefined;
  agentName: string | undefined;
  conversationId: string | undefined;
  /** Record `gen_ai.client.operation.time_per_output_chunk`. */
  timePerOutputChunk: boolean;
  /** The request the stream answers, if known (as given: a provider wrapper checks nothing itself). */
  request: unknown;
  /** The server the request went to, once known. */
  server: () => ServerInfo | undefined;
  /** `false` for a provider's non-streaming `complete()`: no time-to-first-chunk figures then. */
  streaming: boolean;
}

/** How an operation ended. */
type Ending = { kind: 'ok' } | { kind: 'error'; error: unknown } | { kind: 'cancel' };

/**
 * Converts the stream's times (`t`, milliseconds since subscription) to span times in milliseconds
 * since the epoch, never later than now nor earlier than the subscription (a relayed stream's times
 * are the server's). One wall-clock anchor per stream, taken at subscription, puts every span of the
 * stream on the same timeline: the SDK anchors each span of its own, which may differ by up to a
 * millisecond and would misorder a tool call and the step before it.
 */
class Clock {
  /** `performance.now()` at subscription. */
  readonly base = performance.now();
  /** The wall-clock time of `performance.now() === 0`, read once. */
  private readonly anchor = Date.now() - this.base;

  at(t: number): number {
    const now = performance.now();
    if (!Number.isFinite(t)) return this.anchor + now;
    const time = this.base + t;
    return this.anchor + (time > now ? now : time < this.base ? this.base : time);
  }

  /** Now, on the same timeline. */
  now(): number {
    return this.anchor + performance.now();
  }
}

/** The `gen_ai.request.*` attributes of a request (read defensively: it may be invalid). */
export function requestAttributes(request: unknown): Attributes {
  const attributes: Attributes = {};
  if (!isPlainObject(request)) return attributes;
  if (typeof request.model === 'string' && request.model !== '') attributes[REQUEST_MODEL] = request.model;
  if (typeof request.maxTokens === 'number') attributes[REQUEST_MAX_TOKENS] = request.maxTokens;
  if (typeof request.temperature === 'number') attributes[REQUEST_TEMPERATURE] = request.temperature;
  if (Array.isArray(request.stop) && request.stop.every((s) => typeof s === 'string')) attributes[REQUEST_STOP_SEQUENCES] = [...(request.stop as string[])];
  if (request.output !== undefined) attributes[OUTPUT_TYPE] = 'json';
  const extra = request.providerOptions;
  if (isPlainObject(extra)) {
    const numbers: Array<[string, string]> = [
      ['top_p', REQUEST_TOP_P],
      ['top_k', REQUEST_TOP_K],
      ['frequency_penalty', REQUEST_FREQUENCY_PENALTY],
      ['presence_penalty', REQUEST_PRESENCE_PENALTY],
      ['seed', REQUEST_SEED],
    ];
    for (const [key, attribute] of numbers) if (typeof extra[key] === 'number') attributes[attribute] = extra[key];
  }
  return attributes;
}

/** The opt-in content attributes of a request (a checked `ChatRequest`; anything else gives none). */
function requestContent(request: unknown): Attributes {
  const attributes: Attributes = {};
  if (!isPlainObject(request) || !Array.isArray(request.messages)) return attributes;
  const checked = request as unknown as ChatRequest;
  const system = systemInstructions(checked);
  if (system !== undefined) attributes[SYSTEM_INSTRUCTIONS] = system;
  attributes[INPUT_MESSAGES] = inputMessages(checked);
  const tools = toolDefinitions(checked);
  if (tools !== undefined) attributes[TOOL_DEFINITIONS] = tools;
  return attributes;
}

/** The usage to report: what was billed when a retry sent the request more than once. */
function reportedUsage(usage: Usage): { input: number; output: number; estimated: boolean; attempts: number | undefined } {
  const billed = usage.billed;
  return billed
    ? { input: billed.inputTokens, output: billed.outputTokens, estimated: billed.estimated, attempts: billed.attempts }
    : { input: usage.inputTokens, output: usage.outputTokens, estimated: usage.estimated, attempts: undefined };
}

function setUsage(span: Span, usage: Usage): void {
  const reported = reportedUsage(usage);
  span.setAttribute(USAGE_INPUT_TOKENS, reported.input);
  span.setAttribute(USAGE_OUTPUT_TOKENS, reported.output);
  if (reported.estimated) span.setAttribute(TOKENFLOW_USAGE_ESTIMATED, true);
  if (reported.attempts !== undefined && reported.attempts > 1) span.setAttribute(TOKENFLOW_ATTEMPTS, reported.attempts);
}

function setError(span: Span, error: unknown): void {
  span.setAttribute(ERROR_TYPE, errorTypeFor(error));
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
  if (error instanceof Error) span.recordException(error);
}

function setCancelled(span: Span, at: number): void {
  span.setAttribute(TOKENFLOW_CANCELLED, true);
  span.addEvent(TOKENFLOW_CANCELLED_EVENT, undefined, at);
}

/** The usage an error carries (what the provider reported, or estimated, before the failure). */
function errorUsage(error: unknown): Usage | undefined {
  return TokenflowError.isInstance(error) ? error.usage : undefined;
}

/**
 * One model request: the `chat {model}` span of a single answer, or of one step of a tool loop, and
 * its metrics. Times passed in are the stream's `t`; `origin` is the `t` the request started at
 * (0 for a single answer, the step's `step-start` in a loop).
 */
class AnswerTrace {
  readonly span: Span;
  private readonly recording: boolean;
  private providerName: string | undefined;
  private readonly requestModel: string | undefined;
  private responseModel: string | undefined;
  private server: ServerInfo | undefined;
  private named: boolean;
  private firstOutput: number | undefined;
  private lastOutput: number | undefined;
  private usage: Usage | undefined;
  private stopReason: StopReason | undefined;
  private doneAt: number | undefined;
  private readonly builder: ResponseBuilder | undefined;
  private metricAttributes: Attributes | undefined;
  /** The per-chunk histogram, when there is a meter and it is wanted. */
  private readonly chunkTimes: Histogram | undefined;
  /** The answer's tool calls by index: what the loop dispatches after the step (ids and names; arguments only with content). */
  readonly calls = new Map<number, { id?: string; name?: string; args: string }>();
  /** The built answer, with content, once the answer finished. */
  response: AgentResponse | undefined;

  constructor(
    private readonly setup: RecorderSetup,
    private readonly clock: Clock,
    parent: Context,
    private readonly origin: number,
    known: { provider?: string; model?: string; request?: unknown; content?: boolean },
  ) {
    const request = known.request;
    const attributes: Attributes = { [OPERATION_NAME]: OPERATION_CHAT };
    this.providerName = setup.providerName ?? (known.provider ? providerNameFor(known.provider) : undefined);
    if (this.providerName !== undefined) attributes[PROVIDER_NAME] = this.providerName;
    Object.assign(attributes, requestAttributes(request));
    this.requestModel = attributes[REQUEST_MODEL] as string | undefined;
    this.server = setup.server();
    if (this.server) {
      attributes[SERVER_ADDRESS] = this.server.address;
      if (this.server.port !== undefined) attributes[SERVER_PORT] = this.server.port;
    }
    if (setup.streaming) attributes[REQUEST_STREAM] = true;
    if (setup.conversationId !== undefined) attributes[CONVERSATION_ID] = setup.conversationId;
    const model = this.requestModel ?? known.model;
    this.named = model !== undefined && model !== '';
    this.span = setup.tracer.startSpan(this.named ? `chat ${model}` : 'chat', { kind: SpanKind.CLIENT, attributes, startTime: clock.at(origin) }, parent);
    this.recording = this.span.isRecording();
    this.chunkTimes = setup.timePerOutputChunk && setup.streaming ? setup.instruments?.timePerOutputChunk : undefined;
    if (this.recording && setup.captureContent) {
      if (request !== undefined && known.content !== false) this.span.setAttributes(requestContent(request));
      this.builder = new ResponseBuilder();
    }
  }

  /** The context the answer's own work runs in (the HTTP request, for instrumentation below). */
  context(parent: Context): Context {
    return trace.setSpan(parent, this.span);
  }

  event(event: TokenEvent): void {
    this.builder?.push(event);
    switch (event.type) {
      case 'start':
        this.started(event.provider, event.model, event.id);
        return;
      case 'usage':
        this.usage = event.usage;
        return;
      case 'done':
        this.done(event.stopReason, event.t);
        return;
      case 'reset':
        // A retry discarded the output so far: the figures start again with the next attempt's, as
        // `collect()`'s do (its time to first token is the successful attempt's).
        this.firstOutput = undefined;
        this.lastOutput = undefined;
        this.usage = undefined;
        this.calls.clear();
        if (this.recording) this.span.addEvent(TOKENFLOW_RESET_EVENT, { 'tokenflow.reset.reason': event.reason }, this.clock.at(event.t));
        return;
      case 'tool-call': {
        let call = this.calls.get(event.index);
        if (!call) this.calls.set(event.index, (call = { args: '' }));
        if (event.id) call.id = event.id;
        if (event.name) call.name = event.name;
        if (this.builder) call.args += event.argsDelta;
        this.output(event.t);
        return;
      }
      default:
        if (isOutput(event)) this.output(event.t);
    }
  }

  started(provider: string, model: string, id: string | undefined): void {
    if (this.providerName === undefined && provider) {
      this.providerName = providerNameFor(provider);
      this.span.setAttribute(PROVIDER_NAME, this.providerName);
    }
    if (model) {
      this.responseModel = model;
      this.span.setAttribute(RESPONSE_MODEL, model);
      if (!this.named) {
        this.span.updateName(`chat ${model}`);
        this.named = true;
      }
    }
    if (id) this.span.setAttribute(RESPONSE_ID, id);
    if (this.server === undefined) {
      // A provider knows where it sent the request once the response arrived.
      this.server = this.setup.server();
      if (this.server) {
        this.span.setAttribute(SERVER_ADDRESS, this.server.address);
        if (this.server.port !== undefined) this.span.setAttribute(SERVER_PORT, this.server.port);
      }
    }
    this.metricAttributes = undefined;
  }

  private output(t: number): void {
    if (this.firstOutput === undefined) this.firstOutput = t;
    else if (this.chunkTimes && this.lastOutput !== undefined) {
      this.chunkTimes.record(Math.max(0, t - this.lastOutput) / 1000, this.metrics());
    }
    this.lastOutput = t;
  }

  done(stopReason: StopReason, t: number): void {
    this.stopReason = stopReason;
    this.doneAt = t;
  }

  /** A step's usage from its `step-finish`, when no `usage` event came before it. */
  usageIfNone(usage: Usage): void {
    this.usage ??= usage;
  }

  /** The attributes every metric of this operation carries (the conventions' `metric_attributes.gen_ai`). */
  private metrics(): Attributes {
    if (this.metricAttributes) return this.metricAttributes;
    const attributes: Attributes = { [OPERATION_NAME]: OPERATION_CHAT };
    if (this.providerName !== undefined) attributes[PROVIDER_NAME] = this.providerName;
    if (this.requestModel !== undefined) attributes[REQUEST_MODEL] = this.requestModel;
    if (this.responseModel !== undefined) attributes[RESPONSE_MODEL] = this.responseModel;
    if (this.server) {
      attributes[SERVER_ADDRESS] = this.server.address;
      if (this.server.port !== undefined) attributes[SERVER_PORT] = this.server.port;
    }
    return (this.metricAttributes = attributes);
  }

  /** A non-streamed answer (`complete()`), as a whole. */
  answered(response: AgentResponse, t: number): void {
    this.started(response.provider, response.model, response.id);
    this.usage = response.usage;
    this.done(response.stopReason, t);
    this.response = response;
  }

  /** Ends the span and records the operation's metrics. */
  finish(ending: Ending): void {
    const span = this.span;
    const end = ending.kind === 'ok' && this.doneAt !== undefined ? this.clock.at(this.doneAt) : this.clock.now();
    const usage = this.usage ?? (ending.kind === 'error' ? errorUsage(ending.error) : undefined);
    const ttft = this.setup.streaming && this.firstOutput !== undefined ? Math.max(0, this.firstOutput - this.origin) / 1000 : undefined;
    const finishReason = ending.kind === 'ok' ? (this.stopReason !== undefined ? finishReasonFor(this.stopReason) : undefined) : FINISH_REASON_ERROR;
    if (this.recording) {
      if (finishReason !== undefined) span.setAttribute(RESPONSE_FINISH_REASONS, [finishReason]);
      if (usage) setUsage(span, usage);
      if (ttft !== undefined) span.setAttribute(RESPONSE_TIME_TO_FIRST_CHUNK, ttft);
      if (this.setup.captureContent) {
        // A failed or cancelled answer's content is what arrived before the end.
        const response = (this.response ??= this.builder?.build());
        if (response) span.setAttribute(OUTPUT_MESSAGES, outputMessages(response, finishReason ?? 'stop'));
      }
      if (ending.kind === 'error') setError(span, ending.error);
      if (ending.kind === 'cancel') setCancelled(span, end);
    }
    span.end(end);

    const instruments = this.setup.instruments;
    if (!instruments) return;
    const attributes = this.metrics();
    // The stream's own figure where it has one (the `t` of `done`), as `metrics().elapsedMs` reports it.
    const seconds = Math.max(0, ending.kind === 'ok' && this.doneAt !== undefined ? this.doneAt - this.origin : end - this.clock.at(this.origin)) / 1000;
    // A cancelled request is no failure and no completed operation either: its duration would skew
    // both, so only its time to first chunk (a true measure) is recorded.
    if (ending.kind === 'ok') instruments.duration.record(seconds, attributes);
    if (ending.kind === 'error') instruments.duration.record(seconds, { ...attributes, [ERROR_TYPE]: errorTypeFor(ending.error) });
    if (ttft !== undefined) instruments.timeToFirstChunk.record(ttft, attributes);
    // Token counts only as the provider reported them: the conventions forbid reporting counts the
    // user did not ask to have estimated (tokenflow's estimate is marked on the span instead).
    if (ending.kind === 'ok' && usage) {
      const reported = reportedUsage(usage);
      if (!reported.estimated) {
        instruments.tokenUsage.record(reported.input, { ...attributes, [TOKEN_TYPE]: 'input' });
        instruments.tokenUsage.record(reported.output, { ...attributes, [TOKEN_TYPE]: 'output' });
      }
    }
  }
}

/** A tool call the loop dispatched and whose result has not come yet. */
interface PendingCall {
  name: string;
  args: string | undefined;
  /** The stream's `t` of the dispatch: the step's `step-finish`. */
  dispatchedAt: number;
}

/**
 * An Agent's tool loop: the `invoke_agent` span, the current step's `chat` span, and an
 * `execute_tool` span for each call once its result arrives.
 */
class LoopTrace {
  readonly span: Span;
  private readonly recording: boolean;
  private readonly context: Context;
  private providerName: string | undefined;
  private step: { number: number; trace: AnswerTrace } | undefined;
  private readonly pending = new Map<string, PendingCall>();
  private usage: Usage | undefined;
  private stopReason: StopReason | undefined;
  private doneAt: number | undefined;
  private lastResponse: AgentResponse | undefined;
  /** A `step-start` was seen: the stream is a tool loop (not a plain answer under an agent's name). */
  private stepped = false;

  constructor(
    private readonly setup: RecorderSetup,
    private readonly clock: Clock,
    parent: Context,
  ) {
    const attributes: Attributes = { [OPERATION_NAME]: OPERATION_INVOKE_AGENT, ...requestAttributes(setup.request) };
    this.providerName = setup.providerName;
    if (this.providerName !== undefined) attributes[PROVIDER_NAME] = this.providerName;
    if (setup.agentName !== undefined) attributes[AGENT_NAME] = setup.agentName;
    if (setup.conversationId !== undefined) attributes[CONVERSATION_ID] = setup.conversationId;
    const name = setup.agentName !== undefined ? `${OPERATION_INVOKE_AGENT} ${setup.agentName}` : OPERATION_INVOKE_AGENT;
    this.span = setup.tracer.startSpan(name, { kind: SpanKind.INTERNAL, attributes, startTime: clock.at(0) }, parent);
    this.recording = this.span.isRecording();
    if (this.recording && setup.captureContent && setup.request !== undefined) this.span.setAttributes(requestContent(setup.request));
    this.context = trace.setSpan(parent, this.span);
  }

  /** The context the loop's own work runs in. */
  inside(): Context {
    return this.context;
  }

  event(event: TokenEvent): void {
    if (!this.stepped && event.type !== 'step-start') {
      this.single(event);
      return;
    }
    switch (event.type) {
      case 'step-start':
        this.stepped = true;
        // A step that never finished (a retry of the whole loop started over) ends here.
        this.step?.trace.finish({ kind: 'cancel' });
        // A step's request is the loop's settings with the conversation so far, which the events do
        // not carry: the step span gets the settings (model, temperature, …), not input messages.
        this.step = {
          number: event.step,
          trace: new AnswerTrace(this.setup, this.clock, this.context, event.t, {
            ...(this.providerName !== undefined ? { provider: this.providerName } : {}),
            request: this.setup.request,
            content: false,
          }),
        };
        return;
      case 'step-finish': {
        const step = this.step;
        if (!step) return;
        step.trace.usageIfNone(event.usage);
        step.trace.done(event.stopReason, event.t);
        step.trace.finish({ kind: 'ok' });
        if (step.trace.response) this.lastResponse = step.trace.response;
        for (const call of step.trace.calls.values()) {
          if (call.id === undefined || call.name === undefined) continue;
          this.pending.set(call.id, { name: call.name, args: this.setup.captureContent ? call.args : undefined, dispatchedAt: event.t });
        }
        this.step = undefined;
        return;
      }
      case 'tool-result':
        this.toolResult(event);
        return;
      case 'reset':
        if (this.step && event.step !== undefined && event.step === this.step.number) {
          this.step.trace.event(event);
          return;
        }
        // The whole loop starts over: what it did so far stands in the trace, marked as discarded.
        if (this.recording) this.span.addEvent(TOKENFLOW_RESET_EVENT, { 'tokenflow.reset.reason': event.reason }, this.clock.at(event.t));
        this.step?.trace.finish({ kind: 'cancel' });
        this.step = undefined;
        this.pending.clear();
        this.usage = undefined;
        return;
      case 'start':
        if (this.providerName === undefined && event.provider) {
          this.providerName = providerNameFor(event.provider);
          this.span.setAttribute(PROVIDER_NAME, this.providerName);
        }
        this.step?.trace.event(event);
        return;
      case 'usage':
        // Inside a step: the step's. After the last step: the loop's sum.
        if (this.step) this.step.trace.event(event);
        else this.usage = event.usage;
        return;
      case 'done':
        this.stopReason = event.stopReason;
        this.doneAt = event.t;
        return;
      default:
        this.step?.trace.event(event);
    }
  }

  /**
   * A plain answer under an agent's name (`traced({ agentName })` on a stream that is no tool loop):
   * the agent made one model call, its `chat` span the loop span's only child.
   */
  private single(event: TokenEvent): void {
    this.step ??= { number: 0, trace: new AnswerTrace(this.setup, this.clock, this.context, 0, { request: this.setup.request }) };
    if (event.type === 'start' && this.providerName === undefined && event.provider) {
      this.providerName = providerNameFor(event.provider);
      this.span.setAttribute(PROVIDER_NAME, this.providerName);
    }
    if (event.type === 'usage') this.usage = event.usage;
    if (event.type === 'done') {
      this.stopReason = event.stopReason;
      this.doneAt = event.t;
    }
    this.step.trace.event(event);
  }

  private toolResult(event: ToolResultEvent): void {
    const call = this.pending.get(event.id);
    this.pending.delete(event.id);
    // Dispatched at the step's end; a call that waited for a free slot (toolConcurrency) started later.
    const started = Math.max(call?.dispatchedAt ?? -Infinity, event.t - (Number.isFinite(event.durationMs) ? event.durationMs : 0));
    const span = this.toolSpan(event.id, event.name, call?.args, started);
    if (span.isRecording()) {
      if (event.isError) {
        span.setAttribute(ERROR_TYPE, TOOL_ERROR_TYPE);
        // What the model was told may quote the input: content, so only with captureContent.
        span.setStatus({ code: SpanStatusCode.ERROR, message: this.setup.captureContent ? outputText(event.output) : 'The tool call failed.' });
      } else if (this.setup.captureContent) {
        span.setAttribute(TOOL_CALL_RESULT, outputText(event.output));
      }
    }
    span.end(this.clock.at(event.t));
  }

  private toolSpan(id: string, name: string, args: string | undefined, startedAt: number): Span {
    const attributes: Attributes = { [OPERATION_NAME]: OPERATION_EXECUTE_TOOL, [TOOL_NAME]: name, [TOOL_CALL_ID]: id, [TOOL_TYPE]: 'function' };
    if (args !== undefined) attributes[TOOL_CALL_ARGUMENTS] = args;
    return this.setup.tracer.startSpan(
      `${OPERATION_EXECUTE_TOOL} ${name}`,
      { kind: SpanKind.INTERNAL, attributes, startTime: this.clock.at(startedAt) },
      this.context,
    );
  }

  finish(ending: Ending): void {
    const end = ending.kind === 'ok' && this.doneAt !== undefined ? this.clock.at(this.doneAt) : this.clock.now();
    // The step under way and the tools still running end with the loop: a failure of a tool
    // (`onToolError: 'throw'`) is that tool's; the others were stopped.
    const step = this.step;
    this.step = undefined;
    if (step) {
      step.trace.finish(ending);
      if (ending.kind === 'ok' && step.trace.response) this.lastResponse = step.trace.response;
    }
    const failedCall = ending.kind === 'error' && TokenflowError.isInstance(ending.error) ? (ending.error as { toolCallId?: unknown }).toolCallId : undefined;
    for (const [id, call] of this.pending) {
      if (ending.kind === 'ok') break; // calls handed back to the application: never run by the loop
      const span = this.toolSpan(id, call.name, call.args, call.dispatchedAt);
      if (span.isRecording()) {
        if (ending.kind === 'error' && id === failedCall) setError(span, ending.error);
        else setCancelled(span, end);
      }
      span.end(end);
    }
    this.pending.clear();

    const span = this.span;
    if (this.recording) {
      const finishReason = ending.kind === 'ok' ? (this.stopReason !== undefined ? finishReasonFor(this.stopReason) : undefined) : FINISH_REASON_ERROR;
      if (finishReason !== undefined) span.setAttribute(RESPONSE_FINISH_REASONS, [finishReason]);
      const usage = this.usage ?? (ending.kind === 'error' ? errorUsage(ending.error) : undefined);
      if (usage) setUsage(span, usage);
      if (this.setup.captureContent && this.lastResponse && ending.kind === 'ok') {
        span.setAttribute(OUTPUT_MESSAGES, outputMessages(this.lastResponse, finishReason ?? 'stop'));
      }
      if (ending.kind === 'error') setError(span, ending.error);
      if (ending.kind === 'cancel') setCancelled(span, end);
    }
    span.end(end);
  }
}

/** A tool's output as an attribute value: a string as it is, anything else as JSON. */
function outputText(output: unknown): string {
  return typeof output === 'string' ? output : toJson(output);
}

/**
 * The telemetry of one subscription to a token stream. Never throws: a failure inside it (a throwing
 * tracer, span processor or exporter) is reported once through `diag` and turns it off.
 */
export class StreamRecorder {
  private readonly clock = new Clock();
  /** The context active at subscription: the parent of the stream's spans. */
  private readonly parent: Context = context.active();
  private answer: AnswerTrace | undefined;
  private loop: LoopTrace | undefined;
  /** Off: nothing to record (no SDK behind the tracer or the meter), or a failure turned it off. */
  private off = false;

  constructor(private readonly setup: RecorderSetup) {}

  /**
   * Starts the `chat` span now, for a stream known to be one answer (a provider's): the HTTP
   * request then runs inside it. Returns the context to subscribe in, or `undefined`.
   */
  begin(known: { provider: string }): Context | undefined {
    return this.guard(() => {
      const answer = (this.answer = new AnswerTrace(this.setup, this.clock, this.parent, 0, { provider: known.provider, request: this.setup.request }));
      if (this.standAside(answer.span)) return undefined;
      return answer.context(this.parent);
    });
  }

  event(event: TokenEvent): void {
    if (this.off) return;
    // Once per event: a try block, not a closure (see guard()).
    try {
      if (this.loop) this.loop.event(event);
      else if (this.answer) this.answer.event(event);
      else this.first(event);
    } catch (error) {
      this.fail(error);
    }
  }

  /**
   * Starts the `invoke_agent` span now, for a stream its caller says is an agent's
   * (`traced({ agentName })`): the loop's requests then run inside it, so the spans an SDK or an
   * HTTP instrumentation makes for them nest under it. Returns the context to subscribe in.
   */
  beginAgent(): Context | undefined {
    return this.guard(() => {
      const loop = (this.loop = new LoopTrace(this.setup, this.clock, this.parent));
      if (this.standAside(loop.span)) return undefined;
      return loop.inside();
    });
  }

  /** A provider's `complete()` answered. */
  answered(response: AgentResponse): void {
    if (this.off) return;
    this.guard(() => {
      const answer = this.answer;
      if (!answer) return;
      answer.answered(response, performance.now() - this.clock.base);
      answer.finish({ kind: 'ok' });
      this.answer = undefined;
    });
  }

  complete(): void {
    this.end({ kind: 'ok' });
  }

  error(error: unknown): void {
    // An error before any event: the request failed before the provider answered.
    if (!this.off && !this.answer && !this.loop) this.guard(() => this.open({ provider: TokenflowError.isInstance(error) ? error.provider : undefined }));
    this.end({ kind: 'error', error });
  }

  cancel(): void {
    this.end({ kind: 'cancel' });
  }

  /** The first event decides the shape: a tool loop begins with `step-start`, an answer with anything else. */
  private first(event: TokenEvent): void {
    if (event.type === 'step-start') {
      const loop = (this.loop = new LoopTrace(this.setup, this.clock, this.parent));
      if (this.standAside(loop.span)) return;
      loop.event(event);
      return;
    }
    const answer = this.open(event.type === 'start' ? { provider: event.provider, model: event.model } : {});
    if (answer && !this.off) answer.event(event);
  }

  private open(known: { provider?: string | undefined; model?: string }): AnswerTrace | undefined {
    const details: { provider?: string; model?: string; request?: unknown } = { request: this.setup.request };
    if (known.provider !== undefined) details.provider = known.provider;
    if (known.model !== undefined) details.model = known.model;
    const answer = (this.answer = new AnswerTrace(this.setup, this.clock, this.parent, 0, details));
    return this.standAside(answer.span) ? undefined : answer;
  }

  /**
   * With no SDK behind the tracer (the span does not record) and the API's no-op meter, there is
   * nothing to record: the recorder turns off and the stream passes through untouched.
   */
  private standAside(span: Span): boolean {
    if (span.isRecording() || this.setup.instruments) return false;
    span.end();
    this.off = true;
    this.answer = undefined;
    this.loop = undefined;
    return true;
  }

  private end(ending: Ending): void {
    if (this.off) return;
    this.guard(() => {
      const answer = this.answer;
      const loop = this.loop;
      this.answer = undefined;
      this.loop = undefined;
      this.off = true;
      answer?.finish(ending);
      loop?.finish(ending);
    });
  }

  private guard<T>(work: () => T): T | undefined {
    try {
      return work();
    } catch (error) {
      this.fail(error);
      return undefined;
    }
  }

  /** Telemetry failed: say so once and stand aside for the rest of the stream. */
  private fail(error: unknown): void {
    this.off = true;
    this.answer = undefined;
    this.loop = undefined;
    try {
      diag.error('tokenflow/otel: recording telemetry failed; the stream goes on without it.', error);
    } catch {
      // A throwing logger is no reason to break the stream either.
    }
  }
}
