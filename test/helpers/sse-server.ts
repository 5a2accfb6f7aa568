/**
 * A scripted SSE server on 127.0.0.1 for client tests. It writes frames by hand in the wire format
 * of the shared spec (`id:` / `event:` / `data:` lines and a blank line), independent of src/sse,
 * so the client is checked against the format rather than against our own encoder.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { SerializedStreamError } from '../../src/errors.js';
import type { TokenEvent } from '../../src/events.js';

/** One request the server received. */
export interface RecordedRequest {
  /** 0 for the first request, 1 for the next… */
  index: number;
  method: string;
  /** Path and query, as received. */
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
  /** Resolves when the response closes; `endedByServer` is `false` when the client went away first. */
  closed: Promise<{ endedByServer: boolean }>;
}

/** Answers one request; `index` counts requests from 0. */
export type SSEHandler = (request: RecordedRequest, res: ServerResponse) => void | Promise<void>;

/** A running test server. */
export interface SSEServer {
  /** `http://127.0.0.1:<port><path>`. */
  url(path?: string): string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

/** Starts a server on 127.0.0.1 and an ephemeral port. */
export async function startSSEServer(handle: SSEHandler): Promise<SSEServer> {
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const closed = new Promise<{ endedByServer: boolean }>((resolve) => {
        res.on('close', () => resolve({ endedByServer: res.writableFinished }));
      });
      const request: RecordedRequest = {
        index: requests.length,
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        closed,
      };
      requests.push(request);
      Promise.resolve(handle(request, res)).catch((error: unknown) => {
        res.destroy(error instanceof Error ? error : new Error(String(error)));
      });
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (path = '/events') => `http://127.0.0.1:${port}${path}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Sends the head of an event stream. */
export function beginStream(res: ServerResponse, headers: Record<string, string> = {}): void {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    ...headers,
  });
  res.flushHeaders();
}

/** One wire message: `id:`, `event:` (the data's `type`), `data:` as one line of JSON. */
export function frame(id: number, data: TokenEvent | SerializedStreamError): string {
  return `id: ${id}\nevent: ${data.type}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** The legacy message sent after a token when a server opts in: no `id:` line. */
export function legacyFrame(token: string, partialResponse: string): string {
  return `event: answer_streaming\ndata: ${JSON.stringify({ token, partial_response: partialResponse, agent_id: 7, conversation_id: 'c1' })}\n\n`;
}

/** The events of a whole answer made of `pieces`: start, one token per piece, usage, done. */
export function answer(pieces: readonly string[]): TokenEvent[] {
  const events: TokenEvent[] = [{ type: 'start', provider: 'mock', model: 'mock-1', t: 0 }];
  pieces.forEach((text, index) => events.push({ type: 'token', text, index, t: 10 + index }));
  events.push({ type: 'usage', usage: { inputTokens: 3, outputTokens: pieces.length, estimated: false }, t: 100 });
  events.push({ type: 'done', stopReason: 'end', t: 101 });
  return events;
}

/** The frames of `events`, numbered from `first` (their position in the stream). */
export function frames(events: readonly TokenEvent[], first = 0, last = events.length - 1): string {
  let out = '';
  for (let id = first; id <= last; id++) out += frame(id, events[id]!);
  return out;
}

/** Resolves after the event loop turned, so separate writes leave as separate packets. */
export function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
