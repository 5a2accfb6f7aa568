/**
 * The mock provider's wire encoders: a resolved answer in, each provider's exact streaming frames
 * (and non-streaming JSON, and error bodies) out. Pure: no I/O.
 *
 * Frames are marked: `token` frames carry one text delta (faults count them), `terminal` frames are
 * the provider's end-of-stream event (`noTerminal` drops them).
 */

/** The flavours of wire format the mock speaks. */
export type MockFlavor = 'anthropic' | 'openai' | 'groq' | 'openai-compatible';

/** tokenflow's stop reasons, which the mock maps to each provider's own names. */
export type MockStopReason = 'end' | 'max_tokens' | 'stop_sequence' | 'tool_use' | 'content_filter' | 'refusal' | 'other';

/** One SSE event as written on the wire. */
export interface Frame {
  text: string;
  token?: boolean;
  terminal?: boolean;
}

/** An answer with every default filled in. */
export interface ResolvedAnswer {
  model: string;
  id: string;
  text: string[];
  reasoning: string[];
  refusal: string[];
  toolCalls: Array<{ id: string; name: string; arguments: string[] }>;
  stopReason: MockStopReason;
  usage: { inputTokens: number; outputTokens: number } | false;
}

const sse = (data: unknown, event?: string): string =>
  `${event ? `event: ${event}\n` : ''}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`;

const ANTHROPIC_STOP: Record<MockStopReason, string> = {
  end: 'end_turn',
  max_tokens: 'max_tokens',
  stop_sequence: 'stop_sequence',
  tool_use: 'tool_use',
  content_filter: 'refusal',
  refusal: 'refusal',
  other: 'pause_turn',
};

const CHAT_FINISH: Record<MockStopReason, string> = {
  end: 'stop',
  max_tokens: 'length',
  stop_sequence: 'stop',
  tool_use: 'tool_calls',
  content_filter: 'content_filter',
  refusal: 'stop',
  other: 'stop',
};

// ---------------------------------------------------------------- Anthropic Messages

function anthropicMessage(answer: ResolvedAnswer, content: unknown[], stopReason: string | null, outputTokens: number) {
  const message: Record<string, unknown> = {
    id: answer.id,
    type: 'message',
    role: 'assistant',
    model: answer.model,
    content,
    stop_reason: stopReason,
    stop_sequence: null,
  };
  if (answer.usage) {
    message.usage = {
      input_tokens: answer.usage.inputTokens,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
      output_tokens: outputTokens,
      service_tier: 'standard',
    };
  }
  return message;
}

function anthropicFrames(answer: ResolvedAnswer): Frame[] {
  const frames: Frame[] = [{ text: sse({ type: 'message_start', message: anthropicMessage(answer, [], null, 1) }, 'message_start') }];
  let index = 0;
  const block = (contentBlock: unknown, deltas: Frame[]) => {
    frames.push({ text: sse({ type: 'content_block_start', index, content_block: contentBlock }, 'content_block_start') });
    frames.push(...deltas);
    frames.push({ text: sse({ type: 'content_block_stop', index }, 'content_block_stop') });
    index++;
  };
  const delta = (d: unknown, token = false): Frame => ({
    text: sse({ type: 'content_block_delta', index, delta: d }, 'content_block_delta'),
    token,
  });
  if (answer.reasoning.length > 0) {
    block({ type: 'thinking', thinking: '', signature: '' }, [
      ...answer.reasoning.map((t) => delta({ type: 'thinking_delta', thinking: t })),
      delta({ type: 'signature_delta', signature: 'EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxDYXJ0aGF1Z2h0' }),
    ]);
  }
  if (answer.text.length > 0 || answer.toolCalls.length === 0) {
    frames.push({ text: sse({ type: 'ping' }, 'ping') });
    block({ type: 'text', text: '' }, answer.text.map((t) => delta({ type: 'text_delta', text: t }, true)));
  }
  for (const call of answer.toolCalls) {
    block(
      { type: 'tool_use', id: call.id, name: call.name, input: {} },
      call.arguments.map((a) => delta({ type: 'input_json_delta', partial_json: a })),
    );
  }
  const messageDelta: Record<string, unknown> = {
    type: 'message_delta',
    delta: { stop_reason: ANTHROPIC_STOP[answer.stopReason], stop_sequence: null },
  };
  if (answer.usage) messageDelta.usage = { output_tokens: answer.usage.outputTokens };
  frames.push({ text: sse(messageDelta, 'message_delta') });
  frames.push({ text: sse({ type: 'message_stop' }, 'message_stop'), terminal: true });
  return frames;
}

