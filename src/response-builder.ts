/**
 * Folds `TokenEvent`s into one `AgentResponse`. Shared by `collect()` and the adapters'
 * non-streaming `complete()`, so a streamed and a non-streamed answer have the very same shape.
 * A tool loop's stream (`step-start` … `step-finish`, `tool-result`, then one `done`) folds into the
 * loop's result: each step's own answer in `steps`, the last step's text as `content`.
 */
import { estimateTokens } from './estimate.js';
import type {
  AgentResponse,
  AssistantContentPart,
  AssistantMessage,
  ChatMessage,
  InterTokenGaps,
  ServerTimings,
  StopReason,
  StreamMetrics,
  TokenEvent,
  ProviderToolCall,
  ReasoningBlock,
  ToolCall,
  ToolCallPart,
  ToolResult,
  ToolResultPart,
  Usage,
} from './events.js';

/**
 * A tool's output as the model gets it in a tool result: a string as it is, anything else as JSON
 * (`undefined` as `null`). Throws what `JSON.stringify` throws (a cycle, a `bigint`).
 */
export function toolOutputText(output: unknown): string {
  if (typeof output === 'string') return output;
  const json = JSON.stringify(output === undefined ? null : output) as string | undefined;
  if (json === undefined) throw new TypeError(`a ${typeof output} is not JSON`);
  return json;
}

/**
 * A finished step of a folded tool loop. Its answer is built when the loop's is (or its message is
 * asked for), not at `step-finish`: a loop whose result nobody reads never joins or measures a step.
 */
interface FinishedStep {
  builder: ResponseBuilder;
  /** The step's figures as `step-finish` reported them (they replace the builder's). */
  metrics: StreamMetrics | undefined;
  /** The `tool-result`s answering the step's calls, in arrival order. */
  toolResults: ToolResult[] | undefined;
  /** The built answer, once asked for: built once, so repeated `build()`s return the same objects. */
  response: AgentResponse | undefined;
}

/** The tool loop's state while a loop stream is folded (see {@link ResponseBuilder}). */
interface LoopFold {
  /** The finished steps. */
  steps: FinishedStep[];
  /** The step under way, fed its events with `t` counted from its `step-start`. */
  current: ResponseBuilder | undefined;
  /** `t` of the current step's `step-start`. */
  offset: number;
  /** The current step's number (its `step-start`'s `step`). */
  step: number | undefined;
  /** The loop's text length at the current step's `step-start`: what a reset of that step cuts back to. */
  mark: number | undefined;
  /**
   * `t` (the loop's, as sent) of the first and the latest token the step under way holds, until the
   * loop takes them (`absorb`): the loop's first token and its gaps between steps are exactly the
   * events' times and differences. (Gaps within a step are the step's, differences of its times
   * shifted back by `offset`: equal to the events' to within rounding, about 1e-12 ms.)
   */
  firstHeld: number | undefined;
  lastHeld: number;
}

/** A block of reasoning text, closed by a signature (Anthropic) or the provider's data (Responses). */
interface TextReasoning {
  text: string;
  signature?: string;
  providerData?: Record<string, unknown>;
}

/**
 * One piece of the answer in the order it came, for `AgentResponse.message`: a run of text (a range
 * of the text's characters), a reasoning block (signed, with provider data, or redacted once
 * finished), a tool call, or a provider tool's call or result.
 */
type Piece =
  | { kind: 'text'; from: number; to: number }
  | { kind: 'reasoning'; block: TextReasoning | { redacted: string } }
  | { kind: 'tool'; call: ToolCall }
  | { kind: 'provider'; phase: 'call' | 'result'; id: string; name: string; block: Record<string, unknown> };

/**
 * Accumulates one answer. Text grows by `+=` (V8 keeps it as a rope, flattened once when read),
 * measured at about half the cost of collecting parts and joining them, and the pieces of the
 * message are ranges of it, so building the answer joins nothing.
 */
export class ResponseBuilder {
  /**
   * @param keepText - `false` for a fold that only reports figures (`progress()`): the text and the
   *   message's pieces are never kept, so a token costs no string or range, and {@link text},
   *   {@link build} and {@link message} throw
   */
  constructor(private readonly keepText = true) {}

