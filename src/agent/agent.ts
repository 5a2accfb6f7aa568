import { lastValueFrom, Observable, throwError, type Subscription } from 'rxjs';
import { streamWithCallbacks, type StreamCallbacks } from '../bridge/streamWithCallbacks.js';
import { InvalidArgumentError } from '../errors.js';
import type { AgentResponse, ChatMessage, ChatRequest, OutputSpec, TokenEvent } from '../events.js';
import { describeValue } from '../internal/describe.js';
import { collect } from '../operators/collect.js';
import { operate } from '../operators/operate.js';
import type { Provider } from '../provider.js';
import { ResponseBuilder } from '../response-builder.js';
import {
  isPlainObject,
  rejectUnknownKeys,
  requireNumber,
  requireObject,
  requireSignal,
  requireString,
  validateMessage,
} from '../validate.js';
import { Conversation } from './conversation.js';
import { toolLoop, type ToolApprovalRequest, type ToolErrorMode } from './loop.js';
import { prepareTools, type PreparedTool, type ToolSet } from './tools.js';

/**
 * What an answer may need to know besides the question: a user's profile, the current page, a
 * task's state. An object is rendered as JSON, a string as it is; see {@link AgentOptions.formatContext}.
 */
export type AgentContext = Record<string, unknown> | string;

/** Options for {@link Agent}. */
export interface AgentOptions {
  /** The model behind it: `anthropic()`, `openai()`, `groq()`, `openaiCompatible()`. */
  provider: Provider;
  model: string;
  systemPrompt?: string;
  temperature?: number;
  maxTokens?: number;
  /**
   * Renders a call's `context` into text appended to the system prompt. @defaultValue a
   * `<context>` block holding the string, or the object as indented JSON
   */
  formatContext?: (context: AgentContext) => string;
}

/**
 * The tool loop's options. With `tools`, a message runs model → tools → model until a step makes
 * no tool call the loop can answer, or `maxSteps` model requests were made.
 */
export interface ToolLoopOptions {
  /** The tools the model may call, by name (see `tool()`). Without tools there is no loop. */
  tools?: ToolSet;
  /**
   * The most model requests (steps) the loop makes. A step's calls are run even in the last step;
   * the loop then ends with `stopReason: 'tool_use'` and the results in `messages`.
   * @defaultValue 5 with tools (1 without)
   */
  maxSteps?: number;
  /** How many calls of one step run at the same time (a whole number from 1). @defaultValue Infinity */
  toolConcurrency?: number;
  /**
   * What a failed call does (an unknown tool, an input that does not match its schema, a throwing
   * `execute`): `'result'` sends the model an error result it can act on; `'throw'` ends the stream
   * with `ToolExecutionError`. A denied approval is always a result. @defaultValue 'result'
   */
  onToolError?: ToolErrorMode;
  /**
   * Decides whether a call may run: asked for every call of a tool whose `needsApproval` is `true` (or
   * returns `true`), and, when a tool does not set `needsApproval`, for every call of it. The call
   * waits until it resolves; `false` sends the model an error result saying the user denied it.
   */
  approve?: (call: ToolApprovalRequest) => boolean | PromiseLike<boolean>;
}

/** Per-message options for {@link Agent.stream} and {@link Agent.processMessage}. */
export interface MessageOptions extends ToolLoopOptions {
  /** Added to the system prompt for this message only (see {@link AgentOptions.formatContext}). */
  context?: AgentContext;
  /**
   * Earlier turns: a list of messages sent before the question, or a {@link Conversation}, which
   * also records the question and the completed answer.
   */
  history?: readonly ChatMessage[] | Conversation;
  /** Cancels the request. */
  signal?: AbortSignal;
  /**
   * Asks for the answer as JSON following a schema (`request.output`; with tools, on every step's
   * request). Read it with `partialObject()` / `object()`; see docs/structured-output.md.
   */
  output?: OutputSpec;
}

/** Options for {@link Agent.processMessageStreaming}: a message's options plus the callbacks. */
export interface StreamingMessageOptions extends MessageOptions, Omit<StreamCallbacks, 'signal'> {}

const AGENT_KEYS = ['provider', 'model', 'systemPrompt', 'temperature', 'maxTokens', 'formatContext'] as const;
const MESSAGE_KEYS = ['context', 'history', 'signal', 'output', 'tools', 'maxSteps', 'toolConcurrency', 'onToolError', 'approve'] as const;
/** Steps a tool loop makes unless `maxSteps` says otherwise. */
const DEFAULT_MAX_STEPS = 5;

/** The tool loop's options, checked. */
interface LoopSettings {
  tools: Map<string, PreparedTool>;
  maxSteps: number;
  toolConcurrency: number;
  onToolError: ToolErrorMode;
  approve: ToolLoopOptions['approve'];
}
const STREAMING_KEYS = [...MESSAGE_KEYS, 'onToken', 'onEvent', 'onToolCall', 'onToolResult', 'maxQueue'] as const;

