/**
 * The engine every adapter shares (src/providers/runtime.ts), fed from memory with a scripted wire
 * mapper: what it guarantees whatever the provider, so that no mapper has to get it right alone.
 */
import { firstValueFrom, map } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { ProtocolError, type TokenflowError } from '../../src/errors.js';
import type { TokenEvent } from '../../src/events.js';
import { collect } from '../../src/operators/collect.js';
import { isRetryable } from '../../src/operators/retry-core.js';
import { createTokenStream, parseWireObject, wireString, type OpenOptions, type WireMapper, type WireSink } from '../../src/providers/runtime.js';
import { currentStreamContext, subscribeWithContext, type StreamProbe } from '../../src/stream-context.js';
import { mapSdkError } from '../../src/providers/sdk-errors.js';
import { run } from '../helpers/run.js';

/** A stream whose body is `body` and whose mapper hands each message's parsed JSON to `onMessage`. */
function engine(
  body: string,
  onMessage: (message: Record<string, unknown>, sink: WireSink) => void,
  maxEventSize?: number,
  chunkSize = Infinity,
) {
  const mapper: WireMapper = {
    event(_name, data, sink) {
      onMessage(parseWireObject('test', data), sink);
    },
  };
  return createTokenStream({
    provider: 'test',
    model: 'request-model',
    open: async () => {
      const bytes = new TextEncoder().encode(body);
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          const size = Math.min(chunkSize, bytes.length);
          for (let i = 0; i < bytes.length; i += size) controller.enqueue(bytes.subarray(i, i + size));
          controller.close();
        },
      });
      return new Response(stream, { status: 200, headers: { 'content-type': 'text/event-stream' } });
    },
    createMapper: () => mapper,
    estimateInputTokens: () => 3,
    mapError: (error, context) => mapSdkError(error, context, { provider: 'test' }),
    maxEventSize,
  });
}

/** Messages as SSE, one `data:` line each. */
const sse = (...messages: unknown[]): string => messages.map((m) => `data: ${JSON.stringify(m)}\n\n`).join('');

/** A tiny scripted wire: `{ op, …args }` per message, each calling one sink method. */
function script(message: Record<string, unknown>, sink: WireSink): void {
  const a = message.args as unknown[];
  switch (message.op) {
    case 'token':
      sink.token(a[0] as string);
      return;
    case 'tool':
      sink.toolCall(a[0] as number, a[1] as string | undefined, a[2] as string | undefined, a[3] as string, a[4] as string | undefined);
      return;
    case 'usage':
      sink.usage(a[0] as number, a[1] as number);
      return;
    case 'reset':
      sink.reset(a[0] as string);
      return;
    case 'done':
      sink.done(a[0] as 'end');
      return;
    case 'null-deref':
      (message.missing as { field: string }).field.toString();
      return;
  }
}

const op = (name: string, ...args: unknown[]) => ({ op: name, args });
const toolCalls = (events: TokenEvent[]) => events.filter((e) => e.type === 'tool-call');