  private content = '';
  /** The answer's pieces in order; a text piece grows while tokens follow each other. */
  private pieces: Piece[] = [];
  /** The text piece tokens extend, until something else comes between. */
  private openText: { kind: 'text'; from: number; to: number } | undefined;
  private reasoningParts: string[] = [];
  private tools: ToolCall[] = [];
  private providerTools: ProviderToolCall[] = [];
  private citations: Record<string, unknown>[] = [];
  /**
   * Reasoning split at signatures, provider data and redacted blocks; kept only when the provider
   * signs or sends such data (`signed`).
   */
  private reasoningBlocks: ReasoningBlock[] = [];
  private openReasoning: TextReasoning | undefined;
  private signed = false;
  private chars = 0;
  /** Characters of reasoning and tool-call arguments: output too, for the live rate's estimate. */
  private otherChars = 0;
  private tokens = 0;
  private firstTokenAt: number | undefined;
  /** `t` of the first output of any kind (text, reasoning, a tool call): where generation began. */
  private firstOutputAt: number | undefined;
  private lastTokenAt = 0;
  /** Gaps between consecutive tokens (ms); numbers in a packed array, no per-token objects. */
  private gaps: number[] = [];
  private usage: Usage | undefined;
  private serverTimings: ServerTimings | undefined;
  private provider = '';
  private model = '';
  private id: string | undefined;
  private stopReason: StopReason | undefined;
  private refusal: string | undefined;
  private doneAt = 0;
  /** Set by the first `step-start`: the stream is a tool loop's. */
  private loop: LoopFold | undefined;

  /** `true` once a `done` event was seen. */
  get done(): boolean {
    return this.stopReason !== undefined;
  }

  /** The answer text so far. */
  text(): string {
    this.assertText('text');
    const step = this.loop?.current;
    return step ? this.content + step.content : this.content;
  }

  push(event: TokenEvent): void {
    // The event nearly every push is, on its own small path (see `pushToken`).
    if (event.type === 'token' && this.loop === undefined) {
      this.pushToken(event.text, event.t);
      return;
    }
    if (this.loop || event.type === 'step-start') {
      this.pushLoop(event);
      return;
    }
    this.pushAnswer(event, event.t);
  }

