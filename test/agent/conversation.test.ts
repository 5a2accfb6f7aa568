/**
 * Conversation as an Agent's history: completed exchanges are recorded and sent with the next
 * question, failed / aborted / unsubscribed answers are not, trimming by turns and tokens, and a
 * custom HistoryStore.
 */
import { countTokens } from 'gpt-tokenizer/encoding/o200k_base';
import { describe, expect, it } from 'vitest';
import { Agent } from '../../src/agent/agent.js';
import { Conversation, type ConversationOptions } from '../../src/agent/conversation.js';
import { InMemoryHistoryStore, type HistoryStore } from '../../src/agent/history-store.js';
import { InvalidArgumentError, ProviderError, StreamAbortedError } from '../../src/errors.js';
import type { ChatMessage } from '../../src/events.js';
import {
  startMockProvider,
  type MockFlavor,
  type MockProvider,
  type MockProviderOptions,
  type MockRequest,
  type MockScript,
} from '../../src/testing/index.js';
import { cancelAfter, run } from '../helpers/run.js';
import { makeProvider, rejectionOf } from '../helpers/mock.js';

/** The answer to request i: distinct per request, with emoji and CJK so exact text matters. */
const answerFor = (i: number): string[] => [`Answer`, ` #${i}`, ' 🌍', ' 你好', ` (${'x'.repeat(i + 1)})`];
const answerText = (i: number): string => answerFor(i).join('');

async function withAgent(
  options: Omit<MockProviderOptions, 'script'> & Partial<Pick<MockProviderOptions, 'script'>>,
  body: (mock: MockProvider, agent: Agent) => Promise<void>,
): Promise<void> {
  const mock = await startMockProvider({ script: (req) => ({ text: answerFor(req.index) }), ...options });
  try {
    await body(mock, new Agent({ provider: makeProvider(options.flavor, mock), model: 'test-model' }));
  } finally {
    await mock.close();
  }
}

/** The conversation a request carried (system prompt left out), as plain messages. */
function sent(request: MockRequest | undefined): ChatMessage[] {
  if (!request) throw new Error('no such request');
  // The adapters send string content as it is: these requests hold text messages only.
  const body = request.body as { messages: Array<{ role: 'system' | 'user' | 'assistant'; content: string }> };
  const messages = body.messages.map((m) => ({ role: m.role, content: m.content }));
  return messages.filter((m) => m.role !== 'system');
}

const user = (content: string): ChatMessage => ({ role: 'user', content });
const assistant = (content: string): ChatMessage => ({ role: 'assistant', content });

