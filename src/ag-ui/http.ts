/**
 * Serving an AG-UI run over HTTP, and reading the `RunAgentInput` a client POSTs.
 */
import type { Message, RunAgentInput } from '@ag-ui/core';
import { merge, Subject, type Observable, type Subscription } from 'rxjs';
import { requireStream } from '../bridge/internal.js';
import { InvalidArgumentError, QueueOverflowError } from '../errors.js';
import type { AssistantContentPart, ChatMessage, ImagePart, TextPart, ToolDefinition, ToolResultPart, UserContentPart } from '../events.js';
import type { TokenEvent } from '../events.js';
import { readOptions } from '../operators/internal.js';
import { loadPeer } from '../providers/peer.js';
import { isPlainObject, requireNumber, requireObject, requireString } from '../validate.js';
import { checkToAGUIOptions, toAGUI, TO_AGUI_KEYS, type ToAGUIOptions } from './toAGUI.js';

/** AG-UI's protobuf media type (`@ag-ui/proto`'s `AGUI_MEDIA_TYPE`). */
const AGUI_PROTO_TYPE = 'application/vnd.ag-ui.event+proto';

/** Options of {@link aguiResponse}. */
export interface AGUIResponseOptions extends ToAGUIOptions {
  /**
   * The request's `Accept` header: one that names `application/vnd.ag-ui.event+proto` gets AG-UI's
   * protobuf framing (negotiated by `@ag-ui/encoder`, so `;q=0` refuses it), anything else (`*\/*`
   * included) or nothing Server-Sent Events.
   * @defaultValue SSE
   */
  accept?: string | null;
  /** Extra response headers. */
  headers?: Record<string, string>;
  /**
   * The most encoded bytes that may wait for a client reading slower than the run arrives. Past it
   * the upstream is cancelled and the run ends with `RUN_ERROR` (`QueueOverflowError`), so a client
   * that stops reading cannot make the server hold a whole answer.
   * @defaultValue 1_048_576 (1 MiB)
   */
  maxBufferedBytes?: number;
}

/**
 * Answers an AG-UI request with the run: a `Response` whose body is the stream piped through
 * {@link toAGUI}, encoded by `@ag-ui/encoder` (an optional peer dependency, loaded here) as SSE or,
 * when the client's `Accept` asks for it, protobuf. Lazy: the stream is subscribed when the body is
 * first read; a client that goes away cancels the body, which unsubscribes and so aborts the
 * provider's request.
 *
 * @example
 * app.post('/agent', async (c) => {
 *   const input = readRunAgentInput(await c.req.json());
 *   const tokens$ = agent.stream(lastUserText(input.messages), { history: input.history });
 *   return aguiResponse(tokens$, { threadId: input.threadId, runId: input.runId, accept: c.req.header('accept') });
 * });
 * @param tokens$ - the answer (a provider's `stream()`, an Agent's `stream()`)
 * @param options - the run's `threadId` and `runId`, the `Accept` header, `onError`, `headers`
 * @returns a promise of a `200` streaming `Response`
 * @throws (rejects) InvalidArgumentError for a non-Observable or invalid options;
 *   MissingDependencyError when `@ag-ui/encoder` is not installed
 */
export async function aguiResponse(tokens$: Observable<TokenEvent>, options: AGUIResponseOptions): Promise<Response> {
  const stream = requireStream(tokens$, 'aguiResponse');
  const o = readOptions(options, 'aguiResponse', [...TO_AGUI_KEYS, 'accept', 'headers', 'maxBufferedBytes']);
  if (o.accept !== undefined && o.accept !== null && typeof o.accept !== 'string') {
    throw new InvalidArgumentError('options.accept', "aguiResponse(): options.accept must be the request's Accept header (a string), null or undefined.");
  }
  if (o.headers !== undefined && (!isPlainObject(o.headers) || Object.values(o.headers).some((v) => typeof v !== 'string'))) {
    throw new InvalidArgumentError('options.headers', 'aguiResponse(): options.headers must be an object of header names to string values.');
  }
  const { accept, headers, maxBufferedBytes, ...rest } = o;
  const bound = maxBufferedBytes === undefined ? 1_048_576 : requireNumber(maxBufferedBytes, 'options.maxBufferedBytes', { min: 1, integer: true });
  const operator = toAGUI(checkToAGUIOptions(rest, 'aguiResponse'));
  const { EventEncoder } = await loadPeer('@ag-ui/encoder', 'tokenflow/ag-ui aguiResponse()', () => import('@ag-ui/encoder'));
  // The encoder alone would also pick protobuf for `*/*` (curl's, fetch's default): binary only
  // for a client that names the AG-UI protobuf type, as HttpAgent does when it wants it.
  const wantsProto = typeof accept === 'string' && accept.toLowerCase().includes(AGUI_PROTO_TYPE);
  const encoder = new EventEncoder(wantsProto ? { accept } : {});
  // An overflow fails the source, so the run ends the way every failure does: RUN_ERROR, upstream cancelled.
  const overflow = new Subject<never>();
  const events$ = merge(stream, overflow).pipe(operator);
  let subscription: Subscription | undefined;
  let closed = false;
  const body = new ReadableStream<Uint8Array>(
    {
      // Never before the first read (highWaterMark 0): building the Response starts nothing.
      pull(controller) {
        if (subscription) return;
        subscription = events$.subscribe({
          next: (event) => {
            if (closed) return;
            controller.enqueue(encoder.encodeBinary(event));
            // desiredSize is the high-water mark (0) minus the bytes the client has not taken.
            if (-(controller.desiredSize ?? 0) > bound && !overflow.closed) {
              overflow.error(new QueueOverflowError(`aguiResponse(): more than ${bound} bytes waited for the client (options.maxBufferedBytes); the run was cancelled.`, bound));
            }
          },
          // toAGUI turns every failure into RUN_ERROR; an error here is the encoder's own.
          error: (error: unknown) => {
            if (closed) return;
            closed = true;
            controller.error(error);
          },
          complete: () => {
            if (closed) return;
            closed = true;
            controller.close();
          },
        });
      },
      cancel() {
        closed = true;
        subscription?.unsubscribe();
      },
    },
    { highWaterMark: 0, size: (chunk) => chunk.byteLength },
  );
  return new Response(body, {
    status: 200,
    headers: { 'content-type': encoder.getContentType(), 'cache-control': 'no-cache, no-transform', 'x-accel-buffering': 'no', ...(headers as Record<string, string> | undefined) },
  });
}

