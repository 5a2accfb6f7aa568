/**
 * The request side: the `UIMessage[]` that `useChat` POSTs (`{ id, messages, trigger, messageId }`)
 * read into tokenflow's `ChatMessage[]`, so the history goes to any provider or an Agent.
 */
import { InvalidArgumentError } from '../errors.js';
import type { AssistantContentPart, ChatMessage, ImageMediaType, ReasoningPart, TextPart, ToolCallPart, ToolResultPart, UserContentPart } from '../events.js';
import { describeValue } from '../internal/describe.js';
import { isImageMediaType } from '../messages.js';
import { mergeText, toolOutputText } from '../response-builder.js';
import { isPlainObject, requireObject, requireString } from '../validate.js';

/**
 * A UI message as `useChat` sends it (structurally: the AI SDK's `UIMessage` fits, whatever its
 * metadata, data and tool types).
 */
export interface UIMessageLike {
  id: string;
  role: 'system' | 'user' | 'assistant';
  metadata?: unknown;
  parts: ReadonlyArray<{ readonly type: string }>;
}

type Part = Record<string, unknown> & { type: string };

/**
 * Reads `useChat`'s messages into the history tokenflow sends: what an Agent's tool loop records
 * for the same answer (each step's assistant turn, then a `tool` message with its results).
 *
 * - `system`: its text parts joined, as a system message.
 * - `user`: `text` and `file` parts (images as `image` parts, PDFs as `document` parts; the `url` is
 *   an `https:` or a `data:` URL); one text part alone becomes a string `content`.
 * - `assistant`: split at each `step-start`; per step, its text, reasoning that carries what a
 *   provider needs back (`providerMetadata.tokenflow`: signature, redacted data, provider data;
 *   unsigned reasoning no API takes back and is left out, as `AgentResponse.message` leaves it out),
 *   its tool calls, and a `tool` message with their results (`output-available`, `output-error`,
 *   `output-denied`). Provider-run tools go back as `provider-tool` parts. A call still streaming
 *   its input, one whose input was not JSON (`tool-input-error`) and one that is not a function
 *   call (`providerMetadata.tokenflow.kind`) are left out, as the loop's history leaves them out.
 *   A `data-tokenflow-reset` marker drops what the retry discarded (that step's parts, or all the
 *   message's parts before it).
 * - `source-*`, `data-*` and `step-start` parts are for the UI only and carry nothing for the model.
 *
 * @example
 * const body = await request.json();             // { id, messages, trigger, messageId }
 * const history = fromUIMessages(body.messages);
 * const last = history.pop();                    // the new question
 * return uiMessageStreamResponse(agent.stream(last.content, { history, tools }));
 *
 * @param messages - the `messages` of `useChat`'s request body
 * @returns the conversation as `ChatMessage`s, oldest first
 * @throws InvalidArgumentError naming the offending message or part (`messages[2].parts[1].state`):
 *   a part the role cannot hold, an unknown part type, a tool waiting for the AI SDK's approval flow
 *   (tokenflow's Agent asks through its `approve` hook), a file type no provider takes
 */
export function fromUIMessages(messages: readonly UIMessageLike[]): ChatMessage[] {
  if (!Array.isArray(messages)) {
    throw new InvalidArgumentError('messages', `messages must be the array of UI messages useChat sends, got ${describeValue(messages)}.`);
  }
  const out: ChatMessage[] = [];
  messages.forEach((message, i) => {
    const path = `messages[${i}]`;
    const m = requireObject(message, path);
    // The id matters to the UI only; any string (even '') will do.
    if (m.id !== undefined) requireString(m.id, `${path}.id`, { allowEmpty: true });
    if (!Array.isArray(m.parts)) throw new InvalidArgumentError(`${path}.parts`, `${path}.parts must be an array of parts, got ${describeValue(m.parts)}.`);
    const parts = m.parts.map((part: unknown, j) => {
      const p = requireObject(part, `${path}.parts[${j}]`);
      requireString(p.type, `${path}.parts[${j}].type`);
      return p as Part;
    });
    switch (m.role) {
      case 'system':
        out.push(systemMessage(parts, path));
        return;
      case 'user':
        out.push(userMessage(parts, path));
        return;
      case 'assistant':
        out.push(...assistantMessages(parts, path));
        return;
      default:
        throw new InvalidArgumentError(`${path}.role`, `${path}.role must be 'system', 'user' or 'assistant', got ${describeValue(m.role)}.`);
    }
  });
  return out;
}

/** A UI-only part: nothing in it is for the model. */
function uiOnly(type: string): boolean {
  return type === 'step-start' || type === 'source-url' || type === 'source-document' || type.startsWith('data-');
}