describe.each(['anthropic', 'openai'] as const)('Conversation over %s', (flavor) => {
  it('processMessageStreaming: the second request carries the first exchange with its exact answer', async () => {
    await withAgent({ flavor }, async (mock, agent) => {
      const conversation = new Conversation();
      const first = await agent.processMessageStreaming('My name is Ada.', { history: conversation, onToken: () => {} });
      expect(first.content).toBe(answerText(0));
      await agent.processMessageStreaming('What is my name?', { history: conversation });

      expect(sent(mock.requests[0])).toEqual([user('My name is Ada.')]);
      expect(sent(mock.requests[1])).toEqual([user('My name is Ada.'), assistant(answerText(0)), user('What is my name?')]);
      expect(await conversation.all()).toEqual([
        user('My name is Ada.'),
        assistant(answerText(0)),
        user('What is my name?'),
        assistant(answerText(1)),
      ]);
    });
  });

  it('processMessage records each exchange the same way', async () => {
    await withAgent({ flavor }, async (mock, agent) => {
      const conversation = new Conversation();
      await agent.processMessage('One', { history: conversation });
      await agent.processMessage('Two', { history: conversation });
      expect(mock.requests[0]?.body.stream).not.toBe(true);
      expect(sent(mock.requests[1])).toEqual([user('One'), assistant(answerText(0)), user('Two')]);
      expect(await conversation.all()).toHaveLength(4);
      expect((await conversation.all())[3]).toEqual(assistant(answerText(1)));
    });
  });

  it('agent.stream(): the exchange is recorded by the time the Observable completes', async () => {
    await withAgent({ flavor }, async (mock, agent) => {
      const store = new InMemoryHistoryStore();
      const conversation = new Conversation({ id: 'c-stream', store });
      // Read the store synchronously in `complete`, without waiting for anything.
      const atComplete = await new Promise<Promise<ChatMessage[]>>((resolve, reject) => {
        agent.stream('One', { history: conversation }).subscribe({
          error: reject,
          complete: () => resolve(store.load('c-stream')),
        });
      });
      expect(await atComplete).toEqual([user('One'), assistant(answerText(0))]);

      const second = await run(agent.stream('Two', { history: conversation }));
      expect(second.completed).toBe(true);
      expect(sent(mock.requests[1])).toEqual([user('One'), assistant(answerText(0)), user('Two')]);
      expect(await conversation.all()).toHaveLength(4);
    });
  });

  it('a failed answer is not recorded, and the next question sends only the earlier exchange', async () => {
    await withAgent(
      { flavor, faults: (req) => (req.index === 1 ? { errorEventAfter: 2 } : undefined) },
      async (mock, agent) => {
        const conversation = new Conversation();
        await agent.processMessageStreaming('One', { history: conversation });
        const tokens: string[] = [];
        const error = await rejectionOf(
          agent.processMessageStreaming('Two', { history: conversation, onToken: (t) => void tokens.push(t) }),
        );
        expect(ProviderError.isInstance(error)).toBe(true);
        expect((error as ProviderError).partialText).toBe(answerFor(1).slice(0, 2).join(''));
        expect(tokens).toHaveLength(2);
        expect(await conversation.all()).toEqual([user('One'), assistant(answerText(0))]);

        await agent.processMessageStreaming('Three', { history: conversation });
        expect(sent(mock.requests[2])).toEqual([user('One'), assistant(answerText(0)), user('Three')]);
        expect(await conversation.all()).toEqual([user('One'), assistant(answerText(0)), user('Three'), assistant(answerText(2))]);
      },
    );
  });

  it('an answer aborted by its signal is not recorded', async () => {
    await withAgent(
      { flavor, faults: (req) => (req.index === 1 ? { stallAfter: 2 } : undefined) },
      async (mock, agent) => {
        const conversation = new Conversation();
        await agent.processMessage('One', { history: conversation });
        const controller = new AbortController();
        const error = await rejectionOf(
          agent.processMessageStreaming('Two', {
            history: conversation,
            signal: controller.signal,
            onToken: (_t, event) => {
              if (event.type === 'token' && event.index === 1) setTimeout(() => controller.abort(), 5);
            },
          }),
        );
        expect(StreamAbortedError.isInstance(error)).toBe(true);
        expect((await mock.waitForClose(1, 2000)).closedByClient).toBe(true);
        expect(await conversation.all()).toEqual([user('One'), assistant(answerText(0))]);

        // Aborted before it starts, without streaming: nothing recorded either.
        const early = await rejectionOf(agent.processMessage('Never', { history: conversation, signal: AbortSignal.abort() }));
        expect(StreamAbortedError.isInstance(early)).toBe(true);
        expect(await conversation.all()).toEqual([user('One'), assistant(answerText(0))]);

        await agent.processMessage('Three', { history: conversation });
        expect(sent(mock.requests.at(-1))).toEqual([user('One'), assistant(answerText(0)), user('Three')]);
      },
    );
  });

  it('an unsubscribed stream is not recorded', async () => {
    await withAgent(
      { flavor, faults: (req) => (req.index === 1 ? { stallAfter: 3 } : undefined) },
      async (mock, agent) => {
        const conversation = new Conversation();
        await run(agent.stream('One', { history: conversation }));
        const events = await cancelAfter(agent.stream('Two', { history: conversation }), 1);
        expect(events.some((e) => e.type === 'token')).toBe(true);
        expect((await mock.waitForClose(1, 2000)).closedByClient).toBe(true);
        expect(await conversation.all()).toEqual([user('One'), assistant(answerText(0))]);

        await run(agent.stream('Three', { history: conversation }));
        expect(sent(mock.requests[2])).toEqual([user('One'), assistant(answerText(0)), user('Three')]);
      },
    );
  });
});

