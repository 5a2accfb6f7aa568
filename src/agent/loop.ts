/**
 * The Agent's tool loop as one cold Observable: model → tools → model, until a step makes no call
 * the loop can answer or the step budget is spent. Internal: `Agent.stream()` builds it.
 */
import { Observable, type Subscriber, type Subscription } from 'rxjs';
import { ProtocolError, StreamAbortedError, TokenflowError, type StreamErrorContext } from '../errors.js';
import type { AgentResponse, ChatMessage, ChatRequest, TokenEvent, ToolCallPart, ToolResultPart, Usage } from '../events.js';
import { errorMessage } from '../internal/describe.js';
import { operate } from '../operators/operate.js';
import type { Provider } from '../provider.js';
import { ResponseBuilder, sumUsage, toolOutputText } from '../response-builder.js';
import { ToolExecutionError, type PreparedTool, type ToolFailure } from './tools.js';

/** A call waiting for the application's decision (see {@link LoopOptions.approve}). */
export interface ToolApprovalRequest {
  /** The call's id. */
  id: string;
  /** The tool's name. */
  name: string;
  /** The call's validated input. */
  input: unknown;
  /** The step that made the call. */
  step: number;
}

/** What the loop does with a failed tool call. */
export type ToolErrorMode = 'result' | 'throw';

/** The loop's settings, checked by the Agent. */
export interface LoopConfig {
  provider: Provider;
  /** The request for the conversation so far (tool definitions included). */
  request: (messages: readonly ChatMessage[]) => ChatRequest;
  /** The history and the user's message. */
  messages: readonly ChatMessage[];
  tools: ReadonlyMap<string, PreparedTool>;
  maxSteps: number;
  toolConcurrency: number;
  onToolError: ToolErrorMode;
  approve: ((call: ToolApprovalRequest) => boolean | PromiseLike<boolean>) | undefined;
  signal: AbortSignal | undefined;
  /** Runs after `done`, before completion (a Conversation records the exchange); a rejection errors the stream. */
  onFinish?: (response: AgentResponse) => Promise<void>;
}

/** One call's outcome: the part for the model and what the `tool-result` event reports. */
interface CallOutcome {
  part: ToolResultPart;
  output: unknown;
  isError: boolean;
  durationMs: number;
}

/**
 * The loop's stream: for each step `step-start`, the model's events (its `done` turned into
 * `step-finish`), then the `tool-result`s of its calls; after the last step one summed `usage` and
 * one `done`. `t` counts from subscription; a token's `index` counts across the whole loop.
 *
 * @param config - the checked settings
 * @returns a cold Observable: each subscription runs the loop once
 */
export function toolLoop(config: LoopConfig): Observable<TokenEvent> {
  return new Observable<TokenEvent>((subscriber) => {
    const run = new LoopRun(config, subscriber);
    run.start();
    return () => run.close();
  });
}

/** One run of the loop. */
class LoopRun {
  private readonly t0 = performance.now();
  private readonly messages: ChatMessage[];
  /**
   * Every event sent, folded into the loop's response, only for `onFinish` (a Conversation): without
   * it nobody reads that response, and the steps' own builders already fold every event once.
   */
  private readonly builder: ResponseBuilder | undefined;
  /** The text of the finished steps; with the current step's builder's, the loop's text so far. */
  private finishedText = '';
  /** The step under way's fold (it drops that step's text on a reset of the step). */
  private stepBuilder: ResponseBuilder | undefined;
  /** The provider of the latest `start`, for errors' context. */
  private provider = '';
  private readonly usages: Usage[] = [];
  /**
   * Aborts every running tool: on unsubscribe, on the caller's signal, on a `throw`-mode failure.
   * Made when the first call runs; a loop that ends with no tool running never aborts it.
   */
  private toolAbortController: AbortController | undefined;
  /** Calls between dispatch and outcome (approval, validation and `execute` included). */
  private toolsRunning = 0;
  private upstream: Subscription | undefined;
  private closed = false;
  private tokenIndex = 0;

  constructor(
    private readonly config: LoopConfig,
    private readonly subscriber: Subscriber<TokenEvent>,
  ) {
    this.messages = [...config.messages];
    this.builder = config.onFinish ? new ResponseBuilder() : undefined;
  }

  start(): void {
    const signal = this.config.signal;
    if (signal?.aborted) {
      this.fail(this.abortError());
      return;
    }
    signal?.addEventListener('abort', this.onAbort, { once: true });
    this.runStep(0);
  }

  /** Unsubscribed (or finished): let go of the request and stop every tool. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.config.signal?.removeEventListener('abort', this.onAbort);
    this.upstream?.unsubscribe();
    this.upstream = undefined;
    const tools = this.toolAbortController;
    if (tools && this.toolsRunning > 0 && !tools.signal.aborted) tools.abort();
  }

  private get toolAbort(): AbortController {
    return (this.toolAbortController ??= new AbortController());
  }

  /** The loop's text so far: every step's, less what a reset of a step took back. */
  private partialText(): string {
    const current = this.stepBuilder?.text();
    return current ? this.finishedText + current : this.finishedText;
  }