function anthropicDocument(answer: ResolvedAnswer): unknown {
  const content: unknown[] = [];
  if (answer.reasoning.length > 0) content.push({ type: 'thinking', thinking: answer.reasoning.join(''), signature: 'sig' });
  if (answer.text.length > 0) content.push({ type: 'text', text: answer.text.join('') });
  for (const call of answer.toolCalls) {
    content.push({ type: 'tool_use', id: call.id, name: call.name, input: JSON.parse(call.arguments.join('') || '{}') });
  }
  return anthropicMessage(answer, content, ANTHROPIC_STOP[answer.stopReason], answer.usage ? answer.usage.outputTokens : 0);
}

// ---------------------------------------------------------------- Chat Completions (OpenAI, Groq, compatible)

interface ChatStyle {
  flavor: 'openai' | 'groq' | 'openai-compatible';
  /** The request asked for `stream_options.include_usage`. */
  includeUsage: boolean;
  /** Draws each chunk's `obfuscation` padding (OpenAI's, on by default there); none when absent. */
  obfuscate?: (() => string) | undefined;
}

const created = 1_763_000_000;

function chatFrames(answer: ResolvedAnswer, style: ChatStyle): Frame[] {
  const { flavor } = style;
  const base = (): Record<string, unknown> => {
    const chunk: Record<string, unknown> = { id: answer.id, object: 'chat.completion.chunk', created, model: answer.model };
    if (flavor !== 'openai-compatible') chunk.system_fingerprint = 'fp_mock';
    return chunk;
  };
  const chunk = (delta: unknown, finishReason: string | null = null, extra: Record<string, unknown> = {}): string => {
    const choice: Record<string, unknown> = { index: 0, delta };
    if (flavor !== 'openai-compatible') choice.logprobs = null;
    choice.finish_reason = finishReason;
    const padding = style.obfuscate ? { obfuscation: style.obfuscate() } : {};
    return sse({ ...base(), choices: [choice], ...extra, ...padding });
  };
  const usage = answer.usage
    ? {
        prompt_tokens: answer.usage.inputTokens,
        completion_tokens: answer.usage.outputTokens,
        total_tokens: answer.usage.inputTokens + answer.usage.outputTokens,
      }
    : undefined;
  const frames: Frame[] = [];
  const role: Record<string, unknown> = { role: 'assistant', content: '' };
  if (flavor === 'openai') role.refusal = null;
  frames.push({ text: chunk(role, null, flavor === 'groq' ? { x_groq: { id: `req_${answer.id}` } } : {}) });
  const reasoningField = flavor === 'groq' ? 'reasoning' : 'reasoning_content';
  for (const r of answer.reasoning) frames.push({ text: chunk({ [reasoningField]: r }) });
  for (const t of answer.text) frames.push({ text: chunk({ content: t }), token: true });
  for (const r of answer.refusal) frames.push({ text: chunk({ refusal: r }) });
  answer.toolCalls.forEach((call, index) => {
    call.arguments.forEach((fragment, i) => {
      const tc: Record<string, unknown> = { index, function: { arguments: fragment } };
      if (i === 0) {
        tc.id = call.id;
        tc.type = 'function';
        tc.function = { name: call.name, arguments: fragment };
      }
      frames.push({ text: chunk({ tool_calls: [tc] }) });
    });
  });
  const finish = CHAT_FINISH[answer.stopReason];
  if (flavor === 'groq') {
    const extra: Record<string, unknown> = {};
    if (usage) {
      const groqUsage = { queue_time: 0.012, ...usage, prompt_time: 0.004, completion_time: 0.05, total_time: 0.054 };
      extra.x_groq = { id: `req_${answer.id}`, usage: groqUsage };
      extra.usage = groqUsage;
    }
    frames.push({ text: chunk({}, finish, extra) });
  } else {
    frames.push({ text: chunk({}, finish) });
    if (style.includeUsage && usage) frames.push({ text: sse({ ...base(), choices: [], usage }) });
  }
  frames.push({ text: sse('[DONE]'), terminal: true });
  return frames;
}

