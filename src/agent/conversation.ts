import { InvalidArgumentError } from '../errors.js';
import type { AgentResponse, ChatMessage } from '../events.js';
import { estimateTokens, loadTokenizer } from '../estimate.js';
import { isBlankMessage, messageText } from '../messages.js';
import { rejectUnknownKeys, requireNumber, requireObject, requireString } from '../validate.js';
import { InMemoryHistoryStore, type HistoryStore } from './history-store.js';

/** Options for {@link Conversation}. */
export interface ConversationOptions {
  /** The conversation's id in the store. @defaultValue `crypto.randomUUID()` */
  id?: string;
  /** Where turns are kept. @defaultValue a new {@link InMemoryHistoryStore} */
  store?: HistoryStore;
  /** Send at most this many of the latest turns (a turn is a question and its answer). @defaultValue unlimited */
  maxTurns?: number;
  /**
   * Send only the latest turns that fit in this many tokens (estimated with the tokenizer). Whole
   * turns are dropped, oldest first. @defaultValue unlimited
   */
  maxTokens?: number;
}

const KEYS = ['id', 'store', 'maxTurns', 'maxTokens'] as const;

/**
 * Multi-turn history for an {@link Agent}: pass it as `history` and each completed answer is recorded
 * with its question, so a follow-up sends the earlier turns.
 *
 * Only complete answers with text are recorded. An answer that fails, is aborted or is unsubscribed
 * from records nothing, neither the question nor the partial answer (the partial text is on the
 * error), so asking again starts from a clean history. An answer without text (a refusal, an answer
 * that only calls tools, an empty or blank answer) records nothing either: an empty assistant turn
 * cannot be sent back (Anthropic rejects it with HTTP 400 on every later turn), and keeping the
 * question alone would put two user turns in a row. So the history always alternates a non-blank
 * question and a non-blank answer, which every provider accepts; the answer itself, with its
 * `refusal`, `toolCalls` and `stopReason`, still reaches the caller. What is sent can be trimmed to a
 * budget of turns or tokens; the store always keeps everything.
 *
 * A tool loop's exchange (`agent.stream(message, { tools, history: conversation })`) is recorded
 * whole: the question, each step's assistant turn with its tool calls, the tool turn with their
 * results, and the final answer (as its text), so a follow-up sees what the tools returned. It is
 * recorded only when every tool call in it has its result (a loop that stopped on a tool without
 * `execute` leaves calls for the application to answer: it records nothing) and it ends in a tool
 * turn (the loop ran out of steps) or a non-blank answer. Trimming counts such an exchange as one
 * turn, so a tool call is never sent without its result.
 *
 * One question at a time per conversation: a second question asked before the first answer is
 * recorded does not see it.
 *
 * @example
 * const conversation = new Conversation({ maxTurns: 20 });
 * await agent.processMessage('My name is Ada.', { history: conversation });
 * const reply = await agent.processMessage('What is my name?', { history: conversation });
 */
export class Conversation {
  /** The conversation's id in the store. */
  readonly id: string;
  private readonly store: HistoryStore;
  private readonly maxTurns: number;
  private readonly maxTokens: number;
  /** Serializes writes so exchanges land in the order they completed. */
  private writes: Promise<void> = Promise.resolve();

  constructor(options: ConversationOptions = {}) {
    const o = requireObject(options, 'Conversation options');
    rejectUnknownKeys(o, KEYS, 'Conversation options');
    this.id = o.id === undefined ? crypto.randomUUID() : requireString(o.id, 'Conversation options.id');
    if (o.store !== undefined) {
      const s = o.store as Partial<HistoryStore> | null;
      if (typeof s !== 'object' || s === null || typeof s.load !== 'function' || typeof s.append !== 'function' || typeof s.clear !== 'function') {
        throw new InvalidArgumentError('Conversation options.store', 'Conversation: store must implement load(id), append(id, messages) and clear(id).');
      }
    }
    this.store = (o.store as HistoryStore | undefined) ?? new InMemoryHistoryStore();
    this.maxTurns =
      o.maxTurns === undefined ? Infinity : requireNumber(o.maxTurns, 'Conversation options.maxTurns', { min: 0, integer: true });
    this.maxTokens =
      o.maxTokens === undefined ? Infinity : requireNumber(o.maxTokens, 'Conversation options.maxTokens', { min: 0, integer: true });
  }

  /** Every stored message, oldest first, untrimmed. */
  async all(): Promise<ChatMessage[]> {
    await this.writes;
    return this.store.load(this.id);
  }