  /**
   * A tool loop's event: a step's own events go to that step's builder (its text and timing join
   * this one's when the step ends, for the loop's text and metrics); tool results go to the step
   * they answer.
   */
  private pushLoop(event: TokenEvent): void {
    const loop = (this.loop ??= { steps: [], current: undefined, offset: 0, step: undefined, mark: undefined, firstHeld: undefined, lastHeld: 0 });
    // A step's builder gets the step's own time as an argument, not a copy of the event: a step
    // never holds a step (its `step-start` opens a new one here), so it only ever folds an answer.
    // A step's tokens go to its builder alone: the loop's own figures (text, count, first token,
    // gaps) take the step's in one go when it ends or starts over (`absorb`), not token by token.
    switch (event.type) {
      case 'token':
        if (this.firstOutputAt === undefined) this.firstOutputAt = event.t;
        if (loop.current) {
          if (loop.firstHeld === undefined) loop.firstHeld = event.t;
          loop.lastHeld = event.t;
          loop.current.pushToken(event.text, event.t - loop.offset);
        } else this.pushToken(event.text, event.t);
        return;
      case 'step-start':
        // Step N (re)starts: any steps from N on are void. Only a retry of the whole loop, which
        // starts over at step 0 after its `reset`, makes this cut anything.
        if (loop.steps.length > event.step) loop.steps.length = event.step;
        if (loop.current) this.absorb(loop);
        loop.current = new ResponseBuilder(this.keepText);
        loop.offset = event.t;
        loop.step = event.step;
        this.openText = undefined;
        loop.mark = this.content.length;
        return;
      case 'step-finish': {
        const current = loop.current;
        if (!current) return;
        current.pushAnswer({ type: 'done', stopReason: event.stopReason, t: event.t - loop.offset }, event.t - loop.offset);
        this.absorb(loop);
        loop.steps.push({ builder: current, metrics: event.metrics, toolResults: undefined, response: undefined });
        return;
      }
      case 'tool-result': {
        const step = loop.steps.at(-1);
        if (!step) return;
        const result: ToolResult = { id: event.id, name: event.name, output: event.output, isError: event.isError, durationMs: event.durationMs };
        (step.toolResults ??= []).push(result);
        if (step.response) (step.response.toolResults ??= []).push(result);
        return;
      }
      case 'usage':
        // Inside a step: the step's usage. After the last step: the loop's sum.
        if (loop.current) loop.current.pushAnswer(event, event.t - loop.offset);
        else this.pushAnswer(event, event.t);
        return;
      case 'done':
        // A step cut off without its `step-finish` still counts in the loop's figures.
        if (loop.current) this.absorb(loop);
        this.pushAnswer(event, event.t);
        return;
      case 'reasoning':
      case 'tool-call':
      case 'provider-tool':
        loop.current?.pushAnswer(event, event.t - loop.offset);
        // The loop's own figures: the first output's time and the characters of all output.
        if (this.firstOutputAt === undefined) this.firstOutputAt = event.t;
        if (event.type === 'reasoning') this.otherChars += event.text.length;
        if (event.type === 'tool-call') this.otherChars += event.argsDelta.length;
        return;
      case 'start':
        loop.current?.pushAnswer(event, event.t - loop.offset);
        this.pushAnswer(event, event.t); // the provider, for errors' context
        return;
      case 'reset': {
        const mark = loop.mark;
        const stepReset = mark !== undefined && event.step !== undefined && event.step === loop.step;
        // The step under way starts over either way. The loop's own figures (tokens, gaps) keep
        // counting every token since subscription, as across steps: they take the step's first.
        const current = loop.current;
        if (current) {
          this.absorbFigures(loop, current);
          current.pushAnswer(event, event.t - loop.offset);
        }
        // A step's reset (its request was retried) cuts its text off; the steps before it stand.
        // Any other empties the text: the whole answer starts over (its steps go at the next `step-start`).
        this.content = stepReset ? this.content.slice(0, mark) : '';
        this.pieces.length = 0;
        this.openText = undefined;
        // What is left of the step under way, if it goes on, starts where the text now ends.
        if (!stepReset && mark !== undefined) loop.mark = 0;
        return;
      }
      default:
        loop.current?.pushAnswer(event, event.t - loop.offset);
        return;
    }
  }

  /** The step under way ends (or gives way to another): its text and figures join the loop's. */
  private absorb(loop: LoopFold): void {
    const step = loop.current;
    if (!step) return;
    this.content += step.content;
    this.absorbFigures(loop, step);
    loop.current = undefined;
  }

  /** The tokens the step under way holds: their count, characters, first token and gaps added to the loop's. */
  private absorbFigures(loop: LoopFold, step: ResponseBuilder): void {
    const first = loop.firstHeld;
    if (first === undefined) return;
    loop.firstHeld = undefined;
    if (this.firstTokenAt === undefined) this.firstTokenAt = first;
    else this.gaps.push(first - this.lastTokenAt);
    const gaps = step.gaps;
    for (let i = 0; i < gaps.length; i++) this.gaps.push(gaps[i]!);
    this.lastTokenAt = loop.lastHeld;
    this.tokens += step.tokens;
    this.chars += step.chars;
  }

  /** A step's answer, built on first use (see {@link FinishedStep}). */
  private static stepResponse(step: FinishedStep): AgentResponse {
    if (step.response) return step.response;
    const response = step.builder.build(step.metrics);
    if (step.toolResults) response.toolResults = [...step.toolResults];
    step.response = response;
    return response;
  }

  /**
   * A token of an answer: its own small method, apart from the switch over every kind of event, so
   * the engine optimizes it early (a short-lived process reads only a few answers).
   */
  private pushToken(text: string, t: number): void {
    if (this.firstTokenAt === undefined) {
      this.firstTokenAt = t;
      if (this.firstOutputAt === undefined) this.firstOutputAt = t;
    } else this.gaps.push(t - this.lastTokenAt);
    this.lastTokenAt = t;
    if (this.keepText) {
      const from = this.content.length;
      this.content += text;
      if (this.openText) this.openText.to = this.content.length;
      else this.pieces.push((this.openText = { kind: 'text', from, to: this.content.length }));
    }
    this.chars += text.length;
    this.tokens++;
  }