function chatDocument(answer: ResolvedAnswer, flavor: ChatStyle['flavor']): unknown {
  const message: Record<string, unknown> = { role: 'assistant', content: answer.text.length > 0 ? answer.text.join('') : null };
  if (flavor === 'openai') message.refusal = answer.refusal.length > 0 ? answer.refusal.join('') : null;
  if (answer.reasoning.length > 0) message[flavor === 'groq' ? 'reasoning' : 'reasoning_content'] = answer.reasoning.join('');
  if (answer.toolCalls.length > 0) {
    message.tool_calls = answer.toolCalls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments.join('') } }));
  }
  const doc: Record<string, unknown> = {
    id: answer.id,
    object: 'chat.completion',
    created,
    model: answer.model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: CHAT_FINISH[answer.stopReason] }],
  };
  if (answer.usage) {
    doc.usage = {
      prompt_tokens: answer.usage.inputTokens,
      completion_tokens: answer.usage.outputTokens,
      total_tokens: answer.usage.inputTokens + answer.usage.outputTokens,
    };
  }
  return doc;
}

// ---------------------------------------------------------------- OpenAI Responses

function responseObject(answer: ResolvedAnswer, status: string, output: unknown[], withUsage: boolean): Record<string, unknown> {
  const incomplete = status === 'incomplete';
  return {
    id: answer.id,
    object: 'response',
    created_at: created,
    status,
    error: null,
    incomplete_details: incomplete
      ? { reason: answer.stopReason === 'content_filter' ? 'content_filter' : 'max_output_tokens' }
      : null,
    model: answer.model,
    output,
    usage:
      withUsage && answer.usage
        ? {
            input_tokens: answer.usage.inputTokens,
            input_tokens_details: { cached_tokens: 0 },
            output_tokens: answer.usage.outputTokens,
            output_tokens_details: { reasoning_tokens: 0 },
            total_tokens: answer.usage.inputTokens + answer.usage.outputTokens,
          }
        : null,
  };
}

function responsesOutput(answer: ResolvedAnswer): unknown[] {
  const output: unknown[] = [];
  if (answer.reasoning.length > 0) {
    output.push({ id: `rs_${answer.id}`, type: 'reasoning', summary: [{ type: 'summary_text', text: answer.reasoning.join('') }] });
  }
  if (answer.text.length > 0 || answer.refusal.length > 0) {
    const content =
      answer.refusal.length > 0
        ? [{ type: 'refusal', refusal: answer.refusal.join('') }]
        : [{ type: 'output_text', text: answer.text.join(''), annotations: [] }];
    output.push({ id: `msg_${answer.id}`, type: 'message', status: 'completed', role: 'assistant', content });
  }
  answer.toolCalls.forEach((c, i) =>
    output.push({ id: `fc_${i}_${answer.id}`, type: 'function_call', status: 'completed', call_id: c.id, name: c.name, arguments: c.arguments.join('') }),
  );
  return output;
}

function responsesStatus(answer: ResolvedAnswer): string {
  return answer.stopReason === 'max_tokens' || answer.stopReason === 'content_filter' ? 'incomplete' : 'completed';
}