  /**
   * The messages to send with the next question: the latest whole turns within the budget. A turn
   * whose answer is blank (stored by an earlier version, or appended to the store directly) is left
   * out, question and answer, since no provider takes it back.
   */
  async messages(): Promise<ChatMessage[]> {
    const all = sendable(await this.all());
    if (this.maxTurns === Infinity && this.maxTokens === Infinity) return all;
    if (this.maxTokens !== Infinity) await loadTokenizer();
    // Walk back turn by turn (a turn starts at a user message) while the budget allows.
    let start = all.length;
    let turns = 0;
    let tokens = 0;
    for (let i = all.length - 1; i >= 0; i--) {
      if (all[i]!.role !== 'user') continue;
      let turnTokens = 0;
      for (let j = i; j < start; j++) turnTokens += estimateTokens(messageText(all[j]!));
      if (turns + 1 > this.maxTurns || tokens + turnTokens > this.maxTokens) break;
      turns++;
      tokens += turnTokens;
      start = i;
    }
    return all.slice(start);
  }

  /**
   * Records one completed exchange. The Agent calls this; call it yourself only for answers it did not
   * produce. An exchange with a blank question or a blank answer is not recorded (see the class
   * comment): the promise resolves and the history is unchanged.
   *
   * @param question - the user's message
   * @param answer - the answer: its `content` is recorded; a tool loop's result also has `messages`
   *   (every turn the loop added), recorded with the last assistant turn as its text
   * @returns a promise that resolves once the store has the exchange (or at once when it is not recorded)
   */
  record(question: string, answer: Pick<AgentResponse, 'content'> & Partial<Pick<AgentResponse, 'messages'>>): Promise<void> {
    let exchange: ChatMessage[] | undefined;
    try {
      requireString(question, 'question', { allowEmpty: true });
      requireObject(answer, 'answer');
      requireString(answer.content, 'answer.content', { allowEmpty: true });
      if (answer.messages !== undefined && !Array.isArray(answer.messages)) {
        throw new InvalidArgumentError('answer.messages', 'Conversation.record(): answer.messages must be an array of messages.');
      }
      if (!isBlank(question)) exchange = exchangeOf(question, answer.content, answer.messages ?? []);
    } catch (error) {
      return Promise.reject(error);
    }
    if (!exchange) return this.writes;
    const write = this.writes.then(() => this.store.append(this.id, exchange));
    this.writes = write.catch(() => undefined);
    return write;
  }

  /** Forgets every turn. */
  async clear(): Promise<void> {
    await this.writes;
    await this.store.clear(this.id);
  }
}

/**
 * The messages to store for an exchange, or `undefined` when it cannot be sent back: a blank answer,
 * or a tool call without its result. A plain answer is its text; a tool loop's turns are kept as they
 * are, except the last assistant turn, kept as its text (what the answer said, as for a plain answer).
 */
function exchangeOf(question: string, content: string, turns: readonly ChatMessage[]): ChatMessage[] | undefined {
  const user: ChatMessage = { role: 'user', content: question };
  if (turns.length <= 1) return isBlank(content) ? undefined : [user, { role: 'assistant', content }];
  const answered = new Set<string>();
  const called: string[] = [];
  for (const message of turns) {
    if (typeof message.content === 'string') continue;
    for (const part of message.content) {
      if (part.type === 'tool-call') called.push(part.id);
      else if (part.type === 'tool-result') answered.add(part.toolCallId);
    }
  }
  const last = turns[turns.length - 1]!;
  if (last.role === 'tool') {
    return called.every((id) => answered.has(id)) ? [user, ...turns] : undefined;
  }
  // The last assistant turn's own calls are unanswered by construction: it must have none.
  const earlier = turns.slice(0, -1);
  const lastCalls = typeof last.content === 'string' ? 0 : last.content.filter((p) => p.type === 'tool-call').length;
  if (lastCalls > 0 || isBlank(content) || !called.every((id) => answered.has(id))) return undefined;
  return [user, ...earlier, { role: 'assistant', content }];
}

/** `true` for text no provider takes as a message's content: empty or only whitespace. */
function isBlank(text: string): boolean {
  return text.trim().length === 0;
}

/** The history without turns whose question or answer is blank, which no provider takes back. */
function sendable(all: ChatMessage[]): ChatMessage[] {
  if (!all.some((m) => m.role !== 'system' && isBlankMessage(m))) return all;
  const kept: ChatMessage[] = [];
  for (let i = 0; i < all.length; i++) {
    const message = all[i]!;
    const next = all[i + 1];
    if (message.role === 'user' && next?.role === 'assistant' && (isBlankMessage(message) || isBlankMessage(next))) {
      i++; // drop the whole exchange
      continue;
    }
    if (message.role !== 'system' && isBlankMessage(message)) continue;
    kept.push(message);
  }
  return kept;
}
