/**
 * A minimal EventSource for Node tests, following the WHATWG algorithm where `fromSSE()` depends on
 * it (Node 20 has no EventSource; real browsers are covered by the Chromium tests):
 *
 * - a 200 `text/event-stream` response opens the source; any other status or content type "fails
 *   the connection": `readyState` CLOSED, then a plain `Event('error')`, and no reconnection;
 * - a network error or the end of the body "reestablishes the connection": `readyState`
 *   CONNECTING, a plain `Event('error')`, then after the reconnection time (the server's `retry:`)
 *   a new request with the `Last-Event-ID` header;
 * - each message is a `MessageEvent` named after its `event:` field (default `message`) with `data`
 *   and `lastEventId` (the last id seen, which persists across messages without one).
 */
import { createParser } from 'eventsource-parser';

/** Every URL a TestEventSource was constructed with, in order. */
export const constructedUrls: string[] = [];

export class TestEventSource extends EventTarget {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSED = 2;
  readonly CONNECTING = 0;
  readonly OPEN = 1;
  readonly CLOSED = 2;
  readonly url: string;
  readonly withCredentials: boolean;
  readyState = 0;
  /** Without a `retry:` from the server; browsers use a few seconds, tests need less. */
  private reconnectionTime = 20;
  private lastEventIdBuffer = '';
  private controller = new AbortController();

  constructor(url: string | URL, init?: { withCredentials?: boolean }) {
    super();
    this.url = String(url);
    this.withCredentials = init?.withCredentials ?? false;
    constructedUrls.push(this.url);
    void this.connect();
  }

  close(): void {
    this.readyState = 2;
    this.controller.abort();
  }

  private async connect(): Promise<void> {
    this.controller = new AbortController();
    const headers: Record<string, string> = { accept: 'text/event-stream', 'cache-control': 'no-cache' };
    if (this.lastEventIdBuffer !== '') headers['last-event-id'] = this.lastEventIdBuffer;
    let response: Response;
    try {
      response = await fetch(this.url, { headers, signal: this.controller.signal });
    } catch {
      return this.reestablish();
    }
    if (this.readyState === 2) return;
    const contentType = response.headers.get('content-type') ?? '';
    if (response.status !== 200 || !contentType.startsWith('text/event-stream')) {
      void response.body?.cancel().catch(() => undefined);
      this.readyState = 2;
      this.dispatchEvent(new Event('error'));
      return;
    }
    this.readyState = 1;
    this.dispatchEvent(new Event('open'));
    const parser = createParser({
      onEvent: (message) => {
        if (message.id !== undefined) this.lastEventIdBuffer = message.id;
        if (this.readyState === 2) return;
        this.dispatchEvent(
          new MessageEvent(message.event ?? 'message', { data: message.data, lastEventId: this.lastEventIdBuffer, origin: new URL(this.url).origin }),
        );
      },
      onRetry: (milliseconds) => (this.reconnectionTime = milliseconds),
    });
    const decoder = new TextDecoder();
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        if (this.readyState === 2) return;
        parser.feed(decoder.decode(chunk, { stream: true }));
      }
    } catch {
      // a cut connection: reestablish below
    }
    this.reestablish();
  }

  private reestablish(): void {
    if (this.readyState === 2) return;
    this.readyState = 0;
    this.dispatchEvent(new Event('error'));
    setTimeout(() => {
      if (this.readyState === 0) void this.connect();
    }, this.reconnectionTime);
  }
}
