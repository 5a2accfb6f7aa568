/**
 * Folds `TokenEvent`s into one `AgentResponse`. Shared by `collect()` and the adapters'
 * non-streaming `complete()`, so a streamed and a non-streamed answer have the very same shape.
 */
import type { AgentResponse, ServerTimings, StopReason, TokenEvent, ToolCall, Usage } from './events.js';

/** Accumulates one answer. Text is kept as parts and joined once, never rebuilt per token. */
export class ResponseBuilder {
  private parts: string[] = [];
  private reasoningParts: string[] = [];
  private tools: ToolCall[] = [];
  private chars = 0;
  private tokens = 0;
  private firstTokenAt: number | undefined;
  private usage: Usage | undefined;
  private serverTimings: ServerTimings | undefined;
  private provider = '';
  private model = '';
  private id: string | undefined;
  private stopReason: StopReason | undefined;
  private refusal: string | undefined;
  private doneAt = 0;

  /** `true` once a `done` event was seen. */
  get done(): boolean {
    return this.stopReason !== undefined;
  }

  /** The answer text so far (joins the parts: call it at the end, not per token). */
  text(): string {
    return this.parts.join('');
  }

  push(event: TokenEvent): void {
    switch (event.type) {
      case 'token':
        if (this.firstTokenAt === undefined) this.firstTokenAt = event.t;
        this.parts.push(event.text);
        this.chars += event.text.length;
        this.tokens++;
        return;
      case 'reasoning':
        this.reasoningParts.push(event.text);
        return;
      case 'tool-call': {
        let call = this.tools.find((c) => c.index === event.index);
        if (!call) {
          call = { index: event.index, arguments: '' };
          this.tools.push(call);
        }
        if (event.id) call.id = event.id;
        if (event.name) call.name = event.name;
        call.arguments += event.argsDelta;
        return;
      }
      case 'start':
        this.provider = event.provider;
        this.model = event.model;
        if (event.id) this.id = event.id;
        return;
      case 'usage':
        this.usage = event.usage;
        if (event.serverTimings) this.serverTimings = event.serverTimings;
        return;
      case 'done':
        this.stopReason = event.stopReason;
        if (event.refusal) this.refusal = event.refusal;
        this.doneAt = event.t;
        return;
      case 'reset':
        this.parts = [];
        this.reasoningParts = [];
        this.tools = [];
        this.chars = 0;
        this.tokens = 0;
        this.firstTokenAt = undefined;
        this.usage = undefined;
        return;
    }
  }

  /** The finished answer. Call after `done`. */
  build(): AgentResponse {
    const usage = this.usage ?? { inputTokens: 0, outputTokens: 0, estimated: true };
    const ttft = this.firstTokenAt;
    // Generation rate from the first token to the end; a one-chunk answer counts from the start.
    const span = ttft !== undefined && this.doneAt > ttft ? this.doneAt - ttft : this.doneAt;
    const response: AgentResponse = {
      content: this.parts.join(''),
      usage,
      stopReason: this.stopReason ?? 'other',
      metrics: {
        ttftMs: ttft,
        elapsedMs: this.doneAt,
        tokens: this.tokens,
        tokensPerSecond: span > 0 && usage.outputTokens > 0 ? (usage.outputTokens * 1000) / span : undefined,
        chars: this.chars,
      },
      provider: this.provider,
      model: this.model,
    };
    if (this.serverTimings) response.metrics.serverTimings = this.serverTimings;
    if (this.reasoningParts.length > 0) response.reasoning = this.reasoningParts.join('');
    if (this.tools.length > 0) response.toolCalls = this.tools;
    if (this.refusal) response.refusal = this.refusal;
    if (this.id) response.id = this.id;
    return response;
  }
}
