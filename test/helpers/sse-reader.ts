/**
 * Reads an SSE endpoint the way a client does, for server tests: `fetch` over real HTTP and
 * `eventsource-parser` for the wire format, independent of src/sse and src/client. (The scripted
 * server of the client tests, `sse-server.ts`, only writes frames; it has no reader.)
 */
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { budget } from './budget.js';

/** One parsed SSE message: `id` is `undefined` when the message had no `id:` line. */
export interface ParsedMessage {
  id: string | undefined;
  /** The `event:` field; `undefined` for the default `message` event. */
  event: string | undefined;
  data: string;
}

/** Everything the parser saw, in wire order. */
export type WireItem =
  | { kind: 'message'; message: ParsedMessage }
  | { kind: 'comment'; comment: string }
  | { kind: 'retry'; retry: number };

/** What a whole SSE text parses to. */
export interface ParsedStream {
  messages: ParsedMessage[];
  comments: string[];
  retries: number[];
  /** Messages, comments and retry fields interleaved as they arrived. */
  items: WireItem[];
}

function toMessage(event: EventSourceMessage): ParsedMessage {
  return { id: event.id, event: event.event, data: event.data };
}

function collector(): { parser: ReturnType<typeof createParser>; parsed: ParsedStream } {
  const parsed: ParsedStream = { messages: [], comments: [], retries: [], items: [] };
  const parser = createParser({
    onEvent: (event) => {
      const message = toMessage(event);
      parsed.messages.push(message);
      parsed.items.push({ kind: 'message', message });
    },
    onComment: (comment) => {
      parsed.comments.push(comment);
      parsed.items.push({ kind: 'comment', comment });
    },
    onRetry: (retry) => {
      parsed.retries.push(retry);
      parsed.items.push({ kind: 'retry', retry });
    },
  });
  return { parser, parsed };
}

/** Parses a complete SSE text, or reads a byte stream to its end and parses it. */
export async function parseSSE(input: string | ReadableStream<Uint8Array>): Promise<ParsedStream> {
  const { parser, parsed } = collector();
  if (typeof input === 'string') {
    parser.feed(input);
    return parsed;
  }
  const decoder = new TextDecoder();
  const reader = input.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parser.feed(decoder.decode(value, { stream: true }));
  }
  parser.feed(decoder.decode());
  return parsed;
}

/** Synchronous variant for a string (property tests). */
export function parseSSEText(text: string): ParsedStream {
  const { parser, parsed } = collector();
  parser.feed(text);
  return parsed;
}

/** A live SSE connection opened with `fetch`. */
export interface SSEConnection {
  status: number;
  headers: Headers;
  /** Messages so far, in order (grows while the body is read). */
  messages: ParsedMessage[];
  comments: string[];
  retries: number[];
  items: WireItem[];
  /** The raw body text so far. */
  readonly text: string;
  /**
   * Resolves when the body ends: `'end'` when the server ended it, `'aborted'` after `close()`,
   * `'error'` when the connection failed.
   */
  ended: Promise<'end' | 'aborted' | 'error'>;
  /**
   * Resolves once `predicate` holds for the messages so far; rejects if the body ends first, or
   * after `timeoutMs` (a hang guard; default 10 s scaled for load, see budget.ts).
   */
  waitFor(predicate: (messages: ParsedMessage[]) => boolean, timeoutMs?: number): Promise<ParsedMessage[]>;
  /** Aborts the request: the client goes away. Resolves when the reader has stopped. */
  close(): Promise<void>;
}

/** Opens `url` with `fetch` and reads its body as SSE in the background. */
export async function openSSE(url: string | URL, init: RequestInit = {}): Promise<SSEConnection> {
  const controller = new AbortController();
  const outer = init.signal;
  outer?.addEventListener('abort', () => controller.abort(), { once: true });
  const response = await fetch(url, { ...init, signal: controller.signal });
  const { parser, parsed } = collector();
  const waiters = new Set<() => void>();
  let text = '';
  let finished = false;
  const notify = () => {
    for (const waiter of [...waiters]) waiter();
  };
  const ended = (async (): Promise<'end' | 'aborted' | 'error'> => {
    if (!response.body) return 'end';
    const decoder = new TextDecoder();
    const reader = response.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        const chunk = decoder.decode(value, { stream: true });
        text += chunk;
        parser.feed(chunk);
        notify();
      }
      return 'end';
    } catch {
      return controller.signal.aborted ? 'aborted' : 'error';
    } finally {
      finished = true;
      notify();
    }
  })();
  const connection: SSEConnection = {
    status: response.status,
    headers: response.headers,
    messages: parsed.messages,
    comments: parsed.comments,
    retries: parsed.retries,
    items: parsed.items,
    get text() {
      return text;
    },
    ended,
    waitFor(predicate, timeoutMs = budget(10_000)) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (predicate(parsed.messages)) {
            cleanup();
            resolve(parsed.messages);
          } else if (finished) {
            cleanup();
            reject(new Error(`the SSE body ended before the condition held; messages: ${JSON.stringify(parsed.messages)}`));
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`waitFor timed out after ${timeoutMs} ms; messages: ${JSON.stringify(parsed.messages)}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    async close() {
      controller.abort();
      await ended;
    },
  };
  return connection;
}

/** The concatenated `text` of the `token` messages. */
export function tokenText(messages: readonly ParsedMessage[]): string {
  return messages
    .filter((m) => m.event === 'token')
    .map((m) => (JSON.parse(m.data) as { text: string }).text)
    .join('');
}