describe('Conversation trimming', () => {
  it('maxTurns: 1 sends only the latest exchange while all() keeps everything', async () => {
    await withAgent({ flavor: 'openai' }, async (mock, agent) => {
      const conversation = new Conversation({ maxTurns: 1 });
      await agent.processMessageStreaming('One', { history: conversation });
      await agent.processMessageStreaming('Two', { history: conversation });
      await agent.processMessageStreaming('Three', { history: conversation });
      expect(sent(mock.requests[0])).toEqual([user('One')]);
      expect(sent(mock.requests[1])).toEqual([user('One'), assistant(answerText(0)), user('Two')]);
      expect(sent(mock.requests[2])).toEqual([user('Two'), assistant(answerText(1)), user('Three')]);
      expect(await conversation.all()).toHaveLength(6);
      expect(await conversation.messages()).toEqual([user('Three'), assistant(answerText(2))]);
    });
  });

  it('maxTurns: 0 sends no history', async () => {
    await withAgent({ flavor: 'anthropic' }, async (mock, agent) => {
      const conversation = new Conversation({ maxTurns: 0 });
      await agent.processMessage('One', { history: conversation });
      await agent.processMessage('Two', { history: conversation });
      expect(sent(mock.requests[1])).toEqual([user('Two')]);
      expect(await conversation.all()).toHaveLength(4);
    });
  });

  it('maxTokens drops whole turns, oldest first', async () => {
    const questions = ['First question about rivers?', 'Second, about the sea 🌊?', 'Third: 山と川について。'];
    const turnTokens = questions.map((q, i) => countTokens(q) + countTokens(answerText(i)));
    const [t0, t1, t2] = turnTokens as [number, number, number];
    const cases: Array<[budget: number, keptTurns: number[]]> = [
      [t0 + t1 + t2, [0, 1, 2]],
      [t0 + t1 + t2 - 1, [1, 2]],
      [t1 + t2, [1, 2]],
      [t1 + t2 - 1, [2]],
      [t2, [2]],
      [t2 - 1, []],
    ];
    await withAgent({ flavor: 'anthropic' }, async (mock, agent) => {
      const store = new InMemoryHistoryStore();
      const full = new Conversation({ id: 'shared', store });
      for (const q of questions) await agent.processMessage(q, { history: full });
      const all = await full.all();
      expect(all).toHaveLength(6);

      for (const [budget, kept] of cases) {
        const trimmed = new Conversation({ id: 'shared', store, maxTokens: budget });
        const expected = kept.flatMap((i) => [user(questions[i]!), assistant(answerText(i))]);
        expect(await trimmed.messages(), `budget ${budget}`).toEqual(expected);
        expect(await trimmed.all()).toEqual(all);
      }

      // And on the wire: a budget for the last two turns sends exactly those.
      const trimmed = new Conversation({ id: 'shared', store, maxTokens: t1 + t2 });
      mock.reset();
      await agent.processMessageStreaming('Fourth?', { history: trimmed });
      expect(sent(mock.requests[0])).toEqual([
        user(questions[1]!),
        assistant(answerText(1)),
        user(questions[2]!),
        assistant(answerText(2)),
        user('Fourth?'),
      ]);
      expect(await trimmed.all()).toHaveLength(8);
    });
  });
});

/** A HistoryStore over a Map that logs every call. */
class LoggingStore implements HistoryStore {
  readonly calls: Array<[method: string, id: string, messages?: ChatMessage[]]> = [];
  private readonly data = new Map<string, ChatMessage[]>();

