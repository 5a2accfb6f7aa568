/**
 * Agent over every provider flavor against the mock: streamed and non-streamed answers agree, the
 * settings, context and history reach the wire, stream() is cold and cancellable, and bad input is
 * refused before anything is sent.
 */
import { catchError, of, type Observable } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { Agent, type AgentOptions, type MessageOptions, type StreamingMessageOptions } from '../../src/agent/agent.js';
import { InvalidArgumentError } from '../../src/errors.js';
import type { ChatMessage, TokenEvent } from '../../src/events.js';
import { type MockFlavor, type MockRequest } from '../../src/testing/index.js';
import { cancelAfter, run } from '../helpers/run.js';
import { withMock, invalidArgument } from '../helpers/mock.js';

const FLAVORS = ['anthropic', 'openai', 'groq', 'openai-compatible'] as const satisfies readonly MockFlavor[];
/** The max-tokens field each adapter sends (see openai-chat-wire.ts toChatBody and the adapters). */
const MAX_TOKENS_FIELD: Record<MockFlavor, string> = {
  anthropic: 'max_tokens',
  openai: 'max_completion_tokens',
  groq: 'max_completion_tokens',
  'openai-compatible': 'max_tokens',
};

const ANSWER = ['Hello', ' 👋🏽', ' 你好世界', ' — café', ' 🎉', '!'];
const USAGE = { inputTokens: 17, outputTokens: 6 };