/** What {@link readRunAgentInput} gives: the ids to answer with, and the conversation in tokenflow's terms. */
export interface AGUIRunRequest {
  threadId: string;
  runId: string;
  /** `input.messages` as tokenflow messages (see {@link fromAGUIMessages}). */
  messages: ChatMessage[];
  /** The tools the client offers (frontend tools): pass them in a request's `tools` so the model may call them. */
  tools: ToolDefinition[];
  /** `input.context`, each entry as `description: value` on its own line ('' when none): for a system prompt. */
  context: string;
  /** The input as it came, checked. */
  input: RunAgentInput;
}

/**
 * Reads the JSON body an AG-UI client POSTs (`RunAgentInput`), checked, into what a tokenflow
 * request needs.
 *
 * @example
 * const run = readRunAgentInput(await request.json());
 * llm.stream({ model, messages: run.messages, tools: run.tools, system: run.context });
 * @param body - the parsed request body
 * @returns the ids, messages, tools and context
 * @throws InvalidArgumentError naming the first invalid field (`input.messages[2].role`)
 */
export function readRunAgentInput(body: unknown): AGUIRunRequest {
  const input = requireObject(body, 'input');
  const threadId = requireString(input.threadId, 'input.threadId');
  const runId = requireString(input.runId, 'input.runId');
  const list = (field: string): unknown[] => {
    const value = input[field];
    if (value === undefined) return [];
    if (!Array.isArray(value)) throw new InvalidArgumentError(`input.${field}`, `input.${field} must be an array (RunAgentInput.${field}).`);
    return value;
  };
  const messages = fromAGUIMessages(list('messages') as Message[], 'input.messages');
  const tools = list('tools').map((tool, i): ToolDefinition => {
    const t = requireObject(tool, `input.tools[${i}]`);
    const name = requireString(t.name, `input.tools[${i}].name`);
    const parameters = t.parameters === undefined ? { type: 'object', properties: {} } : requireObject(t.parameters, `input.tools[${i}].parameters`);
    const out: ToolDefinition = { name, parameters };
    if (typeof t.description === 'string') out.description = t.description;
    return out;
  });
  const context = list('context')
    .map((entry, i) => {
      const c = requireObject(entry, `input.context[${i}]`);
      return `${requireString(c.description, `input.context[${i}].description`, { allowEmpty: true })}: ${requireString(c.value, `input.context[${i}].value`, { allowEmpty: true })}`;
    })
    .join('\n');
  return { threadId, runId, messages, tools, context, input: input as unknown as RunAgentInput };
}

/**
 * AG-UI messages as tokenflow `ChatMessage`s: `user` (text, and images given by URL or base64
 * data), `system` and `developer` (both as `system`), `assistant` (text and tool calls, whose JSON
 * arguments are parsed), `tool` (results; consecutive ones join one `tool` message, `error` marks a
 * failed call). A `reasoning` message with an `encryptedValue` goes back as signed reasoning on the
 * assistant message after it; one without (its text alone no API takes back) and `activity`
 * messages (UI state) are not sent to a model and are left out.
 *
 * @example
 * const history = fromAGUIMessages(input.messages);
 * @param messages - `RunAgentInput.messages`
 * @param path - the field name errors use
 * @defaultValue path 'messages'
 * @returns the conversation, oldest first
 * @throws InvalidArgumentError naming the first message or part tokenflow cannot send
 */