  private readonly onAbort = (): void => this.fail(this.abortError());

  private now(): number {
    return performance.now() - this.t0;
  }

  private emit(event: TokenEvent): void {
    if (this.closed) return;
    this.builder?.push(event);
    if (event.type === 'start') this.provider = event.provider;
    this.subscriber.next(event);
  }

  private fail(error: unknown): void {
    if (this.closed) return;
    this.close();
    this.subscriber.error(error);
  }

  private runStep(step: number): void {
    const offset = this.now();
    this.emit({ type: 'step-start', step, t: offset });
    let stream$: Observable<TokenEvent>;
    try {
      stream$ = this.config.provider.stream(this.config.request(this.messages));
    } catch (error) {
      this.fail(error);
      return;
    }
    const stepBuilder = new ResponseBuilder();
    this.stepBuilder = stepBuilder;
    const firstIndex = this.tokenIndex;
    let ended = false;
    // Through operate(): the step's stream delivers straight to these handlers (no SafeSubscriber
    // per token), a handler's throw errors the loop instead of escaping, and the step's subscription
    // belongs to the loop's subscriber.
    const subscription = operate(stream$, this.subscriber, {
      next: (event) => {
        stepBuilder.push(event);
        if (event.type === 'done') return; // it becomes `step-finish`
        const t = event.t + offset;
        if (event.type === 'reset') {
          // The provider retried this step's request: only this step's output is void. Untagged,
          // every consumer would erase the earlier steps too, which ran and will not run again.
          this.tokenIndex = firstIndex;
          this.emit({ ...event, step, t });
          return;
        }
        // A token is copied field by field (its shape is fixed): cheaper than a spread, once per token.
        this.emit(event.type === 'token' ? { type: 'token', text: event.text, index: this.tokenIndex++, t } : { ...event, t });
      },
      error: (error: unknown) => {
        ended = true;
        this.upstream = undefined;
        this.fail(this.withLoopContext(error, stepBuilder));
      },
      complete: () => {
        ended = true;
        this.upstream = undefined;
        this.finishStep(step, stepBuilder);
      },
    });
    // A synchronous stream may have ended (and the loop moved on) inside subscribe().
    if (!ended && !this.closed) this.upstream = subscription;
  }

  private finishStep(step: number, stepBuilder: ResponseBuilder): void {
    if (this.closed) return;
    if (!stepBuilder.done) {
      this.fail(new ProtocolError(`Agent tool loop: step ${step}'s stream completed without a \`done\` event.`, undefined, this.context()));
      return;
    }
    let response: AgentResponse;
    try {
      response = stepBuilder.build();
    } catch (error) {
      this.fail(error);
      return;
    }
    this.usages.push(response.usage);
    this.finishedText += response.content;
    this.stepBuilder = undefined;
    this.emit({ type: 'step-finish', step, usage: response.usage, stopReason: response.stopReason, metrics: response.metrics, t: this.now() });
    this.messages.push(response.message);

    const calls = typeof response.message.content === 'string' ? [] : response.message.content.filter((p): p is ToolCallPart => p.type === 'tool-call');
    if (calls.length === 0) {
      this.finish(response);
      return;
    }
    // Calls the loop cannot answer (a tool without `execute`, a call that is not a function call or
    // whose arguments are not JSON) go back to the application: the loop stops after this step.
    const runnable = calls.filter((call) => this.config.tools.get(call.name)?.tool.execute !== undefined || !this.config.tools.has(call.name));
    const functionCalls = (response.toolCalls ?? []).filter((c) => c.kind === undefined).length;
    const handsBack = runnable.length < calls.length || functionCalls > calls.length || (response.toolCalls ?? []).some((c) => c.kind !== undefined);
    this.runCalls(runnable, step).then(
      (outcomes) => {
        if (this.closed) return;
        if (outcomes.length > 0) this.messages.push({ role: 'tool', content: outcomes.map((o) => o.part) });
        if (handsBack || step + 1 >= this.config.maxSteps) this.finish(response);
        else this.runStep(step + 1);
      },
      (error: unknown) => this.fail(error),
    );
  }

  /** The loop's end: the summed usage, the one `done`, then `onFinish`. */
  private finish(last: AgentResponse): void {
    this.emit({ type: 'usage', usage: sumUsage(this.usages), t: this.now() });
    const done: TokenEvent = { type: 'done', stopReason: last.stopReason, t: this.now() };
    if (last.refusal) done.refusal = last.refusal;
    this.emit(done);
    if (this.closed) return;
    const onFinish = this.config.onFinish;
    if (!onFinish || !this.builder) {
      this.complete();
      return;
    }
    let finished: Promise<void>;
    try {
      finished = onFinish(this.builder.build());
    } catch (error) {
      this.fail(error);
      return;
    }
    finished.then(
      () => this.complete(),
      (error: unknown) => this.fail(error),
    );
  }

  private complete(): void {
    if (this.closed) return;
    this.close();
    this.subscriber.complete();
  }