/**
 * A model with its settings, answering messages with or without streaming, alone or within a
 * {@link Conversation}. The streamed and the non-streamed answer are the same {@link AgentResponse}.
 *
 * @example
 * const agent = new Agent({ provider: anthropic(), model: 'claude-sonnet-4-6', systemPrompt: 'Be brief.' });
 * const answer = await agent.processMessageStreaming('Why stream tokens?', {
 *   onToken: (token) => process.stdout.write(token),
 * });
 */
export class Agent {
  readonly provider: Provider;
  readonly model: string;
  readonly systemPrompt: string | undefined;
  readonly temperature: number | undefined;
  readonly maxTokens: number | undefined;
  private readonly formatContext: (context: AgentContext) => string;

  constructor(options: AgentOptions) {
    const o = requireObject(options, 'Agent options');
    rejectUnknownKeys(o, AGENT_KEYS, 'Agent options');
    const provider = o.provider as Partial<Provider> | null;
    if (typeof provider !== 'object' || provider === null || typeof provider.stream !== 'function' || typeof provider.complete !== 'function') {
      throw new InvalidArgumentError(
        'Agent options.provider',
        'Agent: provider must be a tokenflow provider such as anthropic(), openai(), groq() or openaiCompatible({ baseURL }).',
      );
    }
    this.provider = provider as Provider;
    this.model = requireString(o.model, 'Agent options.model');
    this.systemPrompt = o.systemPrompt === undefined ? undefined : requireString(o.systemPrompt, 'Agent options.systemPrompt', { allowEmpty: true });
    this.temperature = o.temperature === undefined ? undefined : requireNumber(o.temperature, 'Agent options.temperature', { min: 0, max: 2 });
    this.maxTokens = o.maxTokens === undefined ? undefined : requireNumber(o.maxTokens, 'Agent options.maxTokens', { min: 1, integer: true });
    if (o.formatContext !== undefined && typeof o.formatContext !== 'function') {
      throw new InvalidArgumentError('Agent options.formatContext', 'Agent: formatContext must be a function (context) => string.');
    }
    this.formatContext = (o.formatContext as AgentOptions['formatContext']) ?? defaultFormatContext;
  }

  /**
   * The answer as a cold token stream: one request per subscription, cancelled by unsubscribing.
   * With a {@link Conversation} as `history`, the exchange is recorded before the stream completes.
   * Never throws: a bad message or option (or a `formatContext` that throws) makes the Observable
   * error with it on subscription, before anything is sent.
   *
   * With `tools`, the stream is the whole tool loop: for each step a `step-start`, the model's
   * events with `step-finish` in place of its `done`, the `tool-result`s of its calls; then one
   * summed `usage` and one `done`. Unsubscribing aborts the current request and every running tool
   * (their `signal`), and nothing more is sent. `collect()` folds it into the loop's result (the last
   * step's text, every step in `steps`, the usage summed).
   *
   * @example
   * agent.stream('Why stream tokens?').pipe(text()).subscribe((partial) => render(partial));
   * agent.stream('Weather in Paris?', { tools: { weather } }).pipe(collect()).subscribe((r) => show(r.content));
   *
   * @param message - the user's message
   * @param options - `context`, `history`, `signal`, and the tool loop's `tools`, `maxSteps`,
   *   `toolConcurrency`, `onToolError`, `approve`
   * @returns the provider's token stream for this message (the loop's, with tools)
   */
  stream(message: string, options: MessageOptions = {}): Observable<TokenEvent> {
    try {
      return this.streamOrThrow(message, options);
    } catch (error) {
      return throwError(() => error);
    }
  }

  /** {@link stream}, throwing what is wrong with its arguments. */
  private streamOrThrow(message: string, options: MessageOptions): Observable<TokenEvent> {
    const o = this.readMessageOptions(message, options, MESSAGE_KEYS, 'stream');
    const loop = readLoopOptions(o, 'stream');
    if (loop) return this.loopStream(message, o, loop);
    const conversation = o.history instanceof Conversation ? o.history : undefined;
    const callOptions = o.signal ? { signal: o.signal } : {};
    if (!conversation) {
      // Plain history: the request is built and validated now, before anything is sent.
      const history = (o.history as readonly ChatMessage[] | undefined) ?? [];
      return this.provider.stream(this.requestFor(message, history, o.context, o.output), callOptions);
    }
    return afterHistory(conversation, (history) =>
      recordedIn(conversation, message, this.provider.stream(this.requestFor(message, history, o.context, o.output), callOptions)),
    );
  }