export function fromAGUIMessages(messages: readonly Message[], path = 'messages'): ChatMessage[] {
  if (!Array.isArray(messages)) throw new InvalidArgumentError(path, `${path} must be an array of AG-UI messages (RunAgentInput.messages).`);
  if (typeof path !== 'string') throw new InvalidArgumentError('path', 'fromAGUIMessages(): path must be a string.');
  const out: ChatMessage[] = [];
  const callNames = new Map<string, string>();
  let pendingReasoning: AssistantContentPart[] = [];
  messages.forEach((raw, i) => {
    const at = `${path}[${i}]`;
    const m = requireObject(raw, at);
    const role = m.role;
    switch (role) {
      case 'system':
      case 'developer':
        out.push({ role: 'system', content: requireString(m.content, `${at}.content`, { allowEmpty: true }) });
        return;
      case 'user':
        out.push({ role: 'user', content: typeof m.content === 'string' ? m.content : userParts(m.content, `${at}.content`) });
        return;
      case 'assistant': {
        const parts: AssistantContentPart[] = [...pendingReasoning];
        pendingReasoning = [];
        if (m.content !== undefined && m.content !== null) {
          const text = requireString(m.content, `${at}.content`, { allowEmpty: true });
          if (text !== '') parts.push({ type: 'text', text });
        }
        const calls = m.toolCalls === undefined ? [] : m.toolCalls;
        if (!Array.isArray(calls)) throw new InvalidArgumentError(`${at}.toolCalls`, `${at}.toolCalls must be an array of { id, type: 'function', function: { name, arguments } }.`);
        calls.forEach((call, j) => {
          const c = requireObject(call, `${at}.toolCalls[${j}]`);
          const id = requireString(c.id, `${at}.toolCalls[${j}].id`);
          const fn = requireObject(c.function, `${at}.toolCalls[${j}].function`);
          const name = requireString(fn.name, `${at}.toolCalls[${j}].function.name`);
          const args = requireString(fn.arguments, `${at}.toolCalls[${j}].function.arguments`, { allowEmpty: true });
          let input: unknown;
          try {
            input = args.trim() === '' ? {} : JSON.parse(args);
          } catch {
            throw new InvalidArgumentError(`${at}.toolCalls[${j}].function.arguments`, `${at}.toolCalls[${j}].function.arguments must be JSON (the call's input), got ${JSON.stringify(args.slice(0, 40))}.`);
          }
          callNames.set(id, name);
          parts.push({ type: 'tool-call', id, name, input });
        });
        out.push({ role: 'assistant', content: parts.length === 1 && parts[0]!.type === 'text' ? (parts[0] as TextPart).text : parts });
        return;
      }
      case 'tool': {
        const toolCallId = requireString(m.toolCallId, `${at}.toolCallId`);
        const name = callNames.get(toolCallId);
        if (name === undefined) throw new InvalidArgumentError(`${at}.toolCallId`, `${at}.toolCallId names no tool call of an earlier assistant message (${JSON.stringify(toolCallId)}).`);
        const output = typeof m.content === 'string' ? m.content : userParts(m.content, `${at}.content`).map((p) => {
          if (p.type === 'document') throw new InvalidArgumentError(`${at}.content`, `${at}.content: a tool result can hold text and images only.`);
          return p;
        });
        const part: ToolResultPart = { type: 'tool-result', toolCallId, name, output: output as ToolResultPart['output'] };
        if (typeof m.error === 'string') {
          part.isError = true;
          if (part.output === '') part.output = m.error;
        }
        const last = out.at(-1);
        if (last?.role === 'tool') last.content.push(part);
        else out.push({ role: 'tool', content: [part] });
        return;
      }
      case 'reasoning':
        if (typeof m.encryptedValue === 'string' && m.encryptedValue !== '') {
          pendingReasoning.push({ type: 'reasoning', text: requireString(m.content, `${at}.content`, { allowEmpty: true }), signature: m.encryptedValue });
        }
        return;
      case 'activity':
        return;
      default:
        throw new InvalidArgumentError(`${at}.role`, `${at}.role must be one of user, assistant, system, developer, tool, reasoning, activity; got ${JSON.stringify(role)}.`);
    }
  });
  return out;
}

/** AG-UI content parts as a user message's parts: text, and images by URL or base64 data. */
function userParts(value: unknown, path: string): UserContentPart[] {
  if (!Array.isArray(value)) throw new InvalidArgumentError(path, `${path} must be a string or an array of content parts.`);
  return value.map((raw, k): UserContentPart => {
    const p = requireObject(raw, `${path}[${k}]`);
    if (p.type === 'text') return { type: 'text', text: requireString(p.text, `${path}[${k}].text`, { allowEmpty: true }) };
    if (p.type === 'image' && isPlainObject(p.source)) {
      const s = p.source;
      if (s.type === 'url') return { type: 'image', image: requireString(s.value, `${path}[${k}].source.value`) };
      if (s.type === 'data') {
        const mediaType = requireString(s.mimeType, `${path}[${k}].source.mimeType`);
        return { type: 'image', image: `data:${mediaType};base64,${requireString(s.value, `${path}[${k}].source.value`)}` } satisfies ImagePart;
      }
    }
    throw new InvalidArgumentError(`${path}[${k}]`, `${path}[${k}]: tokenflow sends text parts and images given by URL or base64 data; got a ${JSON.stringify(p.type)} part.`);
  });
}