  /**
   * Runs a step's calls, at most `toolConcurrency` at a time, emitting each `tool-result` as it
   * comes; resolves with the outcomes in call order. Rejects only with a `throw`-mode failure.
   */
  private runCalls(calls: readonly ToolCallPart[], step: number): Promise<CallOutcome[]> {
    const outcomes = new Array<CallOutcome>(calls.length);
    const limit = this.config.toolConcurrency;
    let next = 0;
    let running = 0;
    let settled = 0;
    return new Promise((resolve, reject) => {
      if (calls.length === 0) {
        resolve([]);
        return;
      }
      const launch = (): void => {
        while (running < limit && next < calls.length && !this.closed) {
          const i = next++;
          const call = calls[i]!;
          running++;
          this.toolsRunning++;
          this.runCall(call, step).then(
            (outcome) => {
              running--;
              this.toolsRunning--;
              if (this.closed) return;
              outcomes[i] = outcome;
              this.emit({ type: 'tool-result', step, id: call.id, name: call.name, output: outcome.output, isError: outcome.isError, durationMs: outcome.durationMs, t: this.now() });
              if (++settled === calls.length) resolve(outcomes);
              else launch();
            },
            (error: unknown) => {
              running--;
              this.toolsRunning--;
              // The others are stopped: their results would never be sent.
              if (!this.toolAbort.signal.aborted) this.toolAbort.abort(error);
              reject(error);
            },
          );
        }
      };
      launch();
    });
  }

  /** One call: input check, approval, `execute`. Errors become results unless `onToolError` is `throw`. */
  private async runCall(call: ToolCallPart, step: number): Promise<CallOutcome> {
    const started = performance.now();
    const outcome = (output: unknown, text: string, isError: boolean): CallOutcome => {
      const part: ToolResultPart = { type: 'tool-result', toolCallId: call.id, name: call.name, output: text };
      if (isError) part.isError = true;
      return { part, output, isError, durationMs: performance.now() - started };
    };
    const failure = (kind: ToolFailure, message: string, cause?: unknown): CallOutcome => {
      if (this.config.onToolError === 'throw') {
        const context: ToolExecutionErrorDetails = { toolName: call.name, toolCallId: call.id, failure: kind, ...this.context() };
        if (cause !== undefined) context.cause = cause;
        throw new ToolExecutionError(`Agent tool loop: ${message}`, context);
      }
      return outcome(message, message, true);
    };

    const prepared = this.config.tools.get(call.name);
    if (!prepared) {
      const known = [...this.config.tools.keys()].join(', ');
      return failure('unknown-tool', `There is no tool named "${call.name}". Call one of: ${known}.`);
    }
    const checked = await prepared.validate(call.input);
    if (!checked.ok) return failure('invalid-input', `Invalid input for tool "${call.name}": ${checked.message}. Call it again with input that matches its schema.`);
    const input = checked.value;
    const { tool } = prepared;
    try {
      const asks =
        tool.needsApproval === undefined
          ? this.config.approve !== undefined
          : typeof tool.needsApproval === 'function'
            ? await tool.needsApproval(input, { toolCallId: call.id })
            : tool.needsApproval;
      if (asks && this.config.approve && !(await this.config.approve({ id: call.id, name: call.name, input, step }))) {
        const denied = `The call to tool "${call.name}" was denied by the user.`;
        return outcome(denied, denied, true);
      }
      if (this.closed) return outcome(undefined, '', true);
      const output = await tool.execute!(input, { signal: this.toolAbort.signal, toolCallId: call.id, messages: [...this.messages] });
      let text: string;
      try {
        text = toolOutputText(output);
      } catch (error) {
        return failure('execute-failed', `Tool "${call.name}" returned a value that is not JSON (${errorMessage(error)}).`, error);
      }
      return outcome(output === undefined ? null : output, text, false);
    } catch (error) {
      if (ToolExecutionError.isInstance(error)) throw error;
      return failure('execute-failed', `Tool "${call.name}" failed: ${errorMessage(error)}`, error);
    }
  }

  /** A step's error, with the loop's text so far and the usage of every step until it. */
  private withLoopContext(error: unknown, stepBuilder: ResponseBuilder): unknown {
    if (!TokenflowError.isInstance(error)) return error;
    // The loop's consumers saw every step's text: that is the partial answer, not the step's alone.
    error.partialText = this.partialText();
    const stepUsage = error.usage ?? stepBuilder.reportedUsage();
    error.usage = sumUsage(stepUsage ? [...this.usages, stepUsage] : this.usages);
    return error;
  }

  private abortError(): StreamAbortedError {
    return new StreamAbortedError('Agent tool loop: the request was aborted by its signal.', { ...this.context(), cause: this.config.signal?.reason });
  }

  /** The text, usage and provider so far. */
  private context(): StreamErrorContext {
    const context: StreamErrorContext = { partialText: this.partialText(), usage: sumUsage(this.usages) };
    if (this.provider) context.provider = this.provider;
    return context;
  }
}

type ToolExecutionErrorDetails = ConstructorParameters<typeof ToolExecutionError>[1];