  /** One event of an answer, `t` its time in this answer (a loop's step counts from its `step-start`). */
  private pushAnswer(event: TokenEvent, t: number): void {
    switch (event.type) {
      case 'token':
        this.pushToken(event.text, t);
        return;
      case 'reasoning':
        if (this.firstOutputAt === undefined) this.firstOutputAt = t;
        this.otherChars += event.text.length;
        this.pushReasoning(event.text, event.signature, event.redacted, event.providerData);
        return;
      case 'tool-call': {
        if (this.firstOutputAt === undefined) this.firstOutputAt = t;
        this.otherChars += event.argsDelta.length;
        let call = this.tools.find((c) => c.index === event.index);
        if (!call) {
          call = { index: event.index, arguments: '' };
          this.tools.push(call);
          this.openText = undefined;
          this.pieces.push({ kind: 'tool', call });
        }
        if (event.id) call.id = event.id;
        if (event.name) call.name = event.name;
        if (event.kind) call.kind = event.kind;
        if (event.providerData) call.providerData = event.providerData;
        call.arguments += event.argsDelta;
        return;
      }
      case 'provider-tool': {
        if (this.firstOutputAt === undefined) this.firstOutputAt = t;
        this.openText = undefined;
        this.pieces.push({ kind: 'provider', phase: event.phase, id: event.id, name: event.name, block: event.block });
        if (event.phase === 'call') {
          const call: ProviderToolCall = { id: event.id, name: event.name, call: event.block };
          if (event.input !== undefined) call.input = event.input;
          this.providerTools.push(call);
        } else {
          const call = this.providerTools.find((c) => c.id === event.id && c.result === undefined);
          if (call) call.result = event.block;
          else this.providerTools.push({ id: event.id, name: event.name, call: {}, result: event.block });
        }
        return;
      }
      case 'citation':
        this.citations.push(event.citation);
        return;
      case 'start':
        this.provider = event.provider;
        this.model = event.model;
        if (event.id) this.id = event.id;
        return;
      case 'usage':
        this.usage = event.usage;
        // After a mid-stream retry the one `start` is the first attempt's: the answer's id rides here.
        if (event.usage.billed?.answerId) this.id = event.usage.billed.answerId;
        if (event.serverTimings) this.serverTimings = event.serverTimings;
        return;
      case 'done':
        this.stopReason = event.stopReason;
        if (event.refusal) this.refusal = event.refusal;
        this.doneAt = t;
        return;
      case 'reset':
        this.content = '';
        this.pieces = [];
        this.openText = undefined;
        this.reasoningParts = [];
        this.reasoningBlocks = [];
        this.openReasoning = undefined;
        this.signed = false;
        this.tools = [];
        this.providerTools = [];
        this.citations = [];
        this.chars = 0;
        this.otherChars = 0;
        this.tokens = 0;
        this.firstTokenAt = undefined;
        this.firstOutputAt = undefined;
        this.gaps = [];
        this.usage = undefined;
        return;
    }
  }

  /**
   * Live figures at time `t` (ms since subscription), cheap enough for every token: no text join,
   * no sorting. Tokens per second are estimated from the characters of all output (text, reasoning,
   * tool-call arguments) since the first output of any kind, until the provider's count arrives.
   */
  live(t: number): StreamMetrics {
    const first = this.firstOutputAt;
    const span = first !== undefined ? t - first : 0;
    let tokens = this.tokens;
    let chars = this.chars;
    let ttftMs = this.firstTokenAt;
    // A loop's step under way holds its own tokens until it ends (see `absorb`).
    const loop = this.loop;
    const step = loop?.current;
    if (loop && step) {
      tokens += step.tokens;
      chars += step.chars;
      if (ttftMs === undefined) ttftMs = loop.firstHeld;
    }
    return {
      ttftMs,
      elapsedMs: t,
      tokens,
      tokensPerSecond: span > 0 ? (estimateTokens(chars + this.otherChars) * 1000) / span : undefined,
      chars,
    };
  }