function textOf(part: Part, path: string): string {
  return requireString(part.text, `${path}.text`, { allowEmpty: true });
}

function wrongRole(part: Part, path: string, role: string, takes: string): InvalidArgumentError {
  return new InvalidArgumentError(`${path}.type`, `${path}: a '${part.type}' part cannot be in a ${role} message (it takes ${takes}).`);
}

function systemMessage(parts: Part[], path: string): ChatMessage {
  let text = '';
  parts.forEach((part, j) => {
    const at = `${path}.parts[${j}]`;
    if (part.type === 'text') text += textOf(part, at);
    else if (!uiOnly(part.type)) throw wrongRole(part, at, 'system', "'text' parts");
  });
  return { role: 'system', content: text };
}

function userMessage(parts: Part[], path: string): ChatMessage {
  const content: UserContentPart[] = [];
  parts.forEach((part, j) => {
    const at = `${path}.parts[${j}]`;
    if (part.type === 'text') content.push({ type: 'text', text: textOf(part, at) });
    else if (part.type === 'file') content.push(filePart(part, at));
    else if (!uiOnly(part.type)) throw wrongRole(part, at, 'user', "'text' and 'file' parts");
  });
  if (content.length === 0) {
    throw new InvalidArgumentError(`${path}.parts`, `${path} has no text or file part: a user message needs something to send.`);
  }
  const only = content[0];
  return content.length === 1 && only?.type === 'text' ? { role: 'user', content: only.text } : { role: 'user', content };
}

function filePart(part: Part, path: string): UserContentPart {
  const mediaType = requireString(part.mediaType, `${path}.mediaType`);
  const url = requireString(part.url, `${path}.url`);
  if (!/^(https?:|data:)/i.test(url)) {
    throw new InvalidArgumentError(`${path}.url`, `${path}.url must be an https: (or http:) URL or a data: URL, got ${describeValue(url)}.`);
  }
  if (isImageMediaType(mediaType)) return { type: 'image', image: url, mediaType: mediaType as ImageMediaType };
  if (mediaType === 'application/pdf') {
    const document: UserContentPart = { type: 'document', data: url, mediaType: 'application/pdf' };
    if (typeof part.filename === 'string' && part.filename !== '') document.title = part.filename;
    return document;
  }
  throw new InvalidArgumentError(
    `${path}.mediaType`,
    `${path}.mediaType ${describeValue(mediaType)} is not a file type tokenflow sends: images (image/png, image/jpeg, image/gif, image/webp) and PDFs (application/pdf).`,
  );
}

/** `providerMetadata.tokenflow` of a part (or of a tool part's call or result metadata), when it has one. */
function tokenflowMeta(value: unknown): Record<string, unknown> | undefined {
  if (!isPlainObject(value)) return undefined;
  const fields = value.tokenflow;
  return isPlainObject(fields) ? fields : undefined;
}

/** The parts that stand after the `data-tokenflow-reset` markers took back what they discard. */
function withoutDiscarded(parts: Part[], path: string): Array<{ part: Part; at: string }> {
  let kept: Array<{ part: Part; at: string }> = [];
  parts.forEach((part, j) => {
    const at = `${path}.parts[${j}]`;
    if (part.type !== 'data-tokenflow-reset') {
      kept.push({ part, at });
      return;
    }
    const data = requireObject(part.data, `${at}.data`);
    if (data.step === undefined) {
      kept = [];
      return;
    }
    // The discarded step's parts, from its `step-start` on (the encoder starts the retry in a new step).
    let from = kept.length - 1;
    while (from >= 0 && kept[from]!.part.type !== 'step-start') from--;
    kept = kept.slice(0, Math.max(from, 0));
  });
  return kept;
}

const TOOL_STATES = ['input-streaming', 'input-available', 'output-available', 'output-error', 'output-denied'];