  async load(id: string): Promise<ChatMessage[]> {
    this.calls.push(['load', id]);
    return (this.data.get(id) ?? []).map((m) => ({ ...m }));
  }

  async append(id: string, messages: readonly ChatMessage[]): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, 5));
    this.calls.push(['append', id, messages.map((m) => ({ ...m }))]);
    this.data.set(id, [...(this.data.get(id) ?? []), ...messages.map((m) => ({ ...m }))]);
  }

  async clear(id: string): Promise<void> {
    this.calls.push(['clear', id]);
    this.data.delete(id);
  }
}

describe('Conversation with a custom HistoryStore', () => {
  it('appends each exchange under the conversation id; clear() empties it', async () => {
    await withAgent({ flavor: 'openai' }, async (mock, agent) => {
      const store = new LoggingStore();
      const conversation = new Conversation({ id: 'conv-42', store });
      expect(conversation.id).toBe('conv-42');
      await agent.processMessageStreaming('One', { history: conversation });
      await agent.processMessage('Two', { history: conversation });

      const appends = store.calls.filter(([method]) => method === 'append');
      expect(appends).toEqual([
        ['append', 'conv-42', [user('One'), assistant(answerText(0))]],
        ['append', 'conv-42', [user('Two'), assistant(answerText(1))]],
      ]);
      expect(store.calls.every(([, id]) => id === 'conv-42')).toBe(true);
      expect(store.calls.some(([method]) => method === 'load')).toBe(true);
      expect(sent(mock.requests[1])).toEqual([user('One'), assistant(answerText(0)), user('Two')]);

      await conversation.clear();
      expect(store.calls.at(-1)).toEqual(['clear', 'conv-42']);
      expect(await conversation.all()).toEqual([]);
      await agent.processMessage('Three', { history: conversation });
      expect(sent(mock.requests[2])).toEqual([user('Three')]);
    });
  });

  it('two conversations on one store stay apart', async () => {
    await withAgent({ flavor: 'anthropic' }, async (_mock, agent) => {
      const store = new LoggingStore();
      const a = new Conversation({ id: 'a', store });
      const b = new Conversation({ id: 'b', store });
      await agent.processMessage('For A', { history: a });
      await agent.processMessage('For B', { history: b });
      expect(await a.all()).toEqual([user('For A'), assistant(answerText(0))]);
      expect(await b.all()).toEqual([user('For B'), assistant(answerText(1))]);
      await a.clear();
      expect(await a.all()).toEqual([]);
      expect(await b.all()).toHaveLength(2);
    });
  });

  it('gets a random id by default', () => {
    const one = new Conversation();
    const two = new Conversation();
    expect(one.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(one.id).not.toBe(two.id);
  });
});

describe('Conversation bad input', () => {
  function invalid(options: unknown): InvalidArgumentError {
    try {
      new Conversation(options as ConversationOptions);
    } catch (error) {
      expect(InvalidArgumentError.isInstance(error)).toBe(true);
      return error as InvalidArgumentError;
    }
    throw new Error('expected an InvalidArgumentError');
  }

  it('refuses unknown options, bad budgets and incomplete stores', () => {
    const unknown = invalid({ maxTurn: 3 });
    expect(unknown.message).toMatch(/did you mean [\w .]*maxTurns\?/);
    expect(invalid({ maxTurns: -1 }).field).toBe('Conversation options.maxTurns');
    invalid({ maxTurns: 1.5 });
    invalid({ maxTokens: -10 });
    invalid({ id: '' });
    invalid('conversation-1');
    const store = invalid({ store: { load: async () => [], append: async () => {} } });
    expect(store.field).toBe('Conversation options.store');
    invalid({ store: new Map() });
    invalid({ store: null });
  });
});

/** Every assistant message a request carried whose text is empty or blank (string or content blocks). */
function blankAssistantMessages(request: MockRequest | undefined): unknown[] {
  if (!request) throw new Error('no such request');
  const messages = (request.body as { messages: Array<{ role: string; content: unknown }> }).messages;
  const textOf = (content: unknown): string =>
    typeof content === 'string'
      ? content
      : Array.isArray(content)
        ? content.map((block: { text?: unknown }) => (typeof block.text === 'string' ? block.text : '')).join('')
        : '';
  return messages.filter((m) => m.role === 'assistant' && textOf(m.content).trim() === '');
}

/** Roles of a request's messages, system left out. */
const rolesOf = (request: MockRequest | undefined): string[] => sent(request).map((m) => m.role);

describe('an answer without text is not recorded as an empty assistant turn (issue 13)', () => {
  // Request 0 gets the answer without text, the later ones plain text.
  const cases: Array<[MockFlavor, string, MockScript]> = [
    ['anthropic', 'a refusal', { stopReason: 'refusal' }],
    ['openai', 'a refusal', { refusal: "I can't help with that." }],
    ['anthropic', 'a tool-only answer', { toolCalls: [{ id: 'toolu_1', name: 'lookup', arguments: '{"q":"x"}' }] }],
    ['openai', 'a tool-only answer', { toolCalls: [{ id: 'call_1', name: 'lookup', arguments: '{"q":"x"}' }] }],
    ['openai', 'a blank answer', { text: ' \n ' }],
  ];
  const ways = {
    'agent.stream()': (agent: Agent, message: string, history: Conversation) => run(agent.stream(message, { history })).then(() => undefined),
    processMessage: (agent: Agent, message: string, history: Conversation) => agent.processMessage(message, { history }).then(() => undefined),
    processMessageStreaming: (agent: Agent, message: string, history: Conversation) =>
      agent.processMessageStreaming(message, { history, onToken: () => {} }).then(() => undefined),
  };

  for (const [flavor, what, script] of cases) {
    for (const [way, ask] of Object.entries(ways)) {
      it(`${flavor}, ${what}, through ${way}: the next request carries no empty assistant message and roles alternate`, async () => {
        await withAgent({ flavor, script: (req) => (req.index === 0 ? script : { text: answerFor(req.index) }) }, async (mock, agent) => {
          const conversation = new Conversation();
          await ask(agent, 'Do the forbidden thing.', conversation);
          expect(await conversation.all()).toEqual([]);
          await ask(agent, 'Then tell me a joke.', conversation);
          await ask(agent, 'Another one.', conversation);

          expect(blankAssistantMessages(mock.requests[1])).toEqual([]);
          expect(blankAssistantMessages(mock.requests[2])).toEqual([]);
          expect(sent(mock.requests[1])).toEqual([user('Then tell me a joke.')]);
          expect(rolesOf(mock.requests[2])).toEqual(['user', 'assistant', 'user']);
          expect(await conversation.all()).toEqual([
            user('Then tell me a joke.'),
            assistant(answerText(1)),
            user('Another one.'),
            assistant(answerText(2)),
          ]);
        });
      });
    }
  }

  it('a blank turn already in the store (an earlier version recorded it) is not sent', async () => {
    await withAgent({ flavor: 'anthropic' }, async (mock, agent) => {
      const store = new InMemoryHistoryStore();
      await store.append('old', [user('Refused question'), assistant(''), user('Kept'), assistant('Yes.')]);
      const conversation = new Conversation({ id: 'old', store, maxTurns: 5 });
      await agent.processMessage('Next', { history: conversation });
      expect(sent(mock.requests[0])).toEqual([user('Kept'), assistant('Yes.'), user('Next')]);
    });
  });

  it('record() with a blank answer or question stores nothing and resolves', async () => {
    const conversation = new Conversation();
    await conversation.record('Q', { content: '' });
    await conversation.record('Q', { content: '  \n' });
    await conversation.record(' ', { content: 'A' });
    expect(await conversation.all()).toEqual([]);
    await conversation.record('Q', { content: 'A' });
    expect(await conversation.all()).toEqual([user('Q'), assistant('A')]);
  });
});