  /** The final figures. Call after `done`. */
  metrics(): StreamMetrics {
    const usage = this.finalUsage();
    const first = this.firstOutputAt;
    // Generation rate from the first output of any kind (reasoning and tool calls are output tokens
    // too) to the end; a one-chunk answer counts from the start.
    const span = first !== undefined && this.doneAt > first ? this.doneAt - first : this.doneAt;
    const metrics: StreamMetrics = {
      ttftMs: this.firstTokenAt,
      elapsedMs: this.doneAt,
      tokens: this.tokens,
      tokensPerSecond: span > 0 && usage.outputTokens > 0 ? (usage.outputTokens * 1000) / span : undefined,
      chars: this.chars,
    };
    const gaps = gapStats(this.gaps);
    if (gaps) metrics.interTokenGaps = gaps;
    if (this.serverTimings) metrics.serverTimings = this.serverTimings;
    return metrics;
  }

  /**
   * The finished answer. Call after `done`.
   *
   * @param metrics - figures to report instead of this builder's (a loop's step, whose
   *   `step-finish` carries them): the gaps are then never sorted here
   */
  build(metrics?: StreamMetrics): AgentResponse {
    this.assertText('build');
    if (this.loop) return this.buildLoop(this.loop);
    const response: AgentResponse = {
      content: this.content,
      message: this.message(),
      usage: this.finalUsage(),
      stopReason: this.stopReason ?? 'other',
      metrics: metrics ?? this.metrics(),
      provider: this.provider,
      model: this.model,
    };
    if (this.reasoningParts.length > 0) response.reasoning = this.reasoningParts.join('');
    if (this.signed) {
      response.reasoningBlocks = this.openReasoning ? [...this.reasoningBlocks, this.openReasoning] : this.reasoningBlocks;
    }
    if (this.tools.length > 0) response.toolCalls = this.tools;
    if (this.providerTools.length > 0) response.providerTools = this.providerTools;
    if (this.citations.length > 0) response.citations = this.citations;
    if (this.refusal) response.refusal = this.refusal;
    if (this.id) response.id = this.id;
    return response;
  }

  /**
   * A tool loop's result: the last step's answer, with every step in `steps`, the usage summed over
   * the steps (the loop's final `usage` event), metrics over the whole loop and the messages the loop
   * added to the conversation.
   */
  private buildLoop(loop: LoopFold): AgentResponse {
    const steps = loop.steps.map(ResponseBuilder.stepResponse);
    const last = steps.at(-1);
    const response: AgentResponse = {
      ...(last ?? { content: '', message: { role: 'assistant', content: '' }, provider: '', model: '' }),
      usage: this.usage ?? sumUsage(steps.map((s) => s.usage)),
      stopReason: this.stopReason ?? last?.stopReason ?? 'other',
      metrics: this.metrics(),
      steps,
      messages: loopMessages(steps),
    };
    delete response.toolResults;
    if (this.refusal) response.refusal = this.refusal;
    return response;
  }

  /**
   * The answer as an assistant turn: its pieces in order, or the text alone as a string. Reasoning
   * goes only signed or redacted (unsigned reasoning no API takes back); a tool call only as a
   * function call whose arguments are JSON (`{}` when empty).
   */
  message(): AssistantMessage {
    this.assertText('message');
    const lastStep = this.loop?.steps.at(-1);
    if (lastStep) return ResponseBuilder.stepResponse(lastStep).message;
    const content: AssistantContentPart[] = [];
    let onlyText = true;
    for (const piece of this.pieces) {
      switch (piece.kind) {
        case 'text':
          content.push({ type: 'text', text: this.content.slice(piece.from, piece.to) });
          break;
        case 'reasoning': {
          const block = piece.block;
          if ('redacted' in block) content.push({ type: 'reasoning', text: '', redacted: block.redacted });
          else if (block.signature !== undefined || block.providerData !== undefined) content.push({ type: 'reasoning', ...block });
          else break;
          onlyText = false;
          break;
        }
        case 'tool': {
          const call = piece.call;
          const input = call.id && call.name && call.kind === undefined ? parseArguments(call.arguments) : undefined;
          if (input === undefined || !call.id || !call.name) break;
          const part: ToolCallPart = { type: 'tool-call', id: call.id, name: call.name, input: input.value };
          if (call.providerData) part.providerData = call.providerData;
          content.push(part);
          onlyText = false;
          break;
        }
        case 'provider':
          content.push({ type: 'provider-tool', phase: piece.phase, id: piece.id, name: piece.name, block: piece.block });
          onlyText = false;
          break;
      }
    }
    if (onlyText) return { role: 'assistant', content: this.content };
    return { role: 'assistant', content: mergeText(content) };
  }