function responsesFrames(answer: ResolvedAnswer, obfuscate?: () => string): Frame[] {
  let sequence = 0;
  const ev = (type: string, rest: Record<string, unknown>, mark: Partial<Frame> = {}): Frame => ({
    // OpenAI pads every delta event with `obfuscation` unless the request turned it off.
    text: sse({ type, sequence_number: sequence++, ...rest, ...(obfuscate && type.endsWith('.delta') ? { obfuscation: obfuscate() } : {}) }, type),
    ...mark,
  });
  const frames: Frame[] = [
    ev('response.created', { response: responseObject(answer, 'in_progress', [], false) }),
    ev('response.in_progress', { response: responseObject(answer, 'in_progress', [], false) }),
  ];
  let outputIndex = 0;
  if (answer.reasoning.length > 0) {
    const item = { id: `rs_${answer.id}`, type: 'reasoning', summary: [] };
    frames.push(ev('response.output_item.added', { output_index: outputIndex, item }));
    for (const r of answer.reasoning) {
      frames.push(ev('response.reasoning_summary_text.delta', { item_id: item.id, output_index: outputIndex, summary_index: 0, delta: r }));
    }
    frames.push(ev('response.output_item.done', { output_index: outputIndex, item: { ...item, summary: [{ type: 'summary_text', text: answer.reasoning.join('') }] } }));
    outputIndex++;
  }
  if (answer.text.length > 0 || answer.refusal.length > 0) {
    const itemId = `msg_${answer.id}`;
    const at = { item_id: itemId, output_index: outputIndex, content_index: 0 };
    frames.push(ev('response.output_item.added', { output_index: outputIndex, item: { id: itemId, type: 'message', status: 'in_progress', role: 'assistant', content: [] } }));
    if (answer.refusal.length > 0) {
      frames.push(ev('response.content_part.added', { ...at, part: { type: 'refusal', refusal: '' } }));
      for (const r of answer.refusal) frames.push(ev('response.refusal.delta', { ...at, delta: r }));
      frames.push(ev('response.refusal.done', { ...at, refusal: answer.refusal.join('') }));
    } else {
      frames.push(ev('response.content_part.added', { ...at, part: { type: 'output_text', text: '', annotations: [] } }));
      for (const t of answer.text) frames.push(ev('response.output_text.delta', { ...at, delta: t, logprobs: [] }, { token: true }));
      frames.push(ev('response.output_text.done', { ...at, text: answer.text.join(''), logprobs: [] }));
      frames.push(ev('response.content_part.done', { ...at, part: { type: 'output_text', text: answer.text.join(''), annotations: [] } }));
    }
    frames.push(ev('response.output_item.done', { output_index: outputIndex, item: (responsesOutput(answer).find((o) => (o as { type: string }).type === 'message')) }));
    outputIndex++;
  }
  answer.toolCalls.forEach((call, i) => {
    const item = { id: `fc_${i}_${answer.id}`, type: 'function_call', status: 'in_progress', call_id: call.id, name: call.name, arguments: '' };
    frames.push(ev('response.output_item.added', { output_index: outputIndex, item }));
    for (const a of call.arguments) frames.push(ev('response.function_call_arguments.delta', { item_id: item.id, output_index: outputIndex, delta: a }));
    frames.push(ev('response.function_call_arguments.done', { item_id: item.id, output_index: outputIndex, arguments: call.arguments.join('') }));
    frames.push(ev('response.output_item.done', { output_index: outputIndex, item: { ...item, status: 'completed', arguments: call.arguments.join('') } }));
    outputIndex++;
  });
  const status = responsesStatus(answer);
  frames.push({
    ...ev(`response.${status}`, { response: responseObject(answer, status, responsesOutput(answer), true) }),
    terminal: true,
  });
  return frames;
}

// ---------------------------------------------------------------- errors and faults