/** The system prompt and the conversation a request carried, whatever the wire format. */
function wire(request: MockRequest | undefined): { system: string | undefined; messages: ChatMessage[] } {
  if (!request) throw new Error('no such request');
  // The adapters send string content as it is: these requests hold text messages only.
  const body = request.body as { system?: string; messages: Array<{ role: 'system' | 'user' | 'assistant'; content: string }> };
  const messages = body.messages.map((m) => ({ role: m.role, content: m.content }));
  if (body.system !== undefined) return { system: body.system, messages };
  if (messages[0]?.role === 'system') return { system: messages[0].content, messages: messages.slice(1) };
  return { system: undefined, messages };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe.each(FLAVORS)('Agent over %s', (flavor) => {
  it('processMessage and processMessageStreaming give the same answer', async () => {
    await withMock({ flavor, script: { text: ANSWER, usage: USAGE } }, async (mock, provider) => {
      const agent = new Agent({ provider, model: 'test-model' });
      const plain = await agent.processMessage('Greet me.');
      const pieces: string[] = [];
      const streamed = await agent.processMessageStreaming('Greet me.', { onToken: (token) => void pieces.push(token) });

      expect(plain.content).toBe(ANSWER.join(''));
      expect(streamed.content).toBe(plain.content);
      expect(streamed.stopReason).toBe(plain.stopReason);
      expect(plain.stopReason).toBe('end');
      expect(streamed.usage).toEqual(plain.usage);
      expect(plain.usage).toEqual({ ...USAGE, estimated: false });
      expect(pieces.join('')).toBe(streamed.content);
      expect(pieces).toEqual(ANSWER);
      expect(streamed.provider).toBe(plain.provider);

      expect(mock.requests).toHaveLength(2);
      expect(mock.requests[0]?.body.stream).not.toBe(true);
      expect(mock.requests[1]?.body.stream).toBe(true);
      expect(wire(mock.requests[0]).messages).toEqual([{ role: 'user', content: 'Greet me.' }]);
      expect(wire(mock.requests[1]).messages).toEqual([{ role: 'user', content: 'Greet me.' }]);
    });
  });

  it('systemPrompt, temperature and maxTokens reach the request body', async () => {
    await withMock({ flavor, script: { text: ANSWER } }, async (mock, provider) => {
      const agent = new Agent({ provider, model: 'test-model', systemPrompt: 'Be brief.', temperature: 0.25, maxTokens: 321 });
      await agent.processMessageStreaming('Hi');
      await agent.processMessage('Hi');
      for (const request of mock.requests) {
        const body = request.body as Record<string, unknown>;
        expect(body.model).toBe('test-model');
        expect(body.temperature).toBe(0.25);
        expect(body[MAX_TOKENS_FIELD[flavor]]).toBe(321);
        if (flavor === 'anthropic') {
          expect(body.system).toBe('Be brief.');
          expect(body.messages).toEqual([{ role: 'user', content: 'Hi' }]);
        } else {
          expect(body.messages).toEqual([
            { role: 'system', content: 'Be brief.' },
            { role: 'user', content: 'Hi' },
          ]);
          const otherField = MAX_TOKENS_FIELD[flavor] === 'max_tokens' ? 'max_completion_tokens' : 'max_tokens';
          expect(body[otherField]).toBeUndefined();
        }
      }
      expect(mock.requests).toHaveLength(2);
    });
  });

  it('history as an array is sent before the new user message', async () => {
    await withMock({ flavor, script: { text: ANSWER } }, async (mock, provider) => {
      const agent = new Agent({ provider, model: 'test-model' });
      const history: ChatMessage[] = [
        { role: 'user', content: 'My name is Ada.' },
        { role: 'assistant', content: 'Nice to meet you, Ada 🙂' },
      ];
      await agent.processMessageStreaming('What is my name?', { history });
      await agent.processMessage('What is my name?', { history });
      for (const request of mock.requests) {
        expect(wire(request).messages).toEqual([...history, { role: 'user', content: 'What is my name?' }]);
      }
      // The caller's array is not modified.
      expect(history).toHaveLength(2);
    });
  });
});

describe.each(['anthropic', 'openai'] as const)('Agent context over %s', (flavor) => {
  it('an object context appears as a <context> block with its JSON, for that message only', async () => {
    await withMock({ flavor, script: { text: 'ok' } }, async (mock, provider) => {
      const agent = new Agent({ provider, model: 'test-model', systemPrompt: 'You help with billing.' });
      const context = { user: { name: 'Ada', plan: 'pro' }, page: '/billing', items: [1, 2, 3], note: 'ünïcode 你好' };
      await agent.processMessageStreaming('What plan am I on?', { context });
      await agent.processMessageStreaming('And now?');

      const first = wire(mock.requests[0]).system ?? '';
      expect(first.startsWith('You help with billing.')).toBe(true);
      const block = /<context>\n([\s\S]*)\n<\/context>/.exec(first);
      expect(block).not.toBeNull();
      expect(JSON.parse(block?.[1] ?? 'null')).toEqual(context);
      expect(first).toContain(JSON.stringify(context, null, 2));
      // The question itself stays the user message.
      expect(wire(mock.requests[0]).messages).toEqual([{ role: 'user', content: 'What plan am I on?' }]);

      // The next message carries no context.
      expect(wire(mock.requests[1]).system).toBe('You help with billing.');
    });
  });

  it('a string context is included verbatim', async () => {
    await withMock({ flavor, script: { text: 'ok' } }, async (mock, provider) => {
      const agent = new Agent({ provider, model: 'test-model' });
      const context = 'The user is on the <pricing> page.\n  Indented line & "quotes" — 🚀';
      await agent.processMessage('Hi', { context });
      const system = wire(mock.requests[0]).system ?? '';
      expect(system).toContain(`<context>\n${context}\n</context>`);
      expect(system).not.toContain(JSON.stringify(context));
    });
  });

  it('a custom formatContext is used, after the system prompt', async () => {
    await withMock({ flavor, script: { text: 'ok' } }, async (mock, provider) => {
      const seen: unknown[] = [];
      const agent = new Agent({
        provider,
        model: 'test-model',
        systemPrompt: 'Base prompt.',
        formatContext: (context) => {
          seen.push(context);
          return typeof context === 'string' ? `CTX[${context}]` : `CTX{${Object.keys(context).join(',')}}`;
        },
      });
      await agent.processMessageStreaming('Hi', { context: { a: 1, b: 2 } });
      await agent.processMessage('Hi', { context: 'plain' });
      await agent.processMessage('Hi');
      expect(wire(mock.requests[0]).system).toBe('Base prompt.\n\nCTX{a,b}');
      expect(wire(mock.requests[1]).system).toBe('Base prompt.\n\nCTX[plain]');
      expect(wire(mock.requests[2]).system).toBe('Base prompt.');
      expect(seen).toEqual([{ a: 1, b: 2 }, 'plain']);
      for (const request of mock.requests) expect(JSON.stringify(request.body)).not.toContain('<context>');
    });
  });
});

describe('Agent.stream()', () => {
  it('is cold: nothing is sent before subscribe, and each subscription is one request', async () => {
    await withMock({ flavor: 'openai', script: { text: ANSWER } }, async (mock, provider) => {
      const agent = new Agent({ provider, model: 'test-model' });
      const stream$ = agent.stream('Hi');
      await sleep(50);
      expect(mock.requests).toHaveLength(0);
      const first = await run(stream$);
      const second = await run(stream$);
      expect(first.completed && second.completed).toBe(true);
      expect(first.text).toBe(ANSWER.join(''));
      expect(second.text).toBe(ANSWER.join(''));
      expect(mock.requests).toHaveLength(2);
    });
  });

  it('unsubscribing aborts the request at the socket', async () => {
    await withMock({ flavor: 'anthropic', script: { text: ANSWER }, faults: { stallAfter: 3 } }, async (mock, provider) => {
      const agent = new Agent({ provider, model: 'test-model' });
      const events = await cancelAfter(agent.stream('Hi'), 2);
      // cancelAfter() unsubscribes in a microtask: a token read in the same chunk may still arrive.
      const tokens = events.filter((e) => e.type === 'token').length;
      expect(tokens).toBeGreaterThanOrEqual(2);
      expect(tokens).toBeLessThanOrEqual(3);
      expect(events.some((e) => e.type === 'done')).toBe(false);
      const log = await mock.waitForClose(0, 2000);
      expect(log.closedByClient).toBe(true);
      expect(log.finished).toBe(false);
    });
  });
});

describe('Agent bad input', () => {
  async function invalidAsync(promise: Promise<unknown>): Promise<InvalidArgumentError> {
    try {
      await promise;
    } catch (error) {
      expect(InvalidArgumentError.isInstance(error)).toBe(true);
      return error as InvalidArgumentError;
    }
    throw new Error('expected an InvalidArgumentError rejection');
  }

  /** The InvalidArgumentError an Observable errors with (the call that made it did not throw). */
  async function invalidStream(stream$: Observable<unknown>): Promise<InvalidArgumentError> {
    const outcome = await run(stream$ as Observable<TokenEvent>);
    expect(outcome.events).toEqual([]);
    expect(InvalidArgumentError.isInstance(outcome.error)).toBe(true);
    return outcome.error as InvalidArgumentError;
  }

  it('refuses a bad constructor and bad calls before anything is sent', async () => {
    await withMock({ flavor: 'openai', script: { text: 'ok' } }, async (mock, provider) => {
      const noProvider = invalidArgument(() => new Agent({ model: 'm' } as unknown as AgentOptions));
      expect(noProvider.field).toBe('Agent options.provider');
      invalidArgument(() => new Agent({ provider: { name: 'fake', stream: 'nope' }, model: 'm' } as unknown as AgentOptions));
      invalidArgument(() => new Agent({ provider: 'openai', model: 'm' } as unknown as AgentOptions));
      const unknown = invalidArgument(() => new Agent({ provider, model: 'm', systemPromt: 'x' } as unknown as AgentOptions));
      expect(unknown.message).toContain('systemPromt');
      expect(unknown.message).toMatch(/did you mean [\w .]*systemPrompt\?/);
      const hot = invalidArgument(() => new Agent({ provider, model: 'm', temperature: 5 }));
      expect(hot.field).toBe('Agent options.temperature');
      invalidArgument(() => new Agent({ provider, model: '' }));
      invalidArgument(() => new Agent({ provider, model: 'm', maxTokens: 0 }));
      invalidArgument(() => new Agent({ provider, model: 'm', formatContext: 'json' } as unknown as AgentOptions));
      invalidArgument(() => new Agent(undefined as unknown as AgentOptions));

      const agent = new Agent({ provider, model: 'm' });
      // agent.stream() never throws: its Observable errors on subscription (issue 13).
      expect((await invalidStream(agent.stream(''))).field).toBe('stream(message)');
      await invalidStream(agent.stream('   '));
      await invalidStream(agent.stream('Hi', { contxt: 'x' } as unknown as MessageOptions));
      await invalidAsync(agent.processMessage(''));
      await invalidAsync(agent.processMessageStreaming(''));
      const perCall = await invalidAsync(agent.processMessage('Hi', { contex: { a: 1 } } as unknown as MessageOptions));
      expect(perCall.message).toMatch(/did you mean [\w .()]*context\?/);
      const perCallStreaming = await invalidAsync(
        agent.processMessageStreaming('Hi', { onTokens: () => {} } as unknown as StreamingMessageOptions),
      );
      expect(perCallStreaming.message).toMatch(/did you mean [\w .()]*onToken\?/);
      // processMessage takes no callbacks.
      await invalidAsync(agent.processMessage('Hi', { onToken: () => {} } as unknown as MessageOptions));
      await invalidAsync(agent.processMessage('Hi', { history: 'earlier' } as unknown as MessageOptions));
      await invalidAsync(agent.processMessage('Hi', { history: [{ role: 'robot', content: 'x' }] } as unknown as MessageOptions));
      await invalidAsync(agent.processMessage('Hi', { context: 42 } as unknown as MessageOptions));
      await invalidAsync(agent.processMessage('Hi', { signal: {} } as unknown as MessageOptions));
      await invalidAsync(agent.processMessageStreaming('Hi', { maxQueue: 0 }));

      await sleep(50);
      expect(mock.requests).toHaveLength(0);
    });
  });

  it('agent.stream() on bad input, or a formatContext that throws, errors the Observable: catchError sees it (issue 13)', async () => {
    await withMock({ flavor: 'openai', script: { text: 'ok' } }, async (mock, provider) => {
      const agent = new Agent({ provider, model: 'm' });
      let stream$: Observable<TokenEvent> | undefined;
      expect(() => (stream$ = agent.stream(42 as never))).not.toThrow();
      const caught = await run(stream$!.pipe(catchError((error: unknown) => of({ type: 'token', text: String((error as InvalidArgumentError).field), index: 0, t: 0 } as TokenEvent))));
      expect(caught.events.map((e) => e.type === 'token' && e.text)).toEqual(['stream(message)']);

      const throwing = new Agent({
        provider,
        model: 'm',
        formatContext: () => {
          throw new Error('formatContext failed');
        },
      });
      let context$: Observable<TokenEvent> | undefined;
      expect(() => (context$ = throwing.stream('Hi', { context: 'x' }))).not.toThrow();
      expect((await run(context$!)).error).toMatchObject({ message: 'formatContext failed' });
      await expect(throwing.processMessage('Hi', { context: 'x' })).rejects.toThrow('formatContext failed');

      // A provider that throws synchronously from stream() (not one of tokenflow's) is caught too.
      const rude = new Agent({
        provider: {
          name: 'rude',
          stream: () => {
            throw new Error('rude provider');
          },
          complete: () => Promise.reject(new Error('rude provider')),
        },
        model: 'm',
      });
      expect((await run(rude.stream('Hi'))).error).toMatchObject({ message: 'rude provider' });
      expect(mock.requests).toHaveLength(0);
    });
  });
});
