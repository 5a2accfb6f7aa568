/**
 * Messages with parts, request direction, for every wire format: through each adapter's real SDK
 * over real HTTP against the mock provider, a request with every part the wire takes arrives as the
 * exact JSON body expected; every part it cannot take is an `InvalidArgumentError` naming the part,
 * and the mock records no request. Then the validation every provider shares.
 */
import { Buffer } from 'node:buffer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import type { ChatMessage, ChatRequest, ProviderToolPart } from '../../src/events.js';
import { startMockProvider, type MockProvider } from '../../src/testing/index.js';
import { flavorOf, makeAdapter, rejectedArgument, type AdapterLabel } from '../helpers/mock.js';
import { run } from '../helpers/run.js';

const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0xff, 0x00]);
const PNG_BASE64 = Buffer.from(PNG).toString('base64');
const PDF = new TextEncoder().encode('%PDF-1.4 tokenflow test document');
const PDF_BASE64 = Buffer.from(PDF).toString('base64');
const JPEG_DATA_URL = 'data:image/jpeg;base64,/9j/4AAQSkZJRg==';
const PDF_DATA_URL = `data:application/pdf;base64,${PDF_BASE64}`;

/** Anthropic's server tool blocks, as the API sends them (replayed unchanged). */
const SERVER_TOOL_USE = { type: 'server_tool_use', id: 'srvtoolu_1', name: 'web_search', input: { query: 'oslo weather' } };
const SEARCH_RESULT = {
  type: 'web_search_tool_result',
  tool_use_id: 'srvtoolu_1',
  content: [{ type: 'web_search_result', url: 'https://example.org/oslo', title: 'Oslo', encrypted_content: 'Eq0=', page_age: null }],
};
/** A Responses item the provider ran (replayed unchanged). */
const WEB_SEARCH_CALL = { id: 'ws_1', type: 'web_search_call', status: 'completed', action: { type: 'search', query: 'oslo weather' } };

const anthropicTool = (phase: 'call' | 'result', block: Record<string, unknown>): ProviderToolPart => ({
  type: 'provider-tool',
  phase,
  id: 'srvtoolu_1',
  name: phase === 'call' ? 'web_search' : 'web_search_tool_result',
  block,
});

const SYSTEM: ChatMessage = { role: 'system', content: [{ type: 'text', text: 'Be exact.' }, { type: 'text', text: 'Use metric units.' }] };
const QUESTION = 'What do these show?';

/** One request body recorded by the mock, for this request through this adapter. */
async function bodyOf(label: AdapterLabel, request: ChatRequest): Promise<Record<string, unknown>> {
  const mock = await startMockProvider({ flavor: flavorOf(label), script: { text: 'ok' } });
  try {
    const outcome = await run(makeAdapter(label, mock.baseURL).stream(request));
    expect(outcome.error).toBeUndefined();
    expect(mock.requests).toHaveLength(1);
    return mock.requests[0]!.body as Record<string, unknown>;
  } finally {
    await mock.close();
  }
}

/**
 * The request is refused before anything is sent, by `stream()` (on subscription) and by
 * `complete()` (a rejection), with an `InvalidArgumentError` naming `field`. Returns the error.
 */
async function refused(label: AdapterLabel, request: ChatRequest, field: string): Promise<InvalidArgumentError> {
  const mock = await startMockProvider({ flavor: flavorOf(label), script: { text: 'ok' } });
  try {
    const llm = makeAdapter(label, mock.baseURL);
    const outcome = await run(llm.stream(request));
    expect(InvalidArgumentError.isInstance(outcome.error)).toBe(true);
    const error = outcome.error as InvalidArgumentError;
    expect(error.field).toBe(field);
    expect(error.message).toContain(field);
    const rejection = await rejectedArgument(() => llm.complete(request));
    expect(rejection.field).toBe(field);
    expect(mock.requests).toHaveLength(0);
    return error;
  } finally {
    await mock.close();
  }
}

