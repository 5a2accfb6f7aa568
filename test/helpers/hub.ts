/**
 * Scripted answers and followers for the hub tests (in memory and on Redis).
 */
import type { Observable } from 'rxjs';
import type { TokenEvent } from '../../src/events.js';
import type { HubMessage } from '../../src/sse/hub.js';

/** The events of one scripted answer (start, a token per word, usage, done), with a `t` that counts up. */
export function answerEvents(words: readonly string[]): TokenEvent[] {
  const events: TokenEvent[] = [{ type: 'start', provider: 'test', model: 'm', t: 0 }];
  words.forEach((text, index) => events.push({ type: 'token', text, index, t: index + 1 }));
  events.push({ type: 'usage', usage: { inputTokens: 3, outputTokens: words.length, estimated: false }, t: 90 });
  events.push({ type: 'done', stopReason: 'end', t: 91 });
  return events;
}

/** The text of the token messages, in order. */
export function textOf(messages: readonly HubMessage[]): string {
  return messages.map((m) => (m.event.type === 'token' ? m.event.text : '')).join('');
}

/** Every message a follower gets, and how it ended (`error` undefined: it completed). */
export function collectAll(stream$: Observable<HubMessage>): Promise<{ messages: HubMessage[]; error: unknown }> {
  return new Promise((resolve) => {
    const messages: HubMessage[] = [];
    stream$.subscribe({
      next: (m) => messages.push(m),
      error: (error: unknown) => resolve({ messages, error }),
      complete: () => resolve({ messages, error: undefined }),
    });
  });
}

/** Waits one turn of the event loop: the hub's appends of this tick have gone to the log. */
export const tick = (): Promise<void> => new Promise<void>((resolve) => setImmediate(resolve));