describe('the engine', () => {
  it('numbers tool calls from 0 in order of appearance, whatever the wire keys are', async () => {
    const { events } = await run(
      engine(sse(op('tool', 7, 'a', 'f', ''), op('tool', 3, 'b', 'g', '{"x":1}'), op('tool', 7, undefined, undefined, '{}'), op('done', 'tool_use')), script),
    );
    expect(toolCalls(events).map((e) => e.type === 'tool-call' && [e.index, e.id ?? null, e.argsDelta])).toEqual([
      [0, 'a', ''],
      [1, 'b', '{"x":1}'],
      [0, null, '{}'],
    ]);
  });

  it('gives a function call without input the arguments {} and stops for tool_use when the wire said end', async () => {
    const answer = await firstValueFrom(
      engine(sse(op('tool', 0, 'call_1', 'now', ''), op('tool', 1, 'call_2', 'get', '{"a":1}'), op('done', 'end')), script).pipe(collect()),
    );
    expect(answer.toolCalls?.map((c) => [c.index, c.name, c.arguments])).toEqual([
      [0, 'now', '{}'],
      [1, 'get', '{"a":1}'],
    ]);
    expect(answer.stopReason).toBe('tool_use');
  });

  it('leaves a cut answer as it was: max_tokens stays, no arguments are made up', async () => {
    const answer = await firstValueFrom(engine(sse(op('tool', 0, 'call_1', 'get', '{"a":'), op('done', 'max_tokens')), script).pipe(collect()));
    expect(answer.stopReason).toBe('max_tokens');
    expect(answer.toolCalls?.[0]?.arguments).toBe('{"a":');
  });

  it('does not fill arguments of a call that is not a function call, and sends its kind once', async () => {
    const { events } = await run(
      engine(sse(op('tool', 0, 'c1', 'grammar', '', 'custom_tool_call'), op('tool', 0, undefined, undefined, 'SELECT 1'), op('done', 'end')), script),
    );
    const calls = toolCalls(events);
    expect(calls.map((e) => e.type === 'tool-call' && [e.kind ?? null, e.argsDelta])).toEqual([
      ['custom_tool_call', ''],
      [null, 'SELECT 1'],
    ]);
    expect(events.at(-1)).toMatchObject({ type: 'done', stopReason: 'tool_use' });
  });

  it('a reset discards the first attempt: tokens count from 0 again, tools and usage start over', async () => {
    const { events, error } = await run(
      engine(
        sse(
          op('token', 'A0 '),
          op('tool', 5, 'old', 'f', '{"trunc'),
          op('usage', 10, 4),
          op('reset', 'second attempt'),
          op('token', 'B1'),
          op('tool', 9, 'new', 'g', '{}'),
          op('usage', 12, 6),
          op('done', 'tool_use'),
        ),
        script,
      ),
    );
    expect(error).toBeUndefined();
    const afterReset = events.slice(events.findIndex((e) => e.type === 'reset'));
    expect(afterReset.map((e) => e.type)).toEqual(['reset', 'token', 'tool-call', 'usage', 'done']);
    expect(afterReset[1]).toMatchObject({ text: 'B1', index: 0 });
    expect(afterReset[2]).toMatchObject({ index: 0, id: 'new' });
    expect(afterReset[3]).toMatchObject({ usage: { inputTokens: 12, outputTokens: 6, estimated: false } });
    const answer = await firstValueFrom(
      engine(sse(op('token', 'A0 '), op('reset', 'x'), op('token', 'B1'), op('done', 'end')), script).pipe(collect()),
    );
    expect(answer.content).toBe('B1');
  });

  it('a partial text in an error after a reset holds only the second attempt', async () => {
    const { error } = await run(engine(sse(op('token', 'A0 '), op('reset', 'x'), op('token', 'B1'), op('token', 7)), script));
    expect(ProtocolError.isInstance(error)).toBe(true);
    expect((error as TokenflowError).partialText).toBe('B1');
  });

  it('a token that is not a string is a ProtocolError, never text', async () => {
    const { events, error } = await run(engine(sse(op('token', 'ok'), op('token', { text: 'x' })), script));
    expect(events.filter((e) => e.type === 'token').map((e) => e.type === 'token' && e.text)).toEqual(['ok']);
    expect(ProtocolError.isInstance(error)).toBe(true);
    expect(isRetryable(error)).toBe(false);
  });

  it('a message of the wrong shape is a non-retryable ProtocolError quoting it, not a lost connection', async () => {
    const { error } = await run(engine(sse(op('token', 'ok'), op('null-deref')), script));
    expect((error as Error).name).toBe('ProtocolError');
    expect((error as ProtocolError).line).toContain('null-deref');
    expect((error as ProtocolError).partialText).toBe('ok');
    expect(isRetryable(error)).toBe(false);
  });

  it.each([['null'], ['3'], ['"text"'], ['[1]']])('data: %s is a non-retryable ProtocolError', async (data) => {
    const { error } = await run(engine(`${sse(op('token', 'ok'))}data: ${data}\n\n`, script));
    expect((error as Error).name).toBe('ProtocolError');
    expect((error as Error).message).toMatch(/expected a JSON object/);
    expect(isRetryable(error)).toBe(false);
  });

  it('ignores unknown SSE fields, comments and bad retry values, as the spec says', async () => {
    const body = `keep-alive\n: comment\nfoo: bar\nretry: soon\n${sse(op('token', 'He'))}foo\n${sse(op('token', 'llo'), op('done', 'end'))}`;
    const { events, error } = await run(engine(body, script));
    expect(error).toBeUndefined();
    expect(events.map((e) => (e.type === 'token' ? e.text : '')).join('')).toBe('Hello');
  });

  it('stops with a ProtocolError when one line is larger than maxEventSize, instead of buffering it', async () => {
    const huge = `data: ${JSON.stringify(op('token', 'x'.repeat(5000)))}\n\n`;
    const { error } = await run(engine(sse(op('token', 'ok')) + huge + sse(op('done', 'end')), script, 1024));
    expect((error as Error).name).toBe('ProtocolError');
    expect((error as Error).message).toMatch(/larger than 1024 characters.*maxEventSize/);
    expect((error as TokenflowError).partialText).toBe('ok');
    // Read in small pieces, the parser itself refuses to buffer past the bound.
    const chunked = await run(engine(sse(op('token', 'ok')) + huge + sse(op('done', 'end')), script, 1024, 100));
    expect((chunked.error as Error).message).toMatch(/larger than 1024 characters/);
    const fits = await run(engine(sse(op('token', 'ok')) + huge + sse(op('done', 'end')), script, 8192, 100));
    expect(fits.error).toBeUndefined();
  });

  it('treats a prompt of 0 tokens as unknown: estimated, not exact', async () => {
    const { events } = await run(engine(sse(op('usage', 0, 5), op('token', 'hi'), op('done', 'end')), script));
    expect(events.find((e) => e.type === 'usage')).toMatchObject({ usage: { inputTokens: 3, estimated: true } });
  });
});

