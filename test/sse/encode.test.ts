/**
 * The SSE wire format, checked against an independent parser (`eventsource-parser`): what
 * `formatSSE` / `encodeEvent` / `encodeLegacy` write must read back as the same values, and
 * `serializeError` keeps tokenflow's error details while hiding anything else.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CallbackError,
  ConnectionError,
  MissingApiKeyError,
  ProtocolError,
  ProviderError,
  QueueOverflowError,
  RemoteStreamError,
  SSEResponseError,
  StreamAbortedError,
  StreamTimeoutError,
} from '../../src/errors.js';
import type { TokenEvent } from '../../src/events.js';
import { encodeEvent, encodeLegacy, formatSSE, HEARTBEAT, serializeError, SSE_HEADERS } from '../../src/sse/encode.js';
import { invalidArgument } from '../helpers/mock.js';
import { parseSSEText } from '../helpers/sse-reader.js';

describe('formatSSE', () => {
  it('writes id, event and data lines and a blank line', () => {
    expect(formatSSE({ id: 3, event: 'note', data: 'hello' })).toBe('id: 3\nevent: note\ndata: hello\n\n');
    expect(formatSSE({ data: 'only data' })).toBe('data: only data\n\n');
  });

  it('splits multi-line data into several data: lines (LF, CRLF and CR)', () => {
    expect(formatSSE({ id: 3, event: 'note', data: 'two\nlines' })).toBe('id: 3\nevent: note\ndata: two\ndata: lines\n\n');
    expect(formatSSE({ data: 'a\r\nb\rc\nd' })).toBe('data: a\ndata: b\ndata: c\ndata: d\n\n');
    expect(formatSSE({ data: 'end\n' })).toBe('data: end\ndata: \n\n');
    expect(formatSSE({ data: '' })).toBe('data: \n\n');
    const parsed = parseSSEText(formatSSE({ id: 1, event: 'x', data: 'one\r\ntwo\rthree\n\nfive' }));
    expect(parsed.messages).toEqual([{ id: '1', event: 'x', data: 'one\ntwo\nthree\n\nfive' }]);
  });

  it.each([
    ['LF', '1\n2'],
    ['CR', '1\r2'],
    ['CRLF', '1\r\n2'],
    ['a trailing LF', '7\n'],
    ['NUL', '1\u00002'],
  ])('rejects an id with %s', (_name, id) => {
    const error = invalidArgument(() => formatSSE({ id, data: 'x' }));
    expect(error.field).toBe('message.id');
  });

  it.each([
    ['LF', 'a\nb'],
    ['CR', 'a\rb'],
    ['CRLF', 'a\r\nb'],
  ])('rejects an event name with %s', (_name, event) => {
    const error = invalidArgument(() => formatSSE({ event, data: 'x' }));
    expect(error.field).toBe('message.event');
  });

  it('writes retry: as a whole non-negative number that the client reads back, and rejects any other', () => {
    expect(formatSSE({ data: 'x', retry: 1500 })).toBe('retry: 1500\ndata: x\n\n');
    for (const bad of [2.7, -5, Number.NaN, Infinity]) {
      expect(invalidArgument(() => formatSSE({ data: 'x', retry: bad })).field).toBe('message.retry');
    }
    const parsed = parseSSEText(formatSSE({ id: 0, event: 'e', data: 'x', retry: 1500 }));
    expect(parsed.retries).toEqual([1500]);
    expect(parsed.messages).toEqual([{ id: '0', event: 'e', data: 'x' }]);
  });

  it('round-trips any data through a spec-compliant parser (line breaks normalised to LF)', () => {
    const piece = fc.oneof(
      fc.constantFrom('\r', '\n', '\r\n', '\n\n', '\r\r', ':', ': ', ' ', '  ', 'data: ', 'id: 9', 'event: x', '😀', 'é', '\u2028', '\uFEFF', '\t', '\u0000'),
      fc.string({ unit: 'binary', minLength: 1, maxLength: 3 }),
    );
    fc.assert(
      fc.property(fc.string({ unit: piece, maxLength: 30 }), fc.option(fc.nat(), { nil: undefined }), (data, id) => {
        // A second message after it proves the first one ended exactly where it should.
        const wire = formatSSE(id === undefined ? { event: 'note', data } : { id, event: 'note', data }) + formatSSE({ event: 'after', data: 'next' });
        const parsed = parseSSEText(wire);
        expect(parsed.messages).toHaveLength(2);
        expect(parsed.messages[0]!.data).toBe(data.replace(/\r\n|\r/g, '\n'));
        expect(parsed.messages[0]!.event).toBe('note');
        expect(parsed.messages[0]!.id).toBe(id === undefined ? undefined : String(id));
        expect(parsed.messages[1]).toEqual({ id: undefined, event: 'after', data: 'next' });
        expect(parsed.comments).toEqual([]);
      }),
      { numRuns: 500 },
    );
  });
});

describe('encodeEvent', () => {
  const events: TokenEvent[] = [
    { type: 'start', provider: 'openai', model: 'gpt-x', id: 'chatcmpl-1', t: 0 },
    { type: 'token', text: 'line one\nline two\r\nthree\r "quoted" \u2028 😀', index: 4, t: 12 },
    { type: 'reasoning', text: 'think\nharder', t: 13 },
    { type: 'tool-call', index: 0, id: 'call_1', name: 'lookup', argsDelta: '{"q":"a\\nb"}', t: 14 },
    { type: 'tool-call', index: 1, id: 'call_2', name: 'sql', kind: 'custom_tool_call', argsDelta: 'SELECT\n1', t: 14 },
    { type: 'reasoning', text: '', signature: 'EqQBCgIYAhIM', t: 14 },
    { type: 'reasoning', text: '', redacted: 'opaque\ndata', t: 14 },
    {
      type: 'provider-tool',
      phase: 'call',
      id: 'srvtoolu_1',
      name: 'web_search',
      input: { query: 'a\nb' },
      block: { type: 'server_tool_use', id: 'srvtoolu_1', name: 'web_search', input: { query: 'a\nb' } },
      t: 14,
    },
    { type: 'citation', citation: { type: 'web_search_result_location', cited_text: 'x\ny', url: 'https://example.org' }, t: 14 },
    { type: 'usage', usage: { inputTokens: 3, outputTokens: 5, estimated: false }, serverTimings: { totalMs: 9 }, t: 15 },
    { type: 'reset', reason: 'retry\nafter 429', t: 16 },
    { type: 'done', stopReason: 'end', t: 17 },
  ];

  it.each(events.map((event, i) => [event.type, event, i] as const))('%s: one message, id = seq, event = type, data = the event', (type, event, i) => {
    const wire = encodeEvent(event, 10 + i);
    expect(wire.startsWith(`id: ${10 + i}\nevent: ${type}\ndata: `)).toBe(true);
    expect(wire.endsWith('\n\n')).toBe(true);
    // One data line however many line breaks the text had.
    expect(wire.split('\n').filter((line) => line.startsWith('data:'))).toHaveLength(1);
    expect(wire.slice(0, -2)).not.toMatch(/\r|\n\n/);
    const parsed = parseSSEText(wire);
    expect(parsed.messages).toHaveLength(1);
    const message = parsed.messages[0]!;
    expect(message.id).toBe(String(10 + i));
    expect(message.event).toBe(type);
    expect(JSON.parse(message.data)).toEqual(event);
    expect((JSON.parse(message.data) as TokenEvent).type).toBe(message.event);
  });

  it('without an id (a stream that cannot resume): no id: line, the same event and data', () => {
    const event: TokenEvent = { type: 'token', text: 'Hi', index: 0, t: 1 };
    const wire = encodeEvent(event);
    expect(wire).toBe(`event: token\ndata: ${JSON.stringify(event)}\n\n`);
    expect(parseSSEText(wire).messages).toEqual([{ id: undefined, event: 'token', data: JSON.stringify(event) }]);
  });

  it('refuses an id that is not a position in the stream', () => {
    const event: TokenEvent = { type: 'done', stopReason: 'end', t: 1 };
    for (const id of [-1, 1.5, Number.NaN]) expect(invalidArgument(() => encodeEvent(event, id)).field).toBe('id');
  });

  it('the headers and heartbeat are the documented ones', () => {
    expect(SSE_HEADERS['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(SSE_HEADERS['cache-control']).toBe('no-cache, no-transform');
    expect(SSE_HEADERS['x-accel-buffering']).toBe('no');
    const parsed = parseSSEText(HEARTBEAT + encodeEvent({ type: 'done', stopReason: 'end', t: 1 }, 0));
    expect(parsed.comments).toHaveLength(1);
    expect(parsed.messages).toHaveLength(1);
  });
});

describe('serializeError', () => {
  it('a ProviderError: name, a fixed message, status, known type, retryable, retryAfterMs, requestId, partial text', () => {
    const error = new ProviderError('Overloaded sk-ant-api03-SECRET', { status: 529, type: 'overloaded_error', retryable: true, retryAfterMs: 2000, requestId: 'req_42', inStream: true });
    expect(serializeError(error, 'Hel')).toEqual({
      type: 'error',
      name: 'ProviderError',
      message: 'The provider failed or is overloaded.',
      errorType: 'overloaded_error',
      partialText: 'Hel',
      status: 529,
      retryable: true,
      retryAfterMs: 2000,
      requestId: 'req_42',
    });
  });

  it('a ProviderError without status or hints sends retryable only', () => {
    const out = serializeError(new ProviderError('Bad', { retryable: false }), '');
    expect(out).toEqual({ type: 'error', name: 'ProviderError', message: 'The provider reported an error.', partialText: '', retryable: false });
  });

  it.each([
    [429, undefined, 'The provider is rate limiting requests.'],
    [401, undefined, "The server's provider credentials were refused."],
    [403, undefined, "The server's provider credentials were refused."],
    [500, undefined, 'The provider failed or is overloaded.'],
    [529, undefined, 'The provider failed or is overloaded.'],
    [400, undefined, 'The provider rejected the request.'],
    [undefined, 'rate_limit_exceeded', 'The provider is rate limiting requests.'],
    [undefined, 'server_error', 'The provider failed or is overloaded.'],
  ] as const)('a ProviderError with status %s / type %s gets a fixed message', (status, type, message) => {
    const out = serializeError(new ProviderError('upstream words: sk-SECRET', { status, type, retryable: false }), '');
    expect(out.message).toBe(message);
    expect(JSON.stringify(out)).not.toContain('SECRET');
  });

  it('relays a provider error type only when it is a known one', () => {
    const known = serializeError(new ProviderError('x', { status: 429, type: 'rate_limit_error', retryable: true }), '');
    expect(known.errorType).toBe('rate_limit_error');
    const unknown = serializeError(new ProviderError('x', { status: 400, type: 'key sk-ant-api03-SECRET is bad', retryable: false }), '');
    expect(unknown.errorType).toBeUndefined();
    expect(JSON.stringify(unknown)).not.toContain('SECRET');
  });

  it('a request id that is not an opaque token is not relayed', () => {
    const out = serializeError(new ProviderError('x', { status: 500, requestId: 'Bearer sk-SECRET', retryable: true }), '');
    expect(out.requestId).toBeUndefined();
  });

  it.each([
    ['first-token', new StreamTimeoutError('first-token', 500), 'StreamTimeoutError', 'The provider sent no first token in time.'],
    ['idle', new StreamTimeoutError('idle', 500), 'StreamTimeoutError', 'The provider stream went idle.'],
    ['connection', new ConnectionError('socket hang up: sk-SECRET', { cause: new Error('sk-SECRET') }), 'ConnectionError', 'The connection to the provider was lost.'],
    ['protocol', new ProtocolError('bad line sk-SECRET', 'data: sk-SECRET'), 'ProtocolError', 'The provider sent a response tokenflow could not read.'],
    ['aborted', new StreamAbortedError('aborted by sk-SECRET'), 'StreamAbortedError', 'The stream was aborted on the server.'],
    ['callback', new CallbackError('onToken threw sk-SECRET'), 'CallbackError', "The server's handler failed."],
    ['missing key', new MissingApiKeyError('Anthropic', 'ANTHROPIC_API_KEY', 'anthropic'), 'MissingApiKeyError', 'The server has no provider credentials configured.'],
  ])('%s: the class name and a fixed message, never the error\'s own text', (_label, error, name, message) => {
    const out = serializeError(error, 'p');
    expect(out).toMatchObject({ type: 'error', name, message, partialText: 'p' });
    expect(JSON.stringify(out)).not.toContain('SECRET');
  });

  it('a RemoteStreamError keeps the remote name, reason, status and hints', () => {
    const error = new RemoteStreamError({
      type: 'error',
      name: 'ProviderError',
      message: 'Rate limited upstream',
      status: 429,
      retryable: true,
      retryAfterMs: 1000,
      requestId: 'req_7',
      reason: 'lost',
    });
    expect(serializeError(error, 'abc')).toEqual({
      type: 'error',
      name: 'ProviderError',
      message: 'Rate limited upstream',
      partialText: 'abc',
      status: 429,
      retryable: true,
      retryAfterMs: 1000,
      requestId: 'req_7',
      reason: 'lost',
    });
  });

  it("a relayed RemoteStreamError keeps its known errorType (a hub relaying another server's error), and drops any other", () => {
    const known = new RemoteStreamError({ type: 'error', name: 'ProviderError', message: 'm', errorType: 'overloaded_error' });
    expect(known.errorType).toBe('overloaded_error');
    expect(serializeError(known, '').errorType).toBe('overloaded_error');
    const unknown = new RemoteStreamError({ type: 'error', name: 'ProviderError', message: 'm', errorType: 'sk-SECRET' });
    expect(serializeError(unknown, '').errorType).toBeUndefined();
    expect(JSON.stringify(serializeError(unknown, ''))).not.toContain('SECRET');
  });

  it('a QueueOverflowError (a reader fell behind) has a fixed message', () => {
    const out = serializeError(new QueueOverflowError('pipeSSE(): the client fell 1048576 bytes behind', 1_048_576), '');
    expect(out).toMatchObject({ name: 'QueueOverflowError', message: 'The stream was cancelled: a reader fell too far behind it.' });
  });

  it('an explicit reason overrides', () => {
    expect(serializeError(new ConnectionError('socket hang up'), 'x', 'stopped')).toMatchObject({ name: 'ConnectionError', reason: 'stopped', partialText: 'x' });
  });

  it('an SSEResponseError keeps its status', () => {
    expect(serializeError(new SSEResponseError('Not found', 404), '')).toMatchObject({ name: 'SSEResponseError', status: 404, retryable: false });
  });

  it.each([
    ['a plain Error', new Error('connect ECONNREFUSED postgres://admin:hunter2@10.0.0.5/db')],
    ['a TypeError', new TypeError('Cannot read properties of undefined (reading hunter2)')],
    ['a string', 'hunter2 secret'],
    ['an object', { message: 'hunter2', name: 'ProviderError', status: 500 }],
  ])('%s is reported generically: no message, name or details leak', (_name, error) => {
    const out = serializeError(error, 'part');
    expect(out).toEqual({ type: 'error', name: 'Error', message: 'The stream failed on the server.', partialText: 'part' });
    expect(JSON.stringify(out)).not.toContain('hunter2');
  });
});

describe('encodeLegacy', () => {
  it('writes answer_streaming without an id line, with the four fields', () => {
    const wire = encodeLegacy('lo', 'Hello', { agentId: 7, conversationId: 'c1' });
    expect(wire).not.toMatch(/^id:/m);
    const parsed = parseSSEText(wire);
    expect(parsed.messages).toHaveLength(1);
    expect(parsed.messages[0]!.id).toBeUndefined();
    expect(parsed.messages[0]!.event).toBe('answer_streaming');
    expect(JSON.parse(parsed.messages[0]!.data)).toEqual({ token: 'lo', partial_response: 'Hello', agent_id: 7, conversation_id: 'c1' });
  });

  it('defaults agent_id and conversation_id to null and keeps line breaks inside JSON', () => {
    const parsed = parseSSEText(encodeLegacy('a\nb', 'x\r\na\nb', {}));
    expect(JSON.parse(parsed.messages[0]!.data)).toEqual({ token: 'a\nb', partial_response: 'x\r\na\nb', agent_id: null, conversation_id: null });
  });
});