describe('anthropic: every part the Messages API takes', () => {
  const request: ChatRequest = {
    model: 'claude-test',
    system: 'Answer briefly.',
    messages: [
      SYSTEM,
      {
        role: 'user',
        content: [
          { type: 'text', text: QUESTION },
          { type: 'image', image: 'https://example.org/cat.png' },
          { type: 'image', image: PNG, mediaType: 'image/png' },
          { type: 'image', image: JPEG_DATA_URL },
          { type: 'image', image: new URL('https://example.org/dog.webp') },
          { type: 'document', data: PDF, mediaType: 'application/pdf', title: 'Report' },
          { type: 'document', data: 'https://example.org/report.pdf', mediaType: 'application/pdf' },
          { type: 'document', data: PDF_DATA_URL, mediaType: 'application/pdf' },
        ],
      },
      {
        role: 'assistant',
        content: [
          { type: 'reasoning', text: 'Look at them first.', signature: 'c2lnbmF0dXJl' },
          { type: 'reasoning', text: '', redacted: 'cmVkYWN0ZWQ=' },
          { type: 'text', text: 'Let me check.' },
          anthropicTool('call', SERVER_TOOL_USE),
          anthropicTool('result', SEARCH_RESULT),
          { type: 'tool-call', id: 'toolu_1', name: 'get_weather', input: { city: 'Oslo', days: [1, 2] } },
          { type: 'tool-call', id: 'toolu_2', name: 'get_time', input: {} },
        ],
      },
      {
        role: 'tool',
        content: [{ type: 'tool-result', toolCallId: 'toolu_1', name: 'get_weather', output: '12°C', isError: false }],
      },
      {
        role: 'tool',
        content: [
          {
            type: 'tool-result',
            toolCallId: 'toolu_2',
            name: 'get_time',
            output: [
              { type: 'text', text: 'Clock:' },
              { type: 'image', image: PNG, mediaType: 'image/png' },
            ],
            isError: true,
          },
        ],
      },
      { role: 'user', content: 'And tomorrow?' },
      { role: 'assistant', content: 'Sunny.' },
      { role: 'user', content: 'Thanks.' },
    ],
  };

  it('arrives as the exact body: blocks, thinking unchanged, tool turns merged with results first', async () => {
    const body = await bodyOf('anthropic', request);
    const png = { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG_BASE64 } };
    expect(body).toEqual({
      model: 'claude-test',
      max_tokens: 4096,
      stream: true,
      system: 'Be exact.\n\nUse metric units.\n\nAnswer briefly.',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: QUESTION },
            { type: 'image', source: { type: 'url', url: 'https://example.org/cat.png' } },
            png,
            { type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: '/9j/4AAQSkZJRg==' } },
            { type: 'image', source: { type: 'url', url: 'https://example.org/dog.webp' } },
            { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: PDF_BASE64 }, title: 'Report' },
            { type: 'document', source: { type: 'url', url: 'https://example.org/report.pdf' } },
            { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: PDF_BASE64 } },
          ],
        },
        {
          role: 'assistant',
          content: [
            { type: 'thinking', thinking: 'Look at them first.', signature: 'c2lnbmF0dXJl' },
            { type: 'redacted_thinking', data: 'cmVkYWN0ZWQ=' },
            { type: 'text', text: 'Let me check.' },
            SERVER_TOOL_USE,
            SEARCH_RESULT,
            { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Oslo', days: [1, 2] } },
            { type: 'tool_use', id: 'toolu_2', name: 'get_time', input: {} },
          ],
        },
        {
          // Both tool messages and the user's next words: one user turn, the results first.
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'toolu_1', content: '12°C' },
            { type: 'tool_result', tool_use_id: 'toolu_2', content: [{ type: 'text', text: 'Clock:' }, png], is_error: true },
            { type: 'text', text: 'And tomorrow?' },
          ],
        },
        { role: 'assistant', content: 'Sunny.' },
        { role: 'user', content: 'Thanks.' },
      ],
    });
  });

  it('puts tool results first when a user message comes between the call and its results', async () => {
    const body = await bodyOf('anthropic', {
      model: 'claude-test',
      messages: [
        { role: 'user', content: 'Weather?' },
        { role: 'assistant', content: [{ type: 'tool-call', id: 'toolu_1', name: 'get_weather', input: {} }] },
        { role: 'user', content: 'Quickly, please.' },
        { role: 'tool', content: [{ type: 'tool-result', toolCallId: 'toolu_1', name: 'get_weather', output: 'rain' }] },
      ],
    });
    expect(body.messages).toEqual([
      { role: 'user', content: 'Weather?' },
      { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: {} }] },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'toolu_1', content: 'rain' },
          { type: 'text', text: 'Quickly, please.' },
        ],
      },
    ]);
  });

  it('sends plain string messages exactly as before, consecutive ones unmerged', async () => {
    const body = await bodyOf('anthropic', {
      model: 'claude-test',
      messages: [
        { role: 'user', content: 'One.' },
        { role: 'user', content: 'Two.' },
        { role: 'assistant', content: 'Three.' },
        { role: 'user', content: 'Four.' },
      ],
    });
    expect(body.messages).toEqual([
      { role: 'user', content: 'One.' },
      { role: 'user', content: 'Two.' },
      { role: 'assistant', content: 'Three.' },
      { role: 'user', content: 'Four.' },
    ]);
  });

  it.each([
    ['reasoning without a signature', { type: 'reasoning', text: 'unsigned' }, 'signature'],
    ['reasoning with Responses provider data', { type: 'reasoning', text: 'r', providerData: { id: 'rs_1' } }, 'signature'],
    ['a Responses item as a provider tool', { type: 'provider-tool', phase: 'call', id: 'ws_1', name: 'web_search', block: WEB_SEARCH_CALL }, 'web_search_call'],
  ] as const)('refuses %s, naming the part', async (_label, part, mention) => {
    const error = await refused(
      'anthropic',
      { model: 'claude-test', messages: [{ role: 'user', content: 'q' }, { role: 'assistant', content: [{ type: 'text', text: 'a' }, part] }] },
      'request.messages[1].content[1]',
    );
    expect(error.message).toContain(mention);
    expect(error.message).toMatch(/[Dd]rop/);
  });
});