  /** The tool loop for one message: the history is read on subscription, then the loop runs. */
  private loopStream(message: string, o: MessageOptions, loop: LoopSettings): Observable<TokenEvent> {
    const conversation = o.history instanceof Conversation ? o.history : undefined;
    const definitions = [...loop.tools.values()].map((t) => t.definition);
    const request = (messages: readonly ChatMessage[]): ChatRequest => ({ ...this.request(messages, o.context, o.output), tools: definitions });
    const run = (history: readonly ChatMessage[]): Observable<TokenEvent> => {
      const messages: ChatMessage[] = [...history, { role: 'user', content: message }];
      // Built now so a bad context or history fails before anything is sent.
      request(messages);
      return toolLoop({
        provider: this.provider,
        request,
        messages,
        tools: loop.tools,
        maxSteps: loop.maxSteps,
        toolConcurrency: loop.toolConcurrency,
        onToolError: loop.onToolError,
        approve: loop.approve,
        signal: o.signal,
        ...(conversation ? { onFinish: (response: AgentResponse) => conversation.record(message, response) } : {}),
      });
    };
    if (!conversation) return run((o.history as readonly ChatMessage[] | undefined) ?? []);
    return afterHistory(conversation, run);
  }

  /**
   * The whole answer without streaming (the provider's non-streaming API). Never throws: bad input is
   * a rejected promise, nothing sent. With `tools`, the loop runs streamed and this resolves with
   * its collected result (see {@link stream}).
   *
   * @example
   * const { content, usage } = await agent.processMessage('Summarize this page.', { context: { page } });
   *
   * @param message - the user's message
   * @param options - `context`, `history`, `signal`
   * @returns the answer, shaped exactly like a streamed one
   */
  async processMessage(message: string, options: MessageOptions = {}): Promise<AgentResponse> {
    const o = this.readMessageOptions(message, options, MESSAGE_KEYS, 'processMessage');
    if (readLoopOptions(o, 'processMessage')) return lastValueFrom(this.stream(message, o).pipe(collect()));
    const conversation = o.history instanceof Conversation ? o.history : undefined;
    const history = conversation ? await conversation.messages() : (o.history as readonly ChatMessage[] | undefined) ?? [];
    const response = await this.provider.complete(this.requestFor(message, history, o.context, o.output), o.signal ? { signal: o.signal } : {});
    await conversation?.record(message, response);
    return response;
  }

  /**
   * Streams the answer through `onToken` (sync or async, strictly in order) and resolves with the same
   * {@link AgentResponse} {@link processMessage} gives. See `streamWithCallbacks` for the guarantees.
   * Never throws: bad input is a rejected promise, nothing sent.
   *
   * @example
   * await agent.processMessageStreaming('Why stream tokens?', { onToken: (token) => process.stdout.write(token) });
   *
   * @param message - the user's message
   * @param options - `context`, `history`, the tool loop's options, `onToken`, `onEvent`,
   *   `onToolCall`, `onToolResult`, `signal`, `maxQueue`
   * @returns the answer
   */
  async processMessageStreaming(message: string, options: StreamingMessageOptions = {}): Promise<AgentResponse> {
    const o = this.readMessageOptions(message, options, STREAMING_KEYS, 'processMessageStreaming') as StreamingMessageOptions;
    const { onToken, onEvent, onToolCall, onToolResult, signal, maxQueue, ...messageOptions } = o;
    const callbacks: StreamCallbacks = {};
    if (onToken) callbacks.onToken = onToken;
    if (onEvent) callbacks.onEvent = onEvent;
    if (onToolCall) callbacks.onToolCall = onToolCall;
    if (onToolResult) callbacks.onToolResult = onToolResult;
    if (signal) callbacks.signal = signal;
    if (maxQueue !== undefined) callbacks.maxQueue = maxQueue;
    return streamWithCallbacks(this.stream(message, messageOptions), callbacks);
  }

  /** The provider request for one message: the history, then the user's message. */
  private requestFor(message: string, history: readonly ChatMessage[], context: AgentContext | undefined, output: OutputSpec | undefined): ChatRequest {
    return this.request([...history, { role: 'user', content: message }], context, output);
  }

  /** The provider request for a conversation, with the agent's settings and the call's context. */
  private request(messages: readonly ChatMessage[], context: AgentContext | undefined, output?: OutputSpec): ChatRequest {
    const request: ChatRequest = { model: this.model, messages: [...messages] };
    const contextText = context === undefined ? '' : this.formatContext(context);
    if (typeof contextText !== 'string') {
      throw new InvalidArgumentError('Agent options.formatContext', 'Agent: formatContext must return a string.');
    }
    const system = [this.systemPrompt, contextText].filter((part) => part !== undefined && part !== '').join('\n\n');
    if (system) request.system = system;
    if (this.temperature !== undefined) request.temperature = this.temperature;
    if (this.maxTokens !== undefined) request.maxTokens = this.maxTokens;
    if (output !== undefined) request.output = output;
    return request;
  }