describe('a body that breaks mid-stream', () => {
  const breaking = (failure: Error) =>
    createTokenStream({
      provider: 'test',
      model: 'request-model',
      open: async () => {
        const stream = new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(new TextEncoder().encode(sse(op('token', 'He'))));
          },
          pull(controller) {
            controller.error(failure);
          },
        });
        return new Response(stream, { status: 200, headers: { 'content-type': 'text/event-stream' } });
      },
      createMapper: () => ({ event: (_name, data, sink) => script(parseWireObject('test', data), sink) }),
      estimateInputTokens: () => 3,
      mapError: (error, context) => mapSdkError(error, context, { provider: 'test' }),
    });

  it('is a retryable ConnectionError only when the failure is recognised as the network', async () => {
    const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    const { error } = await run(breaking(new TypeError('terminated', { cause: reset })));
    expect((error as Error).name).toBe('ConnectionError');
    expect(isRetryable(error)).toBe(true);
    expect((error as TokenflowError).partialText).toBe('He');
  });

  it('is a non-retryable error with the partial text for anything else', async () => {
    const { error } = await run(breaking(new RangeError('something odd')));
    expect((error as Error).name).toBe('TokenflowError');
    expect((error as Error).message).toMatch(/something odd/);
    expect(isRetryable(error)).toBe(false);
    expect((error as TokenflowError).partialText).toBe('He');
  });
});

describe('the stream context operators set at subscription', () => {
  const opened: OpenOptions[] = [];
  const stream = () =>
    createTokenStream({
      provider: 'test',
      model: 'request-model',
      open: async (_signal, options) => {
        opened.push(options);
        return new Response(sse(op('usage', 42, undefined), op('token', 'He')), { status: 200, headers: { 'content-type': 'text/event-stream' } });
      },
      createMapper: () => ({ event: (_name, data, sink) => script(parseWireObject('test', data), sink) }),
      estimateInputTokens: () => 3,
      mapError: (error, context) => mapSdkError(error, context, { provider: 'test' }),
    });

  it('a retry owner makes the SDK send the request once; without one the client decides', async () => {
    opened.length = 0;
    await run(stream());
    await new Promise<void>((resolve) => subscribeWithContext({ retryOwner: true }, () => stream().subscribe({ error: () => resolve() })));
    // Through operators in between, and merged with an inner context that says nothing of retries.
    await new Promise<void>((resolve) =>
      subscribeWithContext({ retryOwner: true }, () =>
        subscribeWithContext({ probe: () => undefined }, () => stream().pipe(map((e) => e)).subscribe({ error: () => resolve() })),
      ),
    );
    expect(opened).toEqual([{}, { maxRetries: 0 }, { maxRetries: 0 }]);
  });

  it('a probe reads the usage the provider already sent and the text so far', async () => {
    let probe: StreamProbe | undefined;
    const outcome = await new Promise<unknown>((resolve) =>
      subscribeWithContext({ probe: (p) => (probe = p) }, () => stream().subscribe({ error: resolve })),
    );
    expect(ProtocolError.isInstance(outcome)).toBe(true); // the scripted body ends without done
    expect(probe?.partialText()).toBe('He');
    expect(probe?.usage()).toMatchObject({ inputTokens: 42 });
    expect(currentStreamContext()).toBeUndefined();
  });
});

describe('wireString', () => {
  it('reads strings, treats null as absent and names the field of anything else', () => {
    expect(wireString('p', 'a', 'f')).toBe('a');
    expect(wireString('p', null, 'f')).toBeUndefined();
    expect(() => wireString('p', 12, 'choices[0].delta.content')).toThrow(/choices\[0\]\.delta\.content must be a string, got number/);
    expect(() => wireString('p', [{}], 'x')).toThrow(/got an array/);
  });
});