/** User parts every Chat Completions server takes: text and images (the URL, or a data: URL). */
const CHAT_USER_PARTS = [
  { type: 'text', text: QUESTION },
  { type: 'image', image: 'https://example.org/cat.png' },
  { type: 'image', image: PNG, mediaType: 'image/png' },
  { type: 'image', image: JPEG_DATA_URL },
] as const;
const CHAT_USER_WIRE = [
  { type: 'text', text: QUESTION },
  { type: 'image_url', image_url: { url: 'https://example.org/cat.png' } },
  { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG_BASE64}` } },
  { type: 'image_url', image_url: { url: JPEG_DATA_URL } },
];

/** An assistant turn with text and two calls, their results, and a turn with a call only. */
function chatConversation(extraUserParts: ChatMessage[] = [], reasoning = false): ChatMessage[] {
  return [
    SYSTEM,
    { role: 'user', content: [...CHAT_USER_PARTS] },
    ...extraUserParts,
    {
      role: 'assistant',
      content: [
        ...(reasoning ? [{ type: 'reasoning' as const, text: 'Two tools. ' }] : []),
        { type: 'text', text: 'Let me ' },
        { type: 'tool-call', id: 'call_1', name: 'get_weather', input: { city: 'Oslo' } },
        { type: 'text', text: 'check.' },
        ...(reasoning ? [{ type: 'reasoning' as const, text: 'Then the time.' }] : []),
        { type: 'tool-call', id: 'call_2', name: 'get_time', input: {} },
      ],
    },
    {
      role: 'tool',
      content: [
        { type: 'tool-result', toolCallId: 'call_1', name: 'get_weather', output: '12°C' },
        { type: 'tool-result', toolCallId: 'call_2', name: 'get_time', output: [{ type: 'text', text: '10:00' }, { type: 'text', text: ' CET' }], isError: true },
      ],
    },
    { role: 'assistant', content: [{ type: 'tool-call', id: 'call_3', name: 'get_time', input: { tz: 'UTC' } }] },
    { role: 'tool', content: [{ type: 'tool-result', toolCallId: 'call_3', name: 'get_time', output: '09:00' }] },
    { role: 'user', content: 'Thanks.' },
  ];
}

/** The wire form of {@link chatConversation} after the user's parts. */
const CHAT_TAIL_WIRE = [
  {
    role: 'assistant',
    content: 'Let me check.',
    tool_calls: [
      { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } },
      { id: 'call_2', type: 'function', function: { name: 'get_time', arguments: '{}' } },
    ],
  },
  { role: 'tool', tool_call_id: 'call_1', content: '12°C' },
  { role: 'tool', tool_call_id: 'call_2', content: '10:00 CET' },
  {
    role: 'assistant',
    content: null,
    tool_calls: [{ id: 'call_3', type: 'function', function: { name: 'get_time', arguments: '{"tz":"UTC"}' } }],
  },
  { role: 'tool', tool_call_id: 'call_3', content: '09:00' },
  { role: 'user', content: 'Thanks.' },
];

const SYSTEM_WIRE = { role: 'system', content: [{ type: 'text', text: 'Be exact.' }, { type: 'text', text: 'Use metric units.' }] };

describe.each(['openai', 'openai-compatible'] as const)('%s: every part Chat Completions takes', (label) => {
  it('arrives as the exact messages: content parts, file parts for PDFs, tool_calls, one tool message per result', async () => {
    const documents: ChatMessage = {
      role: 'user',
      content: [
        { type: 'document', data: PDF, mediaType: 'application/pdf', title: 'report.pdf' },
        { type: 'document', data: PDF_DATA_URL, mediaType: 'application/pdf' },
      ],
    };
    const body = await bodyOf(label, { model: 'gpt-test', system: 'Answer briefly.', messages: chatConversation([documents]) });
    expect(body.messages).toEqual([
      { role: 'system', content: 'Answer briefly.' },
      SYSTEM_WIRE,
      { role: 'user', content: CHAT_USER_WIRE },
      {
        role: 'user',
        content: [
          { type: 'file', file: { file_data: PDF_DATA_URL, filename: 'report.pdf' } },
          { type: 'file', file: { file_data: PDF_DATA_URL, filename: 'document.pdf' } },
        ],
      },
      ...CHAT_TAIL_WIRE,
    ]);
  });

  it.each([
    ['a reasoning part', [{ type: 'reasoning', text: 'thinking', signature: 'sig' }], 1, 'reasoning'],
    ['an unsigned reasoning part', [{ type: 'reasoning', text: 'thinking' }], 1, 'reasoning'],
    ['a provider-tool part', [anthropicTool('call', SERVER_TOOL_USE)], 1, 'provider-tool'],
  ] as const)('refuses %s in an assistant turn, naming it', async (_label, parts, index, mention) => {
    const error = await refused(
      label,
      { model: 'gpt-test', messages: [{ role: 'user', content: 'q' }, { role: 'assistant', content: [{ type: 'text', text: 'a' }, ...parts] }] },
      `request.messages[1].content[${index}]`,
    );
    expect(error.message).toContain(mention);
    expect(error.message).toMatch(/Drop/);
  });

  it('refuses an image in a tool result (Chat tool messages take text only)', async () => {
    const error = await refused(
      label,
      {
        model: 'gpt-test',
        messages: [
          { role: 'user', content: 'q' },
          { role: 'assistant', content: [{ type: 'tool-call', id: 'call_1', name: 'shot', input: {} }] },
          {
            role: 'tool',
            content: [{ type: 'tool-result', toolCallId: 'call_1', name: 'shot', output: [{ type: 'text', text: 'x' }, { type: 'image', image: PNG, mediaType: 'image/png' }] }],
          },
        ],
      },
      'request.messages[2].content[0].output[1]',
    );
    expect(error.message).toMatch(/text only/);
  });

  it('refuses a PDF by URL (Chat takes PDFs only as data)', async () => {
    await refused(
      label,
      { model: 'gpt-test', messages: [{ role: 'user', content: [{ type: 'document', data: 'https://example.org/r.pdf', mediaType: 'application/pdf' }] }] },
      'request.messages[0].content[0].data',
    );
  });
});

describe('groq: every part it takes', () => {
  it('arrives as the exact messages: images but no files, reasoning text as the assistant’s reasoning', async () => {
    const body = await bodyOf('groq', { model: 'llama-test', system: 'Answer briefly.', messages: chatConversation([], true) });
    const [assistant, ...rest] = CHAT_TAIL_WIRE;
    expect(body.messages).toEqual([
      { role: 'system', content: 'Answer briefly.' },
      SYSTEM_WIRE,
      { role: 'user', content: CHAT_USER_WIRE },
      { ...assistant, reasoning: 'Two tools. Then the time.' },
      ...rest,
    ]);
  });

  it.each([
    [
      'a PDF document',
      [{ role: 'user', content: [{ type: 'text', text: 'q' }, { type: 'document', data: PDF, mediaType: 'application/pdf' }] }],
      'request.messages[0].content[1]',
      /Groq takes no PDF/,
    ],
    [
      'signed reasoning',
      [{ role: 'user', content: 'q' }, { role: 'assistant', content: [{ type: 'reasoning', text: 't', signature: 'sig' }] }],
      'request.messages[1].content[0]',
      /reasoning part with a signature/,
    ],
    [
      'a provider-tool part',
      [{ role: 'user', content: 'q' }, { role: 'assistant', content: [anthropicTool('call', SERVER_TOOL_USE)] }],
      'request.messages[1].content[0]',
      /provider-tool/,
    ],
    [
      'an image in a tool result',
      [
        { role: 'assistant', content: [{ type: 'tool-call', id: 'c1', name: 'shot', input: {} }] },
        { role: 'tool', content: [{ type: 'tool-result', toolCallId: 'c1', name: 'shot', output: [{ type: 'image', image: PNG, mediaType: 'image/png' }] }] },
      ],
      'request.messages[1].content[0].output[0]',
      /text only/,
    ],
  ] as Array<[string, ChatMessage[], string, RegExp]>)('refuses %s, naming it', async (_label, messages, field, mention) => {
    const error = await refused('groq', { model: 'llama-test', messages }, field);
    expect(error.message).toMatch(mention);
  });
});

describe('openai responses: every part it takes', () => {
  it('arrives as the exact input items', async () => {
    const body = await bodyOf('openai-responses', {
      model: 'gpt-test',
      system: 'Answer briefly.',
      messages: [
        SYSTEM,
        {
          role: 'user',
          content: [
            ...CHAT_USER_PARTS,
            { type: 'document', data: PDF, mediaType: 'application/pdf', title: 'report.pdf' },
            { type: 'document', data: 'https://example.org/r.pdf', mediaType: 'application/pdf' },
          ],
        },
        {
          role: 'assistant',
          content: [
            { type: 'reasoning', text: 'Two tools.', providerData: { id: 'rs_1', encrypted_content: 'ZW5j' } },
            { type: 'reasoning', text: '', providerData: { id: 'rs_2' } },
            { type: 'provider-tool', phase: 'call', id: 'ws_1', name: 'web_search', block: WEB_SEARCH_CALL },
            { type: 'text', text: 'Let me ' },
            { type: 'text', text: 'check.' },
            { type: 'tool-call', id: 'call_1', name: 'get_weather', input: { city: 'Oslo' } },
            { type: 'text', text: 'And the time.' },
            { type: 'tool-call', id: 'call_2', name: 'get_time', input: {} },
          ],
        },
        {
          role: 'tool',
          content: [
            { type: 'tool-result', toolCallId: 'call_1', name: 'get_weather', output: '12°C' },
            {
              type: 'tool-result',
              toolCallId: 'call_2',
              name: 'get_time',
              output: [{ type: 'text', text: 'Clock:' }, { type: 'image', image: PNG, mediaType: 'image/png' }],
              isError: true,
            },
          ],
        },
        { role: 'assistant', content: 'Noted.' },
        { role: 'user', content: 'Thanks.' },
      ],
    });
    expect(body).toEqual({
      model: 'gpt-test',
      stream: true,
      instructions: 'Be exact.\n\nUse metric units.\n\nAnswer briefly.',
      input: [
        {
          role: 'user',
          content: [
            { type: 'input_text', text: QUESTION },
            { type: 'input_image', image_url: 'https://example.org/cat.png', detail: 'auto' },
            { type: 'input_image', image_url: `data:image/png;base64,${PNG_BASE64}`, detail: 'auto' },
            { type: 'input_image', image_url: JPEG_DATA_URL, detail: 'auto' },
            { type: 'input_file', file_data: PDF_DATA_URL, filename: 'report.pdf' },
            { type: 'input_file', file_url: 'https://example.org/r.pdf' },
          ],
        },
        { type: 'reasoning', id: 'rs_1', summary: [{ type: 'summary_text', text: 'Two tools.' }], encrypted_content: 'ZW5j' },
        { type: 'reasoning', id: 'rs_2', summary: [] },
        WEB_SEARCH_CALL,
        { role: 'assistant', content: 'Let me check.' },
        { type: 'function_call', call_id: 'call_1', name: 'get_weather', arguments: '{"city":"Oslo"}' },
        { role: 'assistant', content: 'And the time.' },
        { type: 'function_call', call_id: 'call_2', name: 'get_time', arguments: '{}' },
        { type: 'function_call_output', call_id: 'call_1', output: '12°C' },
        {
          type: 'function_call_output',
          call_id: 'call_2',
          output: [
            { type: 'input_text', text: 'Clock:' },
            { type: 'input_image', image_url: `data:image/png;base64,${PNG_BASE64}`, detail: 'auto' },
          ],
        },
        { role: 'assistant', content: 'Noted.' },
        { role: 'user', content: 'Thanks.' },
      ],
    });
  });

  it('takes a tool result for a call stored with previous_response_id', async () => {
    const body = await bodyOf('openai-responses', {
      model: 'gpt-test',
      messages: [{ role: 'tool', content: [{ type: 'tool-result', toolCallId: 'call_stored', name: 'get_time', output: '10:00' }] }],
      providerOptions: { previous_response_id: 'resp_1' },
    });
    expect(body.input).toEqual([{ type: 'function_call_output', call_id: 'call_stored', output: '10:00' }]);
    expect(body.previous_response_id).toBe('resp_1');
  });

  it.each([
    ['signed Anthropic reasoning', { type: 'reasoning', text: 't', signature: 'sig' }, /signature/],
    ['reasoning without providerData.id', { type: 'reasoning', text: 't', providerData: { encrypted_content: 'x' } }, /providerData\.id/],
    ['an Anthropic server tool block', anthropicTool('call', SERVER_TOOL_USE), /server_tool_use/],
    ['an Anthropic result block', anthropicTool('result', SEARCH_RESULT), /web_search_tool_result/],
  ] as const)('refuses %s, naming the part', async (_label, part, mention) => {
    const error = await refused(
      'openai-responses',
      { model: 'gpt-test', messages: [{ role: 'user', content: 'q' }, { role: 'assistant', content: [part] }] },
      'request.messages[1].content[0]',
    );
    expect(error.message).toMatch(mention);
  });
});

describe('validation every provider shares (nothing is sent)', () => {
  const LABELS: AdapterLabel[] = ['anthropic', 'openai', 'openai-responses', 'groq', 'openai-compatible'];
  const call = (id = 'call_1'): ChatMessage => ({ role: 'assistant', content: [{ type: 'tool-call', id, name: 'f', input: {} }] });
  const result = (id = 'call_1'): ChatMessage => ({ role: 'tool', content: [{ type: 'tool-result', toolCallId: id, name: 'f', output: 'ok' }] });
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic.self = cyclic;
  const user = (part: unknown): unknown => ({ role: 'user', content: [part] });
  const assistant = (part: unknown): unknown => ({ role: 'assistant', content: [part] });
  const toolCall = (input: unknown): unknown => assistant({ type: 'tool-call', id: 'c', name: 'f', input });

  const CASES: Array<[string, unknown[], string, RegExp]> = [
    ['an unknown part type', [user({ type: 'audio', data: 'x' })], 'request.messages[0].content[0].type', /unknown part type \(the string "audio"\)/],
    ['a part without a type', [user({ text: 'x' })], 'request.messages[0].content[0].type', /unknown part type/],
    ['an image in an assistant message', [assistant({ type: 'image', image: 'https://example.org/a.png' })], 'request.messages[0].content[0]', /cannot be in an assistant message/],
    ['a tool call in a user message', [user({ type: 'tool-call', id: 'c', name: 'f', input: {} })], 'request.messages[0].content[0]', /belongs in an assistant message/],
    ['a tool result in a user message', [user({ type: 'tool-result', toolCallId: 'c', name: 'f', output: 'x' })], 'request.messages[0].content[0]', /role: 'tool'/],
    ['a document in a system message', [{ role: 'system', content: [{ type: 'document', data: PDF, mediaType: 'application/pdf' }] }], 'request.messages[0].content[0]', /system message/],
    ['image bytes without a media type', [user({ type: 'image', image: PNG })], 'request.messages[0].content[0].mediaType', /required with image bytes/],
    ['an image media type no provider takes', [user({ type: 'image', image: PNG, mediaType: 'image/bmp' })], 'request.messages[0].content[0].mediaType', /image\/png/],
    ['a data: URL that disagrees with mediaType', [user({ type: 'image', image: JPEG_DATA_URL, mediaType: 'image/png' })], 'request.messages[0].content[0].mediaType', /agree/],
    ['a data: URL without base64', [user({ type: 'image', image: 'data:image/png,abc' })], 'request.messages[0].content[0].image', /base64/],
    ['a data: URL of the wrong type', [user({ type: 'document', data: JPEG_DATA_URL, mediaType: 'application/pdf' })], 'request.messages[0].content[0].data', /image\/jpeg/],
    ['an ftp: URL', [user({ type: 'image', image: 'ftp://example.org/a.png' })], 'request.messages[0].content[0].image', /https: or http: URL/],
    ['a document that is not a PDF', [user({ type: 'document', data: PDF, mediaType: 'text/plain' })], 'request.messages[0].content[0].mediaType', /application\/pdf/],
    ['a misspelt part field', [user({ type: 'text', txt: 'x' })], 'request.messages[0].content[0].txt', /did you mean/],
    ['an empty parts array', [{ role: 'user', content: [] }], 'request.messages[0].content', /empty array/],
    ['a tool message with string content', [call(), { role: 'tool', content: 'ok' }], 'request.messages[1].content', /tool-result/],
    ['an unknown role', [{ role: 'function', content: 'x' }], 'request.messages[0].role', /'tool'/],
    ['a tool result for an unknown call id', [call('call_1'), result('call_9')], 'request.messages[1].content[0].toolCallId', /a tool result for an unknown call id "call_9"/],
    ['a tool result before its call', [result('call_1'), call('call_1')], 'request.messages[0].content[0].toolCallId', /unknown call id/],
    ['a tool call whose input is undefined', [toolCall(undefined)], 'request.messages[0].content[0].input', /JSON value/],
    ['a tool call whose input holds a function', [toolCall({ f: () => 1 })], 'request.messages[0].content[0].input.f', /JSON-serializable/],
    ['a tool call whose input is a cycle', [toolCall(cyclic)], 'request.messages[0].content[0].input.self', /cycle/],
    ['a tool call whose input holds a Date', [toolCall({ at: new Date(0) })], 'request.messages[0].content[0].input.at', /Date/],
    ['a tool call whose input holds NaN', [toolCall([1, Number.NaN])], 'request.messages[0].content[0].input[1]', /NaN/],
    ['a tool call whose input holds a bigint', [toolCall({ n: 1n })], 'request.messages[0].content[0].input.n', /JSON-serializable/],
    ['a provider-tool block without a type', [assistant({ type: 'provider-tool', phase: 'call', id: 'x', name: 'y', block: {} })], 'request.messages[0].content[0].block.type', /string/],
    ['reasoning both signed and redacted', [assistant({ type: 'reasoning', text: '', signature: 's', redacted: 'r' })], 'request.messages[0].content[0]', /either/],
    ['a tool output part that is a document', [call(), { role: 'tool', content: [{ type: 'tool-result', toolCallId: 'call_1', name: 'f', output: [{ type: 'document', data: PDF, mediaType: 'application/pdf' }] }] }], 'request.messages[1].content[0].output[0]', /'text' and 'image'/],
  ];

  it.each(CASES)('refuses %s', async (_label, messages, field, mention) => {
    for (const label of LABELS) {
      const error = await refused(label, { model: 'm', messages: messages as ChatMessage[] }, field);
      expect(error.message).toMatch(mention);
    }
  });

  it('accepts a tool result for a call earlier in the request, whatever comes between', async () => {
    const body = await bodyOf('openai', { model: 'm', messages: [{ role: 'user', content: 'q' }, call('call_1'), result('call_1')] });
    expect(body.messages).toEqual([
      { role: 'user', content: 'q' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: 'ok' },
    ]);
  });
});

describe('the mock provider answers part-bearing requests', () => {
  let mock: MockProvider;
  beforeAll(async () => {
    mock = await startMockProvider({ flavor: 'anthropic', script: { text: 'fine' } });
  });
  afterAll(() => mock.close());

  it('complete() with parts resolves like any request', async () => {
    const llm = makeAdapter('anthropic', mock.baseURL);
    const answer = await llm.complete({ model: 'm', messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }] });
    expect(answer.content).toBe('fine');
    expect(answer.message).toEqual({ role: 'assistant', content: 'fine' });
  });
});
