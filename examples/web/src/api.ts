/**
 * The page's side of the example server's API (see ../server.ts): ask a question, follow an
 * answer, stop it, and read what a follower tab shows above it.
 */
import { concat, defer, EMPTY, from, tap, type Observable } from 'rxjs';
import { fromSSE, type TokenEvent } from 'tokenflow/client';

/** Which provider answers (`GET /api/config`), for the badge. */
export interface ServerConfig {
  provider: 'mock' | 'openai';
  model: string;
}

/** The SSE endpoint of an answer's channel. */
export const streamUrl = (channel: string): string => `/api/streams/${encodeURIComponent(channel)}`;

/** The server's message for a failed request (its JSON `error`), or the status line. */
async function failure(response: Response, what: string): Promise<Error> {
  const body = (await response.json().catch(() => undefined)) as { error?: unknown } | undefined;
  const detail = typeof body?.error === 'string' ? body.error : `${response.status} ${response.statusText}`;
  return new Error(`${what} failed: ${detail}`);
}

export async function fetchConfig(): Promise<ServerConfig> {
  const response = await fetch('/api/config');
  if (!response.ok) throw await failure(response, 'Reading the server configuration');
  return (await response.json()) as ServerConfig;
}

/**
 * Asks a question in a session's conversation. The server answers with the session (a new one when
 * `session` is missing or unknown to it, after a restart) and the answer's channel.
 */
export async function ask(prompt: string, session: string | undefined): Promise<{ session: string; channel: string }> {
  const response = await fetch('/api/ask', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(session === undefined ? { prompt } : { prompt, session }),
  });
  if (!response.ok) throw await failure(response, 'Asking');
  return (await response.json()) as { session: string; channel: string };
}

/** The question of a channel, for a follower tab; `undefined` when the channel does not exist (any more). */
export async function questionOf(channel: string): Promise<string | undefined> {
  const response = await fetch(`${streamUrl(channel)}/info`);
  if (response.status === 404) return undefined;
  if (!response.ok) throw await failure(response, 'Reading the question');
  const { question } = (await response.json()) as { question?: unknown };
  return typeof question === 'string' ? question : undefined;
}

/** Stops an answer for everyone (the upstream request included). A channel already finished is no error. */
export function stopChannel(channel: string): void {
  void fetch(`${streamUrl(channel)}/stop`, { method: 'POST' }).catch(() => undefined);
}

/** The events of one answer this page has received, in order: what it can resume after. */
export interface ReceivedEvents {
  readonly channel: string;
  readonly events: TokenEvent[];
}

/**
 * Follows a channel from where this page is: first the events it already has (restored after a
 * reload), then the rest from the server, resuming after the last of them (Last-Event-ID), so
 * nothing is shown twice. Each new event is added to `received`. The hub numbers a channel's
 * events from 0 by their position in the stream, so the last id this page has is its count minus
 * one. Nothing received yet: the whole answer, from the start.
 */
export function followFrom(received: ReceivedEvents): Observable<TokenEvent> {
  return defer(() => {
    const seen = received.events.slice();
    const ended = seen.some((event) => event.type === 'done');
    const rest$ = ended
      ? EMPTY
      : fromSSE(streamUrl(received.channel), seen.length > 0 ? { lastEventId: seen.length - 1 } : {}).pipe(
          tap((event) => received.events.push(event)),
        );
    return concat(from(seen), rest$);
  });
}
