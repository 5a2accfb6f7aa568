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

/** The tool loop's state while a loop stream is folded (see {@link ResponseBuilder}). */
interface LoopFold {
  /** The finished steps' answers. */
  steps: AgentResponse[];
  /** The step under way, fed its events with `t` counted from its `step-start`. */
  current: ResponseBuilder | undefined;
  /** `t` of the current step's `step-start`. */
  offset: number;
}

/**
 * One piece of the answer in the order it came, for `AgentResponse.message`: a run of text (a range
 * of the text parts), a reasoning block (signed or redacted once finished), a tool call, or a
 * provider tool's call or result.
 */
type Piece =
  | { kind: 'text'; from: number; to: number }
  | { kind: 'reasoning'; block: { text: string; signature?: string } | { redacted: string } }
  | { kind: 'tool'; call: ToolCall }
  | { kind: 'provider'; phase: 'call' | 'result'; id: string; name: string; block: Record<string, unknown> };

/** Accumulates one answer. Text is kept as parts and joined once, never rebuilt per token. */
export class ResponseBuilder {
  private parts: string[] = [];
  /** The answer's pieces in order; a text piece grows while tokens follow each other. */
  private pieces: Piece[] = [];
  /** The text piece tokens extend, until something else comes between. */
  private openText: { kind: 'text'; from: number; to: number } | undefined;
  private reasoningParts: string[] = [];
  private tools: ToolCall[] = [];
  private providerTools: ProviderToolCall[] = [];
  private citations: Record<string, unknown>[] = [];
  /** Reasoning split at signatures and redacted blocks; kept only when the provider signs (`signed`). */
  private reasoningBlocks: ReasoningBlock[] = [];
  private openReasoning: { text: string; signature?: string } | undefined;
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

  /** The answer text so far (joins the parts: call it at the end, not per token). */
  text(): string {
    return this.parts.join('');
  }

  push(event: TokenEvent): void {
    if (this.loop || event.type === 'step-start') {
      this.pushLoop(event);
      return;
    }
    this.pushAnswer(event);
  }

  /**
   * A tool loop's event: a step's own events go to that step's builder (text and timing also to this
   * one, for the loop's text and metrics); tool results go to the step they answer.
   */
  private pushLoop(event: TokenEvent): void {
    const loop = (this.loop ??= { steps: [], current: undefined, offset: 0 });
    switch (event.type) {
      case 'step-start':
        loop.current = new ResponseBuilder();
        loop.offset = event.t;
        return;
      case 'step-finish': {
        const current = loop.current;
        if (!current) return;
        current.push({ type: 'done', stopReason: event.stopReason, t: event.t - loop.offset });
        const step = current.build();
        if (event.metrics) step.metrics = event.metrics;
        loop.steps.push(step);
        loop.current = undefined;
        return;
      }
      case 'tool-result': {
        const step = loop.steps.at(-1);
        if (!step) return;
        const result: ToolResult = { id: event.id, name: event.name, output: event.output, isError: event.isError, durationMs: event.durationMs };
        (step.toolResults ??= []).push(result);
        return;
      }
      case 'usage':
        // Inside a step: the step's usage. After the last step: the loop's sum.
        if (loop.current) loop.current.push({ ...event, t: event.t - loop.offset });
        else this.pushAnswer(event);
        return;
      case 'done':
        this.pushAnswer(event);
        return;
      case 'token':
      case 'reasoning':
      case 'tool-call':
      case 'provider-tool':
        loop.current?.push({ ...event, t: event.t - loop.offset });
        // The loop's own figures: text, first token, gaps, and the first output's time.
        if (event.type === 'token') this.pushAnswer(event);
        else if (this.firstOutputAt === undefined) this.firstOutputAt = event.t;
        if (event.type === 'reasoning') this.otherChars += event.text.length;
        if (event.type === 'tool-call') this.otherChars += event.argsDelta.length;
        return;
      case 'start':
        loop.current?.push({ ...event, t: event.t - loop.offset });
        this.pushAnswer(event); // the provider, for errors' context
        return;
      case 'reset':
        loop.current?.push(event);
        this.parts = [];
        this.pieces = [];
        this.openText = undefined;
        return;
      default:
        loop.current?.push({ ...event, t: event.t - loop.offset });
        return;
    }
  }