  /**
   * Reasoning text joins the open block; a signature or the provider's data closes it (an empty
   * block when none is open: a Responses item without a summary); redacted data is a block of its own.
   */
  private pushReasoning(
    text: string,
    signature: string | undefined,
    redacted: string | undefined,
    providerData: Record<string, unknown> | undefined,
  ): void {
    if (text) {
      this.reasoningParts.push(text);
      if (this.openReasoning) this.openReasoning.text += text;
      else this.openBlock({ text });
    }
    if (signature !== undefined || providerData !== undefined) {
      this.signed = true;
      const block = this.openReasoning ?? this.openBlock({ text: '' });
      if (signature !== undefined) block.signature = signature;
      if (providerData !== undefined) block.providerData = providerData;
      this.reasoningBlocks.push(block);
      this.openReasoning = undefined;
    }
    if (redacted !== undefined) {
      this.signed = true;
      if (this.openReasoning) this.reasoningBlocks.push(this.openReasoning);
      this.openReasoning = undefined;
      const block = { redacted };
      this.reasoningBlocks.push(block);
      this.openText = undefined;
      this.pieces.push({ kind: 'reasoning', block });
    }
  }

  /** Opens a reasoning block where the answer is now (the message keeps it there once it is closed). */
  private openBlock(block: TextReasoning): TextReasoning {
    this.openReasoning = block;
    this.openText = undefined;
    this.pieces.push({ kind: 'reasoning', block });
    return block;
  }

  /** The provider's usage, once its `usage` event arrived. */
  reportedUsage(): Usage | undefined {
    return this.usage;
  }

  /** The provider that answered, from `start`. */
  providerName(): string | undefined {
    return this.provider || undefined;
  }

  /** A figures-only builder holds no text: asking it for the answer is a bug in tokenflow, never an empty answer. */
  private assertText(method: string): void {
    if (!this.keepText) throw new Error(`ResponseBuilder.${method}(): this builder was made without its text (keepText = false).`);
  }

  private finalUsage(): Usage {
    return this.usage ?? { inputTokens: 0, outputTokens: 0, estimated: true };
  }
}

/** Usage added up over a loop's steps: estimated when any step's was. */
export function sumUsage(usages: readonly Usage[]): Usage {
  const sum: Usage = { inputTokens: 0, outputTokens: 0, estimated: false };
  for (const u of usages) {
    sum.inputTokens += u.inputTokens;
    sum.outputTokens += u.outputTokens;
    if (u.estimated) sum.estimated = true;
  }
  if (usages.length === 0) sum.estimated = true;
  return sum;
}

/**
 * The tool turn answering a step's calls: its results in the order of the calls in the step's
 * message (results arrive in completion order). `undefined` when the step has no results.
 */
export function toolMessage(step: Pick<AgentResponse, 'message' | 'toolResults'>): ChatMessage | undefined {
  const results = step.toolResults;
  if (!results || results.length === 0) return undefined;
  const order = typeof step.message.content === 'string' ? [] : step.message.content.flatMap((p) => (p.type === 'tool-call' ? [p.id] : []));
  const sorted = [...results].sort((a, b) => order.indexOf(a.id) - order.indexOf(b.id));
  return {
    role: 'tool',
    content: sorted.map((r): ToolResultPart => {
      const part: ToolResultPart = { type: 'tool-result', toolCallId: r.id, name: r.name, output: safeOutputText(r.output) };
      if (r.isError) part.isError = true;
      return part;
    }),
  };
}