  private readMessageOptions(message: unknown, options: unknown, keys: readonly string[], method: string): MessageOptions {
    requireString(message, `${method}(message)`);
    const o = requireObject(options, `${method}() options`);
    rejectUnknownKeys(o, keys, `${method}() options`);
    if (o.context !== undefined && typeof o.context !== 'string' && !isPlainObject(o.context)) {
      throw new InvalidArgumentError(`${method}() options.context`, `Agent.${method}(): context must be a string or a plain object.`);
    }
    if (o.history !== undefined && !(o.history instanceof Conversation) && !Array.isArray(o.history)) {
      throw new InvalidArgumentError(`${method}() options.history`, `Agent.${method}(): history must be an array of messages or a Conversation.`);
    }
    if (Array.isArray(o.history)) {
      o.history.forEach((m: unknown, i) => validateMessage(m, `${method}() options.history[${i}]`));
    }
    requireSignal(o.signal, `${method}() options.signal`);
    return o as MessageOptions;
  }
}

/**
 * The tool loop's settings, or `undefined` without tools (a plain answer). Each option is checked
 * whether or not tools are given.
 */
function readLoopOptions(o: MessageOptions, method: string): LoopSettings | undefined {
  const path = `${method}() options`;
  const maxSteps = o.maxSteps === undefined ? undefined : requireNumber(o.maxSteps, `${path}.maxSteps`, { min: 1, integer: true });
  let toolConcurrency = Infinity;
  if (o.toolConcurrency !== undefined && o.toolConcurrency !== Infinity) {
    toolConcurrency = requireNumber(o.toolConcurrency, `${path}.toolConcurrency`, { min: 1, integer: true });
  }
  if (o.onToolError !== undefined && o.onToolError !== 'result' && o.onToolError !== 'throw') {
    throw new InvalidArgumentError(`${path}.onToolError`, `Agent.${method}(): onToolError must be 'result' or 'throw', got ${describeValue(o.onToolError)}.`);
  }
  if (o.approve !== undefined && typeof o.approve !== 'function') {
    throw new InvalidArgumentError(`${path}.approve`, `Agent.${method}(): approve must be a function (call) => boolean | Promise<boolean>, got ${describeValue(o.approve)}.`);
  }
  if (o.tools === undefined) return undefined;
  const tools = prepareTools(o.tools, `${path}.tools`);
  if (tools.size === 0) return undefined;
  if (!o.approve) {
    for (const t of tools.values()) {
      if (t.tool.needsApproval !== undefined && t.tool.needsApproval !== false) {
        throw new InvalidArgumentError(
          `${path}.approve`,
          `Agent.${method}(): tool "${t.name}" needs approval, but no approve hook was given: pass approve: (call) => boolean | Promise<boolean>.`,
        );
      }
    }
  }
  return { tools, maxSteps: maxSteps ?? DEFAULT_MAX_STEPS, toolConcurrency, onToolError: o.onToolError ?? 'result', approve: o.approve };
}

/** The default context rendering: a tagged block the model can tell apart from instructions. */
function defaultFormatContext(context: AgentContext): string {
  const body = typeof context === 'string' ? context : JSON.stringify(context, null, 2);
  return `Context for this request:\n<context>\n${body}\n</context>`;
}

/**
 * Reads the conversation's history on subscription, then follows `run(history)`; a failed read, or
 * a `run` that throws (bad input found once the history is known), errors the stream.
 */
function afterHistory(conversation: Conversation, run: (history: readonly ChatMessage[]) => Observable<TokenEvent>): Observable<TokenEvent> {
  return new Observable<TokenEvent>((subscriber) => {
    let upstream: Subscription | undefined;
    let active = true;
    conversation.messages().then(
      (history) => {
        if (!active) return;
        try {
          upstream = run(history).subscribe(subscriber);
        } catch (error) {
          subscriber.error(error);
        }
      },
      (error: unknown) => subscriber.error(error),
    );
    return () => {
      active = false;
      upstream?.unsubscribe();
    };
  });
}

/** Passes the answer through and records the exchange in the conversation before completing, so a follow-up asked right after sees it. */
function recordedIn(conversation: Conversation, message: string, answer$: Observable<TokenEvent>): Observable<TokenEvent> {
  return new Observable<TokenEvent>((subscriber) => {
    const builder = new ResponseBuilder();
    operate(answer$, subscriber, {
      next: (event) => {
        builder.push(event);
        subscriber.next(event);
      },
      complete: () => {
        conversation.record(message, builder.build()).then(
          () => subscriber.complete(),
          (error: unknown) => subscriber.error(error),
        );
      },
    });
  });
}