  private pushAnswer(event: TokenEvent): void {
    switch (event.type) {
      case 'token':
        if (this.firstTokenAt === undefined) {
          this.firstTokenAt = event.t;
          if (this.firstOutputAt === undefined) this.firstOutputAt = event.t;
        } else this.gaps.push(event.t - this.lastTokenAt);
        this.lastTokenAt = event.t;
        if (this.openText) this.openText.to++;
        else this.pieces.push((this.openText = { kind: 'text', from: this.parts.length, to: this.parts.length + 1 }));
        this.parts.push(event.text);
        this.chars += event.text.length;
        this.tokens++;
        return;
      case 'reasoning':
        if (this.firstOutputAt === undefined) this.firstOutputAt = event.t;
        this.otherChars += event.text.length;
        this.pushReasoning(event.text, event.signature, event.redacted);
        return;
      case 'tool-call': {
        if (this.firstOutputAt === undefined) this.firstOutputAt = event.t;
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
        call.arguments += event.argsDelta;
        return;
      }
      case 'provider-tool': {
        if (this.firstOutputAt === undefined) this.firstOutputAt = event.t;
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
        this.doneAt = event.t;
        return;
      case 'reset':
        this.parts = [];
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
    return {
      ttftMs: this.firstTokenAt,
      elapsedMs: t,
      tokens: this.tokens,
      tokensPerSecond: span > 0 ? (estimateTokens(this.chars + this.otherChars) * 1000) / span : undefined,
      chars: this.chars,
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

  /** The finished answer. Call after `done`. */
  build(): AgentResponse {
    if (this.loop) return this.buildLoop(this.loop);
    const response: AgentResponse = {
      content: this.parts.join(''),
      message: this.message(),
      usage: this.finalUsage(),
      stopReason: this.stopReason ?? 'other',
      metrics: this.metrics(),
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
    const steps = loop.steps;
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
    const lastStep = this.loop?.steps.at(-1);
    if (lastStep) return lastStep.message;
    const content: AssistantContentPart[] = [];
    let onlyText = true;
    for (const piece of this.pieces) {
      switch (piece.kind) {
        case 'text':
          content.push({ type: 'text', text: this.parts.slice(piece.from, piece.to).join('') });
          break;
        case 'reasoning': {
          const block = piece.block;
          if ('redacted' in block) content.push({ type: 'reasoning', text: '', redacted: block.redacted });
          else if (block.signature !== undefined) content.push({ type: 'reasoning', text: block.text, signature: block.signature });
          else break;
          onlyText = false;
          break;
        }
        case 'tool': {
          const call = piece.call;
          const input = call.id && call.name && call.kind === undefined ? parseArguments(call.arguments) : undefined;
          if (input === undefined || !call.id || !call.name) break;
          content.push({ type: 'tool-call', id: call.id, name: call.name, input: input.value });
          onlyText = false;
          break;
        }
        case 'provider':
          content.push({ type: 'provider-tool', phase: piece.phase, id: piece.id, name: piece.name, block: piece.block });
          onlyText = false;
          break;
      }
    }
    if (onlyText) return { role: 'assistant', content: this.parts.join('') };
    return { role: 'assistant', content: mergeText(content) };
  }

  /** Reasoning text joins the open block; a signature closes it; redacted data is a block of its own. */
  private pushReasoning(text: string, signature: string | undefined, redacted: string | undefined): void {
    if (text) {
      this.reasoningParts.push(text);
      if (this.openReasoning) this.openReasoning.text += text;
      else this.openBlock({ text });
    }
    if (signature !== undefined) {
      this.signed = true;
      const block = this.openReasoning ?? this.openBlock({ text: '' });
      block.signature = signature;
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

  /** Opens a reasoning block where the answer is now (the message keeps it there once it is signed). */
  private openBlock(block: { text: string; signature?: string }): { text: string; signature?: string } {
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
function mergeText(content: AssistantContentPart[]): AssistantContentPart[] {
  const merged: AssistantContentPart[] = [];
  for (const part of content) {
    const last = merged.at(-1);
    if (part.type === 'text' && last?.type === 'text') merged[merged.length - 1] = { type: 'text', text: last.text + part.text };
    else merged.push(part);
  }
  return merged;
}

/** Median, 90th percentile (nearest rank) and maximum of the gaps, or `undefined` without any. */
function gapStats(gaps: readonly number[]): InterTokenGaps | undefined {
  if (gaps.length === 0) return undefined;
  const sorted = Float64Array.from(gaps).sort();
  const rank = (q: number): number => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { medianMs: median, p90Ms: rank(0.9), maxMs: sorted[sorted.length - 1]! };
}
