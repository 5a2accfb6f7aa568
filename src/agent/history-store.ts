import { InvalidArgumentError } from '../errors.js';
import type { ChatMessage } from '../events.js';
import { requireString, validateMessage } from '../validate.js';

/**
 * Where a {@link Conversation} keeps its turns. Asynchronous so a database, Redis or a file can back
 * it; {@link InMemoryHistoryStore} is the default. `append` receives one completed exchange at a time
 * (the user message and the answer; with tools, the tool turns between them too) and must keep the
 * messages in order.
 */
export interface HistoryStore {
  /** Every stored message of the conversation, oldest first (empty for an unknown id). */
  load(conversationId: string): Promise<ChatMessage[]>;
  /** Adds messages at the end of the conversation. */
  append(conversationId: string, messages: readonly ChatMessage[]): Promise<void>;
  /** Forgets the conversation. */
  clear(conversationId: string): Promise<void>;
}

/** The default {@link HistoryStore}: a `Map` in this process (lost on restart). */
export class InMemoryHistoryStore implements HistoryStore {
  private readonly conversations = new Map<string, ChatMessage[]>();

  load(conversationId: string): Promise<ChatMessage[]> {
    return Promise.resolve((this.conversations.get(conversationId) ?? []).map((m) => ({ ...m })));
  }

  append(conversationId: string, messages: readonly ChatMessage[]): Promise<void> {
    try {
      requireString(conversationId, 'conversationId');
      if (!Array.isArray(messages)) throw new InvalidArgumentError('messages', 'store.append(): messages must be an array of { role, content }.');
      messages.forEach((message, i) => validateMessage(message, `messages[${i}]`));
    } catch (error) {
      return Promise.reject(error);
    }
    let list = this.conversations.get(conversationId);
    if (!list) this.conversations.set(conversationId, (list = []));
    for (const message of messages) list.push({ ...message });
    return Promise.resolve();
  }

  clear(conversationId: string): Promise<void> {
    this.conversations.delete(conversationId);
    return Promise.resolve();
  }
}