/** Every message a loop added after the user's: each step's assistant turn and its tool turn. */
function loopMessages(steps: readonly AgentResponse[]): ChatMessage[] {
  const messages: ChatMessage[] = [];
  for (const step of steps) {
    messages.push(step.message);
    const tools = toolMessage(step);
    if (tools) messages.push(tools);
  }
  return messages;
}

/** {@link toolOutputText}, for an output that already crossed JSON (an event): never throws. */
function safeOutputText(output: unknown): string {
  try {
    return toolOutputText(output);
  } catch {
    return String(output);
  }
}

/** A function call's arguments as its input (`{}` for none); `undefined` when they are not JSON (a cut answer). */
function parseArguments(text: string): { value: unknown } | undefined {
  if (text.trim() === '') return { value: {} };
  try {
    return { value: JSON.parse(text) as unknown };
  } catch {
    return undefined;
  }
}

/** Joins text parts that ended up next to each other (a piece left out between them). */
export function mergeText(content: AssistantContentPart[]): AssistantContentPart[] {
  const merged: AssistantContentPart[] = [];
  for (const part of content) {
    const last = merged.at(-1);
    if (part.type === 'text' && last?.type === 'text') merged[merged.length - 1] = { type: 'text', text: last.text + part.text };
    else merged.push(part);
  }
  return merged;
}

/**
 * Median, 90th percentile (nearest rank) and maximum of the gaps, or `undefined` without any.
 *
 * Finds the two ranks by selection, not by sorting: a 2,000-token answer's gaps sorted as a
 * `Float64Array` cost about 110 µs (measured on Node 20), about as much as folding the answer, and
 * every step and the loop measure theirs. The figures are exactly the sorted array's: a NaN or a
 * `-0` (which `<` cannot place as the typed array's sort does) falls back to the sort.
 */
function gapStats(gaps: readonly number[]): InterTokenGaps | undefined {
  const n = gaps.length;
  if (n === 0) return undefined;
  const values = new Float64Array(gaps);
  const mid = n >> 1;
  const p90 = Math.min(n - 1, Math.ceil(0.9 * n) - 1);
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    if (v !== v || Object.is(v, -0)) return sortedGapStats(values);
    if (v > max) max = v;
  }
  // p90 >= mid for every n: its rank lies in the part at or after the median's.
  if (!select(values, mid, 0, n - 1) || !select(values, p90, mid, n - 1)) return sortedGapStats(values);
  let median = values[mid]!;
  if (n % 2 === 0) {
    // The rank below the median is the largest of the part before it.
    let below = -Infinity;
    for (let i = 0; i < mid; i++) if (values[i]! > below) below = values[i]!;
    median = (below + median) / 2;
  }
  return { medianMs: median, p90Ms: values[p90]!, maxMs: max };
}

/** {@link gapStats} by sorting (the values in any order). */
function sortedGapStats(values: Float64Array): InterTokenGaps {
  const sorted = values.sort();
  const rank = (q: number): number => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { medianMs: median, p90Ms: rank(0.9), maxMs: sorted[sorted.length - 1]! };
}

/**
 * Moves the `k`-th smallest of `values[lo..hi]` to index `k`, smaller ones before it and larger
 * ones after (quickselect, three-way partition so runs of equal gaps, common when tokens share a
 * network chunk, take one pass). `false` when it gave up on a pathological order (the caller sorts).
 */
function select(values: Float64Array, k: number, lo: number, hi: number): boolean {
  for (let rounds = 0; hi > lo; rounds++) {
    if (rounds > 64) return false;
    const a = values[lo]!;
    const b = values[(lo + hi) >> 1]!;
    const c = values[hi]!;
    const pivot = a < b ? (b < c ? b : a < c ? c : a) : a < c ? a : b < c ? c : b;
    let lt = lo;
    let i = lo;
    let gt = hi;
    while (i <= gt) {
      const v = values[i]!;
      if (v < pivot) {
        values[i] = values[lt]!;
        values[lt++] = v;
        i++;
      } else if (v > pivot) {
        values[i] = values[gt]!;
        values[gt--] = v;
      } else i++;
    }
    if (k < lt) hi = lt - 1;
    else if (k > gt) lo = gt + 1;
    else return true;
  }
  return true;
}