/** The provider's error type for an HTTP status. */
function errorTypeFor(flavor: MockFlavor, status: number): string {
  if (flavor === 'anthropic') {
    const types: Record<number, string> = {
      400: 'invalid_request_error',
      401: 'authentication_error',
      403: 'permission_error',
      404: 'not_found_error',
      413: 'request_too_large',
      429: 'rate_limit_error',
      529: 'overloaded_error',
    };
    return types[status] ?? 'api_error';
  }
  if (status === 429) return 'rate_limit_exceeded';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

/** The JSON body a provider sends with an HTTP error status. */
export function errorBody(flavor: MockFlavor, status: number, message?: string): unknown {
  const type = errorTypeFor(flavor, status);
  const text = message ?? `Mock ${type.replace(/_/g, ' ')} (HTTP ${status}).`;
  if (flavor === 'anthropic') return { type: 'error', error: { type, message: text } };
  return { error: { message: text, type, param: null, code: status === 401 ? 'invalid_api_key' : type } };
}

/** The in-stream error frames a provider sends when it fails mid-answer. */
export function errorFrames(
  flavor: MockFlavor,
  api: 'chat' | 'responses' | 'messages',
  error: { type: string; message: string; code?: string } | undefined,
): Frame[] {
  if (api === 'messages') {
    const e = error ?? { type: 'overloaded_error', message: 'Overloaded' };
    return [{ text: sse({ type: 'error', error: { type: e.type, message: e.message } }, 'error') }];
  }
  if (api === 'responses') {
    const e = error ?? { type: 'server_error', message: 'The server had an error while processing your request.' };
    const code = e.code ?? e.type;
    return [
      { text: sse({ type: 'error', code, message: e.message, param: null, sequence_number: 900 }, 'error') },
      { text: sse({ type: 'response.failed', sequence_number: 901, response: { status: 'failed', error: { code, message: e.message } } }, 'response.failed') },
    ];
  }
  const e = error ?? { type: 'server_error', message: 'The server had an error while processing your request.' };
  return [{ text: sse({ error: { message: e.message, type: e.type, param: null, code: e.code ?? null } }) }];
}

/** A data line cut off in the middle of its JSON. */
export function malformedFrame(api: 'chat' | 'responses' | 'messages'): Frame {
  if (api === 'messages') return { text: 'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_del\n\n' };
  if (api === 'responses') return { text: 'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","delta":"oo\n\n' };
  return { text: 'data: {"id":"chatcmpl-x","choices":[{"index":0,"delta":{"content":"oo\n\n' };
}

/** Which API of the flavour a request path addresses, or `undefined` for an unknown route. */
export function apiFor(flavor: MockFlavor, path: string): 'chat' | 'responses' | 'messages' | undefined {
  if (flavor === 'anthropic') return path === '/v1/messages' ? 'messages' : undefined;
  if (flavor === 'groq') return path === '/openai/v1/chat/completions' ? 'chat' : undefined;
  if (path === '/v1/chat/completions') return 'chat';
  if (flavor === 'openai' && path === '/v1/responses') return 'responses';
  return undefined;
}

/**
 * Streaming frames for an answer on the given API. `obfuscate`, when given, draws the `obfuscation`
 * padding OpenAI adds to every Chat Completions chunk and every Responses delta event.
 */
export function encodeStream(
  flavor: MockFlavor,
  api: 'chat' | 'responses' | 'messages',
  answer: ResolvedAnswer,
  includeUsage: boolean,
  obfuscate?: () => string,
): Frame[] {
  if (api === 'messages') return anthropicFrames(answer);
  if (api === 'responses') return responsesFrames(answer, obfuscate);
  return chatFrames(answer, { flavor: flavor === 'anthropic' ? 'openai' : flavor, includeUsage, obfuscate });
}

/** The non-streaming JSON body for an answer on the given API. */
export function encodeDocument(flavor: MockFlavor, api: 'chat' | 'responses' | 'messages', answer: ResolvedAnswer): unknown {
  if (api === 'messages') return anthropicDocument(answer);
  if (api === 'responses') return responseObject(answer, responsesStatus(answer), responsesOutput(answer), true);
  return chatDocument(answer, flavor === 'anthropic' ? 'openai' : flavor);
}

// ---------------------------------------------------------------- what a request sent back

/** A tool result a request carried, whatever the wire format (see `MockRequest.toolResults`). */
export interface MockToolResult {
  /** The call it answers (Anthropic `tool_use_id`, Chat `tool_call_id`, Responses `call_id`). */
  toolCallId: string;
  /** The result's text (text parts joined; other parts as JSON). */
  output: string;
  /** Anthropic's `is_error`; absent on the wires that have no such flag. */
  isError?: boolean;
}

/**
 * The JSON Schema a request asked its answer to follow (structured output), whatever the wire
 * format: Anthropic `output_config.format.schema`, Chat `response_format.json_schema.schema`,
 * Responses `text.format.schema`. `undefined` when it asked for none.
 */
export function outputSchemaOf(api: 'chat' | 'responses' | 'messages', body: unknown): unknown {
  const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, any>;
  if (api === 'messages') return b.output_config?.format?.type === 'json_schema' ? b.output_config.format.schema : undefined;
  if (api === 'responses') return b.text?.format?.type === 'json_schema' ? b.text.format.schema : undefined;
  return b.response_format?.type === 'json_schema' ? b.response_format.json_schema?.schema : undefined;
}

/** The tool results in a request body, in the order sent. */
export function toolResultsOf(api: 'chat' | 'responses' | 'messages', body: unknown): MockToolResult[] {
  const results: MockToolResult[] = [];
  const b = (typeof body === 'object' && body !== null ? body : {}) as { messages?: unknown; input?: unknown };
  const items = api === 'responses' ? b.input : b.messages;
  if (!Array.isArray(items)) return results;
  for (const item of items as Array<Record<string, unknown>>) {
    if (typeof item !== 'object' || item === null) continue;
    if (api === 'messages' && Array.isArray(item.content)) {
      for (const block of item.content as Array<Record<string, unknown>>) {
        if (block?.type !== 'tool_result') continue;
        const result: MockToolResult = { toolCallId: String(block.tool_use_id), output: outputText(block.content) };
        if (block.is_error === true) result.isError = true;
        results.push(result);
      }
    } else if (api === 'chat' && item.role === 'tool') {
      results.push({ toolCallId: String(item.tool_call_id), output: outputText(item.content) });
    } else if (api === 'responses' && item.type === 'function_call_output') {
      results.push({ toolCallId: String(item.call_id), output: outputText(item.output) });
    }
  }
  return results;
}

function outputText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return content === undefined ? '' : JSON.stringify(content);
  return content
    .map((part: { type?: unknown; text?: unknown }) => (typeof part?.text === 'string' ? part.text : JSON.stringify(part)))
    .join('');
}