/** One assistant message's steps as the loop records them: per step, its turn and its tool turn. */
function assistantMessages(parts: Part[], path: string): ChatMessage[] {
  const out: ChatMessage[] = [];
  let content: AssistantContentPart[] = [];
  let results: ToolResultPart[] = [];
  const flush = (): void => {
    if (content.length > 0) {
      const onlyText = content.every((p) => p.type === 'text');
      out.push({ role: 'assistant', content: onlyText ? content.map((p) => (p as TextPart).text).join('') : mergeText(content) });
    }
    if (results.length > 0) out.push({ role: 'tool', content: results });
    content = [];
    results = [];
  };
  for (const { part, at } of withoutDiscarded(parts, path)) {
    const type = part.type;
    if (type === 'step-start') {
      flush();
      continue;
    }
    if (type === 'text') {
      content.push({ type: 'text', text: textOf(part, at) });
      continue;
    }
    if (type === 'reasoning') {
      const reasoning = reasoningPart(part, at);
      if (reasoning) content.push(reasoning);
      continue;
    }
    if (type === 'dynamic-tool' || type.startsWith('tool-')) {
      toolPart(part, at, content, results);
      continue;
    }
    if (uiOnly(type)) continue;
    if (type === 'file') {
      throw new InvalidArgumentError(`${at}.type`, `${at}: tokenflow's assistant messages hold no files (send generated files to the user, not back to the model).`);
    }
    throw new InvalidArgumentError(`${at}.type`, `${at}.type ${describeValue(type)} is not a UI message part tokenflow knows (text, reasoning, tool-*, dynamic-tool, file, source-url, source-document, data-*, step-start).`);
  }
  flush();
  return out;
}

function reasoningPart(part: Part, at: string): ReasoningPart | undefined {
  const text = textOf(part, at);
  const fields = tokenflowMeta(part.providerMetadata);
  if (!fields) return undefined;
  if (typeof fields.redacted === 'string') return { type: 'reasoning', text: '', redacted: fields.redacted };
  const signature = typeof fields.signature === 'string' ? fields.signature : undefined;
  const providerData = isPlainObject(fields.providerData) ? fields.providerData : undefined;
  if (signature === undefined && providerData === undefined) return undefined;
  const reasoning: ReasoningPart = { type: 'reasoning', text };
  if (signature !== undefined) reasoning.signature = signature;
  if (providerData !== undefined) reasoning.providerData = providerData;
  return reasoning;
}

function toolPart(part: Part, at: string, content: AssistantContentPart[], results: ToolResultPart[]): void {
  const name = part.type === 'dynamic-tool' ? requireString(part.toolName, `${at}.toolName`) : part.type.slice('tool-'.length);
  const id = requireString(part.toolCallId, `${at}.toolCallId`);
  const state = part.state;
  if (typeof state !== 'string' || !TOOL_STATES.includes(state)) {
    const approval = state === 'approval-requested' || state === 'approval-responded';
    throw new InvalidArgumentError(
      `${at}.state`,
      approval
        ? `${at}.state is ${describeValue(state)}: tokenflow does not run the AI SDK's tool approval flow; approve calls on the server with the Agent's approve hook.`
        : `${at}.state must be one of ${TOOL_STATES.join(', ')}, got ${describeValue(state)}.`,
    );
  }
  const call = tokenflowMeta(part.callProviderMetadata);
  if (part.providerExecuted === true) {
    const block = call?.block;
    if (!isPlainObject(block)) {
      throw new InvalidArgumentError(
        `${at}.callProviderMetadata`,
        `${at}: a provider-run tool goes back to the provider as the block it sent, which must be in callProviderMetadata.tokenflow.block (a stream from tokenflow puts it there).`,
      );
    }
    content.push({ type: 'provider-tool', phase: 'call', id, name, block });
    if (state === 'output-available') {
      if (!isPlainObject(part.output)) throw new InvalidArgumentError(`${at}.output`, `${at}.output must be the provider's result block (an object), got ${describeValue(part.output)}.`);
      const resultName = tokenflowMeta(part.resultProviderMetadata)?.name;
      content.push({ type: 'provider-tool', phase: 'result', id, name: typeof resultName === 'string' ? resultName : name, block: part.output });
    }
    return;
  }
  // Not a function call, or input that never became JSON: the loop's history holds neither.
  if (call?.kind !== undefined || state === 'input-streaming') return;
  if (state === 'output-error' && part.input === undefined) return;
  const callPart: ToolCallPart = { type: 'tool-call', id, name, input: part.input === undefined ? {} : part.input };
  if (isPlainObject(call?.providerData)) callPart.providerData = call.providerData;
  content.push(callPart);
  if (state === 'output-available') {
    let output: string;
    try {
      output = toolOutputText(part.output);
    } catch (error) {
      throw new InvalidArgumentError(`${at}.output`, `${at}.output must be JSON (${(error as Error).message}).`);
    }
    results.push({ type: 'tool-result', toolCallId: id, name, output });
  } else if (state === 'output-error') {
    results.push({ type: 'tool-result', toolCallId: id, name, output: requireString(part.errorText, `${at}.errorText`, { allowEmpty: true }), isError: true });
  } else if (state === 'output-denied') {
    results.push({ type: 'tool-result', toolCallId: id, name, output: `The call to tool "${name}" was denied by the user.`, isError: true });
  }
}
